//! The storage seam: the one small interface the running state uses to
//! keep installed keys and clients, whatever holds them. Today's backend
//! is embedded SQLite ([`super::sqlite_store`]), the default; PostgreSQL
//! ([`super::postgres_store`]) is shared by several replicas of one
//! participant. Both run the same test suite (`store_tests`).
//!
//! Every method is one transaction: a change either happened completely,
//! durably, or not at all. Lookups by token hash are index lookups, so
//! their cost does not grow with the number of clients.

use super::{ClientRecord, InstalledKey};
use crate::server::ServerError;

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
    /// Every installed key, validated as an install would be.
    fn keys(&self) -> Result<Vec<InstalledKey>, ServerError>;

    /// The installed key of keyset `id_hex`, validated, if any: how a
    /// replica finds a key installed through another replica.
    fn key(&self, id_hex: &str) -> Result<Option<InstalledKey>, ServerError>;

    /// Stores a newly installed key.
    fn insert_key(&self, key: &InstalledKey) -> Result<(), ServerError>;

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

    /// Marks a client revoked. `Ok(None)`: no such client; `Ok(Some(false))`:
    /// it was revoked already.
    fn revoke_client(&self, name: &str) -> Result<Option<bool>, ServerError>;
}
