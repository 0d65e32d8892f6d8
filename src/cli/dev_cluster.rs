//! `shardlock dev-cluster`: a t-of-n cluster of real key-share servers on
//! loopback, each its own process with its own TLS certificate, plus a
//! keyset and a ready-to-use config. For trying shardlock and for tests.
//!
//! Layout of DIR: `nodeK/` (server state, `pid`, `admin-token`,
//! `server.log`) for K = 1..=N, and `config.toml` whose default keyset
//! "dev" spans all nodes. Rerunning on the same DIR restarts the same nodes
//! on the same ports with the same keyset.

use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context, Result};

use super::args::DevClusterArgs;
use super::progress::Terminal;
use super::settings::{Settings, UsageError};
use shardlock::client::config::Config;
use shardlock::client::lifecycle::{AdminTokens, Change, RoundRequest, ServerArg};
use shardlock::client::{Options, Reporter, Session};
use shardlock::protocol::Token;
use shardlock::server;

/// Keyset name in the generated config.
pub const KEYSET_NAME: &str = "dev";
/// How long a node may take to print its listening line.
const START_TIMEOUT: Duration = Duration::from_secs(20);
/// How long nodes get to finish in-flight requests when stopped.
const STOP_TIMEOUT: Duration = Duration::from_secs(5);

/// One running node.
#[derive(Debug)]
struct Node {
    dir: PathBuf,
    url: String,
    child: Child,
    /// The node exits gracefully when this is closed.
    stdin: Option<ChildStdin>,
}

/// A running local cluster. Dropping it stops every node.
#[derive(Debug)]
pub struct DevCluster {
    dir: PathBuf,
    nodes: Vec<Option<Node>>,
}

impl DevCluster {
    /// Provisions DIR (or reuses an earlier provisioning) and starts every
    /// node, returning once all serve and the config is written.
    pub fn start(dir: &Path, nodes: u16, threshold: u16, reporter: &dyn Reporter) -> Result<Self> {
        if nodes == 0 || threshold == 0 || threshold > nodes {
            bail!(UsageError::new(format!(
                "need 1 <= threshold <= nodes (got threshold {threshold}, nodes {nodes})"
            )));
        }
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let config_path = dir.join("config.toml");
        let existing = if config_path.exists() {
            Some(Config::load(&config_path)?)
        } else {
            None
        };
        let mut cluster = DevCluster {
            dir: dir.to_path_buf(),
            nodes: Vec::new(),
        };
        let mut targets = Vec::new();
        for k in 1..=nodes {
            let node_dir = dir.join(format!("node{k}"));
            let admin_path = node_dir.join("admin-token");
            let admin_token = if node_dir.join("server.toml").exists() {
                Token::new(
                    fs::read_to_string(&admin_path)
                        .with_context(|| format!("cannot read {}", admin_path.display()))?
                        .trim()
                        .to_string(),
                )
            } else {
                // Throwaway local nodes: no passphrase to type at every start.
                let report = server::init(&node_dir, &[], &server::seal::SealChoice::Insecure)?;
                write_private(&admin_path, report.admin_token.expose())?;
                report.admin_token
            };
            // Same port as last time, so an existing config stays valid.
            let port = existing
                .as_ref()
                .and_then(|c| c.entry(KEYSET_NAME))
                .and_then(|e| {
                    e.servers()
                        .iter()
                        .find(|s| s.participant == k)
                        .map(|s| s.url.clone())
                })
                .and_then(|url| url.rsplit(':').next().and_then(|p| p.parse::<u16>().ok()))
                .unwrap_or(0);
            let node = spawn_node(&node_dir, port)?;
            reporter.note(&format!("node{k} serving on {}", node.url));
            let fingerprint = server::certificate_fingerprint(&node_dir)?;
            targets.push((
                ServerArg {
                    url: node.url.clone(),
                    fingerprint: Some(fingerprint),
                },
                admin_token,
            ));
            cluster.nodes.push(Some(node));
        }

        if existing
            .as_ref()
            .and_then(|c| c.entry(KEYSET_NAME))
            .is_none()
        {
            // Distributed key generation, as for any keyset: no process,
            // this one included, ever holds the key.
            let tokens = AdminTokens::new(
                targets
                    .iter()
                    .map(|(arg, token)| (arg.url.clone(), token.clone()))
                    .collect(),
            );
            let session = Session::new(Some(config_path.clone()), Options::default());
            session.start_round(
                &RoundRequest {
                    keyset: KEYSET_NAME.into(),
                    change: Change::Create {
                        threshold,
                        servers: targets.into_iter().map(|(arg, _)| arg).collect(),
                        make_default: true,
                    },
                    client_name: Some("dev-client".into()),
                },
                &tokens,
                reporter,
            )?;
        }
        Ok(cluster)
    }

    /// The generated client config.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// Base URLs of the nodes, in participant order.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().flatten().map(|n| n.url.clone()).collect()
    }

    /// Stops node `k` (1-based), as an operator or a crash would.
    pub fn stop_node(&mut self, k: usize) {
        if let Some(slot) = self.nodes.get_mut(k.wrapping_sub(1)) {
            if let Some(node) = slot.take() {
                stop(node);
            }
        }
    }
}

impl Drop for DevCluster {
    fn drop(&mut self) {
        // Close every stdin first so the nodes shut down in parallel.
        for node in self.nodes.iter_mut().flatten() {
            node.stdin.take();
        }
        for node in self.nodes.drain(..).flatten() {
            stop(node);
        }
    }
}

fn stop(mut node: Node) {
    node.stdin.take();
    let deadline = Instant::now() + STOP_TIMEOUT;
    loop {
        match node.child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            _ => {
                let _ = node.child.kill();
                let _ = node.child.wait();
                break;
            }
        }
    }
    let _ = fs::remove_file(node.dir.join("pid"));
}

/// Starts `shardlock server run` for `dir` as a child process and waits for
/// its "listening on" line. The node's stdin is a pipe held by this
/// process: if dev-cluster dies, even by SIGKILL, the pipe closes and the
/// node shuts itself down.
fn spawn_node(dir: &Path, port: u16) -> Result<Node> {
    let exe = std::env::current_exe().context("cannot find the shardlock executable")?;
    let log = private_file(&dir.join("server.log"))
        .with_context(|| format!("cannot create a log in {}", dir.display()))?;
    let mut child = Command::new(exe)
        .arg("server")
        .arg("run")
        .arg("--dir")
        .arg(dir)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--exit-on-stdin-eof")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()
        .context("cannot start a key-share server process")?;
    let stdin = child.stdin.take();
    let stdout = child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no stdout from the server process"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(START_TIMEOUT).unwrap_or_default();
    let url = line
        .trim()
        .strip_prefix("shardlock server listening on ")
        .map(str::to_string);
    let Some(url) = url else {
        let _ = child.kill();
        let _ = child.wait();
        let log = fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        bail!(
            "the key-share server in {} did not start: {}",
            dir.display(),
            log.lines().last().unwrap_or("no output")
        );
    };
    write_private(&dir.join("pid"), &child.id().to_string())?;
    Ok(Node {
        dir: dir.to_path_buf(),
        url,
        child,
        stdin,
    })
}

/// Creates (or truncates) a file only its owner can read: node logs and
/// admin tokens.
fn private_file(path: &Path) -> Result<File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_private(path: &Path, text: &str) -> Result<()> {
    writeln!(private_file(path)?, "{text}")
        .with_context(|| format!("cannot write {}", path.display()))
}

pub fn run(settings: &Settings, args: &DevClusterArgs) -> Result<()> {
    let cluster = DevCluster::start(
        &args.dir,
        args.nodes,
        args.threshold,
        &Terminal::plain(settings),
    )?;
    let config = cluster.config_path();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the signal handler")?;
    runtime.block_on(async {
        // Handlers first, "ready" second: a signal sent the moment a
        // script sees "ready" must still stop the nodes cleanly.
        let mut signals = Signals::install()?;
        // Ignore a closed stdout: whoever started us may stop reading.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(
            out,
            "shardlock dev-cluster ready: {} nodes, threshold {}, keyset {KEYSET_NAME}, config {}",
            args.nodes,
            args.threshold,
            config.display()
        );
        let _ = writeln!(out, "  try: export SHARDLOCK_CONFIG={}", config.display());
        let _ = writeln!(out, "  stop with Ctrl-C");
        let _ = out.flush();
        drop(out);
        signals.wait().await;
        anyhow::Ok(())
    })?;
    settings.note("dev-cluster: stopping nodes");
    drop(cluster);
    Ok(())
}

/// SIGINT and SIGTERM, registered when installed (not when first awaited).
struct Signals {
    interrupt: tokio::signal::unix::Signal,
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    fn install() -> Result<Self> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(Self {
            interrupt: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            terminate: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
        })
    }

    async fn wait(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
    }
}
