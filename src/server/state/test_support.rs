//! Fixtures shared by the state's unit tests: fresh state directories,
//! install requests for dealt shares, and file modes.

use std::path::PathBuf;

use crate::protocol::InstallShareRequest;
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::SecretShare;

/// The install request that delivers `share` of `keyset`.
pub(crate) fn request_for(keyset: &PublicKeyset, share: &SecretShare) -> InstallShareRequest {
    InstallShareRequest::new(keyset, share)
}

/// A freshly initialised state directory (kept alive by the `TempDir`)
/// and its admin token.
pub(crate) fn fresh_dir() -> (tempfile::TempDir, PathBuf, crate::protocol::Token) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("server");
    let report =
        crate::server::init(&dir, &[], &crate::server::seal::SealChoice::Insecure).unwrap();
    (tmp, dir, report.admin_token)
}

/// Permission bits of `path`.
#[cfg(unix)]
pub(crate) fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
