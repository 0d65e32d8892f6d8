//! [`HttpError`]: what went wrong talking to a server, and how it reaches
//! the KEM as a [`ServiceError`].

use crate::threshold::kem::ServiceError;

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
         if the server was re-initialised, confirm its new fingerprint with its operator and \
         update the pin (the config's `fingerprint`, or the `#sha256:` part of --server)",
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
    pub(super) fn into_service_error(self) -> ServiceError {
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
            // Evaluate's 409: the server holds another epoch than the
            // config (docs/FORMAT.md section 8.1).
            HttpError::Status {
                status: 409,
                message,
                ..
            } if message.contains("epoch") => ServiceError::Refused(format!(
                "{message} (HTTP 409): this config and the server disagree on the keyset's \
                 epoch; after a lifecycle round, copy the updated keyset entry from the machine \
                 that ran it (or finish the round with `--resume`)"
            )),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::format_fingerprint;

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
        assert!(text.contains("update the pin"));
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
}
