//! Shared helpers for network tests: real key-share servers started
//! in-process with `server::run` on 127.0.0.1:0 (real TLS, state dirs made
//! by `server::init` in a temporary directory), a dealt keyset installed
//! over HTTPS, and a lying test double speaking the real protocol.

#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::Path as UrlPath;
use axum::routing::post;
use axum::{Json, Router};
use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use shardlock::client::http::{AdminClient, HttpKeyService, HttpOptions};
use shardlock::client::ServerEndpoint;
use shardlock::encoding::b64;
use shardlock::envelope::keywrap::wrap;
use shardlock::format::ThresholdStanza;
use shardlock::protocol::Token;
use shardlock::protocol::{
    b64_element, unb64_element, CreateClientRequest, EvaluateRequest, EvaluateResponse,
    InstallShareRequest,
};
use shardlock::secret::DataKey;
use shardlock::server::seal::SealChoice;
use shardlock::server::{self, ServerError, State};
use shardlock::threshold::kem::{deal, PublicKeyset};
use shardlock::threshold::shamir::SecretShare;
use shardlock::threshold::voprf::blind_evaluate_batch;

/// Client name every cluster creates on every server.
pub const CLIENT: &str = "backup";

/// A multi-threaded runtime for the servers; the test thread stays free for
/// the blocking client.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("test runtime")
}

/// A server task with its shutdown trigger.
pub struct Running {
    pub url: String,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServerError>>>,
}

impl Running {
    /// Triggers a graceful shutdown and waits for it to finish.
    pub fn stop(&mut self, rt: &tokio::runtime::Runtime) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            rt.block_on(task)
                .expect("server task panicked")
                .expect("server ended with an error");
        }
    }
}

/// Serves `state` over HTTPS on a fresh loopback port.
pub fn start_https(rt: &tokio::runtime::Runtime, state: Arc<State>) -> Running {
    start_https_at(rt, state, "127.0.0.1:0")
}

/// Serves `state` over HTTPS at `addr` (a stopped server's old port).
pub fn start_https_at(rt: &tokio::runtime::Runtime, state: Arc<State>, addr: &str) -> Running {
    let listener = TcpListener::bind(addr).expect("bind");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let (tx, rx) = oneshot::channel::<()>();
    let task = rt.spawn(server::run(listener, state, async move {
        let _ = rx.await;
    }));
    Running {
        url,
        shutdown: Some(tx),
        task: Some(task),
    }
}

/// Serves the same application over plain HTTP on loopback, so tests can
/// send hand-made (malformed) requests with a plain ureq agent.
pub fn start_plain(rt: &tokio::runtime::Runtime, state: Arc<State>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let app = server::app(state);
    rt.spawn(async move {
        let _ = axum_server::from_tcp(listener)
            .serve(app.into_make_service())
            .await;
    });
    url
}

/// One key-share server of a test cluster.
pub struct Node {
    pub participant: u16,
    pub dir: PathBuf,
    pub fingerprint: [u8; 32],
    pub admin_token: Token,
    pub client_token: Token,
    pub state: Arc<State>,
    pub running: Running,
}

impl Node {
    pub fn url(&self) -> &str {
        &self.running.url
    }

    pub fn admin(&self) -> AdminClient {
        AdminClient::new(
            self.url(),
            Some(self.fingerprint),
            self.admin_token.clone(),
            &HttpOptions::default(),
        )
        .expect("admin client")
    }

    pub fn endpoint(&self) -> ServerEndpoint {
        ServerEndpoint {
            participant: self.participant,
            url: self.running.url.clone(),
            fingerprint: Some(self.fingerprint),
            token: Some(self.client_token.clone()),
        }
    }

    /// The audit log's lines.
    pub fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.join("audit.log"))
            .expect("audit log")
            .lines()
            .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
            .collect()
    }
}

/// Initialises a state dir; `limits` (evaluate requests per second, burst)
/// replace the defaults in `server.toml` when given.
pub fn init_dir(dir: &Path, limits: Option<(f64, u32)>) -> (server::InitReport, Arc<State>) {
    let settings: Vec<(&str, toml::Value)> = match limits {
        Some((per_second, burst)) => vec![
            ("evaluate_per_second", toml::Value::Float(per_second)),
            ("evaluate_burst", toml::Value::Integer(i64::from(burst))),
        ],
        None => Vec::new(),
    };
    init_dir_with(dir, &settings)
}

/// Initialises a state dir with the given `[limits]` keys of `server.toml`
/// replaced.
pub fn init_dir_with(
    dir: &Path,
    limits: &[(&str, toml::Value)],
) -> (server::InitReport, Arc<State>) {
    let report = server::init(dir, &[], &SealChoice::Insecure).expect("init");
    let path = dir.join("server.toml");
    let mut text = std::fs::read_to_string(&path).expect("server.toml");
    // Keep test output quiet: audit lines go to the file only.
    text = text.replace("stderr = true", "stderr = false");
    if !limits.is_empty() {
        let mut table: toml::Table = text.parse().expect("server.toml parses");
        let section = table
            .get_mut("limits")
            .and_then(toml::Value::as_table_mut)
            .expect("[limits]");
        for (key, value) in limits {
            section.insert((*key).into(), value.clone());
        }
        text = toml::to_string(&table).expect("server.toml");
    }
    std::fs::write(&path, text).expect("server.toml");
    let state = Arc::new(State::load(dir).expect("load"));
    (report, state)
}

/// `n` servers holding a `t`-of-`n` keyset, one client token each.
pub struct Cluster {
    pub rt: tokio::runtime::Runtime,
    pub nodes: Vec<Node>,
    pub keyset: PublicKeyset,
    pub shares: Vec<SecretShare>,
    pub keyset_id: String,
    pub tmp: tempfile::TempDir,
}

impl Cluster {
    pub fn new(threshold: u16, n: u16) -> Self {
        Self::with_limits(threshold, n, None)
    }

    /// A cluster whose servers use the given evaluate rate limits.
    pub fn with_limits(threshold: u16, n: u16, limits: Option<(f64, u32)>) -> Self {
        let settings: Vec<(&str, toml::Value)> = match limits {
            Some((per_second, burst)) => vec![
                ("evaluate_per_second", toml::Value::Float(per_second)),
                ("evaluate_burst", toml::Value::Integer(i64::from(burst))),
            ],
            None => Vec::new(),
        };
        Self::with_settings(threshold, n, &settings)
    }

    /// A cluster whose servers have these `[limits]` keys in `server.toml`.
    pub fn with_settings(threshold: u16, n: u16, limits: &[(&str, toml::Value)]) -> Self {
        let rt = runtime();
        let tmp = tempfile::tempdir().expect("tempdir");
        let ids: Vec<u16> = (1..=n).collect();
        let (keyset, shares) = deal(threshold, &ids, &mut OsRng).expect("deal");
        let keyset_id = shardlock::encoding::hex(keyset.id());
        let mut nodes = Vec::new();
        for (participant, share) in ids.iter().zip(&shares) {
            let dir = tmp.path().join(format!("node{participant}"));
            let (report, state) = init_dir_with(&dir, limits);
            let running = start_https(&rt, Arc::clone(&state));
            let admin = AdminClient::new(
                &running.url,
                Some(report.fingerprint),
                report.admin_token.clone(),
                &HttpOptions::default(),
            )
            .expect("admin client");
            admin
                .install_share(&keyset_id, &InstallShareRequest::new(&keyset, share))
                .expect("install share");
            let created = admin
                .create_client(&CreateClientRequest {
                    name: CLIENT.into(),
                    keysets: vec![keyset_id.clone()],
                })
                .expect("create client");
            nodes.push(Node {
                participant: *participant,
                dir,
                fingerprint: report.fingerprint,
                admin_token: report.admin_token,
                client_token: Token::new(created.token),
                state,
                running,
            });
        }
        Self {
            rt,
            nodes,
            keyset,
            shares,
            keyset_id,
            tmp,
        }
    }

    pub fn endpoints(&self) -> Vec<ServerEndpoint> {
        self.nodes.iter().map(Node::endpoint).collect()
    }

    pub fn service(&self) -> HttpKeyService {
        HttpKeyService::new(self.endpoints(), HttpOptions::default()).expect("service")
    }

    pub fn node(&self, participant: u16) -> &Node {
        &self.nodes[usize::from(participant) - 1]
    }

    pub fn stop(&mut self, participant: u16) {
        let rt = &self.rt;
        self.nodes[usize::from(participant) - 1].running.stop(rt);
    }
}

/// `count` fresh data keys wrapped for `keyset`.
pub fn wrap_keys(keyset: &PublicKeyset, count: usize) -> (Vec<DataKey>, Vec<ThresholdStanza>) {
    (0..count)
        .map(|_| {
            let dek = DataKey::random(&mut OsRng);
            let stanza = wrap(keyset, &dek, &mut OsRng);
            (dek, stanza)
        })
        .unzip()
}

/// How the test double lies.
#[derive(Debug, Clone, Copy)]
pub enum Lie {
    /// Adds G to the first evaluated element, keeping the honest proof.
    WrongEvaluation,
    /// Honest evaluations, proof with a flipped bit in `c`.
    BrokenProof,
}

/// A fake key-share server with its own self-signed certificate: it holds
/// a real share and speaks the real protocol, but lies as told.
pub struct FakeServer {
    pub url: String,
    pub fingerprint: [u8; 32],
    shutdown: Option<oneshot::Sender<()>>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

pub fn start_fake(rt: &tokio::runtime::Runtime, share: SecretShare, lie: Lie) -> FakeServer {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
        .expect("fake certificate");
    let fingerprint: [u8; 32] = Sha256::digest(certified.cert.der()).into();
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(certified.key_pair.serialize_der().into());
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(vec![certified.cert.der().clone()], key)
    .expect("fake tls config");

    let share = Arc::new(share);
    let app = Router::new().route(
        "/v1/keys/{keyset_id}/evaluate",
        post(
            move |_: UrlPath<String>, Json(request): Json<EvaluateRequest>| {
                let share = Arc::clone(&share);
                async move {
                    let blinded: Vec<RistrettoPoint> = request
                        .blinded
                        .iter()
                        .map(|b| unb64_element(b).expect("element"))
                        .collect();
                    let (mut evaluated, proof) = blind_evaluate_batch(
                        share.value(),
                        &share.public_share(),
                        &blinded,
                        &mut OsRng,
                    )
                    .expect("evaluate");
                    let mut proof_bytes = proof.to_bytes();
                    match lie {
                        Lie::WrongEvaluation => {
                            evaluated[0] += RISTRETTO_BASEPOINT_POINT;
                        }
                        Lie::BrokenProof => proof_bytes[3] ^= 1,
                    }
                    Json(EvaluateResponse {
                        evaluated: evaluated.iter().map(b64_element).collect(),
                        proof: b64(&proof_bytes),
                        epoch: 0,
                    })
                }
            },
        ),
    );
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("https://{}", listener.local_addr().expect("addr"));
    let handle = axum_server::Handle::new();
    let trigger = handle.clone();
    let (tx, rx) = oneshot::channel::<()>();
    rt.spawn(async move {
        let _ = rx.await;
        trigger.shutdown();
    });
    rt.spawn(async move {
        let _ = axum_server::from_tcp_rustls(
            listener,
            axum_server::tls_rustls::RustlsConfig::from_config(Arc::new(config)),
        )
        .handle(handle)
        .serve(app.into_make_service())
        .await;
    });
    FakeServer {
        url,
        fingerprint,
        shutdown: Some(tx),
    }
}

/// Accepts exactly the server certificate whose SHA-256 is pinned, so tests
/// can speak raw HTTP/1.1 over real TLS (half-sent headers and the like).
#[derive(Debug)]
struct PinOnly([u8; 32]);

impl rustls::client::danger::ServerCertVerifier for PinOnly {
    fn verify_server_cert(
        &self,
        end_entity: &rustls::pki_types::CertificateDer<'_>,
        _intermediates: &[rustls::pki_types::CertificateDer<'_>],
        _server_name: &rustls::pki_types::ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        let seen: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if seen == self.0 {
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General("pin mismatch".into()))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &rustls::pki_types::CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &rustls::crypto::ring::default_provider().signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        rustls::crypto::ring::default_provider()
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A raw TLS connection to a test server (loopback only).
pub type RawTls = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

/// Opens a TLS connection to `node` with the handshake completed and
/// reads bounded by `read_timeout`.
pub fn raw_tls(node: &Node, read_timeout: std::time::Duration) -> RawTls {
    let addr = node
        .url()
        .strip_prefix("https://")
        .expect("https url")
        .to_string();
    assert!(addr.starts_with("127.0.0.1:"), "tests only dial loopback");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(PinOnly(node.fingerprint)))
    .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    let conn = rustls::ClientConnection::new(Arc::new(config), name).expect("tls client");
    let tcp = std::net::TcpStream::connect(&addr).expect("connect");
    tcp.set_read_timeout(Some(read_timeout)).expect("timeout");
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    while tls.conn.is_handshaking() {
        tls.conn.complete_io(&mut tls.sock).expect("TLS handshake");
    }
    tls
}
