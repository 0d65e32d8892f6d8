//! The state directory's files: the layout, the TOML schemas, reading and
//! validating `server.toml` and the TLS pair at load, making a fresh
//! directory at init, and reading a version 1 layout (keys in
//! `keys/<id>.toml`, clients in `clients.toml`) once, to migrate it into
//! the database ([`super::sqlite_store`]) and move it aside.
//!
//! Keys and clients themselves live in the database; this module knows the
//! paths of everything else in the directory (settings, TLS material, the
//! audit log, the database file).

use std::path::{Path, PathBuf};

mod read;
mod schema;
mod write;

/// File names inside the state directory (layout in [`crate::server`]).
pub(super) const SERVER_FILE: &str = "server.toml";
const CLIENTS_FILE: &str = "clients.toml";
pub(super) const AUDIT_FILE: &str = "audit.log";
pub(super) const TLS_DIR: &str = "tls";
pub(super) const CERT_FILE: &str = "cert.pem";
pub(super) const KEY_FILE: &str = "key.pem";
const KEYS_DIR: &str = "keys";
/// Where a version 1 layout's key files and client list are kept after
/// their migration into the database.
const LEGACY_DIR: &str = "legacy-v1";

/// Version of the state directory layout.
const LAYOUT_VERSION: u32 = 1;

/// A server's state directory, as the storage of its settings, TLS
/// material, installed keys and clients.
#[derive(Debug)]
pub(crate) struct TomlStore {
    dir: PathBuf,
}

impl TomlStore {
    /// The store in `dir`; nothing is read until [`TomlStore::load_files`].
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
            dir.join(super::sqlite_store::DB_FILE),
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
