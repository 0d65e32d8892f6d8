//! `shardlock encrypt`: one file or stdin, offline, for a keyset.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use rand::rngs::OsRng;

use super::args::EncryptArgs;
use super::output::{Input, Output};
use super::Settings;
use crate::envelope;
use crate::format::metadata::FileMetadata;

pub fn run(settings: &Settings, args: &EncryptArgs) -> Result<()> {
    let config = settings.load_config()?;
    // Only the public part is needed: encryption never contacts a server.
    let name = config.select(args.keyset.as_deref())?.to_string();
    let keyset = config
        .entry(&name)
        .with_context(|| format!("keyset {name:?} is not in the config"))?
        .public()
        .clone();
    if args.tree.recursive {
        return super::encrypt_tree::run(settings, args, &keyset);
    }

    let mut input = Input::open(args.input.as_deref())?;
    // Only a regular file has a name, size and times worth restoring; a
    // pipe (`<(cmd)`, a FIFO) is a stream like stdin.
    let metadata = match (&input, args.input.as_deref()) {
        (Input::File(file), Some(path)) => Some(file_metadata(path, file)?),
        _ => None,
    };
    let mut output = Output::open(args.output.as_deref(), args.force, true)?;
    let threads = metadata.as_ref().map_or(settings.jobs, |m| {
        super::tree::threads_for(settings, m.size)
    });
    let (_, bytes) = envelope::encrypt(
        input.source()?,
        output.writer(),
        &keyset,
        metadata.as_ref(),
        threads,
        &mut OsRng,
    )?;
    output.finish(None, None)?;
    settings.note(format_args!("encrypted {bytes} bytes for keyset {name}"));
    Ok(())
}

/// Metadata recorded for a single file: its name (not its directory, which
/// says nothing about where it should be restored), size, mode and mtime.
pub fn file_metadata(path: &Path, file: &fs::File) -> Result<FileMetadata> {
    // Stat the open file, not the path: it is what will be read.
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.file_name().map(os_bytes).unwrap_or_default();
    Ok(metadata_from(name, &meta))
}

/// Builds metadata from a relative path (as `/`-separated bytes) and stat
/// results.
pub fn metadata_from(path: Vec<u8>, meta: &fs::Metadata) -> FileMetadata {
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        Some(meta.permissions().mode() & 0o7777)
    };
    #[cfg(not(unix))]
    let mode = None;
    let mtime = meta.modified().ok().and_then(crate::durable::epoch_time);
    FileMetadata {
        path,
        size: meta.len(),
        mode,
        mtime,
    }
}

/// Raw bytes of an OS string (file names need not be UTF-8).
pub fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        s.as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        s.to_string_lossy().into_owned().into_bytes()
    }
}
