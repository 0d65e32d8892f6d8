//! Encrypting a tree (`shardlock encrypt -r SRC -o OUT`): mirror it, one
//! `.slock` file per source file, in parallel, offline. A walker feeds a bounded queue; `-j` workers
//! read, encrypt and write; files of 8 MiB or more are also split across
//! workers by chunk. Empty directories are mirrored; symlinks, sockets and
//! devices are skipped with a warning each.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;

use globset::{Glob, GlobSet, GlobSetBuilder};

use super::{
    create_dirs_inside, mtime_of, parallel, path_bytes, remove_stale_temp_files, walked, Run,
    TreeOutcome,
};
use crate::client::error::{Error, IoContext, Result};
use crate::client::file::metadata_from;
use crate::client::io::create_file;
use crate::client::report::{ProgressWriter, Reporter};
use crate::client::Session;
use crate::durable::Attributes;
use crate::envelope::{self, sealed_len, Source};
use crate::format::metadata::FileMetadata;

/// Suffix of encrypted files in a mirrored tree.
pub const SUFFIX: &str = ".slock";

/// One file to encrypt.
struct Job {
    rel: PathBuf,
    path: PathBuf,
    metadata: FileMetadata,
}

/// What to encrypt, and where to.
#[derive(Debug, Clone, Default)]
pub struct EncryptTree {
    /// Keyset name; `None` for the config's default.
    pub keyset: Option<String>,
    /// The source directory.
    pub source: Option<PathBuf>,
    /// The output directory (created if missing).
    pub output: Option<PathBuf>,
    /// Replace outputs that exist.
    pub force: bool,
    /// Leave outputs whose source has not changed since.
    pub skip_unchanged: bool,
    /// Globs of paths to leave out, relative to the source.
    pub exclude: Vec<String>,
    /// Write the old mirrored layout (clear names) instead of a private
    /// tree.
    pub mirror: bool,
    /// Private trees: do not pad object sizes.
    pub no_pad: bool,
    /// Private trees: remove objects whose source file is gone.
    pub delete: bool,
}

impl Session {
    /// Encrypts a tree for a keyset, offline; stops between files once
    /// `stop` is set.
    pub fn encrypt_tree(
        &self,
        request: &EncryptTree,
        reporter: &dyn Reporter,
        stop: &AtomicBool,
    ) -> Result<TreeOutcome> {
        // Only the public part is needed: encryption never contacts a server.
        let config = self.config()?;
        let name = config.select(request.keyset.as_deref())?;
        let keyset = config
            .entry(name)
            .ok_or_else(|| Error::Usage(format!("keyset {name:?} is not in the config")))?
            .recipients();
        let job = TreeJob {
            session: self,
            request,
            keyset,
        };
        job.run(reporter, stop)
    }
}

/// One encrypt run: the session, the request and the keyset.
struct TreeJob<'a> {
    session: &'a Session,
    request: &'a EncryptTree,
    keyset: envelope::Recipients<'a>,
}

impl TreeJob<'_> {
    fn run(&self, reporter: &dyn Reporter, stop: &AtomicBool) -> Result<TreeOutcome> {
        let (session, args, keyset) = (self.session, self.request, self.keyset);
        let (src, out) = match (&args.source, &args.output) {
            (Some(src), Some(out)) if src.as_os_str() != "-" && out.as_os_str() != "-" => {
                (src, out)
            }
            _ => {
                return Err(Error::Usage(
                    "encrypt -r needs a source directory and -o OUT_DIR".into(),
                ))
            }
        };
        if !src.is_dir() {
            return Err(Error::Usage(format!(
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
            return Err(Error::Usage(
                "the output directory must differ from the source".into(),
            ));
        }
        if !args.mirror {
            return super::private::encrypt_private(
                session,
                args,
                keyset,
                (src, out, inner_output(&src_canon, &out_canon)),
                &excludes,
                reporter,
                stop,
            );
        }
        if args.delete {
            return Err(Error::Usage(
                "--delete works on private trees only (not with --layout mirror)".into(),
            ));
        }
        if super::private::is_private_tree(out) {
            return Err(Error::Usage(format!(
                "{} holds a private tree; drop --layout mirror to update it",
                out.display()
            )));
        }
        remove_stale_temp_files(out);

        let run = Run::start("encrypt", reporter, stop);
        if reporter.wants_total() {
            let (files, bytes) = totals(src, &excludes);
            reporter.totals(files, bytes);
        }
        let jobs = session.options().jobs;
        parallel(
            jobs,
            64 * jobs,
            |send| walk(src, &src_canon, &out_canon, &excludes, out, &run, send),
            |job: Job| {
                if run.interrupted() {
                    return;
                }
                match encrypt_one(session, args, keyset, out, &job, &run) {
                    Ok(Some(bytes)) => run.done(bytes),
                    Ok(None) => run.unchanged(job.metadata.size),
                    Err(e) => run.fail(&job.rel.display().to_string(), &e),
                }
            },
        );
        Ok(run.finish(None))
    }
}

pub(crate) fn build_excludes(patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for pattern in patterns {
        let glob =
            Glob::new(pattern).map_err(|e| Error::Usage(format!("--exclude {pattern:?}: {e}")))?;
        builder.add(glob);
    }
    builder
        .build()
        .map_err(|e| Error::Usage(format!("--exclude: {e}")))
}

/// Matches a relative path or, so `--exclude '*.log'` works at any depth,
/// its file name.
pub(crate) fn excluded(excludes: &GlobSet, rel: &Path) -> bool {
    excludes.is_match(rel) || rel.file_name().is_some_and(|name| excludes.is_match(name))
}

/// A directory whose contents a pattern excludes wholesale (`cache/**`) is
/// pruned too, so not even its empty shell (and name) reaches the output.
/// The probe is a child name no real file can have (NUL bytes).
pub(crate) fn excluded_dir(excludes: &GlobSet, rel: &Path) -> bool {
    excluded(excludes, rel) || excludes.is_match(rel.join("\0\0\0\0\0\0\0\0"))
}

/// Files and bytes below `src` that a run will look at.
pub(crate) fn totals(src: &Path, excludes: &GlobSet) -> (u64, u64) {
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
        .fold((0, 0), |(files, bytes), m| (files + 1, bytes + m.len()))
}

/// Where the output lies inside the source, relative to it, if it does:
/// a walk of the source must never encrypt its own output again.
pub(crate) fn inner_output(src_canon: &Path, out_canon: &Path) -> Option<PathBuf> {
    out_canon
        .strip_prefix(src_canon)
        .ok()
        .map(Path::to_path_buf)
}

/// The source tree in name order, without excluded paths (excluded
/// directories pruned whole) and without the output inside it.
pub(crate) fn source_entries<'a>(
    src: &'a Path,
    inner_out: &'a Option<PathBuf>,
    excludes: &'a GlobSet,
) -> impl Iterator<Item = walkdir::Result<walkdir::DirEntry>> + 'a {
    walkdir::WalkDir::new(src)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(move |e| {
            let rel = e.path().strip_prefix(src).unwrap_or(e.path());
            let skip = if e.file_type().is_dir() {
                excluded_dir(excludes, rel)
            } else {
                excluded(excludes, rel)
            };
            rel.as_os_str().is_empty() || (!skip && inner_out.as_deref() != Some(rel))
        })
}

/// Walks the source, mirroring directories and handing files to `send`
/// (which returns false once the workers are gone).
fn walk(
    src: &Path,
    src_canon: &Path,
    out_canon: &Path,
    excludes: &GlobSet,
    out: &Path,
    run: &Run<'_>,
    send: &mut dyn FnMut(Job) -> bool,
) {
    for entry in source_entries(src, &inner_output(src_canon, out_canon), excludes) {
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
                Err(e) => run.fail(
                    &shown,
                    &Error::Io {
                        context: "cannot read it".into(),
                        source: e.into(),
                    },
                ),
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
    session: &Session,
    args: &EncryptTree,
    keyset: envelope::Recipients<'_>,
    out: &Path,
    job: &Job,
    run: &Run<'_>,
) -> Result<Option<u64>> {
    let mut name = job.rel.file_name().unwrap_or_default().to_os_string();
    name.push(SUFFIX);
    let dest = out.join(&job.rel).with_file_name(name);
    if args.skip_unchanged && is_unchanged(&dest, &job.metadata, keyset.recovery.is_some()) {
        return Ok(None);
    }
    // The walker created the parent directory before it reached this file.
    let mut output = create_file(&dest, args.force || args.skip_unchanged)?;
    let input = File::open(&job.path).context("cannot open")?;
    let threads = session.threads_for(job.metadata.size);
    let source: Source<'_, &[u8]> = Source::File {
        file: &input,
        offset: 0,
        len: job.metadata.size,
    };
    let mut progress = ProgressWriter::new(output.file(), run.reporter(), job.metadata.size);
    let (_, bytes) = envelope::encrypt(
        source,
        &mut progress,
        keyset,
        Some(&job.metadata),
        threads,
        // ChaCha seeded from the OS, per thread: one getrandom per thread
        // rather than several per file.
        &mut rand::thread_rng(),
    )?;
    progress.done();
    // The output carries the source's mtime: with its exact expected
    // length, that is how --skip-unchanged recognises it later.
    run.commit(
        output,
        Attributes {
            mode: None,
            mtime: job.metadata.mtime,
        },
    )?;
    Ok(Some(bytes))
}

/// The output exists with exactly the length this source would produce and
/// the source's modification time.
fn is_unchanged(dest: &Path, source: &FileMetadata, recovery: bool) -> bool {
    match fs::metadata(dest) {
        Ok(meta) => {
            meta.len() == sealed_len(Some(source), recovery, source.size)
                && mtime_of(&meta) == source.mtime
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
