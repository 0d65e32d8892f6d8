//! The HTTPS client of the key-share protocol (docs/DESIGN.md section 3):
//! [`HttpKeyService`] fans evaluate requests out to servers in parallel for
//! [`crate::threshold::kem::decapsulate_batch`], [`AdminClient`] drives the
//! admin API, and [`check_status`] backs `shardlock status`.
//!
//! Transport security: every server gets its own `ureq` agent. When the
//! config pins a certificate fingerprint, the agent accepts exactly the
//! certificate whose DER SHA-256 equals the pin (compared in constant time),
//! whatever its issuer, name or validity dates, and still verifies the TLS
//! handshake signature with that certificate's key (ring algorithms), so
//! only the holder of the pinned key can complete the handshake. Without a
//! pin, ureq's default rustls configuration applies: web PKI roots
//! (webpki-roots) and normal hostname verification. Plain `http://` is
//! refused unless explicitly allowed, and then only to loopback hosts.
//!
//! Failover, proof verification and batching live in `kem.rs`; this module
//! only moves bytes and maps failures to [`ServiceError`]s.

use std::fmt;
use std::io::Read;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use curve25519_dalek::ristretto::RistrettoPoint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::ServerEndpoint;
use crate::encoding::hex;
use crate::encoding::{format_fingerprint, unb64};
use crate::protocol::Token;
use crate::protocol::{
    b64_element, unb64_element, ClientInfo, ClientList, CreateClientRequest, CreateClientResponse,
    ErrorBody, EvaluateRequest, EvaluateResponse, Health, InstallShareRequest, KeyInfo,
    UnsealRequest, UnsealResponse,
};
use crate::threshold::kem::{Evaluation, KeyService, PublicKeyset, ServiceError};
use crate::threshold::voprf::Proof;

/// Largest answer read from a server. A full evaluate answer (1024
/// elements) is about 48 KiB; anything far larger is not a real server.
const MAX_RESPONSE: u64 = 1024 * 1024;
/// Longest server error message passed on to the user.
const MAX_MESSAGE: usize = 200;

/// Transport settings shared by every server connection.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time to establish the TCP connection.
    pub connect_timeout: Duration,
    /// Time for a whole request, connection and answer included.
    pub timeout: Duration,
    /// Allow plain `http://` URLs, to loopback hosts only (tests, local
    /// development behind a TLS-terminating proxy).
    pub allow_http: bool,
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(30),
            allow_http: false,
        }
    }
}

/// What went wrong talking to a key-share server. Messages name the server
/// and say what to do; none contains a token or key material.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The URL is not `https://host[:port][/prefix]`.
    #[error("invalid server URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL as configured.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `http://` without `allow_http`, or to a non-loopback host.
    #[error(
        "refusing plain http:// for {url}: use https:// (plain HTTP is only allowed to \
         loopback hosts, with the allow-http option)"
    )]
    PlainHttpRefused {
        /// The URL.
        url: String,
    },
    /// Two endpoints for the same participant.
    #[error("participant {0} is configured more than once")]
    DuplicateParticipant(u16),
    /// A request argument that cannot go into a URL.
    #[error("{0}")]
    InvalidArgument(String),
    /// The server's certificate is not the pinned one.
    #[error(
        "certificate of {url} does not match the pinned fingerprint {pinned}{}; \
         if the server was re-initialised, update the fingerprint in the config",
        presented.as_ref().map(|p| format!(" (the server presented {p})")).unwrap_or_default()
    )]
    PinMismatch {
        /// The server.
        url: String,
        /// The configured fingerprint, `sha256:<hex>`.
        pinned: String,
        /// The fingerprint of the certificate the server presented.
        presented: Option<String>,
    },
    /// Connection refused, DNS failure, TLS failure, timeout...
    #[error("cannot reach {url}: {reason}")]
    Unreachable {
        /// The server.
        url: String,
        /// The transport's explanation.
        reason: String,
    },
    /// No client token is configured for the server.
    #[error("no client token is configured for {url}")]
    MissingToken {
        /// The server.
        url: String,
    },
    /// 401: the token is unknown or revoked.
    #[error("{url} rejected the token: {message}; check the token configured for this server")]
    Unauthorized {
        /// The server.
        url: String,
        /// The server's message.
        message: String,
    },
    /// 403: the token is valid but not allowed to do this.
    #[error("{url} refused: {message}")]
    Forbidden {
        /// The server.
        url: String,
        /// The server's message.
        message: String,
    },
    /// 429: too many requests.
    #[error("{url} is rate-limiting this client: {message}")]
    RateLimited {
        /// The server.
        url: String,
        /// The server's message.
        message: String,
    },
    /// Any other non-success status.
    #[error("{url} answered HTTP {status}: {message}")]
    Status {
        /// The server.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's message.
        message: String,
    },
    /// An answer that does not parse or carries invalid encodings.
    #[error("{url} sent an invalid answer: {reason}")]
    Malformed {
        /// The server.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
}

impl HttpError {
    /// The HTTP status, for errors that carry one.
    pub fn status(&self) -> Option<u16> {
        match self {
            HttpError::Unauthorized { .. } => Some(401),
            HttpError::Forbidden { .. } => Some(403),
            HttpError::RateLimited { .. } => Some(429),
            HttpError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The [`ServiceError`] the KEM sees. Messages omit the URL (the KEM
    /// prefixes it) except for the pin mismatch, whose advice needs it.
    fn into_service_error(self) -> ServiceError {
        match self {
            HttpError::Unauthorized { message, .. } => {
                ServiceError::Refused(format!("{message} (HTTP 401)"))
            }
            HttpError::Forbidden { message, .. } => {
                ServiceError::Refused(format!("{message} (HTTP 403)"))
            }
            HttpError::RateLimited { message, .. } => {
                ServiceError::Refused(format!("{message} (HTTP 429)"))
            }
            HttpError::Status {
                status, message, ..
            } if status < 500 => ServiceError::Refused(format!("{message} (HTTP {status})")),
            HttpError::Status {
                status, message, ..
            } => ServiceError::Unavailable(format!("{message} (HTTP {status})")),
            HttpError::Unreachable { reason, .. } => ServiceError::Unavailable(reason),
            HttpError::Malformed { reason, .. } => ServiceError::Malformed(reason),
            HttpError::MissingToken { .. } => {
                ServiceError::Refused("no client token is configured for this server".into())
            }
            other => ServiceError::Unavailable(other.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------
// URLs.

/// Checks a base URL and returns it without trailing slashes: `https://`
/// (or `http://` to a loopback host with `allow_http`), a host, an optional
/// port and path prefix; no credentials, query or fragment.
fn check_url(url: &str, allow_http: bool) -> Result<String, HttpError> {
    let invalid = |reason| HttpError::InvalidUrl {
        url: url.to_string(),
        reason,
    };
    let trimmed = url.trim().trim_end_matches('/');
    let lower = trimmed.to_ascii_lowercase();
    let (https, rest) = if lower.starts_with("https://") {
        (true, &trimmed["https://".len()..])
    } else if lower.starts_with("http://") {
        (false, &trimmed["http://".len()..])
    } else {
        return Err(invalid("must start with https://"));
    };
    if rest.contains(['?', '#']) {
        return Err(invalid("must not contain a query or fragment"));
    }
    if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(invalid("must not contain spaces"));
    }
    let authority = rest.split('/').next().unwrap_or_default();
    if authority.contains('@') {
        return Err(invalid(
            "must not contain credentials (tokens belong in the config)",
        ));
    }
    let host = if let Some(bracketed) = authority.strip_prefix('[') {
        bracketed
            .split_once(']')
            .map(|(h, _)| h)
            .ok_or_else(|| invalid("unterminated [IPv6] address"))?
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(invalid("has no host"));
    }
    let plain_allowed = allow_http && is_loopback(host);
    if !https && !plain_allowed {
        return Err(HttpError::PlainHttpRefused {
            url: trimmed.to_string(),
        });
    }
    Ok(trimmed.to_string())
}

/// `localhost`, 127.0.0.0/8 or ::1.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A keyset id safe to put in a path: 64 hex digits, lower-cased.
fn path_keyset_id(keyset_id_hex: &str) -> Result<String, HttpError> {
    let id = keyset_id_hex.trim();
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(id.to_ascii_lowercase())
    } else {
        Err(HttpError::InvalidArgument(format!(
            "invalid keyset id {:?} (expected 64 hex digits)",
            id.chars().take(70).collect::<String>()
        )))
    }
}

/// A client name safe to put in a path (`[A-Za-z0-9._-]{1,64}`).
fn path_client_name(name: &str) -> Result<&str, HttpError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(name)
    } else {
        Err(HttpError::InvalidArgument(
            "invalid client name (use 1-64 of A-Z a-z 0-9 . _ -)".into(),
        ))
    }
}

// ---------------------------------------------------------------------------
// Certificate pinning.

/// Accepts exactly one certificate, identified by the SHA-256 of its DER.
/// Records the fingerprint of a mismatching certificate so the error can
/// say what the server presented.
#[derive(Debug)]
struct PinnedVerifier {
    pin: [u8; 32],
    provider: Arc<CryptoProvider>,
    mismatch: Mutex<Option<[u8; 32]>>,
}

impl PinnedVerifier {
    fn take_mismatch(&self) -> Option<[u8; 32]> {
        self.mismatch
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        // The pin replaces chain, name and validity checks: the operator
        // vouched for this exact certificate (docs/DESIGN.md section 3).
        let presented: [u8; 32] = Sha256::digest(end_entity.as_ref()).into();
        if bool::from(presented.ct_eq(&self.pin)) {
            Ok(ServerCertVerified::assertion())
        } else {
            *self.mismatch.lock().unwrap_or_else(PoisonError::into_inner) = Some(presented);
            Err(rustls::Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

// ---------------------------------------------------------------------------
// One server connection.

/// An agent for one server, with its pin state.
struct Connection {
    base: String,
    agent: ureq::Agent,
    pin: Option<Arc<PinnedVerifier>>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.base)
            .field(
                "pinned",
                &self.pin.as_ref().map(|p| format_fingerprint(&p.pin)),
            )
            .finish()
    }
}

/// The HTTP method of a request.
#[derive(Debug, Clone, Copy)]
enum Method {
    Get,
    Post,
    Put,
    Delete,
}

impl Method {
    fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
        }
    }
}

/// Makes a server's error message safe to show: printable, bounded.
fn sanitize(message: &str) -> String {
    let cleaned: String = message
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_MESSAGE)
        .collect();
    if cleaned.trim().is_empty() {
        "no reason given".into()
    } else {
        cleaned
    }
}

/// A transport error as one line: kind, message and the cause chain.
fn transport_reason(transport: &ureq::Transport) -> String {
    let mut parts: Vec<String> = vec![transport.kind().to_string()];
    if let Some(message) = transport.message() {
        parts.push(message.to_string());
    }
    let mut source = std::error::Error::source(transport);
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ")
}

impl Connection {
    fn new(
        url: &str,
        fingerprint: Option<[u8; 32]>,
        options: &HttpOptions,
    ) -> Result<Self, HttpError> {
        let base = check_url(url, options.allow_http)?;
        let mut builder = ureq::AgentBuilder::new()
            .timeout_connect(options.connect_timeout)
            .timeout(options.timeout)
            // A redirect could carry the bearer token elsewhere; servers
            // never redirect.
            .redirects(0)
            .user_agent(concat!("shardlock/", env!("CARGO_PKG_VERSION")));
        let mut pin = None;
        if let Some(fingerprint) = fingerprint {
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let verifier = Arc::new(PinnedVerifier {
                pin: fingerprint,
                provider: Arc::clone(&provider),
                mismatch: Mutex::new(None),
            });
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
                .map_err(|_| HttpError::Unreachable {
                    url: base.clone(),
                    reason: "TLS configuration failed".into(),
                })?
                .dangerous()
                .with_custom_certificate_verifier(Arc::clone(&verifier) as _)
                .with_no_client_auth();
            builder = builder.tls_config(Arc::new(config));
            pin = Some(verifier);
        }
        // Without a pin, ureq's default TLS config: webpki roots, hostname
        // verification, ring, TLS 1.2 and 1.3.
        Ok(Self {
            base,
            agent: builder.build(),
            pin,
        })
    }

    /// Sends a request and returns the status and the (bounded) body of a
    /// success; any failure becomes an [`HttpError`].
    fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&Token>,
        body: Option<&[u8]>,
    ) -> Result<(u16, Zeroizing<Vec<u8>>), HttpError> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .agent
            .request(method.as_str(), &url)
            .set("Accept", "application/json");
        if let Some(token) = token {
            let header = Zeroizing::new(format!("Bearer {}", token.expose()));
            request = request.set("Authorization", &header);
        }
        let result = match body {
            Some(bytes) => request
                .set("Content-Type", "application/json")
                .send_bytes(bytes),
            None => request.call(),
        };
        match result {
            Ok(response) => {
                let status = response.status();
                Ok((status, self.read_body(response)?))
            }
            Err(ureq::Error::Status(status, response)) => {
                let body = self.read_body(response).unwrap_or_default();
                let message = serde_json::from_slice::<ErrorBody>(&body)
                    .map(|b| sanitize(&b.error))
                    .unwrap_or_else(|_| format!("HTTP {status} without an error message"));
                let url = self.base.clone();
                Err(match status {
                    401 => HttpError::Unauthorized { url, message },
                    403 => HttpError::Forbidden { url, message },
                    429 => HttpError::RateLimited { url, message },
                    _ => HttpError::Status {
                        url,
                        status,
                        message,
                    },
                })
            }
            Err(ureq::Error::Transport(transport)) => {
                if let Some(verifier) = &self.pin {
                    if let Some(presented) = verifier.take_mismatch() {
                        return Err(HttpError::PinMismatch {
                            url: self.base.clone(),
                            pinned: format_fingerprint(&verifier.pin),
                            presented: Some(format_fingerprint(&presented)),
                        });
                    }
                }
                Err(HttpError::Unreachable {
                    url: self.base.clone(),
                    reason: transport_reason(&transport),
                })
            }
        }
    }

    fn read_body(&self, response: ureq::Response) -> Result<Zeroizing<Vec<u8>>, HttpError> {
        let mut body = Zeroizing::new(Vec::new());
        response
            .into_reader()
            .take(MAX_RESPONSE + 1)
            .read_to_end(&mut body)
            .map_err(|e| HttpError::Unreachable {
                url: self.base.clone(),
                reason: format!("the answer was cut off: {e}"),
            })?;
        if body.len() as u64 > MAX_RESPONSE {
            return Err(HttpError::Malformed {
                url: self.base.clone(),
                reason: "the answer is too large".into(),
            });
        }
        Ok(body)
    }

    fn json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        token: Option<&Token>,
        body: Option<&[u8]>,
    ) -> Result<T, HttpError> {
        let (_, bytes) = self.send(method, path, token, body)?;
        serde_json::from_slice(&bytes).map_err(|_| HttpError::Malformed {
            url: self.base.clone(),
            reason: "the answer is not the expected JSON".into(),
        })
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, HttpError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|_| HttpError::InvalidArgument("cannot encode the request".into()))
}

// ---------------------------------------------------------------------------
// The key service.

struct Server {
    participant: u16,
    connection: Connection,
    token: Option<Token>,
}

/// Evaluates blinded elements on key-share servers over HTTPS, one thread
/// per asked server, for [`crate::threshold::kem::decapsulate_batch`].
pub struct HttpKeyService {
    servers: Vec<Server>,
}

impl fmt::Debug for HttpKeyService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.servers
                    .iter()
                    .map(|s| (s.participant, &s.connection.base)),
            )
            .finish()
    }
}

impl HttpKeyService {
    /// One connection per endpoint. Fails on an invalid or refused URL or a
    /// participant configured twice; unreachable servers are only found
    /// when asked.
    pub fn new(endpoints: Vec<ServerEndpoint>, options: HttpOptions) -> Result<Self, HttpError> {
        let mut servers: Vec<Server> = Vec::with_capacity(endpoints.len());
        for endpoint in endpoints {
            if servers
                .iter()
                .any(|s| s.participant == endpoint.participant)
            {
                return Err(HttpError::DuplicateParticipant(endpoint.participant));
            }
            servers.push(Server {
                participant: endpoint.participant,
                connection: Connection::new(&endpoint.url, endpoint.fingerprint, &options)?,
                token: endpoint.token,
            });
        }
        Ok(Self { servers })
    }

    fn server(&self, participant: u16) -> Option<&Server> {
        self.servers.iter().find(|s| s.participant == participant)
    }

    /// One evaluate request to one server, decoded.
    fn evaluate_one(
        &self,
        keyset_id: &str,
        participant: u16,
        body: &[u8],
    ) -> Result<Evaluation, HttpError> {
        let server = self.server(participant).ok_or_else(|| {
            HttpError::InvalidArgument(format!(
                "no server is configured for participant {participant}"
            ))
        })?;
        let connection = &server.connection;
        let token = server
            .token
            .as_ref()
            .ok_or_else(|| HttpError::MissingToken {
                url: connection.base.clone(),
            })?;
        let response: EvaluateResponse = connection.json(
            Method::Post,
            &format!("/v1/keys/{keyset_id}/evaluate"),
            Some(token),
            Some(body),
        )?;
        let malformed = |reason: String| HttpError::Malformed {
            url: connection.base.clone(),
            reason,
        };
        let evaluated = response
            .evaluated
            .iter()
            .enumerate()
            .map(|(i, text)| {
                unb64_element(text).ok_or_else(|| {
                    malformed(format!(
                        "evaluated element {i} is not a canonical non-identity group element"
                    ))
                })
            })
            .collect::<Result<Vec<RistrettoPoint>, _>>()?;
        let proof = unb64(&response.proof)
            .and_then(|bytes| Proof::from_bytes(&bytes).ok())
            .ok_or_else(|| malformed("the proof is not 64 bytes of canonical scalars".into()))?;
        Ok(Evaluation { evaluated, proof })
    }
}

impl KeyService for HttpKeyService {
    fn evaluate(
        &self,
        keyset: &PublicKeyset,
        participants: &[u16],
        blinded: &[RistrettoPoint],
    ) -> Vec<Result<Evaluation, ServiceError>> {
        let keyset_id = hex(keyset.id());
        let request = EvaluateRequest {
            blinded: blinded.iter().map(b64_element).collect(),
        };
        let body = match serde_json::to_vec(&request) {
            Ok(body) => body,
            Err(_) => {
                return participants
                    .iter()
                    .map(|_| Err(ServiceError::Malformed("cannot encode the request".into())))
                    .collect()
            }
        };
        let (keyset_id, body) = (&keyset_id, &body);
        // One thread per server: the slowest asked server bounds the wait,
        // not the sum of them.
        std::thread::scope(|scope| {
            let handles: Vec<_> = participants
                .iter()
                .map(|&participant| {
                    scope.spawn(move || {
                        self.evaluate_one(keyset_id, participant, body)
                            .map_err(HttpError::into_service_error)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| {
                    handle.join().unwrap_or_else(|_| {
                        Err(ServiceError::Unavailable(
                            "the request thread failed".into(),
                        ))
                    })
                })
                .collect()
        })
    }

    fn describe(&self, participant: u16) -> String {
        self.server(participant)
            .map(|s| s.connection.base.clone())
            .unwrap_or_else(|| format!("participant {participant} (no server configured)"))
    }
}

// ---------------------------------------------------------------------------
// Admin.

/// The admin API of one server, authenticated with its admin token.
pub struct AdminClient {
    connection: Connection,
    token: Token,
}

impl fmt::Debug for AdminClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminClient")
            .field("url", &self.connection.base)
            .field("token", &self.token)
            .finish()
    }
}

impl AdminClient {
    /// A client for the server at `url`, pinned to `fingerprint` if given.
    pub fn new(
        url: &str,
        fingerprint: Option<[u8; 32]>,
        admin_token: Token,
        options: &HttpOptions,
    ) -> Result<Self, HttpError> {
        Ok(Self {
            connection: Connection::new(url, fingerprint, options)?,
            token: admin_token,
        })
    }

    /// The server's base URL.
    pub fn url(&self) -> &str {
        &self.connection.base
    }

    /// `GET /v1/health` (no credential needed).
    pub fn health(&self) -> Result<Health, HttpError> {
        self.connection.json(Method::Get, "/v1/health", None, None)
    }

    /// `GET /metrics` (no credential needed): Prometheus text.
    pub fn metrics(&self) -> Result<String, HttpError> {
        let (_, body) = self.connection.send(Method::Get, "/metrics", None, None)?;
        String::from_utf8(body.to_vec()).map_err(|_| HttpError::Malformed {
            url: self.connection.base.clone(),
            reason: "metrics are not UTF-8".into(),
        })
    }

    /// `GET /v1/keys/{id}`: this server's part of a keyset.
    pub fn key_info(&self, keyset_id_hex: &str) -> Result<KeyInfo, HttpError> {
        let id = path_keyset_id(keyset_id_hex)?;
        self.connection.json(
            Method::Get,
            &format!("/v1/keys/{id}"),
            Some(&self.token),
            None,
        )
    }

    /// `PUT /v1/admin/keys/{id}`: installs this server's share. Idempotent
    /// for the same share; HTTP 409 if a different one is installed.
    pub fn install_share(
        &self,
        keyset_id_hex: &str,
        request: &InstallShareRequest,
    ) -> Result<KeyInfo, HttpError> {
        let id = path_keyset_id(keyset_id_hex)?;
        let body = to_json(request)?;
        self.connection.json(
            Method::Put,
            &format!("/v1/admin/keys/{id}"),
            Some(&self.token),
            Some(&body),
        )
    }

    /// `POST /v1/admin/clients`: creates a client; the answer holds its
    /// token, which the server will never show again.
    pub fn create_client(
        &self,
        request: &CreateClientRequest,
    ) -> Result<CreateClientResponse, HttpError> {
        path_client_name(&request.name)?;
        let body = to_json(request)?;
        self.connection.json(
            Method::Post,
            "/v1/admin/clients",
            Some(&self.token),
            Some(&body),
        )
    }

    /// `DELETE /v1/admin/clients/{name}`: revokes a client's token.
    pub fn revoke_client(&self, name: &str) -> Result<ClientInfo, HttpError> {
        let name = path_client_name(name)?;
        self.connection.json(
            Method::Delete,
            &format!("/v1/admin/clients/{name}"),
            Some(&self.token),
            None,
        )
    }

    /// `GET /v1/admin/clients`: names, grants and revocation, no tokens.
    pub fn list_clients(&self) -> Result<Vec<ClientInfo>, HttpError> {
        let list: ClientList =
            self.connection
                .json(Method::Get, "/v1/admin/clients", Some(&self.token), None)?;
        Ok(list.clients)
    }

    /// `POST /v1/admin/unseal`: hands the server its unseal secret.
    pub fn unseal(&self, request: &UnsealRequest) -> Result<UnsealResponse, HttpError> {
        let body = to_json(request)?;
        self.connection.json(
            Method::Post,
            "/v1/admin/unseal",
            Some(&self.token),
            Some(&body),
        )
    }
}

// ---------------------------------------------------------------------------
// Status.

/// One server's health as `shardlock status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// Participant id.
    pub participant: u16,
    /// Base URL.
    pub url: String,
    /// Whether the server answered at all (a TLS handshake that failed the
    /// pin counts as reached).
    pub reachable: bool,
    /// `Some(true)`: the pinned certificate was presented; `Some(false)`:
    /// another one was; `None`: no pin configured, or not reached.
    pub pin_ok: Option<bool>,
    /// `Some(true)`: the server holds this keyset with the expected public
    /// share; `Some(false)`: it reports something else; `None`: not checked
    /// (unreachable, no client token, or refused; see `problem`).
    pub share_ok: Option<bool>,
    /// Round-trip time of the health request (connection included), ms.
    pub latency_ms: Option<u64>,
    /// Server version, from the health answer.
    pub version: Option<String>,
    /// What went wrong, with advice; `None` when all is well.
    pub problem: Option<String>,
}

/// Checks every server of `keyset` concurrently: reachability and latency
/// (`GET /v1/health`), the certificate pin, and whether the server's public
/// share and group key match the keyset (`GET /v1/keys/{id}` with the
/// client token). Returns one entry per endpoint, in the given order.
pub fn check_status(
    keyset: &PublicKeyset,
    endpoints: &[ServerEndpoint],
    options: &HttpOptions,
) -> Vec<ServerStatus> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = endpoints
            .iter()
            .map(|endpoint| scope.spawn(move || status_of(keyset, endpoint, options)))
            .collect();
        handles
            .into_iter()
            .zip(endpoints)
            .map(|(handle, endpoint)| {
                handle.join().unwrap_or_else(|_| ServerStatus {
                    participant: endpoint.participant,
                    url: endpoint.url.clone(),
                    reachable: false,
                    pin_ok: None,
                    share_ok: None,
                    latency_ms: None,
                    version: None,
                    problem: Some("the status check failed".into()),
                })
            })
            .collect()
    })
}

fn status_of(
    keyset: &PublicKeyset,
    endpoint: &ServerEndpoint,
    options: &HttpOptions,
) -> ServerStatus {
    let mut status = ServerStatus {
        participant: endpoint.participant,
        url: endpoint.url.clone(),
        reachable: false,
        pin_ok: None,
        share_ok: None,
        latency_ms: None,
        version: None,
        problem: None,
    };
    let connection = match Connection::new(&endpoint.url, endpoint.fingerprint, options) {
        Ok(connection) => connection,
        Err(err) => {
            status.problem = Some(err.to_string());
            return status;
        }
    };
    status.url = connection.base.clone();
    let started = Instant::now();
    match connection.json::<Health>(Method::Get, "/v1/health", None, None) {
        Ok(health) => {
            status.reachable = true;
            status.latency_ms =
                Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            status.version = Some(sanitize(&health.version));
            status.pin_ok = endpoint.fingerprint.map(|_| true);
            if health.status == "sealed" {
                status.problem = Some(
                    "sealed: it refuses to evaluate until its operator runs \
                     `shardlock server unseal`"
                        .into(),
                );
                return status;
            }
        }
        Err(err @ HttpError::PinMismatch { .. }) => {
            status.reachable = true;
            status.pin_ok = Some(false);
            status.problem = Some(err.to_string());
            return status;
        }
        Err(err @ HttpError::Unreachable { .. }) => {
            status.problem = Some(err.to_string());
            return status;
        }
        Err(err) => {
            status.reachable = true;
            status.pin_ok = endpoint.fingerprint.map(|_| true);
            status.problem = Some(err.to_string());
            return status;
        }
    }
    let Some(token) = &endpoint.token else {
        return status;
    };
    let id = hex(keyset.id());
    match connection.json::<KeyInfo>(Method::Get, &format!("/v1/keys/{id}"), Some(token), None) {
        Ok(info) => {
            let expected_share = keyset.public_share(endpoint.participant);
            let matches = info.keyset_id.eq_ignore_ascii_case(&id)
                && info.participant == endpoint.participant
                && info.threshold == keyset.threshold()
                && unb64_element(&info.group_key).as_ref() == Some(keyset.group_key())
                && expected_share.is_some()
                && unb64_element(&info.public_share).as_ref() == expected_share;
            status.share_ok = Some(matches);
            if !matches {
                status.problem = Some(format!(
                    "{} reports participant {} with a public share that does not match the \
                     keyset in the config; the server holds a different share (was it \
                     re-initialised, or is the participant id wrong?)",
                    connection.base, info.participant
                ));
            }
        }
        Err(err) => status.problem = Some(err.to_string()),
    }
    status
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked() {
        let opts = |allow_http| HttpOptions {
            allow_http,
            ..HttpOptions::default()
        };
        let o = opts(false);
        assert_eq!(
            check_url("https://127.0.0.1:8443/", o.allow_http).unwrap(),
            "https://127.0.0.1:8443"
        );
        assert_eq!(
            check_url("HTTPS://keys.example.org/shardlock", false).unwrap(),
            "HTTPS://keys.example.org/shardlock"
        );
        assert!(check_url("https://[::1]:1", false).is_ok());
        assert!(matches!(
            check_url("ftp://x", false),
            Err(HttpError::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("https://", false),
            Err(HttpError::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("https://user:pw@host", false),
            Err(HttpError::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("https://host/?a=b", false),
            Err(HttpError::InvalidUrl { .. })
        ));
        assert!(matches!(
            check_url("https://[::1", false),
            Err(HttpError::InvalidUrl { .. })
        ));
        // Plain HTTP: only with allow_http, only to loopback.
        assert!(matches!(
            check_url("http://127.0.0.1:80", false),
            Err(HttpError::PlainHttpRefused { .. })
        ));
        for ok in [
            "http://127.0.0.1:80",
            "http://127.1.2.3",
            "http://[::1]:9",
            "http://LOCALHOST:1",
        ] {
            assert!(check_url(ok, true).is_ok(), "{ok}");
        }
        for refused in [
            "http://10.0.0.1",
            "http://example.org",
            "http://localhost.evil.org",
        ] {
            assert!(
                matches!(
                    check_url(refused, true),
                    Err(HttpError::PlainHttpRefused { .. })
                ),
                "{refused}"
            );
        }
    }

    #[test]
    fn path_arguments_are_validated() {
        assert_eq!(path_keyset_id(&"AB".repeat(32)).unwrap(), "ab".repeat(32));
        assert!(path_keyset_id("../admin").is_err());
        assert!(path_client_name("ok-name_1.x").is_ok());
        assert!(path_client_name("..").is_err());
        assert!(path_client_name("a/b").is_err());
    }

    #[test]
    fn server_messages_are_sanitised() {
        assert_eq!(sanitize("bad\n\x1b[31mthing"), "bad[31mthing");
        assert_eq!(sanitize(""), "no reason given");
        assert_eq!(sanitize(&"x".repeat(1000)).len(), MAX_MESSAGE);
    }

    #[test]
    fn pin_mismatch_message_is_actionable() {
        let err = HttpError::PinMismatch {
            url: "https://127.0.0.1:8443".into(),
            pinned: format_fingerprint(&[1; 32]),
            presented: Some(format_fingerprint(&[2; 32])),
        };
        let text = err.to_string();
        assert!(text.starts_with("certificate of https://127.0.0.1:8443 does not match the pinned fingerprint sha256:0101"));
        assert!(text.contains("the server presented sha256:0202"));
        assert!(text.contains("update the fingerprint in the config"));
        assert!(matches!(
            err.into_service_error(),
            ServiceError::Unavailable(m) if m.contains("pinned fingerprint")
        ));
    }

    #[test]
    fn statuses_map_to_service_errors() {
        let url = String::from("https://h");
        let refused = |e: HttpError| matches!(e.into_service_error(), ServiceError::Refused(_));
        assert!(refused(HttpError::Unauthorized {
            url: url.clone(),
            message: "m".into()
        }));
        assert!(refused(HttpError::Forbidden {
            url: url.clone(),
            message: "m".into()
        }));
        assert!(refused(HttpError::RateLimited {
            url: url.clone(),
            message: "m".into()
        }));
        assert!(refused(HttpError::Status {
            url: url.clone(),
            status: 400,
            message: "m".into()
        }));
        assert!(matches!(
            HttpError::Status {
                url: url.clone(),
                status: 500,
                message: "m".into()
            }
            .into_service_error(),
            ServiceError::Unavailable(_)
        ));
        assert!(matches!(
            HttpError::Malformed {
                url,
                reason: "r".into()
            }
            .into_service_error(),
            ServiceError::Malformed(_)
        ));
    }

    #[test]
    fn debug_output_hides_tokens() {
        let admin = AdminClient::new(
            "https://127.0.0.1:1",
            Some([7; 32]),
            Token::new("slk_secret".into()),
            &HttpOptions::default(),
        )
        .unwrap();
        assert!(!format!("{admin:?}").contains("slk_secret"));
        let service = HttpKeyService::new(
            vec![ServerEndpoint {
                participant: 1,
                url: "https://127.0.0.1:1".into(),
                fingerprint: None,
                token: Some(Token::new("slk_secret".into())),
            }],
            HttpOptions::default(),
        )
        .unwrap();
        assert!(!format!("{service:?}").contains("slk_secret"));
        assert_eq!(service.describe(1), "https://127.0.0.1:1");
        assert!(service.describe(2).contains("no server configured"));
    }
}
