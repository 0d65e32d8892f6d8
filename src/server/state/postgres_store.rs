//! The shared backend: keys and clients in one PostgreSQL database that
//! several replicas of the same participant use at once, behind any load
//! balancer (docs/OPERATIONS.md section 3).
//!
//! - The [`Store`] trait is synchronous and is called from async handlers.
//!   The synchronous `postgres` client drives its own runtime and must not
//!   run on a tokio worker, so the store owns a few plain threads, each
//!   with one connection, fed jobs through a channel: the caller blocks on
//!   the answer exactly as it would on the SQLite file.
//! - Nothing is cached here: a client added or revoked through one replica
//!   is seen by every other replica's next token lookup.
//! - Migrations are numbered, recorded in `shardlock_schema`, and applied
//!   at start in one transaction under an advisory lock, so replicas that
//!   start together do not race; a database from a newer shardlock is
//!   refused.
//! - The connection URL may hold a password: it is never printed. Errors
//!   name the database by host and database name only.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use postgres::config::Host;
use postgres::error::SqlState;
use postgres::{Client, Config, NoTls};
use zeroize::Zeroizing;

use super::store::{IdentityRow, InsertClient, KeyRow, LifecycleChange, LifecycleRow, Store};
use super::ClientRecord;
use crate::server::ServerError;

/// Connections (and threads) per replica: token lookups run in parallel,
/// admin changes are rare.
const CONNECTIONS: usize = 4;

/// Advisory lock key serialising migrations across replicas ("shardlk").
const MIGRATION_LOCK: i64 = 0x7368_6172_646c_6b00;

/// Schema migrations, in order; migration `i` brings the recorded version
/// from `i` to `i + 1`. Never edit one that has shipped: append a new one.
const MIGRATIONS: &[&str] = &[
    // 1: keys and clients, as in the SQLite schema.
    "CREATE TABLE keys (
         id        TEXT PRIMARY KEY,            -- keyset id, lower-case hex
         install   TEXT NOT NULL,               -- the install request (JSON)
         installed TEXT NOT NULL                -- RFC 3339
     );
     CREATE TABLE clients (
         seq          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         name         TEXT NOT NULL UNIQUE,
         token_sha256 BYTEA NOT NULL UNIQUE CHECK (length(token_sha256) = 32),
         keysets      TEXT NOT NULL,            -- granted ids, space-separated
         revoked      BOOLEAN NOT NULL DEFAULT FALSE,
         created      TEXT NOT NULL
     );",
    // 2: the seal record, as in the SQLite schema.
    "CREATE TABLE seal (
         id     INTEGER PRIMARY KEY CHECK (id = 1),
         key_id TEXT NOT NULL,
         record TEXT NOT NULL
     );",
    // 3: the server identity and the key lifecycle rounds, as in the
    // SQLite schema.
    "CREATE TABLE identity (
         id     INTEGER PRIMARY KEY CHECK (id = 1),
         public TEXT NOT NULL,
         record TEXT NOT NULL
     );
     CREATE TABLE lifecycle (
         session    TEXT PRIMARY KEY,
         keyset_id  TEXT NOT NULL,
         state      TEXT NOT NULL,
         to_epoch   BIGINT NOT NULL,
         transcript TEXT NOT NULL,
         record     TEXT,
         updated    TEXT NOT NULL
     );
     CREATE INDEX lifecycle_state ON lifecycle (state);",
];

type Job = Box<dyn FnOnce(&mut Worker) + Send>;

/// The PostgreSQL store of one participant, shared by its replicas.
pub(crate) struct PostgresStore {
    /// Host and database name, for messages (never the URL).
    label: String,
    jobs: Mutex<Sender<Job>>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("database", &self.label)
            .finish_non_exhaustive()
    }
}

/// One connection thread's state: reconnects after a lost connection, so a
/// database restart costs the requests in flight, not the server.
struct Worker {
    config: Arc<Config>,
    client: Option<Client>,
}

impl Worker {
    fn client(&mut self) -> Result<&mut Client, postgres::Error> {
        if self.client.as_ref().is_some_and(Client::is_closed) {
            self.client = None;
        }
        match &mut self.client {
            Some(client) => Ok(client),
            slot @ None => Ok(slot.insert(self.config.connect(NoTls)?)),
        }
    }
}

impl PostgresStore {
    /// Connects to the database at `url`, brings its schema up to date and
    /// starts the connection threads.
    pub(crate) fn open(url: &str) -> Result<Self, ServerError> {
        // The parse error of a URL could quote it: report only that it failed.
        let mut config = Config::from_str(url).map_err(|_| ServerError::Database {
            context: "the [database] url in server.toml is not a valid PostgreSQL URL".into(),
            source: "unparsable connection URL".into(),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(Duration::from_secs(5));
        }
        if config.get_application_name().is_none() {
            config.application_name("shardlock-server");
        }
        let label = label(&config);
        let config = Arc::new(config);
        let (sender, receiver) = mpsc::channel::<Job>();
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..CONNECTIONS {
            let receiver = Arc::clone(&receiver);
            let config = Arc::clone(&config);
            std::thread::Builder::new()
                .name("shardlock-postgres".into())
                .spawn(move || serve_jobs(&receiver, config))
                .map_err(|source| ServerError::Io {
                    context: "cannot start a database thread".into(),
                    source,
                })?;
        }
        let store = Self {
            label,
            jobs: Mutex::new(sender),
        };
        store.call("apply the schema migrations", migrate)??;
        Ok(store)
    }

    /// Runs `job` on a connection thread and waits for its answer.
    fn run<R: Send + 'static>(
        &self,
        what: &str,
        job: impl FnOnce(&mut Client) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<Result<R, ServerError>, ServerError> {
        let (answer, reply) = mpsc::sync_channel::<Result<R, postgres::Error>>(1);
        let job: Job = Box::new(move |worker: &mut Worker| {
            let result = worker.client().and_then(job);
            let _ = answer.send(result);
        });
        let sent = self
            .jobs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(job);
        let stopped = || ServerError::Database {
            context: format!("{}: cannot {what}", self.label),
            source: "the database threads stopped".into(),
        };
        sent.map_err(|_| stopped())?;
        let result = reply.recv().map_err(|_| stopped())?;
        Ok(result.map_err(|e| self.error(what, e)))
    }

    /// Like [`Self::run`], for jobs whose database errors are plain failures.
    fn call<R: Send + 'static>(
        &self,
        what: &str,
        job: impl FnOnce(&mut Client) -> Result<R, postgres::Error> + Send + 'static,
    ) -> Result<R, ServerError> {
        self.run(what, job)?
    }

    fn error(&self, what: &str, e: postgres::Error) -> ServerError {
        ServerError::Database {
            context: format!("{}: cannot {what}", self.label),
            source: Box::new(e),
        }
    }

    fn where_(&self) -> PathBuf {
        PathBuf::from(&self.label)
    }
}

/// A connection thread: runs jobs until the store is dropped.
fn serve_jobs(receiver: &Mutex<Receiver<Job>>, config: Arc<Config>) {
    let mut worker = Worker {
        config,
        client: None,
    };
    loop {
        // The lock is held only while waiting for the next job.
        let job = receiver
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .recv();
        match job {
            Ok(job) => job(&mut worker),
            Err(_) => return,
        }
    }
}

/// `postgres://host:port/dbname` without user or password.
fn label(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config.get_dbname().or(config.get_user()).unwrap_or("?");
    format!("PostgreSQL database postgres://{host}:{port}/{db}")
}

/// Applies every migration the database has not seen yet, in one
/// transaction under an advisory lock held until it commits.
fn migrate(client: &mut Client) -> Result<Result<(), ServerError>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS shardlock_schema (version INTEGER NOT NULL)")?;
    let version: Option<i32> = tx
        .query_opt("SELECT max(version) FROM shardlock_schema", &[])?
        .and_then(|row| row.get(0));
    let version = usize::try_from(version.unwrap_or(0)).unwrap_or(usize::MAX);
    if version > MIGRATIONS.len() {
        return Ok(Err(ServerError::Corrupt {
            path: PathBuf::from("PostgreSQL database"),
            reason: format!(
                "schema version {version} is newer than this shardlock knows ({}); upgrade shardlock",
                MIGRATIONS.len()
            ),
        }));
    }
    for (index, migration) in MIGRATIONS.iter().enumerate().skip(version) {
        tx.batch_execute(migration)?;
        let next = i32::try_from(index + 1).unwrap_or(i32::MAX);
        tx.execute("DELETE FROM shardlock_schema", &[])?;
        tx.execute(
            "INSERT INTO shardlock_schema (version) VALUES ($1)",
            &[&next],
        )?;
    }
    tx.commit()?;
    Ok(Ok(()))
}

/// A [`LifecycleChange`] that can move to a connection thread.
enum OwnedChange {
    Insert { row: LifecycleRow, leave: bool },
    Commit { session: String, key: KeyRow },
    Abort { session: String },
}

impl OwnedChange {
    fn of(change: &LifecycleChange<'_>) -> Self {
        match change {
            LifecycleChange::Stage(row) => OwnedChange::Insert {
                row: (*row).clone(),
                leave: false,
            },
            LifecycleChange::Leave(row) => OwnedChange::Insert {
                row: (*row).clone(),
                leave: true,
            },
            LifecycleChange::Commit { session, key } => OwnedChange::Commit {
                session: session.to_string(),
                key: (*key).clone(),
            },
            LifecycleChange::Abort { session } => OwnedChange::Abort {
                session: session.to_string(),
            },
        }
    }
}

/// Whether the seal key is still `seal_key_id`, the seal row locked for
/// the rest of the transaction (a concurrent seal change waits).
fn seal_is(tx: &mut postgres::Transaction<'_>, seal_key_id: &str) -> Result<bool, postgres::Error> {
    let current = tx.query_opt("SELECT key_id FROM seal WHERE id = 1 FOR SHARE", &[])?;
    let current: Option<String> = current.map(|row| row.try_get(0)).transpose()?;
    Ok(current.as_deref() == Some(seal_key_id))
}

fn lifecycle_from_sql(row: &postgres::Row) -> Result<LifecycleRow, postgres::Error> {
    let to_epoch: i64 = row.try_get(3)?;
    Ok(LifecycleRow {
        session: row.try_get(0)?,
        keyset_id: row.try_get(1)?,
        state: row.try_get(2)?,
        // Written from a u32 by this code only.
        to_epoch: u32::try_from(to_epoch).unwrap_or(u32::MAX),
        transcript: row.try_get(4)?,
        record: row.try_get::<_, Option<String>>(5)?.map(Zeroizing::new),
    })
}

const CLIENT_COLUMNS: &str = "name, token_sha256, keysets, revoked, created";

/// A client row, or why it is unusable.
fn client_row(row: &postgres::Row) -> Result<ClientRecord, String> {
    let hash: Vec<u8> = row.try_get(1).map_err(|e| e.to_string())?;
    let token_sha256: [u8; 32] = hash
        .as_slice()
        .try_into()
        .map_err(|_| "token hash is not 32 bytes".to_string())?;
    let keysets: String = row.try_get(2).map_err(|e| e.to_string())?;
    Ok(ClientRecord {
        name: row.try_get(0).map_err(|e| e.to_string())?,
        token_sha256,
        keysets: keysets.split_whitespace().map(str::to_string).collect(),
        revoked: row.try_get(3).map_err(|e| e.to_string())?,
        created: row.try_get(4).map_err(|e| e.to_string())?,
    })
}

impl PostgresStore {
    fn clients_where(
        &self,
        what: &str,
        rows: Vec<postgres::Row>,
    ) -> Result<Vec<ClientRecord>, ServerError> {
        rows.iter()
            .map(|row| {
                client_row(row).map_err(|reason| ServerError::Corrupt {
                    path: self.where_(),
                    reason: format!("cannot {what}: {reason}"),
                })
            })
            .collect()
    }

    fn insert_rows(
        tx: &mut postgres::Transaction<'_>,
        clients: &[ClientRecord],
    ) -> Result<(), postgres::Error> {
        let statement = tx.prepare(&format!(
            "INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"
        ))?;
        for c in clients {
            tx.execute(
                &statement,
                &[
                    &c.name,
                    &&c.token_sha256[..],
                    &c.keysets.join(" "),
                    &c.revoked,
                    &c.created,
                ],
            )?;
        }
        Ok(())
    }

    /// Stores clients in one transaction.
    fn import(&self, clients: &[ClientRecord]) -> Result<(), InsertClient> {
        let clients = clients.to_vec();
        let result = self.run("store clients", move |client| {
            let mut tx = client.transaction()?;
            Self::insert_rows(&mut tx, &clients)?;
            tx.commit()
        })?;
        match result {
            Ok(()) => Ok(()),
            Err(ServerError::Database { source, context }) => {
                let unique = source
                    .downcast_ref::<postgres::Error>()
                    .and_then(postgres::Error::code)
                    == Some(&SqlState::UNIQUE_VIOLATION);
                if unique {
                    Err(InsertClient::Exists)
                } else {
                    Err(InsertClient::Failed(ServerError::Database {
                        context,
                        source,
                    }))
                }
            }
            Err(e) => Err(InsertClient::Failed(e)),
        }
    }
}

#[cfg(any(test, feature = "testkit"))]
fn flatten(e: InsertClient, label: &str) -> ServerError {
    match e {
        InsertClient::Failed(e) => e,
        InsertClient::Exists => ServerError::Database {
            context: format!("{label}: cannot store: already present"),
            source: "unique constraint violated".into(),
        },
    }
}

impl Store for PostgresStore {
    fn location(&self) -> PathBuf {
        self.where_()
    }

    fn key_rows(&self) -> Result<Vec<KeyRow>, ServerError> {
        self.call("read keys", |client| {
            let rows = client.query("SELECT id, install FROM keys ORDER BY id", &[])?;
            rows.iter()
                .map(|row| {
                    Ok(KeyRow {
                        id: row.try_get(0)?,
                        record: Zeroizing::new(row.try_get(1)?),
                    })
                })
                .collect()
        })
    }

    fn key_row(&self, id_hex: &str) -> Result<Option<KeyRow>, ServerError> {
        let id = id_hex.to_string();
        self.call("read a key", move |client| {
            let row = client.query_opt("SELECT install FROM keys WHERE id = $1", &[&id])?;
            row.map(|row| {
                Ok(KeyRow {
                    id: id.clone(),
                    record: Zeroizing::new(row.try_get(0)?),
                })
            })
            .transpose()
        })
    }

    fn insert_key(&self, row: &KeyRow, seal_key_id: &str) -> Result<bool, ServerError> {
        let row = row.clone();
        let seal_key_id = seal_key_id.to_string();
        let installed = crate::server::audit::now_rfc3339();
        self.call("store a key", move |client| {
            // The seal row is locked for the check, so a concurrent seal
            // change waits for this insert or makes it insert nothing.
            let mut tx = client.transaction()?;
            let current = tx.query_opt("SELECT key_id FROM seal WHERE id = 1 FOR SHARE", &[])?;
            let current: Option<String> = current.map(|row| row.try_get(0)).transpose()?;
            if current.as_deref() != Some(seal_key_id.as_str()) {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO keys (id, install, installed) VALUES ($1, $2, $3)",
                &[&row.id, &row.record.as_str(), &installed],
            )?;
            tx.commit()?;
            Ok(true)
        })
    }

    fn seal(&self) -> Result<Option<String>, ServerError> {
        self.call("read the seal", |client| {
            let row = client.query_opt("SELECT record FROM seal WHERE id = 1", &[])?;
            row.map(|row| row.try_get(0)).transpose()
        })
    }

    fn write_seal(
        &self,
        expected: Option<&str>,
        key_id: &str,
        record: &str,
        rows: &[KeyRow],
        identity: Option<&str>,
    ) -> Result<bool, ServerError> {
        let identity = identity.map(|i| Zeroizing::new(i.to_string()));
        let expected = expected.map(str::to_string);
        let key_id = key_id.to_string();
        let record = record.to_string();
        let rows = rows.to_vec();
        self.call("write the seal", move |client| {
            let mut tx = client.transaction()?;
            // Serialises seal changes (and first seals by replicas that
            // start together) without a seal row to lock yet.
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&(MIGRATION_LOCK + 1)])?;
            let current = tx.query_opt("SELECT key_id FROM seal WHERE id = 1 FOR UPDATE", &[])?;
            let current: Option<String> = current.map(|row| row.try_get(0)).transpose()?;
            if current != expected {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO seal (id, key_id, record) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO UPDATE SET key_id = excluded.key_id, record = excluded.record",
                &[&key_id, &record],
            )?;
            for row in &rows {
                tx.execute(
                    "UPDATE keys SET install = $2 WHERE id = $1",
                    &[&row.id, &row.record.as_str()],
                )?;
            }
            if let Some(identity) = &identity {
                tx.execute(
                    "UPDATE identity SET record = $1 WHERE id = 1",
                    &[&identity.as_str()],
                )?;
            }
            tx.commit()?;
            Ok(true)
        })
    }

    fn identity(&self) -> Result<Option<IdentityRow>, ServerError> {
        self.call("read the identity", |client| {
            let row = client.query_opt("SELECT public, record FROM identity WHERE id = 1", &[])?;
            row.map(|row| {
                Ok(IdentityRow {
                    public: row.try_get(0)?,
                    record: Zeroizing::new(row.try_get(1)?),
                })
            })
            .transpose()
        })
    }

    fn insert_identity(&self, row: &IdentityRow, seal_key_id: &str) -> Result<bool, ServerError> {
        let row = row.clone();
        let seal_key_id = seal_key_id.to_string();
        self.call("store the identity", move |client| {
            let mut tx = client.transaction()?;
            if !seal_is(&mut tx, &seal_key_id)? {
                return Ok(false);
            }
            let inserted = tx.execute(
                "INSERT INTO identity (id, public, record) VALUES (1, $1, $2)
                 ON CONFLICT (id) DO NOTHING",
                &[&row.public, &row.record.as_str()],
            )?;
            tx.commit()?;
            Ok(inserted == 1)
        })
    }

    fn lifecycle_row(&self, session: &str) -> Result<Option<LifecycleRow>, ServerError> {
        let session = session.to_string();
        self.call("read a lifecycle round", move |client| {
            let row = client.query_opt(
                "SELECT session, keyset_id, state, to_epoch, transcript, record
                 FROM lifecycle WHERE session = $1",
                &[&session],
            )?;
            row.as_ref().map(lifecycle_from_sql).transpose()
        })
    }

    fn staged_rows(&self) -> Result<Vec<LifecycleRow>, ServerError> {
        self.call("read staged rounds", |client| {
            let rows = client.query(
                "SELECT session, keyset_id, state, to_epoch, transcript, record
                 FROM lifecycle WHERE state = 'staged' ORDER BY updated",
                &[],
            )?;
            rows.iter().map(lifecycle_from_sql).collect()
        })
    }

    fn apply_lifecycle(
        &self,
        change: &LifecycleChange<'_>,
        seal_key_id: &str,
    ) -> Result<bool, ServerError> {
        let change = OwnedChange::of(change);
        let seal_key_id = seal_key_id.to_string();
        let now = crate::server::audit::now_rfc3339();
        self.call("change a lifecycle round", move |client| {
            let mut tx = client.transaction()?;
            if !seal_is(&mut tx, &seal_key_id)? {
                return Ok(false);
            }
            let applied = match &change {
                OwnedChange::Insert { row, leave } => {
                    let inserted = tx.execute(
                        "INSERT INTO lifecycle
                         (session, keyset_id, state, to_epoch, transcript, record, updated)
                         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (session) DO NOTHING",
                        &[
                            &row.session,
                            &row.keyset_id,
                            &row.state,
                            &i64::from(row.to_epoch),
                            &row.transcript,
                            &row.record.as_ref().map(|r| r.as_str()),
                            &now,
                        ],
                    )?;
                    if inserted == 1 && *leave {
                        tx.execute("DELETE FROM keys WHERE id = $1", &[&row.keyset_id])?;
                    }
                    inserted == 1
                }
                OwnedChange::Commit { session, key } => {
                    let updated = tx.execute(
                        "UPDATE lifecycle SET state = 'committed', record = NULL, updated = $2
                         WHERE session = $1 AND state = 'staged'",
                        &[session, &now],
                    )?;
                    if updated == 1 {
                        tx.execute(
                            "INSERT INTO keys (id, install, installed) VALUES ($1, $2, $3)
                             ON CONFLICT (id) DO UPDATE SET install = excluded.install,
                                                            installed = excluded.installed",
                            &[&key.id, &key.record.as_str(), &now],
                        )?;
                    }
                    updated == 1
                }
                OwnedChange::Abort { session } => {
                    tx.execute(
                        "UPDATE lifecycle SET state = 'aborted', record = NULL, updated = $2
                         WHERE session = $1 AND state = 'staged'",
                        &[session, &now],
                    )? == 1
                }
            };
            tx.commit()?;
            Ok(applied)
        })
    }

    fn client_by_token(
        &self,
        token_sha256: &[u8; 32],
    ) -> Result<Option<ClientRecord>, ServerError> {
        let hash = *token_sha256;
        let rows = self.call("look up a client", move |client| {
            client.query(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE token_sha256 = $1"),
                &[&&hash[..]],
            )
        })?;
        Ok(self.clients_where("look up a client", rows)?.pop())
    }

    fn clients(&self) -> Result<Vec<ClientRecord>, ServerError> {
        let rows = self.call("list clients", |client| {
            client.query(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY seq"),
                &[],
            )
        })?;
        self.clients_where("list clients", rows)
    }

    fn client_by_name(&self, name: &str) -> Result<Option<ClientRecord>, ServerError> {
        let name = name.to_string();
        let rows = self.call("look up a client", move |client| {
            client.query(
                &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE name = $1"),
                &[&name],
            )
        })?;
        Ok(self.clients_where("look up a client", rows)?.pop())
    }

    fn insert_client(&self, record: &ClientRecord) -> Result<(), InsertClient> {
        self.import(std::slice::from_ref(record))
    }

    #[cfg(any(test, feature = "testkit"))]
    fn import_clients(&self, clients: &[ClientRecord]) -> Result<(), ServerError> {
        self.import(clients).map_err(|e| flatten(e, &self.label))
    }

    #[cfg(any(test, feature = "testkit"))]
    fn import_key_rows(&self, rows: &[KeyRow]) -> Result<(), ServerError> {
        let rows = rows.to_vec();
        let installed = crate::server::audit::now_rfc3339();
        self.call("store keys", move |client| {
            let mut tx = client.transaction()?;
            let statement =
                tx.prepare("INSERT INTO keys (id, install, installed) VALUES ($1, $2, $3)")?;
            for row in &rows {
                tx.execute(&statement, &[&row.id, &row.record.as_str(), &installed])?;
            }
            tx.commit()
        })
    }

    fn revoke_client(&self, name: &str) -> Result<Option<bool>, ServerError> {
        let name = name.to_string();
        // One transaction; the row lock makes concurrent revocations through
        // two replicas agree on which one revoked.
        self.call("revoke a client", move |client| {
            let mut tx = client.transaction()?;
            let row = tx.query_opt(
                "SELECT revoked FROM clients WHERE name = $1 FOR UPDATE",
                &[&name],
            )?;
            let outcome = match row {
                None => None,
                Some(row) if row.try_get::<_, bool>(0)? => Some(false),
                Some(_) => {
                    tx.execute(
                        "UPDATE clients SET revoked = TRUE WHERE name = $1",
                        &[&name],
                    )?;
                    Some(true)
                }
            };
            tx.commit()?;
            Ok(outcome)
        })
    }
}
