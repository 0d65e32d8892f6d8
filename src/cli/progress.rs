//! How tree runs look on a terminal: a progress bar on stderr (only on a
//! terminal, never with `--quiet` or `--json`), one line per skipped or
//! failed file, the closing summary as text or JSON, and Ctrl-C / SIGTERM
//! turned into a request to stop between files.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::settings::{warn, Settings};
use shardlock::client::tree::TreeOutcome;
use shardlock::client::{Error, Reporter};

/// Stderr lines and a progress bar for a run.
#[derive(Debug)]
pub struct Terminal {
    bar: Option<ProgressBar>,
    quiet: bool,
    /// Files the run expects (0 until known), for "N/M files".
    total_files: std::sync::atomic::AtomicU64,
    /// A single-file run: the bar appears only for inputs this large.
    min_bytes: u64,
}

/// Single files smaller than this finish before a bar would be useful.
const SINGLE_FILE_BAR_BYTES: u64 = 16 * 1024 * 1024;

impl Terminal {
    /// For a tree run: a bar only on a terminal, without `--quiet` or
    /// `--json`.
    pub fn for_tree(settings: &Settings, operation: &'static str, json: bool) -> Self {
        let bar = show_bar(settings, json).then(|| {
            new_bar(
                operation,
                "{spinner} {prefix}: {msg}, {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})",
                ProgressDrawTarget::stderr(),
            )
        });
        if let Some(bar) = &bar {
            // Never blank: the totals take a walk of the tree first.
            bar.set_message("counting files");
            bar.enable_steady_tick(Duration::from_millis(200));
        }
        Self {
            bar,
            quiet: settings.quiet || json,
            total_files: Default::default(),
            min_bytes: 0,
        }
    }

    /// For one file or stream: bytes, rate and ETA on a terminal once the
    /// input is large (or of unknown size), without `--quiet` or `--json`.
    pub fn for_file(settings: &Settings, operation: &'static str, json: bool) -> Self {
        let bar = show_bar(settings, json).then(|| {
            new_bar(
                operation,
                "{spinner} {prefix}: {bytes}/{total_bytes} ({bytes_per_sec}, ETA {eta})",
                ProgressDrawTarget::hidden(),
            )
        });
        Self {
            bar,
            quiet: settings.quiet || json,
            total_files: Default::default(),
            min_bytes: SINGLE_FILE_BAR_BYTES,
        }
    }

    /// For a single operation: notes and warnings only.
    pub fn plain(settings: &Settings) -> Self {
        Self {
            bar: None,
            quiet: settings.quiet,
            total_files: Default::default(),
            min_bytes: 0,
        }
    }

    fn print(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{line}")),
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar (before a closing line).
    pub fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn show_bar(settings: &Settings, json: bool) -> bool {
    !settings.quiet && !json && std::io::stderr().is_terminal()
}

/// A bar drawing to `target` (hidden for a single file until its size is
/// known to be worth a bar).
fn new_bar(operation: &'static str, template: &str, target: ProgressDrawTarget) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(None, target);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(operation);
    bar
}

impl Reporter for Terminal {
    fn note(&self, message: &str) {
        if !self.quiet {
            self.print(message);
        }
    }

    fn warn(&self, message: &str) {
        self.print(&format!("shardlock: warning: {message}"));
    }

    fn wants_total(&self) -> bool {
        self.bar.is_some()
    }

    fn totals(&self, files: u64, bytes: u64) {
        if let Some(bar) = &self.bar {
            self.total_files.store(files, Ordering::Relaxed);
            bar.set_length(bytes);
            if self.min_bytes > 0 {
                // One file: draw only when it is worth it.
                if bytes >= self.min_bytes {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(200));
                }
            } else {
                bar.set_message(format!("0/{files} files"));
            }
        }
    }

    fn bytes_done(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn file_done(&self, _bytes: u64, files_so_far: u64) {
        if let Some(bar) = &self.bar {
            if self.min_bytes == 0 {
                match self.total_files.load(Ordering::Relaxed) {
                    0 => bar.set_message(format!("{files_so_far} files")),
                    total => bar.set_message(format!("{files_so_far}/{total} files")),
                }
            }
        }
    }

    fn file_unchanged(&self, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(bytes);
        }
    }

    fn skipped(&self, path: &str, reason: &str) {
        if !self.quiet {
            self.print(&format!("shardlock: warning: skipped {path}: {reason}"));
        }
    }

    fn failed(&self, path: &str, error: &Error) {
        self.print(&format!("shardlock: error: {path}: {}", error.chain()));
    }
}

/// Prints a tree run's summary and turns failures into the exit status.
pub fn finish_tree(
    settings: &Settings,
    terminal: &Terminal,
    outcome: TreeOutcome,
    json: bool,
) -> Result<()> {
    terminal.clear();
    let summary = outcome.summary;
    // The run's verdict first, so the JSON summary can carry its status.
    let verdict: Result<()> = if let Some(fatal) = outcome.fatal {
        Err(fatal.into())
    } else if summary.interrupted {
        Err(super::settings::Interrupted(
            "interrupted; nothing half-written was left under a final name, rerun with \
             --skip-unchanged to finish"
                .into(),
        )
        .into())
    } else if !summary.failed.is_empty() {
        Err(anyhow::anyhow!(
            "{} file(s) failed (named above); the rest were processed",
            summary.failed.len()
        ))
    } else {
        Ok(())
    };
    if json {
        let mut value = serde_json::to_value(&summary).context("cannot print the summary")?;
        if let Some(object) = value.as_object_mut() {
            object.insert(
                "timestamp".into(),
                shardlock::encoding::now_rfc3339().into(),
            );
            object.insert(
                "exit_code".into(),
                verdict.as_ref().err().map_or(0, super::exit_status).into(),
            );
        }
        outln!("{value}");
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
    verdict
}

/// `--json` for a single file: one line on stdout, whether it worked or
/// not (the error itself still goes to stderr once).
pub fn single_file_json(
    operation: &str,
    started: std::time::Instant,
    result: &Result<shardlock::client::FileOutcome>,
) {
    let mut value = serde_json::json!({
        "operation": operation,
        "files": u64::from(result.is_ok()),
        "seconds": started.elapsed().as_secs_f64(),
        "timestamp": shardlock::encoding::now_rfc3339(),
        "exit_code": result.as_ref().err().map_or(0, super::exit_status),
    });
    match result {
        Ok(outcome) => {
            value["bytes"] = outcome.bytes.into();
            value["keyset"] = outcome.keyset.clone().into();
        }
        Err(e) => value["error"] = shardlock::client::one_line(e.as_ref()).into(),
    }
    outln!("{value}");
}

/// For single-file runs: the first Ctrl-C or SIGTERM removes the partial
/// output (a temporary file beside the target, perhaps plaintext) and
/// exits with status 130 at once.
pub fn exit_on_signal() {
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(|| {
            let Ok(runtime) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            runtime.block_on(async {
                let Ok(mut term) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                let removed = shardlock::client::remove_partial_outputs();
                warn(if removed > 0 {
                    "interrupted; the partial output was removed"
                } else {
                    "interrupted"
                });
                std::process::exit(130);
            });
        });
    if spawned.is_err() {
        warn("cannot watch for Ctrl-C; an interrupted run may leave a temporary file");
    }
}

/// A flag set by the first Ctrl-C or SIGTERM, so workers stop between
/// files and temporary files are cleaned up; a second signal exits at once.
pub fn interrupt_flag() -> Arc<AtomicBool> {
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
                let Ok(mut term) =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                else {
                    return;
                };
                for round in 0..2 {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                    if round == 0 {
                        set.store(true, Ordering::Relaxed);
                        warn("stopping after the files in progress (signal again to quit now)");
                    } else {
                        shardlock::client::remove_partial_outputs();
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
