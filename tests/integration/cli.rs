//! Whole-binary behaviour (issue #3): the real `shardlock` executable in
//! real processes, a real `dev-cluster` of TLS key-share servers on
//! 127.0.0.1, real files. Every test that starts a cluster stops it with
//! SIGTERM at the end and checks that it and its nodes are gone; a panic
//! anywhere still tears everything down through `Drop` guards.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rand::rngs::OsRng;
use rand::RngCore;

use crate::support::{self, start_fake, Lie};
use shardlock::client::config::{Config, KeysetEntry, ServerEntry, TokenSource};
use shardlock::client::http::{AdminClient, HttpOptions};
use shardlock::encoding::hex;
use shardlock::protocol::Token;
use shardlock::server::State;
use shardlock::threshold::kem::deal;

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_shardlock");
/// Name of the keyset `dev-cluster` writes, and of its client on each node.
const DEV_KEYSET: &str = "dev";
const DEV_CLIENT: &str = "dev-client";
/// No single command may take longer than this.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
const CHUNK: usize = 16384;

// ---------------------------------------------------------------------------
// Running the binary.

/// What a finished command left behind.
pub(crate) struct Out {
    status: ExitStatus,
    pub(crate) stdout: Vec<u8>,
    pub(crate) stderr: String,
}

impl Out {
    pub(crate) fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Asserts the exit code, showing stderr when it is wrong.
    #[track_caller]
    pub(crate) fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit {code}; stderr:\n{}",
            self.stderr
        );
        self
    }

    pub(crate) fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The non-empty stderr lines.
    pub(crate) fn stderr_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect()
    }

    /// Exactly one line on stderr, an error; returns it.
    #[track_caller]
    fn one_error_line(&self) -> &str {
        let lines = self.stderr_lines();
        assert_eq!(lines.len(), 1, "want one error line, got:\n{}", self.stderr);
        assert!(
            lines[0].starts_with("shardlock: error: "),
            "{}",
            self.stderr
        );
        lines[0]
    }
}

/// Kills a child on drop unless it has been waited for.
pub(crate) struct ChildGuard(pub(crate) Option<Child>);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A `shardlock` command with an environment that cannot reach the
/// developer's own configuration or admin token.
pub(crate) fn shardlock<I, S>(args: I) -> Command
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(BIN);
    cmd.args(args)
        .env_remove("SHARDLOCK_CONFIG")
        .env_remove("SHARDLOCK_ADMIN_TOKEN")
        .env_remove("XDG_CONFIG_HOME")
        .env("HOME", "/nonexistent-shardlock-test-home");
    cmd
}

/// Runs `cmd` to completion (stdin: `input`, else /dev/null), feeding and
/// draining the pipes concurrently; kills it if it outlives the timeout.
pub(crate) fn exec(mut cmd: Command, input: Option<Vec<u8>>) -> Out {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut guard = ChildGuard(Some(cmd.spawn().expect("spawn shardlock")));
    let child = guard.0.as_mut().expect("child");
    let feeder = child.stdin.take().map(|mut stdin| {
        let data = input.unwrap_or_default();
        std::thread::spawn(move || {
            // The command may stop reading early (e.g. a bad header).
            let _ = stdin.write_all(&data);
        })
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "shardlock {:?} did not finish within {COMMAND_TIMEOUT:?}",
            cmd.get_args().collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    guard.0 = None;
    if let Some(feeder) = feeder {
        let _ = feeder.join();
    }
    Out {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned(),
    }
}

pub(crate) fn run<I, S>(args: I) -> Out
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    exec(shardlock(args), None)
}

fn run_stdin<I, S>(args: I, input: &[u8]) -> Out
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    exec(shardlock(args), Some(input.to_vec()))
}

/// `--config PATH` followed by `rest`.
fn with_config(config: &Path, rest: &[&OsStr]) -> Vec<OsString> {
    let mut args = vec![OsString::from("--config"), config.as_os_str().to_owned()];
    args.extend(rest.iter().map(|a| a.to_os_string()));
    args
}

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

fn encrypt(config: &Path, input: &Path, output: &Path) -> Out {
    run(with_config(
        config,
        &[
            os("encrypt"),
            os("-o"),
            output.as_os_str(),
            input.as_os_str(),
        ],
    ))
}

fn decrypt(config: &Path, input: &Path, output: &Path) -> Out {
    run(with_config(
        config,
        &[
            os("decrypt"),
            os("-o"),
            output.as_os_str(),
            input.as_os_str(),
        ],
    ))
}

// ---------------------------------------------------------------------------
// Processes and files.

fn kill(signal: &str, pid: u32) {
    let status = Command::new("kill")
        .arg(signal)
        .arg(pid.to_string())
        .stderr(Stdio::null())
        .status()
        .expect("run kill");
    assert!(status.success(), "kill {signal} {pid} failed");
}

/// Is `pid` a live process whose command line mentions `marker`? (The
/// marker guards against a recycled pid.)
fn alive(pid: u32, marker: &Path) -> bool {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if Path::new("/proc/self").exists() {
        let Ok(cmdline) = fs::read(proc_dir.join("cmdline")) else {
            return false;
        };
        let stat = fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        // A zombie has exited; only its parent's wait() is missing.
        let zombie = stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'));
        let marker = marker.as_os_str().as_encoded_bytes();
        !zombie && cmdline.windows(marker.len()).any(|w| w == marker)
    } else {
        Command::new("kill")
            .args(["-0", &pid.to_string()])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }
}

pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    OsRng.fill_bytes(&mut data);
    data
}

/// Files in `dir` (names), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[track_caller]
fn assert_no_temp_files(dir: &Path) {
    let temps: Vec<String> = listing(dir)
        .into_iter()
        .filter(|n| n.starts_with('.') && n.contains(".shardlock-tmp-"))
        .collect();
    assert!(temps.is_empty(), "temporary files left behind: {temps:?}");
}

fn write_private(path: &Path, bytes: &[u8]) {
    fs::write(path, bytes).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// The length of a shardlock header, from its preamble.
pub(crate) fn header_len(file: &[u8]) -> usize {
    u32::from_be_bytes(file[10..14].try_into().expect("preamble")) as usize
}

/// Loads `src`, lets `edit` change the dev keyset's servers, and saves the
/// result (mode 0600) at `dst`.
pub(crate) fn rewrite_servers(src: &Path, dst: &Path, edit: impl Fn(&mut ServerEntry)) {
    let mut config = Config::load(src).expect("load config");
    let entry = config.entry(DEV_KEYSET).expect("dev keyset").clone();
    let mut servers = entry.servers().to_vec();
    servers.iter_mut().for_each(edit);
    let entry = KeysetEntry::new(entry.public().clone(), servers).expect("keyset entry");
    config.replace_keyset(DEV_KEYSET, entry).expect("replace");
    config.save(dst).expect("save config");
}

fn dev_keyset_id(config: &Path) -> String {
    let config = Config::load(config).expect("load config");
    hex(config.entry(DEV_KEYSET).expect("dev keyset").public().id())
}

// ---------------------------------------------------------------------------
// A dev-cluster child process.

pub(crate) struct Cluster {
    /// Taken by [`Cluster::stop`] so a test can keep its files.
    tmp: Option<tempfile::TempDir>,
    dir: PathBuf,
    nodes: u16,
    child: Option<Child>,
    /// Node pids as they were once the cluster was ready.
    node_pids: Vec<u32>,
}

impl Cluster {
    /// `shardlock dev-cluster --dir D --nodes n --threshold t`, returning
    /// once it prints its ready line.
    pub(crate) fn start(nodes: u16, threshold: u16) -> Self {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("cluster");
        fs::create_dir(tmp.path().join("work")).expect("work dir");
        let log = fs::File::create(tmp.path().join("dev-cluster.log")).expect("log");
        let mut cmd = shardlock([
            os("dev-cluster"),
            os("--dir"),
            dir.as_os_str(),
            os("--nodes"),
            os(&nodes.to_string()),
            os("--threshold"),
            os(&threshold.to_string()),
        ]);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log));
        let mut child = cmd.spawn().expect("spawn dev-cluster");
        let stdout = child.stdout.take().expect("stdout");
        let mut cluster = Cluster {
            tmp: Some(tmp),
            dir,
            nodes,
            child: Some(child),
            node_pids: Vec::new(),
        };
        let (tx, rx) = mpsc::channel();
        // Keep draining stdout until dev-cluster exits: closing the pipe
        // early would make its next println! fail (and it panics on that).
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line.contains("ready") => break,
                Ok(_) => {}
                Err(e) => panic!(
                    "dev-cluster did not become ready ({e}); its log:\n{}",
                    cluster.log()
                ),
            }
        }
        cluster.node_pids = (1..=nodes)
            .map(|k| cluster.pid(k).expect("pid file of a ready node"))
            .collect();
        cluster
    }

    fn root(&self) -> &Path {
        self.tmp.as_ref().expect("not stopped").path()
    }

    fn log(&self) -> String {
        fs::read_to_string(self.root().join("dev-cluster.log")).unwrap_or_default()
    }

    pub(crate) fn config(&self) -> PathBuf {
        self.dir.join("config.toml")
    }

    /// A scratch directory for the test's files.
    pub(crate) fn work(&self) -> PathBuf {
        self.root().join("work")
    }

    pub(crate) fn node_dir(&self, k: u16) -> PathBuf {
        self.dir.join(format!("node{k}"))
    }

    /// Writes every node's admin token, one per line in participant
    /// order, to a private file (for --admin-token-file).
    pub(crate) fn write_admin_tokens(&self, path: &Path) {
        let lines: String = (1..=self.nodes)
            .map(|k| {
                let t = fs::read_to_string(self.node_dir(k).join("admin-token")).expect("token");
                format!("{}\n", t.trim())
            })
            .collect();
        write_private(path, lines.as_bytes());
    }

    fn pid(&self, k: u16) -> Option<u32> {
        let text = fs::read_to_string(self.node_dir(k).join("pid")).ok()?;
        text.trim().parse().ok()
    }

    pub(crate) fn url(&self, k: u16) -> String {
        let config = Config::load(&self.config()).expect("load config");
        let entry = config.entry(DEV_KEYSET).expect("dev keyset");
        entry
            .servers()
            .iter()
            .find(|s| s.participant == k)
            .expect("participant")
            .url
            .clone()
    }

    fn admin(&self, k: u16) -> AdminClient {
        let token = fs::read_to_string(self.node_dir(k).join("admin-token")).expect("admin token");
        let fingerprint = State::load(&self.node_dir(k))
            .expect("node state")
            .fingerprint();
        AdminClient::new(
            &self.url(k),
            Some(fingerprint),
            Token::new(token.trim().to_string()),
            &HttpOptions::default(),
        )
        .expect("admin client")
    }

    /// `kill -9` node `k`, then waits until its port refuses connections.
    pub(crate) fn kill_node(&self, k: u16) {
        let url = self.url(k);
        kill("-9", self.pid(k).expect("node pid"));
        let addr = url.trim_start_matches("https://").to_string();
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(&addr).is_ok() {
            assert!(Instant::now() < deadline, "node{k} still accepts at {addr}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// SIGTERM, then: dev-cluster exits 0, every pid file is removed and no
    /// node process is left. Returns the temporary directory (files stay
    /// until it is dropped).
    pub(crate) fn stop(mut self) -> tempfile::TempDir {
        let mut child = self.child.take().expect("running");
        kill("-TERM", child.id());
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("dev-cluster ignored SIGTERM; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(
            status.success(),
            "dev-cluster exited with {status}; log:\n{}",
            self.log()
        );
        assert!(self.log().contains("stopping nodes"), "{}", self.log());
        for k in 1..=self.nodes {
            assert!(
                !self.node_dir(k).join("pid").exists(),
                "node{k}'s pid file outlived the cluster"
            );
        }
        for (k, &pid) in (1..).zip(&self.node_pids) {
            assert!(
                !alive(pid, &self.node_dir(k)),
                "node{k} (pid {pid}) outlived the cluster"
            );
        }
        self.tmp.take().expect("not stopped")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        // Nodes stop on their own when dev-cluster's pipe closes; make sure.
        for (k, &pid) in (1..).zip(&self.node_pids) {
            if alive(pid, &self.node_dir(k)) {
                let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            }
        }
    }
}

/// Writes `data` at `path` with a recognisable mode and mtime.
pub(crate) fn write_sample(path: &Path, data: &[u8], mode: u32, mtime: (u64, u32)) {
    fs::write(path, data).expect("write sample");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    let time = std::time::UNIX_EPOCH + Duration::new(mtime.0, mtime.1);
    fs::File::options()
        .write(true)
        .open(path)
        .expect("open")
        .set_modified(time)
        .expect("set mtime");
}

// ---------------------------------------------------------------------------
// 1. Round trips.

#[test]
fn round_trip_2_of_3_files_and_pipes_restores_bytes_mode_and_mtime() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let sizes = [0usize, 1, CHUNK, (1 << 20) + 123];
    for (i, &size) in sizes.iter().enumerate() {
        let data = random_bytes(size);
        let mode = [0o640, 0o600, 0o755, 0o444][i];
        let mtime = (1_234_567_890 + i as u64, 123_456_789);
        let plain = work.join(format!("plain-{size}.bin"));
        let sealed = work.join(format!("plain-{size}.bin.slock"));
        let restored = work.join(format!("restored-{size}.bin"));
        write_sample(&plain, &data, mode, mtime);

        // Files both ways.
        encrypt(&config, &plain, &sealed).expect_code(0);
        let ciphertext = fs::read(&sealed).expect("sealed");
        assert!(ciphertext.len() > size, "ciphertext has overhead");
        assert!(
            size < 64 || ciphertext.windows(64).all(|w| w != &data[..64]),
            "no plaintext in the ciphertext"
        );
        let out = decrypt(&config, &sealed, &restored);
        out.expect_code(0);
        assert!(out.stderr.contains(&format!("decrypted {size} bytes")));
        assert!(
            fs::read(&restored).expect("restored") == data,
            "size {size}"
        );
        let meta = fs::metadata(&restored).expect("metadata");
        assert_eq!(meta.permissions().mode() & 0o7777, mode, "size {size}");
        assert_eq!(
            meta.modified().expect("mtime"),
            std::time::UNIX_EPOCH + Duration::new(mtime.0, mtime.1),
            "size {size}"
        );

        // Pipes both ways: stdin -> stdout.
        let sealed_pipe = run_stdin(with_config(&config, &[os("encrypt")]), &data);
        sealed_pipe.expect_code(0);
        assert!(sealed_pipe.stdout.starts_with(b"shardlock"));
        let opened = run_stdin(with_config(&config, &[os("decrypt")]), &sealed_pipe.stdout);
        opened.expect_code(0);
        assert!(opened.stdout == data, "pipe round trip, size {size}");

        // Mixed: a sealed file to stdout, and "-" for stdin explicitly.
        let opened = run(with_config(&config, &[os("decrypt"), sealed.as_os_str()]));
        opened.expect_code(0);
        assert!(opened.stdout == data, "file to stdout, size {size}");
        let opened = run_stdin(
            with_config(&config, &[os("decrypt"), os("-"), os("-o"), os("-")]),
            &ciphertext,
        );
        opened.expect_code(0);
        assert!(opened.stdout == data, "dash to dash, size {size}");
    }
    assert_no_temp_files(&work);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 2. inspect, with no server anywhere.

#[test]
fn inspect_reads_the_header_offline_after_the_cluster_is_stopped() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let id = dev_keyset_id(&config);
    let plain = work.join("report.bin");
    let sealed = work.join("report.bin.slock");
    write_sample(&plain, &random_bytes(100_000), 0o600, (1_600_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);
    let piped = run_stdin(with_config(&config, &[os("encrypt")]), b"");
    piped.expect_code(0);
    let piped_file = work.join("empty.slock");
    fs::write(&piped_file, &piped.stdout).expect("write");
    let sealed_len = fs::metadata(&sealed).expect("meta").len();
    let header_bytes = header_len(&fs::read(&sealed).expect("read"));
    // Nothing is listening any more, and inspect gets no config at all.
    let _keep = cluster.stop();

    let out = run([os("inspect"), sealed.as_os_str()]);
    out.expect_code(0);
    let text = out.stdout_text();
    assert!(text.contains(&format!("keyset:          {id}")), "{text}");
    assert!(
        text.contains(&format!("header:          {header_bytes} bytes")),
        "{text}"
    );
    assert!(
        text.contains(&format!("file:            {sealed_len} bytes")),
        "{text}"
    );
    assert!(text.contains("plaintext:       100000 bytes"), "{text}");
    assert!(text.contains("chunks:          7 "), "{text}");
    assert!(text.contains("metadata:        sealed"), "{text}");

    let out = run([os("inspect"), os("--json"), sealed.as_os_str()]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("inspect --json");
    assert_eq!(json["keysets"], serde_json::json!([id]));
    assert_eq!(json["file_bytes"], sealed_len);
    assert_eq!(json["header_bytes"], header_bytes);
    assert_eq!(json["plaintext_bytes"], 100_000);
    assert_eq!(json["chunks"], 7);
    assert_eq!(json["metadata"], true);
    assert_eq!(json["body_valid_length"], true);

    // Stdin gives the same answer; a piped, empty plaintext is one chunk.
    let out = run_stdin(
        [os("inspect"), os("--json"), os("-")],
        &fs::read(&sealed).expect("read"),
    );
    out.expect_code(0);
    let from_stdin: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(from_stdin, json);
    let out = run([os("inspect"), os("--json"), piped_file.as_os_str()]);
    out.expect_code(0);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(json["plaintext_bytes"], 0);
    assert_eq!(json["chunks"], 1);
}

// ---------------------------------------------------------------------------
// 3. One node down.

#[test]
fn decrypt_with_one_node_killed_succeeds_and_names_the_skipped_server() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let data = random_bytes(50_000);
    let plain = work.join("a.bin");
    let sealed = work.join("a.slock");
    write_sample(&plain, &data, 0o600, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);

    let dead = cluster.url(1);
    cluster.kill_node(1);
    let restored = work.join("a.out");
    let out = decrypt(&config, &sealed, &restored);
    out.expect_code(0);
    assert!(fs::read(&restored).expect("restored") == data);
    assert!(
        out.stderr
            .lines()
            .any(|l| l.contains("skipped") && l.contains(&dead)),
        "stderr should name {dead}:\n{}",
        out.stderr
    );
    for k in [2, 3] {
        assert!(!out.stderr.contains(&cluster.url(k)), "{}", out.stderr);
    }
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 4. A lying server.

#[test]
fn a_lying_server_is_skipped_with_a_loud_warning_naming_it() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let data = random_bytes(40_000);
    let plain = work.join("secret.bin");
    let sealed = work.join("secret.slock");
    write_sample(&plain, &data, 0o600, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);

    // Participant 1's real share, served by a double that lies with it.
    let id = dev_keyset_id(&config);
    let share = State::load(&cluster.node_dir(1))
        .expect("node1 state")
        .key(&id)
        .expect("node1 holds the dev share")
        .share()
        .clone();
    assert_eq!(share.id(), 1);
    cluster.kill_node(1);
    let real_url = cluster.url(1);
    let rt = support::runtime();
    for (i, lie) in [Lie::WrongEvaluation, Lie::BrokenProof]
        .into_iter()
        .enumerate()
    {
        let fake = start_fake(&rt, share.clone(), lie);
        let lying_config = work.join(format!("lying-{i}.toml"));
        rewrite_servers(&config, &lying_config, |s| {
            if s.participant == 1 {
                s.url = fake.url.clone();
                s.fingerprint = Some(fake.fingerprint);
            }
        });
        let restored = work.join(format!("restored-{i}.bin"));
        // The warning is printed even with --quiet.
        let out = run(with_config(
            &lying_config,
            &[
                os("--quiet"),
                os("decrypt"),
                os("-o"),
                restored.as_os_str(),
                sealed.as_os_str(),
            ],
        ));
        out.expect_code(0);
        assert!(fs::read(&restored).expect("restored") == data, "{lie:?}");
        let warning = out
            .stderr
            .lines()
            .find(|l| l.contains("warning") && l.contains(&fake.url))
            .unwrap_or_else(|| panic!("{lie:?}: no warning naming {}:\n{}", fake.url, out.stderr));
        assert!(warning.contains("participant 1"), "{warning}");
        assert!(
            warning.contains("compromised") || warning.contains("wrong"),
            "{warning}"
        );
        assert!(!out.stderr.contains(&real_url), "{}", out.stderr);
        drop(fake);
    }
    drop(rt);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 5. Too few servers.

#[test]
fn two_nodes_down_fails_listing_each_server_and_writes_nothing() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let plain = work.join("b.bin");
    let sealed = work.join("b.slock");
    write_sample(&plain, &random_bytes(30_000), 0o600, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);
    let down = [cluster.url(2), cluster.url(3)];
    cluster.kill_node(2);
    cluster.kill_node(3);

    let out_dir = work.join("out");
    fs::create_dir(&out_dir).expect("out dir");
    let out = decrypt(&config, &sealed, &out_dir.join("b.bin"));
    out.expect_code(3);
    assert!(
        out.stderr.starts_with("shardlock: error: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("fewer than 2"), "{}", out.stderr);
    for url in &down {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(url.as_str()) && l.contains("unreachable")),
            "{url} not listed with a reason:\n{}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains(&cluster.url(1)), "{}", out.stderr);
    assert_eq!(listing(&out_dir), Vec::<String>::new(), "no output at all");

    // To stdout: nothing is written either.
    let out = run(with_config(&config, &[os("decrypt"), sealed.as_os_str()]));
    out.expect_code(3);
    assert!(out.stdout.is_empty());
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 6. Tokens that servers refuse.

#[track_caller]
fn assert_refused(config: &Path, sealed: &Path, out_dir: &Path, urls: &[String]) {
    let target = out_dir.join("never.bin");
    let out = decrypt(config, sealed, &target);
    // Not enough servers accept the token: status 3.
    out.expect_code(3);
    let lower = out.stderr.to_lowercase();
    assert!(
        lower.contains("refused") || lower.contains("unauthori"),
        "{}",
        out.stderr
    );
    for url in urls {
        assert!(
            out.stderr
                .lines()
                .any(|l| l.contains(url.as_str()) && l.contains("refused")),
            "{url} not named as refusing:\n{}",
            out.stderr
        );
    }
    assert_eq!(listing(out_dir), Vec::<String>::new(), "no output at all");
}

#[test]
fn wrong_revoked_and_foreign_tokens_are_refused_and_write_nothing() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let plain = work.join("c.bin");
    let sealed = work.join("c.slock");
    let data = random_bytes(20_000);
    write_sample(&plain, &data, 0o600, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);
    let out_dir = work.join("out");
    fs::create_dir(&out_dir).expect("out dir");
    let urls: Vec<String> = (1..=3).map(|k| cluster.url(k)).collect();

    // Wrong inline tokens for two of the three servers.
    let wrong = work.join("wrong-tokens.toml");
    rewrite_servers(&config, &wrong, |s| {
        if s.participant <= 2 {
            s.token = TokenSource::Inline(Token::new(format!("slk_wrong{}", s.participant)));
        }
    });
    assert_refused(&wrong, &sealed, &out_dir, &urls[..2]);

    // Tokens for another keyset on the same servers.
    let admin_tokens = work.join("admin-tokens");
    cluster.write_admin_tokens(&admin_tokens);
    let other = work.join("other.toml");
    let mut args = vec![
        OsString::from("keyset"),
        "create".into(),
        "other".into(),
        "--threshold".into(),
        "2".into(),
    ];
    for k in 1..=3u16 {
        let fp = State::load(&cluster.node_dir(k))
            .expect("state")
            .fingerprint();
        args.push("--server".into());
        args.push(format!("{}#sha256:{}", cluster.url(k), hex(&fp)).into());
    }
    args.push("--admin-token-file".into());
    args.push(admin_tokens.clone().into());
    let args: Vec<&OsStr> = args.iter().map(OsString::as_os_str).collect();
    run(with_config(&other, &args)).expect_code(0);
    let other_config = Config::load(&other).expect("other config");
    let other_servers = other_config
        .entry("other")
        .expect("other")
        .servers()
        .to_vec();
    let foreign = work.join("foreign-tokens.toml");
    rewrite_servers(&config, &foreign, |s| {
        s.token = other_servers[usize::from(s.participant) - 1].token.clone();
    });
    assert_refused(&foreign, &sealed, &out_dir, &urls);
    // Those tokens do work for their own keyset.
    let other_sealed = work.join("other.slock");
    let other_out = work.join("other.out");
    encrypt(&other, &plain, &other_sealed).expect_code(0);
    decrypt(&other, &other_sealed, &other_out).expect_code(0);
    assert!(fs::read(&other_out).expect("other out") == data);

    // The real tokens, revoked at two servers through the admin API.
    for k in [1, 2] {
        let info = cluster.admin(k).revoke_client(DEV_CLIENT).expect("revoke");
        assert_eq!(info.name, DEV_CLIENT);
    }
    assert_refused(&config, &sealed, &out_dir, &urls[..2]);
    assert_no_temp_files(&work);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 7. Damaged and foreign files.

#[test]
fn tampered_truncated_and_foreign_files_fail_with_one_line_and_no_output() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let data = random_bytes(100_000); // 7 chunks: 6 full and a short one
    let plain = work.join("d.bin");
    let sealed = work.join("d.slock");
    write_sample(&plain, &data, 0o600, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);
    let good = fs::read(&sealed).expect("sealed");
    let h = header_len(&good);
    // Threshold stanza: type at 14, length at 15..17, keyset id 17..49,
    // W 49..81, wrapped key 81..129; the metadata stanza follows.
    assert!(h > 129 + 3 + 16, "a metadata stanza follows the key stanza");
    let flip = |at: usize| {
        let mut bytes = good.clone();
        bytes[at] ^= 0x01;
        bytes
    };
    let mut cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("magic", flip(0), "not a shardlock file"),
        ("version", flip(9), "version"),
        ("keyset-id", flip(20), "keyset"),
        ("ephemeral", flip(60), ""),
        ("wrapped-key", flip(100), "wrapped key"),
        ("metadata", flip(h - 5), "metadata"),
        ("salt", flip(h + 3), ""),
        ("commitment", flip(h + 30), ""),
        ("body-chunk", flip(h + 56 + 1000), "chunk 0"),
        ("middle-chunk", flip(h + 56 + 3 * 16400 + 7), "chunk 3"),
        ("final-chunk", flip(good.len() - 3), "chunk 6"),
        ("cut-middle", good[..good.len() / 2].to_vec(), ""),
        ("cut-last-byte", good[..good.len() - 1].to_vec(), ""),
        ("cut-at-chunk", good[..h + 56 + 16400].to_vec(), "truncated"),
        ("header-only", good[..h].to_vec(), "truncated"),
        (
            "cut-in-header",
            good[..h / 2].to_vec(),
            "header is truncated",
        ),
        ("trailing-garbage", [good.as_slice(), b"x"].concat(), ""),
        (
            "trailing-chunk",
            [good.as_slice(), &good[h + 56..h + 56 + 16400]].concat(),
            "",
        ),
        ("random", random_bytes(5000), "not a shardlock file"),
        ("empty", Vec::new(), ""),
        (
            "age",
            [
                b"age-encryption.org/v1\n-> X25519 c29tZQ\nYWJj\n--- ZGVm\n".as_slice(),
                &random_bytes(200),
            ]
            .concat(),
            "not a shardlock file",
        ),
        (
            "png",
            [
                b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".as_slice(),
                &random_bytes(200),
            ]
            .concat(),
            "not a shardlock file",
        ),
    ];
    // A future format version the reader must refuse.
    let mut v2 = good.clone();
    v2[9] = 2;
    cases.push(("version-2", v2, "version 2"));

    let out_dir = work.join("out");
    fs::create_dir(&out_dir).expect("out dir");
    let bad_dir = work.join("bad");
    fs::create_dir(&bad_dir).expect("bad dir");
    for (name, bytes, phrase) in &cases {
        let input = bad_dir.join(name);
        fs::write(&input, bytes).expect("write case");
        let out = decrypt(&config, &input, &out_dir.join(name));
        // A changed keyset id reads as a file for a keyset not configured
        // here (1); every other damage is an integrity failure (4).
        let expected = if *name == "keyset-id" { 1 } else { 4 };
        assert_eq!(out.code(), Some(expected), "{name}: {}", out.stderr);
        let line = out.one_error_line();
        assert!(line.contains(phrase), "{name}: {line}");
        assert_eq!(
            listing(&out_dir),
            Vec::<String>::new(),
            "{name}: output left"
        );
    }

    // To stdout only authenticated chunks come out, and the status is 4.
    let out = run(with_config(
        &config,
        &[os("decrypt"), bad_dir.join("final-chunk").as_os_str()],
    ));
    out.expect_code(4);
    assert!(out.stdout.len() <= 6 * CHUNK, "{}", out.stdout.len());
    assert!(data.starts_with(&out.stdout));
    assert!(out.one_error_line().contains("chunk 6"));

    // The good file still decrypts.
    decrypt(&config, &sealed, &out_dir.join("good")).expect_code(0);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 8. Bad configuration (no cluster needed).

/// A config for a freshly dealt keyset whose servers do not exist: enough
/// to encrypt offline.
pub(crate) fn offline_config(path: &Path) {
    let (public, _shares) = deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
    let servers = (1..=3u16)
        .map(|k| ServerEntry {
            participant: k,
            url: format!("https://127.0.0.1:{}", 9 + k),
            fingerprint: Some([k as u8; 32]),
            identity: None,
            token: TokenSource::Inline(Token::new(format!("slk_offline{k}"))),
        })
        .collect();
    let mut config = Config::new();
    config
        .add_keyset("offline", KeysetEntry::new(public, servers).expect("entry"))
        .expect("add");
    config.set_default_keyset(Some("offline")).expect("default");
    config.save(path).expect("save");
}

#[test]
fn garbage_or_missing_config_is_a_usage_error_naming_the_file() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    let good = dir.join("good.toml");
    offline_config(&good);
    let plain = dir.join("e.bin");
    let sealed = dir.join("e.slock");
    write_sample(&plain, b"hello", 0o600, (1_500_000_000, 0));
    // Encryption needs no server at all.
    encrypt(&good, &plain, &sealed).expect_code(0);

    let good_text = fs::read_to_string(&good).expect("config text");
    let fp_line = good_text
        .lines()
        .position(|l| l.starts_with("fingerprint = "))
        .expect("a fingerprint line")
        + 1;
    let bad_fp = good_text.replacen("fingerprint = \"sha256:", "fingerprint = \"sha256:zz", 1);
    let cases: Vec<(&str, Vec<u8>, Vec<String>)> = vec![
        (
            "binary.toml",
            vec![0x00, 0xff, 0xfe, 0x80, 0x01, 0x02, b'\n', 0xc3],
            vec![":1:".into(), "UTF-8".into()],
        ),
        (
            "invalid.toml",
            b"default_keyset = \"dev\"\n[keysets.dev\nthreshold = 2\n".to_vec(),
            vec![":2:".into()],
        ),
        (
            "bad-fingerprint.toml",
            bad_fp.into_bytes(),
            vec![format!(":{fp_line}:"), "fingerprint".into()],
        ),
    ];
    let out_dir = dir.join("out");
    fs::create_dir(&out_dir).expect("out dir");
    for (name, bytes, wanted) in &cases {
        let path = dir.join(name);
        write_private(&path, bytes);
        let shown = path.display().to_string();
        let runs = [
            encrypt(&path, &plain, &out_dir.join("x.slock")),
            decrypt(&path, &sealed, &out_dir.join("x.bin")),
            run(with_config(&path, &[os("status")])),
        ];
        for out in &runs {
            out.expect_code(2);
            let first = out.stderr.lines().next().unwrap_or_default();
            assert!(first.starts_with("shardlock: error: "), "{}", out.stderr);
            assert!(first.contains(&shown), "{name}: {}", out.stderr);
            for w in wanted {
                assert!(
                    first.contains(w.as_str()),
                    "{name}: want {w:?}: {}",
                    out.stderr
                );
            }
        }
        assert_eq!(listing(&out_dir), Vec::<String>::new());
    }

    // Tokens in a file others can read are refused once they are needed
    // (decrypt; encrypt uses only the public part), with the fix.
    let open = dir.join("world-readable.toml");
    fs::write(&open, &good_text).expect("write");
    fs::set_permissions(&open, fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = decrypt(&open, &sealed, &out_dir.join("x.bin"));
    out.expect_code(2);
    assert!(out
        .stderr
        .contains(&format!("chmod 600 {}", open.display())));

    // Missing: --config, $SHARDLOCK_CONFIG, then $HOME's default.
    let missing = dir.join("missing.toml");
    let out = encrypt(&missing, &plain, &out_dir.join("x.slock"));
    out.expect_code(2);
    let line = out.one_error_line();
    assert!(line.contains(&missing.display().to_string()), "{line}");
    assert!(line.contains("shardlock keyset create"), "{line}");
    assert!(line.contains("dev-cluster"), "{line}");

    let mut cmd = shardlock([os("decrypt"), os("-o"), os("-"), sealed.as_os_str()]);
    cmd.env("SHARDLOCK_CONFIG", &missing);
    let out = exec(cmd, None);
    out.expect_code(2);
    assert!(out
        .one_error_line()
        .contains(&missing.display().to_string()));

    let home = dir.join("home");
    fs::create_dir(&home).expect("home");
    let mut cmd = shardlock([os("encrypt"), os("-o"), os("-"), plain.as_os_str()]);
    cmd.env("HOME", &home);
    let out = exec(cmd, None);
    out.expect_code(2);
    let expected = home.join(".config").join("shardlock").join("config.toml");
    assert!(
        out.one_error_line()
            .contains(&expected.display().to_string()),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(listing(&out_dir), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// 9. Refusals.

#[test]
fn existing_outputs_are_only_replaced_with_force() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let data = random_bytes(10_000);
    let plain = work.join("f.bin");
    let sealed = work.join("f.slock");
    write_sample(&plain, &data, 0o640, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);

    let existing = work.join("existing");
    let precious_time = (1_000_000_000, 0);
    write_sample(&existing, b"precious", 0o600, precious_time);
    let before = fs::metadata(&existing)
        .expect("meta")
        .modified()
        .expect("mtime");

    let out = decrypt(&config, &sealed, &existing);
    out.expect_code(2);
    assert!(out.one_error_line().contains("--force"), "{}", out.stderr);
    let out = encrypt(&config, &plain, &existing);
    out.expect_code(2);
    assert!(out.one_error_line().contains("--force"), "{}", out.stderr);
    assert_eq!(fs::read(&existing).expect("existing"), b"precious");
    assert_eq!(
        fs::metadata(&existing)
            .expect("meta")
            .modified()
            .expect("mtime"),
        before
    );
    assert_no_temp_files(&work);

    // --force replaces it (decrypt), and again (encrypt).
    let out = run(with_config(
        &config,
        &[
            os("decrypt"),
            os("--force"),
            os("-o"),
            existing.as_os_str(),
            sealed.as_os_str(),
        ],
    ));
    out.expect_code(0);
    assert!(fs::read(&existing).expect("existing") == data);
    let out = run(with_config(
        &config,
        &[
            os("encrypt"),
            os("-f"),
            os("-o"),
            existing.as_os_str(),
            plain.as_os_str(),
        ],
    ));
    out.expect_code(0);
    let again = work.join("again.bin");
    decrypt(&config, &existing, &again).expect_code(0);
    assert!(fs::read(&again).expect("again") == data);

    // No input file and a non-terminal, empty stdin: an empty plaintext.
    let empty = work.join("empty.slock");
    run(with_config(
        &config,
        &[os("encrypt"), os("-o"), empty.as_os_str()],
    ))
    .expect_code(0);
    let out = run(with_config(&config, &[os("decrypt"), empty.as_os_str()]));
    out.expect_code(0);
    assert!(out.stdout.is_empty());

    // A directory is not an input.
    let out = run(with_config(
        &config,
        &[os("decrypt"), os("-o"), os("-"), work.as_os_str()],
    ));
    out.expect_code(2);
    assert!(out.one_error_line().contains("is a directory"));
    assert_no_temp_files(&work);
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 10. keyset create and status.

#[test]
fn keyset_create_refuses_bad_thresholds_and_duplicates_without_contacting_servers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let listeners: Vec<TcpListener> = (0..2)
        .map(|_| {
            let l = TcpListener::bind("127.0.0.1:0").expect("bind");
            l.set_nonblocking(true).expect("nonblocking");
            l
        })
        .collect();
    let urls: Vec<String> = listeners
        .iter()
        .map(|l| format!("https://{}", l.local_addr().expect("addr")))
        .collect();
    let admin = tmp.path().join("admin-tokens");
    write_private(&admin, b"slk_admin1\nslk_admin2\n");
    let config = tmp.path().join("config.toml");
    let slash = format!("{}/", urls[0]);
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        ("0", vec![&urls[0], &urls[1]], "--threshold"),
        ("3", vec![&urls[0], &urls[1]], "--threshold"),
        ("1", vec![&urls[0], &urls[0]], "listed twice"),
        ("2", vec![&urls[1], &slash, &urls[0]], "listed twice"),
    ];
    for (threshold, servers, phrase) in &cases {
        let mut args: Vec<OsString> = vec![
            "--config".into(),
            config.clone().into(),
            "keyset".into(),
            "create".into(),
            "t".into(),
            "--threshold".into(),
            OsString::from(*threshold),
            "--admin-token-file".into(),
            admin.clone().into(),
        ];
        for s in servers {
            args.push("--server".into());
            args.push(OsString::from(*s));
        }
        let out = run(&args);
        out.expect_code(2);
        assert!(
            out.one_error_line().contains(phrase),
            "T={threshold} {servers:?}: {}",
            out.stderr
        );
        assert!(!config.exists(), "no config written");
    }
    // A negative threshold is a usage error from the parser itself.
    let out = run([
        os("keyset"),
        os("create"),
        os("t"),
        os("--threshold"),
        os("-1"),
        os("--server"),
        os(&urls[0]),
    ]);
    out.expect_code(2);
    for l in &listeners {
        match l.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("a server was contacted: {other:?}"),
        }
    }
}

#[test]
fn status_reports_every_server_and_fails_below_threshold_naming_them() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let urls: Vec<String> = (1..=3).map(|k| cluster.url(k)).collect();
    let status = || run(with_config(&config, &[os("status")]));
    let line_for = |out: &Out, url: &str| {
        out.stdout_text()
            .lines()
            .find(|l| l.contains(&format!("{url} ")))
            .unwrap_or_else(|| panic!("no line for {url}:\n{}", out.stdout_text()))
            .to_string()
    };

    let out = status();
    out.expect_code(0);
    assert!(
        out.stdout_text().contains("2-of-3"),
        "{}",
        out.stdout_text()
    );
    for url in &urls {
        let line = line_for(&out, url);
        assert!(line.contains("[ok]"), "{line}");
        assert!(
            line.contains("pinned") && line.contains("share ok"),
            "{line}"
        );
    }

    // One down: still enough to decrypt, so still 0, but it is flagged.
    cluster.kill_node(3);
    let out = status();
    out.expect_code(0);
    assert!(line_for(&out, &urls[2]).contains("[!!]"));

    cluster.kill_node(2);
    let out = status();
    out.expect_code(3);
    assert!(line_for(&out, &urls[0]).contains("[ok]"));
    for url in &urls[1..] {
        let line = line_for(&out, url);
        assert!(
            line.contains("[!!]") && line.contains("unreachable"),
            "{line}"
        );
    }
    assert!(
        out.stderr.contains("only 1 of 3 servers are healthy"),
        "{}",
        out.stderr
    );
    cluster.stop();
}

// ---------------------------------------------------------------------------
// 11. demo.

#[test]
fn demo_exits_0() {
    let home = tempfile::tempdir().expect("tempdir");
    let mut cmd = shardlock([os("demo")]);
    cmd.env("HOME", home.path()).env("TMPDIR", home.path());
    let out = exec(cmd, None);
    out.expect_code(0);
    let text = out.stdout_text();
    assert!(text.contains("identical"), "{text}");
    assert!(text.contains("removed"), "{text}");
    // It cleaned up after itself and touched nothing in HOME.
    assert_eq!(listing(home.path()), Vec::<String>::new());
}

// ---------------------------------------------------------------------------
// Regression: decrypt used to ask the servers before it checks the
// output, so `-o EXISTING` without --force cost t audited evaluations, and
// with too few servers up it failed with exit 1 about the servers instead
// of refusing with exit 2.

#[test]
fn decrypt_refuses_an_existing_output_before_contacting_servers() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let plain = work.join("h.bin");
    let sealed = work.join("h.slock");
    write_sample(&plain, b"data", 0o600, (1_500_000_000, 0));
    encrypt(&config, &plain, &sealed).expect_code(0);
    let existing = work.join("existing");
    fs::write(&existing, b"precious").expect("write");
    cluster.kill_node(2);
    cluster.kill_node(3);
    let out = decrypt(&config, &sealed, &existing);
    assert_eq!(fs::read(&existing).expect("existing"), b"precious");
    out.expect_code(2);
    assert!(out.one_error_line().contains("--force"), "{}", out.stderr);
    let audit = fs::read_to_string(cluster.node_dir(1).join("audit.log")).unwrap_or_default();
    assert!(!audit.contains("evaluate"), "node1 was asked:\n{audit}");
    cluster.stop();
}

// ---------------------------------------------------------------------------
// Regression: dev-cluster printed its ready line before it
// installed its SIGTERM handler, so a SIGTERM right after "ready" killed it
// by the default disposition (status 143) and left the nodes' pid files
// behind. A shell's builtin `kill` sends the signal fast enough to hit it.

#[test]
fn dev_cluster_stops_cleanly_on_sigterm_right_after_ready() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let script = r#"
        coproc DC { exec "$1" dev-cluster --dir "$2" 2>/dev/null; }
        while read -r line <&"${DC[0]}"; do
            case $line in *ready*) kill -TERM "$DC_PID"; break;; esac
        done
        wait "$DC_PID"
        echo "status $?"
    "#;
    for round in 0..10 {
        let dir = tmp.path().join(format!("cluster{round}"));
        let out = Command::new("bash")
            .args(["-c", script, "bash"])
            .arg(BIN)
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("bash");
        let said = String::from_utf8_lossy(&out.stdout);
        let left: Vec<u16> = (1..=3)
            .filter(|k| dir.join(format!("node{k}/pid")).exists())
            .collect();
        // Whatever happened, make sure no node survives this test.
        for k in 1..=3 {
            let node = dir.join(format!("node{k}"));
            if let Some(pid) = fs::read_to_string(node.join("pid"))
                .ok()
                .and_then(|t| t.trim().parse::<u32>().ok())
            {
                if alive(pid, &node) {
                    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
                }
            }
        }
        assert_eq!(
            said.trim(),
            "status 0",
            "round {round}: pid files left: {left:?}"
        );
        assert!(left.is_empty(), "round {round}: pid files left: {left:?}");
    }
}

/// Regression: a named pipe given as INPUT (`encrypt <(cmd)`) was stat'ed as
/// a zero-byte file, and the "file changed while encrypting" check then
/// refused every byte that came through it.
#[test]
fn a_named_pipe_input_is_encrypted_as_a_stream() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("config.toml");
    offline_config(&config);
    let fifo = tmp.path().join("fifo");
    let status = Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
    assert!(status.success());
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::write(&fifo, b"through a pipe").expect("write fifo"))
    };
    let sealed = tmp.path().join("out.slock");
    let out = run([
        os("--config"),
        config.as_os_str(),
        os("encrypt"),
        os("-o"),
        sealed.as_os_str(),
        fifo.as_os_str(),
    ]);
    writer.join().expect("writer");
    out.expect_code(0);
    let inspected = run([os("inspect"), os("--json"), sealed.as_os_str()]);
    let json = String::from_utf8_lossy(&inspected.stdout);
    assert!(json.contains("\"plaintext_bytes\":14"), "{json}");
    assert!(json.contains("\"metadata\":false"), "{json}");
}

/// The owner cuts a client off by revoking its token at n - t + 1 servers;
/// `keyset revoke-client` does that and refuses to claim success with
/// fewer.
#[test]
fn revoke_client_cuts_the_client_off_and_needs_n_minus_t_plus_1_servers() {
    let cluster = Cluster::start(3, 2);
    let config = cluster.config();
    let work = cluster.work();
    let plain = work.join("plain.txt");
    fs::write(&plain, b"before revocation").expect("write");
    let sealed = work.join("plain.slock");
    encrypt(&config, &plain, &sealed).expect_code(0);
    let admin_tokens = work.join("admin-tokens");
    cluster.write_admin_tokens(&admin_tokens);
    let revoke = |client: &str| {
        run(with_config(
            &config,
            &[
                os("keyset"),
                os("revoke-client"),
                os(client),
                os("--admin-token-file"),
                admin_tokens.as_os_str(),
                // dev-client is this config's own client.
                os("--force"),
            ],
        ))
    };

    // An unknown client is revoked nowhere: a failure naming each server.
    let out = revoke("nobody");
    out.expect_code(1);
    assert!(
        out.stderr.contains("revoked at only 0 of 3"),
        "{}",
        out.stderr
    );

    // One server down: revoked at 2 of 3 = n - t + 1, enough to cut the
    // client off; the missed server is named in a warning.
    cluster.kill_node(3);
    let out = revoke("dev-client");
    out.expect_code(0);
    assert!(
        out.stderr.contains("not revoked at") && out.stderr.contains(&cluster.url(3)),
        "{}",
        out.stderr
    );
    let restored = work.join("restored.txt");
    let out = decrypt(&config, &sealed, &restored);
    out.expect_code(3);
    assert!(out.stderr.contains("revoked"), "{}", out.stderr);
    assert!(!restored.exists());
}
