//! The byte layout of file metadata (relative path, size, mode, mtime):
//! what a restore needs to put a file back as it was. Pure encoding and
//! decoding; sealing it under a key derived from the data key is the
//! envelope's job (`envelope::metadata`), so the storage provider sees only
//! ciphertext.
//!
//! ```text
//! plaintext = flags(u8) size(u64) mode(u32) mtime_s(i64) mtime_ns(u32)
//!             path_len(u16) path      (integers big-endian)
//! stanza    = AES-256-GCM(meta_key, nonce = 0^12, aad = "", plaintext) || tag(16)
//! ```

use std::path::PathBuf;

use zeroize::Zeroizing;

use super::FormatError;

/// Longest relative path stored, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;
/// The AEAD tag that follows the sealed plaintext in the stanza.
pub const SEAL_TAG_LEN: usize = 16;
const FIXED_LEN: usize = 1 + 8 + 4 + 8 + 4 + 2;
/// Shortest valid sealed metadata stanza body.
pub const MIN_SEALED_LEN: usize = FIXED_LEN + SEAL_TAG_LEN;
/// Longest valid sealed metadata stanza body.
pub const MAX_SEALED_LEN: usize = FIXED_LEN + MAX_PATH_LEN + SEAL_TAG_LEN;

const FLAG_MODE: u8 = 0x01;
const FLAG_MTIME: u8 = 0x02;
/// The body carries `size` bytes of plaintext followed by zero bytes up to
/// [`padme`](super::padding::padme)`(size)` (docs/FORMAT.md section 2.2).
/// A reader that does not know the flag refuses the file rather than
/// output the padding.
const FLAG_PADDED: u8 = 0x04;
const KNOWN_FLAGS: u8 = FLAG_MODE | FLAG_MTIME | FLAG_PADDED;

/// What a restore needs to put a file back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileMetadata {
    /// Path relative to the encrypted tree's root, `/`-separated, as raw
    /// bytes (file names need not be UTF-8). Empty for a stream (stdin).
    pub path: Vec<u8>,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Unix permission bits (`st_mode & 0o7777`), if known.
    pub mode: Option<u32>,
    /// Modification time as (seconds since the epoch, nanoseconds), if known.
    pub mtime: Option<(i64, u32)>,
    /// Whether the body is padded (with zeros, after the `size` bytes of
    /// plaintext) to the Padmé length of `size`.
    pub padded: bool,
}

/// Why a stored path cannot be restored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// Empty path.
    #[error("the stored path is empty")]
    Empty,
    /// Absolute path, `.`/`..` or empty component, or a NUL byte.
    #[error("the stored path {0:?} is not a plain relative path (refusing to write outside the destination)")]
    Unsafe(String),
}

impl FileMetadata {
    /// The plaintext layout above, with room for the tag after it.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, FormatError> {
        if self.path.len() > MAX_PATH_LEN {
            return Err(FormatError::TooLarge("path longer than 4096 bytes"));
        }
        let mut flags = 0;
        let (mut mode, mut secs, mut nanos) = (0u32, 0i64, 0u32);
        if let Some(m) = self.mode {
            flags |= FLAG_MODE;
            mode = m;
        }
        if self.padded {
            flags |= FLAG_PADDED;
        }
        if let Some((s, n)) = self.mtime {
            if n >= 1_000_000_000 {
                return Err(FormatError::TooLarge("mtime nanoseconds"));
            }
            flags |= FLAG_MTIME;
            (secs, nanos) = (s, n);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(
            FIXED_LEN + self.path.len() + SEAL_TAG_LEN,
        ));
        out.push(flags);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&mode.to_be_bytes());
        out.extend_from_slice(&secs.to_be_bytes());
        out.extend_from_slice(&nanos.to_be_bytes());
        out.extend_from_slice(&(self.path.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.path);
        Ok(out)
    }

    /// Parses the plaintext layout, accepting only its one canonical
    /// encoding (absent fields zero, no unknown flags).
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let bad = |reason| FormatError::BadStanza {
            kind: "metadata".into(),
            reason,
        };
        if bytes.len() < FIXED_LEN {
            return Err(bad("too short"));
        }
        let (fixed, path) = bytes.split_at(FIXED_LEN);
        let flags = fixed[0];
        if flags & !KNOWN_FLAGS != 0 {
            return Err(bad("unknown flags"));
        }
        let be8 = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&fixed[at..at + 8]);
            a
        };
        let be4 = |at: usize| {
            let mut a = [0u8; 4];
            a.copy_from_slice(&fixed[at..at + 4]);
            a
        };
        let size = u64::from_be_bytes(be8(1));
        let mode = u32::from_be_bytes(be4(9));
        let secs = i64::from_be_bytes(be8(13));
        let nanos = u32::from_be_bytes(be4(21));
        let path_len = u16::from_be_bytes([fixed[25], fixed[26]]) as usize;
        if path.len() != path_len || path_len > MAX_PATH_LEN {
            return Err(bad("path length does not match"));
        }
        if flags & FLAG_MODE == 0 && mode != 0 || flags & FLAG_MTIME == 0 && (secs, nanos) != (0, 0)
        {
            return Err(bad("absent field is not zero"));
        }
        if nanos >= 1_000_000_000 {
            return Err(bad("mtime nanoseconds out of range"));
        }
        Ok(Self {
            path: path.to_vec(),
            size,
            mode: (flags & FLAG_MODE != 0).then_some(mode),
            mtime: (flags & FLAG_MTIME != 0).then_some((secs, nanos)),
            padded: flags & FLAG_PADDED != 0,
        })
    }

    /// The stored path as a relative [`PathBuf`], refusing anything that
    /// could escape the restore destination: absolute paths, `.` and `..`
    /// components, empty components, and NUL bytes. The metadata is
    /// authenticated, but it was written by whoever held the keyset, which
    /// is not necessarily whoever restores.
    pub fn relative_path(&self) -> Result<PathBuf, PathError> {
        relative_path(&self.path)
    }

    /// Length of the body's plaintext: `size`, or its Padmé length when
    /// the body is padded.
    pub fn body_len(&self) -> u64 {
        if self.padded {
            super::padding::padme(self.size)
        } else {
            self.size
        }
    }
}

/// A stored `/`-separated path as a relative [`PathBuf`], refusing anything
/// that could escape the restore destination (see
/// [`FileMetadata::relative_path`]); private-tree index entries use it too.
pub fn relative_path(path: &[u8]) -> Result<PathBuf, PathError> {
    if path.is_empty() {
        return Err(PathError::Empty);
    }
    let unsafe_path = || PathError::Unsafe(String::from_utf8_lossy(path).into_owned());
    let mut out = PathBuf::new();
    for component in path.split(|&b| b == b'/') {
        if component.is_empty() || component == b"." || component == b".." || component.contains(&0)
        {
            return Err(unsafe_path());
        }
        out.push(os_str_from_bytes(component).ok_or_else(unsafe_path)?);
    }
    Ok(out)
}

fn os_str_from_bytes(bytes: &[u8]) -> Option<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Some(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Metadata with every field set and a non-ASCII path.
    pub(crate) fn sample() -> FileMetadata {
        FileMetadata {
            path: "docs/résumé final.pdf".as_bytes().to_vec(),
            size: 123_456,
            mode: Some(0o640),
            mtime: Some((1_700_000_000, 123_456_789)),
            padded: true,
        }
    }

    #[test]
    fn encode_decode_round_trip() {
        for meta in [sample(), FileMetadata::default()] {
            let bytes = meta.encode().unwrap();
            assert_eq!(FileMetadata::decode(&bytes).unwrap(), meta);
        }
    }

    #[test]
    fn overlong_path_and_bad_nanos_are_refused_when_encoding() {
        let long = FileMetadata {
            path: vec![b'a'; MAX_PATH_LEN + 1],
            ..Default::default()
        };
        assert!(long.encode().is_err());
        let nanos = FileMetadata {
            mtime: Some((0, 1_000_000_000)),
            ..Default::default()
        };
        assert!(nanos.encode().is_err());
    }

    #[test]
    fn decode_rejects_non_canonical_encodings() {
        let good = sample().encode().unwrap().to_vec();
        let mut unknown_flag = good.clone();
        unknown_flag[0] |= 0x80;
        assert!(FileMetadata::decode(&unknown_flag).is_err());
        let mut long_path = good.clone();
        long_path.push(b'x');
        assert!(FileMetadata::decode(&long_path).is_err());
        let mut stray_mode = FileMetadata::default().encode().unwrap().to_vec();
        stray_mode[12] = 1;
        assert!(FileMetadata::decode(&stray_mode).is_err());
    }

    #[test]
    fn relative_path_refuses_traversal() {
        let with = |p: &[u8]| FileMetadata {
            path: p.to_vec(),
            ..Default::default()
        };
        assert_eq!(
            with(b"a/b c/d.txt").relative_path().unwrap(),
            PathBuf::from("a/b c/d.txt")
        );
        for bad in [
            &b""[..],
            b"/etc/passwd",
            b"../x",
            b"a/../../x",
            b"a/./b",
            b"a//b",
            b"a/",
            b".",
            b"..",
            b"a\0b",
        ] {
            assert!(
                with(bad).relative_path().is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
