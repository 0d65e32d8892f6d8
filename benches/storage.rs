//! Key-share server cost against the number of clients (issue #7): the
//! time of one admin "create client" request and of one evaluate request
//! (a batch of one element, so the lookup is not hidden behind the group
//! arithmetic), both over real HTTPS on loopback, at 1,000, 100,000 and
//! 1,000,000 clients in the embedded SQLite store. Each figure is reported
//! as a ratio against the 1,000-client figure of the same run.
//!
//! The state directory lives under `target/bench-storage` on the real disk
//! (every admin add is an fsynced transaction). Clients beyond the measured
//! ones are bulk-imported in one transaction. Run with
//! `cargo bench --bench storage`; `SHARDLOCK_BENCH_CLIENTS=1000,100000`
//! changes the sizes, `SHARDLOCK_BENCH_DIR` the directory.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::RistrettoPoint;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use shardlock::client::http::{AdminClient, HttpKeyService, HttpOptions};
use shardlock::client::ServerEndpoint;
use shardlock::protocol::{CreateClientRequest, InstallShareRequest, Token};
use shardlock::server::{self, ClientRecord, State};
use shardlock::threshold::kem::{deal, KeyService};

const ADDS: usize = 200;
const EVALUATIONS: usize = 300;

struct Figures {
    clients: usize,
    seed: Duration,
    add: Duration,
    evaluate: Duration,
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let sizes: Vec<usize> = std::env::var("SHARDLOCK_BENCH_CLIENTS")
        .unwrap_or_else(|_| "1000,100000,1000000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let root = std::env::var_os("SHARDLOCK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-storage"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let mut results = Vec::new();
    for &clients in &sizes {
        let dir = root.join(format!("clients-{clients}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&root).expect("bench dir");
        results.push(measure(&rt, &dir, clients));
        let _ = std::fs::remove_dir_all(&dir);
    }
    let base = &results[0];
    println!(
        "{:>10}  {:>9}  {:>14}  {:>9}  {:>19}  {:>9}",
        "clients", "seed s", "admin add ms", "vs first", "evaluate(1) ms", "vs first"
    );
    for r in &results {
        println!(
            "{:>10}  {:>9.1}  {:>14.3}  {:>8.2}x  {:>19.3}  {:>8.2}x",
            r.clients,
            r.seed.as_secs_f64(),
            ms(r.add),
            r.add.as_secs_f64() / base.add.as_secs_f64(),
            ms(r.evaluate),
            r.evaluate.as_secs_f64() / base.evaluate.as_secs_f64(),
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn measure(rt: &tokio::runtime::Runtime, dir: &std::path::Path, clients: usize) -> Figures {
    let report =
        server::init(dir, &[], &shardlock::server::seal::SealChoice::Insecure).expect("init");
    // No rate limit in the way of a benchmark.
    let settings = dir.join("server.toml");
    let text = std::fs::read_to_string(&settings).expect("server.toml");
    let mut table: toml::Table = text.parse().expect("server.toml");
    if let Some(limits) = table.get_mut("limits").and_then(toml::Value::as_table_mut) {
        limits.insert("evaluate_per_second".into(), toml::Value::Float(1e9));
        limits.insert("evaluate_burst".into(), toml::Value::Integer(1_000_000_000));
        limits.insert(
            "evaluate_elements_per_second".into(),
            toml::Value::Float(1e9),
        );
        limits.insert(
            "evaluate_elements_burst".into(),
            toml::Value::Integer(1_000_000_000),
        );
    }
    if let Some(log) = table.get_mut("log").and_then(toml::Value::as_table_mut) {
        log.insert("stderr".into(), toml::Value::Boolean(false));
    }
    std::fs::write(&settings, toml::to_string(&table).expect("toml")).expect("write");
    let state = Arc::new(State::load(dir).expect("load"));

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = rt.spawn(server::run(listener, Arc::clone(&state), async move {
        let _ = stopped.await;
    }));
    let options = HttpOptions::default();
    let admin = AdminClient::new(
        &url,
        Some(report.fingerprint),
        report.admin_token.clone(),
        &options,
    )
    .expect("admin");
    let (keyset, shares) = deal(1, &[1], &mut OsRng).expect("deal");
    let keyset_id = shardlock::encoding::hex(keyset.id());
    admin
        .install_share(&keyset_id, &InstallShareRequest::new(&keyset, &shares[0]))
        .expect("install");

    // Everyone but the measured adds, in one transaction.
    let seeded = clients.saturating_sub(ADDS);
    let started = Instant::now();
    let records: Vec<ClientRecord> = (0..seeded)
        .map(|i| ClientRecord {
            name: format!("seeded-{i}"),
            token_sha256: Sha256::digest(seed_token(i).as_bytes()).into(),
            keysets: vec![keyset_id.clone()],
            revoked: false,
            created: "2026-12-01T00:00:00Z".into(),
        })
        .collect();
    state.import_clients(&records).expect("import");
    let seed = started.elapsed();
    drop(records);

    let started = Instant::now();
    for i in 0..ADDS {
        admin
            .create_client(&CreateClientRequest {
                name: format!("added-{i}"),
                keysets: vec![keyset_id.clone()],
            })
            .expect("create client");
    }
    let add = started.elapsed() / ADDS as u32;

    // A seeded client from the middle of the table evaluates.
    let token = Token::new(seed_token(seeded / 2));
    let service = HttpKeyService::new(
        vec![ServerEndpoint {
            participant: 1,
            url: url.clone(),
            fingerprint: Some(report.fingerprint),
            token: Some(token),
        }],
        options,
    )
    .expect("service");
    let element = [RistrettoPoint::random(&mut OsRng)];
    // Warm the connection and the statement cache.
    service.evaluate(&keyset, &[1], &element)[0]
        .as_ref()
        .expect("evaluate");
    let started = Instant::now();
    for _ in 0..EVALUATIONS {
        service.evaluate(&keyset, &[1], &element)[0]
            .as_ref()
            .expect("evaluate");
    }
    let evaluate = started.elapsed() / EVALUATIONS as u32;

    let _ = stop.send(());
    let _ = rt.block_on(task);
    Figures {
        clients,
        seed,
        add,
        evaluate,
    }
}

fn seed_token(i: usize) -> String {
    format!("slk_bench-client-{i:08}")
}
