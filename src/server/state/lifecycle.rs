//! This server's side of the key lifecycle (docs/FORMAT.md section 8): its
//! identity, and the deal / receive / commit / abort steps with the staged
//! share kept in the store until every new member has confirmed the same
//! transcript.
//!
//! Crash safety comes from the store: staging, committing (the new key
//! replaces the old epoch's in the same transaction) and leaving (the key
//! deleted in the same transaction) are each one transaction, so a crash
//! leaves the server on one side of each step, and every step answers a
//! repeat of itself with the same outcome, so the coordinator can resume.

use std::sync::Arc;

use rand::rngs::OsRng;
use zeroize::Zeroizing;

use super::key_records;
use super::store::{IdentityRow, KeyRow, LifecycleChange, LifecycleRow};
use super::{InstalledKey, State};
use crate::encoding::hex;
use crate::identity::{IdentityPublic, IdentitySecret};
use crate::lifecycle::wire::LifecycleStatus;
use crate::lifecycle::{self, Confirmation, Deal, LifecycleError, Plan};
use crate::server::seal::{SealError, SealKey};
use crate::server::ServerError;
use crate::threshold::kem::PublicKeyset;

/// The associated-data name the identity is sealed under (keyset ids are
/// 64 hex digits, so it cannot collide with one).
const IDENTITY_RECORD: &str = "identity";

/// Why a lifecycle step was not taken.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleFailure {
    /// The request contradicts this server's state (409).
    #[error("{0}")]
    Refused(String),
    /// A message does not verify (400); names the culprit where known.
    #[error(transparent)]
    Protocol(#[from] LifecycleError),
    /// The server is sealed (503).
    #[error("server is sealed; its operator must unseal it")]
    Sealed,
    /// Storage failed (500, details only in the server's log).
    #[error(transparent)]
    Storage(#[from] ServerError),
}

fn refused(message: impl Into<String>) -> LifecycleFailure {
    LifecycleFailure::Refused(message.into())
}

/// What a new member answers to a receive.
#[derive(Debug)]
pub struct ReceiveOutcome {
    /// The transcript hash it confirmed.
    pub transcript: [u8; 32],
    /// Its confirmation.
    pub confirmation: Confirmation,
    /// The new epoch's public keyset as it computed it.
    pub keyset: PublicKeyset,
}

impl State {
    /// The public identity, readable while sealed (`None` before the
    /// first unsealed start made one).
    pub fn identity_public(&self) -> Result<Option<IdentityPublic>, ServerError> {
        self.store
            .identity()?
            .map(|row| {
                IdentityPublic::parse(&row.public).map_err(|_| ServerError::Corrupt {
                    path: self.store.location(),
                    reason: "the stored server identity is not valid".into(),
                })
            })
            .transpose()
    }

    /// The identity secret, made and stored on first use (sealed under the
    /// seal key, docs/FORMAT.md section 8.2). Needs an unsealed server.
    pub(crate) fn identity_secret(&self) -> Result<IdentitySecret, LifecycleFailure> {
        let seal = self.seal_key().ok_or(LifecycleFailure::Sealed)?;
        Ok(ensure_identity(self, &seal)?)
    }

    /// Round 1: deals as this server's participant.
    pub fn lifecycle_deal(&self, plan: &Plan) -> Result<Deal, LifecycleFailure> {
        let identity = self.identity_secret()?;
        let me = identity.public();
        match &plan.from {
            None => {
                let id = plan
                    .new_id_of(&me)
                    .ok_or_else(|| refused("this server's identity is not in the plan"))?;
                Ok(lifecycle::make_deal(plan, id, None, &identity, &mut OsRng)?)
            }
            Some(from) => {
                let key = self.current_key(from)?;
                let id = key.share().id();
                if !plan.dealers.contains(&id) {
                    return Err(refused(format!(
                        "participant {id} (this server) is not a dealer of this round"
                    )));
                }
                Ok(lifecycle::make_deal(
                    plan,
                    id,
                    Some(key.share()),
                    &identity,
                    &mut OsRng,
                )?)
            }
        }
    }

    /// The key this server holds for `from`'s keyset, which must be
    /// exactly `from` (same epoch, threshold and public shares).
    fn current_key(&self, from: &PublicKeyset) -> Result<Arc<InstalledKey>, LifecycleFailure> {
        let id = hex(from.id());
        let key = self
            .key(&id)
            .ok_or_else(|| refused(format!("this server does not hold keyset {id}")))?;
        if key.keyset() != from {
            return Err(refused(format!(
                "this server holds epoch {} of the keyset, and the plan starts from epoch {} \
                 (or different public shares)",
                key.keyset().epoch(),
                from.epoch()
            )));
        }
        Ok(key)
    }

    /// Round 2: checks every deal, stages the new share, confirms the
    /// transcript. Asked again with the same deals, it confirms again;
    /// with different ones for the same session, it refuses (the relay
    /// equivocated).
    pub fn lifecycle_receive(
        &self,
        plan: &Plan,
        deals: &[Deal],
    ) -> Result<ReceiveOutcome, LifecycleFailure> {
        let _guard = self.admin_lock();
        let seal = self.seal_key().ok_or(LifecycleFailure::Sealed)?;
        let identity = ensure_identity(self, &seal)?;
        // The hash only, to compare with what is stored; `receive` below
        // checks every deal once.
        let transcript = lifecycle::transcript_hash(&plan.hash(), deals);
        let session = hex(&plan.session);
        if let Some(row) = self.store.lifecycle_row(&session)? {
            if row.transcript != hex(&transcript) {
                return Err(refused(
                    "this server already received different deals for this round: the \
                     coordinator showed servers different messages",
                ));
            }
            match row.state.as_str() {
                "aborted" => return Err(refused("this round was aborted on this server")),
                "committed" => {
                    // A repeat after the commit: confirm again from the key
                    // now in place.
                    let key = self.key(&row.keyset_id).ok_or_else(|| {
                        refused("this round committed here, and the keyset has changed since")
                    })?;
                    return Ok(ReceiveOutcome {
                        transcript,
                        confirmation: lifecycle::confirm(&identity, &transcript, key.share().id()),
                        keyset: key.keyset().clone(),
                    });
                }
                _ => {}
            }
        }
        if let Some(from) = &plan.from {
            // A server holding the keyset at the plan's epoch must hold
            // exactly `from`, and one at a later epoch refuses a stale plan.
            // One at an earlier epoch (a repaired participant's old server,
            // now joining again) holds a useless share that the commit
            // replaces; a new server has nothing to compare.
            if let Some(key) = self.key(&hex(from.id())) {
                if key.keyset().epoch() >= from.epoch() {
                    let _ = self.current_key(from)?;
                }
            }
        }
        let received = lifecycle::receive(plan, deals, &identity)?;
        let id_hex = hex(received.keyset.id());
        if let Some(other) = self
            .store
            .staged_rows()?
            .into_iter()
            .find(|r| r.keyset_id == id_hex && r.session != session)
        {
            return Err(refused(format!(
                "another change of this keyset is staged here (session {}); resume or abort it first",
                other.session
            )));
        }
        let participant = received.share.id();
        let key = InstalledKey {
            id_hex: id_hex.clone(),
            keyset: received.keyset.clone(),
            share: received.share,
        };
        let sealed = key_records::seal_row(&seal, &key)?;
        let row = LifecycleRow {
            session: session.clone(),
            keyset_id: id_hex,
            state: "staged".into(),
            to_epoch: plan.to_epoch,
            transcript: hex(&transcript),
            record: Some(sealed.record),
        };
        if !self
            .store
            .apply_lifecycle(&LifecycleChange::Stage(&row), seal.id())?
        {
            // Staged by an earlier request (same transcript, checked above)
            // or by another replica; anything else is a changed seal.
            let stored = self.store.lifecycle_row(&session)?;
            if stored.is_none_or(|r| r.transcript != row.transcript) {
                return Err(ServerError::Seal(SealError::Changed).into());
            }
        }
        Ok(ReceiveOutcome {
            transcript,
            confirmation: lifecycle::confirm(&identity, &transcript, participant),
            keyset: received.keyset,
        })
    }

    /// Round 3: with every new member's confirmation of `transcript`,
    /// switches to the new epoch (or, for a server that leaves, deletes
    /// its share). Idempotent.
    pub fn lifecycle_commit(
        &self,
        plan: &Plan,
        transcript: &[u8; 32],
        confirmations: &[Confirmation],
    ) -> Result<LifecycleStatus, LifecycleFailure> {
        lifecycle::check_confirmations(plan, transcript, confirmations)?;
        let _guard = self.admin_lock();
        let seal = self.seal_key().ok_or(LifecycleFailure::Sealed)?;
        let identity = ensure_identity(self, &seal)?;
        let session = hex(&plan.session);
        let place = self.store.location();
        match self.store.lifecycle_row(&session)? {
            Some(row) if row.transcript != hex(transcript) => Err(refused(
                "this server confirmed a different transcript for this round",
            )),
            Some(row) => match row.state.as_str() {
                "staged" => {
                    let record = row.record.clone().ok_or_else(|| ServerError::Corrupt {
                        path: place.clone(),
                        reason: format!("round {session}: staged without a key"),
                    })?;
                    let key_row = KeyRow {
                        id: row.keyset_id.clone(),
                        record,
                    };
                    let key = key_records::open_row(&seal, &key_row, &place)?;
                    let change = LifecycleChange::Commit {
                        session: &session,
                        key: &key_row,
                    };
                    if !self.store.apply_lifecycle(&change, seal.id())? {
                        return self.settled(&session, &row.keyset_id);
                    }
                    let epoch = key.keyset().epoch();
                    self.publish_key(key);
                    Ok(status("committed", Some(epoch)))
                }
                _ => self.settled(&session, &row.keyset_id),
            },
            None => {
                let from = plan.from.as_ref().ok_or_else(|| {
                    refused("nothing is staged here for this round; deliver the deals first")
                })?;
                if plan.new_id_of(&identity.public()).is_some() {
                    return Err(refused(
                        "nothing is staged here for this round; deliver the deals first",
                    ));
                }
                let key = self.current_key(from)?;
                let me = key.share().id();
                if plan.old_member(me).map(|m| &m.identity) != Some(&identity.public()) {
                    return Err(refused(format!(
                        "participant {me} (this server) is not in the plan's current members"
                    )));
                }
                let row = LifecycleRow {
                    session: session.clone(),
                    keyset_id: key.id_hex().to_string(),
                    state: "left".into(),
                    to_epoch: plan.to_epoch,
                    transcript: hex(transcript),
                    record: None,
                };
                if !self
                    .store
                    .apply_lifecycle(&LifecycleChange::Leave(&row), seal.id())?
                {
                    return self.settled(&session, key.id_hex());
                }
                self.unpublish_key(key.id_hex());
                Ok(status("left", None))
            }
        }
    }

    /// Drops what this server staged for the round, unless it committed.
    pub fn lifecycle_abort(&self, plan: &Plan) -> Result<LifecycleStatus, LifecycleFailure> {
        let _guard = self.admin_lock();
        let seal = self.seal_key().ok_or(LifecycleFailure::Sealed)?;
        let session = hex(&plan.session);
        match self.store.lifecycle_row(&session)? {
            None => Ok(status("nothing staged", None)),
            Some(row) => match row.state.as_str() {
                "staged" => {
                    let change = LifecycleChange::Abort { session: &session };
                    if !self.store.apply_lifecycle(&change, seal.id())? {
                        return self.settled(&session, &row.keyset_id);
                    }
                    Ok(status("aborted", None))
                }
                "aborted" => Ok(status("aborted", None)),
                _ => Err(refused(
                    "this server already committed this round; it cannot be rolled back, \
                     finish it with --resume",
                )),
            },
        }
    }

    /// The outcome of a round already settled here (a repeated commit).
    fn settled(&self, session: &str, keyset_id: &str) -> Result<LifecycleStatus, LifecycleFailure> {
        let row = self
            .store
            .lifecycle_row(session)?
            .ok_or(ServerError::Seal(SealError::Changed))?;
        match row.state.as_str() {
            "committed" => Ok(status(
                "committed",
                self.key(keyset_id).map(|k| k.keyset().epoch()),
            )),
            "left" => Ok(status("left", None)),
            "aborted" => Err(refused("this round was aborted on this server")),
            // Still staged: the seal changed under us.
            _ => Err(ServerError::Seal(SealError::Changed).into()),
        }
    }

    fn unpublish_key(&self, id_hex: &str) {
        self.write().keys.remove(id_hex);
    }
}

fn status(status: &str, epoch: Option<u32>) -> LifecycleStatus {
    LifecycleStatus {
        status: status.into(),
        epoch,
    }
}

/// The stored identity opened with `seal`, or a new one stored first.
pub(super) fn ensure_identity(
    state: &State,
    seal: &SealKey,
) -> Result<IdentitySecret, ServerError> {
    ensure_identity_in(state.store.as_ref(), seal)
}

/// Makes the identity of a state directory just created by `server init`
/// (its SQLite database holds the seal record and nothing else yet).
pub(crate) fn create_identity(
    dir: &std::path::Path,
    seal: &SealKey,
) -> Result<IdentityPublic, ServerError> {
    let store = super::SqliteStore::open(&dir.join(super::DB_FILE))?;
    Ok(ensure_identity_in(&store, seal)?.public())
}

/// [`ensure_identity`] on a bare store (at load, before the state exists).
pub(super) fn ensure_identity_in(
    store: &dyn super::store::Store,
    seal: &SealKey,
) -> Result<IdentitySecret, ServerError> {
    let place = store.location();
    for _ in 0..2 {
        if let Some(row) = store.identity()? {
            return open_identity(seal, &row, &place);
        }
        let fresh = IdentitySecret::generate(&mut OsRng);
        let text = fresh.to_text();
        let row = IdentityRow {
            public: fresh.public().to_text(),
            record: Zeroizing::new(seal.seal_record(IDENTITY_RECORD, text.as_bytes())),
        };
        if store.insert_identity(&row, seal.id())? {
            return Ok(fresh);
        }
        // Another replica stored one first, or the seal changed.
    }
    Err(ServerError::Seal(SealError::Changed))
}

fn open_identity(
    seal: &SealKey,
    row: &IdentityRow,
    place: &std::path::Path,
) -> Result<IdentitySecret, ServerError> {
    let corrupt = |reason: String| ServerError::Corrupt {
        path: place.to_path_buf(),
        reason,
    };
    let text = seal
        .open_record(IDENTITY_RECORD, &row.record)
        .map_err(|e| corrupt(e.to_string()))?;
    let text = std::str::from_utf8(&text).map_err(|_| corrupt("identity: not text".into()))?;
    let secret = IdentitySecret::from_text(text)
        .map_err(|_| corrupt("the stored server identity is not valid".into()))?;
    if secret.public().to_text() != row.public {
        return Err(corrupt(
            "the stored server identity's halves do not match".into(),
        ));
    }
    Ok(secret)
}

/// The identity record re-sealed under `new` (a seal change that rotates
/// the seal key).
pub(super) fn reseal_identity(
    store: &dyn super::store::Store,
    old: &SealKey,
    new: &SealKey,
) -> Result<Option<String>, ServerError> {
    let Some(row) = store.identity()? else {
        return Ok(None);
    };
    let secret = open_identity(old, &row, &store.location())?;
    Ok(Some(
        new.seal_record(IDENTITY_RECORD, secret.to_text().as_bytes()),
    ))
}
