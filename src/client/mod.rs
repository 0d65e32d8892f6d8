//! The client side of the key-share protocol: configuration and keysets
//! ([`config`]), and the HTTPS fan-out to key-share servers ([`http`]).

pub mod config;
pub mod http;

use std::fmt;

use zeroize::Zeroizing;

/// A bearer token held in memory: zeroized on drop, never printed.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token string.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }

    /// The token text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

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

/// Renders a certificate fingerprint the way configs and `server init`
/// print it: `sha256:` followed by 64 lower-case hex digits.
pub fn format_fingerprint(fingerprint: &[u8; 32]) -> String {
    format!("sha256:{}", crate::format::hex_string(fingerprint))
}

/// Parses `sha256:<64 hex>` (the `sha256:` prefix is optional, colons
/// between hex pairs are allowed, case-insensitive).
pub fn parse_fingerprint(text: &str) -> Option<[u8; 32]> {
    let text = text.trim();
    let hex_part = text
        .strip_prefix("sha256:")
        .or_else(|| text.strip_prefix("SHA256:"))
        .unwrap_or(text);
    let digits: String = hex_part.chars().filter(|c| *c != ':').collect();
    if digits.len() != 64 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&digits[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip_in_every_accepted_spelling() {
        let fp = [0xabu8; 32];
        let text = format_fingerprint(&fp);
        assert_eq!(parse_fingerprint(&text), Some(fp));
        assert_eq!(
            parse_fingerprint(&text.to_uppercase().replace("SHA256", "sha256")),
            Some(fp)
        );
        let colons: Vec<String> = fp.iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(parse_fingerprint(&colons.join(":")), Some(fp));
        assert_eq!(parse_fingerprint("sha256:abcd"), None);
        assert_eq!(parse_fingerprint(&"zz".repeat(32)), None);
    }

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            format!("{:?}", Token::new("slk_secret".into())),
            "[redacted]"
        );
    }
}
