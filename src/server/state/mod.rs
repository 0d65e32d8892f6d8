//! The server's state: settings, installed key shares and clients, loaded
//! from the state directory and persisted back atomically on every admin
//! change (see the module docs of [`crate::server`] for the layout).
//!
//! Readers (authentication, evaluation) take a read lock only long enough
//! to clone an `Arc` or a small record; admin mutations are serialised by a
//! separate mutex, write the new file first, and only then publish the new
//! state in memory, so an answer to an admin request never describes a
//! change that is not on disk.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use super::audit::now_rfc3339;
use super::auth::{find_token, token_matches};
use super::metrics::Metrics;
use super::ratelimit::{Limits, RateLimiter};
use super::{tls, ServerError};
use crate::durable::{self, Replace};
use crate::encoding::{b64, hex, parse_hex32};
use crate::protocol::{b64_element, InstallShareRequest, PublicShare};

mod install;
mod records;
#[cfg(test)]
mod test_support;

pub(crate) use records::{normalize_keyset_id, valid_client_name};
pub use install::InstallError;
pub(crate) use install::validate_install;
pub use records::{ClientRecord, InstalledKey, Principal};

/// File names inside the state directory.
pub(crate) const SERVER_FILE: &str = "server.toml";
pub(crate) const CLIENTS_FILE: &str = "clients.toml";
pub(crate) const AUDIT_FILE: &str = "audit.log";
pub(crate) const TLS_DIR: &str = "tls";
pub(crate) const CERT_FILE: &str = "cert.pem";
pub(crate) const KEY_FILE: &str = "key.pem";
pub(crate) const KEYS_DIR: &str = "keys";

/// Version of the state directory layout.
const LAYOUT_VERSION: u32 = 1;

// ---------------------------------------------------------------------------
// On-disk formats.

/// `server.toml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ServerFile {
    /// Layout version, currently 1.
    pub version: u32,
    /// SHA-256 of the admin token, hex.
    pub admin_token_sha256: String,
    /// Evaluate rate limits per client.
    #[serde(default)]
    pub limits: LimitsFile,
    /// Logging.
    #[serde(default)]
    pub log: LogFile,
}

impl ServerFile {
    pub(crate) fn new(admin_hash: &[u8; 32]) -> Self {
        Self {
            version: LAYOUT_VERSION,
            admin_token_sha256: hex(admin_hash),
            limits: LimitsFile::default(),
            log: LogFile::default(),
        }
    }
}

/// `[limits]` of `server.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsFile {
    /// Sustained evaluate requests per second per client.
    #[serde(default = "default_per_second")]
    pub evaluate_per_second: f64,
    /// Burst of evaluate requests per client.
    #[serde(default = "default_burst")]
    pub evaluate_burst: u32,
}

fn default_per_second() -> f64 {
    20.0
}

fn default_burst() -> u32 {
    40
}

impl Default for LimitsFile {
    fn default() -> Self {
        Self {
            evaluate_per_second: default_per_second(),
            evaluate_burst: default_burst(),
        }
    }
}

/// `[log]` of `server.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LogFile {
    /// Echo audit lines to stderr (they always go to `audit.log`).
    #[serde(default = "default_true")]
    pub stderr: bool,
}

fn default_true() -> bool {
    true
}

impl Default for LogFile {
    fn default() -> Self {
        Self { stderr: true }
    }
}

/// `keys/<keyset-id>.toml`: one installed share with its public keyset.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyFile {
    keyset_id: String,
    participant: u16,
    threshold: u16,
    group_key: String,
    /// The secret share `k_i`, base64url; zeroized when the struct drops.
    share: String,
    public_shares: Vec<PublicShare>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.share.zeroize();
    }
}

/// `clients.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientsFile {
    #[serde(default, rename = "client")]
    clients: Vec<ClientEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClientEntry {
    name: String,
    token_sha256: String,
    keysets: Vec<String>,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    created: String,
}

// ---------------------------------------------------------------------------
// In-memory state.

impl InstalledKey {
    fn to_file(&self) -> KeyFile {
        KeyFile {
            keyset_id: self.id_hex.clone(),
            participant: self.share.id(),
            threshold: self.keyset.threshold(),
            group_key: b64_element(self.keyset.group_key()),
            share: b64(self.share.value().to_bytes().expose()),
            public_shares: PublicShare::all_of(&self.keyset),
        }
    }
}


#[derive(Debug, Default)]
struct Inner {
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
    dir: PathBuf,
    admin_hash: [u8; 32],
    cert_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    fingerprint: [u8; 32],
    log_stderr: bool,
    inner: RwLock<Inner>,
    /// Serialises admin mutations: persist, then publish.
    write_lock: Mutex<()>,
    pub(crate) metrics: Metrics,
    pub(crate) limiter: RateLimiter,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("dir", &self.dir)
            .field(
                "fingerprint",
                &crate::encoding::format_fingerprint(&self.fingerprint),
            )
            .finish_non_exhaustive()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, ServerError> {
    fs::read(path).map_err(|source| ServerError::Io {
        context: format!("cannot read {}", path.display()),
        source,
    })
}

fn corrupt(path: &Path, reason: impl Into<String>) -> ServerError {
    ServerError::Corrupt {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, bytes: &[u8]) -> Result<T, ServerError> {
    let text = std::str::from_utf8(bytes).map_err(|_| corrupt(path, "not UTF-8"))?;
    // toml's message names the offending line and key, never secret values
    // other than what the operator wrote; it stays in the operator's log.
    toml::from_str(text).map_err(|e| corrupt(path, e.message().to_string()))
}

fn to_toml<T: Serialize>(value: &T) -> Result<Zeroizing<String>, ServerError> {
    toml::to_string(value)
        .map(Zeroizing::new)
        .map_err(|e| ServerError::Serialize(e.to_string()))
}

impl State {
    /// Loads a state directory made by [`crate::server::init`], validating
    /// every key file (canonical encodings, consistent public shares, id,
    /// share matching its public share) so a damaged file stops the server
    /// at start instead of producing wrong answers.
    pub fn load(dir: &Path) -> Result<Self, ServerError> {
        let server_path = dir.join(SERVER_FILE);
        if !server_path.is_file() {
            return Err(ServerError::NotInitialised {
                path: dir.to_path_buf(),
            });
        }
        let server: ServerFile = parse_toml(&server_path, &read_file(&server_path)?)?;
        if server.version != LAYOUT_VERSION {
            return Err(corrupt(
                &server_path,
                format!("unsupported layout version {}", server.version),
            ));
        }
        let admin_hash = parse_hex32(&server.admin_token_sha256)
            .ok_or_else(|| corrupt(&server_path, "admin_token_sha256 is not 64 hex digits"))?;
        let limits = &server.limits;
        if !(limits.evaluate_per_second.is_finite() && limits.evaluate_per_second > 0.0)
            || limits.evaluate_burst == 0
        {
            return Err(corrupt(
                &server_path,
                "limits must be positive (evaluate_per_second > 0, evaluate_burst >= 1)",
            ));
        }

        let cert_path = dir.join(TLS_DIR).join(CERT_FILE);
        let key_path = dir.join(TLS_DIR).join(KEY_FILE);
        let cert_pem = read_file(&cert_path)?;
        let key_pem = Zeroizing::new(read_file(&key_path)?);
        let (_, fingerprint) =
            tls::parse_certificate(&cert_pem).map_err(|reason| corrupt(&cert_path, reason))?;
        // Fail now rather than at the first connection if they do not fit.
        tls::server_config(&cert_pem, &key_pem)?;

        let mut inner = Inner::default();
        let keys_dir = dir.join(KEYS_DIR);
        let entries = fs::read_dir(&keys_dir).map_err(|source| ServerError::Io {
            context: format!("cannot list {}", keys_dir.display()),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| ServerError::Io {
                context: format!("cannot list {}", keys_dir.display()),
                source,
            })?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".toml") else {
                continue; // temp files and anything else are not keys
            };
            if name.starts_with('.') {
                continue;
            }
            let bytes = Zeroizing::new(read_file(&path)?);
            let file: KeyFile = parse_toml(&path, &bytes)?;
            let request = InstallShareRequest {
                participant: file.participant,
                threshold: file.threshold,
                group_key: file.group_key.clone(),
                public_shares: file.public_shares.clone(),
                share: file.share.clone(),
            };
            let validated = validate_install(stem, &request);
            let mut request = request;
            request.share.zeroize();
            let key = validated.map_err(|e| corrupt(&path, e.to_string()))?;
            if key.id_hex != file.keyset_id.to_ascii_lowercase() {
                return Err(corrupt(&path, "keyset_id does not match the file name"));
            }
            inner.keys.insert(key.id_hex.clone(), Arc::new(key));
        }

        let clients_path = dir.join(CLIENTS_FILE);
        let clients: ClientsFile = if clients_path.exists() {
            parse_toml(&clients_path, &read_file(&clients_path)?)?
        } else {
            ClientsFile::default()
        };
        for entry in clients.clients {
            let token_sha256 = parse_hex32(&entry.token_sha256).ok_or_else(|| {
                corrupt(&clients_path, format!("bad token hash for {}", entry.name))
            })?;
            if !valid_client_name(&entry.name) {
                return Err(corrupt(&clients_path, "invalid client name"));
            }
            let keysets = entry
                .keysets
                .iter()
                .map(|k| normalize_keyset_id(k))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    corrupt(&clients_path, format!("bad keyset id for {}", entry.name))
                })?;
            inner.clients.push(ClientRecord {
                name: entry.name,
                token_sha256,
                keysets,
                revoked: entry.revoked,
                created: entry.created,
            });
        }

        Ok(Self {
            dir: dir.to_path_buf(),
            admin_hash,
            cert_pem,
            key_pem,
            fingerprint,
            log_stderr: server.log.stderr,
            inner: RwLock::new(inner),
            write_lock: Mutex::new(()),
            metrics: Metrics::default(),
            limiter: RateLimiter::new(Limits {
                per_second: server.limits.evaluate_per_second,
                burst: f64::from(server.limits.evaluate_burst),
            }),
        })
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// SHA-256 of the server certificate (DER).
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    /// rustls configuration serving this server's certificate.
    pub fn tls_config(&self) -> Result<Arc<rustls::ServerConfig>, ServerError> {
        tls::server_config(&self.cert_pem, &self.key_pem)
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
        self.dir.join(AUDIT_FILE)
    }

    pub(crate) fn log_stderr(&self) -> bool {
        self.log_stderr
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Inner> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Inner> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
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
        let file = key.to_file();
        let text = to_toml(&file).map_err(InstallOutcome::Storage)?;
        drop(file);
        let path = self.dir.join(KEYS_DIR).join(format!("{}.toml", key.id_hex));
        write_private(&path, text.as_bytes()).map_err(|source| {
            InstallOutcome::Storage(ServerError::Io {
                context: format!("cannot write {}", path.display()),
                source,
            })
        })?;
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
        self.persist_clients(&clients)?;
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
        self.persist_clients(&clients)?;
        self.write().clients = clients;
        Ok(())
    }

    fn persist_clients(&self, clients: &[ClientRecord]) -> Result<(), ServerError> {
        let file = ClientsFile {
            clients: clients
                .iter()
                .map(|c| ClientEntry {
                    name: c.name.clone(),
                    token_sha256: hex(&c.token_sha256),
                    keysets: c.keysets.clone(),
                    revoked: c.revoked,
                    created: c.created.clone(),
                })
                .collect(),
        };
        let text = to_toml(&file)?;
        let path = self.dir.join(CLIENTS_FILE);
        write_private(&path, text.as_bytes()).map_err(|source| ServerError::Io {
            context: format!("cannot write {}", path.display()),
            source,
        })
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

/// Writes the initial files of a fresh state directory.
pub(crate) fn write_initial_files(
    dir: &Path,
    cert: &tls::GeneratedCertificate,
    admin_hash: &[u8; 32],
) -> Result<(), ServerError> {
    let io = |path: &Path| {
        let context = format!("cannot write {}", path.display());
        move |source| ServerError::Io { context, source }
    };
    let tls_dir = dir.join(TLS_DIR);
    let key_path = tls_dir.join(KEY_FILE);
    write_private(&key_path, cert.key_pem.as_bytes()).map_err(io(&key_path))?;
    let cert_path = tls_dir.join(CERT_FILE);
    write_private(&cert_path, cert.cert_pem.as_bytes()).map_err(io(&cert_path))?;
    let clients_path = dir.join(CLIENTS_FILE);
    write_private(
        &clients_path,
        b"# Clients: name, token SHA-256, granted keysets.\n",
    )
    .map_err(io(&clients_path))?;
    let audit_path = dir.join(AUDIT_FILE);
    durable::open_append_private(&audit_path).map_err(io(&audit_path))?;
    // server.toml last: its presence marks a complete state directory.
    let server_path = dir.join(SERVER_FILE);
    let text = to_toml(&ServerFile::new(admin_hash))?;
    write_private(&server_path, text.as_bytes()).map_err(io(&server_path))?;
    Ok(())
}

/// Writes a state file durably with mode 0600 (see [`crate::durable`]).
fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    durable::write_file(path, contents, Replace::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::auth::hash_token;
    use crate::threshold::kem::deal;
    use rand::rngs::OsRng;
    #[cfg(unix)]
    use super::test_support::mode;
    use super::test_support::{fresh_dir, request_for};

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

    #[test]
    fn tampered_key_file_is_refused_at_load() {
        let (_tmp, dir, _) = fresh_dir();
        let state = State::load(&dir).unwrap();
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let id = hex(keyset.id());
        state
            .install(validate_install(&id, &request_for(&keyset, &shares[0])).unwrap())
            .unwrap();
        let path = dir.join("keys").join(format!("{id}.toml"));
        let text = fs::read_to_string(&path).unwrap();
        let other = b64(shares[1].value().to_bytes().expose());
        let own = b64(shares[0].value().to_bytes().expose());
        fs::write(&path, text.replace(&own, &other)).unwrap();
        let err = State::load(&dir).unwrap_err();
        assert!(matches!(err, ServerError::Corrupt { .. }), "{err}");
        assert!(!err.to_string().contains(&other));
    }

}
