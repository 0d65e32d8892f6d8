//! One server connection: a `ureq` agent with its certificate pin, the
//! per-request deadline, `Retry-After` honoured once, and every transport
//! failure said in plain words.

use std::error::Error as _;
use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use super::pinning::PinnedVerifier;
use super::url::check_url;
use super::{HttpError, HttpOptions};
use crate::client::duration::Plain;
use crate::encoding::format_fingerprint;
use crate::protocol::{ErrorBody, Token};

/// Largest answer read from a server. A full evaluate answer (1024
/// elements) is about 48 KiB; anything far larger is not a real server.
const MAX_RESPONSE: u64 = 1024 * 1024;
/// Longest server error message passed on to the user.
pub(super) const MAX_MESSAGE: usize = 200;

/// An agent for one server, with its pin state and the timeouts its
/// messages quote.
pub(super) struct Connection {
    pub(super) base: String,
    agent: ureq::Agent,
    pin: Option<Arc<PinnedVerifier>>,
    connect_timeout: Duration,
    timeout: Duration,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("url", &self.base)
            .field(
                "pinned",
                &self.pin.as_ref().map(|p| format_fingerprint(p.pin())),
            )
            .finish()
    }
}

/// The HTTP method of a request.
#[derive(Debug, Clone, Copy)]
pub(super) enum Method {
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
pub(super) fn sanitize(message: &str) -> String {
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

impl Connection {
    pub(super) fn new(
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
            let verifier = Arc::new(PinnedVerifier::new(fingerprint, Arc::clone(&provider)));
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
            connect_timeout: options.connect_timeout,
            timeout: options.timeout,
        })
    }

    /// Sends a request and returns the status and the (bounded) body of a
    /// success; any failure becomes an [`HttpError`]. A 429 whose
    /// `Retry-After` still fits in the request's deadline is retried once
    /// after that wait: the server said when it would answer, and the
    /// deadline is what the user agreed to wait.
    pub(super) fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&Token>,
        body: Option<&[u8]>,
    ) -> Result<(u16, Zeroizing<Vec<u8>>), HttpError> {
        let started = Instant::now();
        match self.attempt(method, path, token, body, self.timeout) {
            Err(Attempt::Failed(err)) => Err(err),
            Err(Attempt::RetryAfter(wait, err)) => {
                let remaining = self.timeout.saturating_sub(started.elapsed());
                // Leave the retried request at least a quarter of the
                // deadline (and 100 ms) to be answered in.
                let margin = (self.timeout / 4).max(Duration::from_millis(100));
                if wait + margin > remaining {
                    return Err(err);
                }
                std::thread::sleep(wait);
                let remaining = self.timeout.saturating_sub(started.elapsed());
                self.attempt(method, path, token, body, remaining)
                    .map_err(Attempt::into_error)
            }
            Ok(answer) => Ok(answer),
        }
    }

    /// One request within `timeout`.
    fn attempt(
        &self,
        method: Method,
        path: &str,
        token: Option<&Token>,
        body: Option<&[u8]>,
        timeout: Duration,
    ) -> Result<(u16, Zeroizing<Vec<u8>>), Attempt> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .agent
            .request(method.as_str(), &url)
            .timeout(timeout)
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
                let retry_after = response.header("Retry-After").and_then(retry_after);
                let body = self.read_body(response).unwrap_or_default();
                let message = serde_json::from_slice::<ErrorBody>(&body)
                    .map(|b| sanitize(&b.error))
                    .unwrap_or_else(|_| format!("HTTP {status} without an error message"));
                let url = self.base.clone();
                let err = match status {
                    401 => HttpError::Unauthorized { url, message },
                    403 => HttpError::Forbidden { url, message },
                    429 => HttpError::RateLimited { url, message },
                    _ => HttpError::Status {
                        url,
                        status,
                        message,
                    },
                };
                Err(match retry_after {
                    Some(wait) if status == 429 => Attempt::RetryAfter(wait, err),
                    _ => Attempt::Failed(err),
                })
            }
            Err(ureq::Error::Transport(transport)) => {
                if let Some(verifier) = &self.pin {
                    if let Some(presented) = verifier.take_mismatch() {
                        return Err(Attempt::Failed(HttpError::PinMismatch {
                            url: self.base.clone(),
                            pinned: format_fingerprint(verifier.pin()),
                            presented: Some(format_fingerprint(&presented)),
                        }));
                    }
                }
                Err(Attempt::Failed(HttpError::Unreachable {
                    url: self.base.clone(),
                    reason: self.plain_reason(&transport),
                }))
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
                reason: format!(
                    "{} while sending its answer",
                    plain_io(&e, self.timeout).unwrap_or_else(|| "failed".into())
                ),
            })?;
        if body.len() as u64 > MAX_RESPONSE {
            return Err(HttpError::Malformed {
                url: self.base.clone(),
                reason: "the answer is too large".into(),
            });
        }
        Ok(body)
    }

    /// A transport failure in plain words, one line, each cause once.
    fn plain_reason(&self, transport: &ureq::Transport) -> String {
        let connecting = transport.kind() == ureq::ErrorKind::ConnectionFailed;
        let budget = if connecting {
            self.connect_timeout.min(self.timeout)
        } else {
            self.timeout
        };
        if transport.kind() == ureq::ErrorKind::Dns {
            return "the server name did not resolve".into();
        }
        let mut source = transport.source();
        while let Some(cause) = source {
            if let Some(io) = cause.downcast_ref::<io::Error>() {
                if let Some(plain) = plain_io(io, budget) {
                    return plain;
                }
            }
            if let Some(tls) = cause.downcast_ref::<rustls::Error>() {
                return format!("TLS handshake failed: {tls}");
            }
            source = cause.source();
        }
        match transport.kind() {
            ureq::ErrorKind::BadStatus | ureq::ErrorKind::BadHeader => {
                "answered something that is not HTTP".into()
            }
            kind => {
                // Something ureq names but we have no words for: its own
                // words, each cause once.
                let mut parts: Vec<String> = vec![kind.to_string()];
                if let Some(message) = transport.message() {
                    parts.push(message.to_string());
                }
                let mut source = transport.source();
                while let Some(cause) = source {
                    let text = cause.to_string();
                    if !parts.iter().any(|p| p.contains(&text)) {
                        parts.push(text);
                    }
                    source = cause.source();
                }
                parts.join(": ")
            }
        }
    }

    pub(super) fn json<T: DeserializeOwned>(
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

pub(super) fn to_json<T: serde::Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, HttpError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|_| HttpError::InvalidArgument("cannot encode the request".into()))
}

/// Why one attempt failed: for good, or with the server's `Retry-After`.
enum Attempt {
    Failed(HttpError),
    RetryAfter(Duration, HttpError),
}

impl Attempt {
    fn into_error(self) -> HttpError {
        match self {
            Attempt::Failed(err) | Attempt::RetryAfter(_, err) => err,
        }
    }
}

impl From<HttpError> for Attempt {
    fn from(err: HttpError) -> Self {
        Attempt::Failed(err)
    }
}

/// `Retry-After` in its delay-seconds form. The HTTP-date form is not
/// honoured: it needs a clock agreed with the server, and key-share
/// servers send seconds.
fn retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// An I/O failure in plain words, or `None` for kinds we have none for.
/// `budget` is the timeout that ran out, since a timeout is reported as
/// the OS's "would block" (EAGAIN) when a socket read timeout expires.
fn plain_io(err: &io::Error, budget: Duration) -> Option<String> {
    use io::ErrorKind as K;
    if let Some(tls) = err
        .get_ref()
        .and_then(|e| e.downcast_ref::<rustls::Error>())
    {
        return Some(format!("TLS handshake failed: {tls}"));
    }
    Some(match err.kind() {
        K::TimedOut | K::WouldBlock => format!("timed out after {}", Plain(budget)),
        K::ConnectionRefused => "refused the connection".into(),
        K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe | K::UnexpectedEof => {
            "closed the connection".into()
        }
        K::AddrNotAvailable | K::NetworkUnreachable => "no route to the network".into(),
        K::HostUnreachable => "the host is unreachable".into(),
        K::InvalidData => format!("sent data that could not be read: {err}"),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_messages_are_sanitised() {
        assert_eq!(sanitize("bad\n\x1b[31mthing"), "bad[31mthing");
        assert_eq!(sanitize(""), "no reason given");
        assert_eq!(sanitize(&"x".repeat(1000)).len(), MAX_MESSAGE);
    }

    #[test]
    fn io_failures_are_said_in_plain_words() {
        let two = Duration::from_secs(2);
        let plain = |kind| plain_io(&io::Error::from(kind), two);
        // EAGAIN is how an expired socket read timeout shows on Linux.
        assert_eq!(
            plain_io(&io::Error::from_raw_os_error(11), two).as_deref(),
            Some("timed out after 2 s")
        );
        assert_eq!(
            plain(io::ErrorKind::TimedOut).as_deref(),
            Some("timed out after 2 s")
        );
        assert_eq!(
            plain(io::ErrorKind::ConnectionRefused).as_deref(),
            Some("refused the connection")
        );
        assert_eq!(
            plain(io::ErrorKind::UnexpectedEof).as_deref(),
            Some("closed the connection")
        );
        let tls = io::Error::new(
            io::ErrorKind::InvalidData,
            rustls::Error::AlertReceived(rustls::AlertDescription::HandshakeFailure),
        );
        assert!(plain_io(&tls, two)
            .is_some_and(|m| m.starts_with("TLS handshake failed: ") && !m.contains("os error")));
        assert_eq!(plain(io::ErrorKind::Other), None);
    }

    #[test]
    fn retry_after_is_read_in_seconds_only() {
        assert_eq!(retry_after(" 3 "), Some(Duration::from_secs(3)));
        assert_eq!(retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(retry_after("-1"), None);
    }
}
