//! `shardlock server init|run`: the key-share server's thin entry point;
//! everything it does lives in [`shardlock::server`].

use anyhow::{Context, Result};

use super::args::ServerCommand;
use shardlock::server;

pub fn run(command: &ServerCommand) -> Result<()> {
    match command {
        ServerCommand::Init(args) => {
            let report = server::init(&args.dir, &args.names)
                .with_context(|| format!("cannot initialise a server in {}", args.dir.display()))?;
            outln!(
                "initialised key-share server state in {}",
                report.dir.display()
            );
            outln!("certificate fingerprint: {}", report.fingerprint_text());
            outln!("certificate names:       {}", report.names.join(", "));
            outln!();
            outln!("admin token (shown once; store it safely, it is kept only as a hash):");
            outln!("{}", report.admin_token.expose());
            Ok(())
        }
        ServerCommand::Run(args) => {
            server::serve_blocking(&args.dir, &args.listen, args.exit_on_stdin_eof)
                .with_context(|| format!("key-share server in {} failed", args.dir.display()))?;
            Ok(())
        }
    }
}
