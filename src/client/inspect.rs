//! What a file's header says, with no server and no key: format version,
//! keysets, sizes, whether metadata is sealed in, unknown stanzas.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;

use serde::Serialize;

use super::error::{IoContext, Result};
use super::io::{is_std_stream, Input};
use crate::encoding::hex;
use crate::envelope::read_header;
use crate::format::Stanza;
use crate::stream;

/// The facts about one encrypted file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// Format version of the header.
    pub format_version: u8,
    /// Hex ids of the keysets that can open the file.
    pub keysets: Vec<String>,
    /// Header length in bytes.
    pub header_bytes: usize,
    /// Whole file length in bytes.
    pub file_bytes: u64,
    /// Plaintext length implied by the body length (authenticated only
    /// when the file is decrypted); `None` if the body length is invalid.
    pub plaintext_bytes: Option<u64>,
    /// Chunks of the body; `None` if the body length is invalid.
    pub chunks: Option<u64>,
    /// Hex ids of the offline recovery keys that can open the file.
    pub recovery_keys: Vec<String>,
    /// Whether path, size, mode and mtime are sealed in the header.
    pub metadata: bool,
    /// Types of non-critical stanzas this version ignores.
    pub unknown_stanzas: Vec<u8>,
    /// Whether the body length is one a valid file can have.
    pub body_valid_length: bool,
    /// Why the body length is invalid, when it is.
    #[serde(skip)]
    pub body_problem: Option<String>,
}

/// Reads the header of `path` (`-` for stdin) and measures the file.
pub fn inspect(path: &Path) -> Result<FileReport> {
    let (header, total_len) = if is_std_stream(Some(path)) {
        let mut stdin = Input::open(None)?;
        let input = stdin.reader();
        let header = read_header(input)?;
        let mut rest = 0u64;
        let mut buf = vec![0u8; 1 << 16];
        loop {
            let n = input.read(&mut buf).context("cannot read stdin")?;
            if n == 0 {
                break;
            }
            rest += n as u64;
        }
        let total = header.bytes.len() as u64 + rest;
        (header, total)
    } else {
        let mut file =
            File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let header = read_header(&mut file)?;
        let total = file
            .seek(SeekFrom::End(0))
            .context("cannot read the file length")?;
        (header, total)
    };
    let body = stream::plaintext_len(total_len - header.bytes.len() as u64);
    let unknown_stanzas = header
        .header
        .stanzas
        .iter()
        .filter_map(|s| match s {
            Stanza::Unknown { kind, .. } => Some(*kind),
            _ => None,
        })
        .collect();
    Ok(FileReport {
        format_version: crate::format::VERSION,
        keysets: header.keyset_ids().iter().map(|id| hex(id)).collect(),
        header_bytes: header.bytes.len(),
        file_bytes: total_len,
        plaintext_bytes: body.as_ref().ok().map(|(p, _)| *p),
        chunks: body.as_ref().ok().map(|(_, c)| *c),
        recovery_keys: header
            .header
            .recovery_stanzas()
            .map(|r| hex(&r.key_id))
            .collect(),
        metadata: header.header.sealed_metadata().is_some(),
        unknown_stanzas,
        body_valid_length: body.is_ok(),
        body_problem: body.err().map(|e| e.to_string()),
    })
}
