//! Encrypting and decrypting one file or stream: encryption is offline
//! (the keyset's public part only), decryption asks `t` servers to unwrap
//! the data key and never leaves unauthenticated plaintext under the
//! output's name.

use std::fs;
use std::path::{Path, PathBuf};

use rand::rngs::OsRng;

use super::error::{Error, IoContext, Result};
use super::io::{Input, Output};
use super::report::{report_faults, ProgressWriter, Reporter};
use super::unwrap::keyset_for;
use super::Session;
use crate::envelope::{self, keywrap};
use crate::format::metadata::FileMetadata;

/// What to encrypt, and where to.
#[derive(Debug, Clone, Default)]
pub struct EncryptFile {
    /// Keyset name; `None` for the config's default.
    pub keyset: Option<String>,
    /// The file; `None` or `-` for stdin.
    pub input: Option<PathBuf>,
    /// The encrypted file; `None` or `-` for stdout.
    pub output: Option<PathBuf>,
    /// Replace an existing output.
    pub force: bool,
}

/// What to decrypt, and where to.
#[derive(Debug, Clone, Default)]
pub struct DecryptFile {
    /// The encrypted file; `None` or `-` for stdin.
    pub input: Option<PathBuf>,
    /// The plaintext; `None` or `-` for stdout.
    pub output: Option<PathBuf>,
    /// Replace an existing output.
    pub force: bool,
    /// Open the file with this offline recovery key instead of asking
    /// servers (`decrypt --recovery-key`); no config is needed.
    pub recovery: Option<std::sync::Arc<crate::envelope::recovery::RecoverySecret>>,
    /// Restore setuid, setgid and sticky bits too (dropped by default:
    /// anyone holding the public keyset can create a file claiming them).
    pub preserve_special_bits: bool,
}

/// What a single-file operation did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileOutcome {
    /// Plaintext bytes processed.
    pub bytes: u64,
    /// The keyset used, by its configured name.
    pub keyset: String,
}

impl Session {
    /// Encrypts one file or stdin for a keyset; no server is contacted.
    pub fn encrypt_file(
        &self,
        request: &EncryptFile,
        reporter: &dyn Reporter,
    ) -> Result<FileOutcome> {
        let config = self.config()?;
        let name = config.select(request.keyset.as_deref())?.to_string();
        let recipients = config
            .entry(&name)
            .ok_or_else(|| Error::Usage(format!("keyset {name:?} is not in the config")))?
            .recipients();

        let mut input = Input::open(request.input.as_deref())?;
        // Only a regular file has a name, size and times worth restoring; a
        // pipe (`<(cmd)`, a FIFO) is a stream like stdin.
        let metadata = match (&input, request.input.as_deref()) {
            (Input::File(file), Some(path)) => Some(file_metadata(path, file)?),
            _ => None,
        };
        let mut output = Output::open(request.output.as_deref(), request.force, true)?;
        let threads = metadata
            .as_ref()
            .map_or(self.options.jobs, |m| self.threads_for(m.size));
        let size = metadata.as_ref().map_or(u64::MAX, |m| m.size);
        if size != u64::MAX {
            reporter.totals(1, size);
        }
        let mut writer = ProgressWriter::new(output.writer(), reporter, size);
        let (_, bytes) = envelope::encrypt(
            input.source()?,
            &mut writer,
            recipients,
            metadata.as_ref(),
            threads,
            &mut OsRng,
        )?;
        writer.done();
        output.finish(None, None)?;
        Ok(FileOutcome {
            bytes,
            keyset: name,
        })
    }

    /// Decrypts one file or stdin with the help of `t` key-share servers.
    /// Plaintext goes to a temporary file that gets its name only once the
    /// last chunk has authenticated; on any error it is removed.
    pub fn decrypt_file(
        &self,
        request: &DecryptFile,
        reporter: &dyn Reporter,
    ) -> Result<FileOutcome> {
        let mut input = Input::open(request.input.as_deref())?;
        // The header first: a foreign or damaged file is reported as such
        // before any configuration problem.
        let header = envelope::read_header(input.reader())?;
        let (dek, keyset_name, mut output) = match &request.recovery {
            // Break-glass: the offline key, no config, no server.
            Some(secret) => {
                let dek = secret
                    .unwrap(header.header.recovery_stanzas())
                    .map_err(|e| Error::Failed(e.to_string()))?;
                let output = Output::open(request.output.as_deref(), request.force, false)?;
                (dek, "(recovery key)".to_string(), output)
            }
            None => {
                let keyset = keyset_for(self.config()?, &header)?;
                let stanza = header.stanza_for(keyset.public.id()).ok_or_else(|| {
                    Error::Failed(format!(
                        "the file has no key stanza for keyset {}",
                        keyset.name
                    ))
                })?;
                // Check the output first: refusing to overwrite should not
                // cost t audited evaluations.
                let output = Output::open(request.output.as_deref(), request.force, false)?;
                let service = self.key_service(&keyset)?;
                let (dek, faults) = keywrap::unwrap(&keyset.public, &service, stanza, &mut OsRng)?;
                report_faults(reporter, &faults);
                (dek, keyset.name, output)
            }
        };
        let metadata = header.metadata(&dek)?;
        let source = input.source()?;
        let size = match &source {
            envelope::Source::File { len, .. } => {
                crate::stream::plaintext_len(*len).map_or(u64::MAX, |(plain, _)| {
                    metadata
                        .as_ref()
                        .filter(|m| m.padded)
                        .map_or(plain, |m| m.size)
                })
            }
            envelope::Source::Stream(_) => u64::MAX,
        };
        if size != u64::MAX {
            reporter.totals(1, size);
        }
        let mut writer = ProgressWriter::new(output.writer(), reporter, size);
        let bytes = envelope::decrypt_body(&header, &dek, source, &mut writer, self.options.jobs)?;
        writer.done();
        let (mode, mtime) = metadata.map(|m| (m.mode, m.mtime)).unwrap_or_default();
        let special = if request.preserve_special_bits {
            0o7777
        } else {
            0o777
        };
        if mode.is_some_and(|m| m & 0o7000 != 0 && !request.preserve_special_bits) {
            reporter.warn(
                "setuid/setgid/sticky bits not restored (--preserve-special-bits keeps them)",
            );
        }
        output.finish(mode.map(|m| m & special), mtime)?;
        Ok(FileOutcome {
            bytes,
            keyset: keyset_name,
        })
    }
}

/// Metadata recorded for a single file: its name (not its directory, which
/// says nothing about where it should be restored), size, mode and mtime.
fn file_metadata(path: &Path, file: &fs::File) -> Result<FileMetadata> {
    // Stat the open file, not the path: it is what will be read.
    let meta = file
        .metadata()
        .with_context(|| format!("cannot read {}", path.display()))?;
    let name = path.file_name().map(os_bytes).unwrap_or_default();
    Ok(metadata_from(name, &meta))
}

/// Builds metadata from a relative path (as `/`-separated bytes) and stat
/// results.
pub(crate) fn metadata_from(path: Vec<u8>, meta: &fs::Metadata) -> FileMetadata {
    FileMetadata {
        path,
        size: meta.len(),
        mode: crate::durable::mode_of(meta).map(|m| m & 0o7777),
        mtime: meta.modified().ok().and_then(crate::durable::epoch_time),
        padded: false,
    }
}

/// Raw bytes of an OS string (file names need not be UTF-8).
pub(crate) fn os_bytes(s: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    s.as_bytes().to_vec()
}
