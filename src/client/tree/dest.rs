//! The output directory of a tree run: directories and files created
//! strictly beneath one root, never through a symbolic link, and made
//! durable in batches (docs/DESIGN.md, "Durable writes", tree runs).
//!
//! Safety: every directory is reached with `openat2(RESOLVE_BENEATH |
//! RESOLVE_NO_SYMLINKS)` from the root's descriptor (or, where the kernel
//! lacks openat2, one `openat(O_NOFOLLOW | O_DIRECTORY)` per component),
//! so swapping a directory for a symbolic link while a restore runs makes
//! that file fail instead of redirecting the write.
//!
//! Durability without one fsync per file: each file is written to a
//! temporary name and closed; once a batch of them is staged, one
//! `syncfs` puts all their data on disk, and only then are they renamed to
//! their final names; a last `syncfs` makes the renames durable. A crash
//! therefore never leaves a partial file under a final name, and a
//! 10,000-file tree costs a few syncs instead of 10,000 fsyncs.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use rand::RngCore;
use rustix::fs::{Mode, OFlags, RenameFlags, ResolveFlags};

use crate::durable::{self, Attributes, Replace, TEMP_MARKER};

/// Files staged before a sync-and-rename round: enough to make the sync's
/// fixed cost vanish, few enough that a crash loses little work.
const BATCH_FILES: usize = 4096;
/// Bytes staged before a round, whatever the file count.
const BATCH_BYTES: u64 = 256 * 1024 * 1024;

/// A staged file waiting for its batch's sync and rename.
struct Staged {
    dir: PathBuf,
    temp: OsString,
    name: OsString,
    tracked: PathBuf,
    bytes: u64,
}

/// A staged file whose rename failed (say, its name appeared meanwhile).
#[derive(Debug)]
pub(crate) struct Unplaced {
    /// Path of the file relative to the root.
    pub path: PathBuf,
    /// The bytes it would have held.
    pub bytes: u64,
    /// Why.
    pub error: io::Error,
}

/// The root of a tree run's output.
#[derive(Debug)]
pub(crate) struct Dest {
    root: Arc<Root>,
    staged: Mutex<(Vec<StagedEntry>, u64)>,
    /// Full batches go to this thread, which syncs and renames them while
    /// the workers go on writing (so the disk and the CPU overlap).
    committer: Mutex<Option<Committer>>,
}

/// What the committer thread shares with the workers.
#[derive(Debug)]
struct Root {
    root_path: PathBuf,
    root: OwnedFd,
    replace: Replace,
}

/// The committer thread and the way to hand it batches.
#[derive(Debug)]
struct Committer {
    batches: std::sync::mpsc::Sender<Vec<StagedEntry>>,
    thread: std::thread::JoinHandle<io::Result<Vec<Unplaced>>>,
}

/// `Staged`, with a Debug that shows no names.
struct StagedEntry(Staged);

impl std::fmt::Debug for StagedEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Staged")
    }
}

/// A file being written beneath the root. Dropping it unstaged removes it.
#[derive(Debug)]
pub(crate) struct NewFile {
    file: Option<File>,
    /// The directory it is in, held open so dropping it removes the
    /// temporary file there even if the path changed meanwhile.
    dir_fd: OwnedFd,
    dir: PathBuf,
    temp: OsString,
    name: OsString,
    tracked: PathBuf,
}

impl NewFile {
    /// The open temporary file.
    pub(crate) fn file(&mut self) -> &mut File {
        self.file
            .as_mut()
            .unwrap_or_else(|| unreachable!("taken only when staged, which consumes self"))
    }
}

impl Dest {
    /// Opens an existing directory as the root. With [`Replace::Refuse`],
    /// files that exist are never replaced.
    pub(crate) fn open(root: &Path, replace: Replace) -> io::Result<Self> {
        let fd = rustix::fs::open(
            root,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let root = Arc::new(Root {
            root_path: root.to_path_buf(),
            root: fd,
            replace,
        });
        let (batches, incoming) = std::sync::mpsc::channel::<Vec<StagedEntry>>();
        let shared = Arc::clone(&root);
        let thread = std::thread::Builder::new()
            .name("commit".into())
            .spawn(move || {
                let mut unplaced = Vec::new();
                let mut failure = None;
                for batch in incoming {
                    if failure.is_some() {
                        // After a failed sync nothing more is placed.
                        shared.discard(&batch);
                        continue;
                    }
                    match shared.place(batch) {
                        Ok(mut u) => unplaced.append(&mut u),
                        Err(e) => failure = Some(e),
                    }
                }
                match failure {
                    Some(e) => Err(e),
                    None => Ok(unplaced),
                }
            })?;
        Ok(Self {
            root,
            staged: Mutex::new((Vec::new(), 0)),
            committer: Mutex::new(Some(Committer { batches, thread })),
        })
    }

    /// The root's path (for messages).
    pub(crate) fn path(&self) -> &Path {
        &self.root.root_path
    }

    fn open_dir(&self, rel: &Path, create: bool) -> io::Result<OwnedFd> {
        self.root.open_dir(rel, create)
    }

    fn sync(&self) -> io::Result<()> {
        self.root.sync()
    }
}

impl Root {
    /// Opens the directory `rel` beneath the root, following no symbolic
    /// link, creating missing components when `create` is set.
    fn open_dir(&self, rel: &Path, create: bool) -> io::Result<OwnedFd> {
        let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
        if rel.as_os_str().is_empty() {
            return Ok(rustix::fs::openat(&self.root, ".", flags, Mode::empty())?);
        }
        if !create {
            match rustix::fs::openat2(
                &self.root,
                rel,
                flags,
                Mode::empty(),
                ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS,
            ) {
                Ok(fd) => return Ok(fd),
                // Old kernels: walk component by component below.
                Err(rustix::io::Errno::NOSYS) => {}
                Err(e) => return Err(not_a_dir(rel, e.into())),
            }
        }
        let mut fd = rustix::fs::openat(&self.root, ".", flags, Mode::empty())?;
        for component in rel.components() {
            let Component::Normal(name) = component else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("{} is not a plain relative path", rel.display()),
                ));
            };
            if create {
                match rustix::fs::mkdirat(&fd, name, Mode::from_raw_mode(0o777)) {
                    Ok(()) | Err(rustix::io::Errno::EXIST) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            fd = rustix::fs::openat(&fd, name, flags | OFlags::NOFOLLOW, Mode::empty())
                .map_err(|e| not_a_dir(rel, e.into()))?;
        }
        Ok(fd)
    }
}

impl Dest {
    /// Creates the directory `rel` and its missing parents beneath the root.
    pub(crate) fn create_dirs(&self, rel: &Path) -> io::Result<()> {
        self.open_dir(rel, true).map(drop)
    }

    /// Starts writing the file `rel` (its parent must exist): a temporary
    /// file with mode 0600 beside its final name.
    pub(crate) fn create(&self, rel: &Path) -> io::Result<NewFile> {
        let (dir, name) = split(rel)?;
        let dir_fd = self.open_dir(&dir, false)?;
        if self.root.replace == Replace::Refuse
            && rustix::fs::statat(&dir_fd, &name, rustix::fs::AtFlags::SYMLINK_NOFOLLOW).is_ok()
        {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it already exists (use --force to replace it)",
            ));
        }
        let temp = temp_name(&name);
        let fd = rustix::fs::openat(
            &dir_fd,
            &temp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(durable::PRIVATE_FILE_MODE),
        )?;
        let tracked = self.root.root_path.join(&dir).join(&temp);
        durable::track_in_progress(&tracked);
        Ok(NewFile {
            file: Some(File::from(fd)),
            dir_fd,
            dir,
            temp,
            name,
            tracked,
        })
    }

    /// Gives a written file its attributes and stages it for the next
    /// sync-and-rename round; runs the round when the batch is full and
    /// returns the files whose rename failed.
    pub(crate) fn stage(
        &self,
        mut file: NewFile,
        bytes: u64,
        attributes: Attributes,
    ) -> io::Result<Vec<Unplaced>> {
        let handle = file
            .file
            .take()
            .unwrap_or_else(|| unreachable!("staged once"));
        set_attributes(&handle, attributes)?;
        drop(handle);
        let staged = Staged {
            dir: std::mem::take(&mut file.dir),
            temp: std::mem::take(&mut file.temp),
            name: std::mem::take(&mut file.name),
            tracked: std::mem::take(&mut file.tracked),
            bytes,
        };
        let full = {
            let mut guard = self.staged.lock().unwrap_or_else(|p| p.into_inner());
            guard.0.push(StagedEntry(staged));
            guard.1 += bytes;
            if guard.0.len() >= BATCH_FILES || guard.1 >= BATCH_BYTES {
                guard.1 = 0;
                Some(std::mem::take(&mut guard.0))
            } else {
                None
            }
        };
        if let Some(batch) = full {
            let committer = self.committer.lock().unwrap_or_else(|p| p.into_inner());
            match committer.as_ref() {
                Some(c) => {
                    if let Err(std::sync::mpsc::SendError(batch)) = c.batches.send(batch) {
                        self.root.discard(&batch);
                    }
                }
                None => {
                    drop(committer);
                    return self.root.place(batch);
                }
            }
        }
        Ok(Vec::new())
    }
}

impl Root {
    /// Syncs the staged files' data, then renames them into place. A failed
    /// sync fails the whole batch (its temporary files are removed).
    fn place(&self, batch: Vec<StagedEntry>) -> io::Result<Vec<Unplaced>> {
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        if let Err(e) = self.sync() {
            self.discard(&batch);
            return Err(io::Error::new(
                e.kind(),
                format!("cannot write the output to disk: {e}"),
            ));
        }
        let mut batch = batch;
        // By directory: each is opened (and checked) once per batch.
        batch.sort_by(|a, b| a.0.dir.cmp(&b.0.dir));
        let mut unplaced = Vec::new();
        let mut current: Option<(PathBuf, io::Result<OwnedFd>)> = None;
        for StagedEntry(s) in batch {
            if current.as_ref().is_none_or(|(dir, _)| *dir != s.dir) {
                current = Some((s.dir.clone(), self.open_dir(&s.dir, false)));
            }
            let result = match current.as_ref().map(|(_, fd)| fd) {
                Some(Ok(dir)) => self.rename_in(dir, &s),
                Some(Err(e)) => Err(io::Error::new(e.kind(), e.to_string())),
                None => unreachable!("set just above"),
            };
            if let Err(error) = result {
                self.remove_temp(&s);
                unplaced.push(Unplaced {
                    path: s.dir.join(&s.name),
                    bytes: s.bytes,
                    error,
                });
            }
            durable::untrack_in_progress(&s.tracked);
        }
        Ok(unplaced)
    }

    fn rename_in(&self, dir: &OwnedFd, s: &Staged) -> io::Result<()> {
        let result = match self.replace {
            Replace::Allow => rustix::fs::renameat(dir, &s.temp, dir, &s.name),
            Replace::Refuse => {
                match rustix::fs::renameat_with(dir, &s.temp, dir, &s.name, RenameFlags::NOREPLACE)
                {
                    // File systems without RENAME_NOREPLACE: link, which
                    // never replaces either, then unlink.
                    Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                        rustix::fs::linkat(dir, &s.temp, dir, &s.name, rustix::fs::AtFlags::empty())
                            .and_then(|()| {
                                rustix::fs::unlinkat(dir, &s.temp, rustix::fs::AtFlags::empty())
                            })
                    }
                    other => other,
                }
            }
        };
        result.map_err(|e| match e {
            rustix::io::Errno::EXIST => io::Error::new(
                io::ErrorKind::AlreadyExists,
                "it already exists (use --force to replace it)",
            ),
            e => io::Error::new(
                io::Error::from(e).kind(),
                format!("cannot move it into place: {}", io::Error::from(e)),
            ),
        })
    }

    /// Removes a batch's temporary files (it will not be placed).
    fn discard(&self, batch: &[StagedEntry]) {
        for StagedEntry(s) in batch {
            self.remove_temp(s);
        }
    }

    fn remove_temp(&self, s: &Staged) {
        if let Ok(dir) = self.open_dir(&s.dir, false) {
            let _ = rustix::fs::unlinkat(&dir, &s.temp, rustix::fs::AtFlags::empty());
        }
        durable::untrack_in_progress(&s.tracked);
    }

    /// Flushes the whole file system holding the root to disk. Where
    /// `syncfs` is missing, an fsync of the root stands in (the staged
    /// files were then already synced one by one; see `set_attributes`).
    fn sync(&self) -> io::Result<()> {
        match rustix::fs::syncfs(&self.root) {
            Ok(()) => Ok(()),
            Err(rustix::io::Errno::NOSYS) => Ok(rustix::fs::fsync(&self.root)?),
            Err(e) => Err(e.into()),
        }
    }
}

impl Dest {
    /// Sets a directory's mode and mtime (after its files are in place: a
    /// read-only directory must still receive them).
    pub(crate) fn set_dir_attributes(&self, rel: &Path, attributes: Attributes) -> io::Result<()> {
        let fd = self.open_dir(rel, false)?;
        set_attributes(&File::from(fd), attributes)
    }

    /// Removes the file `rel` beneath the root (`--delete`), if it exists.
    pub(crate) fn remove(&self, rel: &Path) -> io::Result<()> {
        let (dir, name) = split(rel)?;
        let dir = match self.open_dir(&dir, false) {
            Ok(dir) => dir,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        match rustix::fs::unlinkat(&dir, &name, rustix::fs::AtFlags::empty()) {
            Ok(()) | Err(rustix::io::Errno::NOENT) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Places every staged file and makes the renames durable. Returns the
    /// files whose rename failed.
    pub(crate) fn finish(&self) -> io::Result<Vec<Unplaced>> {
        let batch = {
            let mut guard = self.staged.lock().unwrap_or_else(|p| p.into_inner());
            guard.1 = 0;
            std::mem::take(&mut guard.0)
        };
        let mut unplaced = self
            .wait_for_committer()
            .inspect_err(|_| self.root.discard(&batch))?;
        unplaced.append(&mut self.root.place(batch)?);
        self.sync().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot write the output to disk: {e}"))
        })?;
        Ok(unplaced)
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = rustix::fs::unlinkat(&self.dir_fd, &self.temp, rustix::fs::AtFlags::empty());
            durable::untrack_in_progress(&self.tracked);
        }
    }
}

impl Dest {
    /// Lets the committer place what it was given, and stops it; later
    /// batches are placed inline. Returns what it could not place, or the
    /// sync failure that stopped it.
    fn wait_for_committer(&self) -> io::Result<Vec<Unplaced>> {
        let committer = self
            .committer
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match committer {
            None => Ok(Vec::new()),
            Some(Committer { batches, thread }) => {
                drop(batches);
                thread.join().unwrap_or_else(|_| {
                    Err(io::Error::other(
                        "the thread putting files in place panicked",
                    ))
                })
            }
        }
    }
}

impl Drop for Dest {
    /// Staged files never placed (the run ended by an error) are removed;
    /// batches already handed over are placed (they are complete).
    fn drop(&mut self) {
        let _ = self.wait_for_committer();
        let batch = std::mem::take(&mut self.staged.get_mut().unwrap_or_else(|p| p.into_inner()).0);
        self.root.discard(&batch);
    }
}

fn set_attributes(file: &File, attributes: Attributes) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    if let Some(mode) = attributes.mode {
        file.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))
            .map_err(|e| io::Error::new(e.kind(), format!("cannot set its mode: {e}")))?;
    }
    if let Some((secs, nanos)) = attributes.mtime {
        file.set_modified(durable::system_time(secs, nanos))
            .map_err(|e| {
                io::Error::new(e.kind(), format!("cannot set its modification time: {e}"))
            })?;
    }
    Ok(())
}

fn split(rel: &Path) -> io::Result<(PathBuf, OsString)> {
    let name = rel
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let dir = rel.parent().unwrap_or(Path::new("")).to_path_buf();
    Ok((dir, name.to_os_string()))
}

/// `.NAME.shardlock-tmp-<12 hex>`, with NAME cut so the whole stays within
/// the 255-byte limit of a file name.
fn temp_name(name: &OsStr) -> OsString {
    let mut suffix = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut suffix);
    let bytes = name.as_bytes();
    let kept = &bytes[..bytes.len().min(200)];
    let mut out = Vec::with_capacity(kept.len() + 30);
    out.push(b'.');
    out.extend_from_slice(kept);
    out.extend_from_slice(TEMP_MARKER.as_bytes());
    out.extend_from_slice(crate::encoding::hex(&suffix).as_bytes());
    OsString::from_vec(out)
}

fn not_a_dir(rel: &Path, e: io::Error) -> io::Error {
    match e.raw_os_error() {
        // ELOOP: a symbolic link; ENOTDIR: a file; EXDEV: RESOLVE_BENEATH.
        Some(40 | 20 | 18) => io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{} is not a directory beneath the destination (refusing to follow symlinks)",
                rel.display()
            ),
        ),
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write as _;

    use super::*;

    #[test]
    fn files_appear_under_their_names_only_after_the_batch_is_placed() {
        let tmp = tempfile::tempdir().unwrap();
        let dest = Dest::open(tmp.path(), Replace::Refuse).unwrap();
        dest.create_dirs(Path::new("a/b")).unwrap();
        let mut f = dest.create(Path::new("a/b/c.txt")).unwrap();
        f.file().write_all(b"hello").unwrap();
        assert!(dest
            .stage(
                f,
                5,
                Attributes {
                    mode: Some(0o640),
                    mtime: Some((1_500_000_000, 0))
                }
            )
            .unwrap()
            .is_empty());
        assert!(
            !tmp.path().join("a/b/c.txt").exists(),
            "not before the sync"
        );
        assert!(dest.finish().unwrap().is_empty());
        let path = tmp.path().join("a/b/c.txt");
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(durable::mode_of(&meta).map(|m| m & 0o777), Some(0o640));
        assert_eq!(
            std::fs::read_dir(tmp.path().join("a/b")).unwrap().count(),
            1
        );
    }

    #[test]
    fn a_symlinked_directory_is_never_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("dest");
        let outside = tmp.path().join("outside");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::os::unix::fs::symlink(&outside, root.join("link")).unwrap();
        let dest = Dest::open(&root, Replace::Refuse).unwrap();
        assert!(dest.create_dirs(Path::new("link/sub")).is_err());
        assert!(dest.create(Path::new("link/x")).is_err());
        assert!(!outside.join("sub").exists() && !outside.join("x").exists());
        assert!(dest.create_dirs(Path::new("../escape")).is_err());
    }

    #[test]
    fn an_existing_file_is_kept_unless_replacing_is_allowed() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("x"), b"old").unwrap();
        let dest = Dest::open(tmp.path(), Replace::Refuse).unwrap();
        let err = dest.create(Path::new("x")).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        // A name that appears between create and placement is not clobbered.
        let mut f = dest.create(Path::new("y")).unwrap();
        f.file().write_all(b"mine").unwrap();
        dest.stage(f, 4, Attributes::default()).unwrap();
        std::fs::write(tmp.path().join("y"), b"theirs").unwrap();
        let unplaced = dest.finish().unwrap();
        assert_eq!(unplaced.len(), 1);
        assert_eq!(std::fs::read(tmp.path().join("y")).unwrap(), b"theirs");
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            2,
            "no temp left"
        );
        let replacing = Dest::open(tmp.path(), Replace::Allow).unwrap();
        let mut f = replacing.create(Path::new("x")).unwrap();
        f.file().write_all(b"new").unwrap();
        replacing.stage(f, 3, Attributes::default()).unwrap();
        replacing.finish().unwrap();
        assert_eq!(std::fs::read(tmp.path().join("x")).unwrap(), b"new");
    }

    #[test]
    fn unstaged_and_unplaced_files_leave_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        {
            let dest = Dest::open(tmp.path(), Replace::Refuse).unwrap();
            let mut f = dest.create(Path::new("dropped")).unwrap();
            f.file().write_all(b"partial").unwrap();
            drop(f);
            let mut g = dest.create(Path::new("staged")).unwrap();
            g.file().write_all(b"complete").unwrap();
            dest.stage(g, 8, Attributes::default()).unwrap();
            // Dropped without finish: the run failed.
        }
        assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0);
    }
}
