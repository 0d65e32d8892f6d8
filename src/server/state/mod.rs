//! The server's state as a running server holds it: the settings and TLS
//! material it loaded, and the published snapshot of installed keys and
//! clients that every request reads.
//!
//! Readers (authentication, evaluation) take a read lock only long enough
//! to clone an `Arc` or a small record; admin mutations are serialised by a
//! separate mutex, write the new file first, and only then publish the new
//! state in memory, so an answer to an admin request never describes a
//! change that is not on disk.
//!
//! Submodules: [`records`] (the in-memory types), [`install`] (install
//! validation) and [`toml_store`], the only one that knows how the state
//! is stored on disk (layout in the module docs of [`crate::server`]).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use zeroize::Zeroizing;

use super::audit::now_rfc3339;
use super::auth::{find_token, token_matches};
use super::metrics::Metrics;
use super::ratelimit::{Limits, RateLimiter};
use super::{tls, ServerError};

mod install;
mod records;
#[cfg(test)]
mod test_support;
mod toml_store;

pub(crate) use install::validate_install;
pub use install::InstallError;
pub(crate) use records::{normalize_keyset_id, valid_client_name};
pub use records::{ClientRecord, InstalledKey, Principal};
pub(crate) use toml_store::TomlStore;

/// Settings from `server.toml`, validated.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// SHA-256 of the admin token.
    pub(crate) admin_hash: [u8; 32],
    /// Evaluate rate limits per client.
    pub(crate) limits: Limits,
    /// Echo audit lines to stderr.
    pub(crate) log_stderr: bool,
}

/// The server's certificate and private key (PEM), checked to fit.
pub(crate) struct TlsMaterial {
    pub(crate) cert_pem: Vec<u8>,
    pub(crate) key_pem: Zeroizing<Vec<u8>>,
    /// SHA-256 of the certificate (DER).
    pub(crate) fingerprint: [u8; 32],
}

/// Everything storage hands over at load, already validated.
pub(crate) struct StoredState {
    pub(crate) settings: Settings,
    pub(crate) tls: TlsMaterial,
    pub(crate) keys: Vec<InstalledKey>,
    pub(crate) clients: Vec<ClientRecord>,
}

/// The published snapshot: what requests see. Replaced or extended only
/// after the change is on disk.
#[derive(Debug, Default)]
struct Snapshot {
    keys: BTreeMap<String, Arc<InstalledKey>>,
    clients: Vec<ClientRecord>,
}

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
        let inner = self.read();
        let client = find_token(token, inner.clients.iter().map(|c| &c.token_sha256));
        if is_admin {
            return Some(Principal::Admin);
        }
        let record = inner.clients.get(client?)?;
        Some(if record.revoked {
            Principal::Revoked(record.name.clone())
        } else {
            Principal::Client {
                name: record.name.clone(),
                keysets: record.keysets.clone(),
            }
        })
    }

    /// Installs a validated share: idempotent for the same share, refused
    /// for a different one; written to `keys/<id>.toml` (0600) before it is
    /// used. Returns whether it was newly installed.
    pub fn install(&self, key: InstalledKey) -> Result<(bool, Arc<InstalledKey>), InstallOutcome> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = self.key(&key.id_hex) {
            return if existing.share == key.share {
                Ok((false, existing))
            } else {
                Err(InstallOutcome::Rejected(InstallError::Conflict))
            };
        }
        self.store
            .write_key(&key)
            .map_err(InstallOutcome::Storage)?;
        let key = Arc::new(key);
        self.write()
            .keys
            .insert(key.id_hex.clone(), Arc::clone(&key));
        Ok((true, key))
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
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut grants = Vec::new();
        for keyset in keysets {
            let id = normalize_keyset_id(keyset)
                .filter(|id| self.read().keys.contains_key(id))
                .ok_or_else(|| ClientError::UnknownKeyset(short_id(keyset)))?;
            if !grants.contains(&id) {
                grants.push(id);
            }
        }
        let mut clients = self.clients();
        if clients.iter().any(|c| c.name == name) {
            return Err(ClientError::Exists.into());
        }
        clients.push(ClientRecord {
            name: name.to_string(),
            token_sha256,
            keysets: grants,
            revoked: false,
            created: now_rfc3339(),
        });
        self.store.write_clients(&clients)?;
        self.write().clients = clients;
        Ok(())
    }

    /// Revokes a client (idempotent); persisted first.
    pub fn revoke_client(&self, name: &str) -> Result<(), ClientChangeError> {
        let _guard = self
            .write_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let mut clients = self.clients();
        let record = clients
            .iter_mut()
            .find(|c| c.name == name)
            .ok_or(ClientError::NotFound)?;
        if record.revoked {
            return Ok(());
        }
        record.revoked = true;
        self.store.write_clients(&clients)?;
        self.write().clients = clients;
        Ok(())
    }
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

    #[cfg(unix)]
    use super::test_support::mode;
    use super::test_support::{fresh_dir, request_for};
    use super::*;
    use crate::durable;
    use crate::encoding::hex;
    use crate::server::auth::hash_token;
    use crate::threshold::kem::deal;

    #[test]
    fn state_persists_and_reloads_with_private_modes() {
        let (_tmp, dir, admin) = fresh_dir();
        #[cfg(unix)]
        {
            assert_eq!(mode(&dir), 0o700);
            for file in [
                "server.toml",
                "clients.toml",
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

        let key_path = dir.join("keys").join(format!("{id}.toml"));
        #[cfg(unix)]
        {
            assert_eq!(mode(&key_path), 0o600);
            assert_eq!(mode(&dir.join("clients.toml")), 0o600);
        }
        let clients_text = fs::read_to_string(dir.join("clients.toml")).unwrap();
        assert!(!clients_text.contains(token.expose()));
        assert!(clients_text.contains(&hex(&hash_token(token.expose()))));

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
            .chain(fs::read_dir(dir.join("keys")).unwrap())
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
