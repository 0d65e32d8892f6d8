//! The server's state as a running server holds it: the settings and TLS
//! material it loaded, the [`Store`] that keeps keys and clients, and the
//! published snapshot of installed keys that every evaluation reads.
//!
//! Clients are not cached: each request looks its token up in the store
//! by hash (an index lookup), so a client added or revoked is honoured by
//! the very next request, and memory does not grow with the number of
//! clients. Keys are few, immutable once installed, and needed on every
//! evaluation, so they are kept in memory. Admin mutations are serialised
//! by a mutex, commit to the store first, and only then publish, so an
//! admin answer never describes a change that is not on disk.
//!
//! A server whose shares are sealed ([`crate::server::seal`]) starts with
//! no keys published and refuses everything that needs them until it is
//! unsealed ([`unsealing`]).
//!
//! Submodules: [`records`] (the in-memory types), [`install`] (install
//! validation), [`admin`] (admin changes), [`backup`] (consistent copies
//! of the directory), [`key_records`] (keys as rows,
//! sealed), [`unsealing`] (the seal's life cycle), [`store`] (the storage
//! trait), [`sqlite_store`] (the embedded backend), [`postgres_store`]
//! (the shared one) and [`toml_store`] (the state directory's files, and
//! the version 1 layout that is migrated once).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use zeroize::Zeroizing;

use super::audit_chain::AuditChain;
use super::auth::{hash_token, token_matches};
use super::metrics::Metrics;
use super::ratelimit::{Limits, RateLimiter};
use super::seal::SealChoice;
use super::{tls, ServerError};

mod admin;
mod backup;
mod install;
mod key_records;
mod lifecycle;
mod postgres_store;
mod records;
mod sqlite_store;
mod store;
#[cfg(test)]
mod store_tests;
#[cfg(any(test, feature = "testkit"))]
pub mod test_postgres;
#[cfg(test)]
mod test_support;
mod toml_store;
mod unsealing;

pub use admin::{ClientChangeError, ClientError, InstallOutcome};
pub use backup::{backup, BackupReport};
pub(crate) use install::validate_install;
pub use install::InstallError;
pub(crate) use lifecycle::create_identity;
pub use lifecycle::LifecycleFailure;
use postgres_store::PostgresStore;
pub(crate) use records::{normalize_keyset_id, valid_client_name};
pub use records::{ClientRecord, InstalledKey, Principal};
use sqlite_store::{SqliteStore, DB_FILE};
use store::Store;
pub(crate) use toml_store::TomlStore;
use unsealing::SealStatus;
pub use unsealing::{SealReport, UnsealError, UnsealOutcome};

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
    /// `[database] url`: PostgreSQL instead of the embedded SQLite.
    database: Option<DatabaseUrl>,
}

/// A PostgreSQL connection URL. It may carry a password, so `Debug` never
/// shows it and it is zeroized when dropped.
#[derive(Clone)]
pub(crate) struct DatabaseUrl(Zeroizing<String>);

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseUrl([redacted])")
    }
}

/// The server's certificate and private key (PEM), checked to fit.
pub(crate) struct TlsMaterial {
    cert_pem: Vec<u8>,
    key_pem: Zeroizing<Vec<u8>>,
    /// SHA-256 of the certificate (DER).
    fingerprint: [u8; 32],
}

impl TlsMaterial {
    /// SHA-256 of the certificate (DER).
    pub(crate) fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }
}

/// The published snapshot: what evaluations see. Extended only after the
/// change is in storage.
#[derive(Debug)]
struct Snapshot {
    keys: BTreeMap<String, Arc<InstalledKey>>,
}

/// Everything a running server needs, shared by all requests.
pub struct State {
    files: TomlStore,
    store: Box<dyn Store>,
    admin_hash: [u8; 32],
    tls: TlsMaterial,
    log_stderr: bool,
    snapshot: RwLock<Snapshot>,
    /// Serialises admin mutations: persist, then publish.
    write_lock: Mutex<()>,
    /// Sealed, or open with the seal key.
    seal: RwLock<SealStatus>,
    pub(crate) metrics: Metrics,
    pub(crate) limiter: RateLimiter,
    /// The audit log's writing end (one lock keeps file and chain in order).
    audit: Arc<AuditChain>,
}

impl std::fmt::Debug for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("State")
            .field("dir", &self.files.dir())
            .field(
                "fingerprint",
                &crate::encoding::format_fingerprint(&self.tls.fingerprint),
            )
            .finish_non_exhaustive()
    }
}

impl State {
    /// Loads a state directory made by [`crate::server::init`] without an
    /// unseal secret: a sealed server starts sealed, one made with
    /// `--insecure-no-seal` starts open. See [`State::open`].
    pub fn load(dir: &Path) -> Result<Self, ServerError> {
        Self::open(dir, None)
    }

    /// Loads a state directory, unsealing it with `unseal` if given. Once
    /// open, every stored key is validated (canonical encodings,
    /// consistent public shares, id, share matching its public share) so
    /// damaged state stops the server at start instead of producing wrong
    /// answers. A version 1 directory (keys and clients in TOML files) is
    /// migrated into the database first, its files kept in `legacy-v1/`;
    /// a database without a seal record is sealed first (section 1 of
    /// docs/OPERATIONS.md).
    pub fn open(dir: &Path, unseal: Option<&SealChoice>) -> Result<Self, ServerError> {
        let files = TomlStore::open(dir);
        let (settings, tls) = files.load_files()?;
        let store: Box<dyn Store> = match &settings.database {
            Some(url) => {
                if files.has_legacy_state() {
                    return Err(ServerError::Corrupt {
                        path: files.dir().to_path_buf(),
                        reason: "holds version 1 key and client files; start once without \
                                 [database] to migrate them into SQLite first"
                            .into(),
                    });
                }
                Box::new(PostgresStore::open(&url.0)?)
            }
            None => Box::new(open_database(&files)?),
        };
        let (status, keys) = unsealing::prepare(store.as_ref(), unseal)?;
        let audit_path = files.audit_path();
        let audit = AuditChain::open(&audit_path).map_err(|source| ServerError::Io {
            context: format!("cannot read {}", audit_path.display()),
            source,
        })?;
        Ok(Self::start(
            files, store, settings, tls, status, keys, audit,
        ))
    }

    /// The running state over `store`, its keys published as loaded.
    fn start(
        files: TomlStore,
        store: Box<dyn Store>,
        settings: Settings,
        tls: TlsMaterial,
        seal: SealStatus,
        keys: Vec<InstalledKey>,
        audit: AuditChain,
    ) -> Self {
        let keys = keys
            .into_iter()
            .map(|key| (key.id_hex.clone(), Arc::new(key)))
            .collect();
        Self {
            files,
            store,
            admin_hash: settings.admin_hash,
            tls,
            log_stderr: settings.log_stderr,
            snapshot: RwLock::new(Snapshot { keys }),
            write_lock: Mutex::new(()),
            seal: RwLock::new(seal),
            metrics: Metrics::default(),
            limiter: RateLimiter::new(settings.limits),
            audit: Arc::new(audit),
        }
    }

    /// The state directory.
    pub fn dir(&self) -> &Path {
        self.files.dir()
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

    /// One client by name.
    pub fn client(&self, name: &str) -> Result<Option<ClientRecord>, ServerError> {
        self.store.client_by_name(name)
    }

    /// Stores many clients in one transaction, unchecked: for benchmarks
    /// that need a million clients without a million admin requests.
    #[cfg(any(test, feature = "testkit"))]
    pub fn import_clients(&self, clients: &[ClientRecord]) -> Result<(), ServerError> {
        self.store.import_clients(clients)
    }

    /// Known clients, oldest first (tokens are only hashes).
    pub fn clients(&self) -> Result<Vec<ClientRecord>, ServerError> {
        self.store.clients()
    }

    pub(crate) fn audit_path(&self) -> PathBuf {
        self.files.audit_path()
    }

    /// The audit log's writing end, shareable with a blocking task.
    pub(crate) fn audit_chain(&self) -> Arc<AuditChain> {
        Arc::clone(&self.audit)
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

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Snapshot> {
        self.snapshot
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The installed key of a keyset. A miss asks the store, which is how
    /// a replica learns of a key installed through another one (on its
    /// next request). A storage failure is a miss, reported on stderr; a
    /// sealed server has no keys.
    pub fn key(&self, keyset_id_hex: &str) -> Option<Arc<InstalledKey>> {
        self.key_at(keyset_id_hex, None)
    }

    /// [`State::key`], asking the store again when the key in memory is
    /// older than `epoch`: a key changes only at an epoch switch
    /// (docs/FORMAT.md section 8), which another replica may have made.
    pub fn key_at(&self, keyset_id_hex: &str, epoch: Option<u32>) -> Option<Arc<InstalledKey>> {
        if let Some(key) = self.read().keys.get(keyset_id_hex) {
            if epoch.is_none_or(|e| e <= key.keyset().epoch()) {
                return Some(Arc::clone(key));
            }
        }
        let seal = self.seal_key()?;
        let found = self.store.key_row(keyset_id_hex).and_then(|row| {
            row.map(|row| key_records::open_row(&seal, &row, &self.store.location()))
                .transpose()
        });
        match found {
            Ok(Some(key)) => Some(self.publish_key(key)),
            Ok(None) => None,
            Err(e) => {
                eprintln!(
                    "shardlock server: key lookup failed: {}",
                    crate::error_chain::one_line(&e)
                );
                None
            }
        }
    }

    /// Resolves a presented bearer token; a storage failure denies access
    /// (and is reported on stderr), it never grants it.
    pub fn authenticate(&self, token: &str) -> Option<Principal> {
        self.try_authenticate(token).unwrap_or_else(|e| {
            eprintln!(
                "shardlock server: authentication denied, storage failed: {}",
                crate::error_chain::one_line(&e)
            );
            None
        })
    }

    /// Resolves a presented bearer token: the admin hash is compared in
    /// constant time, a client is found by the SHA-256 of its token through
    /// the store's index (256-bit random tokens make that hash a safe
    /// lookup key) and the found record's hash is compared again in
    /// constant time.
    pub fn try_authenticate(&self, token: &str) -> Result<Option<Principal>, ServerError> {
        if token_matches(token, &self.admin_hash) {
            return Ok(Some(Principal::Admin));
        }
        let hash = hash_token(token);
        let Some(record) = self.store.client_by_token(&hash)? else {
            return Ok(None);
        };
        if !token_matches(token, &record.token_sha256) {
            return Ok(None);
        }
        Ok(Some(if record.revoked {
            Principal::Revoked(record.name)
        } else {
            Principal::Client {
                name: record.name,
                keysets: record.keysets,
            }
        }))
    }
}

/// Opens the state database, first migrating a version 1 layout into it.
/// The import is one transaction into a database that only gets its final
/// name once complete, so a crash at any point leaves a directory that the
/// next start migrates again or simply opens.
fn open_database(files: &TomlStore) -> Result<SqliteStore, ServerError> {
    let path = files.dir().join(DB_FILE);
    if !path.exists() && files.has_legacy_state() {
        let (keys, clients) = files.load_legacy_state()?;
        // In clear, as version 1 kept them; the first load seals them.
        let rows = keys
            .iter()
            .map(|key| {
                Ok(store::KeyRow {
                    id: key.id_hex().to_string(),
                    record: key_records::install_json(key)?,
                })
            })
            .collect::<Result<Vec<_>, ServerError>>()?;
        let staging = files.dir().join(format!("{DB_FILE}.migrating"));
        for stale in [
            staging.clone(),
            staging.with_extension("migrating-wal"),
            staging.with_extension("migrating-shm"),
        ] {
            let _ = std::fs::remove_file(stale);
        }
        {
            let staged = SqliteStore::open(&staging)?;
            staged.import(&rows, &clients)?;
            staged.checkpoint()?;
        }
        std::fs::rename(&staging, &path).map_err(|source| ServerError::Io {
            context: format!("cannot move {} into place", staging.display()),
            source,
        })?;
        crate::durable::sync_dir(files.dir()).map_err(|source| ServerError::Io {
            context: format!("cannot sync {}", files.dir().display()),
            source,
        })?;
        eprintln!(
            "shardlock server: migrated {} keys and {} clients into {}; the old files are kept in {}",
            keys.len(),
            clients.len(),
            path.display(),
            files.dir().join("legacy-v1").display()
        );
    }
    let store = SqliteStore::open(&path)?;
    if files.has_legacy_state() {
        files.retire_legacy_state()?;
    }
    Ok(store)
}
