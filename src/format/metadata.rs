//! File metadata (relative path, size, mode, mtime) sealed in the header
//! under a key derived from the data key, so a restore can put files back as
//! they were while the storage provider sees none of it.
//!
//! ```text
//! meta_key  = HKDF-SHA-256(salt = "", ikm = DEK, info = "shardlock/v1 metadata")
//! sealed    = AES-256-GCM(meta_key, nonce = 0^12, aad = "", plaintext) || tag
//! plaintext = flags(u8) size(u64) mode(u32) mtime_s(i64) mtime_ns(u32)
//!             path_len(u16) path      (integers big-endian)
//! ```
//!
//! A fixed nonce is safe because `meta_key` is used exactly once: every file
//! has a fresh random DEK and one metadata stanza.

use std::path::PathBuf;

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use super::FormatError;
use crate::secret::DataKey;
use crate::stream::{ChunkCipher, DefaultCipher, NONCE_LEN, TAG_LEN};

/// Longest relative path stored, in bytes (Linux's PATH_MAX).
pub const MAX_PATH_LEN: usize = 4096;
const FIXED_LEN: usize = 1 + 8 + 4 + 8 + 4 + 2;
/// Shortest valid sealed metadata stanza body.
pub const MIN_SEALED_LEN: usize = FIXED_LEN + TAG_LEN;
/// Longest valid sealed metadata stanza body.
pub const MAX_SEALED_LEN: usize = FIXED_LEN + MAX_PATH_LEN + TAG_LEN;

const FLAG_MODE: u8 = 0x01;
const FLAG_MTIME: u8 = 0x02;
const KNOWN_FLAGS: u8 = FLAG_MODE | FLAG_MTIME;
const INFO: &[u8] = b"shardlock/v1 metadata";

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
    fn encode(&self) -> Result<Zeroizing<Vec<u8>>, FormatError> {
        if self.path.len() > MAX_PATH_LEN {
            return Err(FormatError::TooLarge("path longer than 4096 bytes"));
        }
        let mut flags = 0;
        let (mut mode, mut secs, mut nanos) = (0u32, 0i64, 0u32);
        if let Some(m) = self.mode {
            flags |= FLAG_MODE;
            mode = m;
        }
        if let Some((s, n)) = self.mtime {
            if n >= 1_000_000_000 {
                return Err(FormatError::TooLarge("mtime nanoseconds"));
            }
            flags |= FLAG_MTIME;
            (secs, nanos) = (s, n);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(FIXED_LEN + self.path.len() + TAG_LEN));
        out.push(flags);
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&mode.to_be_bytes());
        out.extend_from_slice(&secs.to_be_bytes());
        out.extend_from_slice(&nanos.to_be_bytes());
        out.extend_from_slice(&(self.path.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.path);
        Ok(out)
    }

    fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
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
        })
    }

    /// Seals the metadata for the header's metadata stanza.
    pub fn seal(&self, dek: &DataKey) -> Result<Vec<u8>, FormatError> {
        let mut buf = self.encode()?;
        let tag = metadata_cipher(dek).seal(&[0; NONCE_LEN], &mut buf);
        let mut out = buf.to_vec();
        out.extend_from_slice(&tag);
        Ok(out)
    }

    /// Opens sealed metadata. Fails if it was not sealed under `dek` or was
    /// altered.
    pub fn open(sealed: &[u8], dek: &DataKey) -> Result<Self, FormatError> {
        let body_len = sealed
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(FormatError::Truncated)?;
        let mut buf = Zeroizing::new(sealed[..body_len].to_vec());
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&sealed[body_len..]);
        if !metadata_cipher(dek).open(&[0; NONCE_LEN], &mut buf, &tag) {
            return Err(FormatError::BadStanza {
                kind: "metadata".into(),
                reason: "failed authentication (tampered, or sealed under another key)",
            });
        }
        Self::decode(&buf)
    }

    /// The stored path as a relative [`PathBuf`], refusing anything that
    /// could escape the restore destination: absolute paths, `.` and `..`
    /// components, empty components, and NUL bytes. The metadata is
    /// authenticated, but it was written by whoever held the keyset, which
    /// is not necessarily whoever restores.
    pub fn relative_path(&self) -> Result<PathBuf, PathError> {
        if self.path.is_empty() {
            return Err(PathError::Empty);
        }
        let unsafe_path = || PathError::Unsafe(String::from_utf8_lossy(&self.path).into_owned());
        let mut out = PathBuf::new();
        for component in self.path.split(|&b| b == b'/') {
            if component.is_empty()
                || component == b"."
                || component == b".."
                || component.contains(&0)
            {
                return Err(unsafe_path());
            }
            out.push(os_str_from_bytes(component).ok_or_else(unsafe_path)?);
        }
        Ok(out)
    }
}

#[cfg(unix)]
fn os_str_from_bytes(bytes: &[u8]) -> Option<&std::ffi::OsStr> {
    use std::os::unix::ffi::OsStrExt;
    Some(std::ffi::OsStr::from_bytes(bytes))
}

#[cfg(not(unix))]
fn os_str_from_bytes(bytes: &[u8]) -> Option<&std::ffi::OsStr> {
    // Elsewhere only UTF-8 names without a Windows separator are safe.
    let s = std::str::from_utf8(bytes).ok()?;
    (!s.contains(['\\', ':'])).then(|| std::ffi::OsStr::new(s))
}

fn metadata_cipher(dek: &DataKey) -> DefaultCipher {
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(None, dek.expose())
        .expand(INFO, &mut key[..])
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA-256 output length"));
    DefaultCipher::new(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> FileMetadata {
        FileMetadata {
            path: "docs/résumé final.pdf".as_bytes().to_vec(),
            size: 123_456,
            mode: Some(0o640),
            mtime: Some((1_700_000_000, 123_456_789)),
        }
    }

    #[test]
    fn seal_open_round_trip() {
        let dek = DataKey::new([9; 32]);
        for meta in [sample(), FileMetadata::default()] {
            let sealed = meta.seal(&dek).unwrap();
            assert!(sealed.len() >= MIN_SEALED_LEN && sealed.len() <= MAX_SEALED_LEN);
            assert_eq!(FileMetadata::open(&sealed, &dek).unwrap(), meta);
        }
    }

    #[test]
    fn sealed_metadata_hides_the_path() {
        let sealed = sample().seal(&DataKey::new([9; 32])).unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"docs"));
    }

    #[test]
    fn wrong_key_or_any_flipped_bit_is_rejected() {
        let dek = DataKey::new([9; 32]);
        let sealed = sample().seal(&dek).unwrap();
        assert!(FileMetadata::open(&sealed, &DataKey::new([8; 32])).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x10;
            assert!(FileMetadata::open(&bad, &dek).is_err(), "byte {i}");
        }
        assert!(FileMetadata::open(&sealed[..10], &dek).is_err());
    }

    #[test]
    fn overlong_path_and_bad_nanos_are_refused_when_sealing() {
        let dek = DataKey::new([1; 32]);
        let long = FileMetadata {
            path: vec![b'a'; MAX_PATH_LEN + 1],
            ..Default::default()
        };
        assert!(long.seal(&dek).is_err());
        let nanos = FileMetadata {
            mtime: Some((0, 1_000_000_000)),
            ..Default::default()
        };
        assert!(nanos.seal(&dek).is_err());
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
