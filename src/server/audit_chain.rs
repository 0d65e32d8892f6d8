//! The audit log as a hash chain: every line carries, as its first field,
//! `"prev"`, the SHA-256 (hex) of the exact bytes of the line before it
//! (all zeros for the first), so removing, altering, inserting or
//! reordering a record breaks the chain at the next one, and
//! `shardlock server audit verify` names where.
//!
//! Appends are serialised by one lock that covers computing `prev`, the
//! write and (for required lines) the fdatasync, so the order in the file
//! is the order of the chain. A chain proves order and completeness up to
//! its newest record; to catch truncation or a rewritten tail, keep the
//! head that `verify` prints somewhere else (a log shipper, a ticket).
//! Lines written before the chain existed (no `prev`) are reported as
//! unchained and the chain is checked from the first chained line on.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use sha2::{Digest, Sha256};

use crate::durable::open_append_private;
use crate::encoding::{hex, parse_hex32};

/// The newest line is looked for in this many trailing bytes at start;
/// audit lines are a few hundred bytes (summaries at most a few KiB).
const TAIL_WINDOW: u64 = 256 * 1024;

/// The writing end of a chained audit log.
#[derive(Debug)]
pub(crate) struct AuditChain {
    path: PathBuf,
    /// SHA-256 of the newest line in the file.
    head: Mutex<[u8; 32]>,
}

impl AuditChain {
    /// Continues the chain of the log at `path` (creating nothing yet).
    pub(crate) fn open(path: &Path) -> std::io::Result<Self> {
        Ok(Self {
            path: path.to_path_buf(),
            head: Mutex::new(newest_line_hash(path)?),
        })
    }

    /// Appends one JSON line (a `{...}` object ending in a newline),
    /// chained to the one before it; fdatasyncs it when `sync`, echoes it to
    /// stderr when `echo`. The chain only advances once the write worked.
    pub(crate) fn append(&self, line: &str, sync: bool, echo: bool) -> std::io::Result<()> {
        let mut head = self.head.lock().unwrap_or_else(PoisonError::into_inner);
        let chained = chain_line(line, &head);
        let mut file = open_append_private(&self.path)?;
        // One write on an O_APPEND file: a line is never interleaved.
        file.write_all(chained.as_bytes())?;
        if sync {
            file.sync_data()?;
        }
        *head = Sha256::digest(chained.as_bytes()).into();
        if echo {
            eprint!("{chained}");
        }
        Ok(())
    }
}

/// `line` with `"prev":"<hex>"` as its first field.
fn chain_line(line: &str, prev: &[u8; 32]) -> String {
    let body = line.strip_prefix('{').unwrap_or(line);
    let separator = if body.starts_with('}') { "" } else { "," };
    format!("{{\"prev\":\"{}\"{separator}{body}", hex(prev))
}

/// SHA-256 of the last complete line of `path`; zeros for a missing or
/// empty file.
fn newest_line_hash(path: &Path) -> std::io::Result<[u8; 32]> {
    let mut file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok([0; 32]),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let start = len.saturating_sub(TAIL_WINDOW);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    // Only complete lines count: a torn last write (a crash mid-line) is
    // left for verify to report, and the chain continues from the line
    // before it.
    let complete = match tail.iter().rposition(|&b| b == b'\n') {
        Some(end) => &tail[..=end],
        None => return Ok([0; 32]),
    };
    let line_start = complete[..complete.len() - 1]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    if line_start == 0 && start > 0 {
        return Err(std::io::Error::other(
            "the newest audit line is longer than 256 KiB; the log is damaged",
        ));
    }
    Ok(Sha256::digest(&complete[line_start..]).into())
}

/// What `verify` found in an intact log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    /// Lines in the file.
    pub records: u64,
    /// Lines from before the chain existed (at the start of the file).
    pub unchained: u64,
    /// SHA-256 of the newest line: keep it elsewhere to detect truncation.
    pub head: [u8; 32],
}

/// Where and how a chain is broken.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The log could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The log.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A record that does not continue the chain.
    #[error("record {record} (line {record}): {reason}; records were removed, altered, inserted or reordered here")]
    Broken {
        /// 1-based line number.
        record: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Checks every record of the log at `path` against the one before it.
pub fn verify(path: &Path) -> Result<ChainReport, ChainError> {
    let read_error = |source| ChainError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut reader = BufReader::new(File::open(path).map_err(read_error)?);
    let mut report = ChainReport {
        records: 0,
        unchained: 0,
        head: [0; 32],
    };
    let mut chained = false;
    let mut line = Vec::new();
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line).map_err(read_error)? == 0 {
            break;
        }
        report.records += 1;
        let record = report.records;
        let broken = |reason| ChainError::Broken { record, reason };
        if line.last() != Some(&b'\n') {
            return Err(broken("the last record is cut off (torn write)"));
        }
        let value: serde_json::Value =
            serde_json::from_slice(&line).map_err(|_| broken("not a JSON record"))?;
        match value.get("prev").and_then(serde_json::Value::as_str) {
            Some(prev) => {
                let prev = parse_hex32(prev).ok_or(broken("its prev field is malformed"))?;
                // The head starts as zeros, then is the previous line's hash,
                // chained or not (a writer continues from whatever is last).
                if prev != report.head {
                    return Err(broken("its prev hash does not match the record before it"));
                }
                chained = true;
            }
            None if chained => return Err(broken("it carries no prev hash inside the chain")),
            None => report.unchained += 1,
        }
        report.head = Sha256::digest(&line).into();
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    fn chain_of(lines: &[&str]) -> (tempfile::TempDir, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("audit.log");
        let chain = AuditChain::open(&path).unwrap();
        for line in lines {
            chain.append(line, false, false).unwrap();
        }
        (tmp, path)
    }

    fn lines(path: &Path) -> Vec<String> {
        fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|l| format!("{l}\n"))
            .collect()
    }

    fn broken_at(path: &Path) -> u64 {
        match verify(path) {
            Err(ChainError::Broken { record, .. }) => record,
            other => panic!("expected a broken chain, got {other:?}"),
        }
    }

    const RECORDS: [&str; 4] = ["{\"n\":1}\n", "{\"n\":2}\n", "{\"n\":3}\n", "{\"n\":4}\n"];

    #[test]
    fn an_untouched_chain_verifies_and_reports_its_head() {
        let (_tmp, path) = chain_of(&RECORDS);
        let report = verify(&path).unwrap();
        assert_eq!(report.records, 4);
        assert_eq!(report.unchained, 0);
        let last = lines(&path).pop().unwrap();
        assert_eq!(
            report.head,
            <[u8; 32]>::from(Sha256::digest(last.as_bytes()))
        );
        assert!(lines(&path)[0].starts_with(&format!("{{\"prev\":\"{}\",", "0".repeat(64))));
    }

    #[test]
    fn a_restarted_writer_continues_the_same_chain() {
        let (_tmp, path) = chain_of(&RECORDS[..2]);
        let chain = AuditChain::open(&path).unwrap();
        chain.append(RECORDS[2], true, false).unwrap();
        assert_eq!(verify(&path).unwrap().records, 3);
    }

    #[test]
    fn removed_altered_inserted_and_reordered_records_are_named() {
        let (_tmp, path) = chain_of(&RECORDS);
        let original = lines(&path);
        let write = |ls: &[String]| fs::write(&path, ls.concat()).unwrap();

        let mut removed = original.clone();
        removed.remove(1);
        write(&removed);
        assert_eq!(broken_at(&path), 2);

        let mut altered = original.clone();
        altered[1] = altered[1].replace("\"n\":2", "\"n\":9");
        write(&altered);
        assert_eq!(broken_at(&path), 3);

        let mut reordered = original.clone();
        reordered.swap(1, 2);
        write(&reordered);
        assert_eq!(broken_at(&path), 2);

        let mut inserted = original.clone();
        inserted.insert(2, "{\"n\":99}\n".into());
        write(&inserted);
        assert_eq!(broken_at(&path), 3);

        let mut torn = original.concat();
        torn.pop();
        fs::write(&path, torn).unwrap();
        assert_eq!(broken_at(&path), 4);
    }

    #[test]
    fn lines_from_before_the_chain_are_counted_as_unchained() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("audit.log");
        fs::write(&path, "{\"old\":1}\n{\"old\":2}\n").unwrap();
        let chain = AuditChain::open(&path).unwrap();
        chain.append(RECORDS[0], false, false).unwrap();
        let report = verify(&path).unwrap();
        assert_eq!((report.records, report.unchained), (3, 2));
        // An unchained line after the chain started is an insertion.
        fs::write(
            &path,
            format!("{}{{\"sneaked\":1}}\n", fs::read_to_string(&path).unwrap()),
        )
        .unwrap();
        assert_eq!(broken_at(&path), 4);
    }
}
