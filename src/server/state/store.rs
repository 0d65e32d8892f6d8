//! The storage seam: the one small interface the running state uses to
//! keep installed keys and clients, whatever holds them. Today's backend
//! is embedded SQLite ([`super::sqlite_store`]), the default; PostgreSQL
//! ([`super::postgres_store`]) is shared by several replicas of one
//! participant. Both run the same test suite (`store_tests`).
//!
//! Every method is one transaction: a change either happened completely,
//! durably, or not at all. Lookups by token hash are index lookups, so
//! their cost does not grow with the number of clients.

use zeroize::Zeroizing;

use super::ClientRecord;
use crate::server::ServerError;

/// A stored key: its keyset id and its key record, sealed under the seal
/// key (docs/FORMAT.md section 7). Only a database written before sealing
/// existed holds records in clear, and then no seal record (see
/// [`Store::seal`]); the state converts those at load.
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    /// Keyset id, lower-case hex.
    pub(crate) id: String,
    /// The record as stored (may be a secret share in clear in an old
    /// database, so zeroized when dropped).
    pub(crate) record: Zeroizing<String>,
}

/// The server's identity (docs/FORMAT.md section 8.2): the public half in
/// clear, the secret half sealed under the seal key.
#[derive(Debug, Clone)]
pub(crate) struct IdentityRow {
    /// base64url of the 64-byte public identity.
    pub(crate) public: String,
    /// The sealed `shardlock-identity-v1:` text.
    pub(crate) record: Zeroizing<String>,
}

/// One lifecycle round as this server saw it (docs/FORMAT.md section 8.5).
#[derive(Debug, Clone)]
pub(crate) struct LifecycleRow {
    /// Session id, 32 hex digits.
    pub(crate) session: String,
    /// Keyset id, lower-case hex.
    pub(crate) keyset_id: String,
    /// `staged`, `committed`, `left` or `aborted`.
    pub(crate) state: String,
    /// The epoch the round produces.
    pub(crate) to_epoch: u32,
    /// Hex transcript hash this server confirmed (empty for `left`).
    pub(crate) transcript: String,
    /// The staged key, sealed like a key row, while `staged`.
    pub(crate) record: Option<Zeroizing<String>>,
}

/// A change to the lifecycle state, each one transaction that also checks
/// the seal key is still `seal_key_id` (as [`Store::insert_key`] does).
#[derive(Debug)]
pub(crate) enum LifecycleChange<'a> {
    /// Records a staged round; nothing happens if the session exists.
    Stage(&'a LifecycleRow),
    /// Marks a staged round committed and puts its key in place (replacing
    /// the keyset's previous epoch, if any).
    Commit {
        /// The staged session.
        session: &'a str,
        /// The new key row.
        key: &'a KeyRow,
    },
    /// Records that this server left the keyset and deletes its key.
    Leave(&'a LifecycleRow),
    /// Marks a staged round aborted and drops its staged key.
    Abort {
        /// The staged session.
        session: &'a str,
    },
}

/// Why a client could not be inserted.
#[derive(Debug)]
pub(crate) enum InsertClient {
    /// The name (or, absurdly, the token hash) is already taken.
    Exists,
    /// The store failed.
    Failed(ServerError),
}

impl From<ServerError> for InsertClient {
    fn from(e: ServerError) -> Self {
        InsertClient::Failed(e)
    }
}

/// Durable storage of a participant's keys and clients.
pub(crate) trait Store: Send + Sync + std::fmt::Debug {
    /// Names the database in messages (a path, or host and database; never
    /// a password).
    fn location(&self) -> std::path::PathBuf;

    /// Every stored key, as stored.
    fn key_rows(&self) -> Result<Vec<KeyRow>, ServerError>;

    /// The stored key of keyset `id_hex`, if any: how a replica finds a
    /// key installed through another replica.
    fn key_row(&self, id_hex: &str) -> Result<Option<KeyRow>, ServerError>;

    /// Stores a newly installed key sealed under seal key `seal_key_id`,
    /// in one transaction with the check that this is still the seal key
    /// in the database. `Ok(false)`: it is not (the seal was changed
    /// since this server unsealed), and nothing was stored.
    fn insert_key(&self, row: &KeyRow, seal_key_id: &str) -> Result<bool, ServerError>;

    /// The seal record (JSON), if the database has one yet.
    fn seal(&self) -> Result<Option<String>, ServerError>;

    /// Replaces the seal record, in one transaction with rewriting the
    /// given key rows and identity record, provided the current seal key id is still
    /// `expected` (`None`: there is no seal record yet). `Ok(false)`: it
    /// is not, and nothing changed.
    fn write_seal(
        &self,
        expected: Option<&str>,
        key_id: &str,
        record: &str,
        rows: &[KeyRow],
        identity: Option<&str>,
    ) -> Result<bool, ServerError>;

    /// The server identity, if one was made yet.
    fn identity(&self) -> Result<Option<IdentityRow>, ServerError>;

    /// Stores the identity unless one exists, under seal key
    /// `seal_key_id`. `Ok(false)`: the seal key changed, or another
    /// replica stored its identity first (read it back).
    fn insert_identity(&self, row: &IdentityRow, seal_key_id: &str) -> Result<bool, ServerError>;

    /// The lifecycle round `session`, if this server took part in it.
    fn lifecycle_row(&self, session: &str) -> Result<Option<LifecycleRow>, ServerError>;

    /// Every round still staged.
    fn staged_rows(&self) -> Result<Vec<LifecycleRow>, ServerError>;

    /// Applies `change`. `Ok(false)`: the seal key changed, or the round
    /// is not in the state the change needs; nothing happened.
    fn apply_lifecycle(
        &self,
        change: &LifecycleChange<'_>,
        seal_key_id: &str,
    ) -> Result<bool, ServerError>;

    /// The client whose token hashes to `token_sha256`, if any.
    fn client_by_token(&self, token_sha256: &[u8; 32])
        -> Result<Option<ClientRecord>, ServerError>;

    /// Every client, oldest first.
    fn clients(&self) -> Result<Vec<ClientRecord>, ServerError>;

    /// The client of this name, if any (revoked names stay taken).
    fn client_by_name(&self, name: &str) -> Result<Option<ClientRecord>, ServerError>;

    /// Stores a new client.
    fn insert_client(&self, record: &ClientRecord) -> Result<(), InsertClient>;

    /// Stores many clients in one transaction (benchmarks and tests).
    #[cfg(any(test, feature = "testkit"))]
    fn import_clients(&self, clients: &[ClientRecord]) -> Result<(), ServerError>;

    /// Stores many key rows in one transaction, without the seal check of
    /// [`Store::insert_key`]: the caller has sealed them under the current
    /// seal key (benchmarks and tests).
    #[cfg(any(test, feature = "testkit"))]
    fn import_key_rows(&self, rows: &[KeyRow]) -> Result<(), ServerError>;

    /// Marks a client revoked. `Ok(None)`: no such client; `Ok(Some(false))`:
    /// it was revoked already.
    fn revoke_client(&self, name: &str) -> Result<Option<bool>, ServerError>;
}
