//! Shares sealed at rest, through the real binary: `server init` with a
//! passphrase, a sealed start that refuses evaluation (503) until `server
//! unseal`, a wrong passphrase refused in one line, `server seal` changing
//! the passphrase, and `server backup` of a running server restored and
//! unsealed elsewhere. Nothing of a share is ever in the database in clear.

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rand::rngs::OsRng;

use shardlock::client::http::{AdminClient, HttpKeyService, HttpOptions};
use shardlock::client::ServerEndpoint;
use shardlock::protocol::{CreateClientRequest, InstallShareRequest, Token};
use shardlock::threshold::kem::{deal, KeyService, PublicKeyset, ServiceError};
use shardlock::threshold::shamir::SecretShare;

use crate::cli::{run, shardlock};

const PASSPHRASE: &str = "a long and fine passphrase";

/// A `shardlock server run` child process, stopped with SIGTERM on drop.
struct ServerProcess {
    child: Child,
    url: String,
    log: PathBuf,
}

impl ServerProcess {
    fn start(dir: &Path, extra: &[&str]) -> Self {
        let log = dir.with_extension(format!("log{}", extra.len()));
        let mut cmd: Command = shardlock(
            ["server", "run", "--dir"]
                .iter()
                .map(|s| std::ffi::OsString::from(*s))
                .chain([dir.as_os_str().to_owned()])
                .chain(["--listen", "127.0.0.1:0"].map(Into::into))
                .chain(extra.iter().map(|s| std::ffi::OsString::from(*s))),
        );
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&log).expect("log"));
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("listening line");
        let url = line
            .trim()
            .strip_prefix("shardlock server listening on ")
            .unwrap_or_else(|| {
                panic!(
                    "no listening line ({line:?}); log:\n{}",
                    fs::read_to_string(&log).unwrap_or_default()
                )
            })
            .to_string();
        Self { child, url, log }
    }

    fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn stop(mut self) {
        self.terminate();
    }

    fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.terminate();
        }
    }
}

fn private_file(path: &Path, text: &str) {
    fs::write(path, text).expect("write");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod");
}

/// `server init --passphrase-file`: the admin token and fingerprint.
fn init_sealed(dir: &Path, passphrase_file: &Path) -> (Token, [u8; 32]) {
    let out = run([
        "server".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--passphrase-file".as_ref(),
        passphrase_file.as_os_str(),
    ]);
    out.expect_code(0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("shares sealed with:      a passphrase"),
        "{text}"
    );
    let token = text
        .lines()
        .find(|l| l.starts_with("slk_"))
        .expect("admin token line")
        .to_string();
    let fingerprint = shardlock::server::certificate_fingerprint(dir).expect("fingerprint");
    (Token::new(token), fingerprint)
}

struct Fixture {
    keyset: PublicKeyset,
    shares: Vec<SecretShare>,
    client_token: String,
}

/// Installs share 1 of a fresh 2-of-3 keyset and a client for it.
fn install(url: &str, admin: &Token, fingerprint: [u8; 32]) -> Fixture {
    let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).expect("deal");
    let keyset_id = shardlock::encoding::hex(keyset.id());
    let admin = AdminClient::new(
        url,
        Some(fingerprint),
        admin.clone(),
        &HttpOptions::default(),
    )
    .expect("admin client");
    admin
        .install_share(&keyset_id, &InstallShareRequest::new(&keyset, &shares[0]))
        .expect("install");
    let created = admin
        .create_client(&CreateClientRequest {
            name: "laptop".into(),
            keysets: vec![keyset_id.clone()],
        })
        .expect("client");
    Fixture {
        keyset,
        shares,
        client_token: created.token,
    }
}

fn evaluate(url: &str, fingerprint: [u8; 32], fixture: &Fixture) -> Result<(), ServiceError> {
    let service = HttpKeyService::new(
        vec![ServerEndpoint {
            participant: 1,
            url: url.to_string(),
            fingerprint: Some(fingerprint),
            token: Some(Token::new(fixture.client_token.clone())),
        }],
        HttpOptions::default(),
    )
    .expect("service");
    let blinded = [curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT];
    service
        .evaluate(&fixture.keyset, &[1], &blinded)
        .pop()
        .expect("one answer")
        .map(drop)
}

fn health_status(url: &str, fingerprint: [u8; 32], admin: &Token) -> String {
    AdminClient::new(
        url,
        Some(fingerprint),
        admin.clone(),
        &HttpOptions::default(),
    )
    .expect("admin client")
    .health()
    .expect("health")
    .status
}

/// The share's encodings must not appear in any database file.
fn assert_no_share_in_clear(dir: &Path, fixture: &Fixture) {
    let request = InstallShareRequest::new(&fixture.keyset, &fixture.shares[0]);
    for name in ["state.db", "state.db-wal"] {
        let Ok(bytes) = fs::read(dir.join(name)) else {
            continue;
        };
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains(&request.share),
            "{name} holds the share in clear"
        );
    }
}

fn unseal(url: &str, dir: &Path, admin_file: &Path, passphrase_file: &Path) -> crate::cli::Out {
    run([
        "server".as_ref(),
        "unseal".as_ref(),
        "--server".as_ref(),
        url.as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--admin-token-file".as_ref(),
        admin_file.as_os_str(),
        "--passphrase-file".as_ref(),
        passphrase_file.as_os_str(),
    ])
}

#[test]
fn a_sealed_server_refuses_evaluation_until_unsealed_and_a_wrong_passphrase_is_one_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("server");
    let pass = tmp.path().join("pass");
    let wrong = tmp.path().join("wrong");
    let admin_file = tmp.path().join("admin");
    private_file(&pass, &format!("{PASSPHRASE}\n"));
    private_file(&wrong, "not the passphrase at all\n");
    let (admin, fingerprint) = init_sealed(&dir, &pass);
    private_file(&admin_file, &format!("{}\n", admin.expose()));

    // Started with the passphrase: open at once.
    let server = ServerProcess::start(&dir, &["--passphrase-file", pass.to_str().unwrap()]);
    let fixture = install(&server.url, &admin, fingerprint);
    evaluate(&server.url, fingerprint, &fixture).expect("open server evaluates");
    server.stop();
    assert_no_share_in_clear(&dir, &fixture);

    // Started without it: sealed; health says so, evaluation is a 503.
    let server = ServerProcess::start(&dir, &[]);
    assert_eq!(health_status(&server.url, fingerprint, &admin), "sealed");
    let err = evaluate(&server.url, fingerprint, &fixture).expect_err("sealed must refuse");
    assert!(
        matches!(&err, ServiceError::Unavailable(m) if m.contains("sealed") && m.contains("503")),
        "{err:?}"
    );

    // A wrong passphrase: exit 1, one line, still sealed.
    let out = unseal(&server.url, &dir, &admin_file, &wrong);
    out.expect_code(1);
    assert_eq!(out.stderr_lines().len(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("wrong passphrase"), "{}", out.stderr);
    assert!(!out.stderr.contains("not the passphrase"), "{}", out.stderr);
    assert_eq!(health_status(&server.url, fingerprint, &admin), "sealed");

    // The right one: served at once, no restart.
    let out = unseal(&server.url, &dir, &admin_file, &pass);
    out.expect_code(0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("unsealed, serving 1 keyset(s)"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(health_status(&server.url, fingerprint, &admin), "ok");
    evaluate(&server.url, fingerprint, &fixture).expect("unsealed server evaluates");
    let log = server.log();
    assert!(log.contains("sealed from"), "{log}");
    assert!(!log.contains(PASSPHRASE), "{log}");
    server.stop();

    // A wrong passphrase at start stops the server with one clear line.
    let out = run([
        "server".as_ref(),
        "run".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--passphrase-file".as_ref(),
        wrong.as_os_str(),
    ]);
    out.expect_code(1);
    assert!(out.stderr.contains("wrong passphrase"), "{}", out.stderr);
}

#[test]
fn a_backup_of_a_running_server_restores_sealed_and_a_new_passphrase_replaces_the_old() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("server");
    let pass = tmp.path().join("pass");
    let new_pass = tmp.path().join("new-pass");
    private_file(&pass, PASSPHRASE);
    private_file(&new_pass, "another long passphrase\n");
    let (admin, fingerprint) = init_sealed(&dir, &pass);
    let server = ServerProcess::start(&dir, &["--passphrase-file", pass.to_str().unwrap()]);
    let fixture = install(&server.url, &admin, fingerprint);

    // Backed up while it serves.
    let backup = tmp.path().join("backup");
    let out = run([
        "server".as_ref(),
        "backup".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--out".as_ref(),
        backup.as_os_str(),
    ]);
    out.expect_code(0);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.contains("backed up 1 key(s) and 1 client(s)") && text.contains("a passphrase"),
        "{text}"
    );
    evaluate(&server.url, fingerprint, &fixture).expect("still serving after the backup");
    server.stop();
    assert_no_share_in_clear(&backup, &fixture);
    let mode = fs::metadata(backup.join("state.db"))
        .unwrap()
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    // A second backup to the same place is refused.
    let again = run([
        "server".as_ref(),
        "backup".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--out".as_ref(),
        backup.as_os_str(),
    ]);
    again.expect_code(1);
    assert!(again.stderr.contains("not empty"), "{}", again.stderr);

    // Restored elsewhere: same certificate, sealed until unsealed.
    let restored = tmp.path().join("restored");
    fs::rename(&backup, &restored).expect("move into place");
    let server = ServerProcess::start(&restored, &[]);
    assert_eq!(health_status(&server.url, fingerprint, &admin), "sealed");
    server.stop();
    let server = ServerProcess::start(&restored, &["--passphrase-file", pass.to_str().unwrap()]);
    evaluate(&server.url, fingerprint, &fixture).expect("the restored server evaluates");
    server.stop();

    // A new passphrase for the original: the old one stops working.
    let out = run([
        "server".as_ref(),
        "seal".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--passphrase-file".as_ref(),
        pass.as_os_str(),
        "--new-passphrase-file".as_ref(),
        new_pass.as_os_str(),
    ]);
    out.expect_code(0);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("1 key(s) now sealed with a passphrase"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let old = run([
        "server".as_ref(),
        "run".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--listen".as_ref(),
        "127.0.0.1:0".as_ref(),
        "--passphrase-file".as_ref(),
        pass.as_os_str(),
    ]);
    old.expect_code(1);
    assert!(old.stderr.contains("wrong passphrase"), "{}", old.stderr);
    let server = ServerProcess::start(&dir, &["--passphrase-file", new_pass.to_str().unwrap()]);
    evaluate(&server.url, fingerprint, &fixture).expect("the new passphrase opens it");
    server.stop();
}

#[test]
fn init_without_a_secret_or_terminal_is_a_usage_error_and_writes_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("server");
    let out = run([
        "server".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
    ]);
    out.expect_code(2);
    assert!(out.stderr.contains("--insecure-no-seal"), "{}", out.stderr);
    assert!(!dir.exists());
    // A short passphrase is refused before anything is written.
    let short = tmp.path().join("short");
    private_file(&short, "short\n");
    let out = run([
        "server".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--passphrase-file".as_ref(),
        short.as_os_str(),
    ]);
    out.expect_code(2);
    assert!(out.stderr.contains("shorter than 12"), "{}", out.stderr);
    assert!(!dir.join("server.toml").exists());
    // A key file is created, private, and opens the seal.
    let key_file = tmp.path().join("seal.key");
    let out = run([
        "server".as_ref(),
        "init".as_ref(),
        "--dir".as_ref(),
        dir.as_os_str(),
        "--key-file".as_ref(),
        key_file.as_os_str(),
    ]);
    out.expect_code(0);
    assert_eq!(
        fs::metadata(&key_file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let state = shardlock::server::State::load(&dir).expect("load");
    assert!(state.is_sealed());
    let key = shardlock::server::seal::read_key_file(&key_file).expect("key file");
    let state = shardlock::server::State::open(
        &dir,
        Some(&shardlock::server::seal::SealChoice::Secret(
            shardlock::server::seal::UnsealSecret::KeyFile(key),
        )),
    )
    .expect("opens with the key file");
    assert!(!state.is_sealed());
}
