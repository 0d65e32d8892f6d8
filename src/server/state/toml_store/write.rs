//! Writing the state directory's files: those of a fresh directory at init
//! (settings, TLS pair, audit log), moving a version 1 layout's key files
//! and client list aside once the database holds them, and (tests only)
//! writing such a layout. Every file is written durably with mode 0600
//! through [`crate::durable`], so a crash leaves either the old file or the
//! new one, never a torn one.

use std::path::Path;

use serde::Serialize;
use zeroize::Zeroizing;

use super::schema::ServerFile;
#[cfg(test)]
use super::schema::{ClientsFile, KeyFile};
use super::{
    TomlStore, AUDIT_FILE, CERT_FILE, CLIENTS_FILE, KEYS_DIR, KEY_FILE, LEGACY_DIR, SERVER_FILE,
    TLS_DIR,
};
use crate::durable::{self, Replace};
use crate::server::seal::SealRecord;
use crate::server::state::sqlite_store::{SqliteStore, DB_FILE};
use crate::server::state::store::Store as _;
#[cfg(test)]
use crate::server::state::{ClientRecord, InstalledKey};
use crate::server::{io_error, tls, ServerError};

impl TomlStore {
    /// Makes a fresh state directory in `dir` (which must not hold a server,
    /// see [`TomlStore::holds_server`]): the private directories, the TLS
    /// pair, the audit log, the empty database, and `server.toml`.
    pub(crate) fn create(
        dir: &Path,
        cert: &tls::GeneratedCertificate,
        admin_hash: &[u8; 32],
        seal: &SealRecord,
    ) -> Result<(), ServerError> {
        for sub in [dir.to_path_buf(), dir.join(TLS_DIR)] {
            durable::create_private_dir(&sub)
                .and_then(|()| durable::set_mode(&sub, durable::PRIVATE_DIR_MODE))
                .map_err(io_error(format!("cannot create {}", sub.display())))?;
        }
        let tls_dir = dir.join(TLS_DIR);
        write_private(&tls_dir.join(KEY_FILE), cert.key_pem.as_bytes())?;
        write_private(&tls_dir.join(CERT_FILE), cert.cert_pem.as_bytes())?;
        // The seal record goes in with the empty database, so even a server
        // later moved to PostgreSQL never has an unsealed SQLite file.
        SqliteStore::open(&dir.join(DB_FILE))?.write_seal(
            None,
            seal.key_id(),
            &seal.to_text(),
            &[],
            None,
        )?;
        let audit_path = dir.join(AUDIT_FILE);
        durable::open_append_private(&audit_path).map_err(cannot_write(&audit_path))?;
        // server.toml last: its presence marks a complete state directory.
        let text = to_toml(&ServerFile::new(admin_hash))?;
        write_private(&dir.join(SERVER_FILE), text.as_bytes())
    }

    /// Moves the version 1 key files and client list into `legacy-v1/`
    /// once the database holds them: kept as a backup, never read again.
    /// Idempotent, so a crash between the import and this step is finished
    /// at the next start.
    pub(crate) fn retire_legacy_state(&self) -> Result<(), ServerError> {
        let backup = self.dir.join(LEGACY_DIR);
        durable::create_private_dir(&backup)
            .map_err(io_error(format!("cannot create {}", backup.display())))?;
        for name in [KEYS_DIR, CLIENTS_FILE] {
            let from = self.dir.join(name);
            if from.exists() {
                let to = backup.join(name);
                std::fs::rename(&from, &to).map_err(io_error(format!(
                    "cannot move {} to {}",
                    from.display(),
                    to.display()
                )))?;
            }
        }
        durable::sync_dir(&self.dir)
            .map_err(io_error(format!("cannot sync {}", self.dir.display())))
    }

    /// Writes `keys/<id>.toml` as a version 1 layout had it.
    #[cfg(test)]
    pub(crate) fn write_key(&self, key: &InstalledKey) -> Result<(), ServerError> {
        let file = KeyFile::from_key(key);
        let text = to_toml(&file)?;
        // Zeroize the file's copy of the share now; `text` zeroizes itself.
        drop(file);
        let keys_dir = self.dir.join(KEYS_DIR);
        durable::create_private_dir(&keys_dir)
            .map_err(io_error(format!("cannot create {}", keys_dir.display())))?;
        write_private(
            &keys_dir.join(format!("{}.toml", key.id_hex())),
            text.as_bytes(),
        )
    }

    /// Writes `clients.toml` as a version 1 layout had it.
    #[cfg(test)]
    pub(crate) fn write_clients(&self, clients: &[ClientRecord]) -> Result<(), ServerError> {
        let text = to_toml(&ClientsFile::from_records(clients))?;
        write_private(&self.dir.join(CLIENTS_FILE), text.as_bytes())
    }
}

/// Zeroizing, because key files hold a secret share.
fn to_toml<T: Serialize>(value: &T) -> Result<Zeroizing<String>, ServerError> {
    toml::to_string(value)
        .map(Zeroizing::new)
        .map_err(|e| ServerError::Serialize(e.to_string()))
}

/// Writes a state file durably with mode 0600 (see [`crate::durable`]).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), ServerError> {
    durable::write_file(path, contents, Replace::Allow).map_err(cannot_write(path))
}

fn cannot_write(path: &Path) -> impl FnOnce(std::io::Error) -> ServerError {
    io_error(format!("cannot write {}", path.display()))
}
