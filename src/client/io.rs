//! Where a use case's bytes come from and go to: stdin/stdout or files,
//! with the rules a careful user expects. Output files are written through
//! [`crate::durable`]: a temporary file in the target's directory, fsynced,
//! and only then given their final name, so a failure or a crash never
//! leaves a partial file under that name.

use std::fs::{self, File, OpenOptions};
use std::io::{self, IsTerminal, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::error::{Error, IoContext, Result};
use crate::durable::{AtomicFile, Attributes, Replace};
use crate::envelope::Source;

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
                return Err(Error::Usage(
                    "no input: give a file, or pipe data into stdin".into(),
                ));
            }
            return Ok(Input::Stream(Box::new(stdin)));
        }
        let path = path.unwrap_or(Path::new("-"));
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let meta = file
            .metadata()
            .with_context(|| format!("cannot read {}", path.display()))?;
        if meta.is_dir() {
            return Err(Error::Usage(format!(
                "{} is a directory (use -r for a tree)",
                path.display()
            )));
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

/// Starts writing `target` durably (see [`crate::durable`]). Without
/// `force`, an existing target is a usage error now, and again at commit
/// time in case one appeared since.
pub fn create_file(target: &Path, force: bool) -> Result<AtomicFile> {
    let replace = if force {
        Replace::Allow
    } else {
        Replace::Refuse
    };
    AtomicFile::create(target, replace).map_err(|e| output_error(target, e))
}

/// Commits a finished output file, directory fsync included.
pub fn commit_file(file: AtomicFile, attributes: Attributes) -> Result<()> {
    let target = file.target().to_path_buf();
    file.commit(attributes)
        .map_err(|e| output_error(&target, e))
}

/// Commits a finished output file and returns its directory, whose fsync
/// the caller owes (once per directory in a tree run).
pub fn commit_file_deferred(file: AtomicFile, attributes: Attributes) -> Result<PathBuf> {
    let target = file.target().to_path_buf();
    file.commit_deferred(attributes)
        .map_err(|e| output_error(&target, e))
}

/// An existing target is a usage mistake; anything else names the file.
fn output_error(target: &Path, e: io::Error) -> Error {
    if e.kind() == io::ErrorKind::AlreadyExists {
        Error::Usage(format!(
            "{} already exists; use --force to replace it",
            target.display()
        ))
    } else {
        Error::Io {
            context: format!("cannot write {}", target.display()),
            source: e,
        }
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
                return Err(Error::Usage(
                    "refusing to write encrypted data to a terminal; use -o FILE or redirect stdout"
                        .into(),
                ));
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
        Ok(Output::File(create_file(path, force)?))
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
            Output::File(f) => commit_file(f, Attributes { mode, mtime }),
            Output::Device(mut d) => d.flush().context("cannot write the output"),
        }
    }
}
