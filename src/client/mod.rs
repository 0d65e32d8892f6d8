//! The client: every use case a person or script runs (encrypt and decrypt
//! a file, a stream or a tree; inspect a file; check a keyset's servers;
//! create a keyset and revoke a client) behind one [`Session`], over the
//! configuration ([`config`]) and the HTTPS fan-out to key-share servers
//! ([`http`]).
//!
//! Data flows one way: the CLI resolves flags into a [`Session`] and a
//! request, calls a use case here, and reports what comes back; use cases
//! call the envelope and the threshold KEM, which call format and stream.
//! Nothing here prints: progress, notes and warnings go to a [`Reporter`].

pub mod admin;
pub mod config;
pub mod duration;
mod error;
mod file;
pub mod http;
pub mod inspect;
mod io;
pub mod lifecycle;
pub mod machines;
mod report;
pub mod status;
pub mod tree;
mod unwrap;

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

pub use error::{one_line, Error, FailureKind, Result};
pub use file::{DecryptFile, EncryptFile, FileOutcome};
pub use report::{QuietReporter, Reporter};

/// Removes every output still being written (temporary files beside
/// their targets): what a signal handler calls before the process exits,
/// so an interrupted decryption leaves no hidden plaintext. Returns how
/// many there were.
pub fn remove_partial_outputs() -> usize {
    crate::durable::remove_in_progress()
}

/// Writes `bytes` to a new private file (mode 0600) durably; never
/// replaces an existing one (a recovery key file).
pub fn write_new_private(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    crate::durable::write_file(path, bytes, crate::durable::Replace::Refuse).map_err(|source| {
        Error::Io {
            context: format!("cannot write {}", path.display()),
            source,
        }
    })
}

use crate::protocol::Token;
use config::{resolve_path, Config, ResolvedKeyset};
use http::{HttpKeyService, HttpOptions, RunHealth};

/// How to reach one key-share server and authenticate to it: everything the
/// HTTPS client needs, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct ServerEndpoint {
    /// Participant id of this server in the keyset.
    pub participant: u16,
    /// Base URL, e.g. `https://127.0.0.1:8443` (no trailing slash needed).
    pub url: String,
    /// SHA-256 of the server certificate (DER). When set, exactly that
    /// certificate is accepted, whatever its issuer or name; when unset, the
    /// web PKI roots bundled into the binary (webpki-roots) and hostname
    /// verification apply.
    pub fingerprint: Option<[u8; 32]>,
    /// Client bearer token for this server.
    pub token: Option<Token>,
}

/// Settings every use case shares, resolved once from flags.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads for encryption and decryption.
    pub jobs: usize,
    /// How to talk to key-share servers. Its timeouts are the defaults
    /// that the config's `[network]` section and the two fields below
    /// override, in that order ([`Session::http_options`]).
    pub http: HttpOptions,
    /// `--connect-timeout`: wins over the config.
    pub connect_timeout: Option<Duration>,
    /// `--timeout`: wins over the config.
    pub timeout: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            jobs: std::thread::available_parallelism().map_or(1, |n| n.get()),
            http: HttpOptions::default(),
            connect_timeout: None,
            timeout: None,
        }
    }
}

/// One run of the client: where the configuration lives (loaded on first
/// use, at most once) and the shared options.
#[derive(Debug)]
pub struct Session {
    config_path: Option<PathBuf>,
    config: OnceLock<Config>,
    options: Options,
    /// Which servers failed or were slow, for every request of the run.
    health: RunHealth,
}

impl Session {
    /// A session reading the configuration from `config_path`, or from
    /// wherever `SHARDLOCK_CONFIG` and the XDG rules say when `None`.
    pub fn new(config_path: Option<PathBuf>, options: Options) -> Self {
        Self {
            config_path,
            config: OnceLock::new(),
            options,
            health: RunHealth::new(),
        }
    }

    /// The options this session runs with.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// Where the configuration file is (it may not exist yet).
    pub fn config_path(&self) -> Result<PathBuf> {
        Ok(resolve_path(self.config_path.as_deref())?)
    }

    /// The configuration, loaded on first use.
    pub fn config(&self) -> Result<&Config> {
        if let Some(config) = self.config.get() {
            return Ok(config);
        }
        let loaded = Config::load(&self.config_path()?)?;
        Ok(self.config.get_or_init(|| loaded))
    }

    /// How to talk to servers: the flags, else the config's `[network]`
    /// section (when a config loads), else the defaults.
    pub fn http_options(&self) -> HttpOptions {
        let network = self.config().map(Config::network).unwrap_or_default();
        let mut http = self.options.http.clone();
        if let Some(connect) = self.options.connect_timeout.or(network.connect_timeout) {
            http.connect_timeout = connect;
        }
        if let Some(timeout) = self.options.timeout.or(network.request_timeout) {
            http.timeout = timeout;
        }
        http
    }

    /// The HTTPS key service for a resolved keyset. Every service of a
    /// session shares one memory of server health, so a server that
    /// failed is skipped for the rest of the run.
    pub fn key_service(&self, keyset: &ResolvedKeyset) -> Result<HttpKeyService> {
        Ok(HttpKeyService::with_health(
            keyset.endpoints.clone(),
            self.http_options(),
            self.health.clone(),
        )?)
    }

    /// Threads to give one file of `size` bytes: files of at least
    /// [`tree::SPLIT_THRESHOLD`] are split across every worker by chunk,
    /// smaller ones get one worker each.
    pub(crate) fn threads_for(&self, size: u64) -> usize {
        if size >= tree::SPLIT_THRESHOLD {
            self.options.jobs
        } else {
            1
        }
    }
}
