//! Restoring a tree (`shardlock decrypt -r ENC -o DEST`), in either layout:
//! a private tree (its index says which objects hold which paths) or a
//! mirrored tree of `.slock` files. Headers are read and data keys
//! unwrapped in batches of up to 1024 files (one evaluate request per
//! server per batch) while `-j` workers decrypt the previous batch.
//!
//! Everything is written beneath DEST through [`Dest`]: never through a
//! symbolic link, never outside it, setuid, setgid and sticky bits dropped
//! unless asked for, and two files claiming one path reported rather than
//! one silently replacing the other.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use globset::GlobSet;
use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::dest::{Dest, Unplaced};
use super::encrypt::{build_excludes, excluded, excluded_dir, SUFFIX};
use super::private::{self, object_path, INDEX};
use super::{mtime_of, parallel, remove_stale_temp_files, walked, Run, TreeOutcome};
use crate::client::error::{Error, IoContext, Result};
use crate::client::report::{report_faults, ProgressWriter, Reporter};
use crate::client::unwrap::Keysets;
use crate::client::Session;
use crate::durable::{is_temp_name, Attributes, Replace};
use crate::envelope::recovery::RecoverySecret;
use crate::envelope::{self, keywrap, SealedHeader, Source};
use crate::format::metadata::relative_path;
use crate::format::tree_index::{Entry, EntryKind, TreeIndex};
use crate::secret::DataKey;
use crate::stream;
use crate::threshold::kem::MAX_BATCH;

/// Files in the first batch of a restore (see `walk_and_unwrap`).
const FIRST_BATCH: usize = 32;

/// Where a private tree's index says a file goes, and as what.
struct Target {
    rel: PathBuf,
    mode: u32,
    mtime: (i64, u32),
    size: u64,
}

/// A file whose header has been read, waiting for its data key.
struct Pending {
    path: PathBuf,
    /// Path in the encrypted tree, without the suffix (mirror layout): where
    /// the file goes if it carries no metadata; the index path otherwise.
    tree_rel: PathBuf,
    header: SealedHeader,
    plaintext_len: u64,
    target: Option<Target>,
}

/// A file ready to decrypt.
struct Job {
    pending: Pending,
    dek: DataKey,
}

/// What to restore, and where to.
#[derive(Debug, Clone, Default)]
pub struct DecryptTree {
    /// The encrypted tree (private, or a mirror of `.slock` files).
    pub source: Option<PathBuf>,
    /// The destination directory (created if missing); nothing is ever
    /// written outside it.
    pub output: Option<PathBuf>,
    /// Replace files that exist.
    pub force: bool,
    /// Leave files that were already restored from the same encrypted file.
    pub skip_unchanged: bool,
    /// Open every file with this offline recovery key instead of asking
    /// servers (`decrypt -r --recovery-key`); no config is needed.
    pub recovery: Option<std::sync::Arc<RecoverySecret>>,
    /// Restore only paths matching one of these globs (and the directories
    /// they need); all when empty.
    pub include: Vec<String>,
    /// Leave out paths matching these globs.
    pub exclude: Vec<String>,
    /// Restore setuid, setgid and sticky bits too.
    pub preserve_special_bits: bool,
}

/// Where data keys come from: the keysets' servers, or the recovery key.
pub(crate) enum KeySource<'a> {
    Servers(Keysets<'a>),
    Recovery(&'a RecoverySecret),
}

impl<'a> KeySource<'a> {
    /// The servers of the session's config, or the recovery key.
    pub(crate) fn new(session: &'a Session, recovery: Option<&'a RecoverySecret>) -> Result<Self> {
        Ok(match recovery {
            Some(secret) => KeySource::Recovery(secret),
            None => KeySource::Servers(Keysets::new(session, session.config()?)),
        })
    }
}

/// `--include` and `--exclude` of a restore or a listing.
pub(crate) struct Selection {
    include: Option<GlobSet>,
    exclude: GlobSet,
}

impl Selection {
    pub(crate) fn new(include: &[String], exclude: &[String]) -> Result<Self> {
        Ok(Self {
            include: if include.is_empty() {
                None
            } else {
                Some(
                    build_excludes(include).map_err(|e| {
                        Error::Usage(e.to_string().replace("--exclude", "--include"))
                    })?,
                )
            },
            exclude: build_excludes(exclude)?,
        })
    }

    /// Whether everything is selected.
    pub(crate) fn is_all(&self) -> bool {
        self.include.is_none() && self.exclude.is_empty()
    }

    /// Whether the entry at `rel` is selected (a directory counts as
    /// selected when it matches an include itself; the directories a
    /// selected file needs are added by the caller).
    pub(crate) fn selects(&self, rel: &Path, is_dir: bool) -> bool {
        let out = if is_dir {
            rel.ancestors()
                .filter(|a| !a.as_os_str().is_empty())
                .any(|a| excluded_dir(&self.exclude, a))
        } else {
            excluded(&self.exclude, rel)
                || rel
                    .ancestors()
                    .skip(1)
                    .filter(|a| !a.as_os_str().is_empty())
                    .any(|a| excluded_dir(&self.exclude, a))
        };
        !out && self.include.as_ref().is_none_or(|inc| excluded(inc, rel))
    }
}

impl Session {
    /// Restores a tree with the help of `t` key-share servers per keyset;
    /// stops between files once `stop` is set.
    pub fn decrypt_tree(
        &self,
        request: &DecryptTree,
        reporter: &dyn Reporter,
        stop: &AtomicBool,
    ) -> Result<TreeOutcome> {
        restore(self, request, reporter, stop)
    }
}

fn restore(
    session: &Session,
    args: &DecryptTree,
    reporter: &dyn Reporter,
    stop: &AtomicBool,
) -> Result<TreeOutcome> {
    let (enc, dest) = match (&args.source, &args.output) {
        (Some(enc), Some(dest)) if enc.as_os_str() != "-" && dest.as_os_str() != "-" => (enc, dest),
        _ => {
            return Err(Error::Usage(
                "decrypt -r needs an encrypted directory and -o DEST_DIR".into(),
            ))
        }
    };
    if !enc.is_dir() {
        return Err(Error::Usage(format!(
            "{} is not a directory",
            enc.display()
        )));
    }
    if args.recovery.is_none() {
        check_can_decrypt(session)?;
    }
    let selection = Selection::new(&args.include, &args.exclude)?;
    fs::create_dir_all(dest).with_context(|| format!("cannot create {}", dest.display()))?;
    let enc_canon = enc
        .canonicalize()
        .with_context(|| format!("cannot read {}", enc.display()))?;
    let dest_canon = dest
        .canonicalize()
        .with_context(|| format!("cannot read {}", dest.display()))?;
    if enc_canon == dest_canon {
        return Err(Error::Usage(
            "the destination must differ from the encrypted directory".into(),
        ));
    }
    // A destination inside the encrypted tree must not be walked as input.
    let inner_dest = dest_canon
        .strip_prefix(&enc_canon)
        .ok()
        .map(Path::to_path_buf);
    remove_stale_temp_files(dest);
    let replace = if args.force || args.skip_unchanged {
        Replace::Allow
    } else {
        Replace::Refuse
    };
    let out =
        Dest::open(dest, replace).with_context(|| format!("cannot open {}", dest.display()))?;

    let run = Run::start("decrypt", reporter, stop);
    let mut keys = KeySource::new(session, args.recovery.as_deref())?;
    let claims = Mutex::new(HashSet::new());
    let unplaced = Mutex::new(Vec::new());
    let private = private::is_private_tree(enc);
    if !private && reporter.wants_total() {
        let (files, bytes) = mirror_totals(enc, &selection);
        reporter.totals(files, bytes);
    }
    let mut dirs: Vec<Entry> = Vec::new();
    // Room for two batches: the walker reads headers and unwraps the next
    // batch's keys while the workers decrypt the previous one.
    let result = parallel(
        session.options().jobs,
        2 * MAX_BATCH,
        |send| {
            if private {
                let index = read_index(enc, &mut keys, reporter)?;
                dirs = queue_private(args, &index, enc, &out, &selection, &run, &mut keys, send)?;
                Ok(())
            } else {
                walk_and_unwrap(
                    args,
                    (enc, inner_dest.as_deref()),
                    &out,
                    &selection,
                    &run,
                    &mut keys,
                    send,
                )
            }
        },
        |job: Job| {
            if run.interrupted() {
                return;
            }
            match decrypt_one(session, args, &out, &claims, &job, &run) {
                Ok((bytes, failed)) => {
                    run.done(bytes);
                    lock(&unplaced).extend(failed);
                }
                Err(e) => run.fail(&job.pending.tree_rel.display().to_string(), &e),
            }
        },
    );
    let mut fatal = result.err();
    let mut unplaced = unplaced.into_inner().unwrap_or_else(|p| p.into_inner());
    match out.finish() {
        Ok(last) => unplaced.extend(last),
        Err(e) => {
            fatal.get_or_insert(Error::Io {
                context: format!("cannot write to {}", dest.display()),
                source: e,
            });
        }
    }
    for u in unplaced {
        let error = Error::Io {
            context: "cannot put it in place".into(),
            source: u.error,
        };
        run.unplace(&u.path.display().to_string(), u.bytes, &error);
    }
    // Directory modes and mtimes last, deepest first: writing a file into a
    // directory changes its mtime, and a read-only one must still receive
    // its files.
    for dir in dirs.iter().rev() {
        if let Ok(rel) = relative_path(&dir.path) {
            let attributes = Attributes {
                mode: Some(restored_mode(args, dir.mode, &rel, reporter)),
                mtime: Some(dir.mtime),
            };
            if let Err(e) = out.set_dir_attributes(&rel, attributes) {
                reporter.warn(&format!("{}: {e}", rel.display()));
            }
        }
    }
    if !dirs.is_empty() {
        if let Err(e) = out.finish() {
            reporter.warn(&format!("{}: {e}", dest.display()));
        }
    }
    Ok(run.finish(fatal))
}

/// Files and plaintext bytes a mirrored tree holds, from each file's
/// length and header length (a 14-byte read per file), for the progress
/// display.
fn mirror_totals(enc: &Path, selection: &Selection) -> (u64, u64) {
    use std::io::Read as _;
    let mut totals = (0u64, 0u64);
    for entry in walkdir::WalkDir::new(enc)
        .follow_links(false)
        .into_iter()
        .flatten()
    {
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file() || !name.ends_with(SUFFIX) || is_temp_name(&name) {
            continue;
        }
        let rel = entry.path().strip_prefix(enc).unwrap_or(entry.path());
        if !selection.selects(
            &rel.with_file_name(&name[..name.len() - SUFFIX.len()]),
            false,
        ) {
            continue;
        }
        let mut preamble = [0u8; crate::format::PREAMBLE_LEN];
        let sizes = File::open(entry.path()).ok().and_then(|mut f| {
            f.read_exact(&mut preamble).ok()?;
            let header = crate::format::header_len(&preamble).ok()? as u64;
            let len = f.metadata().ok()?.len();
            stream::plaintext_len(len.checked_sub(header)?).ok()
        });
        if let Some((plain, _)) = sizes {
            totals.0 += 1;
            totals.1 += plain;
        }
    }
    totals
}

/// A config of encrypt-only keysets fails once, before anything is
/// created (the single-file case fails the same way).
fn check_can_decrypt(session: &Session) -> Result<()> {
    let config = session.config()?;
    let names = config.keyset_names();
    if !names.is_empty()
        && names
            .iter()
            .all(|n| config.entry(n).is_some_and(|e| !e.can_decrypt()))
    {
        return Err(Error::Usage(format!(
            "{} can only encrypt: it holds no client token (a public export); decrypt on \
             a machine with a client of its own (`shardlock keyset add-client`)",
            config
                .path()
                .map_or_else(|| "the config".to_string(), |p| p.display().to_string())
        )));
    }
    Ok(())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// The permission bits a restore gives a file or directory: setuid, setgid
/// and sticky bits only with `--preserve-special-bits` (anyone holding
/// the public keyset can create a file claiming mode 04755).
fn restored_mode(args: &DecryptTree, mode: u32, rel: &Path, reporter: &dyn Reporter) -> u32 {
    if args.preserve_special_bits || mode & 0o7000 == 0 {
        return mode & 0o7777;
    }
    reporter.warn(&format!(
        "{}: setuid/setgid/sticky bits not restored (mode {:04o} restored as {:04o}; \
         --preserve-special-bits keeps them)",
        rel.display(),
        mode & 0o7777,
        mode & 0o777
    ));
    mode & 0o777
}

/// Reads, unwraps and decodes a private tree's index (one data key).
pub(crate) fn read_index(
    enc: &Path,
    keys: &mut KeySource<'_>,
    reporter: &dyn Reporter,
) -> Result<TreeIndex> {
    let tree_id = private::read_marker(enc)?;
    let path = enc.join(INDEX);
    let context = |e: Error| e.context(format!("{}", path.display()));
    let pending = match read_pending(&path, PathBuf::from(INDEX), None) {
        Ok(p) => p,
        Err(e) if !path.exists() => {
            return Err(Error::Integrity(format!(
                "{} has a private-tree marker but no index ({e}); it is incomplete or was tampered with",
                enc.display()
            )))
        }
        Err(e) => return Err(context(e)),
    };
    let dek = match unwrap_one(&pending, keys, reporter) {
        Ok(dek) => dek,
        Err(e) => return Err(context(e)),
    };
    let input = File::open(&path).with_context(|| format!("cannot open {}", path.display()))?;
    let offset = pending.header.bytes.len() as u64;
    let len = input.metadata().context("cannot read the index")?.len() - offset;
    let mut plain = Zeroizing::new(Vec::new());
    let source: Source<'_, &[u8]> = Source::File {
        file: &input,
        offset,
        len,
    };
    envelope::decrypt_body(&pending.header, &dek, source, &mut *plain, 1)
        .map_err(|e| context(e.into()))?;
    let index = TreeIndex::decode(&plain).map_err(|e| context(e.into()))?;
    if index.tree_id != tree_id {
        return Err(Error::Integrity(format!(
            "{}: the index belongs to another tree than its marker says (files were mixed or \
             swapped)",
            path.display()
        )));
    }
    Ok(index)
}

/// Unwraps one file's data key.
fn unwrap_one(
    pending: &Pending,
    keys: &mut KeySource<'_>,
    reporter: &dyn Reporter,
) -> Result<DataKey> {
    match keys {
        KeySource::Recovery(secret) => secret
            .unwrap(pending.header.header.recovery_stanzas())
            .map_err(|e| Error::Failed(e.to_string())),
        KeySource::Servers(keysets) => {
            let id = keysets.id_for(&pending.header)?;
            let (keyset, service) = keysets.get(&id)?;
            let stanza = pending
                .header
                .stanza_for(&id)
                .ok_or_else(|| Error::Failed("no key stanza".into()))?;
            let mut unwrapped =
                keywrap::unwrap_batch(&keyset.public, service, &[stanza], &mut OsRng)?;
            report_faults(reporter, &unwrapped.faults);
            match unwrapped.keys.pop() {
                Some(key) => Ok(key?),
                None => Err(Error::Failed("no key came back".into())),
            }
        }
    }
}

/// Queues a private tree's selected files; returns the directory entries
/// whose attributes are set at the end.
#[allow(clippy::too_many_arguments)]
fn queue_private(
    args: &DecryptTree,
    index: &TreeIndex,
    enc: &Path,
    out: &Dest,
    selection: &Selection,
    run: &Run<'_>,
    keys: &mut KeySource<'_>,
    send: &mut dyn FnMut(Job) -> bool,
) -> Result<Vec<Entry>> {
    let files: BTreeSet<&[u8]> = index
        .entries
        .iter()
        .filter(|e| !e.is_dir())
        .map(|e| e.path.as_slice())
        .collect();
    let mut wanted_dirs: BTreeSet<Vec<u8>> = BTreeSet::new();
    let mut chosen: Vec<(&Entry, PathBuf)> = Vec::new();
    for entry in &index.entries {
        let Ok(rel) = relative_path(&entry.path) else {
            continue; // decode already refused unsafe paths
        };
        let shown = rel.display().to_string();
        if !selection.selects(&rel, entry.is_dir()) {
            continue;
        }
        // A file "a" and an entry "a/b": two claims on the same place.
        if let Some(file) = super::ancestor_paths(&entry.path).find(|a| files.contains(a)) {
            run.fail(
                &shown,
                &Error::Integrity(format!(
                    "the index also lists {} as a file; neither is trusted to replace the other",
                    String::from_utf8_lossy(file)
                )),
            );
            continue;
        }
        for ancestor in super::ancestor_paths(&entry.path) {
            wanted_dirs.insert(ancestor.to_vec());
        }
        if entry.is_dir() {
            wanted_dirs.insert(entry.path.clone());
        } else {
            chosen.push((entry, rel));
        }
    }
    if run.reporter().wants_total() {
        run.reporter().totals(
            chosen.len() as u64,
            chosen.iter().map(|(e, _)| e.size).sum(),
        );
    }
    let by_path: BTreeMap<&[u8], &Entry> = index
        .entries
        .iter()
        .map(|e| (e.path.as_slice(), e))
        .collect();
    let mut dirs = Vec::new();
    for dir in &wanted_dirs {
        let Ok(rel) = relative_path(dir) else {
            continue;
        };
        if let Err(e) = out.create_dirs(&rel) {
            run.fail(
                &rel.display().to_string(),
                &Error::Io {
                    context: "cannot create it".into(),
                    source: e,
                },
            );
            continue;
        }
        // Directories the index lists get their recorded attributes; one a
        // selected file needs but the index omits keeps the defaults.
        if let Some(entry) = by_path.get(dir.as_slice()).filter(|e| e.is_dir()) {
            dirs.push((*entry).clone());
        }
    }
    let mut batch: Vec<Pending> = Vec::new();
    let mut limit = FIRST_BATCH;
    for (entry, rel) in chosen {
        if run.interrupted() {
            return Ok(dirs);
        }
        let shown = rel.display().to_string();
        if args.skip_unchanged && is_restored_as(out.path(), &rel, entry.size, entry.mtime) {
            run.unchanged(entry.size);
            continue;
        }
        let EntryKind::File {
            object,
            header_sha256,
        } = entry.kind
        else {
            continue;
        };
        let path = enc.join(object_path(&object));
        let target = Target {
            rel: rel.clone(),
            mode: entry.mode,
            mtime: entry.mtime,
            size: entry.size,
        };
        match read_pending(&path, rel, Some(target)) {
            Ok(pending)
                if <[u8; 32]>::from(Sha256::digest(&pending.header.bytes)) != header_sha256 =>
            {
                let _ = pending;
                run.fail(
                    &shown,
                    &Error::Integrity(
                        "its object does not match the index (replaced, swapped or rolled back \
                         by whoever stores the tree); not restored"
                            .into(),
                    ),
                );
            }
            Ok(pending) => batch.push(pending),
            Err(_) if !path.exists() => run.fail(
                &shown,
                &Error::Integrity(
                    "its object is missing from the tree (deleted by whoever stores it?)".into(),
                ),
            ),
            Err(e) => run.fail(&shown, &e),
        }
        if batch.len() >= limit {
            limit = MAX_BATCH;
            if !unwrap_batch(std::mem::take(&mut batch), run, keys, send)? {
                return Ok(dirs);
            }
        }
    }
    unwrap_batch(batch, run, keys, send)?;
    Ok(dirs)
}

fn walk_and_unwrap(
    args: &DecryptTree,
    (enc, inner_dest): (&Path, Option<&Path>),
    out: &Dest,
    selection: &Selection,
    run: &Run<'_>,
    keys: &mut KeySource<'_>,
    send: &mut dyn FnMut(Job) -> bool,
) -> Result<()> {
    let mut batch: Vec<Pending> = Vec::new();
    // The first batch is small: it gets the workers going sooner, and it
    // shows which servers are slow or dead at the price of a small request
    // rather than a full one, so the big batches after it go to servers
    // known to answer (a hung server then costs one short hedge delay).
    let mut limit = FIRST_BATCH;
    let entries = walkdir::WalkDir::new(enc)
        .follow_links(false)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| inner_dest.is_none() || e.path().strip_prefix(enc).ok() != inner_dest);
    for entry in entries {
        if run.interrupted() {
            return Ok(());
        }
        let Some((entry, rel)) = walked(run, enc, entry) else {
            continue;
        };
        let shown = rel.display().to_string();
        let kind = entry.file_type();
        if kind.is_dir() {
            // Empty directories are mirrored only in a full restore; a
            // partial one creates just the directories its files need.
            if selection.is_all() {
                if let Err(e) = out.create_dirs(&rel) {
                    run.fail(
                        &shown,
                        &Error::Io {
                            context: "cannot create it".into(),
                            source: e,
                        },
                    );
                }
            }
            continue;
        }
        let name = entry.file_name().to_string_lossy();
        if is_temp_name(&name) {
            continue;
        }
        if !kind.is_file() || !name.ends_with(SUFFIX) {
            run.skip(&shown, "not a .slock file");
            continue;
        }
        let tree_rel = rel.with_file_name(&name[..name.len() - SUFFIX.len()]);
        if !selection.selects(&tree_rel, false) {
            continue;
        }
        match read_pending(entry.path(), tree_rel, None) {
            Ok(pending) => {
                if args.skip_unchanged && is_restored(out.path(), entry.path(), &pending) {
                    run.unchanged(pending.plaintext_len);
                    continue;
                }
                batch.push(pending);
            }
            Err(e) => run.fail(&shown, &e),
        }
        if batch.len() >= limit {
            limit = MAX_BATCH;
            if !unwrap_batch(std::mem::take(&mut batch), run, keys, send)? {
                return Ok(());
            }
        }
    }
    unwrap_batch(batch, run, keys, send)?;
    Ok(())
}

fn read_pending(path: &Path, tree_rel: PathBuf, target: Option<Target>) -> Result<Pending> {
    let mut file = File::open(path).context("cannot open")?;
    let header = envelope::read_header(&mut file)?;
    let len = file.metadata().context("cannot read its size")?.len();
    let (plaintext_len, _) = stream::plaintext_len(len - header.bytes.len() as u64)?;
    Ok(Pending {
        path: path.to_path_buf(),
        tree_rel,
        header,
        plaintext_len,
        target,
    })
}

/// `--skip-unchanged` for restores: the file at the tree location already
/// has the plaintext's length and the encrypted file's mtime (which
/// `encrypt -r` copies from the source, as a restore does).
fn is_restored(dest: &Path, encrypted: &Path, pending: &Pending) -> bool {
    match fs::metadata(encrypted).ok().and_then(|m| mtime_of(&m)) {
        Some(mtime) => is_restored_as(dest, &pending.tree_rel, pending.plaintext_len, mtime),
        None => false,
    }
}

/// The file at `rel` beneath `dest` is a regular file of `size` bytes with
/// this mtime.
fn is_restored_as(dest: &Path, rel: &Path, size: u64, mtime: (i64, u32)) -> bool {
    fs::symlink_metadata(dest.join(rel))
        .is_ok_and(|m| m.is_file() && m.len() == size && mtime_of(&m) == Some(mtime))
}

/// Unwraps one batch's data keys and queues the files; false once the
/// workers are gone. Too few servers is fatal for the whole run.
fn unwrap_batch(
    batch: Vec<Pending>,
    run: &Run<'_>,
    keys: &mut KeySource<'_>,
    send: &mut dyn FnMut(Job) -> bool,
) -> Result<bool> {
    unwrap_keys(
        batch,
        |p| &p.header,
        |p| p.tree_rel.display().to_string(),
        run,
        keys,
        &mut |pending, dek| send(Job { pending, dek }),
    )
}

/// Unwraps the data keys of a batch of files (any item with a header),
/// grouped by keyset, one request per server per group (or with the
/// recovery key), and hands each file and its key to `found` until it
/// returns false. A file whose key cannot be had fails alone, named by
/// `shown`; too few servers is an error for the whole batch.
pub(crate) fn unwrap_keys<T>(
    batch: Vec<T>,
    header: impl Fn(&T) -> &SealedHeader,
    shown: impl Fn(&T) -> String,
    run: &Run<'_>,
    keys: &mut KeySource<'_>,
    found: &mut dyn FnMut(T, DataKey) -> bool,
) -> Result<bool> {
    let keysets = match keys {
        KeySource::Servers(keysets) => keysets,
        KeySource::Recovery(secret) => {
            for item in batch {
                match secret.unwrap(header(&item).header.recovery_stanzas()) {
                    Ok(dek) => {
                        if !found(item, dek) {
                            return Ok(false);
                        }
                    }
                    Err(e) => run.fail(&shown(&item), &Error::Failed(e.to_string())),
                }
            }
            return Ok(true);
        }
    };
    let mut groups: BTreeMap<[u8; 32], Vec<T>> = BTreeMap::new();
    for item in batch {
        match keysets.id_for(header(&item)) {
            Ok(id) => groups.entry(id).or_default().push(item),
            Err(e) => run.fail(&shown(&item), &e),
        }
    }
    for (id, files) in groups {
        let (keyset, service) = keysets.get(&id)?;
        let stanzas = files
            .iter()
            .map(|item| {
                header(item)
                    .stanza_for(&id)
                    .ok_or_else(|| Error::Failed("no key stanza".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let unwrapped = keywrap::unwrap_batch(&keyset.public, service, &stanzas, &mut OsRng)?;
        report_faults(run.reporter(), &unwrapped.faults);
        for (item, key) in files.into_iter().zip(unwrapped.keys) {
            match key {
                Ok(dek) => {
                    if !found(item, dek) {
                        return Ok(false);
                    }
                }
                Err(e) => run.fail(&shown(&item), &e.into()),
            }
        }
    }
    Ok(true)
}

/// Decrypts one file beneath `out`; returns its bytes and any files of the
/// batch it completed whose rename failed.
fn decrypt_one(
    session: &Session,
    args: &DecryptTree,
    out: &Dest,
    claims: &Mutex<HashSet<PathBuf>>,
    job: &Job,
    run: &Run<'_>,
) -> Result<(u64, Vec<Unplaced>)> {
    let pending = &job.pending;
    let metadata = pending.header.metadata(&job.dek)?;
    let (rel, mode, mtime) = match (&pending.target, &metadata) {
        (Some(t), _) => (t.rel.clone(), Some(t.mode), Some(t.mtime)),
        (None, Some(meta)) if !meta.path.is_empty() => {
            (meta.relative_path()?, meta.mode, meta.mtime)
        }
        (None, meta) => (
            pending.tree_rel.clone(),
            meta.as_ref().and_then(|m| m.mode),
            meta.as_ref().and_then(|m| m.mtime),
        ),
    };
    if !lock(claims).insert(rel.clone()) {
        return Err(Error::Integrity(format!(
            "another file of the tree also claims {}; this one was not written",
            rel.display()
        )));
    }
    if pending.target.is_none() {
        if let Some(parent) = rel.parent().filter(|p| !p.as_os_str().is_empty()) {
            out.create_dirs(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
    }
    let mut output = out
        .create(&rel)
        .with_context(|| format!("cannot create {}", out.path().join(&rel).display()))?;
    let input = File::open(&pending.path).context("cannot open")?;
    let offset = pending.header.bytes.len() as u64;
    let len = input
        .metadata()
        .context("cannot read")?
        .len()
        .saturating_sub(offset);
    let source: Source<'_, &[u8]> = Source::File {
        file: &input,
        offset,
        len,
    };
    let threads = session.threads_for(pending.plaintext_len);
    let size = pending
        .target
        .as_ref()
        .map_or(pending.plaintext_len, |t| t.size);
    let mut progress = ProgressWriter::new(output.file(), run.reporter(), size);
    let bytes = envelope::decrypt_body(&pending.header, &job.dek, source, &mut progress, threads)?;
    progress.done();
    if let Some(target) = &pending.target {
        if bytes != target.size {
            return Err(Error::Integrity(format!(
                "its object holds {bytes} bytes but the index says {}; not restored",
                target.size
            )));
        }
    }
    let mode = mode.map(|m| restored_mode(args, m, &rel, run.reporter()));
    let unplaced = out
        .stage(output, bytes, Attributes { mode, mtime })
        .with_context(|| format!("cannot write {}", out.path().join(&rel).display()))?;
    Ok((bytes, unplaced))
}
