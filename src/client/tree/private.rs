//! The private tree layout (docs/FORMAT.md section 9), the default of
//! `encrypt -r`: what the storage provider sees is a marker naming a random
//! tree id, one encrypted index, and one object per file under a random
//! name in a fixed 256-way fan-out. Names, structure, modes and mtimes live
//! only in the index; sizes are padded (Padmé); objects carry their write
//! time, not the source's.
//!
//! ```text
//! OUT/shardlock-tree                  "shardlock private tree 1\n" hex(tree_id) "\n"
//! OUT/index.slock                     the index (FORMAT.md 9.2), padded
//! OUT/objects/HH/HHHH…(32 hex).slock  one file each, padded, no path inside
//! ```
//!
//! Encryption stays offline and incremental: the encrypting machine keeps
//! its own copy of the index (never uploaded) in `trees/TREE_ID.state`
//! beside the config, so `--skip-unchanged` knows what is already there
//! without asking a server.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use rand::RngCore;
use sha2::{Digest, Sha256};

use super::dest::{Dest, Unplaced};
use super::encrypt::EncryptTree;
use super::{parallel, path_bytes, walked, Run, TreeOutcome};
use crate::client::error::{Error, IoContext, Result};
use crate::client::report::{ProgressWriter, Reporter};
use crate::client::Session;
use crate::durable::{self, AtomicFile, Attributes, Replace};
use crate::encoding::{hex, parse_hex_array};
use crate::envelope::{self, Recipients, Source};
use crate::format::metadata::FileMetadata;
use crate::format::tree_index::{Entry, EntryKind, TreeIndex, ID_LEN};

/// The clear marker file that says "this is a private tree".
pub const MARKER: &str = "shardlock-tree";
/// The encrypted index.
pub const INDEX: &str = "index.slock";
/// The directory of objects.
pub const OBJECTS: &str = "objects";
const MARKER_FIRST_LINE: &str = "shardlock private tree 1";
/// The local state file starts with these bytes, then the recipients'
/// fingerprint (32), then the index encoding.
const STATE_MAGIC: &[u8; 8] = b"SLSTATE1";

/// Whether `dir` holds a private tree.
pub fn is_private_tree(dir: &Path) -> bool {
    dir.join(MARKER).is_file()
}

/// Reads the tree id from the marker.
pub(crate) fn read_marker(dir: &Path) -> Result<[u8; ID_LEN]> {
    let path = dir.join(MARKER);
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut lines = text.lines();
    match (
        lines.next(),
        lines.next().and_then(parse_hex_array::<ID_LEN>),
        lines.next(),
    ) {
        (Some(MARKER_FIRST_LINE), Some(id), None) => Ok(id),
        _ => Err(Error::Integrity(format!(
            "{} is not a shardlock private-tree marker (damaged, or from a newer version)",
            path.display()
        ))),
    }
}

/// Where object `id` lives, relative to the tree's root.
pub(crate) fn object_path(id: &[u8; ID_LEN]) -> PathBuf {
    let name = hex(id);
    Path::new(OBJECTS)
        .join(&name[..2])
        .join(format!("{name}.slock"))
}

/// Metadata sealed into every object and the index: no path (the index
/// holds it), the true size, and padding unless turned off.
fn object_metadata(
    size: u64,
    mode: Option<u32>,
    mtime: Option<(i64, u32)>,
    pad: bool,
) -> FileMetadata {
    FileMetadata {
        path: Vec::new(),
        size,
        mode,
        mtime,
        padded: pad,
    }
}

/// Identifies whom a tree's objects are encrypted for: a change (another
/// keyset, a recovery key added) makes `--skip-unchanged` re-encrypt.
fn recipients_fingerprint(to: Recipients<'_>) -> [u8; 32] {
    let mut hash = Sha256::new();
    hash.update(b"shardlock/v1 tree recipients");
    hash.update(to.keyset.id());
    if let Some(recovery) = to.recovery {
        hash.update(recovery.to_text().as_bytes());
    }
    hash.finalize().into()
}

/// What the encrypting machine remembers of a tree it uploaded.
struct State {
    recipients: [u8; 32],
    index: TreeIndex,
}

impl State {
    fn path_for(config_path: &Path, tree_id: &[u8; ID_LEN]) -> PathBuf {
        config_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("trees")
            .join(format!("{}.state", hex(tree_id)))
    }

    fn load(path: &Path) -> Result<Option<Self>> {
        let bytes = match fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    context: format!("cannot read {}", path.display()),
                    source,
                })
            }
        };
        let damaged = || {
            Error::Failed(format!(
                "{} is damaged; move it away and rerun with --force to upload every file again",
                path.display()
            ))
        };
        if bytes.len() < 40 || &bytes[..8] != STATE_MAGIC {
            return Err(damaged());
        }
        let mut recipients = [0u8; 32];
        recipients.copy_from_slice(&bytes[8..40]);
        let index = TreeIndex::decode(&bytes[40..]).map_err(|_| damaged())?;
        Ok(Some(Self { recipients, index }))
    }
}

/// Writes the state file (FORMAT.md 9.4) from an index already encoded,
/// durably and with mode 0600.
fn save_state(path: &Path, recipients: &[u8; 32], index: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    durable::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let context = || format!("cannot write {}", path.display());
    let mut file = AtomicFile::create(path, Replace::Allow).with_context(context)?;
    let mut out = std::io::BufWriter::new(file.file());
    out.write_all(STATE_MAGIC)
        .and_then(|()| out.write_all(recipients))
        .and_then(|()| out.write_all(index))
        .and_then(|()| out.flush())
        .with_context(context)?;
    drop(out);
    file.commit(Attributes::default()).with_context(context)
}

/// Holds an exclusive lock on a tree's state while a run writes it, so two
/// runs into the same tree cannot interleave.
struct StateLock(#[allow(dead_code)] File);

fn lock_state(state_path: &Path) -> Result<StateLock> {
    let dir = state_path.parent().unwrap_or_else(|| Path::new("."));
    durable::create_private_dir(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = state_path.with_extension("lock");
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(StateLock(file)),
        Err(rustix::io::Errno::WOULDBLOCK) => Err(Error::Usage(
            "another shardlock run is writing this tree; wait for it to finish".into(),
        )),
        Err(e) => Err(Error::Io {
            context: format!("cannot lock {}", lock_path.display()),
            source: e.into(),
        }),
    }
}

/// One source file to encrypt into a new object.
struct Job {
    rel: PathBuf,
    path: PathBuf,
    entry: Entry,
}

/// Encrypts `src` into the private tree at `out` (see the module docs).
pub(crate) fn encrypt_private(
    session: &Session,
    args: &EncryptTree,
    to: Recipients<'_>,
    (src, out, inner_out): (&Path, &Path, Option<PathBuf>),
    excludes: &globset::GlobSet,
    reporter: &dyn Reporter,
    stop: &AtomicBool,
) -> Result<TreeOutcome> {
    let pad = !args.no_pad;
    let tree_id = open_or_create_tree(out)?;
    let state_path = State::path_for(&session.config_path()?, &tree_id);
    let _lock = lock_state(&state_path)?;
    let recipients = recipients_fingerprint(to);
    let state = State::load(&state_path)?;
    let old_recipients_match = state.as_ref().is_some_and(|s| s.recipients == recipients);
    if state.is_none() && out.join(INDEX).exists() && !args.force {
        return Err(Error::Usage(format!(
            "{} was written from another machine or its local state is gone (expected {}); \
             restore that file, or pass --force to upload every file again (files that only \
             the old upload lists are then no longer listed)",
            out.display(),
            state_path.display()
        )));
    }
    let old = state.map(|s| s.index).unwrap_or_else(|| TreeIndex {
        tree_id,
        ..TreeIndex::default()
    });
    let old_by_path: BTreeMap<&[u8], &Entry> =
        old.entries.iter().map(|e| (e.path.as_slice(), e)).collect();
    super::remove_stale_temp_files(&out.join(OBJECTS));

    let dest = Dest::open(out, Replace::Refuse)
        .with_context(|| format!("cannot open {}", out.display()))?;
    let run = Run::start("encrypt", reporter, stop);
    let fresh: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
    let kept: Mutex<Vec<Entry>> = Mutex::new(Vec::new());
    let fanout: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let unplaced: Mutex<Vec<Unplaced>> = Mutex::new(Vec::new());
    if reporter.wants_total() {
        let (files, bytes) = super::encrypt::totals(src, excludes);
        reporter.totals(files, bytes);
    }
    let jobs = session.options().jobs;
    let reuse = args.skip_unchanged && !args.force && old_recipients_match;
    parallel(
        jobs,
        64 * jobs,
        |send| {
            walk_source(src, &inner_out, excludes, &run, &mut |entry, path, rel| {
                if entry.is_dir() {
                    lock(&kept).push(entry);
                    return true;
                }
                if reuse {
                    if let Some(old) = old_by_path.get(entry.path.as_slice()) {
                        if same_file(old, &entry) && object_intact(out, old, pad, to) {
                            run.unchanged(entry.size);
                            lock(&kept).push((*old).clone());
                            return true;
                        }
                    }
                }
                send(Job { rel, path, entry })
            })
        },
        |job: Job| {
            if run.interrupted() {
                return;
            }
            match encrypt_object(session, &dest, &fanout, to, pad, &job, reporter) {
                Ok((entry, failed)) => {
                    run.done(entry.size);
                    lock(&fresh).push(entry);
                    lock(&unplaced).extend(failed);
                }
                Err(e) => run.fail(&job.rel.display().to_string(), &e),
            }
        },
    );
    // Every new object on disk under its final name before the index that
    // lists it (a crash in between leaves only unlisted objects).
    let placed = dest
        .finish()
        .with_context(|| format!("cannot write {}", out.display()));
    let mut fresh = fresh.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut unplaced = unplaced.into_inner().unwrap_or_else(|p| p.into_inner());
    match placed {
        Ok(last) => {
            unplaced.extend(last);
            for u in unplaced {
                let error = Error::Io {
                    context: "cannot write its object".into(),
                    source: u.error,
                };
                run.unplace(&u.path.display().to_string(), u.bytes, &error);
                let id = u
                    .path
                    .file_stem()
                    .and_then(|s| parse_hex_array::<ID_LEN>(&s.to_string_lossy()));
                fresh.retain(
                    |e| !matches!(e.kind, EntryKind::File { object, .. } if Some(object) == id),
                );
            }
        }
        Err(e) => return Ok(run.finish(Some(e))),
    }
    let mut entries = kept.into_inner().unwrap_or_else(|p| p.into_inner());
    entries.append(&mut fresh);
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    // --delete trusts "not in this walk" only after a complete walk: an
    // interrupted run, a file that failed or an unreadable directory must
    // not read as deleted.
    let may_delete = args.delete && !run.interrupted() && run.failures() == 0;
    if args.delete && !may_delete {
        reporter
            .warn("--delete skipped: the run did not see the whole source; nothing was deleted");
    }
    let find = |entries: &[Entry], path: &[u8]| {
        entries
            .binary_search_by(|e| e.path.as_slice().cmp(path))
            .ok()
    };
    let mut carried = Vec::new();
    for old_entry in &old.entries {
        if find(&entries, &old_entry.path).is_some() {
            continue;
        }
        // Beneath a path that is a file now: superseded.
        let shadowed = super::ancestor_paths(&old_entry.path)
            .any(|a| find(&entries, a).is_some_and(|i| !entries[i].is_dir()));
        // Not in this walk: deleted from the source, excluded now, failed
        // or not reached. It stays listed unless --delete may act.
        if !shadowed && !may_delete {
            carried.push(old_entry.clone());
        }
    }
    if !carried.is_empty() {
        entries.append(&mut carried);
        entries.sort_by(|a, b| a.path.cmp(&b.path));
    }
    let live: BTreeSet<[u8; ID_LEN]> = entries.iter().filter_map(object_of).collect();
    let removable: Vec<[u8; ID_LEN]> = old
        .entries
        .iter()
        .filter_map(object_of)
        .filter(|id| !live.contains(id))
        .collect();
    drop(live);
    let changed = entries != old.entries || !out.join(INDEX).is_file();
    if changed {
        let index = TreeIndex {
            tree_id,
            generation: old.generation + 1,
            entries,
        };
        let plain = match index.encode() {
            Ok(plain) => zeroize::Zeroizing::new(plain),
            Err(e) => return Ok(run.finish(Some(e.into()))),
        };
        drop(index);
        if let Err(e) = write_index(out, &plain, to) {
            return Ok(run.finish(Some(e)));
        }
        if let Err(e) = save_state(&state_path, &recipients, &plain) {
            return Ok(run.finish(Some(e)));
        }
        // Only now, with the new index durable, do superseded and deleted
        // objects go.
        for id in removable {
            if let Err(e) = dest.remove(&object_path(&id)) {
                reporter.warn(&format!("cannot remove an old object: {e}"));
            }
        }
    }
    Ok(run.finish(None))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn object_of(entry: &Entry) -> Option<[u8; ID_LEN]> {
    match entry.kind {
        EntryKind::File { object, .. } => Some(object),
        EntryKind::Dir => None,
    }
}

fn same_file(old: &Entry, new: &Entry) -> bool {
    !old.is_dir() && old.size == new.size && old.mtime == new.mtime && old.mode == new.mode
}

/// The object an unchanged file's entry names is still there, with the
/// length it was written with.
fn object_intact(out: &Path, entry: &Entry, pad: bool, to: Recipients<'_>) -> bool {
    let Some(id) = object_of(entry) else {
        return false;
    };
    let meta = object_metadata(entry.size, Some(entry.mode), Some(entry.mtime), pad);
    fs::symlink_metadata(out.join(object_path(&id))).is_ok_and(|m| {
        m.is_file()
            && m.len() == envelope::sealed_len(Some(&meta), to.recovery.is_some(), entry.size)
    })
}

/// Makes `out` a private tree (marker written durably) or reads the id of
/// the one it already is. A non-empty directory that is not one is refused.
fn open_or_create_tree(out: &Path) -> Result<[u8; ID_LEN]> {
    fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    if is_private_tree(out) {
        return read_marker(out);
    }
    let mut entries =
        fs::read_dir(out).with_context(|| format!("cannot read {}", out.display()))?;
    if entries.next().is_some() {
        return Err(Error::Usage(format!(
            "{} is not empty and holds no private tree; give an empty or new directory \
             (or --layout mirror to update a mirrored tree)",
            out.display()
        )));
    }
    let mut id = [0u8; ID_LEN];
    rand::rngs::OsRng.fill_bytes(&mut id);
    let marker = format!("{MARKER_FIRST_LINE}\n{}\n", hex(&id));
    let path = out.join(MARKER);
    durable::write_file(&path, marker.as_bytes(), Replace::Refuse)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(id)
}

/// Walks the source in order, giving every directory and regular file to
/// `visit` as an index entry (with its path and relative path); `visit`
/// returns false to stop. Symlinks and special files are skipped.
fn walk_source(
    src: &Path,
    inner_out: &Option<PathBuf>,
    excludes: &globset::GlobSet,
    run: &Run<'_>,
    visit: &mut dyn FnMut(Entry, PathBuf, PathBuf) -> bool,
) {
    for entry in super::encrypt::source_entries(src, inner_out, excludes) {
        if run.interrupted() {
            return;
        }
        let Some((entry, rel)) = walked(run, src, entry) else {
            continue;
        };
        let shown = rel.display().to_string();
        let kind = entry.file_type();
        if !kind.is_dir() && !kind.is_file() {
            if kind.is_symlink() {
                run.skip(&shown, "symbolic link (not followed)");
            } else {
                run.skip(&shown, "not a regular file (socket, device or pipe)");
            }
            continue;
        }
        let meta = match entry.metadata() {
            Ok(meta) => meta,
            Err(e) => {
                run.fail(
                    &shown,
                    &Error::Io {
                        context: "cannot read it".into(),
                        source: e.into(),
                    },
                );
                continue;
            }
        };
        let stat = crate::client::file::metadata_from(path_bytes(&rel), &meta);
        let index_entry = Entry {
            path: stat.path,
            kind: if kind.is_dir() {
                EntryKind::Dir
            } else {
                EntryKind::File {
                    object: [0; ID_LEN],
                    header_sha256: [0; 32],
                }
            },
            mode: stat
                .mode
                .unwrap_or(if kind.is_dir() { 0o755 } else { 0o644 }),
            mtime: stat.mtime.unwrap_or((0, 0)),
            size: if kind.is_dir() { 0 } else { stat.size },
        };
        if !visit(index_entry, entry.path().to_path_buf(), rel) {
            return;
        }
    }
}

/// Encrypts one source file into a new object; returns its index entry.
fn encrypt_object(
    session: &Session,
    dest: &Dest,
    fanout: &Mutex<BTreeSet<String>>,
    to: Recipients<'_>,
    pad: bool,
    job: &Job,
    reporter: &dyn Reporter,
) -> Result<(Entry, Vec<Unplaced>)> {
    let mut id = [0u8; ID_LEN];
    rand::thread_rng().fill_bytes(&mut id);
    let rel = object_path(&id);
    let dir = rel.parent().unwrap_or(Path::new(OBJECTS));
    let dir_name = dir.display().to_string();
    if !lock(fanout).contains(&dir_name) {
        dest.create_dirs(dir)
            .with_context(|| format!("cannot create {}", dest.path().join(dir).display()))?;
        lock(fanout).insert(dir_name);
    }
    let input = File::open(&job.path).context("cannot open")?;
    let size = job.entry.size;
    let meta = object_metadata(size, Some(job.entry.mode), Some(job.entry.mtime), pad);
    let mut output = dest
        .create(&rel)
        .with_context(|| format!("cannot create an object in {}", dest.path().display()))?;
    let source: Source<'_, &[u8]> = Source::File {
        file: &input,
        offset: 0,
        len: size,
    };
    let mut progress = ProgressWriter::new(output.file(), reporter, size);
    let (_, _, header) = envelope::encrypt_with_header(
        source,
        &mut progress,
        to,
        Some(&meta),
        session.threads_for(size),
        &mut rand::thread_rng(),
    )?;
    progress.done();
    let unplaced = dest
        .stage(output, size, Attributes::default())
        .context("cannot write its object")?;
    let entry = Entry {
        kind: EntryKind::File {
            object: id,
            header_sha256: Sha256::digest(&header).into(),
        },
        ..job.entry.clone()
    };
    Ok((entry, unplaced))
}

/// Encrypts the index and puts it in place durably (fsync, rename,
/// directory fsync): the one file whose replacement publishes a run.
fn write_index(out: &Path, plain: &[u8], to: Recipients<'_>) -> Result<()> {
    let path = out.join(INDEX);
    let mut file = AtomicFile::create(&path, Replace::Allow)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let meta = object_metadata(plain.len() as u64, None, None, true);
    envelope::encrypt(
        Source::Stream(plain),
        file.file(),
        to,
        Some(&meta),
        1,
        &mut rand::rngs::OsRng,
    )?;
    file.commit(Attributes::default())
        .with_context(|| format!("cannot write {}", path.display()))
}
