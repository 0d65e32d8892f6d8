//! `shardlock inspect`: what a file's header says, with no server and no key.

use anyhow::{Context, Result};

use super::args::InspectArgs;
use shardlock::client::inspect::inspect;
use shardlock::stream;

pub fn run(args: &InspectArgs) -> Result<()> {
    let report = inspect(&args.input)?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string(&report).context("cannot print the report")?
        );
        return Ok(());
    }
    outln!("shardlock file, format version {}", report.format_version);
    for id in &report.keysets {
        outln!("keyset:          {id}");
    }
    for id in &report.recovery_keys {
        outln!("recovery key:    {id}");
    }
    outln!("header:          {} bytes", report.header_bytes);
    outln!("file:            {} bytes", report.file_bytes);
    match (report.plaintext_bytes, report.chunks) {
        (Some(plaintext), Some(chunks)) => {
            outln!("plaintext:       {plaintext} bytes (unauthenticated until decrypted)");
            outln!(
                "chunks:          {chunks} of up to {} bytes",
                stream::CHUNK_SIZE
            );
        }
        _ => outln!(
            "body:            invalid length ({})",
            report.body_problem.as_deref().unwrap_or("unknown")
        ),
    }
    outln!(
        "metadata:        {}",
        if report.metadata {
            "sealed (path, size, mode, mtime)"
        } else {
            "none"
        }
    );
    if !report.unknown_stanzas.is_empty() {
        outln!("unknown stanzas: {:02x?} (ignored)", report.unknown_stanzas);
    }
    Ok(())
}
