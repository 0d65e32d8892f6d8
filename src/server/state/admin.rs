//! Admin changes to the state: installing a share, adding and revoking
//! clients, and why such a change fails.
//!
//! Every change runs under the admin lock and in the same order: check it,
//! commit it to the store (one transaction), and only then publish it, so
//! an admin answer never describes a change that is not on disk and
//! readers never wait on a disk write.

use std::sync::{Arc, MutexGuard, PoisonError};

use super::key_records;
use super::store::InsertClient;
use super::{
    normalize_keyset_id, valid_client_name, ClientRecord, InstallError, InstalledKey, State,
};
use crate::server::audit::now_rfc3339;
use crate::server::seal::SealError;
use crate::server::ServerError;

/// Why an admin client change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// Name outside `[A-Za-z0-9._-]{1,64}`.
    #[error("invalid client name (use 1-64 of A-Z a-z 0-9 . _ -)")]
    InvalidName,
    /// Name already in use (revoked names stay reserved).
    #[error("a client with this name already exists")]
    Exists,
    /// No keysets given.
    #[error("grant at least one keyset")]
    NoKeysets,
    /// A granted keyset is not installed here.
    #[error("keyset {0} is not installed on this server")]
    UnknownKeyset(String),
    /// No such client.
    #[error("no such client")]
    NotFound,
}

/// Result of a failed install: refused (the admin's fault) or a storage
/// failure (the server's).
#[derive(Debug, thiserror::Error)]
pub enum InstallOutcome {
    /// Refused: validation or conflict.
    #[error(transparent)]
    Rejected(InstallError),
    /// Could not persist.
    #[error(transparent)]
    Storage(ServerError),
}

/// Result of a failed client change.
#[derive(Debug, thiserror::Error)]
pub enum ClientChangeError {
    /// Refused.
    #[error(transparent)]
    Rejected(#[from] ClientError),
    /// Could not persist.
    #[error(transparent)]
    Storage(#[from] ServerError),
}

impl State {
    /// Installs a validated share: idempotent for the same share, refused
    /// for a different one; committed to the store before it is used.
    /// Returns whether it was newly installed.
    pub fn install(&self, key: InstalledKey) -> Result<(bool, Arc<InstalledKey>), InstallOutcome> {
        let _guard = self.admin_lock();
        if let Some(existing) = self.key(key.id_hex()) {
            return if existing.share() == key.share() {
                Ok((false, existing))
            } else {
                Err(InstallOutcome::Rejected(InstallError::Conflict))
            };
        }
        let seal = self
            .seal_key()
            .ok_or(InstallOutcome::Storage(ServerError::Seal(
                SealError::Sealed,
            )))?;
        let row = key_records::seal_row(&seal, &key).map_err(InstallOutcome::Storage)?;
        match self.store.insert_key(&row, seal.id()) {
            Ok(true) => Ok((true, self.publish_key(key))),
            Ok(false) => Err(InstallOutcome::Storage(ServerError::Seal(
                SealError::Changed,
            ))),
            Err(e) => {
                // Another replica may have installed this keyset between
                // the check above and the insert: answer as if it had
                // been first (idempotent or conflict), not with a 500.
                match self.key(key.id_hex()) {
                    Some(existing) if existing.share() == key.share() => Ok((false, existing)),
                    Some(_) => Err(InstallOutcome::Rejected(InstallError::Conflict)),
                    None => Err(InstallOutcome::Storage(e)),
                }
            }
        }
    }

    /// Installs many validated keys at once, unchecked against what is
    /// installed (one already stored fails the whole call and publishes
    /// nothing): for benchmarks that need 100,000 keysets without 100,000
    /// admin requests. Like [`State::install`], each key is sealed under
    /// the seal key and committed before it is published, but all of them
    /// in one transaction. The keys are taken by value so the secret
    /// shares are moved into the snapshot, not copied.
    #[cfg(any(test, feature = "testkit"))]
    pub fn import_keys(&self, keys: Vec<InstalledKey>) -> Result<(), ServerError> {
        let _guard = self.admin_lock();
        let seal = self
            .seal_key()
            .ok_or(ServerError::Seal(SealError::Sealed))?;
        let rows = keys
            .iter()
            .map(|key| key_records::seal_row(&seal, key))
            .collect::<Result<Vec<_>, _>>()?;
        self.store.import_key_rows(&rows)?;
        // One write lock for the lot: readers wait once, not 100,000 times.
        let mut snapshot = self.write();
        for key in keys {
            snapshot.keys.insert(key.id_hex.clone(), Arc::new(key));
        }
        Ok(())
    }

    /// Creates a client with a token hash and grants; persisted first.
    pub fn add_client(
        &self,
        name: &str,
        token_sha256: [u8; 32],
        keysets: &[String],
    ) -> Result<(), ClientChangeError> {
        if !valid_client_name(name) {
            return Err(ClientError::InvalidName.into());
        }
        if keysets.is_empty() {
            return Err(ClientError::NoKeysets.into());
        }
        let _guard = self.admin_lock();
        let mut grants = Vec::new();
        for keyset in keysets {
            let id = normalize_keyset_id(keyset)
                .filter(|id| self.key(id).is_some())
                .ok_or_else(|| ClientError::UnknownKeyset(short_id(keyset)))?;
            if !grants.contains(&id) {
                grants.push(id);
            }
        }
        if self.store.client_by_name(name)?.is_some() {
            return Err(ClientError::Exists.into());
        }
        let record = ClientRecord {
            name: name.to_string(),
            token_sha256,
            keysets: grants,
            revoked: false,
            created: now_rfc3339(),
        };
        match self.store.insert_client(&record) {
            Ok(()) => Ok(()),
            Err(InsertClient::Exists) => Err(ClientError::Exists.into()),
            Err(InsertClient::Failed(e)) => Err(e.into()),
        }
    }

    /// Revokes a client (idempotent); committed before it is answered, and
    /// honoured by the next request since tokens are looked up per request.
    pub fn revoke_client(&self, name: &str) -> Result<(), ClientChangeError> {
        let _guard = self.admin_lock();
        match self.store.revoke_client(name)? {
            None => Err(ClientError::NotFound.into()),
            Some(_) => Ok(()),
        }
    }

    /// Serialises admin changes, so two of them cannot both pass their
    /// checks against the same snapshot. The snapshot is only changed in
    /// one step after storage is written, so a change that panicked leaves
    /// it consistent and a poisoned lock is safe to take over.
    pub(super) fn admin_lock(&self) -> MutexGuard<'_, ()> {
        self.write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

/// A keyset id shortened for messages (ids from requests may be junk).
fn short_id(text: &str) -> String {
    let shown: String = text
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(16)
        .collect();
    if shown.is_empty() {
        "(empty)".into()
    } else {
        shown
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use rand::rngs::OsRng;

    use super::*;
    use crate::durable;
    use crate::encoding::hex;
    use crate::server::auth::hash_token;
    #[cfg(unix)]
    use crate::server::state::test_support::mode;
    use crate::server::state::test_support::{fresh_dir, request_for};
    use crate::server::state::{validate_install, Principal};
    use crate::threshold::kem::deal;

    #[test]
    fn a_share_installed_through_one_replica_is_idempotent_or_a_conflict_through_another() {
        let (_tmp, dir, _admin) = fresh_dir();
        let a = State::load(&dir).unwrap();
        let b = State::load(&dir).unwrap();
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        let install = |state: &State, i: usize| {
            state.install(validate_install(&id, &request_for(&keyset, &shares[i])).unwrap())
        };
        assert!(install(&a, 0).unwrap().0);
        assert!(
            !install(&b, 0).unwrap().0,
            "the same share again is not an error"
        );
        let mut other = request_for(&keyset, &shares[1]);
        other.participant = 2;
        let other = validate_install(&id, &other).unwrap();
        assert!(matches!(
            b.install(other),
            Err(InstallOutcome::Rejected(InstallError::Conflict))
        ));
    }

    #[test]
    fn imported_keys_are_sealed_stored_and_published_in_one_step() {
        let (_tmp, dir, _admin) = fresh_dir();
        let state = State::load(&dir).unwrap();
        let dealt: Vec<_> = (0..3)
            .map(|_| deal(2, &[1, 2, 3], &mut OsRng).unwrap())
            .collect();
        let key_of = |i: usize| {
            let (keyset, shares) = &dealt[i];
            validate_install(&hex(keyset.id()), &request_for(keyset, &shares[0])).unwrap()
        };
        state.import_keys((0..3).map(key_of).collect()).unwrap();
        let mut ids: Vec<String> = dealt.iter().map(|(k, _)| hex(k.id())).collect();
        ids.sort();
        assert_eq!(state.keyset_ids(), ids);
        // Reopened, every row opens under the seal key and passes the
        // install check again.
        let reloaded = State::load(&dir).unwrap();
        assert_eq!(reloaded.keyset_ids(), ids);
        assert_eq!(
            reloaded.key(&hex(dealt[1].0.id())).unwrap().share(),
            &dealt[1].1[0]
        );
        // A batch holding an installed key stores and publishes nothing.
        let (fresh, fresh_shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let fresh_id = hex(fresh.id());
        let fresh_key =
            validate_install(&fresh_id, &request_for(&fresh, &fresh_shares[0])).unwrap();
        assert!(state.import_keys(vec![fresh_key, key_of(0)]).is_err());
        assert!(state.key(&fresh_id).is_none());
        assert_eq!(State::load(&dir).unwrap().keyset_ids(), ids);
    }

    #[test]
    fn state_persists_and_reloads_with_private_modes() {
        let (_tmp, dir, admin) = fresh_dir();
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir), 0o700);
            for file in [
                "server.toml",
                "state.db",
                "audit.log",
                "tls/key.pem",
                "tls/cert.pem",
            ] {
                assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
            }
        }
        let state = State::load(&dir).unwrap();
        assert_eq!(state.authenticate(admin.expose()), Some(Principal::Admin));
        assert_eq!(state.authenticate("slk_wrong"), None);

        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        let key = validate_install(&id, &request_for(&keyset, &shares[1])).unwrap();
        let (new, _) = state.install(key).unwrap();
        assert!(new);
        // Idempotent for the same share, a conflict for a different one.
        let again = validate_install(&id, &request_for(&keyset, &shares[1])).unwrap();
        assert!(!state.install(again).unwrap().0);
        let different = validate_install(&id, &request_for(&keyset, &shares[2])).unwrap();
        assert!(matches!(
            state.install(different),
            Err(InstallOutcome::Rejected(InstallError::Conflict))
        ));

        let token = crate::server::auth::generate_token();
        state
            .add_client("backup-1", hash_token(token.expose()), &[id.to_uppercase()])
            .unwrap();
        assert!(matches!(
            state.add_client("backup-1", [0; 32], std::slice::from_ref(&id)),
            Err(ClientChangeError::Rejected(ClientError::Exists))
        ));
        assert!(matches!(
            state.add_client("bad name", [0; 32], std::slice::from_ref(&id)),
            Err(ClientChangeError::Rejected(ClientError::InvalidName))
        ));
        assert!(matches!(
            state.add_client("other", [0; 32], &["ab".repeat(32)]),
            Err(ClientChangeError::Rejected(ClientError::UnknownKeyset(_)))
        ));

        // The database holds the token's hash, never the token; it and its
        // journal files stay private.
        let db = fs::read(dir.join("state.db")).unwrap();
        let wal = fs::read(dir.join("state.db-wal")).unwrap_or_default();
        for bytes in [&db, &wal] {
            assert!(!bytes
                .windows(token.expose().len())
                .any(|w| w == token.expose().as_bytes()));
        }
        for file in ["state.db", "state.db-wal", "state.db-shm"] {
            if dir.join(file).exists() {
                assert_eq!(mode(&dir.join(file)), 0o600, "{file}");
            }
        }

        // Reload: same keys, same clients, same share.
        let reloaded = State::load(&dir).unwrap();
        assert_eq!(reloaded.keyset_ids(), vec![id.clone()]);
        let loaded = reloaded.key(&id).unwrap();
        assert_eq!(loaded.share(), &shares[1]);
        assert_eq!(
            reloaded.authenticate(token.expose()),
            Some(Principal::Client {
                name: "backup-1".into(),
                keysets: vec![id.clone()],
            })
        );

        reloaded.revoke_client("backup-1").unwrap();
        reloaded.revoke_client("backup-1").unwrap();
        assert!(matches!(
            reloaded.revoke_client("nobody"),
            Err(ClientChangeError::Rejected(ClientError::NotFound))
        ));
        let again = State::load(&dir).unwrap();
        assert_eq!(
            again.authenticate(token.expose()),
            Some(Principal::Revoked("backup-1".into()))
        );
        let leftovers = fs::read_dir(&dir)
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .contains(durable::TEMP_MARKER)
            })
            .count();
        assert_eq!(leftovers, 0);
    }
}
