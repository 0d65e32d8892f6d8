//! Server URLs and the arguments put into request paths, checked before
//! anything is sent.

use std::net::IpAddr;

use super::HttpError;

/// Checks a base URL and returns it without trailing slashes: `https://`
/// (or `http://` to a loopback host with `allow_http`), a host, an optional
/// port and path prefix; no credentials, query or fragment.
pub(super) fn check_url(url: &str, allow_http: bool) -> Result<String, HttpError> {
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
pub(super) fn path_keyset_id(keyset_id_hex: &str) -> Result<String, HttpError> {
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
pub(super) fn path_client_name(name: &str) -> Result<&str, HttpError> {
    if crate::protocol::valid_client_name(name) {
        Ok(name)
    } else {
        Err(HttpError::InvalidArgument(
            "invalid client name (use 1-64 of A-Z a-z 0-9 . _ -)".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::http::HttpOptions;

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
}
