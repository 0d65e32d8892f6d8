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
//! Tail latency (docs/DESIGN.md section 5): every request has a connect
//! timeout and a deadline; a decryption asks `t` servers and, when one is
//! slow, a spare as well ([`hedge`]), using the first `t` answers whose
//! proofs verify; a server that failed is skipped for the rest of the run
//! ([`RunHealth`]). Proof verification and batching live in
//! `threshold::kem`.
//!
//! | file | owns |
//! |---|---|
//! | `url` | URL and path-argument checks |
//! | `pinning` | the pinned-certificate verifier |
//! | `transport` | one connection: deadline, `Retry-After`, plain-word errors |
//! | `error` | [`HttpError`] and its mapping to the KEM's `ServiceError` |
//! | `health` | the per-run memory of server health and the hedge delay |
//! | `hedge` | the fan-out scheduler |
//! | `service` | [`HttpKeyService`] |
//! | `admin`, `status` | [`AdminClient`], [`check_status`] |

use std::time::Duration;

mod admin;
mod error;
mod health;
mod hedge;
mod pinning;
mod service;
mod status;
mod transport;
mod url;

pub use admin::AdminClient;
pub use error::HttpError;
pub use health::RunHealth;
pub use service::HttpKeyService;
pub use status::{check_status, ServerStatus};

/// Transport settings shared by every server connection.
#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Time to establish the TCP connection.
    pub connect_timeout: Duration,
    /// Deadline of a whole request: connection, TLS handshake, the answer,
    /// and one wait for `Retry-After`.
    pub timeout: Duration,
    /// Allow plain `http://` URLs, to loopback hosts only (tests, local
    /// development behind a TLS-terminating proxy).
    pub allow_http: bool,
}

impl HttpOptions {
    /// Default connect timeout: a TCP handshake takes one round trip, well
    /// under a second even across continents; 2 s leaves room for a lost
    /// SYN to be resent once.
    pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
    /// Default request deadline: a full batch (1024 elements) is evaluated
    /// in tens of milliseconds, so 10 s only cuts off servers that are
    /// stuck, while hedging keeps a slow one from costing that much.
    pub const TIMEOUT: Duration = Duration::from_secs(10);
}

impl Default for HttpOptions {
    fn default() -> Self {
        Self {
            connect_timeout: Self::CONNECT_TIMEOUT,
            timeout: Self::TIMEOUT,
            allow_http: false,
        }
    }
}
