//! `shardlock inspect`: what a file's header says, with no server and no key.

use std::fs::File;
use std::io::{Seek, SeekFrom};

use anyhow::{Context, Result};

use super::args::InspectArgs;
use super::output::{is_std_stream, Input};
use crate::encoding::hex;
use crate::envelope::read_header;
use crate::format::Stanza;
use crate::stream;

pub fn run(args: &InspectArgs) -> Result<()> {
    let (header, total_len) = if is_std_stream(Some(&args.input)) {
        let mut stdin = Input::open(None)?;
        let input = stdin.reader();
        let header = read_header(input)?;
        let mut rest = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = input.read(&mut buf).context("cannot read stdin")?;
            if n == 0 {
                break;
            }
            rest += n as u64;
        }
        let total = header.bytes.len() as u64 + rest;
        (header, total)
    } else {
        let mut file = File::open(&args.input)
            .with_context(|| format!("cannot open {}", args.input.display()))?;
        let header = read_header(&mut file)?;
        let total = file
            .seek(SeekFrom::End(0))
            .context("cannot read the file length")?;
        (header, total)
    };
    let body_len = total_len - header.bytes.len() as u64;
    // The body length implies the plaintext length; it is authenticated only
    // when the file is decrypted.
    let body = stream::plaintext_len(body_len);
    let keysets: Vec<String> = header.keyset_ids().iter().map(|id| hex(id)).collect();
    let has_metadata = header.header.sealed_metadata().is_some();
    let unknown: Vec<u8> = header
        .header
        .stanzas
        .iter()
        .filter_map(|s| match s {
            Stanza::Unknown { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();

    if args.json {
        let (plaintext, chunks) = match body {
            Ok((p, c)) => (serde_json::json!(p), serde_json::json!(c)),
            Err(_) => (serde_json::Value::Null, serde_json::Value::Null),
        };
        let value = serde_json::json!({
            "format_version": crate::format::VERSION,
            "keysets": keysets,
            "header_bytes": header.bytes.len(),
            "file_bytes": total_len,
            "plaintext_bytes": plaintext,
            "chunks": chunks,
            "metadata": has_metadata,
            "unknown_stanzas": unknown,
            "body_valid_length": body.is_ok(),
        });
        outln!("{value}");
        return Ok(());
    }
    outln!("shardlock file, format version {}", crate::format::VERSION);
    for id in &keysets {
        outln!("keyset:          {id}");
    }
    outln!("header:          {} bytes", header.bytes.len());
    outln!("file:            {total_len} bytes");
    match body {
        Ok((plaintext, chunks)) => {
            outln!("plaintext:       {plaintext} bytes (unauthenticated until decrypted)");
            outln!(
                "chunks:          {chunks} of up to {} bytes",
                stream::CHUNK_SIZE
            );
        }
        Err(e) => outln!("body:            invalid length ({e})"),
    }
    outln!(
        "metadata:        {}",
        if has_metadata {
            "sealed (path, size, mode, mtime)"
        } else {
            "none"
        }
    );
    if !unknown.is_empty() {
        outln!("unknown stanzas: {unknown:02x?} (ignored)");
    }
    Ok(())
}
