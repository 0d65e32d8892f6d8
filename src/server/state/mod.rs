//! The server's state as a running server holds it: the settings and TLS
//! material it loaded, and the published snapshot of installed keys and
//! clients that every request reads.
//!
//! Readers (authentication, evaluation) take a read lock only long enough
//! to clone an `Arc` or a small record; admin mutations are serialised by a
//! separate mutex, write to storage first, and only then publish the new
//! state in memory, so an answer to an admin request never describes a
//! change that is not on disk.
//!
//! Submodules: [`records`] (the in-memory types), [`install`] (install
//! validation), [`admin`] (admin changes: persist, then publish) and
//! [`toml_store`], the only one that knows how the state is stored on disk
//! (layout in the module docs of [`crate::server`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use zeroize::Zeroizing;

use super::auth::{find_token, token_matches};
use super::metrics::Metrics;
use super::ratelimit::{Limits, RateLimiter};
use super::{tls, ServerError};

mod admin;
mod install;
mod records;
#[cfg(test)]
mod test_support;
mod toml_store;

pub use admin::{ClientChangeError, ClientError, InstallOutcome};
pub(crate) use install::validate_install;
pub use install::InstallError;
pub(crate) use records::{normalize_keyset_id, valid_client_name};
pub use records::{ClientRecord, InstalledKey, Principal};
pub(crate) use toml_store::TomlStore;

// What storage hands the running state at load. Fields are private to this
// module and its children, which include the storage code.

/// The server's settings, validated.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// SHA-256 of the admin token.
    admin_hash: [u8; 32],
    /// Evaluate rate limits per client.
    limits: Limits,
    /// Echo audit lines to stderr (they always go to the audit log).
    log_stderr: bool,
}

/// The server's certificate and private key (PEM), checked to fit.
pub(crate) struct TlsMaterial {
    cert_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    /// SHA-256 of the certificate (DER).
    fingerprint: [u8; 32],
}

/// Everything storage holds, read and validated at load: installed keys
/// have passed install validation, client records the naming rules.
pub(crate) struct StoredState {
    settings: Settings,
    tls: TlsMaterial,
    keys: Vec<InstalledKey>,
    clients: Vec<ClientRecord>,
}

/// The published snapshot: what requests see. Replaced or extended only
/// after the change is in storage.
#[derive(Debug)]
struct Snapshot {
    keys: BTreeMap<String, Arc<InstalledKey>>,
    clients: Vec<ClientRecord>,
}

/// Everything a running server needs, shared by all requests.
pub struct State {
    store: TomlStore,
    admin_hash: [u8; 32],
    tls: TlsMaterial,
    log_stderr: bool,
    snapshot: RwLock<Snapshot>,
    /// Serialises admin mutations: persist, then publish.
    write_lock: Mutex<()>,
    pub(crate) metrics: Metrics,
    pub(crate) limiter: RateLimiter,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("dir", &self.store.dir())
            .field(
                "fingerprint",
                &crate::encoding::format_fingerprint(&self.tls.fingerprint),
            )
            .finish_non_exhaustive()
    }
}

impl State {
    /// Loads a state directory made by [`crate::server::init`], validating
    /// every key file (canonical encodings, consistent public shares, id,
    /// share matching its public share) so a damaged file stops the server
    /// at start instead of producing wrong answers.
    pub fn load(dir: &Path) -> Result<Self, ServerError> {
        let store = TomlStore::open(dir);
        let stored = store.load()?;
        Ok(Self::start(store, stored))
    }

    /// The running state over what `store` holds, published as loaded.
    fn start(store: TomlStore, stored: StoredState) -> Self {
        let StoredState {
            settings,
            tls,
            keys,
            clients,
        } = stored;
        let keys = keys
            .into_iter()
            .map(|key| (key.id_hex.clone(), Arc::new(key)))
            .collect();
        Self {
            store,
            admin_hash: settings.admin_hash,
            tls,
            log_stderr: settings.log_stderr,
            snapshot: RwLock::new(Snapshot { keys, clients }),
            write_lock: Mutex::new(()),
            metrics: Metrics::default(),
            limiter: RateLimiter::new(settings.limits),
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        self.store.dir()
    }

    /// SHA-256 of the server certificate (DER).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.tls.fingerprint
    }

    /// rustls configuration serving this server's certificate.
    pub fn tls_config(&self) -> Result<Arc<rustls::ServerConfig>, ServerError> {
        tls::server_config(&self.tls.cert_pem, &self.tls.key_pem)
    }

    /// Installed keyset ids (hex).
    pub fn keyset_ids(&self) -> Vec<String> {
        self.read().keys.keys().cloned().collect()
    }

    /// Known clients (tokens are only hashes).
    pub fn clients(&self) -> Vec<ClientRecord> {
        self.read().clients.clone()
    }

    pub(crate) fn audit_path(&self) -> PathBuf {
        self.store.audit_path()
    }

    pub(crate) fn log_stderr(&self) -> bool {
        self.log_stderr
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Snapshot> {
        self.snapshot.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Makes a key visible to requests; call only once it is on disk.
    fn publish_key(&self, key: InstalledKey) -> Arc<InstalledKey> {
        let key = Arc::new(key);
        self.write()
            .keys
            .insert(key.id_hex.clone(), Arc::clone(&key));
        key
    }

    /// Replaces the client list requests see; call only once it is on disk.
    fn publish_clients(&self, clients: Vec<ClientRecord>) {
        self.write().clients = clients;
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The installed key of a keyset.
    pub fn key(&self, keyset_id_hex: &str) -> Option<Arc<InstalledKey>> {
        self.read().keys.get(keyset_id_hex).cloned()
    }

    /// Resolves a presented bearer token. The admin hash and every client
    /// hash are always all compared (constant time, no early exit).
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        let is_admin = token_matches(token, &self.admin_hash);
        let snapshot = self.read();
        let client = find_token(token, snapshot.clients.iter().map(|c| &c.token_sha256));
        if is_admin {
            return Some(Principal::Admin);
        }
        let record = snapshot.clients.get(client?)?;
        Some(if record.revoked {
            Principal::Revoked(record.name.clone())
        } else {
            Principal::Client {
                name: record.name.clone(),
                keysets: record.keysets.clone(),
            }
        })
    }
}
