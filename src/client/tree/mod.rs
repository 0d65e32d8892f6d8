//! Encrypting and restoring whole trees ([`encrypt`], [`decrypt`]), and
//! what both directions share: the worker pool, the run's outcome
//! ([`Summary`]), durable commits with one directory fsync per directory,
//! and safe directory creation.
//!
//! Failures are per file: each is handed to the [`Reporter`] as it happens,
//! the rest of the tree is still processed, and the [`Summary`] lists them.

pub mod decrypt;
pub(crate) mod dest;
pub mod encrypt;
pub mod list;
pub mod private;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use serde::Serialize;

pub use decrypt::DecryptTree;
pub use encrypt::EncryptTree;

use super::error::{Error, IoContext, Result};
use super::file::{metadata_from, os_bytes};
use super::io::commit_file_deferred;
use super::report::Reporter;
use crate::durable::{self, is_temp_name, AtomicFile, Attributes};

/// Files at least this large are split across all workers by chunk; smaller
/// ones are processed one per worker.
pub const SPLIT_THRESHOLD: u64 = 8 * 1024 * 1024;

/// Items per hand-off between the walker and the workers: one channel
/// operation (and maybe a thread wake-up) per file would cost more than
/// encrypting a small file.
const HANDOFF_BATCH: usize = 16;

/// Runs `work` on `jobs` threads over the items `produce` emits (through
/// the `send` callback it is given, which returns false once the workers
/// are gone), and returns what `produce` returns. Items travel in small
/// batches through a queue of about `queue` items, so memory stays bounded
/// whatever the number of files.
pub(crate) fn parallel<T: Send, R>(
    jobs: usize,
    queue: usize,
    produce: impl FnOnce(&mut dyn FnMut(T) -> bool) -> R,
    work: impl Fn(T) + Sync,
) -> R {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<T>>((queue / HANDOFF_BATCH).max(1));
    let rx = Mutex::new(rx);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let (rx, work) = (&rx, &work);
            scope.spawn(move || loop {
                let next = match rx.lock() {
                    Ok(guard) => guard.recv(),
                    Err(_) => return,
                };
                let Ok(batch) = next else { return };
                batch.into_iter().for_each(work);
            });
        }
        let mut pending = Vec::with_capacity(HANDOFF_BATCH);
        let mut open = true;
        let result = produce(&mut |item| {
            pending.push(item);
            if pending.len() == HANDOFF_BATCH {
                let full = std::mem::replace(&mut pending, Vec::with_capacity(HANDOFF_BATCH));
                open = tx.send(full).is_ok();
            }
            open
        });
        if !pending.is_empty() {
            let _ = tx.send(pending);
        }
        drop(tx);
        result
    })
}

/// A path that was skipped or failed, and why.
#[derive(Debug, Clone, Serialize)]
pub struct PathReason {
    /// Path relative to the tree's root.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// The outcome of a tree run; printed as text or JSON.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// "encrypt" or "decrypt".
    pub operation: &'static str,
    /// Files written.
    pub files: u64,
    /// Plaintext bytes processed.
    pub bytes: u64,
    /// Files left alone because their output is up to date.
    pub unchanged: u64,
    /// Entries skipped on purpose (symlinks, sockets, devices, non-.slock
    /// files in a restore). `--exclude`d paths are not listed.
    pub skipped: Vec<PathReason>,
    /// Files that failed.
    pub failed: Vec<PathReason>,
    /// Wall-clock seconds.
    pub seconds: f64,
    /// Whether the run stopped early because it was asked to.
    #[serde(skip)]
    pub interrupted: bool,
}

/// A tree run's outcome: what was done, and the error that ended it early
/// (too few key-share servers), if one did.
#[derive(Debug)]
pub struct TreeOutcome {
    /// Files processed, skipped and failed.
    pub summary: Summary,
    /// Why the run stopped before the end, when it did.
    pub fatal: Option<Error>,
}

/// Shared, thread-safe progress and outcome of a run.
pub(crate) struct Run<'r> {
    summary: Mutex<Summary>,
    /// Directories that received files; fsynced once at the end.
    dirs: Mutex<BTreeSet<PathBuf>>,
    reporter: &'r dyn Reporter,
    started: Instant,
    stop: &'r AtomicBool,
}

impl<'r> Run<'r> {
    /// Starts a run that reports to `reporter` and stops between files once
    /// `stop` is set.
    pub(crate) fn start(
        operation: &'static str,
        reporter: &'r dyn Reporter,
        stop: &'r AtomicBool,
    ) -> Self {
        Self {
            summary: Mutex::new(Summary {
                operation,
                ..Summary::default()
            }),
            dirs: Mutex::default(),
            reporter,
            started: Instant::now(),
            stop,
        }
    }

    pub(crate) fn reporter(&self) -> &'r dyn Reporter {
        self.reporter
    }

    fn with<T>(&self, f: impl FnOnce(&mut Summary) -> T) -> T {
        let mut guard = self
            .summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Commits a finished output file; its directory is synced at the end.
    pub(crate) fn commit(&self, file: AtomicFile, attributes: Attributes) -> Result<()> {
        let dir = commit_file_deferred(file, attributes)?;
        self.dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir);
        Ok(())
    }

    /// A file was written.
    pub(crate) fn done(&self, bytes: u64) {
        let files = self.with(|s| {
            s.files += 1;
            s.bytes += bytes;
            s.files
        });
        self.reporter.file_done(bytes, files);
    }

    /// A file was already up to date.
    pub(crate) fn unchanged(&self, bytes: u64) {
        self.with(|s| s.unchanged += 1);
        self.reporter.file_unchanged(bytes);
    }

    /// An entry was skipped on purpose.
    pub(crate) fn skip(&self, path: &str, reason: impl Into<String>) {
        let reason = reason.into();
        self.reporter.skipped(path, &reason);
        self.with(|s| {
            s.skipped.push(PathReason {
                path: path.to_string(),
                reason,
            })
        });
    }

    /// A file failed.
    pub(crate) fn fail(&self, path: &str, error: &Error) {
        self.reporter.failed(path, error);
        self.with(|s| {
            s.failed.push(PathReason {
                path: path.to_string(),
                reason: error.chain(),
            })
        });
    }

    /// A file counted as written could not be put in place after all.
    pub(crate) fn unplace(&self, path: &str, bytes: u64, error: &Error) {
        self.with(|s| {
            s.files = s.files.saturating_sub(1);
            s.bytes = s.bytes.saturating_sub(bytes);
        });
        self.fail(path, error);
    }

    /// Files and paths that failed so far.
    pub(crate) fn failures(&self) -> usize {
        self.with(|s| s.failed.len())
    }

    /// Whether the caller asked the run to stop.
    pub(crate) fn interrupted(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Makes every committed file durable (one fsync per directory) and
    /// returns the summary.
    pub(crate) fn finish(self, fatal: Option<Error>) -> TreeOutcome {
        let interrupted = self.interrupted();
        for dir in self.dirs.into_inner().unwrap_or_else(|p| p.into_inner()) {
            if let Err(e) = durable::sync_dir(&dir) {
                self.reporter.warn(&format!("{}: {e}", dir.display()));
            }
        }
        let mut summary = self.summary.into_inner().unwrap_or_else(|p| p.into_inner());
        summary.seconds = self.started.elapsed().as_secs_f64();
        summary.interrupted = interrupted;
        TreeOutcome { summary, fatal }
    }
}

/// One step of a tree walk below `root`: the entry and its path relative to
/// `root`. A walk error (say, an unreadable directory) is recorded as a
/// failure of that path; the root itself yields nothing.
pub(crate) fn walked(
    run: &Run<'_>,
    root: &Path,
    entry: walkdir::Result<walkdir::DirEntry>,
) -> Option<(walkdir::DirEntry, PathBuf)> {
    let entry = match entry {
        Ok(entry) => entry,
        Err(e) => {
            let shown = e
                .path()
                .map(|p| p.strip_prefix(root).unwrap_or(p).display().to_string())
                .unwrap_or_else(|| root.display().to_string());
            let error = Error::Io {
                context: "cannot read it".into(),
                source: e.into(),
            };
            run.fail(&shown, &error);
            return None;
        }
    };
    let rel = entry.path().strip_prefix(root).ok()?.to_path_buf();
    (!rel.as_os_str().is_empty()).then_some((entry, rel))
}

/// `/`-separated raw bytes of a relative path, as stored in metadata.
pub(crate) fn path_bytes(rel: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, component) in rel.components().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(&os_bytes(component.as_os_str()));
    }
    out
}

/// The ancestors of a `/`-separated path, nearest first: `a/b/c` gives
/// `a/b`, then `a`.
pub(crate) fn ancestor_paths(path: &[u8]) -> impl Iterator<Item = &[u8]> {
    path.iter()
        .enumerate()
        .rev()
        .filter(|(_, &b)| b == b'/')
        .map(move |(i, _)| &path[..i])
}

/// Creates `root/rel_dir` one component at a time, refusing to follow a
/// symbolic link or to step outside `root`: a restore must never write
/// outside its destination, whatever is already on disk.
pub(crate) fn create_dirs_inside(root: &Path, rel_dir: &Path) -> Result<PathBuf> {
    let mut current = root.to_path_buf();
    for component in rel_dir.components() {
        match component {
            Component::Normal(name) => current.push(name),
            _ => {
                return Err(Error::Failed(format!(
                    "{} is not a plain relative path",
                    rel_dir.display()
                )))
            }
        }
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::Failed(format!(
                    "{} exists and is not a directory (refusing to follow symlinks)",
                    current.display()
                )))
            }
            Err(_) => match fs::create_dir(&current) {
                Ok(()) => {}
                // Another worker made it meanwhile.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => {
                    return Err(e).with_context(|| format!("cannot create {}", current.display()))
                }
            },
        }
    }
    Ok(current)
}

/// Removes temporary files a killed earlier run left in `dir` (recursively).
pub(crate) fn remove_stale_temp_files(dir: &Path) {
    if !dir.is_dir() {
        return;
    }
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        if entry.file_type().is_file() && is_temp_name(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Modification time as (seconds, nanoseconds) since the epoch.
pub(crate) fn mtime_of(meta: &fs::Metadata) -> Option<(i64, u32)> {
    metadata_from(Vec::new(), meta).mtime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dirs_are_created_inside_the_root_only() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("dest");
        fs::create_dir(&root).unwrap();
        let made = create_dirs_inside(&root, Path::new("a/b/c")).unwrap();
        assert!(made.is_dir() && made.starts_with(&root));
        assert!(create_dirs_inside(&root, Path::new("../x")).is_err());
        assert!(create_dirs_inside(&root, Path::new("/etc")).is_err());
        {
            let outside = tmp.path().join("outside");
            fs::create_dir(&outside).unwrap();
            std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
            assert!(create_dirs_inside(&root, Path::new("link/sub")).is_err());
            assert!(!outside.join("sub").exists());
        }
    }

    #[test]
    fn stale_temp_files_are_removed_and_nothing_else() {
        let tmp = tempfile::tempdir().unwrap();
        fs::create_dir(tmp.path().join("d")).unwrap();
        let stale = tmp
            .path()
            .join("d")
            .join(format!(".f.slock{}0123456789ab", durable::TEMP_MARKER));
        fs::write(&stale, b"x").unwrap();
        fs::write(tmp.path().join("d/keep.slock"), b"y").unwrap();
        remove_stale_temp_files(tmp.path());
        assert!(!stale.exists());
        assert!(tmp.path().join("d/keep.slock").exists());
    }

    #[test]
    fn ancestors_of_a_path_come_nearest_first() {
        let got: Vec<&[u8]> = ancestor_paths(b"a/b/c").collect();
        assert_eq!(got, [&b"a/b"[..], b"a"]);
        assert_eq!(ancestor_paths(b"top").count(), 0);
    }

    #[test]
    fn relative_paths_become_slash_separated_bytes() {
        assert_eq!(
            path_bytes(Path::new("a/b c/d.txt")),
            b"a/b c/d.txt".to_vec()
        );
    }
}
