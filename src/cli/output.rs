//! Where bytes come from and go to: stdin/stdout or files, with the rules a
//! careful user expects. Output files are written to a temporary file in
//! the target's directory, fsynced, and only then given their final name,
//! so a failure or a crash never leaves a partial file under that name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rand::RngCore;

use super::UsageError;
use crate::envelope::Source;

/// Marks in-progress output files: `.NAME.shardlock-tmp-` + 12 hex digits.
pub const TEMP_MARKER: &str = ".shardlock-tmp-";

/// Whether `name` is exactly one of our temporary files (and not a user's
/// file that merely contains the marker).
pub fn is_temp_name(name: &str) -> bool {
    name.starts_with('.')
        && name.rsplit_once(TEMP_MARKER).is_some_and(|(_, suffix)| {
            suffix.len() == 12 && suffix.bytes().all(|b| b.is_ascii_hexdigit())
        })
}

/// `None` or `-` means the standard stream.
pub fn is_std_stream(path: Option<&Path>) -> bool {
    path.is_none_or(|p| p.as_os_str() == "-")
}

/// Where input comes from: a regular file (read positionally by all
/// workers) or a stream (stdin, a pipe, a device).
pub enum Input {
    /// A regular file.
    File(File),
    /// Anything read in order.
    Stream(Box<dyn Read + Send>),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::File(_) => "Input::File",
            Input::Stream(_) => "Input::Stream",
        })
    }
}

impl Input {
    /// Opens a file, or stdin when none (or `-`) is given. Refuses to wait
    /// on an interactive terminal for data that will never come.
    pub fn open(path: Option<&Path>) -> Result<Self> {
        if is_std_stream(path) {
            let stdin = io::stdin();
            if stdin.is_terminal() {
                return Err(
                    UsageError::new("no input: give a file, or pipe data into stdin").into(),
                );
            }
            return Ok(Input::Stream(Box::new(stdin)));
        }
        let path = path.unwrap_or(Path::new("-"));
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            return Err(UsageError::new(format!(
                "{} is a directory (use -r for a tree)",
                path.display()
            ))
            .into());
        }
        Ok(if meta.is_file() {
            Input::File(file)
        } else {
            Input::Stream(Box::new(file))
        })
    }

    /// Reads from the current position (for headers).
    pub fn reader(&mut self) -> &mut dyn Read {
        match self {
            Input::File(f) => f,
            Input::Stream(s) => s,
        }
    }

    /// The rest of the input, from the current position, as a pipeline
    /// source.
    pub fn source(&mut self) -> Result<Source<'_, &mut (dyn Read + Send)>> {
        match self {
            Input::File(file) => {
                let offset = file.stream_position().context("cannot read the input")?;
                let len = file.metadata().context("cannot read the input")?.len();
                Ok(Source::File {
                    file,
                    offset,
                    len: len.saturating_sub(offset),
                })
            }
            Input::Stream(s) => Ok(Source::Stream(&mut **s)),
        }
    }
}

/// An output file under construction. Dropping it without [`commit`]
/// removes the temporary file.
///
/// [`commit`]: AtomicFile::commit
#[derive(Debug)]
pub struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    file: Option<File>,
    force: bool,
}

impl AtomicFile {
    /// Starts writing `target`. Without `force`, an existing target is an
    /// error now (and again at commit time, in case one appeared since).
    pub fn create(target: &Path, force: bool) -> Result<Self> {
        if !force && target.symlink_metadata().is_ok() {
            return Err(UsageError::new(format!(
                "{} already exists; use --force to replace it",
                target.display()
            ))
            .into());
        }
        let dir = match target.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let name = target
            .file_name()
            .with_context(|| format!("{} is not a file name", target.display()))?;
        let mut suffix = [0u8; 6];
        rand::thread_rng().fill_bytes(&mut suffix);
        let temp = dir.join(format!(
            ".{}{}{}",
            name.to_string_lossy(),
            TEMP_MARKER,
            crate::format::hex_string(&suffix)
        ));
        let mut options = OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            // Plaintext may land here: private until committed.
            options.mode(0o600);
        }
        let file = options
            .open(&temp)
            .with_context(|| format!("cannot create a file in {}", dir.display()))?;
        Ok(Self {
            target: target.to_path_buf(),
            temp,
            file: Some(file),
            force,
        })
    }

    /// The open temporary file.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().unwrap_or_else(|| {
            unreachable!("the file is only taken by commit, which consumes self")
        })
    }

    /// Flushes, fsyncs and moves the file into place (and fsyncs the
    /// directory so the rename itself survives a crash).
    pub fn commit(self, mode: Option<u32>, mtime: Option<(i64, u32)>) -> Result<()> {
        let dir = self.move_into_place(mode, mtime)?;
        sync_dir(&dir);
        Ok(())
    }

    /// Like [`commit`](Self::commit) but leaves the directory fsync to the
    /// caller, which returns the directory: a tree run syncs each directory
    /// once at the end instead of once per file.
    pub fn commit_deferred(self, mode: Option<u32>, mtime: Option<(i64, u32)>) -> Result<PathBuf> {
        self.move_into_place(mode, mtime)
    }

    fn move_into_place(mut self, mode: Option<u32>, mtime: Option<(i64, u32)>) -> Result<PathBuf> {
        let file = self
            .file
            .take()
            .unwrap_or_else(|| unreachable!("commit runs once"));
        #[cfg(unix)]
        if let Some(mode) = mode {
            use std::os::unix::fs::PermissionsExt;
            file.set_permissions(fs::Permissions::from_mode(mode & 0o7777))
                .with_context(|| format!("cannot set the mode of {}", self.target.display()))?;
        }
        #[cfg(not(unix))]
        let _ = mode;
        if let Some((secs, nanos)) = mtime {
            let time = system_time(secs, nanos);
            file.set_modified(time).with_context(|| {
                format!(
                    "cannot set the modification time of {}",
                    self.target.display()
                )
            })?;
        }
        file.sync_all()
            .with_context(|| format!("cannot write {} to disk", self.target.display()))?;
        drop(file);
        if self.force {
            fs::rename(&self.temp, &self.target).with_context(|| {
                format!(
                    "cannot move the output into place at {}",
                    self.target.display()
                )
            })?;
        } else {
            match rename_no_replace(&self.temp, &self.target) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    bail!(UsageError::new(format!(
                        "{} already exists; use --force to replace it",
                        self.target.display()
                    )));
                }
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!(
                            "cannot move the output into place at {}",
                            self.target.display()
                        )
                    })
                }
            }
        }
        self.temp = PathBuf::new();
        Ok(match self.target.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        })
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.temp.as_os_str().is_empty() {
            self.file.take();
            let _ = fs::remove_file(&self.temp);
        }
    }
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

/// Makes renames in `dir` durable (best effort: some file systems refuse).
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Seconds and nanoseconds since the epoch (negative allowed) as SystemTime.
pub fn system_time(secs: i64, nanos: u32) -> std::time::SystemTime {
    use std::time::{Duration, UNIX_EPOCH};
    let nanos = Duration::from_nanos(u64::from(nanos.min(999_999_999)));
    if secs >= 0 {
        UNIX_EPOCH + Duration::from_secs(secs as u64) + nanos
    } else {
        UNIX_EPOCH - Duration::from_secs(secs.unsigned_abs()) + nanos
    }
}

/// Where output goes.
#[derive(Debug)]
pub enum Output {
    /// Standard output (not atomic: see the CLI docs).
    Stdout(io::Stdout),
    /// A file written atomically.
    File(AtomicFile),
    /// An existing device or pipe (e.g. /dev/null), written directly:
    /// there is nothing to rename and nothing to replace.
    Device(File),
}

impl Output {
    /// Resolves `-o`. `binary` output is refused on a terminal, where it
    /// would only garble the screen.
    pub fn open(path: Option<&Path>, force: bool, binary: bool) -> Result<Self> {
        if is_std_stream(path) {
            let stdout = io::stdout();
            if binary && stdout.is_terminal() {
                return Err(UsageError::new(
                    "refusing to write encrypted data to a terminal; use -o FILE or redirect stdout",
                )
                .into());
            }
            return Ok(Output::Stdout(stdout));
        }
        let path = path.unwrap_or(Path::new("-"));
        if let Ok(meta) = fs::metadata(path) {
            if !meta.is_file() && !meta.is_dir() {
                let device = OpenOptions::new()
                    .write(true)
                    .open(path)
                    .with_context(|| format!("cannot open {}", path.display()))?;
                return Ok(Output::Device(device));
            }
        }
        Ok(Output::File(AtomicFile::create(path, force)?))
    }

    /// A writer for the bytes.
    pub fn writer(&mut self) -> Box<dyn Write + '_> {
        match self {
            Output::Stdout(s) => Box::new(s.lock()),
            Output::File(f) => Box::new(f.file()),
            Output::Device(d) => Box::new(d),
        }
    }

    /// Finishes: flushes stdout, or commits the file.
    pub fn finish(self, mode: Option<u32>, mtime: Option<(i64, u32)>) -> Result<()> {
        match self {
            Output::Stdout(mut s) => s.flush().context("cannot write to stdout"),
            Output::File(f) => f.commit(mode, mtime),
            Output::Device(mut d) => d.flush().context("cannot write the output"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let mut f = AtomicFile::create(&target, false).unwrap();
            f.file().write_all(b"partial").unwrap();
        }
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn commit_moves_into_place_with_mode_and_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let mut f = AtomicFile::create(&target, false).unwrap();
        f.file().write_all(b"done").unwrap();
        f.commit(Some(0o640), Some((1_500_000_000, 0))).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"done");
        let meta = fs::metadata(&target).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(meta.permissions().mode() & 0o777, 0o640);
        }
        assert_eq!(meta.modified().unwrap(), system_time(1_500_000_000, 0));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn existing_targets_need_force() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        fs::write(&target, b"old").unwrap();
        assert!(AtomicFile::create(&target, false).is_err());
        let mut f = AtomicFile::create(&target, true).unwrap();
        f.file().write_all(b"new").unwrap();
        f.commit(None, None).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn a_target_appearing_during_the_write_is_not_clobbered() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.txt");
        let mut f = AtomicFile::create(&target, false).unwrap();
        f.file().write_all(b"mine").unwrap();
        fs::write(&target, b"theirs").unwrap();
        assert!(f.commit(None, None).is_err());
        assert_eq!(fs::read(&target).unwrap(), b"theirs");
        assert_eq!(
            fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file removed"
        );
    }
}
