//! The embedded default backend: keys and clients in one SQLite database,
//! `DIR/state.db`, mode 0600 in the 0700 state directory, zero setup.
//!
//! - Schema migrations are numbered and applied at open, each in its own
//!   transaction, recorded in `PRAGMA user_version`; a database from a
//!   newer shardlock is refused rather than guessed at.
//! - WAL journal with `synchronous = FULL`: every committed change is on
//!   disk before the admin request is answered, and readers (token lookups)
//!   never wait for a writer.
//! - Clients are found by the SHA-256 of their token through a unique
//!   index, so authentication costs the same at a thousand clients as at a
//!   million; tokens are 256-bit random, so the hash is a safe lookup key.
//! - A key row holds the install request it came from (JSON), sealed under
//!   the seal key ([`crate::server::seal`]); the state opens and
//!   re-validates it exactly as the admin API would, so a damaged or
//!   tampered row stops the server instead of producing wrong answers.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use zeroize::Zeroizing;

use super::store::{IdentityRow, InsertClient, KeyRow, LifecycleChange, LifecycleRow, Store};
use super::ClientRecord;
use crate::server::ServerError;

/// File name of the database inside the state directory.
pub(crate) const DB_FILE: &str = "state.db";

/// Schema migrations, in order; migration `i` brings `user_version` from
/// `i` to `i + 1`. Never edit one that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: keys and clients.
    "CREATE TABLE keys (
         id        TEXT PRIMARY KEY NOT NULL,   -- keyset id, lower-case hex
         install   TEXT NOT NULL,               -- the install request (JSON)
         installed TEXT NOT NULL                -- RFC 3339
     ) STRICT;
     CREATE TABLE clients (
         seq          INTEGER PRIMARY KEY,      -- creation order
         name         TEXT NOT NULL UNIQUE,
         token_sha256 BLOB NOT NULL UNIQUE,     -- the lookup index
         keysets      TEXT NOT NULL,            -- granted ids, space-separated
         revoked      INTEGER NOT NULL DEFAULT 0,
         created      TEXT NOT NULL
     ) STRICT;",
    // 2: the seal record (one row) that wraps the key sealing every
    // `keys.install`; the state seals older rows when it first sees this.
    "CREATE TABLE seal (
         id     INTEGER PRIMARY KEY CHECK (id = 1),
         key_id TEXT NOT NULL,                  -- 16 hex digits, not secret
         record TEXT NOT NULL                   -- JSON, FORMAT.md section 7
     ) STRICT;",
    // 3: the server identity and the key lifecycle rounds (FORMAT.md
    // section 8).
    "CREATE TABLE identity (
         id     INTEGER PRIMARY KEY CHECK (id = 1),
         public TEXT NOT NULL,                  -- base64url, 64 bytes
         record TEXT NOT NULL                   -- sealed secret half
     ) STRICT;
     CREATE TABLE lifecycle (
         session    TEXT PRIMARY KEY NOT NULL,  -- 32 hex digits
         keyset_id  TEXT NOT NULL,
         state      TEXT NOT NULL,              -- staged|committed|left|aborted
         to_epoch   INTEGER NOT NULL,
         transcript TEXT NOT NULL,
         record     TEXT,                       -- sealed staged key
         updated    TEXT NOT NULL
     ) STRICT;
     CREATE INDEX lifecycle_state ON lifecycle (state);",
];

/// The SQLite store of one state directory.
#[derive(Debug)]
pub(crate) struct SqliteStore {
    path: PathBuf,
    /// Admin changes: one writer at a time.
    writer: Mutex<Connection>,
    /// Lookups on the request path, never blocked by the writer (WAL).
    reader: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its
    /// schema up to date.
    pub(crate) fn open(path: &Path) -> Result<Self, ServerError> {
        if !path.exists() {
            // Created private before SQLite touches it: its -wal and -shm
            // files take the database file's permissions.
            crate::durable::open_append_private(path).map_err(|source| ServerError::Io {
                context: format!("cannot create {}", path.display()),
                source,
            })?;
        }
        let writer = connect(path)?;
        migrate(&writer, path)?;
        let reader = connect(path)?;
        Ok(Self {
            path: path.to_path_buf(),
            writer: Mutex::new(writer),
            reader: Mutex::new(reader),
        })
    }

    /// Imports keys and clients (from the legacy file layout) in one
    /// transaction, so a crash leaves either all of them or none.
    pub(crate) fn import(
        &self,
        keys: &[KeyRow],
        clients: &[ClientRecord],
    ) -> Result<(), ServerError> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction()
            .map_err(db(&self.path, "begin an import"))?;
        for key in keys {
            insert_key(&tx, key).map_err(db(&self.path, "import a key"))?;
        }
        for client in clients {
            insert_client(&tx, client).map_err(db(&self.path, "import a client"))?;
        }
        tx.commit().map_err(db(&self.path, "commit the import"))
    }
}

impl SqliteStore {
    /// Folds the write-ahead log into the database file, so the file alone
    /// holds everything (before it is renamed into place).
    pub(crate) fn checkpoint(&self) -> Result<(), ServerError> {
        lock(&self.writer)
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .map_err(db(&self.path, "checkpoint"))
    }
}

impl Store for SqliteStore {
    fn location(&self) -> PathBuf {
        self.path.clone()
    }

    fn key_rows(&self) -> Result<Vec<KeyRow>, ServerError> {
        let conn = lock(&self.reader);
        let mut statement = conn
            .prepare("SELECT id, install FROM keys ORDER BY id")
            .map_err(db(&self.path, "read keys"))?;
        let rows = statement
            .query_map([], |row| {
                Ok(KeyRow {
                    id: row.get(0)?,
                    record: Zeroizing::new(row.get(1)?),
                })
            })
            .map_err(db(&self.path, "read keys"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db(&self.path, "read keys"))
    }

    fn key_row(&self, id_hex: &str) -> Result<Option<KeyRow>, ServerError> {
        let conn = lock(&self.reader);
        conn.query_row("SELECT install FROM keys WHERE id = ?1", [id_hex], |row| {
            Ok(KeyRow {
                id: id_hex.to_string(),
                record: Zeroizing::new(row.get(0)?),
            })
        })
        .optional()
        .map_err(db(&self.path, "read a key"))
    }

    fn insert_key(&self, row: &KeyRow, seal_key_id: &str) -> Result<bool, ServerError> {
        let conn = lock(&self.writer);
        let inserted = conn
            .execute(
                "INSERT INTO keys (id, install, installed)
                 SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM seal WHERE key_id = ?4)",
                params![
                    row.id,
                    row.record.as_str(),
                    crate::server::audit::now_rfc3339(),
                    seal_key_id
                ],
            )
            .map_err(db(&self.path, "store a key"))?;
        Ok(inserted == 1)
    }

    fn seal(&self) -> Result<Option<String>, ServerError> {
        let conn = lock(&self.reader);
        conn.query_row("SELECT record FROM seal WHERE id = 1", [], |row| row.get(0))
            .optional()
            .map_err(db(&self.path, "read the seal"))
    }

    fn write_seal(
        &self,
        expected: Option<&str>,
        key_id: &str,
        record: &str,
        rows: &[KeyRow],
        identity: Option<&str>,
    ) -> Result<bool, ServerError> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db(&self.path, "begin a seal change"))?;
        let current: Option<String> = tx
            .query_row("SELECT key_id FROM seal WHERE id = 1", [], |row| row.get(0))
            .optional()
            .map_err(db(&self.path, "read the seal"))?;
        if current.as_deref() != expected {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO seal (id, key_id, record) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, record = excluded.record",
            params![key_id, record],
        )
        .map_err(db(&self.path, "write the seal"))?;
        for row in rows {
            tx.execute(
                "UPDATE keys SET install = ?2 WHERE id = ?1",
                params![row.id, row.record.as_str()],
            )
            .map_err(db(&self.path, "seal a key"))?;
        }
        if let Some(identity) = identity {
            tx.execute("UPDATE identity SET record = ?1 WHERE id = 1", [identity])
                .map_err(db(&self.path, "seal the identity"))?;
        }
        tx.commit()
            .map_err(db(&self.path, "commit a seal change"))?;
        Ok(true)
    }

    fn identity(&self) -> Result<Option<IdentityRow>, ServerError> {
        let conn = lock(&self.reader);
        conn.query_row(
            "SELECT public, record FROM identity WHERE id = 1",
            [],
            |row| {
                Ok(IdentityRow {
                    public: row.get(0)?,
                    record: Zeroizing::new(row.get(1)?),
                })
            },
        )
        .optional()
        .map_err(db(&self.path, "read the identity"))
    }

    fn insert_identity(&self, row: &IdentityRow, seal_key_id: &str) -> Result<bool, ServerError> {
        let conn = lock(&self.writer);
        let inserted = conn
            .execute(
                "INSERT INTO identity (id, public, record)
                 SELECT 1, ?1, ?2 WHERE EXISTS (SELECT 1 FROM seal WHERE key_id = ?3)
                 ON CONFLICT (id) DO NOTHING",
                params![row.public, row.record.as_str(), seal_key_id],
            )
            .map_err(db(&self.path, "store the identity"))?;
        Ok(inserted == 1)
    }

    fn lifecycle_row(&self, session: &str) -> Result<Option<LifecycleRow>, ServerError> {
        let conn = lock(&self.reader);
        conn.query_row(
            "SELECT session, keyset_id, state, to_epoch, transcript, record
             FROM lifecycle WHERE session = ?1",
            [session],
            lifecycle_from_sql,
        )
        .optional()
        .map_err(db(&self.path, "read a lifecycle round"))
    }

    fn staged_rows(&self) -> Result<Vec<LifecycleRow>, ServerError> {
        let conn = lock(&self.reader);
        let mut statement = conn
            .prepare(
                "SELECT session, keyset_id, state, to_epoch, transcript, record
                 FROM lifecycle WHERE state = 'staged' ORDER BY updated",
            )
            .map_err(db(&self.path, "read staged rounds"))?;
        let rows = statement
            .query_map([], lifecycle_from_sql)
            .map_err(db(&self.path, "read staged rounds"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db(&self.path, "read staged rounds"))
    }

    fn apply_lifecycle(
        &self,
        change: &LifecycleChange<'_>,
        seal_key_id: &str,
    ) -> Result<bool, ServerError> {
        let mut conn = lock(&self.writer);
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(db(&self.path, "begin a lifecycle change"))?;
        let sealed: bool = tx
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM seal WHERE key_id = ?1)",
                [seal_key_id],
                |row| row.get(0),
            )
            .map_err(db(&self.path, "read the seal"))?;
        if !sealed {
            return Ok(false);
        }
        let now = crate::server::audit::now_rfc3339();
        let failed = db(&self.path, "change a lifecycle round");
        let applied = match change {
            LifecycleChange::Stage(row) | LifecycleChange::Leave(row) => {
                let inserted = tx
                    .execute(
                        "INSERT INTO lifecycle
                         (session, keyset_id, state, to_epoch, transcript, record, updated)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (session) DO NOTHING",
                        params![
                            row.session,
                            row.keyset_id,
                            row.state,
                            row.to_epoch,
                            row.transcript,
                            row.record.as_ref().map(|r| r.as_str()),
                            now
                        ],
                    )
                    .map_err(&failed)?;
                if inserted == 1 && matches!(change, LifecycleChange::Leave(_)) {
                    tx.execute("DELETE FROM keys WHERE id = ?1", [&row.keyset_id])
                        .map_err(&failed)?;
                }
                inserted == 1
            }
            LifecycleChange::Commit { session, key } => {
                let updated = tx
                    .execute(
                        "UPDATE lifecycle SET state = 'committed', record = NULL, updated = ?2
                         WHERE session = ?1 AND state = 'staged'",
                        params![session, now],
                    )
                    .map_err(&failed)?;
                if updated == 1 {
                    tx.execute(
                        "INSERT INTO keys (id, install, installed) VALUES (?1, ?2, ?3)
                         ON CONFLICT (id) DO UPDATE SET install = excluded.install,
                                                        installed = excluded.installed",
                        params![key.id, key.record.as_str(), now],
                    )
                    .map_err(&failed)?;
                }
                updated == 1
            }
            LifecycleChange::Abort { session } => {
                tx.execute(
                    "UPDATE lifecycle SET state = 'aborted', record = NULL, updated = ?2
                     WHERE session = ?1 AND state = 'staged'",
                    params![session, now],
                )
                .map_err(&failed)?
                    == 1
            }
        };
        tx.commit()
            .map_err(db(&self.path, "commit a lifecycle change"))?;
        Ok(applied)
    }

    fn client_by_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<ClientRecord>, ServerError> {
        let conn = lock(&self.reader);
        conn.prepare_cached(
            "SELECT name, token_sha256, keysets, revoked, created FROM clients
             WHERE token_sha256 = ?1",
        )
        .and_then(|mut s| s.query_row([&token_sha256[..]], client_row).optional())
        .map_err(db(&self.path, "look up a client"))
    }

    fn clients(&self) -> Result<Vec<ClientRecord>, ServerError> {
        let conn = lock(&self.reader);
        let mut statement = conn
            .prepare(
                "SELECT name, token_sha256, keysets, revoked, created FROM clients ORDER BY seq",
            )
            .map_err(db(&self.path, "list clients"))?;
        let rows = statement
            .query_map([], client_row)
            .map_err(db(&self.path, "list clients"))?;
        rows.collect::<Result<_, _>>()
            .map_err(db(&self.path, "list clients"))
    }

    fn client_by_name(&self, name: &str) -> Result<Option<ClientRecord>, ServerError> {
        let conn = lock(&self.reader);
        conn.prepare_cached(
            "SELECT name, token_sha256, keysets, revoked, created FROM clients WHERE name = ?1",
        )
        .and_then(|mut s| s.query_row([name], client_row).optional())
        .map_err(db(&self.path, "look up a client"))
    }

    fn insert_client(&self, record: &ClientRecord) -> Result<(), InsertClient> {
        let conn = lock(&self.writer);
        match insert_client(&conn, record) {
            Ok(()) => Ok(()),
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation =>
            {
                Err(InsertClient::Exists)
            }
            Err(e) => Err(InsertClient::Failed(db(&self.path, "store a client")(e))),
        }
    }

    #[cfg(any(test, feature = "testkit"))]
    fn import_clients(&self, clients: &[ClientRecord]) -> Result<(), ServerError> {
        self.import(&[], clients)
    }

    #[cfg(any(test, feature = "testkit"))]
    fn import_key_rows(&self, rows: &[KeyRow]) -> Result<(), ServerError> {
        self.import(rows, &[])
    }

    fn revoke_client(&self, name: &str) -> Result<Option<bool>, ServerError> {
        let conn = lock(&self.writer);
        let revoked: Option<bool> = conn
            .query_row(
                "SELECT revoked FROM clients WHERE name = ?1",
                [name],
                |row| row.get(0),
            )
            .optional()
            .map_err(db(&self.path, "look up a client"))?;
        match revoked {
            None => Ok(None),
            Some(true) => Ok(Some(false)),
            Some(false) => {
                conn.execute("UPDATE clients SET revoked = 1 WHERE name = ?1", [name])
                    .map_err(db(&self.path, "revoke a client"))?;
                Ok(Some(true))
            }
        }
    }
}

fn lifecycle_from_sql(row: &rusqlite::Row<'_>) -> rusqlite::Result<LifecycleRow> {
    Ok(LifecycleRow {
        session: row.get(0)?,
        keyset_id: row.get(1)?,
        state: row.get(2)?,
        to_epoch: row.get(3)?,
        transcript: row.get(4)?,
        record: row.get::<_, Option<String>>(5)?.map(Zeroizing::new),
    })
}

fn connect(path: &Path) -> Result<Connection, ServerError> {
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(db(path, "open"))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;",
    )
    .map_err(db(path, "configure"))?;
    Ok(conn)
}

/// Applies every migration the database has not seen yet.
fn migrate(conn: &Connection, path: &Path) -> Result<(), ServerError> {
    let version: usize = conn
        .query_row("PRAGMA user_version", [], |row| row.get(0))
        .map_err(db(path, "read the schema version"))?;
    if version > MIGRATIONS.len() {
        return Err(ServerError::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "schema version {version} is newer than this shardlock knows ({}); upgrade shardlock",
                MIGRATIONS.len()
            ),
        });
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        // user_version cannot be bound as a parameter; it is our own integer.
        let batch = format!(
            "BEGIN IMMEDIATE; {migration}; PRAGMA user_version = {}; COMMIT;",
            index + 1
        );
        conn.execute_batch(&batch)
            .map_err(db(path, "apply a schema migration"))?;
    }
    Ok(())
}

fn insert_key(conn: &Connection, row: &KeyRow) -> rusqlite::Result<()> {
    // Cached: an import runs this once per key, up to 100,000 times.
    conn.prepare_cached("INSERT INTO keys (id, install, installed) VALUES (?1, ?2, ?3)")?
        .execute(params![
            row.id,
            row.record.as_str(),
            crate::server::audit::now_rfc3339()
        ])?;
    Ok(())
}

fn insert_client(conn: &Connection, record: &ClientRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO clients (name, token_sha256, keysets, revoked, created)
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![
        record.name,
        &record.token_sha256[..],
        record.keysets.join(" "),
        record.revoked,
        record.created
    ])?;
    Ok(())
}

fn client_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ClientRecord> {
    let hash: Vec<u8> = row.get(1)?;
    let token_sha256: [u8; 32] = hash.as_slice().try_into().map_err(|_| {
        rusqlite::Error::FromSqlConversionFailure(
            1,
            rusqlite::types::Type::Blob,
            "token hash is not 32 bytes".into(),
        )
    })?;
    let keysets: String = row.get(2)?;
    Ok(ClientRecord {
        name: row.get(0)?,
        token_sha256,
        keysets: keysets.split_whitespace().map(str::to_string).collect(),
        revoked: row.get(3)?,
        created: row.get(4)?,
    })
}

fn lock(connection: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic mid-statement leaves SQLite consistent (the transaction rolls
    // back), so a poisoned lock is safe to take over.
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(super) fn db(path: &Path, what: &str) -> impl Fn(rusqlite::Error) -> ServerError {
    let context = format!("{}: cannot {what}", path.display());
    move |e| ServerError::Database {
        context: context.clone(),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(name: &str, seed: u8) -> ClientRecord {
        ClientRecord {
            name: name.into(),
            token_sha256: [seed; 32],
            keysets: vec!["ab".repeat(32), "cd".repeat(32)],
            revoked: false,
            created: "2026-12-01T00:00:00Z".into(),
        }
    }

    fn temp_store() -> (tempfile::TempDir, PathBuf, SqliteStore) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(DB_FILE);
        let store = SqliteStore::open(&path).unwrap();
        (tmp, path, store)
    }

    #[test]
    fn a_failing_store_denies_authentication_and_says_so() {
        let (_tmp, dir, admin) = crate::server::state::test_support::fresh_dir();
        let state = crate::server::State::load(&dir).unwrap();
        Connection::open(dir.join(DB_FILE))
            .unwrap()
            .execute_batch("DROP TABLE clients;")
            .unwrap();
        assert!(state.try_authenticate("slk_someone").is_err());
        assert_eq!(state.authenticate("slk_someone"), None);
        // The admin credential does not depend on the database.
        assert!(state.try_authenticate(admin.expose()).unwrap().is_some());
    }

    #[test]
    fn a_database_from_a_newer_shardlock_is_refused() {
        let (_tmp, path, store) = temp_store();
        lock(&store.writer)
            .execute_batch(&format!("PRAGMA user_version = {};", MIGRATIONS.len() + 1))
            .unwrap();
        drop(store);
        let err = SqliteStore::open(&path).unwrap_err();
        assert!(err.to_string().contains("upgrade shardlock"), "{err}");
    }

    #[test]
    fn the_database_and_its_journal_are_private() {
        let (_tmp, path, store) = temp_store();
        store.insert_client(&client("c", 1)).unwrap();
        for file in [path.clone(), path.with_extension("db-wal")] {
            if file.exists() {
                let mode = crate::durable::mode_of(&std::fs::metadata(&file).unwrap()).unwrap();
                assert_eq!(mode & 0o777, 0o600, "{}", file.display());
            }
        }
    }
}
