//! The key lifecycle end to end (issue #8): real TLS key-share servers on
//! 127.0.0.1 (started in this process from state directories made by
//! `server::init`), the real `shardlock` binary as the coordinator, real
//! files encrypted before and after every round and decrypted after all of
//! them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::cli::{self, Out};
use crate::support::{init_dir, runtime, start_https, Running};
use shardlock::client::config::Config;
use shardlock::client::http::{AdminClient, HttpOptions};
use shardlock::encoding::{format_fingerprint, hex};
use shardlock::lifecycle::wire::{
    CommitRequest, DealRequest, ReceiveRequest, ReceiveResponse, WireDeal, WirePlan,
};
use shardlock::protocol::Token;
use shardlock::server::State;

/// A freshly initialised server holding nothing yet.
pub(crate) struct Bare {
    pub(crate) dir: PathBuf,
    pub(crate) fingerprint: [u8; 32],
    pub(crate) admin_token: Token,
    pub(crate) state: Arc<State>,
    pub(crate) running: Running,
}

impl Bare {
    pub(crate) fn url(&self) -> &str {
        &self.running.url
    }

    /// `URL#sha256:HEX`, as `--server` takes it.
    pub(crate) fn arg(&self) -> String {
        format!("{}#{}", self.url(), format_fingerprint(&self.fingerprint))
    }

    pub(crate) fn admin(&self) -> AdminClient {
        AdminClient::new(
            self.url(),
            Some(self.fingerprint),
            self.admin_token.clone(),
            &HttpOptions::default(),
        )
        .expect("admin client")
    }
}

pub(crate) struct Fleet {
    pub(crate) rt: tokio::runtime::Runtime,
    pub(crate) tmp: tempfile::TempDir,
    pub(crate) nodes: Vec<Bare>,
}

impl Fleet {
    pub(crate) fn new(n: usize) -> Self {
        let mut fleet = Self {
            rt: runtime(),
            tmp: tempfile::tempdir().expect("tempdir"),
            nodes: Vec::new(),
        };
        for _ in 0..n {
            fleet.add();
        }
        fleet
    }

    /// Starts one more empty server; returns its index.
    pub(crate) fn add(&mut self) -> usize {
        let dir = self
            .tmp
            .path()
            .join(format!("node{}", self.nodes.len() + 1));
        let (report, state) = init_dir(&dir, None);
        let running = start_https(&self.rt, Arc::clone(&state));
        self.nodes.push(Bare {
            dir,
            fingerprint: report.fingerprint,
            admin_token: report.admin_token,
            state,
            running,
        });
        self.nodes.len() - 1
    }

    pub(crate) fn stop(&mut self, i: usize) {
        let rt = &self.rt;
        self.nodes[i].running.stop(rt);
    }

    /// Starts a stopped server again from its directory, on its old port.
    pub(crate) fn restart(&mut self, i: usize) {
        let node = &mut self.nodes[i];
        let state = Arc::new(State::load(&node.dir).expect("reload"));
        let addr = node.url().trim_start_matches("https://").to_string();
        node.running = crate::support::start_https_at(&self.rt, Arc::clone(&state), &addr);
        node.state = state;
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.tmp.path().join("client/config.toml")
    }

    /// An admin token file naming every server, old and new.
    pub(crate) fn tokens(&self) -> PathBuf {
        let path = self.tmp.path().join("admin-tokens");
        let mut text = String::from("# URL TOKEN\n");
        for node in &self.nodes {
            text.push_str(&format!("{} {}\n", node.url(), node.admin_token.expose()));
        }
        std::fs::write(&path, text).expect("token file");
        path
    }

    pub(crate) fn shardlock(&self, args: &[&str]) -> Out {
        let config = self.config();
        let mut all = vec!["--config", config.to_str().expect("utf-8")];
        all.extend_from_slice(args);
        cli::run(all)
    }

    pub(crate) fn keyset(&self, op: &str, name: &str, extra: &[&str]) -> Out {
        let tokens = self.tokens();
        let mut args = vec![
            "keyset",
            op,
            name,
            "--admin-token-file",
            tokens.to_str().expect("utf-8"),
        ];
        args.extend_from_slice(extra);
        self.shardlock(&args)
    }

    pub(crate) fn servers(&self, indices: &[usize]) -> Vec<String> {
        indices.iter().map(|&i| self.nodes[i].arg()).collect()
    }

    pub(crate) fn encrypt(&self, name: &str, data: &[u8]) -> PathBuf {
        let plain = self.tmp.path().join(format!("{name}.txt"));
        std::fs::write(&plain, data).expect("plaintext");
        let sealed = self.tmp.path().join(format!("{name}.slock"));
        self.shardlock(&[
            "encrypt",
            "-o",
            sealed.to_str().expect("utf-8"),
            plain.to_str().expect("utf-8"),
        ])
        .expect_code(0);
        sealed
    }

    pub(crate) fn decrypt(&self, sealed: &Path) -> Out {
        let out = sealed.with_extension("restored");
        let _ = std::fs::remove_file(&out);
        let result = self.shardlock(&[
            "decrypt",
            "-o",
            out.to_str().expect("utf-8"),
            sealed.to_str().expect("utf-8"),
        ]);
        if result.code() == Some(0) {
            let _ = std::fs::remove_file(&out);
        }
        result
    }

    pub(crate) fn loaded(&self) -> Config {
        Config::load(&self.config()).expect("config loads")
    }
}

/// (id, K, epoch, threshold, n) of keyset `main` in the config.
fn identity_of(config: &Config) -> (String, String, u32, u16, usize) {
    let public = config.entry("main").expect("keyset main").public();
    (
        hex(public.id()),
        shardlock::protocol::b64_element(public.group_key()),
        public.epoch(),
        public.threshold(),
        public.shares().len(),
    )
}

#[test]
fn dkg_refresh_repair_and_reshare_keep_k_the_id_and_every_file() {
    let mut fleet = Fleet::new(3);
    let servers = fleet.servers(&[0, 1, 2]);
    let mut args = vec!["-t", "2"];
    for s in &servers {
        args.extend(["--server", s]);
    }
    fleet.keyset("create", "main", &args).expect_code(0);
    let (id, k, epoch, t, n) = identity_of(&fleet.loaded());
    assert_eq!((epoch, t, n), (0, 2, 3));
    let mut files = vec![fleet.encrypt("epoch0", b"made at epoch 0")];

    // Refresh: every public share changes, K and the id stay.
    let before = fleet.loaded().entry("main").unwrap().public().clone();
    fleet.keyset("refresh", "main", &[]).expect_code(0);
    let after = fleet.loaded().entry("main").unwrap().public().clone();
    assert_eq!(
        identity_of(&fleet.loaded()),
        (id.clone(), k.clone(), 1, 2, 3)
    );
    for (old, new) in before.shares().iter().zip(after.shares()) {
        assert_ne!(old.1, new.1, "participant {} kept its public share", old.0);
    }
    files.push(fleet.encrypt("epoch1", b"made at epoch 1"));

    // Repair: participant 2's server is gone for good; a new one takes it.
    fleet.stop(1);
    let fresh = fleet.add();
    let repaired = fleet.nodes[fresh].arg();
    fleet
        .keyset(
            "repair",
            "main",
            &["--participant", "2", "--server", &repaired],
        )
        .expect_code(0);
    assert_eq!(
        identity_of(&fleet.loaded()),
        (id.clone(), k.clone(), 2, 2, 3)
    );
    let urls: Vec<String> = fleet
        .loaded()
        .entry("main")
        .unwrap()
        .servers()
        .iter()
        .map(|s| s.url.clone())
        .collect();
    assert_eq!(urls[1], fleet.nodes[fresh].url());
    files.push(fleet.encrypt("epoch2", b"made at epoch 2"));

    // Reshare 2-of-3 to 3-of-5 (two servers added).
    let a = fleet.add();
    let b = fleet.add();
    let wide = fleet.servers(&[0, fresh, 2, a, b]);
    let mut args = vec!["-t", "3"];
    for s in &wide {
        args.extend(["--server", s]);
    }
    fleet.keyset("reshare", "main", &args).expect_code(0);
    assert_eq!(
        identity_of(&fleet.loaded()),
        (id.clone(), k.clone(), 3, 3, 5)
    );
    files.push(fleet.encrypt("epoch3", b"made at epoch 3"));

    // Reshare 3-of-5 back to 2-of-3, replacing two servers (0 and 2 leave).
    let c = fleet.add();
    let d = fleet.add();
    let narrow = fleet.servers(&[c, a, d]);
    let mut args = vec!["-t", "2"];
    for s in &narrow {
        args.extend(["--server", s]);
    }
    fleet.keyset("reshare", "main", &args).expect_code(0);
    assert_eq!(identity_of(&fleet.loaded()), (id, k, 4, 2, 3));
    // Servers that left hold the keyset no more.
    for gone in [0, 2, fresh, b] {
        assert!(
            fleet.nodes[gone].state.keyset_ids().is_empty(),
            "server {gone} still holds a share"
        );
    }
    files.push(fleet.encrypt("epoch4", b"made at epoch 4"));
    for file in &files {
        fleet.decrypt(file).expect_code(0);
    }
    // Down to the threshold: one of the three stopped, still decrypts.
    fleet.stop(d);
    fleet.decrypt(&files[0]).expect_code(0);
}

#[test]
fn a_server_restored_to_an_old_epoch_is_refused_with_a_clear_message() {
    let mut fleet = Fleet::new(3);
    let servers = fleet.servers(&[0, 1, 2]);
    let mut args = vec!["-t", "2"];
    for s in &servers {
        args.extend(["--server", s]);
    }
    fleet.keyset("create", "main", &args).expect_code(0);
    let file = fleet.encrypt("f", b"data");
    // A copy of server 1's state as it was at epoch 0.
    let copy = fleet.tmp.path().join("node1-backup");
    shardlock::server::backup(&fleet.nodes[0].dir, &copy).expect("backup");
    fleet.keyset("refresh", "main", &[]).expect_code(0);
    // Server 1 comes back from that backup; server 3 is down.
    fleet.stop(0);
    fleet.stop(2);
    let restored = Arc::new(State::load(&copy).expect("load backup"));
    let running = start_https(&fleet.rt, Arc::clone(&restored));
    // The config pins the old URL: point participant 1 at the restored copy.
    let config = fleet.config();
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, text.replace(fleet.nodes[0].url(), &running.url)).unwrap();
    let out = fleet.decrypt(&file);
    assert_ne!(out.code(), Some(0));
    assert!(
        out.stderr.contains("epoch 0") && out.stderr.contains("not 1"),
        "stderr: {}",
        out.stderr
    );
}

/// Drives the admin API by hand, as a coordinator that lies would.
struct Relay<'a> {
    fleet: &'a Fleet,
    plan: WirePlan,
}

impl Relay<'_> {
    fn deals(&self) -> Vec<WireDeal> {
        [0, 1]
            .iter()
            .map(|&i| {
                self.fleet.nodes[i]
                    .admin()
                    .lifecycle(
                        "deal",
                        &DealRequest {
                            plan: self.plan.clone(),
                        },
                    )
                    .expect("deal")
            })
            .collect()
    }

    fn receive(&self, i: usize, deals: &[WireDeal]) -> Result<ReceiveResponse, String> {
        self.fleet.nodes[i]
            .admin()
            .lifecycle(
                "receive",
                &ReceiveRequest {
                    plan: self.plan.clone(),
                    deals: deals.to_vec(),
                },
            )
            .map_err(|e| shardlock::client::one_line(&e))
    }
}

/// A refresh plan for keyset `main` of `fleet`, as the CLI would make it.
fn refresh_plan(fleet: &Fleet) -> WirePlan {
    use shardlock::lifecycle::{Member, Operation, Plan};
    let public = fleet.loaded().entry("main").unwrap().public().clone();
    let identities: Vec<_> = fleet
        .nodes
        .iter()
        .map(|n| n.admin().identity().expect("identity"))
        .collect();
    let member = |i: usize| Member {
        participant: i as u16 + 1,
        identity: identities[i].clone(),
    };
    let mut session = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut session);
    WirePlan::from(&Plan {
        session,
        operation: Operation::Refresh,
        to_epoch: public.epoch() + 1,
        from: Some(public),
        threshold: 2,
        dealers: vec![1, 2],
        old_members: vec![member(0), member(1)],
        new_members: vec![member(0), member(1), member(2)],
    })
}

#[test]
fn a_relay_that_alters_drops_replays_or_equivocates_changes_no_epoch() {
    let fleet = Fleet::new(3);
    let servers = fleet.servers(&[0, 1, 2]);
    let mut args = vec!["-t", "2"];
    for s in &servers {
        args.extend(["--server", s]);
    }
    fleet.keyset("create", "main", &args).expect_code(0);
    let file = fleet.encrypt("f", b"data");
    let relay = Relay {
        fleet: &fleet,
        plan: refresh_plan(&fleet),
    };
    let deals = relay.deals();

    // Altered: a commitment of dealer 2 replaced.
    let mut altered = deals.clone();
    altered[1].commitments[0] = deals[0].commitments[0].clone();
    let err = relay.receive(2, &altered).unwrap_err();
    assert!(err.contains("participant 2"), "{err}");
    // Dropped.
    let err = relay.receive(2, &deals[..1]).unwrap_err();
    assert!(
        err.contains("participant 2") && err.contains("missing"),
        "{err}"
    );
    // Replayed from another run.
    let other = Relay {
        fleet: &fleet,
        plan: refresh_plan(&fleet),
    };
    let mut replayed = deals.clone();
    replayed[0] = other.deals().remove(0);
    let err = relay.receive(2, &replayed).unwrap_err();
    assert!(err.contains("participant 1"), "{err}");

    // Equivocation: servers 1 and 2 see one set of deals, server 3 another.
    let second = relay.deals();
    let r1 = relay.receive(0, &deals).expect("receive 1");
    let r2 = relay.receive(1, &deals).expect("receive 2");
    let r3 = relay.receive(2, &second).expect("receive 3");
    assert_ne!(r1.transcript, r3.transcript);
    // Shown the other set afterwards, server 3 refuses.
    let err = relay.receive(2, &deals).unwrap_err();
    assert!(err.contains("different deals"), "{err}");
    // No transcript has every confirmation: every commit is refused.
    for transcript in [&r1.transcript, &r3.transcript] {
        let commit = CommitRequest {
            plan: relay.plan.clone(),
            transcript: transcript.clone(),
            confirmations: vec![
                r1.confirmation.clone(),
                r2.confirmation.clone(),
                r3.confirmation.clone(),
            ],
        };
        for node in &fleet.nodes {
            let refused: Result<serde_json::Value, _> = node.admin().lifecycle("commit", &commit);
            assert!(refused.is_err());
        }
    }
    for node in &fleet.nodes {
        let key = node.state.keyset_ids();
        assert_eq!(key.len(), 1);
        assert_eq!(node.state.key(&key[0]).unwrap().keyset().epoch(), 0);
    }
    fleet.decrypt(&file).expect_code(0);
}

/// Runs `keyset OP main` with the coordinator "killed" after `step`.
fn crashing(fleet: &Fleet, op: &str, step: &str, extra: &[&str]) -> Out {
    let config = fleet.config();
    let tokens = fleet.tokens();
    let mut args = vec![
        "--config",
        config.to_str().expect("utf-8"),
        "keyset",
        op,
        "main",
        "--admin-token-file",
        tokens.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    let mut cmd = cli::shardlock(args);
    cmd.env("SHARDLOCK_TEST_CRASH_AFTER", step);
    cli::exec(cmd, None)
}

pub(crate) fn created(n: usize, t: &str) -> Fleet {
    let fleet = Fleet::new(n);
    let servers = fleet.servers(&(0..n).collect::<Vec<_>>());
    let mut args = vec!["-t", t];
    for s in &servers {
        args.extend(["--server", s]);
    }
    fleet.keyset("create", "main", &args).expect_code(0);
    fleet
}

fn epochs(fleet: &Fleet, indices: &[usize]) -> Vec<u32> {
    indices
        .iter()
        .map(|&i| {
            let node = &fleet.nodes[i];
            let ids = node.state.keyset_ids();
            node.state.key(&ids[0]).expect("key").keyset().epoch()
        })
        .collect()
}

#[test]
fn a_coordinator_killed_after_each_step_resumes_or_rolls_back() {
    let mut fleet = created(3, "2");
    let file = fleet.encrypt("f", b"data");

    // Killed after the deals: resume finishes the round.
    crashing(&fleet, "refresh", "dealt", &[]).expect_code(137);
    assert_eq!(epochs(&fleet, &[0, 1, 2]), [0, 0, 0]);
    let out = fleet.keyset("refresh", "main", &[]);
    assert!(out.stderr.contains("in progress"), "{}", out.stderr);
    fleet
        .keyset("refresh", "main", &["--resume"])
        .expect_code(0);
    assert_eq!(epochs(&fleet, &[0, 1, 2]), [1, 1, 1]);
    assert_eq!(identity_of(&fleet.loaded()).2, 1);

    // Killed once every server staged: rolled back, nothing changed, and a
    // later round goes through (nothing left staged).
    crashing(&fleet, "refresh", "staged", &[]).expect_code(137);
    fleet.keyset("refresh", "main", &["--abort"]).expect_code(0);
    assert_eq!(epochs(&fleet, &[0, 1, 2]), [1, 1, 1]);
    fleet.decrypt(&file).expect_code(0);

    // Killed after one server switched: no rollback any more; files still
    // decrypt through the two servers on the old epoch; resume finishes.
    crashing(&fleet, "refresh", "commit:1", &[]).expect_code(137);
    let switched = epochs(&fleet, &[0, 1, 2]);
    assert_eq!(
        switched.iter().filter(|&&e| e == 2).count(),
        1,
        "{switched:?}"
    );
    let out = fleet.keyset("refresh", "main", &["--abort"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("--resume"), "{}", out.stderr);
    fleet.decrypt(&file).expect_code(0);
    let status = fleet.shardlock(&["status"]);
    assert!(
        status.stdout_text().contains("epoch 2"),
        "{}",
        status.stdout_text()
    );
    assert!(
        status.stderr.contains("different epochs"),
        "{}",
        status.stderr
    );
    assert!(status.stderr.contains("in progress"), "{}", status.stderr);

    // A server killed before the resume: the resume says which, and a
    // second one after it is back finishes.
    fleet.stop(2);
    let out = fleet.keyset("refresh", "main", &["--resume"]);
    assert!(out.stderr.contains(fleet.nodes[2].url()), "{}", out.stderr);
    fleet.restart(2);
    fleet
        .keyset("refresh", "main", &["--resume"])
        .expect_code(0);
    assert_eq!(epochs(&fleet, &[0, 1, 2]), [2, 2, 2]);
    fleet.decrypt(&file).expect_code(0);
}

#[test]
fn a_server_down_while_staging_stops_the_round_until_resume_or_abort() {
    let fleet = created(3, "2");
    let file = fleet.encrypt("f", b"data");
    // Server 3 has another round of this keyset staged (a relay's), so it
    // refuses to stage this one.
    let relay = Relay {
        fleet: &fleet,
        plan: refresh_plan(&fleet),
    };
    relay.receive(2, &relay.deals()).expect("stage elsewhere");
    let out = fleet.keyset("refresh", "main", &[]);
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    assert!(
        out.stderr.contains("--resume") && out.stderr.contains("--abort"),
        "{}",
        out.stderr
    );
    assert_eq!(epochs(&fleet, &[0, 1, 2]), [0, 0, 0]);
    fleet.decrypt(&file).expect_code(0);
    // The other round is aborted at server 3; the resume then finishes.
    let abort: serde_json::Value = fleet.nodes[2]
        .admin()
        .lifecycle(
            "abort",
            &shardlock::lifecycle::wire::AbortRequest {
                plan: relay.plan.clone(),
            },
        )
        .expect("abort");
    assert_eq!(abort["status"], "aborted");
    fleet
        .keyset("refresh", "main", &["--resume"])
        .expect_code(0);
    assert_eq!(epochs(&fleet, &[0, 1, 2]), [1, 1, 1]);
    fleet.decrypt(&file).expect_code(0);
}

#[test]
fn dkg_3_of_5_decrypts_with_any_three_and_a_killed_create_resumes() {
    let mut fleet = Fleet::new(5);
    let servers = fleet.servers(&[0, 1, 2, 3, 4]);
    let tokens = fleet.tokens();
    let config = fleet.config();
    let mut args = vec![
        "--config",
        config.to_str().expect("utf-8"),
        "keyset",
        "create",
        "main",
        "-t",
        "3",
        "--admin-token-file",
        tokens.to_str().expect("utf-8"),
    ];
    for s in &servers {
        args.extend(["--server", s]);
    }
    // Killed once every server staged: nothing is in the config yet, and
    // no server serves the keyset; the resume creates it.
    let mut cmd = cli::shardlock(&args);
    cmd.env("SHARDLOCK_TEST_CRASH_AFTER", "staged");
    cli::exec(cmd, None).expect_code(137);
    assert!(!config.exists() || Config::load(&config).unwrap().entry("main").is_none());
    assert!(fleet.nodes.iter().all(|n| n.state.keyset_ids().is_empty()));
    fleet.keyset("create", "main", &["--resume"]).expect_code(0);
    assert_eq!(identity_of(&fleet.loaded()).3, 3);
    let file = fleet.encrypt("f", b"five servers");
    fleet.stop(0);
    fleet.stop(3);
    fleet.decrypt(&file).expect_code(0);
    fleet.stop(4);
    assert_ne!(fleet.decrypt(&file).code(), Some(0));
}

#[test]
fn a_reshare_killed_mid_commit_resumes_and_the_leavers_delete_their_shares() {
    let mut fleet = created(3, "2");
    let file = fleet.encrypt("f", b"data");
    let a = fleet.add();
    let b = fleet.add();
    let servers = fleet.servers(&[0, a, b]);
    let mut args = vec!["-t", "2"];
    for s in &servers {
        args.extend(["--server", s]);
    }
    crashing(&fleet, "reshare", "commit:1", &args).expect_code(137);
    fleet
        .keyset("reshare", "main", &["--resume"])
        .expect_code(0);
    assert_eq!(identity_of(&fleet.loaded()).2, 1);
    for gone in [1, 2] {
        assert!(fleet.nodes[gone].state.keyset_ids().is_empty());
    }
    fleet.stop(1);
    fleet.stop(2);
    fleet.decrypt(&file).expect_code(0);
}

#[test]
fn a_server_that_left_rejoins_with_a_fresh_client_token() {
    let mut fleet = created(3, "2");
    let file = fleet.encrypt("f", b"data");
    let d = fleet.add();
    // Server 3 leaves...
    let servers = fleet.servers(&[0, 1, d]);
    let mut args = vec![];
    for s in &servers {
        args.extend(["--server", s.as_str()]);
    }
    fleet.keyset("reshare", "main", &args).expect_code(0);
    assert!(fleet.nodes[2].state.keyset_ids().is_empty());
    // ...and comes back in place of server 1; its old client name is taken.
    let servers = fleet.servers(&[2, 1, d]);
    let mut args = vec!["-t", "2"];
    for s in &servers {
        args.extend(["--server", s.as_str()]);
    }
    let out = fleet.keyset("reshare", "main", &args);
    out.expect_code(0);
    assert!(out.stderr.contains("main-client-2"), "{}", out.stderr);
    assert!(!out.stderr.contains("warning"), "{}", out.stderr);
    // It serves this machine: with server d stopped, 3 and 2 decrypt.
    fleet.stop(d);
    fleet.decrypt(&file).expect_code(0);
}

#[test]
fn token_files_name_servers_for_every_admin_command_and_misuse_is_a_usage_error() {
    let fleet = created(3, "2");
    // A token file without server 2: a usage error, nothing contacted.
    let partial = fleet.tmp.path().join("partial-tokens");
    std::fs::write(
        &partial,
        format!(
            "{} {}\n{} {}\n",
            fleet.nodes[0].url(),
            fleet.nodes[0].admin_token.expose(),
            fleet.nodes[2].url(),
            fleet.nodes[2].admin_token.expose()
        ),
    )
    .unwrap();
    let config = fleet.config();
    let out = cli::run([
        "--config",
        config.to_str().unwrap(),
        "keyset",
        "refresh",
        "main",
        "--admin-token-file",
        partial.to_str().unwrap(),
    ]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("no admin token for") && out.stderr.contains(fleet.nodes[1].url()));
    // A round in progress is resumed by its own command only.
    crashing(&fleet, "refresh", "dealt", &[]).expect_code(137);
    let out = fleet.keyset("reshare", "main", &["--resume"]);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    assert!(out.stderr.contains("is a refresh"), "{}", out.stderr);
    fleet
        .keyset("refresh", "main", &["--resume"])
        .expect_code(0);
    // The dealer and revoke-client read `URL TOKEN` files too.
    let tokens = fleet.tokens();
    let servers = fleet.servers(&[0, 1, 2]);
    let mut args = vec![
        "--config",
        config.to_str().unwrap(),
        "keyset",
        "create",
        "dealt",
        "--dealer",
        "-t",
        "2",
        "--admin-token-file",
        tokens.to_str().unwrap(),
    ];
    for s in &servers {
        args.extend(["--server", s.as_str()]);
    }
    cli::run(&args).expect_code(0);
    cli::run([
        "--config",
        config.to_str().unwrap(),
        "keyset",
        "revoke-client",
        "dealt-client",
        "-k",
        "dealt",
        "--admin-token-file",
        tokens.to_str().unwrap(),
        // The config's own client for that keyset.
        "--force",
    ])
    .expect_code(0);
}

#[test]
fn create_without_a_pin_shows_the_fingerprint_and_needs_trust() {
    let fleet = Fleet::new(3);
    let bare: Vec<String> = fleet.nodes.iter().map(|n| n.url().to_string()).collect();
    let mut args = vec!["-t", "2"];
    for s in &bare {
        args.extend(["--server", s.as_str()]);
    }
    // No terminal, no pin, no --trust-fingerprint: nothing is created, and
    // the message carries the exact pin to add.
    let out = fleet.keyset("create", "main", &args);
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    let shown = format_fingerprint(&fleet.nodes[0].fingerprint);
    assert!(out.stderr.contains(&shown), "{}", out.stderr);
    assert!(fleet.nodes.iter().all(|n| n.state.keyset_ids().is_empty()));
    args.push("--trust-fingerprint");
    fleet.keyset("create", "main", &args).expect_code(0);
    let config = fleet.loaded();
    for (server, node) in config
        .entry("main")
        .unwrap()
        .servers()
        .iter()
        .zip(&fleet.nodes)
    {
        assert_eq!(server.fingerprint, Some(node.fingerprint));
    }
}
