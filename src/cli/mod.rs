//! The command-line front end: flags are parsed once into [`args::Cli`]
//! and resolved into [`Settings`] (a client [`Session`] plus how to
//! print); each subcommand's module turns its flags into a request, calls
//! the client use case, and reports the outcome. [`main`] is the one place
//! that prints errors and picks the exit code:
//!
//! - 0: everything done;
//! - 1: the operation failed (bad file, servers down, I/O error...);
//! - 2: usage or configuration error (nothing was attempted).

/// `println!` that never panics: when stdout is a closed pipe (`shardlock
/// inspect f | head -1`) the rest of the output is simply dropped.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

pub mod args;
mod decrypt;
mod demo;
mod dev_cluster;
mod encrypt;
pub mod generate_docs;
mod inspect;
mod keyset;
mod progress;
mod server;
mod status;

use std::fmt;
use std::io::Write;

use clap::Parser;

use args::{Cli, Command, GlobalArgs};
use shardlock::client::http::HttpOptions;
use shardlock::client::{Options, Session};

/// Exit status for usage and configuration errors.
pub const EXIT_USAGE: i32 = 2;
/// Exit status for failed operations.
pub const EXIT_FAILURE: i32 = 1;

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
    fn from_args(global: &GlobalArgs) -> Self {
        let options = Options {
            jobs: global
                .jobs
                .filter(|&j| j > 0)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get())),
            http: HttpOptions {
                allow_http: global.allow_http,
                ..HttpOptions::default()
            },
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

/// Runs the command line and returns the process exit status.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { 0 };
        }
    };
    let settings = Settings::from_args(&cli.global);
    let result = match cli.command {
        Command::Encrypt(a) => encrypt::run(&settings, &a),
        Command::Decrypt(a) => decrypt::run(&settings, &a),
        Command::Inspect(a) => inspect::run(&a),
        Command::Status(a) => status::run(&settings, &a),
        Command::Keyset(c) => keyset::run(&settings, &c),
        Command::Server(c) => server::run(&c),
        Command::DevCluster(a) => dev_cluster::run(&settings, &a),
        Command::Demo(a) => demo::run(&settings, &a),
        Command::GenerateDocs(a) => generate_docs::run(&a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}

/// Prints an error (with its causes on the same line) and picks the status.
fn report(error: &anyhow::Error) -> i32 {
    let _ = std::io::stdout().flush();
    eprintln!(
        "shardlock: error: {}",
        shardlock::client::one_line(error.as_ref())
    );
    let usage = error.chain().any(|cause| {
        cause.is::<UsageError>()
            || cause.is::<shardlock::client::config::ConfigError>()
            || cause
                .downcast_ref::<shardlock::client::Error>()
                .is_some_and(shardlock::client::Error::is_usage)
    });
    if usage {
        EXIT_USAGE
    } else {
        EXIT_FAILURE
    }
}
