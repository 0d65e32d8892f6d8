//! How use cases tell their caller what is happening without printing:
//! notes, warnings, server faults that others covered for, and the
//! per-file events of a tree run. The CLI turns them into stderr lines and
//! a progress bar; a library user may ignore them all.

use super::error::Error;
use crate::threshold::kem::{Fault, ParticipantFault};

/// Receives what a use case has to say while it runs. Every method has a
/// default that ignores the event. Tree runs call it from several worker
/// threads at once.
pub trait Reporter: Sync {
    /// Something worth a line unless the user asked for quiet.
    fn note(&self, _message: &str) {}

    /// Something the user must know even when quiet.
    fn warn(&self, _message: &str) {}

    /// Whether a progress display wants [`Reporter::totals`] (which
    /// costs a walk of the tree before the work starts).
    fn wants_total(&self) -> bool {
        false
    }

    /// The files and plaintext bytes a run expects to process (one file
    /// for a single-file run).
    fn totals(&self, _files: u64, _bytes: u64) {}

    /// Plaintext bytes processed since the last call, reported while a
    /// file is being written (so a large file shows progress too); a
    /// file's bytes add up to its size once it is done.
    fn bytes_done(&self, _bytes: u64) {}

    /// A file was written: its plaintext bytes (already counted through
    /// [`Reporter::bytes_done`]) and the files so far.
    fn file_done(&self, _bytes: u64, _files_so_far: u64) {}

    /// A file was already up to date.
    fn file_unchanged(&self, _bytes: u64) {}

    /// An entry was skipped on purpose (symlink, device, non-.slock file).
    fn skipped(&self, _path: &str, _reason: &str) {}

    /// A file failed; the run goes on with the others.
    fn failed(&self, _path: &str, _error: &Error) {}
}

/// Counts what goes through a writer as progress of one file of `size`
/// plaintext bytes: reported in steps of [`ProgressWriter::STEP`], never
/// more than `size` in all (an encrypted output is a little longer than
/// its plaintext), and the rest once [`ProgressWriter::done`] is called.
pub(crate) struct ProgressWriter<'r, W> {
    inner: W,
    reporter: &'r dyn Reporter,
    size: u64,
    reported: u64,
    pending: u64,
}

impl<'r, W: std::io::Write> ProgressWriter<'r, W> {
    const STEP: u64 = 1 << 20;

    pub(crate) fn new(inner: W, reporter: &'r dyn Reporter, size: u64) -> Self {
        Self {
            inner,
            reporter,
            size,
            reported: 0,
            pending: 0,
        }
    }

    /// The file is complete: reports what is left of its size.
    pub(crate) fn done(mut self) {
        self.pending = 0;
        let rest = self.size.saturating_sub(self.reported);
        if rest > 0 && self.size != u64::MAX {
            self.reporter.bytes_done(rest);
        }
    }
}

impl<W: std::io::Write> std::io::Write for ProgressWriter<'_, W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        let room = self.size.saturating_sub(self.reported + self.pending);
        self.pending += (n as u64).min(room);
        if self.pending >= Self::STEP {
            self.reporter.bytes_done(self.pending);
            self.reported += self.pending;
            self.pending = 0;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// A reporter that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct QuietReporter;

impl Reporter for QuietReporter {}

/// Servers that failed while others covered for them: a lying server is a
/// loud warning (it may be compromised), an unreachable one a note.
pub(crate) fn report_faults(reporter: &dyn Reporter, faults: &[ParticipantFault]) {
    for fault in faults {
        match fault.fault {
            Fault::BadProof | Fault::WrongCount { .. } => reporter.warn(&format!(
                "key-share server {} (participant {}) returned a wrong answer that failed its proof; \
                 it was ignored, but it may be faulty or compromised: investigate it",
                fault.name, fault.participant
            )),
            Fault::Service(_) => reporter.note(&format!("note: skipped {fault}")),
        }
    }
}
