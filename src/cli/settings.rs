//! What every subcommand shares, resolved once from the global flags: the
//! client session, how chatty to be, and the usage-error marker that makes
//! the exit status 2.

use std::fmt;

use super::args::GlobalArgs;
use shardlock::client::http::HttpOptions;
use shardlock::client::{Options, Session};

/// Exit status for usage and configuration errors.
pub const EXIT_USAGE: i32 = 2;
/// Exit status for failed operations (for trees: some files failed).
pub const EXIT_FAILURE: i32 = 1;
/// Exit status when not enough key-share servers answered (retry later).
pub const EXIT_UNAVAILABLE: i32 = 3;
/// Exit status for a tampered, truncated or foreign file.
pub const EXIT_INTEGRITY: i32 = 4;
/// Exit status after SIGINT or SIGTERM (128 + SIGINT, as shells report).
pub const EXIT_INTERRUPTED: i32 = 130;
/// Exit status when the output pipe closed (128 + SIGPIPE), quietly.
pub const EXIT_CLOSED_PIPE: i32 = 141;

/// A run stopped by SIGINT or SIGTERM; exits with status 130.
#[derive(Debug)]
pub struct Interrupted(pub String);

impl fmt::Display for Interrupted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Interrupted {}

/// Too few healthy servers (`status`); exits with status 3.
#[derive(Debug)]
pub struct Unavailable(pub String);

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unavailable {}

/// A mistake in how shardlock was invoked; exits with status 2.
#[derive(Debug)]
pub struct UsageError(String);

impl UsageError {
    /// A usage error with this message.
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Global settings, resolved once from the flags.
#[derive(Debug)]
pub struct Settings {
    /// The client session every use case runs in.
    pub session: Session,
    /// `--quiet`.
    pub quiet: bool,
}

impl Settings {
    /// Resolves the global flags once.
    pub fn from_args(global: &GlobalArgs) -> Self {
        let options = Options {
            jobs: global
                .jobs
                .filter(|&j| j > 0)
                .unwrap_or_else(|| Options::default().jobs),
            http: HttpOptions {
                allow_http: global.allow_http,
                ..HttpOptions::default()
            },
            connect_timeout: global.connect_timeout,
            timeout: global.timeout,
        };
        Self {
            session: Session::new(global.config.clone(), options),
            quiet: global.quiet,
        }
    }

    /// Prints a progress or summary line on stderr unless `--quiet`.
    pub fn note(&self, message: impl fmt::Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }
}

/// Always printed, even with `--quiet`: something the user must know.
pub fn warn(message: impl fmt::Display) {
    eprintln!("shardlock: warning: {message}");
}
