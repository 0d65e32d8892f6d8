//! The seal's life cycle in the running state (docs/OPERATIONS.md section
//! 1.2): the first seal of a database, starting sealed or open, unsealing
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
    if !store.write_seal(None, key.id(), &record.to_text(), &rows)? {
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
        let record = SealRecord::parse(&text)
            .map_err(|e| UnsealError::Failed(ServerError::Seal(e)))?;
        let key = record.open(secret).map_err(|e| match e {
            SealError::Corrupt(_) => UnsealError::Failed(ServerError::Seal(e)),
            refused => UnsealError::Refused(refused),
        })?;
        let keys = open_all(self.store.as_ref(), &key).map_err(UnsealError::Failed)?;
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
        let key = self.seal_key().ok_or(ServerError::Seal(SealError::Sealed))?;
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
            let fresh = SealKey::generate();
            let rows = self
                .store
                .key_rows()?
                .iter()
                .map(|row| key_records::reseal_row(&key, &fresh, row, &place))
                .collect::<Result<Vec<_>, _>>()?;
            let record = SealRecord::new(&fresh, new);
            let written =
                self.store
                    .write_seal(Some(key.id()), fresh.id(), &record.to_text(), &rows)?;
            if written {
                *self.seal.write().unwrap_or_else(PoisonError::into_inner) =
                    SealStatus::Open(Arc::new(fresh));
            }
            (written, true, rows.len())
        } else {
            let record = SealRecord::new(&key, new);
            let written = self
                .store
                .write_seal(Some(key.id()), key.id(), &record.to_text(), &[])?;
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
