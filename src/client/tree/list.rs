//! Listing an encrypted tree (`shardlock ls ENC [PATTERN]`): paths, kinds,
//! sizes, modes and mtimes, without writing anything. A private tree needs
//! one data key (its index); a mirrored tree needs every file's, unwrapped
//! in batches like a restore, and only headers are read.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use super::decrypt::{read_index, unwrap_keys, KeySource, Selection};
use super::encrypt::SUFFIX;
use super::{private, walked, PathReason, Run};
use crate::client::error::{Error, IoContext, Result};
use crate::client::report::Reporter;
use crate::client::Session;
use crate::durable::is_temp_name;
use crate::envelope::{self, recovery::RecoverySecret, SealedHeader};
use crate::format::tree_index::{Entry, EntryKind, ID_LEN};
use crate::threshold::kem::MAX_BATCH;

/// What to list.
#[derive(Debug, Clone, Default)]
pub struct ListTree {
    /// The encrypted tree.
    pub source: PathBuf,
    /// Only paths matching this glob (or whose file name does).
    pub pattern: Option<String>,
    /// Open with the offline recovery key instead of servers.
    pub recovery: Option<std::sync::Arc<RecoverySecret>>,
}

/// A tree's entries, sorted by path, and the files that could not be read.
#[derive(Debug, Default)]
pub struct Listing {
    /// Entries (objects and hashes are zero for a mirrored tree).
    pub entries: Vec<Entry>,
    /// Files whose metadata could not be read (mirrored trees).
    pub failed: Vec<PathReason>,
    /// Whether the tree is private.
    pub private: bool,
}

impl Session {
    /// Lists an encrypted tree with the help of `t` servers (or the
    /// recovery key).
    pub fn list_tree(&self, request: &ListTree, reporter: &dyn Reporter) -> Result<Listing> {
        let enc = &request.source;
        if !enc.is_dir() {
            return Err(Error::Usage(format!(
                "{} is not a directory",
                enc.display()
            )));
        }
        let include: Vec<String> = request.pattern.iter().cloned().collect();
        let selection = Selection::new(&include, &[])?;
        let mut keys = KeySource::new(self, request.recovery.as_deref())?;
        if private::is_private_tree(enc) {
            let index = read_index(enc, &mut keys, reporter)?;
            let entries = index
                .entries
                .into_iter()
                .filter(|e| {
                    crate::format::metadata::relative_path(&e.path)
                        .is_ok_and(|rel| selection.selects(&rel, e.is_dir()))
                })
                .collect();
            return Ok(Listing {
                entries,
                failed: Vec::new(),
                private: true,
            });
        }
        list_mirror(enc, &selection, &mut keys, reporter)
    }
}

/// Reads every `.slock` header of a mirrored tree and opens its metadata.
fn list_mirror(
    enc: &Path,
    selection: &Selection,
    keys: &mut KeySource<'_>,
    reporter: &dyn Reporter,
) -> Result<Listing> {
    let stop = AtomicBool::new(false);
    let run = Run::start("ls", reporter, &stop);
    let mut entries = Vec::new();
    let mut batch: Vec<(PathBuf, SealedHeader)> = Vec::new();
    for entry in walkdir::WalkDir::new(enc)
        .follow_links(false)
        .sort_by_file_name()
    {
        let Some((entry, rel)) = walked(&run, enc, entry) else {
            continue;
        };
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !name.ends_with(SUFFIX) || is_temp_name(&name) {
            continue;
        }
        let tree_rel = rel.with_file_name(&name[..name.len() - SUFFIX.len()]);
        if !selection.selects(&tree_rel, false) {
            continue;
        }
        let header = std::fs::File::open(entry.path())
            .context("cannot open")
            .and_then(|mut f| Ok(envelope::read_header(&mut f)?));
        match header {
            Ok(header) => batch.push((tree_rel, header)),
            Err(e) => run.fail(&rel.display().to_string(), &e),
        }
        if batch.len() >= MAX_BATCH {
            open_batch(std::mem::take(&mut batch), keys, &run, &mut entries)?;
        }
    }
    open_batch(batch, keys, &run, &mut entries)?;
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let outcome = run.finish(None);
    Ok(Listing {
        entries,
        failed: outcome.summary.failed,
        private: false,
    })
}

fn open_batch(
    batch: Vec<(PathBuf, SealedHeader)>,
    keys: &mut KeySource<'_>,
    run: &Run<'_>,
    entries: &mut Vec<Entry>,
) -> Result<()> {
    unwrap_keys(
        batch,
        |(_, header)| header,
        |(rel, _)| rel.display().to_string(),
        run,
        keys,
        &mut |(rel, header), dek| {
            match header.metadata(&dek) {
                Ok(meta) => {
                    let meta = meta.unwrap_or_default();
                    let path = if meta.path.is_empty() {
                        super::path_bytes(&rel)
                    } else {
                        meta.path.clone()
                    };
                    entries.push(Entry {
                        path,
                        kind: EntryKind::File {
                            object: [0; ID_LEN],
                            header_sha256: [0; 32],
                        },
                        mode: meta.mode.unwrap_or(0),
                        mtime: meta.mtime.unwrap_or((0, 0)),
                        size: meta.size,
                    });
                }
                Err(e) => run.fail(&rel.display().to_string(), &Error::from(e)),
            }
            true
        },
    )?;
    Ok(())
}
