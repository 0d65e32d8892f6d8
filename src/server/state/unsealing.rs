//! The seal's life cycle in the running state (docs/OPERATIONS.md,
//! "Sealed shares"): the first seal of a database, starting sealed or open, unsealing
//! a running server, and changing the unseal secret.
//!
//! The seal key is in memory only while the server is open; a sealed
//! server publishes no keys, so nothing that needs a share can run.

use std::sync::{Arc, PoisonError};

use super::key_records;
use super::store::{KeyRow, Store};
use super::{InstalledKey, State};
use crate::server::seal::{SealChoice, SealError, SealKey, SealKind, SealRecord, UnsealSecret};
use crate::server::ServerError;

/// Whether the running server holds its seal key.
pub(super) enum SealStatus {
    /// Keys sealed; nothing that needs a share runs.
    Sealed,
    /// Open, with the key that seals new rows.
    Open(Arc<SealKey>),
}

/// What [`State::unseal`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsealOutcome {
    /// It was sealed and now serves this many keysets.
    Unsealed(usize),
    /// It was open already (the secret was not checked).
    AlreadyUnsealed(usize),
}

/// Why [`State::unseal`] failed.
#[derive(Debug, thiserror::Error)]
pub enum UnsealError {
    /// The secret does not open the seal (the caller's fault).
    #[error(transparent)]
    Refused(SealError),
    /// The server's storage failed or holds damaged records.
    #[error(transparent)]
    Failed(ServerError),
}

/// What [`State::change_seal`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealReport {
    /// How the seal key is kept now.
    pub kind: SealKind,
    /// Whether a new seal key was made and every key re-sealed (when the
    /// old seal key was stored in clear).
    pub rotated: bool,
    /// Keys stored.
    pub keys: usize,
}

/// Reads or creates the database's seal and, if `unseal` (or an insecure
/// seal) opens it, every key, validated.
pub(super) fn prepare(
    store: &dyn Store,
    unseal: Option<&SealChoice>,
) -> Result<(SealStatus, Vec<InstalledKey>), ServerError> {
    // Twice at most: a replica that loses the race to seal a fresh
    // database opens the seal the winner wrote.
    for _ in 0..2 {
        let Some(text) = store.seal()? else {
            if let Some(opened) = first_seal(store, unseal)? {
                return Ok(opened);
            }
            continue;
        };
        let record = SealRecord::parse(&text).map_err(ServerError::Seal)?;
        let key = match unseal {
            Some(SealChoice::Secret(secret)) => record.open(secret),
            Some(SealChoice::Insecure) => record.open_insecure(),
            None if record.kind() == SealKind::None => record.open_insecure(),
            None => return Ok((SealStatus::Sealed, Vec::new())),
        }
        .map_err(ServerError::Seal)?;
        let keys = open_all(store, &key)?;
        super::lifecycle::ensure_identity_in(store, &key)?;
        return Ok((SealStatus::Open(Arc::new(key)), keys));
    }
    Err(ServerError::Seal(SealError::Changed))
}

/// Seals a database that has no seal record: a new one, or one written
/// before sealing existed (its rows in clear are sealed in the same
/// transaction). `None`: another replica sealed it first.
fn first_seal(
    store: &dyn Store,
    unseal: Option<&SealChoice>,
) -> Result<Option<(SealStatus, Vec<InstalledKey>)>, ServerError> {
    let place = store.location();
    let plain = store.key_rows()?;
    let choice = match unseal {
        Some(choice) => choice,
        // Keys stored in clear by an older shardlock keep working: they
        // get a seal whose key is in clear, and the operator is told.
        None if !plain.is_empty() => &SealChoice::Insecure,
        None => return Err(ServerError::Seal(SealError::NoSeal)),
    };
    if let SealChoice::Secret(secret) = choice {
        secret.check_strength().map_err(ServerError::Seal)?;
    }
    let key = SealKey::generate();
    let record = SealRecord::new(&key, choice);
    let rows = plain
        .iter()
        .map(|row| key_records::seal_plain_row(&key, row, &place))
        .collect::<Result<Vec<KeyRow>, _>>()?;
    if !store.write_seal(None, key.id(), &record.to_text(), &rows, None)? {
        return Ok(None);
    }
    if !plain.is_empty() && matches!(choice, SealChoice::Insecure) {
        eprintln!(
            "shardlock server: warning: {} key(s) in {} were stored in clear; they are kept \
             under a seal without a passphrase. Seal them with `shardlock server seal`.",
            plain.len(),
            place.display()
        );
    }
    let keys = open_all(store, &key)?;
    super::lifecycle::ensure_identity_in(store, &key)?;
    Ok(Some((SealStatus::Open(Arc::new(key)), keys)))
}

/// Every stored key, opened with `key` and validated.
fn open_all(store: &dyn Store, key: &SealKey) -> Result<Vec<InstalledKey>, ServerError> {
    let place = store.location();
    store
        .key_rows()?
        .iter()
        .map(|row| key_records::open_row(key, row, &place))
        .collect()
}

impl State {
    /// Whether the server is sealed (evaluations refused).
    pub fn is_sealed(&self) -> bool {
        matches!(*self.seal_status(), SealStatus::Sealed)
    }

    /// The seal key, while open.
    pub(crate) fn seal_key(&self) -> Option<Arc<SealKey>> {
        match &*self.seal_status() {
            SealStatus::Open(key) => Some(Arc::clone(key)),
            SealStatus::Sealed => None,
        }
    }

    fn seal_status(&self) -> std::sync::RwLockReadGuard<'_, SealStatus> {
        self.seal.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Unseals a running sealed server with `secret`, reading the seal
    /// record afresh (it may have been changed while sealed), then opens
    /// and validates every key and publishes them. Blocking: argon2id
    /// takes about a quarter second; call it off the async threads.
    pub fn unseal(&self, secret: &UnsealSecret) -> Result<UnsealOutcome, UnsealError> {
        let _guard = self.admin_lock();
        if !self.is_sealed() {
            return Ok(UnsealOutcome::AlreadyUnsealed(self.read().keys.len()));
        }
        let text = self
            .store
            .seal()
            .map_err(UnsealError::Failed)?
            .ok_or(UnsealError::Failed(ServerError::Seal(SealError::NoSeal)))?;
        let record =
            SealRecord::parse(&text).map_err(|e| UnsealError::Failed(ServerError::Seal(e)))?;
        let key = record.open(secret).map_err(|e| match e {
            SealError::Corrupt(_) => UnsealError::Failed(ServerError::Seal(e)),
            refused => UnsealError::Refused(refused),
        })?;
        let keys = open_all(self.store.as_ref(), &key).map_err(UnsealError::Failed)?;
        super::lifecycle::ensure_identity_in(self.store.as_ref(), &key)
            .map_err(UnsealError::Failed)?;
        let count = keys.len();
        for key in keys {
            self.publish_key(key);
        }
        *self.seal.write().unwrap_or_else(PoisonError::into_inner) =
            SealStatus::Open(Arc::new(key));
        Ok(UnsealOutcome::Unsealed(count))
    }

    /// Keeps the seal key as `new` says from now on (`server seal`): a new
    /// passphrase or key file rewraps the seal key and touches no share,
    /// so running replicas keep working. When the seal key was stored in
    /// clear, a new seal key is made and every key re-sealed under it, in
    /// the same transaction; running replicas then refuse installs until
    /// restarted (their key no longer matches).
    pub fn change_seal(&self, new: &SealChoice) -> Result<SealReport, ServerError> {
        let _guard = self.admin_lock();
        let key = self
            .seal_key()
            .ok_or(ServerError::Seal(SealError::Sealed))?;
        if let SealChoice::Secret(secret) = new {
            secret.check_strength().map_err(ServerError::Seal)?;
        }
        let text = self
            .store
            .seal()?
            .ok_or(ServerError::Seal(SealError::NoSeal))?;
        let current = SealRecord::parse(&text).map_err(ServerError::Seal)?;
        let place = self.store.location();
        let (written, rotated, keys) = if current.kind() == SealKind::None {
            // Staged shares are sealed too; rather than re-seal them mid-round,
            // the round is finished or aborted first.
            if !self.store.staged_rows()?.is_empty() {
                return Err(ServerError::Seal(SealError::Staged));
            }
            let fresh = SealKey::generate();
            let rows = self
                .store
                .key_rows()?
                .iter()
                .map(|row| key_records::reseal_row(&key, &fresh, row, &place))
                .collect::<Result<Vec<_>, _>>()?;
            let identity = super::lifecycle::reseal_identity(self.store.as_ref(), &key, &fresh)?;
            let record = SealRecord::new(&fresh, new);
            let written = self.store.write_seal(
                Some(key.id()),
                fresh.id(),
                &record.to_text(),
                &rows,
                identity.as_deref(),
            )?;
            if written {
                *self.seal.write().unwrap_or_else(PoisonError::into_inner) =
                    SealStatus::Open(Arc::new(fresh));
            }
            (written, true, rows.len())
        } else {
            let record = SealRecord::new(&key, new);
            let written =
                self.store
                    .write_seal(Some(key.id()), key.id(), &record.to_text(), &[], None)?;
            (written, false, self.store.key_rows()?.len())
        };
        if !written {
            return Err(ServerError::Seal(SealError::Changed));
        }
        Ok(SealReport {
            kind: match new {
                SealChoice::Insecure => SealKind::None,
                SealChoice::Secret(UnsealSecret::Passphrase(_)) => SealKind::Argon2id,
                SealChoice::Secret(UnsealSecret::KeyFile(_)) => SealKind::KeyFile,
            },
            rotated,
            keys,
        })
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;
    use crate::encoding::hex;
    use crate::server::state::test_support::request_for;
    use crate::server::state::validate_install;
    use crate::threshold::kem::deal;

    fn passphrase(text: &str) -> UnsealSecret {
        UnsealSecret::passphrase(text.into()).unwrap()
    }

    fn a_key() -> InstalledKey {
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        validate_install(&hex(keyset.id()), &request_for(&keyset, &shares[0])).unwrap()
    }

    #[test]
    fn a_sealed_state_has_no_keys_until_the_right_passphrase_unseals_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let secret = || SealChoice::Secret(passphrase("the right passphrase"));
        crate::server::init(&dir, &[], &secret()).unwrap();
        let key = a_key();
        let id = key.id_hex().to_string();
        State::open(&dir, Some(&secret()))
            .unwrap()
            .install(key)
            .unwrap();

        let state = State::load(&dir).unwrap();
        assert!(state.is_sealed());
        assert!(state.key(&id).is_none());
        assert!(state.keyset_ids().is_empty());
        assert!(matches!(
            state.install(a_key()),
            Err(crate::server::InstallOutcome::Storage(ServerError::Seal(
                SealError::Sealed
            )))
        ));
        assert!(matches!(
            state.unseal(&passphrase("a wrong passphrase")),
            Err(UnsealError::Refused(SealError::WrongSecret("passphrase")))
        ));
        assert!(state.is_sealed());
        assert_eq!(
            state.unseal(&passphrase("the right passphrase")).unwrap(),
            UnsealOutcome::Unsealed(1)
        );
        assert!(state.key(&id).is_some());
        assert_eq!(
            state.unseal(&passphrase("anything")).unwrap(),
            UnsealOutcome::AlreadyUnsealed(1)
        );
    }

    #[test]
    fn sealing_an_insecure_server_rotates_its_key_and_stale_replicas_cannot_store() {
        let (_tmp, dir, _admin) = crate::server::state::test_support::fresh_dir();
        let state = State::load(&dir).unwrap();
        let stale = State::load(&dir).unwrap();
        let key = a_key();
        let id = key.id_hex().to_string();
        state.install(key).unwrap();
        let old_id = state.seal_key().unwrap().id().to_string();
        let report = state
            .change_seal(&SealChoice::Secret(passphrase("now it is sealed")))
            .unwrap();
        assert_eq!(
            report,
            SealReport {
                kind: SealKind::Argon2id,
                rotated: true,
                keys: 1
            }
        );
        assert_ne!(state.seal_key().unwrap().id(), old_id);
        // The other handle still holds the old seal key: its install is
        // refused instead of writing a row nobody could open.
        assert!(matches!(
            stale.install(a_key()),
            Err(crate::server::InstallOutcome::Storage(ServerError::Seal(
                SealError::Changed
            )))
        ));
        // Reopened: sealed now, and the passphrase opens the re-sealed key.
        assert!(State::load(&dir).unwrap().is_sealed());
        let reopened = State::open(
            &dir,
            Some(&SealChoice::Secret(passphrase("now it is sealed"))),
        )
        .unwrap();
        assert!(reopened.key(&id).is_some());
        // A passphrase change keeps the seal key: nothing to rotate.
        let report = reopened
            .change_seal(&SealChoice::Secret(passphrase("and now another one")))
            .unwrap();
        assert!(!report.rotated);
        assert!(reopened.install(a_key()).is_ok());
    }

    #[test]
    fn keys_stored_in_clear_by_an_older_version_are_sealed_at_load() {
        let (_tmp, dir, _admin) = crate::server::state::test_support::fresh_dir();
        let key = a_key();
        let id = key.id_hex().to_string();
        // An older database: the install JSON in clear, no seal record.
        let conn = rusqlite::Connection::open(dir.join(super::super::DB_FILE)).unwrap();
        conn.execute_batch("DELETE FROM seal; DELETE FROM identity;")
            .unwrap();
        conn.execute(
            "INSERT INTO keys (id, install, installed) VALUES (?1, ?2, 'then')",
            rusqlite::params![id, key_records::install_json(&key).unwrap().as_str()],
        )
        .unwrap();
        let state = State::load(&dir).unwrap();
        assert!(!state.is_sealed());
        assert!(state.key(&id).is_some());
        let stored: String = conn
            .query_row("SELECT install FROM keys", [], |row| row.get(0))
            .unwrap();
        assert!(stored.starts_with("sealed-v1:"), "{stored}");
        assert!(State::load(&dir).unwrap().key(&id).is_some());
    }
}
