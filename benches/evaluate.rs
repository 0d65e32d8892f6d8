//! Key-share server throughput against the number of installed keysets
//! (issue #7): blinded elements evaluated per second, and per second of
//! the server's own CPU time, with 64 concurrent clients against one
//! server holding 1 and 100,000 keysets. The 100,000-keyset figures are
//! reported as ratios against the 1-keyset figures of the same run.
//!
//! Everything is real: every keyset is dealt (2-of-3) and its share
//! installed through the install check, sealed in the store; each of the
//! 64 clients has its own token, granted one keyset (spread over the
//! installed ones, so requests look up different keys), its own HTTPS
//! connection on loopback, and verifies the DLEQ proof of every answer.
//!
//! "Per core": the server runs in-process on a tokio runtime with one
//! worker thread and a blocking pool of one thread, both named, so its CPU
//! time is the sum of those two threads' utime + stime in
//! /proc/self/task/*/stat. Clients (and their proof checks) run on other
//! threads and are not counted; on a 2-core machine they compete with the
//! server for the cores, so elements/s depends on the machine while
//! elements per server CPU-second does not (much).
//!
//! The state directory is `target/bench-evaluate` on the real disk by
//! default, so the audit line fsynced for every evaluation costs what it
//! costs there; `SHARDLOCK_BENCH_DIR=/dev/shm/x` puts it on tmpfs. Run
//! with `cargo bench --bench evaluate`; `SHARDLOCK_BENCH_KEYSETS=1,1000`
//! changes the keyset counts, `SHARDLOCK_BENCH_BATCHES=1,64,1024` the
//! batch sizes, `SHARDLOCK_BENCH_SECS=5` the seconds per case.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::RistrettoPoint;
use rand::rngs::OsRng;
use shardlock::client::http::{HttpKeyService, HttpOptions};
use shardlock::client::ServerEndpoint;
use shardlock::protocol::Token;
use shardlock::server::{self, generate_token, hash_token, ClientRecord, InstalledKey, State};
use shardlock::threshold::kem::{deal, KeyService, PublicKeyset, MAX_BATCH};
use shardlock::threshold::voprf::{blind_evaluate_batch, verify_proof};

/// Concurrent clients, each with its own token and connection.
const CLIENTS: usize = 64;
/// Names the server runtime's threads (at most 15 bytes: the kernel's
/// thread name length), so their CPU time can be told from the clients'.
const SERVER_THREAD: &str = "slk-bench-srv";
/// Linux reports thread CPU times in /proc in USER_HZ ticks, which is 100
/// on every architecture Rust supports there (it is part of the ABI,
/// independent of the kernel's internal HZ).
const USER_HZ: f64 = 100.0;

struct Case {
    keysets: usize,
    batch: usize,
    requests: u64,
    elements: u64,
    failures: u64,
    wall: Duration,
    server_cpu: Duration,
}

impl Case {
    fn elements_per_second(&self) -> f64 {
        self.elements as f64 / self.wall.as_secs_f64()
    }

    fn elements_per_cpu_second(&self) -> f64 {
        self.elements as f64 / self.server_cpu.as_secs_f64().max(1e-9)
    }
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let keyset_counts = list("SHARDLOCK_BENCH_KEYSETS", "1,100000");
    let batches = list("SHARDLOCK_BENCH_BATCHES", "1,64,1024");
    let secs: f64 = std::env::var("SHARDLOCK_BENCH_SECS")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(5.0);
    let root = std::env::var_os("SHARDLOCK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-evaluate"));
    std::fs::create_dir_all(&root).expect("bench dir");
    let root = root.canonicalize().expect("bench dir");
    println!(
        "{CLIENTS} clients, {secs} s per case, state under {}",
        root.display()
    );

    // One worker and one blocking thread: the server gets about one core.
    // The blocking thread is kept however long it idles, so its CPU time is
    // never lost with an exited thread between two readings.
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(1)
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .thread_name(SERVER_THREAD)
        .enable_all()
        .build()
        .expect("runtime");

    // Every server is set up first and the cases interleaved (each batch
    // size against every server in turn), so a change in what else the
    // machine runs hits both sides of a ratio alike.
    let servers: Vec<Server> = keyset_counts
        .iter()
        .map(|&keysets| Server::start(&rt, &root.join(format!("keysets-{keysets}")), keysets))
        .collect();
    println!(
        "in-process blind_evaluate_batch of {MAX_BATCH}, one core, now: {:.0} elements/s",
        bare_evaluation()
    );
    let mut cases = Vec::new();
    for &batch in &batches {
        for server in &servers {
            let case = run_case(server, batch, secs);
            println!(
                "  {:>6} keysets, batch {batch:>4}: {:.0} elements/s, {:.0} per server CPU-second",
                server.keysets,
                case.elements_per_second(),
                case.elements_per_cpu_second()
            );
            cases.push(case);
        }
    }
    for server in servers {
        server.stop(&rt);
    }
    cases.sort_by_key(|c| (keyset_counts.iter().position(|&k| k == c.keysets), c.batch));

    println!();
    println!(
        "{:>8}  {:>5}  {:>10}  {:>11}  {:>10}  {:>15}  {:>10}  {:>12}",
        "keysets",
        "batch",
        "requests/s",
        "elements/s",
        "server CPU",
        "el/server-CPU-s",
        "el/s ratio",
        "el/CPU ratio"
    );
    for case in &cases {
        let base = cases
            .iter()
            .find(|c| c.batch == case.batch)
            .expect("a first case of this batch size");
        println!(
            "{:>8}  {:>5}  {:>10.0}  {:>11.0}  {:>9.2}c  {:>15.0}  {:>9.3}x  {:>11.3}x{}",
            case.keysets,
            case.batch,
            case.requests as f64 / case.wall.as_secs_f64(),
            case.elements_per_second(),
            case.server_cpu.as_secs_f64() / case.wall.as_secs_f64(),
            case.elements_per_cpu_second(),
            case.elements_per_second() / base.elements_per_second(),
            case.elements_per_cpu_second() / base.elements_per_cpu_second(),
            if case.failures > 0 {
                format!("  ({} failed requests)", case.failures)
            } else {
                String::new()
            }
        );
    }
    println!(
        "server CPU: cores' worth used by the server's two threads (1 worker + 1 blocking); \
         ratios against the {}-keyset case of the same batch size",
        keyset_counts.first().copied().unwrap_or(0)
    );
}

/// A comma-separated list of sizes from `var`, or `default`.
fn list(var: &str, default: &str) -> Vec<usize> {
    let sizes: Vec<usize> = std::env::var(var)
        .unwrap_or_else(|_| default.into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .filter(|&n| n > 0)
        .collect();
    assert!(
        !sizes.is_empty(),
        "{var}: give positive sizes, e.g. {default}"
    );
    sizes
}

/// The server of one case: a state directory with `keysets` keysets and
/// 64 clients, served on loopback.
struct Server {
    keysets: usize,
    dir: PathBuf,
    url: String,
    fingerprint: [u8; 32],
    tokens: Vec<Token>,
    /// The keyset each client is granted, in the order of `tokens`.
    granted: Vec<PublicKeyset>,
    shutdown: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), server::ServerError>>,
}

impl Server {
    fn start(rt: &tokio::runtime::Runtime, dir: &Path, keysets: usize) -> Self {
        let _ = std::fs::remove_dir_all(dir);
        let report =
            server::init(dir, &[], &shardlock::server::seal::SealChoice::Insecure).expect("init");
        raise_limits(dir);
        let state = Arc::new(State::load(dir).expect("load"));

        let started = Instant::now();
        let (public, keys) = deal_keysets(keysets);
        let dealt = started.elapsed();
        let started = Instant::now();
        state.import_keys(keys).expect("import keys");
        let imported = started.elapsed();
        assert_eq!(state.keyset_ids().len(), keysets);

        // Client i is granted keyset i·K/64: with K >= 64 every client
        // asks under a different key, spread over the whole table.
        let tokens: Vec<Token> = (0..CLIENTS).map(|_| generate_token()).collect();
        let granted: Vec<PublicKeyset> = (0..CLIENTS)
            .map(|i| public[i * keysets / CLIENTS].clone())
            .collect();
        drop(public);
        let records: Vec<ClientRecord> = tokens
            .iter()
            .zip(&granted)
            .enumerate()
            .map(|(i, (token, keyset))| ClientRecord {
                name: format!("bench-{i}"),
                token_sha256: hash_token(token.expose()),
                keysets: vec![shardlock::encoding::hex(keyset.id())],
                revoked: false,
                created: "2026-12-01T00:00:00Z".into(),
            })
            .collect();
        state.import_clients(&records).expect("import clients");
        println!(
            "{keysets} keysets: dealt and validated in {:.1} s, sealed and stored in {:.1} s",
            dealt.as_secs_f64(),
            imported.as_secs_f64()
        );

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("https://{}", listener.local_addr().expect("addr"));
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = rt.spawn(server::run(listener, state, async move {
            let _ = stopped.await;
        }));
        Self {
            keysets,
            dir: dir.to_path_buf(),
            url,
            fingerprint: report.fingerprint,
            tokens,
            granted,
            shutdown,
            task,
        }
    }

    fn stop(self, rt: &tokio::runtime::Runtime) {
        let _ = self.shutdown.send(());
        rt.block_on(self.task)
            .expect("server task")
            .expect("server ended with an error");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The server's evaluation alone, without HTTP, TLS, JSON or the audit
/// log, on this thread: what the figures above are to be compared with.
fn bare_evaluation() -> f64 {
    let (_, shares) = deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
    let blinded: Vec<RistrettoPoint> = (0..MAX_BATCH)
        .map(|_| RistrettoPoint::random(&mut OsRng))
        .collect();
    let best = (0..5)
        .map(|_| {
            let started = Instant::now();
            blind_evaluate_batch(
                shares[0].value(),
                &shares[0].public_share(),
                &blinded,
                &mut OsRng,
            )
            .expect("evaluate");
            started.elapsed()
        })
        .min()
        .unwrap_or_default();
    MAX_BATCH as f64 / best.as_secs_f64()
}

/// No rate limit or cap in the way of 64 clients; audit lines to the file
/// only.
fn raise_limits(dir: &Path) {
    let settings = dir.join("server.toml");
    let text = std::fs::read_to_string(&settings).expect("server.toml");
    let mut table: toml::Table = text.parse().expect("server.toml");
    let limits = table
        .get_mut("limits")
        .and_then(toml::Value::as_table_mut)
        .expect("[limits]");
    for (key, value) in [
        ("evaluate_per_second", toml::Value::Float(1e9)),
        ("evaluate_burst", toml::Value::Integer(1_000_000_000)),
        ("evaluate_elements_per_second", toml::Value::Float(1e9)),
        (
            "evaluate_elements_burst",
            toml::Value::Integer(1_000_000_000),
        ),
        ("max_inflight_evaluations", toml::Value::Integer(4096)),
    ] {
        limits.insert(key.into(), value);
    }
    if let Some(log) = table.get_mut("log").and_then(toml::Value::as_table_mut) {
        log.insert("stderr".into(), toml::Value::Boolean(false));
    }
    std::fs::write(&settings, toml::to_string(&table).expect("toml")).expect("write");
}

/// `count` freshly dealt 2-of-3 keysets and participant 1's share of each,
/// validated as an install would, dealt on every core (the server is not
/// running yet).
fn deal_keysets(count: usize) -> (Vec<PublicKeyset>, Vec<InstalledKey>) {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per_thread = count.div_ceil(threads);
    let parts: Vec<Vec<(PublicKeyset, InstalledKey)>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let n = per_thread.min(count.saturating_sub(t * per_thread));
                scope.spawn(move || {
                    (0..n)
                        .map(|_| {
                            let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
                            let key = InstalledKey::from_share(&keyset, &shares[0])
                                .expect("a dealt share installs");
                            (keyset, key)
                        })
                        .collect()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("dealer"))
            .collect()
    });
    parts.into_iter().flatten().unzip()
}

/// 64 clients evaluating batches of `batch` against `server` for `secs`
/// seconds.
fn run_case(server: &Server, batch: usize, secs: f64) -> Case {
    let (url, fingerprint, tokens, granted, keysets) = (
        server.url.as_str(),
        server.fingerprint,
        &server.tokens,
        &server.granted,
        server.keysets,
    );
    let stop = AtomicBool::new(false);
    let requests = AtomicU64::new(0);
    let elements = AtomicU64::new(0);
    let failures = AtomicU64::new(0);
    let first_failure: Mutex<Option<String>> = Mutex::new(None);
    // The clients and this thread: timing starts once every client has a
    // warm connection (TLS handshakes are not what is measured).
    let ready = Barrier::new(tokens.len() + 1);
    let (wall, server_cpu) = std::thread::scope(|scope| {
        let mut clients = Vec::with_capacity(tokens.len());
        for (token, keyset) in tokens.iter().zip(granted) {
            let (stop, requests, elements, failures, first_failure, ready) = (
                &stop,
                &requests,
                &elements,
                &failures,
                &first_failure,
                &ready,
            );
            clients.push(scope.spawn(move || {
                let service = HttpKeyService::new(
                    vec![ServerEndpoint {
                        participant: 1,
                        url: url.to_string(),
                        fingerprint: Some(fingerprint),
                        token: Some(token.clone()),
                    }],
                    HttpOptions::default(),
                )
                .expect("service");
                // The server cannot tell these from blinded inputs; drawing
                // them once keeps the clients' CPU for the proof checks.
                let blinded: Vec<RistrettoPoint> = (0..batch)
                    .map(|_| RistrettoPoint::random(&mut OsRng))
                    .collect();
                let public_share = *keyset.public_share(1).expect("participant 1");
                let ask = || -> Result<(), String> {
                    let evaluation = service
                        .evaluate(keyset, &[1], &blinded)
                        .pop()
                        .expect("one answer")
                        .map_err(|e| e.to_string())?;
                    verify_proof(
                        &public_share,
                        &blinded,
                        &evaluation.evaluated,
                        &evaluation.proof,
                    )
                    .map_err(|e| format!("proof does not verify: {e}"))
                };
                ask().expect("warm-up evaluation");
                ready.wait();
                while !stop.load(Ordering::Relaxed) {
                    match ask() {
                        Ok(()) => {
                            requests.fetch_add(1, Ordering::Relaxed);
                            elements.fetch_add(batch as u64, Ordering::Relaxed);
                        }
                        Err(e) => {
                            failures.fetch_add(1, Ordering::Relaxed);
                            first_failure
                                .lock()
                                .unwrap_or_else(std::sync::PoisonError::into_inner)
                                .get_or_insert(e);
                        }
                    }
                }
            }));
        }
        ready.wait();
        let cpu = server_cpu();
        let started = Instant::now();
        std::thread::sleep(Duration::from_secs_f64(secs));
        stop.store(true, Ordering::Relaxed);
        // Requests in flight finish and count: the server stays busy until
        // its queue drains, so the elapsed time includes them too.
        for client in clients {
            client.join().expect("client thread");
        }
        (started.elapsed(), server_cpu().saturating_sub(cpu))
    });
    if let Some(e) = first_failure.into_inner().unwrap_or(None) {
        eprintln!("  {keysets} keysets, batch {batch}: first failure: {e}");
    }
    Case {
        keysets,
        batch,
        requests: requests.into_inner(),
        elements: elements.into_inner(),
        failures: failures.into_inner(),
        wall,
        server_cpu,
    }
}

/// User and system CPU time of the server runtime's threads so far.
fn server_cpu() -> Duration {
    let mut ticks = 0u64;
    let tasks = std::fs::read_dir("/proc/self/task").expect("/proc/self/task (Linux only)");
    for task in tasks.filter_map(Result::ok) {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue; // the thread ended meanwhile
        };
        // `tid (comm) state ...`: comm may hold spaces and parentheses, so
        // it ends at the last ')'.
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        if !stat[open + 1..close].starts_with(SERVER_THREAD) {
            continue;
        }
        // After comm: field 3 (state) is index 0, so utime (14) and
        // stime (15) are indices 11 and 12.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        for index in [11, 12] {
            ticks += fields
                .get(index)
                .and_then(|f| f.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    Duration::from_secs_f64(ticks as f64 / USER_HZ)
}
