//! Backups of a participant (docs/OPERATIONS.md section 2): a consistent
//! copy of a state directory taken while the server runs, itself a
//! complete state directory whose shares stay sealed.
//!
//! The database is copied with SQLite's `VACUUM INTO`, which reads one
//! snapshot inside a read transaction, so concurrent admin changes are
//! either wholly in the copy or not at all; the small files are read and
//! written durably; the copy is then opened and counted, so a backup that
//! cannot be read fails now rather than on the day it is needed.

use std::path::{Path, PathBuf};

use rusqlite::Connection;

use super::sqlite_store::{db, SqliteStore, DB_FILE};
use super::store::Store as _;
use super::toml_store::{self, TomlStore};
use crate::durable::{self, Replace};
use crate::server::seal::{SealKind, SealRecord};
use crate::server::{io_error, ServerError};

/// What [`backup`] wrote.
#[derive(Debug, Clone)]
pub struct BackupReport {
    /// The new state directory.
    pub dir: PathBuf,
    /// Keys in the copy (sealed).
    pub keys: usize,
    /// Clients in the copy.
    pub clients: usize,
    /// How the copy's seal key is kept.
    pub seal: SealKind,
}

/// Copies the state directory `dir` to the new directory `out`: settings,
/// TLS pair, database (one consistent snapshot) and the audit log up to
/// its last complete line. Refuses an `out` that exists and is not empty,
/// and a server whose state is in PostgreSQL (back that up with
/// `pg_dump`).
pub fn backup(dir: &Path, out: &Path) -> Result<BackupReport, ServerError> {
    let files = TomlStore::open(dir);
    let (settings, _tls) = files.load_files()?;
    if settings.database.is_some() {
        return Err(ServerError::Corrupt {
            path: dir.to_path_buf(),
            reason: "keeps its keys in PostgreSQL: back the database up with pg_dump and copy \
                     server.toml and tls/ (docs/OPERATIONS.md section 2)"
                .into(),
        });
    }
    if out.exists()
        && std::fs::read_dir(out)
            .map_err(io_error(format!("cannot read {}", out.display())))?
            .next()
            .is_some()
    {
        return Err(ServerError::NotEmpty {
            path: out.to_path_buf(),
        });
    }
    for sub in [out.to_path_buf(), out.join(toml_store::TLS_DIR)] {
        durable::create_private_dir(&sub)
            .and_then(|()| durable::set_mode(&sub, durable::PRIVATE_DIR_MODE))
            .map_err(io_error(format!("cannot create {}", sub.display())))?;
    }
    let source = dir.join(DB_FILE);
    let target = out.join(DB_FILE);
    // VACUUM INTO wants a missing or empty file; an empty one made here
    // is private from the start.
    durable::open_append_private(&target)
        .map_err(io_error(format!("cannot create {}", target.display())))?;
    let conn = Connection::open_with_flags(&source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(db(&source, "open"))?;
    conn.execute("VACUUM INTO ?1", [target.to_string_lossy()])
        .map_err(db(&source, "copy"))?;
    drop(conn);
    std::fs::File::open(&target)
        .and_then(|file| file.sync_all())
        .map_err(io_error(format!("cannot sync {}", target.display())))?;
    for name in [
        PathBuf::from(toml_store::TLS_DIR).join(toml_store::CERT_FILE),
        PathBuf::from(toml_store::TLS_DIR).join(toml_store::KEY_FILE),
        // server.toml last, as init writes it: it marks a complete copy.
        PathBuf::from(toml_store::SERVER_FILE),
    ] {
        copy_file(&dir.join(&name), &out.join(&name), false)?;
    }
    copy_file(
        &dir.join(toml_store::AUDIT_FILE),
        &out.join(toml_store::AUDIT_FILE),
        true,
    )?;
    for sub in [out.join(toml_store::TLS_DIR), out.to_path_buf()] {
        durable::sync_dir(&sub).map_err(io_error(format!("cannot sync {}", sub.display())))?;
    }
    // Read the copy back, as a restore would.
    let copy = SqliteStore::open(&target)?;
    let seal = copy
        .seal()?
        .map(|text| SealRecord::parse(&text).map(|r| r.kind()))
        .transpose()?
        .unwrap_or(SealKind::None);
    Ok(BackupReport {
        dir: out.to_path_buf(),
        keys: copy.key_rows()?.len(),
        clients: copy.clients()?.len(),
        seal,
    })
}

/// Copies one file durably (0600, never over an existing file); for the
/// audit log, only up to its last complete line, since the server may be
/// appending to it.
fn copy_file(from: &Path, to: &Path, whole_lines: bool) -> Result<(), ServerError> {
    let mut bytes = zeroize::Zeroizing::new(
        std::fs::read(from).map_err(io_error(format!("cannot read {}", from.display())))?,
    );
    if whole_lines {
        let end = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        bytes.truncate(end);
    }
    durable::write_file(to, &bytes, Replace::Refuse)
        .map_err(io_error(format!("cannot write {}", to.display())))
}
