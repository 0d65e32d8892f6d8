//! Key lifecycle rounds for a 3-of-5 keyset on loopback (issue #8): wall
//! time of create (distributed key generation), refresh, repair and
//! reshare, each with the client↔server round trips it took, so the cost
//! over a WAN is about round trips × RTT plus the times here. The
//! baseline, measured in the same run, is `keyset create --dealer` (the
//! trusted dealer: install one share per server, one round trip each).
//!
//! Everything is real: seven key-share servers (state directories made by
//! `server::init`, SQLite on the real disk under `target/bench-lifecycle`
//! unless `SHARDLOCK_BENCH_DIR` says otherwise), real TLS on 127.0.0.1,
//! the coordinator exactly as `shardlock keyset ...` runs it, its journal
//! and config on disk. Every round is repeated `SHARDLOCK_BENCH_ROUNDS`
//! times (default 5) on fresh keysets and the median is reported.
//! Run with `cargo bench --bench lifecycle`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use shardlock::client::admin::{CreateKeyset, DealTarget};
use shardlock::client::lifecycle::{AdminTokens, Change, RoundRequest, ServerArg};
use shardlock::client::{Options, QuietReporter, Session};
use shardlock::protocol::Token;
use shardlock::server::seal::SealChoice;
use shardlock::server::{self, State};

struct Node {
    url: String,
    fingerprint: [u8; 32],
    admin: Token,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), shardlock::server::ServerError>>>,
}

fn start(rt: &tokio::runtime::Runtime, dir: &Path) -> Node {
    let _ = std::fs::remove_dir_all(dir);
    let report = server::init(dir, &[], &SealChoice::Insecure).expect("init");
    let path = dir.join("server.toml");
    let text = std::fs::read_to_string(&path).expect("server.toml");
    std::fs::write(&path, text.replace("stderr = true", "stderr = false")).expect("server.toml");
    let state = Arc::new(State::load(dir).expect("load"));
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = rt.spawn(server::run(listener, state, async move {
        let _ = rx.await;
    }));
    Node {
        url,
        fingerprint: report.fingerprint,
        admin: report.admin_token,
        shutdown: Some(tx),
        task: Some(task),
    }
}

fn arg(node: &Node) -> ServerArg {
    ServerArg {
        url: node.url.clone(),
        fingerprint: Some(node.fingerprint),
    }
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    if std::env::args().any(|a| a == "--test" || a == "--list") {
        return;
    }
    let rounds: usize = std::env::var("SHARDLOCK_BENCH_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let root = std::env::var_os("SHARDLOCK_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/bench-lifecycle"));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let mut nodes: Vec<Node> = (0..7)
        .map(|i| start(&rt, &root.join(format!("node{i}"))))
        .collect();
    let tokens = AdminTokens::new(
        nodes
            .iter()
            .map(|n| (n.url.clone(), n.admin.clone()))
            .collect(),
    );
    let config = root.join("client/config.toml");
    let _ = std::fs::remove_dir_all(root.join("client"));
    let session = Session::new(Some(config.clone()), Options::default());
    let first5: Vec<ServerArg> = nodes[..5].iter().map(arg).collect();

    let mut dealer = Vec::new();
    let mut create = Vec::new();
    let mut refresh = Vec::new();
    let mut repair = Vec::new();
    let mut reshare = Vec::new();
    let mut trips = [0usize; 4];
    for round in 0..rounds {
        // Baseline: the trusted dealer.
        let name = format!("dealt{round}");
        let started = Instant::now();
        session
            .create_keyset(
                &CreateKeyset {
                    name,
                    threshold: 3,
                    servers: nodes[..5]
                        .iter()
                        .map(|n| DealTarget {
                            url: n.url.clone(),
                            fingerprint: Some(n.fingerprint),
                            admin_token: n.admin.clone(),
                        })
                        .collect(),
                    client_name: None,
                    make_default: false,
                },
                &QuietReporter,
            )
            .expect("dealer create");
        dealer.push(started.elapsed());

        let name = format!("dkg{round}");
        let timed = |change: Change| {
            let started = Instant::now();
            let report = session
                .start_round(
                    &RoundRequest {
                        keyset: name.clone(),
                        change,
                        client_name: None,
                    },
                    &tokens,
                    &QuietReporter,
                )
                .expect("round");
            (started.elapsed(), report.round_trips)
        };
        let (t, n) = timed(Change::Create {
            threshold: 3,
            servers: first5.clone(),
            make_default: false,
        });
        create.push(t);
        trips[0] = n;
        let (t, n) = timed(Change::Refresh);
        refresh.push(t);
        trips[1] = n;
        // Participant 5's server replaced by server 6, then back again
        // (so every round starts from the same five servers).
        let (t, n) = timed(Change::Repair {
            participant: 5,
            server: arg(&nodes[5]),
        });
        repair.push(t);
        trips[2] = n;
        // 3-of-5 to 3-of-5 with two servers replaced (4 and 6 by 5 and 7).
        let (t, n) = timed(Change::Reshare {
            threshold: 3,
            servers: [0, 1, 2, 4, 6].iter().map(|&i| arg(&nodes[i])).collect(),
        });
        reshare.push(t);
        trips[3] = n;
    }
    let base = median(dealer);
    println!(
        "key lifecycle, 3-of-5 on loopback, median of {rounds} rounds (state on {})",
        root.display()
    );
    println!(
        "{:<28} {:>10} {:>12} {:>18}",
        "operation", "wall", "round trips", "vs dealer create"
    );
    println!(
        "{:<28} {:>10.1?} {:>12} {:>17.2}x",
        "create --dealer (baseline)", base, "20 serial", 1.0
    );
    for (label, times, n) in [
        ("create (DKG)", create, trips[0]),
        ("refresh", refresh, trips[1]),
        ("repair (one server)", repair, trips[2]),
        ("reshare (two servers)", reshare, trips[3]),
    ] {
        let m = median(times);
        println!(
            "{label:<28} {m:>10.1?} {n:>12} {:>17.2}x",
            m.as_secs_f64() / base.as_secs_f64()
        );
    }
    println!(
        "round trips: identity check, deal, receive, commit (+1 for client tokens at new \
         servers); over a WAN each costs one RTT to the slowest server, since every step \
         asks all servers at once. The dealer baseline asks the five servers one after \
         another: health, install and verify, then a client token (about 4 trips each)."
    );
    // Shut down and wait, so the servers' last audit lines are written.
    for node in &mut nodes {
        if let Some(tx) = node.shutdown.take() {
            let _ = tx.send(());
        }
    }
    for node in &mut nodes {
        if let Some(task) = node.task.take() {
            let _ = rt.block_on(task);
        }
    }
}
