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

    /// Whether a progress display wants [`Reporter::total_bytes`] (which
    /// costs a walk of the tree before the work starts).
    fn wants_total(&self) -> bool {
        false
    }

    /// The bytes a tree run expects to process.
    fn total_bytes(&self, _total: u64) {}

    /// A file was written: its plaintext bytes and the files so far.
    fn file_done(&self, _bytes: u64, _files_so_far: u64) {}

    /// A file was already up to date.
    fn file_unchanged(&self, _bytes: u64) {}

    /// An entry was skipped on purpose (symlink, device, non-.slock file).
    fn skipped(&self, _path: &str, _reason: &str) {}

    /// A file failed; the run goes on with the others.
    fn failed(&self, _path: &str, _error: &Error) {}
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
