//! The state directory as it sits on disk today: the file layout, the TOML
//! schemas of its files, reading and validating them at load, and writing
//! them atomically on init and on every admin change.
//!
//! This is the only part of the state that knows the on-disk format: the
//! rest works on records (see [`super::records`]) and reaches storage only
//! through [`TomlStore`]'s `load`, `write_key` and `write_clients`, and
//! init through [`TomlStore::holds_server`] and [`TomlStore::create`].
//! The TLS certificate and key (PEM) and the audit log live in the same
//! directory, so their paths are known here too.

use std::path::{Path, PathBuf};

mod read;
mod schema;
mod write;

/// File names inside the state directory (layout in [`crate::server`]).
const SERVER_FILE: &str = "server.toml";
const CLIENTS_FILE: &str = "clients.toml";
const AUDIT_FILE: &str = "audit.log";
const TLS_DIR: &str = "tls";
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";
const KEYS_DIR: &str = "keys";

/// Version of the state directory layout.
const LAYOUT_VERSION: u32 = 1;

/// A server's state directory, as the storage of its settings, TLS
/// material, installed keys and clients.
#[derive(Debug)]
pub(crate) struct TomlStore {
    dir: PathBuf,
}

impl TomlStore {
    /// The store in `dir`; nothing is read until [`TomlStore::load`].
    pub(crate) fn open(dir: &Path) -> Self {
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Whether `dir` already holds (part of) a server: its `server.toml`,
    /// its TLS key or its `keys/` directory. Init refuses such a directory
    /// so keys are never overwritten.
    pub(crate) fn holds_server(dir: &Path) -> bool {
        [
            dir.join(SERVER_FILE),
            dir.join(TLS_DIR).join(KEY_FILE),
            dir.join(KEYS_DIR),
        ]
        .iter()
        .any(|p| p.exists())
    }

    /// The state directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the audit log is appended.
    pub(crate) fn audit_path(&self) -> PathBuf {
        self.dir.join(AUDIT_FILE)
    }
}
