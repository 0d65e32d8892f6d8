//! What encrypting and restoring whole trees share: the run summary (text
//! or `--json`), the progress bar, Ctrl-C handling, safe directory
//! creation, and the per-file thread budget.
//!
//! Failures are per file: each is named on stderr as it happens, the rest
//! of the tree is still processed, and the run exits 1 at the end.

use std::collections::BTreeSet;
use std::fs;
use std::io::IsTerminal;
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::Serialize;

use super::output::commit_file_deferred;
use super::{warn, Settings};
use crate::durable::{self, is_temp_name, AtomicFile, Attributes};

/// Files at least this large are split across all workers by chunk; smaller
/// ones are processed one per worker.
pub const SPLIT_THRESHOLD: u64 = 8 * 1024 * 1024;

/// Threads to give one file of `size` bytes.
pub fn threads_for(settings: &Settings, size: u64) -> usize {
    if size >= SPLIT_THRESHOLD {
        settings.jobs
    } else {
        1
    }
}

/// Items per hand-off between the walker and the workers: one channel
/// operation (and maybe a thread wake-up) per file would cost more than
/// encrypting a small file.
const HANDOFF_BATCH: usize = 16;

/// Runs `work` on `jobs` threads over the items `produce` emits (through
/// the `send` callback it is given, which returns false once the workers
/// are gone), and returns what `produce` returns. Items travel in small
/// batches through a queue of about `queue` items, so memory stays bounded
/// whatever the number of files.
pub fn parallel<T: Send, R>(
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
}

/// Shared, thread-safe progress and outcome of a run.
#[derive(Debug)]
pub struct Run {
    summary: Mutex<Summary>,
    /// Directories that received files; fsynced once at the end.
    dirs: Mutex<BTreeSet<PathBuf>>,
    progress: Option<ProgressBar>,
    started: Instant,
    interrupted: Arc<AtomicBool>,
    quiet: bool,
}

impl Run {
    /// Starts a run; the progress bar appears only on a terminal, without
    /// `--quiet` or `--json`.
    pub fn start(settings: &Settings, operation: &'static str, json: bool) -> Self {
        let show = !settings.quiet && !json && std::io::stderr().is_terminal();
        let progress = show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {prefix}: {msg}, {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})",
                )
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.set_prefix(operation);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Self {
            summary: Mutex::new(Summary {
                operation,
                ..Summary::default()
            }),
            dirs: Mutex::default(),
            progress,
            started: Instant::now(),
            interrupted: interrupt_flag(),
            quiet: settings.quiet || json,
        }
    }

    /// Whether a progress bar is shown (worth computing a total for).
    pub fn wants_total(&self) -> bool {
        self.progress.is_some()
    }

    /// Sets the expected total bytes (enables the ETA).
    pub fn set_total_bytes(&self, total: u64) {
        if let Some(bar) = &self.progress {
            bar.set_length(total);
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Summary) -> T) -> T {
        let mut guard = self
            .summary
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut guard)
    }

    /// Commits a finished output file; its directory is synced at the end.
    pub fn commit(
        &self,
        file: AtomicFile,
        mode: Option<u32>,
        mtime: Option<(i64, u32)>,
    ) -> Result<()> {
        let dir = commit_file_deferred(file, Attributes { mode, mtime })?;
        self.dirs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(dir);
        Ok(())
    }

    /// A file was written.
    pub fn done(&self, bytes: u64) {
        let files = self.with(|s| {
            s.files += 1;
            s.bytes += bytes;
            s.files
        });
        if let Some(bar) = &self.progress {
            bar.inc(bytes);
            bar.set_message(format!("{files} files"));
        }
    }

    /// A file was already up to date.
    pub fn unchanged(&self, bytes: u64) {
        self.with(|s| s.unchanged += 1);
        if let Some(bar) = &self.progress {
            bar.inc(bytes);
        }
    }

    /// An entry was skipped on purpose; one warning each.
    pub fn skip(&self, path: &str, reason: impl Into<String>) {
        let reason = reason.into();
        if !self.quiet {
            self.print(&format!("shardlock: warning: skipped {path}: {reason}"));
        }
        self.with(|s| {
            s.skipped.push(PathReason {
                path: path.to_string(),
                reason,
            })
        });
    }

    /// A file failed; named on stderr right away.
    pub fn fail(&self, path: &str, error: &anyhow::Error) {
        self.print(&format!("shardlock: error: {path}: {error:#}"));
        self.with(|s| {
            s.failed.push(PathReason {
                path: path.to_string(),
                reason: format!("{error:#}"),
            })
        });
    }

    fn print(&self, line: &str) {
        match &self.progress {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Whether Ctrl-C or SIGTERM asked the run to stop.
    pub fn interrupted(&self) -> bool {
        self.interrupted.load(Ordering::Relaxed)
    }

    /// Prints the summary and turns failures into the exit status.
    pub fn finish(self, settings: &Settings, json: bool) -> Result<()> {
        if let Some(bar) = &self.progress {
            bar.finish_and_clear();
        }
        let interrupted = self.interrupted();
        for dir in self.dirs.into_inner().unwrap_or_else(|p| p.into_inner()) {
            if let Err(e) = durable::sync_dir(&dir) {
                warn(format_args!("{}: {e}", dir.display()));
            }
        }
        let mut summary = self.summary.into_inner().unwrap_or_else(|p| p.into_inner());
        summary.seconds = self.started.elapsed().as_secs_f64();
        if json {
            outln!(
                "{}",
                serde_json::to_string(&summary).context("cannot print the summary")?
            );
        } else {
            settings.note(format_args!(
                "{}ed {} files ({} bytes) in {:.2} s; {} unchanged, {} skipped, {} failed",
                summary.operation,
                summary.files,
                summary.bytes,
                summary.seconds,
                summary.unchanged,
                summary.skipped.len(),
                summary.failed.len()
            ));
        }
        if interrupted {
            bail!("interrupted; nothing half-written was left under a final name, rerun with --skip-unchanged to finish");
        }
        if !summary.failed.is_empty() {
            bail!(
                "{} file(s) failed (named above); the rest were processed",
                summary.failed.len()
            );
        }
        Ok(())
    }
}

/// A flag set by the first Ctrl-C or SIGTERM, so workers stop between
/// files and temporary files are cleaned up; a second signal exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async move {
                #[cfg(unix)]
                let Ok(mut term) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                for round in 0..2 {
                    #[cfg(unix)]
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    #[cfg(not(unix))]
                    let _ = tokio::signal::ctrl_c().await;
                    if round == 0 {
                        set.store(true, Ordering::Relaxed);
                        warn("stopping after the files in progress (signal again to quit now)");
                    } else {
                        std::process::exit(130);
                    }
                }
            });
        });
    if spawned.is_err() {
        warn("cannot watch for Ctrl-C; an interrupted run may leave temporary files");
    }
    flag
}

/// One step of a tree walk below `root`: the entry and its path relative to
/// `root`. A walk error (say, an unreadable directory) is recorded as a
/// failure of that path; the root itself yields nothing.
pub fn walked(
    run: &Run,
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
            run.fail(&shown, &anyhow::Error::new(e));
            return None;
        }
    };
    let rel = entry.path().strip_prefix(root).ok()?.to_path_buf();
    (!rel.as_os_str().is_empty()).then_some((entry, rel))
}

/// `/`-separated raw bytes of a relative path, as stored in metadata.
pub fn path_bytes(rel: &Path) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, component) in rel.components().enumerate() {
        if i > 0 {
            out.push(b'/');
        }
        out.extend_from_slice(&super::encrypt::os_bytes(component.as_os_str()));
    }
    out
}

/// Creates `root/rel_dir` one component at a time, refusing to follow a
/// symbolic link or to step outside `root`: a restore must never write
/// outside its destination, whatever is already on disk.
pub fn create_dirs_inside(root: &Path, rel_dir: &Path) -> Result<PathBuf> {
    let mut current = root.to_path_buf();
    for component in rel_dir.components() {
        match component {
            Component::Normal(name) => current.push(name),
            _ => bail!("{} is not a plain relative path", rel_dir.display()),
        }
        match fs::symlink_metadata(&current) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => bail!(
                "{} exists and is not a directory (refusing to follow symlinks)",
                current.display()
            ),
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
pub fn remove_stale_temp_files(dir: &Path) {
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
pub fn mtime_of(meta: &fs::Metadata) -> Option<(i64, u32)> {
    super::encrypt::metadata_from(Vec::new(), meta).mtime
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
        #[cfg(unix)]
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
    fn relative_paths_become_slash_separated_bytes() {
        assert_eq!(
            path_bytes(Path::new("a/b c/d.txt")),
            b"a/b c/d.txt".to_vec()
        );
    }
}
