//! What the client's use cases report when they fail: one typed error whose
//! variants say whose fault it is (the invocation, the config, a file, the
//! servers), so the CLI can pick an exit status without parsing messages.
//!
//! Each variant's message says only its own part; the cause travels as
//! [`std::error::Error::source`], and whoever prints walks the chain once,
//! so no cause is ever printed twice.

use std::io;

pub use crate::error_chain::one_line;

use super::config::ConfigError;
use super::http::HttpError;
use crate::envelope::keywrap::UnwrapError;
use crate::envelope::EnvelopeError;
use crate::format::metadata::PathError;
use crate::format::FormatError;
use crate::stream::StreamError;
use crate::threshold;

/// Result of a client use case.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a use case failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request itself makes no sense (a missing argument, a file where
    /// a directory is needed, an output that exists without `--force`).
    #[error("{0}")]
    Usage(String),
    /// The client configuration is missing or wrong.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Reading or writing a local file failed.
    #[error("{context}")]
    Io {
        /// What was being done, naming the file.
        context: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A file is not a valid shardlock file or failed authentication.
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    /// A data key could not be recovered (wrong keyset, tampered stanza,
    /// too few servers).
    #[error(transparent)]
    Unwrap(#[from] UnwrapError),
    /// A stored path would escape the destination.
    #[error(transparent)]
    Path(#[from] PathError),
    /// A key-share server could not be reached or refused (admin
    /// operations, where there is no spare to fall back on).
    #[error(transparent)]
    Http(#[from] HttpError),
    /// Threshold parameters are impossible (e.g. `t > n`).
    #[error(transparent)]
    Threshold(#[from] threshold::Error),
    /// A step of a larger operation failed; the cause says how.
    #[error("{context}")]
    Step {
        /// What was being done.
        context: String,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },
    /// The operation could not be completed, for the reason given.
    #[error("{0}")]
    Failed(String),
    /// A tree or file failed an integrity check above the file format (a
    /// private tree's object that does not match its index, a damaged
    /// marker): exit status 4.
    #[error("{0}")]
    Integrity(String),
}

/// What kind of failure an error is, for a script's exit status
/// (README "Exit status").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The invocation or the configuration (2).
    Usage,
    /// Not enough key-share servers answered; retrying later may help (3).
    Unavailable,
    /// A file is tampered, truncated or foreign (4).
    Integrity,
    /// Anything else (1).
    Other,
}

impl Error {
    /// The kind of failure, following the cause through steps.
    pub fn kind(&self) -> FailureKind {
        use crate::envelope::keywrap::UnwrapError;
        use crate::threshold::kem::KemError;
        match self {
            Error::Step { source, .. } => source.kind(),
            _ if self.is_usage() => FailureKind::Usage,
            Error::Unwrap(e) if e.is_not_enough_servers() => FailureKind::Unavailable,
            Error::Unwrap(UnwrapError::UnwrapFailed)
            | Error::Unwrap(UnwrapError::Kem(KemError::InvalidEphemeral))
            | Error::Envelope(EnvelopeError::Format(_))
            | Error::Envelope(EnvelopeError::Stream(_))
            | Error::Path(_)
            | Error::Integrity(_) => FailureKind::Integrity,
            _ => FailureKind::Other,
        }
    }

    /// The error's chain for a list of servers, prefixed with `url` unless
    /// the chain already names it (so no line says a URL twice).
    pub fn for_server(&self, url: &str) -> String {
        let text = self.chain();
        if text.contains(url) {
            text
        } else {
            format!("{url}: {text}")
        }
    }

    /// Whether the invocation or the configuration is at fault (nothing was
    /// attempted): exit status 2 in the CLI.
    pub fn is_usage(&self) -> bool {
        match self {
            Error::Usage(_) | Error::Config(_) => true,
            Error::Step { source, .. } => source.is_usage(),
            _ => false,
        }
    }

    /// Wraps `self` as the cause of a failed step.
    pub fn context(self, context: impl Into<String>) -> Self {
        Error::Step {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// The message with every cause, `: `-separated, as printed on one line.
    pub fn chain(&self) -> String {
        one_line(self)
    }
}

impl From<FormatError> for Error {
    fn from(e: FormatError) -> Self {
        Error::Envelope(EnvelopeError::Format(e))
    }
}

impl From<StreamError> for Error {
    fn from(e: StreamError) -> Self {
        Error::Envelope(EnvelopeError::Stream(e))
    }
}

/// `.context("cannot open X")` for I/O results.
pub(crate) trait IoContext<T> {
    /// Names what was being done when the I/O error happened.
    fn context(self, context: impl Into<String>) -> Result<T>;
    /// Like [`IoContext::context`], computing the text only on failure.
    fn with_context<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context(self, context: impl Into<String>) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context.into(),
            source,
        })
    }

    fn with_context<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|source| Error::Io {
            context: context().into(),
            source,
        })
    }
}

/// `.step("cannot obtain a token from X")` for any client result.
pub(crate) trait StepContext<T> {
    /// Names the step that failed.
    fn step<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T>;
}

impl<T, E: Into<Error>> StepContext<T> for std::result::Result<T, E> {
    fn step<S: Into<String>>(self, context: impl FnOnce() -> S) -> Result<T> {
        self.map_err(|e| e.into().context(context()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_names_each_cause_once() {
        let e = Error::Io {
            context: "cannot open a.txt".into(),
            source: io::Error::new(io::ErrorKind::NotFound, "No such file"),
        }
        .context("a.txt");
        assert_eq!(e.chain(), "a.txt: cannot open a.txt: No such file");
    }

    #[test]
    fn usage_and_config_errors_stay_usage_errors_inside_steps() {
        assert!(Error::Usage("x".into()).context("step").is_usage());
        assert!(!Error::Failed("x".into()).is_usage());
    }
}
