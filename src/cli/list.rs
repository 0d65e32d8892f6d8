//! `shardlock ls`: what an encrypted tree holds (paths, sizes, modes,
//! mtimes), as `ls -l`-like lines or one JSON document.

use anyhow::{Context, Result};

use super::args::ListArgs;
use super::progress::Terminal;
use super::settings::Settings;
use shardlock::client::tree::list::ListTree;
use shardlock::format::tree_index::Entry;

pub fn run(settings: &Settings, args: &ListArgs) -> Result<()> {
    let recovery = match &args.recovery_key {
        Some(file) => Some(super::machines::open_recovery_key(
            file,
            args.passphrase_file.as_deref(),
        )?),
        None => None,
    };
    let listing = settings.session.list_tree(
        &ListTree {
            source: args.input.clone(),
            pattern: args.pattern.clone(),
            recovery,
        },
        &Terminal::plain(settings),
    )?;
    let failed = !listing.failed.is_empty();
    if args.json {
        let entries: Vec<_> = listing
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "path": String::from_utf8_lossy(&e.path),
                    "type": if e.is_dir() { "dir" } else { "file" },
                    "size": e.size,
                    "mode": format!("{:04o}", e.mode),
                    "mtime": mtime_text(e),
                })
            })
            .collect();
        let value = serde_json::json!({
            "operation": "ls",
            "layout": if listing.private { "private" } else { "mirror" },
            "entries": entries,
            "failed": listing.failed,
            "timestamp": shardlock::encoding::now_rfc3339(),
            "exit_code": i32::from(failed),
        });
        outln!(
            "{}",
            serde_json::to_string(&value).context("cannot print the listing")?
        );
    } else {
        for entry in &listing.entries {
            outln!(
                "{} {:>12} {} {}",
                mode_text(entry),
                entry.size,
                mtime_text(entry),
                String::from_utf8_lossy(&entry.path)
            );
        }
    }
    if failed {
        for f in &listing.failed {
            super::settings::warn(format_args!("{}: {}", f.path, f.reason));
        }
        return Err(anyhow::anyhow!(
            "{} file(s) could not be read (named above); the rest are listed",
            listing.failed.len()
        ));
    }
    Ok(())
}

/// `drwxr-xr-x`-style permissions, special bits shown as ls does.
fn mode_text(entry: &Entry) -> String {
    let mut out = String::with_capacity(10);
    out.push(if entry.is_dir() { 'd' } else { '-' });
    let m = entry.mode;
    for (shift, special, set, unset) in [
        (6, 0o4000, 's', 'S'),
        (3, 0o2000, 's', 'S'),
        (0, 0o1000, 't', 'T'),
    ] {
        let bits = (m >> shift) & 0o7;
        out.push(if bits & 4 != 0 { 'r' } else { '-' });
        out.push(if bits & 2 != 0 { 'w' } else { '-' });
        out.push(match (bits & 1 != 0, m & special != 0) {
            (true, true) => set,
            (false, true) => unset,
            (true, false) => 'x',
            (false, false) => '-',
        });
    }
    out
}

/// UTC, to the second.
fn mtime_text(entry: &Entry) -> String {
    let secs = u64::try_from(entry.mtime.0).unwrap_or(0);
    let text = shardlock::encoding::format_rfc3339(secs, 0);
    text.replace(".000Z", "Z")
}
