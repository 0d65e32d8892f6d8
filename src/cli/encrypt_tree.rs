//! `shardlock encrypt -r SRC -o OUT`: mirror a tree, one `.slock` file per
//! source file, in parallel. A walker feeds a bounded queue; `-j` workers
//! read, encrypt and write; files of 8 MiB or more are also split across
//! workers by chunk. Empty directories are mirrored; symlinks, sockets and
//! devices are skipped with a warning each.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};

use super::args::EncryptArgs;
use super::encrypt::metadata_from;
use super::output::create_file;
use super::tree::{
    create_dirs_inside, mtime_of, parallel, path_bytes, remove_stale_temp_files, threads_for,
    walked, Run,
};
use super::{Settings, UsageError};
use crate::envelope::{self, sealed_len, Source};
use crate::format::metadata::FileMetadata;
use crate::threshold::kem::PublicKeyset;

/// Suffix of encrypted files in a mirrored tree.
pub const SUFFIX: &str = ".slock";

/// One file to encrypt.
struct Job {
    rel: PathBuf,
    path: PathBuf,
    metadata: FileMetadata,
}

pub fn run(settings: &Settings, args: &EncryptArgs, keyset: &PublicKeyset) -> Result<()> {
    let (src, out) = match (&args.input, &args.output) {
        (Some(src), Some(out)) if src.as_os_str() != "-" && out.as_os_str() != "-" => (src, out),
        _ => bail!(UsageError::new(
            "encrypt -r needs a source directory and -o OUT_DIR"
        )),
    };
    if !src.is_dir() {
        bail!(UsageError::new(format!(
            "{} is not a directory",
            src.display()
        )));
    }
    let excludes = build_excludes(&args.exclude)?;
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let src_canon = src
        .canonicalize()
        .with_context(|| format!("cannot read {}", src.display()))?;
    let out_canon = out
        .canonicalize()
        .with_context(|| format!("cannot read {}", out.display()))?;
    if src_canon == out_canon {
        bail!(UsageError::new(
            "the output directory must differ from the source"
        ));
    }
    remove_stale_temp_files(out);

    let json = args.tree.json;
    let run = Run::start(settings, "encrypt", json);
    if run.wants_total() {
        run.set_total_bytes(total_bytes(src, &excludes));
    }
    parallel(
        settings.jobs,
        64 * settings.jobs,
        |send| walk(src, &src_canon, &out_canon, &excludes, out, &run, send),
        |job: Job| {
            if run.interrupted() {
                return;
            }
            match encrypt_one(settings, args, keyset, out, &job, &run) {
                Ok(Some(bytes)) => run.done(bytes),
                Ok(None) => run.unchanged(job.metadata.size),
                Err(e) => run.fail(&job.rel.display().to_string(), &e),
            }
        },
    );
    run.finish(settings, json)
}

fn build_excludes(patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob = Glob::new(pattern)
            .map_err(|e| UsageError::new(format!("--exclude {pattern:?}: {e}")))?;
        builder.add(glob);
    }
    Ok(builder
        .build()
        .map_err(|e| UsageError::new(format!("--exclude: {e}")))?)
}

/// Matches a relative path or, so `--exclude '*.log'` works at any depth,
/// its file name.
fn excluded(excludes: &GlobSet, rel: &Path) -> bool {
    excludes.is_match(rel) || rel.file_name().is_some_and(|name| excludes.is_match(name))
}

/// A directory whose contents a pattern excludes wholesale (`cache/**`) is
/// pruned too, so not even its empty shell (and name) reaches the output.
/// The probe is a child name no real file can have (NUL bytes).
fn excluded_dir(excludes: &GlobSet, rel: &Path) -> bool {
    excluded(excludes, rel) || excludes.is_match(rel.join("\0\0\0\0\0\0\0\0"))
}

fn total_bytes(src: &Path, excludes: &GlobSet) -> u64 {
    walkdir::WalkDir::new(src)
        .follow_links(false)
        .into_iter()
        .filter_entry(|e| {
            e.path()
                .strip_prefix(src)
                .map_or(true, |rel| !excluded(excludes, rel))
        })
        .flatten()
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// Walks the source, mirroring directories and handing files to `send`
/// (which returns false once the workers are gone).
fn walk(
    src: &Path,
    src_canon: &Path,
    out_canon: &Path,
    excludes: &GlobSet,
    out: &Path,
    run: &Run,
    send: &mut dyn FnMut(Job) -> bool,
) {
    // The output tree may live inside the source; never encrypt it again.
    let inner_out = out_canon
        .strip_prefix(src_canon)
        .ok()
        .map(Path::to_path_buf);
    let entries = walkdir::WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            let rel = e.path().strip_prefix(src).unwrap_or(e.path());
            let skip = if e.file_type().is_dir() {
                excluded_dir(excludes, rel)
            } else {
                excluded(excludes, rel)
            };
            rel.as_os_str().is_empty() || (!skip && inner_out.as_deref() != Some(rel))
        });
    for entry in entries {
        if run.interrupted() {
            return;
        }
        let Some((entry, rel)) = walked(run, src, entry) else {
            continue;
        };
        let shown = rel.display().to_string();
        let kind = entry.file_type();
        if kind.is_dir() {
            if let Err(e) = create_dirs_inside(out, &rel) {
                run.fail(&shown, &e);
            }
        } else if kind.is_file() {
            match entry.metadata() {
                Ok(meta) => {
                    let job = Job {
                        metadata: metadata_from(path_bytes(&rel), &meta),
                        path: entry.path().to_path_buf(),
                        rel,
                    };
                    if !send(job) {
                        return;
                    }
                }
                Err(e) => run.fail(&shown, &anyhow::Error::new(e)),
            }
        } else if kind.is_symlink() {
            run.skip(&shown, "symbolic link (not followed)");
        } else {
            run.skip(&shown, "not a regular file (socket, device or pipe)");
        }
    }
}

/// Encrypts one file; `Ok(None)` when `--skip-unchanged` found its output
/// up to date.
fn encrypt_one(
    settings: &Settings,
    args: &EncryptArgs,
    keyset: &PublicKeyset,
    out: &Path,
    job: &Job,
    run: &Run,
) -> Result<Option<u64>> {
    let mut name = job.rel.file_name().unwrap_or_default().to_os_string();
    name.push(SUFFIX);
    let dest = out.join(&job.rel).with_file_name(name);
    if args.tree.skip_unchanged && is_unchanged(&dest, &job.metadata) {
        return Ok(None);
    }
    // The walker created the parent directory before it reached this file.
    let mut output = create_file(&dest, args.force || args.tree.skip_unchanged)?;
    let input = File::open(&job.path).context("cannot open")?;
    let threads = threads_for(settings, job.metadata.size);
    let source: Source<'_, &[u8]> = Source::File {
        file: &input,
        offset: 0,
        len: job.metadata.size,
    };
    let (_, bytes) = envelope::encrypt(
        source,
        output.file(),
        keyset,
        Some(&job.metadata),
        threads,
        // ChaCha seeded from the OS, per thread: one getrandom per thread
        // rather than several per file.
        &mut rand::thread_rng(),
    )?;
    // The output carries the source's mtime: with its exact expected
    // length, that is how --skip-unchanged recognises it later.
    run.commit(output, None, job.metadata.mtime)?;
    Ok(Some(bytes))
}

/// The output exists with exactly the length this source would produce and
/// the source's modification time.
fn is_unchanged(dest: &Path, source: &FileMetadata) -> bool {
    match fs::metadata(dest) {
        Ok(meta) => {
            meta.len() == sealed_len(Some(source), source.size) && mtime_of(&meta) == source.mtime
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_exclude_files_at_any_depth_and_prune_whole_directories() {
        let set = build_excludes(&["*.log".into(), "cache/**".into(), "build".into()]).unwrap();
        assert!(excluded(&set, Path::new("a/b/x.log")));
        assert!(!excluded(&set, Path::new("a/b/x.txt")));
        assert!(
            excluded_dir(&set, Path::new("cache")),
            "cache/** prunes cache itself"
        );
        assert!(excluded_dir(&set, Path::new("build")));
        assert!(!excluded_dir(&set, Path::new("src")));
        let narrow = build_excludes(&["cache/*.tmp".into()]).unwrap();
        assert!(
            !excluded_dir(&narrow, Path::new("cache")),
            "only some children excluded"
        );
    }
}
