//! Fixtures shared by the state's unit tests: fresh state directories,
//! install requests for dealt shares, and file modes.

use std::path::PathBuf;

use crate::encoding::b64;
use crate::protocol::{b64_element, InstallShareRequest, PublicShare};
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::SecretShare;

/// The install request that delivers `share` of `keyset`. Built here from
/// the protocol types rather than borrowed from the client, so the server
/// (tests included) never depends on `crate::client`.
pub(crate) fn request_for(keyset: &PublicKeyset, share: &SecretShare) -> InstallShareRequest {
    InstallShareRequest {
        participant: share.id(),
        threshold: keyset.threshold(),
        group_key: b64_element(keyset.group_key()),
        public_shares: PublicShare::all_of(keyset),
        share: b64(share.value().to_bytes().expose()),
    }
}

/// A freshly initialised state directory (kept alive by the `TempDir`)
/// and its admin token.
pub(crate) fn fresh_dir() -> (tempfile::TempDir, PathBuf, crate::protocol::Token) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("server");
    let report = crate::server::init(&dir, &[]).unwrap();
    (tmp, dir, report.admin_token)
}

/// Permission bits of `path`.
#[cfg(unix)]
pub(crate) fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}
