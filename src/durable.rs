//! Durable, atomic file writes: the one routine every layer uses to put a
//! file in place (decrypted output, encrypted output, the client config,
//! the server's state files).
//!
//! The rule (docs/DESIGN.md, "Durable writes"):
//! 1. bytes go to a fresh temporary file `.NAME.shardlock-tmp-<12 hex>` in
//!    the target's directory, created with mode 0600 so a secret or a
//!    plaintext is never readable by others, not even for an instant;
//! 2. the file gets its final mode and mtime, then is fsynced;
//! 3. it is renamed onto the target, refusing to replace an existing file
//!    unless replacing was asked for (`renameat2(RENAME_NOREPLACE)` where
//!    the kernel has it, else link + unlink, which never replaces either);
//! 4. the directory is fsynced so the rename survives a power loss. A file
//!    system that cannot fsync a directory (EINVAL, ENOTSUP) is tolerated;
//!    any other failure is reported.
//!
//! Errors keep their [`io::ErrorKind`] and say which step failed, but not
//! the path: the caller names the file it was writing.
//!
//! A crash therefore leaves the old file or the new one under the target's
//! name, never a torn one; an error or a drop before commit removes the
//! temporary file. Tree runs may defer step 4 and sync each directory once.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::RngCore;

/// Marks in-progress files: `.NAME` + this + 12 hex digits.
pub const TEMP_MARKER: &str = ".shardlock-tmp-";
/// Mode of every temporary file, and of private files once committed.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
/// Mode of private directories (config and state directories).
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// Whether `name` is exactly one of our temporary files (and not a user's
/// file that merely contains the marker).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name.rsplit_once(TEMP_MARKER).is_some_and(|(_, suffix)| {
            suffix.len() == 12 && suffix.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// Whether an existing file at the target may be replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replace {
    /// Replace it (configs, state files, `--force`).
    Allow,
    /// Fail with [`io::ErrorKind::AlreadyExists`], checked when the write
    /// starts and again, atomically, when it commits.
    Refuse,
}

/// Attributes a committed file gets.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Attributes {
    /// Unix permission bits (masked to 0o7777); `None` keeps 0600.
    pub mode: Option<u32>,
    /// Modification time as (seconds, nanoseconds) since the epoch.
    pub mtime: Option<(i64, u32)>,
}

/// Temporary files being written right now, so that a process stopped by
/// a signal can remove them before it exits ([`remove_in_progress`]):
/// a decryption interrupted mid-way must not leave hidden plaintext.
/// A set of raw path bytes, not a list: a tree run tracks thousands of
/// staged files at once, and removing one from a list would cost a scan of
/// all the others (and comparing `Path`s component by component).
static IN_PROGRESS: std::sync::Mutex<BTreeSet<OsString>> = std::sync::Mutex::new(BTreeSet::new());

fn in_progress() -> std::sync::MutexGuard<'static, BTreeSet<OsString>> {
    IN_PROGRESS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn untrack(temp: &Path) {
    in_progress().remove(temp.as_os_str());
}

/// Registers a temporary file written outside [`AtomicFile`] (a tree run's
/// batched output), so a signal removes it too.
pub(crate) fn track_in_progress(temp: &Path) {
    in_progress().insert(temp.as_os_str().to_os_string());
}

/// The temporary file was renamed into place or removed.
pub(crate) fn untrack_in_progress(temp: &Path) {
    untrack(temp);
}

/// Removes every temporary file still being written (a signal handler
/// calls this just before the process exits); returns how many there were.
pub fn remove_in_progress() -> usize {
    let temps: Vec<OsString> = std::mem::take(&mut *in_progress()).into_iter().collect();
    for temp in &temps {
        let _ = fs::remove_file(temp);
    }
    temps.len()
}

/// An output file under construction. Dropping it without committing
/// removes the temporary file.
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    replace: Replace,
}

impl AtomicFile {
    /// Starts writing `target` (step 1). With [`Replace::Refuse`] an
    /// existing target is an `AlreadyExists` error now.
    pub fn create(target: &Path, replace: Replace) -> io::Result<Self> {
        if replace == Replace::Refuse && target.symlink_metadata().is_ok() {
            return Err(already_exists());
        }
        let dir = parent_of(target);
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let mut suffix = [0u8; 6];
        rand::thread_rng().fill_bytes(&mut suffix);
        let temp = dir.join(format!(
            ".{}{}{}",
            name.to_string_lossy(),
            TEMP_MARKER,
            crate::encoding::hex(&suffix)
        ));
        let file = create_new_private(&temp)
            .map_err(|e| context(e, format_args!("cannot create a temporary file beside it")))?;
        in_progress().insert(temp.clone().into_os_string());
        Ok(Self {
            target: target.to_path_buf(),
            temp,
            file: Some(file),
            replace,
        })
    }

    /// The final name.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().unwrap_or_else(|| {
            unreachable!("the file is only taken by commit, which consumes self")
        })
    }

    /// Steps 2 to 4: attributes, fsync, rename, fsync of the directory.
    pub fn commit(self, attributes: Attributes) -> io::Result<()> {
        let dir = self.commit_deferred(attributes)?;
        sync_dir(&dir)
    }

    /// Steps 2 and 3 only; returns the directory whose fsync (step 4) the
    /// caller owes, so a tree run syncs each directory once at the end.
    pub fn commit_deferred(mut self, attributes: Attributes) -> io::Result<PathBuf> {
        let file = self
            .file
            .take()
            .unwrap_or_else(|| unreachable!("commit runs once"));
        if let Some(mode) = attributes.mode {
            set_file_mode(&file, mode & 0o7777)
                .map_err(|e| context(e, format_args!("cannot set its mode")))?;
        }
        if let Some((secs, nanos)) = attributes.mtime {
            file.set_modified(system_time(secs, nanos))
                .map_err(|e| context(e, format_args!("cannot set its modification time")))?;
        }
        file.sync_all()
            .map_err(|e| context(e, format_args!("cannot write it to disk")))?;
        drop(file);
        let moved = match self.replace {
            Replace::Allow => fs::rename(&self.temp, &self.target),
            Replace::Refuse => rename_no_replace(&self.temp, &self.target),
        };
        match moved {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(already_exists()),
            Err(e) => return Err(context(e, format_args!("cannot move it into place"))),
        }
        // Committed: nothing left for Drop (or a signal) to remove.
        untrack(&self.temp);
        self.temp = PathBuf::new();
        Ok(parent_of(&self.target))
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            untrack(&self.temp);
            self.file.take();
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `bytes` to `path` by the rule above, as a private (0600) file.
pub fn write_file(path: &Path, bytes: &[u8], replace: Replace) -> io::Result<()> {
    use std::io::Write as _;
    let mut file = AtomicFile::create(path, replace)?;
    file.file().write_all(bytes)?;
    file.commit(Attributes::default())
}

/// fsyncs a directory so renames and creations in it are durable (step 4).
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Ok(()) => Ok(()),
        // File systems that cannot fsync a directory say so with EINVAL or
        // ENOTSUP; nothing more can be done there.
        Err(e)
            if matches!(
                e.kind(),
                io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(context(e, format_args!("cannot sync its directory"))),
    }
}

/// Creates `dir` and missing parents, new ones with mode 0700. An existing
/// directory is left as it is.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, PRIVATE_DIR_MODE);
    builder.create(dir)
}

/// Opens `path` for appending, creating it with mode 0600 if needed (the
/// audit log: records are appended, never rewritten).
pub fn open_append_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options.open(path)
}

/// Sets the Unix permission bits of a path.
pub fn set_mode(path: &Path, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
}

/// Unix permission bits of a file (`Option` so callers that record modes
/// keep a place for "unknown", which the format allows).
pub fn mode_of(meta: &fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    Some(meta.permissions().mode())
}

/// Seconds and nanoseconds since the epoch (negative allowed) as a time.
pub fn system_time(secs: i64, nanos: u32) -> SystemTime {
    let nanos = Duration::from_nanos(u64::from(nanos.min(999_999_999)));
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs.unsigned_abs()) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

/// A time as (seconds, nanoseconds) since the epoch; before 1970 the
/// seconds are negative and the nanoseconds still count upwards.
pub fn epoch_time(time: SystemTime) -> Option<(i64, u32)> {
    match time.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs())
            .ok()
            .map(|s| (s, d.subsec_nanos())),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).ok()?;
            Some(if d.subsec_nanos() == 0 {
                (-secs, 0)
            } else {
                (-secs - 1, 1_000_000_000 - d.subsec_nanos())
            })
        }
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn already_exists() -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, "it already exists")
}

/// The same error kind, with what was being done in front of the cause.
fn context(e: io::Error, what: fmt::Arguments<'_>) -> io::Error {
    io::Error::new(e.kind(), format!("{what}: {e}"))
}

/// Opens a new file with mode 0600, failing if it exists.
fn create_new_private(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, PRIVATE_FILE_MODE);
    options.open(path)
}

fn set_file_mode(file: &File, mode: u32) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    file.set_permissions(fs::Permissions::from_mode(mode))
}

/// Moves `from` to `to` unless `to` exists, atomically: renameat2 with
/// RENAME_NOREPLACE where the kernel and file system have it (one
/// operation), else link-then-unlink (which also never replaces), else a
/// plain rename after the caller's existence check.
fn rename_no_replace(from: &Path, to: &Path) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
            Ok(()) => return Ok(()),
            Err(rustix::io::Errno::EXIST) => {
                return Err(io::Error::from(io::ErrorKind::AlreadyExists));
            }
            // Not supported here: fall through.
            Err(_) => {}
        }
    }
    match fs::hard_link(from, to) {
        Ok(()) => {
            let _ = fs::remove_file(from);
            Ok(())
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(e),
        // File systems without hard links.
        Err(_) => fs::rename(from, to),
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_exact_temp_names_count_as_temp_files() {
        assert!(is_temp_name(".a.txt.shardlock-tmp-0123456789ab"));
        assert!(!is_temp_name(".a.txt.shardlock-tmp-0123456789ab.slock"));
        assert!(!is_temp_name("a.txt.shardlock-tmp-0123456789ab"));
        assert!(!is_temp_name(".a.txt.shardlock-tmp-xyz"));
    }

    #[test]
    fn an_uncommitted_file_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        {
            let mut f = AtomicFile::create(&target, Replace::Refuse).unwrap();
            f.file().write_all(b"partial").unwrap();
        }
        assert!(names(dir.path()).is_empty());
    }

    #[test]
    fn commit_moves_into_place_with_mode_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let mut f = AtomicFile::create(&target, Replace::Refuse).unwrap();
        f.file().write_all(b"done").unwrap();
        f.commit(Attributes {
            mode: Some(0o640),
            mtime: Some((1_500_000_000, 0)),
        })
        .unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"done");
        let meta = fs::metadata(&target).unwrap();
        assert_eq!(mode_of(&meta).map(|m| m & 0o777), Some(0o640));
        assert_eq!(meta.modified().unwrap(), system_time(1_500_000_000, 0));
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn existing_targets_are_replaced_only_when_allowed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        fs::write(&target, b"old").unwrap();
        let err = AtomicFile::create(&target, Replace::Refuse).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        write_file(&target, b"new", Replace::Allow).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(
            mode_of(&fs::metadata(&target).unwrap()).map(|m| m & 0o777),
            Some(PRIVATE_FILE_MODE)
        );
        assert_eq!(names(dir.path()), ["out.txt"]);
    }

    #[test]
    fn a_target_appearing_during_the_write_is_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let mut f = AtomicFile::create(&target, Replace::Refuse).unwrap();
        f.file().write_all(b"mine").unwrap();
        fs::write(&target, b"theirs").unwrap();
        let err = f.commit(Attributes::default()).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&target).unwrap(), b"theirs");
        assert_eq!(names(dir.path()), ["out.txt"], "temp file removed");
    }

    #[test]
    fn a_failed_rename_keeps_the_old_file_and_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        // Renaming a file over a non-empty directory fails.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        fs::write(blocked.join("x"), b"x").unwrap();
        assert!(write_file(&blocked, b"new", Replace::Allow).is_err());
        assert_eq!(names(dir.path()), ["blocked"]);
        assert_eq!(fs::read(blocked.join("x")).unwrap(), b"x");
    }

    #[test]
    fn private_dirs_and_append_files_have_private_modes() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("a/b");
        create_private_dir(&sub).unwrap();
        assert_eq!(
            mode_of(&fs::metadata(&sub).unwrap()).map(|m| m & 0o777),
            Some(PRIVATE_DIR_MODE)
        );
        let log = sub.join("audit.log");
        open_append_private(&log).unwrap();
        assert_eq!(
            mode_of(&fs::metadata(&log).unwrap()).map(|m| m & 0o777),
            Some(PRIVATE_FILE_MODE)
        );
    }

    #[test]
    fn epoch_times_round_trip_on_both_sides_of_1970() {
        for (secs, nanos) in [(1_600_000_000, 5), (0, 0), (-1, 999_999_999), (-86_400, 0)] {
            assert_eq!(
                epoch_time(system_time(secs, nanos)),
                Some((secs, nanos)),
                "{secs}.{nanos}"
            );
        }
    }
}
