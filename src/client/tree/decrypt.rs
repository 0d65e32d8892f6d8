//! Restoring a tree of `.slock` files (`shardlock decrypt -r ENC -o DEST`).
//! The walker reads headers and unwraps data keys in batches of up to
//! 1024 files (one evaluate request per server per batch), while `-j`
//! workers decrypt the previous batch. Paths, modes and mtimes come from
//! the sealed metadata; a path that would land outside DEST is refused.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use std::sync::atomic::AtomicBool;

use rand::rngs::OsRng;

use super::encrypt::SUFFIX;
use super::{
    create_dirs_inside, mtime_of, parallel, remove_stale_temp_files, walked, Run, TreeOutcome,
};
use crate::client::error::{Error, IoContext, Result};
use crate::client::io::create_file;
use crate::client::report::{report_faults, Reporter};
use crate::client::unwrap::Keysets;
use crate::client::Session;
use crate::durable::{is_temp_name, Attributes};
use crate::envelope::recovery::RecoverySecret;
use crate::envelope::{self, keywrap, SealedHeader, Source};
use crate::secret::DataKey;
use crate::stream;
use crate::threshold::kem::MAX_BATCH;

/// Files in the first batch of a restore (see `walk_and_unwrap`).
const FIRST_BATCH: usize = 32;

/// A file whose header has been read, waiting for its data key.
struct Pending {
    path: PathBuf,
    /// Path in the encrypted tree, without the suffix: where the file goes
    /// if it carries no metadata.
    tree_rel: PathBuf,
    header: SealedHeader,
    plaintext_len: u64,
}

/// A file ready to decrypt.
struct Job {
    pending: Pending,
    dek: DataKey,
}

/// What to restore, and where to.
#[derive(Debug, Clone, Default)]
pub struct DecryptTree {
    /// The directory of `.slock` files.
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
}

/// Where data keys come from: the keysets' servers, or the recovery key.
enum KeySource<'a> {
    Servers(Keysets<'a>),
    Recovery(&'a RecoverySecret),
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
    let config = match &args.recovery {
        Some(_) => None,
        None => Some(session.config()?),
    };
    // A config of encrypt-only keysets fails once, before anything is
    // created (the single-file case fails the same way).
    if let Some(config) = config {
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
    }
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

    let run = Run::start("decrypt", reporter, stop);
    let mut keys = match (&args.recovery, config) {
        (Some(secret), _) => KeySource::Recovery(secret),
        (None, Some(config)) => KeySource::Servers(Keysets::new(session, config)),
        (None, None) => return Err(Error::Failed("no configuration".into())),
    };
    // Room for two batches: the walker reads headers and unwraps the next
    // batch's keys while the workers decrypt the previous one.
    let result = parallel(
        session.options().jobs,
        2 * MAX_BATCH,
        |send| {
            walk_and_unwrap(
                args,
                (enc, inner_dest.as_deref()),
                dest,
                &run,
                &mut keys,
                send,
            )
        },
        |job: Job| {
            if run.interrupted() {
                return;
            }
            match decrypt_one(session, args, dest, &job, &run) {
                Ok(bytes) => run.done(bytes),
                Err(e) => run.fail(&job.pending.tree_rel.display().to_string(), &e),
            }
        },
    );
    // Too few servers ends the run: every remaining file would fail the
    // same way.
    Ok(run.finish(result.err()))
}

fn walk_and_unwrap(
    args: &DecryptTree,
    (enc, inner_dest): (&Path, Option<&Path>),
    dest: &Path,
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
            if let Err(e) = create_dirs_inside(dest, &rel) {
                run.fail(&shown, &e);
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
        match read_pending(entry.path(), tree_rel) {
            Ok(pending) => {
                if args.skip_unchanged && is_restored(dest, entry.path(), &pending) {
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

fn read_pending(path: &Path, tree_rel: PathBuf) -> Result<Pending> {
    let mut file = File::open(path).context("cannot open")?;
    let header = envelope::read_header(&mut file)?;
    let len = file.metadata().context("cannot read its size")?.len();
    let (plaintext_len, _) = stream::plaintext_len(len - header.bytes.len() as u64)?;
    Ok(Pending {
        path: path.to_path_buf(),
        tree_rel,
        header,
        plaintext_len,
    })
}

/// `--skip-unchanged` for restores: the file at the tree location already
/// has the plaintext's length and the encrypted file's mtime (which
/// `encrypt -r` copies from the source, as a restore does).
fn is_restored(dest: &Path, encrypted: &Path, pending: &Pending) -> bool {
    let (Ok(restored), Ok(enc)) = (
        fs::symlink_metadata(dest.join(&pending.tree_rel)),
        fs::metadata(encrypted),
    ) else {
        return false;
    };
    restored.is_file()
        && restored.len() == pending.plaintext_len
        && mtime_of(&restored) == mtime_of(&enc)
}

/// Unwraps one batch's data keys and queues the files; false once the
/// workers are gone. Too few servers is fatal for the whole run.
fn unwrap_batch(
    batch: Vec<Pending>,
    run: &Run<'_>,
    keys: &mut KeySource<'_>,
    send: &mut dyn FnMut(Job) -> bool,
) -> Result<bool> {
    let keysets = match keys {
        KeySource::Servers(keysets) => keysets,
        KeySource::Recovery(secret) => {
            for pending in batch {
                match secret.unwrap(pending.header.header.recovery_stanzas()) {
                    Ok(dek) => {
                        if !send(Job { pending, dek }) {
                            return Ok(false);
                        }
                    }
                    Err(e) => run.fail(
                        &pending.tree_rel.display().to_string(),
                        &Error::Failed(e.to_string()),
                    ),
                }
            }
            return Ok(true);
        }
    };
    let mut groups: BTreeMap<[u8; 32], Vec<Pending>> = BTreeMap::new();
    for pending in batch {
        match keysets.id_for(&pending.header) {
            Ok(id) => groups.entry(id).or_default().push(pending),
            Err(e) => run.fail(&pending.tree_rel.display().to_string(), &e),
        }
    }
    for (id, files) in groups {
        let (keyset, service) = keysets.get(&id)?;
        let stanzas = files
            .iter()
            .map(|p| {
                p.header
                    .stanza_for(&id)
                    .ok_or_else(|| Error::Failed("no key stanza".into()))
            })
            .collect::<Result<Vec<_>>>()?;
        let unwrapped = keywrap::unwrap_batch(&keyset.public, service, &stanzas, &mut OsRng)?;
        report_faults(run.reporter(), &unwrapped.faults);
        for (pending, key) in files.into_iter().zip(unwrapped.keys) {
            match key {
                Ok(dek) => {
                    if !send(Job { pending, dek }) {
                        return Ok(false);
                    }
                }
                Err(e) => run.fail(&pending.tree_rel.display().to_string(), &e.into()),
            }
        }
    }
    Ok(true)
}

fn decrypt_one(
    session: &Session,
    args: &DecryptTree,
    dest_root: &Path,
    job: &Job,
    run: &Run<'_>,
) -> Result<u64> {
    let pending = &job.pending;
    let metadata = pending.header.metadata(&job.dek)?;
    let rel = match &metadata {
        Some(meta) if !meta.path.is_empty() => meta.relative_path()?,
        _ => pending.tree_rel.clone(),
    };
    if let Some(parent) = rel.parent() {
        create_dirs_inside(dest_root, parent)?;
    }
    let dest = dest_root.join(&rel);
    let mut output = create_file(&dest, args.force || args.skip_unchanged)?;
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
    let bytes = envelope::decrypt_body(&pending.header, &job.dek, source, output.file(), threads)?;
    let (mode, mtime) = metadata.map(|m| (m.mode, m.mtime)).unwrap_or_default();
    run.commit(output, Attributes { mode, mtime })?;
    Ok(bytes)
}
