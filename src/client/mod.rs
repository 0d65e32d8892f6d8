//! The client side of the key-share protocol: configuration and keysets
//! ([`config`]), and the HTTPS fan-out to key-share servers ([`http`]).

pub mod config;
pub mod http;

use crate::protocol::Token;

/// How to reach one key-share server and authenticate to it: everything the
/// HTTPS client needs, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct ServerEndpoint {
    /// Participant id of this server in the keyset.
    pub participant: u16,
    /// Base URL, e.g. `https://127.0.0.1:8443` (no trailing slash needed).
    pub url: String,
    /// SHA-256 of the server certificate (DER). When set, exactly that
    /// certificate is accepted, whatever its issuer or name; when unset, the
    /// web PKI roots bundled into the binary (webpki-roots) and hostname
    /// verification apply.
    pub fingerprint: Option<[u8; 32]>,
    /// Client bearer token for this server.
    pub token: Option<Token>,
}
