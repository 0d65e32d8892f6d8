//! Fixtures shared by the state's unit tests: fresh state directories,
//! install requests for dealt shares, and file modes.

use std::path::{Path, PathBuf};

use crate::protocol::InstallShareRequest;
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::SecretShare;

pub(crate) fn request_for(keyset: &PublicKeyset, share: &SecretShare) -> InstallShareRequest {
    crate::client::http::install_share_request(keyset, share)
}

pub(crate) fn fresh_dir() -> (tempfile::TempDir, PathBuf, crate::protocol::Token) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("server");
    let report = crate::server::init(&dir, &[]).unwrap();
    (tmp, dir, report.admin_token)
}

#[cfg(unix)]
pub(crate) fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
