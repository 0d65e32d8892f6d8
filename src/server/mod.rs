//! The key-share server: HTTPS (rustls, ring) JSON API of docs/DESIGN.md
//! section 3, bearer-token client authentication, shares at rest, per-client
//! rate limits, an audit log, and Prometheus metrics.
//!
//! # State directory
//!
//! `shardlock server init --dir DIR` creates (directories 0700, files 0600,
//! every file write via temp file + fsync + atomic rename + directory
//! fsync, every database change one durable transaction):
//!
//! ```text
//! DIR/
//!   server.toml          layout version, SHA-256 of the admin token,
//!                        [limits] rate limits, caps and timeouts,
//!                        [log] stderr (echo audit lines to stderr)
//!   tls/cert.pem         self-signed certificate (SANs: localhost,
//!                        127.0.0.1, ::1 and the names given to init)
//!   tls/key.pem          its ECDSA P-256 private key (PKCS#8)
//!   state.db             SQLite (WAL): installed keys (each with this
//!                        server's secret share) and clients (name, token
//!                        SHA-256, grants, revoked, created)
//!   audit.log            one JSON line per authenticated request, one
//!                        summary line a minute for the rest (never a
//!                        token or share)
//!   legacy-v1/           only after migrating a version 1 directory: its
//!                        old keys/ and clients.toml, kept as a backup
//! ```
//!
//! `server.toml` is written last, so its presence marks a complete
//! directory; `init` refuses any directory that already holds one (or a TLS
//! key, a database or a `keys/` directory): keys are never overwritten.
//!
//! Tokens (admin and client) are `slk_` + base64url(32 random bytes) and
//! are stored only as SHA-256 hashes; the admin token is shown once by
//! `init`, a client token once in the create-client answer.

mod audit;
pub mod audit_chain;
mod auth;
mod conn;
mod metrics;
mod ratelimit;
mod routes;
pub mod seal;
mod state;
mod tls;

use std::future::Future;
use std::io::Write;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use auth::{generate_token, hash_token};
/// Fresh PostgreSQL databases for tests (test builds only).
#[cfg(any(test, feature = "testkit"))]
pub use state::test_postgres;
pub use state::{
    backup, BackupReport, ClientChangeError, ClientError, ClientRecord, InstallError,
    InstallOutcome, InstalledKey, Principal, SealReport, State, UnsealError, UnsealOutcome,
};

use crate::protocol::Token;

/// How long a graceful shutdown waits for in-flight requests.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// How long a client gets to finish the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the summary line of unauthenticated requests is written
/// (docs/OPERATIONS.md section 6); also once at shutdown.
const ANONYMOUS_AUDIT_INTERVAL: Duration = Duration::from_secs(60);

/// Errors of the server's life cycle (init, load, serve). Shown to the
/// operator, never to clients.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// `init` on a directory that already holds a server.
    #[error(
        "{} already holds a key-share server; refusing to overwrite its keys \
         (choose another directory)",
        path.display()
    )]
    AlreadyInitialised {
        /// The directory.
        path: PathBuf,
    },
    /// `init` on a non-empty directory that is not a server's.
    #[error(
        "{} is not empty; give `server init` a new or empty directory",
        path.display()
    )]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// `load` on a directory without `server.toml`.
    #[error(
        "{} is not a key-share server directory; create one with \
         `shardlock server init --dir {}`",
        path.display(),
        path.display()
    )]
    NotInitialised {
        /// The directory.
        path: PathBuf,
    },
    /// A state file that does not parse or fails validation.
    #[error("{}: {reason}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file-system operation failed.
    #[error("{context}")]
    Io {
        /// What was being done.
        context: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A certificate name that is neither a DNS name nor an IP address.
    #[error("invalid certificate name {0:?} (use a DNS name or an IP address)")]
    InvalidName(String),
    /// TLS key, certificate or configuration problem.
    #[error("TLS: {0}")]
    Tls(String),
    /// State that could not be serialised.
    #[error("cannot serialise server state: {0}")]
    Serialize(String),
    /// The state database failed.
    #[error("{context}")]
    Database {
        /// What was being done, naming the database.
        context: String,
        /// The database's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// Sealing or unsealing failed.
    #[error(transparent)]
    Seal(#[from] seal::SealError),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}")]
    Bind {
        /// The address asked for.
        addr: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

fn io_error(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let context = context.into();
    move |source| ServerError::Io { context, source }
}

/// What `init` made. The admin token appears only here.
#[derive(Debug)]
pub struct InitReport {
    /// The state directory.
    pub dir: PathBuf,
    /// SHA-256 of the certificate (DER): what clients pin.
    pub fingerprint: [u8; 32],
    /// The admin credential, shown once (stored only hashed).
    pub admin_token: Token,
    /// Names in the certificate.
    pub names: Vec<String>,
    /// The server's long-term identity (docs/FORMAT.md section 8.2).
    pub identity: crate::identity::IdentityPublic,
}

impl InitReport {
    /// The fingerprint as configs spell it: `sha256:<hex>`.
    pub fn fingerprint_text(&self) -> String {
        crate::encoding::format_fingerprint(&self.fingerprint)
    }
}

/// Creates a server state directory: TLS key and self-signed certificate
/// (SANs localhost, 127.0.0.1, ::1 plus `extra_names`), admin credential,
/// empty client list and audit log. Refuses a directory that already holds
/// a server.
///
/// `seal` says how the shares will be sealed at rest ("Sealed shares" in
/// docs/OPERATIONS.md): under a passphrase or key file, or
/// [`seal::SealChoice::Insecure`] for tests and the dev cluster.
pub fn init(
    dir: &Path,
    extra_names: &[String],
    seal: &seal::SealChoice,
) -> Result<InitReport, ServerError> {
    if state::TomlStore::holds_server(dir) {
        return Err(ServerError::AlreadyInitialised {
            path: dir.to_path_buf(),
        });
    }
    // An existing directory must be empty: init makes it private (0700),
    // which must not happen to, say, a home directory given by mistake.
    if dir.exists() {
        let mut entries =
            std::fs::read_dir(dir).map_err(io_error(format!("cannot read {}", dir.display())))?;
        if entries.next().is_some() {
            return Err(ServerError::NotEmpty {
                path: dir.to_path_buf(),
            });
        }
    }
    // Generate before touching the disk: a bad name leaves nothing behind.
    let cert = tls::generate_certificate(extra_names)?;
    if let seal::SealChoice::Secret(secret) = seal {
        secret.check_strength()?;
    }
    let seal_key = seal::SealKey::generate();
    let seal_record = seal::SealRecord::new(&seal_key, seal);
    let admin_token = generate_token();
    state::TomlStore::create(dir, &cert, &hash_token(admin_token.expose()), &seal_record)?;
    let identity = state::create_identity(dir, &seal_key)?;
    let mut names: Vec<String> = tls::DEFAULT_NAMES.iter().map(|s| s.to_string()).collect();
    for name in extra_names {
        let name = name.trim().to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    Ok(InitReport {
        dir: dir.to_path_buf(),
        fingerprint: cert.fingerprint,
        admin_token,
        names,
        identity,
    })
}

/// The SHA-256 fingerprint of the certificate in state directory `dir`,
/// read without opening its database: what `server unseal --dir` pins.
pub fn certificate_fingerprint(dir: &Path) -> Result<[u8; 32], ServerError> {
    let (_, tls) = state::TomlStore::open(dir).load_files()?;
    Ok(tls.fingerprint())
}

/// The HTTP application (without TLS): every route, the body limit and the
/// audit layer. Useful on its own for in-process tests.
pub fn app(state: Arc<State>) -> axum::Router {
    routes::router(state)
}

/// Serves HTTPS on `listener` until `shutdown` completes, then stops
/// accepting, lets in-flight requests finish for up to [`SHUTDOWN_GRACE`],
/// and returns.
pub async fn run(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let config = state.tls_config()?;
    serve(listener, state, config, shutdown).await
}

async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    config: Arc<rustls::ServerConfig>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| "the listener".into());
    listener
        .set_nonblocking(true)
        .map_err(|source| ServerError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let handle = axum_server::Handle::new();
    let trigger = handle.clone();
    let watcher = tokio::spawn(async move {
        shutdown.await;
        trigger.graceful_shutdown(Some(SHUTDOWN_GRACE));
    });
    let summaries = tokio::spawn(write_summaries(Arc::clone(&state)));
    let limits = *state.limiter.limits();
    // Connection cap and idle timeout under TLS, so they also bound
    // connections that never finish a handshake or a TLS record.
    let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(
        axum_server::tls_rustls::RustlsConfig::from_config(config),
    )
    .handshake_timeout(HANDSHAKE_TIMEOUT)
    .acceptor(conn::LimitAcceptor::new(Arc::clone(&state)));
    let mut server = axum_server::from_tcp(listener)
        .acceptor(acceptor)
        .handle(handle);
    // hyper enforces the header timeout only with a timer, and
    // axum-server sets none: without these lines a connection holding
    // half-sent headers stays open forever. hyper starts the clock
    // whenever it waits for a request head, so it also closes idle
    // keep-alive connections after the same time.
    server
        .http_builder()
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    let result = server
        .serve(
            app(Arc::clone(&state)).into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .await;
    watcher.abort();
    summaries.abort();
    // What was tallied since the last interval is not lost at shutdown.
    flush_summary(&state).await;
    result.map_err(|source| ServerError::Bind { addr, source })
}

/// Writes the summary line of unauthenticated requests every
/// [`ANONYMOUS_AUDIT_INTERVAL`], while the server runs.
async fn write_summaries(state: Arc<State>) {
    let mut interval = tokio::time::interval(ANONYMOUS_AUDIT_INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // The first tick is immediate and there is nothing to write yet.
    interval.tick().await;
    loop {
        interval.tick().await;
        flush_summary(&state).await;
    }
}

/// Writes the current summary line, if anything was tallied. Not synced
/// and not fail-closed: these requests were answered without an audit
/// requirement (docs/OPERATIONS.md section 6); a failure is reported on
/// stderr like any audit failure.
async fn flush_summary(state: &Arc<State>) {
    let Some(line) = state.limiter.anonymous.take_line() else {
        return;
    };
    // Reported on stderr by write_line; nothing waits on this line.
    let _ = audit::write_line(state, line, false).await;
}

/// Runs a server for the CLI (`shardlock server run --dir DIR --listen
/// ADDR`): loads the state, binds `listen` (port 0 picks a free port),
/// prints exactly one line `shardlock server listening on https://ADDR` to
/// stdout once ready, logs to stderr, and shuts down gracefully on SIGINT
/// or SIGTERM — and, with `exit_on_stdin_eof`, when stdin reaches end of
/// file, so servers started by a parent process (`dev-cluster`) stop when
/// the parent goes away, however it ends.
///
/// `unseal` opens the seal at start; without it a sealed server serves
/// sealed (health and metrics only) until `server unseal`.
pub fn serve_blocking(
    dir: &Path,
    listen: &str,
    exit_on_stdin_eof: bool,
    unseal: Option<&seal::SealChoice>,
) -> Result<(), ServerError> {
    let state = Arc::new(State::open(dir, unseal)?);
    let config = state.tls_config()?;
    let listener = TcpListener::bind(listen).map_err(|source| ServerError::Bind {
        addr: listen.to_string(),
        source,
    })?;
    let addr = listener
        .local_addr()
        .map_err(io_error("cannot read the bound address"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("shardlock-server")
        .build()
        .map_err(io_error("cannot start the async runtime"))?;
    runtime.block_on(async move {
        let signal = shutdown_signal()?;
        let (eof_tx, eof_rx) = tokio::sync::oneshot::channel::<()>();
        if exit_on_stdin_eof {
            // A plain thread: reading stdin is blocking underneath anyway.
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                let _ = eof_tx.send(());
            });
        }
        let stdin_closed = async move {
            if exit_on_stdin_eof && eof_rx.await.is_ok() {
                eprintln!("shardlock server: stdin closed, shutting down");
                return;
            }
            std::future::pending::<()>().await;
        };
        let shutdown = async move {
            tokio::select! {
                () = signal => {}
                () = stdin_closed => {}
            }
        };
        let serving = if state.is_sealed() {
            "sealed".to_string()
        } else {
            format!("serving {} keyset(s)", state.keyset_ids().len())
        };
        eprintln!(
            "shardlock server: {serving} from {}, certificate {}",
            state.dir().display(),
            crate::encoding::format_fingerprint(&state.fingerprint())
        );
        if state.is_sealed() {
            eprintln!(
                "shardlock server: evaluations are refused until \
                 `shardlock server unseal --server https://{addr} --dir {}`",
                state.dir().display()
            );
        }
        // The one stdout line; dev-cluster and scripts read it for the port.
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "shardlock server listening on https://{addr}")
            .and_then(|()| stdout.flush())
            .map_err(io_error("cannot write to stdout"))?;
        drop(stdout);
        serve(listener, state, config, shutdown).await?;
        eprintln!("shardlock server: stopped");
        Ok(())
    })
}

/// A future that completes on SIGINT or SIGTERM. Installed before the
/// "listening" line so a signal right after it is not lost.
fn shutdown_signal() -> Result<impl Future<Output = ()> + Send + 'static, ServerError> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(io_error("cannot install the SIGTERM handler"))?;
    Ok(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        eprintln!("shardlock server: shutting down (finishing in-flight requests)");
    })
}

#[cfg(test)]
mod tests {
    use super::seal::SealChoice;
    use super::*;

    #[test]
    fn init_refuses_an_existing_server_and_writes_nothing_on_bad_names() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("s");
        let report = init(
            &dir,
            &["keys.example.org".into(), "10.0.0.7".into()],
            &SealChoice::Insecure,
        )
        .unwrap();
        assert!(report.admin_token.expose().starts_with("slk_"));
        assert_eq!(report.fingerprint_text().len(), "sha256:".len() + 64);
        assert!(report.names.contains(&"keys.example.org".to_string()));
        assert!(!format!("{report:?}").contains(report.admin_token.expose()));
        let server_toml = std::fs::read_to_string(dir.join("server.toml")).unwrap();
        assert!(!server_toml.contains(report.admin_token.expose()));
        let key_before = std::fs::read(dir.join("tls/key.pem")).unwrap();
        assert!(matches!(
            init(&dir, &[], &SealChoice::Insecure),
            Err(ServerError::AlreadyInitialised { .. })
        ));
        assert_eq!(std::fs::read(dir.join("tls/key.pem")).unwrap(), key_before);
        let state = State::load(&dir).unwrap();
        assert_eq!(state.fingerprint(), report.fingerprint);

        let other = tmp.path().join("t");
        assert!(matches!(
            init(&other, &["bad name".into()], &SealChoice::Insecure),
            Err(ServerError::InvalidName(_))
        ));
        assert!(!other.exists());
        assert!(matches!(
            State::load(&other),
            Err(ServerError::NotInitialised { .. })
        ));

        // An existing empty directory is fine; a non-empty one is refused.
        let empty = tmp.path().join("empty");
        std::fs::create_dir(&empty).unwrap();
        init(&empty, &[], &SealChoice::Insecure).unwrap();
        let busy = tmp.path().join("busy");
        std::fs::create_dir(&busy).unwrap();
        std::fs::write(busy.join("notes.txt"), b"x").unwrap();
        assert!(matches!(
            init(&busy, &[], &SealChoice::Insecure),
            Err(ServerError::NotEmpty { .. })
        ));
        assert!(!busy.join("server.toml").exists());
    }
}
