//! `shardlock server init|run|audit verify`: the key-share server's thin
//! entry point; everything it does lives in [`shardlock::server`].

use anyhow::{Context, Result};

use super::args::{ServerAuditCommand, ServerCommand};
use super::settings::UsageError;
use shardlock::encoding::hex;
use shardlock::server;
use shardlock::server::audit_chain;

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
        ServerCommand::Audit(ServerAuditCommand::Verify(args)) => {
            let path = match (&args.dir, &args.file) {
                (_, Some(file)) => file.clone(),
                (Some(dir), None) => dir.join("audit.log"),
                (None, None) => return Err(UsageError::new("give --dir DIR or --file FILE").into()),
            };
            let report = audit_chain::verify(&path)?;
            outln!(
                "{}: {} records, chain intact{}",
                path.display(),
                report.records,
                if report.unchained > 0 {
                    format!(
                        " (the first {} from before the chain, unchecked)",
                        report.unchained
                    )
                } else {
                    String::new()
                }
            );
            outln!("head: sha256:{}", hex(&report.head));
            Ok(())
        }
    }
}
