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
mod lifecycle;
mod list;
mod machines;
mod progress;
mod server;
mod settings;
mod status;

use std::io::Write;

use clap::Parser;

use args::{Cli, Command};
use settings::{
    Interrupted, Settings, Unavailable, UsageError, EXIT_CLOSED_PIPE, EXIT_FAILURE, EXIT_INTEGRITY,
    EXIT_INTERRUPTED, EXIT_UNAVAILABLE, EXIT_USAGE,
};

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
        Command::Ls(a) => list::run(&settings, &a),
        Command::Status(a) => status::run(&settings, &a),
        Command::Keyset(c) => keyset::run(&settings, &c),
        Command::Server(c) => server::run(&settings, &c),
        Command::DevCluster(a) => dev_cluster::run(&settings, &a),
        Command::Demo(a) => demo::run(&settings, &a),
        Command::GenerateDocs(a) => generate_docs::run(&a),
    };
    match result {
        Ok(()) => 0,
        Err(e) => report(&e),
    }
}

/// Prints an error (with its causes on the same line) and picks the status
/// (README "Exit status"). A closed output pipe (`decrypt ... | head`)
/// ends quietly, as other Unix tools do.
fn report(error: &anyhow::Error) -> i32 {
    let _ = std::io::stdout().flush();
    if error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }) {
        return EXIT_CLOSED_PIPE;
    }
    eprintln!(
        "shardlock: error: {}",
        shardlock::client::one_line(error.as_ref())
    );
    exit_status(error)
}

/// The exit status an error gives (README "Exit status").
pub(crate) fn exit_status(error: &anyhow::Error) -> i32 {
    use shardlock::client::FailureKind;
    let mut status = EXIT_FAILURE;
    for cause in error.chain() {
        if cause.is::<UsageError>() || cause.is::<shardlock::client::config::ConfigError>() {
            return EXIT_USAGE;
        }
        if cause.is::<Interrupted>() {
            return EXIT_INTERRUPTED;
        }
        if cause.is::<Unavailable>() {
            status = EXIT_UNAVAILABLE;
        }
        if let Some(e) = cause.downcast_ref::<shardlock::client::Error>() {
            match e.kind() {
                FailureKind::Usage => return EXIT_USAGE,
                FailureKind::Unavailable => status = EXIT_UNAVAILABLE,
                FailureKind::Integrity => status = EXIT_INTEGRITY,
                FailureKind::Other => {}
            }
        }
    }
    status
}
