//! The index of a private tree (docs/FORMAT.md section 9.2): every path of
//! the source tree with its kind, mode, mtime, size and, for files, the
//! opaque object that holds it. Pure encoding and decoding; the index is
//! stored as the plaintext of an ordinary shardlock file, so only someone
//! who recovered its data key through `t` servers reads it.
//!
//! ```text
//! index  = magic("SLTREE01") tree_id(16) generation(u64) count(u64) entry*
//! entry  = kind(u8) mode(u32) mtime_s(i64) mtime_ns(u32) size(u64)
//!          object(16) header_sha256(32) path_len(u16) path
//! ```
//!
//! Integers are big-endian. Entries are sorted by path bytes, strictly
//! ascending (so no path appears twice in a canonical index); directories
//! carry zero size, object and hash. `header_sha256` is the SHA-256 of the
//! object's exact header bytes: it binds the entry to one object, so a
//! storage provider cannot swap two objects, or replace one with an older
//! version of itself, without the restore noticing.

use super::metadata::{relative_path, PathError, MAX_PATH_LEN};
use super::FormatError;

/// The first bytes of an index plaintext.
pub const INDEX_MAGIC: &[u8; 8] = b"SLTREE01";
/// Length of a tree id and of an object id.
pub const ID_LEN: usize = 16;
const PREFIX_LEN: usize = INDEX_MAGIC.len() + ID_LEN + 8 + 8;
const ENTRY_FIXED_LEN: usize = 1 + 4 + 8 + 4 + 8 + ID_LEN + 32 + 2;

const KIND_FILE: u8 = 1;
const KIND_DIR: u8 = 2;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file, stored in one object.
    File {
        /// The object's id (its name in the tree, hex-encoded).
        object: [u8; ID_LEN],
        /// SHA-256 of the object's header bytes.
        header_sha256: [u8; 32],
    },
    /// A directory (restored even when empty).
    Dir,
}

/// One path of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `/`-separated relative path, raw bytes.
    pub path: Vec<u8>,
    /// File or directory.
    pub kind: EntryKind,
    /// Unix permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Modification time (seconds since the epoch, nanoseconds).
    pub mtime: (i64, u32),
    /// Plaintext size in bytes (0 for directories).
    pub size: u64,
}

impl Entry {
    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.kind == EntryKind::Dir
    }
}

/// A decoded index.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeIndex {
    /// The tree's random id (also in the clear marker file).
    pub tree_id: [u8; ID_LEN],
    /// Incremented by every run that changed the tree.
    pub generation: u64,
    /// Entries, sorted by path.
    pub entries: Vec<Entry>,
}

fn bad(reason: &'static str) -> FormatError {
    FormatError::BadStanza {
        kind: "tree index".into(),
        reason,
    }
}

impl TreeIndex {
    /// Encodes the index; entries must already be sorted and unique.
    pub fn encode(&self) -> Result<Vec<u8>, FormatError> {
        let mut out = Vec::with_capacity(
            PREFIX_LEN
                + self
                    .entries
                    .iter()
                    .map(|e| ENTRY_FIXED_LEN + e.path.len())
                    .sum::<usize>(),
        );
        out.extend_from_slice(INDEX_MAGIC);
        out.extend_from_slice(&self.tree_id);
        out.extend_from_slice(&self.generation.to_be_bytes());
        out.extend_from_slice(&(self.entries.len() as u64).to_be_bytes());
        let mut previous: Option<&[u8]> = None;
        for entry in &self.entries {
            if entry.path.len() > MAX_PATH_LEN {
                return Err(FormatError::TooLarge("path longer than 4096 bytes"));
            }
            if previous.is_some_and(|p| p >= entry.path.as_slice()) {
                return Err(FormatError::TooLarge("index entries not sorted and unique"));
            }
            if entry.mtime.1 >= 1_000_000_000 {
                return Err(FormatError::TooLarge("mtime nanoseconds"));
            }
            previous = Some(&entry.path);
            encode_entry(entry, &mut out);
        }
        Ok(out)
    }

    /// Decodes an index, accepting only its canonical encoding: sorted,
    /// unique, safe relative paths, directories with zero size and object,
    /// nothing after the last entry.
    pub fn decode(bytes: &[u8]) -> Result<Self, FormatError> {
        let mut reader = Reader(bytes);
        if reader.take(INDEX_MAGIC.len())? != INDEX_MAGIC {
            return Err(bad("not a tree index (bad magic)"));
        }
        let tree_id = reader.array()?;
        let generation = reader.u64()?;
        let count = reader.u64()?;
        // Each entry takes at least ENTRY_FIXED_LEN bytes: a count that
        // cannot fit is refused before anything is allocated for it.
        if count > (reader.0.len() / ENTRY_FIXED_LEN) as u64 {
            return Err(bad("entry count exceeds the data"));
        }
        let mut entries: Vec<Entry> = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let entry = decode_entry(&mut reader)?;
            if entries.last().is_some_and(|p| p.path >= entry.path) {
                return Err(bad("entries are not sorted or a path appears twice"));
            }
            entries.push(entry);
        }
        if !reader.0.is_empty() {
            return Err(bad("trailing bytes after the last entry"));
        }
        Ok(Self {
            tree_id,
            generation,
            entries,
        })
    }
}

fn encode_entry(entry: &Entry, out: &mut Vec<u8>) {
    let (kind, object, hash) = match entry.kind {
        EntryKind::File {
            object,
            header_sha256,
        } => (KIND_FILE, object, header_sha256),
        EntryKind::Dir => (KIND_DIR, [0; ID_LEN], [0; 32]),
    };
    out.push(kind);
    out.extend_from_slice(&entry.mode.to_be_bytes());
    out.extend_from_slice(&entry.mtime.0.to_be_bytes());
    out.extend_from_slice(&entry.mtime.1.to_be_bytes());
    out.extend_from_slice(&entry.size.to_be_bytes());
    out.extend_from_slice(&object);
    out.extend_from_slice(&hash);
    out.extend_from_slice(&(entry.path.len() as u16).to_be_bytes());
    out.extend_from_slice(&entry.path);
}

fn decode_entry(reader: &mut Reader<'_>) -> Result<Entry, FormatError> {
    let kind = reader.take(1)?[0];
    let mode = reader.u32()?;
    let secs = reader.u64()? as i64;
    let nanos = reader.u32()?;
    let size = reader.u64()?;
    let object: [u8; ID_LEN] = reader.array()?;
    let header_sha256: [u8; 32] = reader.array()?;
    let path_len = usize::from(u16::from_be_bytes(reader.array()?));
    if path_len > MAX_PATH_LEN {
        return Err(bad("path longer than 4096 bytes"));
    }
    let path = reader.take(path_len)?.to_vec();
    if mode > 0o7777 {
        return Err(bad("mode has bits beyond 0o7777"));
    }
    if nanos >= 1_000_000_000 {
        return Err(bad("mtime nanoseconds out of range"));
    }
    if let Err(PathError::Empty | PathError::Unsafe(_)) = relative_path(&path) {
        return Err(bad("a path is empty or not a plain relative path"));
    }
    let kind = match kind {
        KIND_FILE => EntryKind::File {
            object,
            header_sha256,
        },
        KIND_DIR if size == 0 && object == [0; ID_LEN] && header_sha256 == [0; 32] => {
            EntryKind::Dir
        }
        KIND_DIR => return Err(bad("a directory entry carries a size or object")),
        _ => return Err(bad("unknown entry kind")),
    };
    Ok(Entry {
        path,
        kind,
        mode,
        mtime: (secs, nanos),
        size,
    })
}

/// A cursor over the index bytes; running past the end is "truncated".
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], FormatError> {
        if self.0.len() < n {
            return Err(bad("truncated"));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], FormatError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N)?);
        Ok(out)
    }

    fn u64(&mut self) -> Result<u64, FormatError> {
        Ok(u64::from_be_bytes(self.array()?))
    }

    fn u32(&mut self) -> Result<u32, FormatError> {
        Ok(u32::from_be_bytes(self.array()?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> TreeIndex {
        TreeIndex {
            tree_id: [7; ID_LEN],
            generation: 3,
            entries: vec![
                Entry {
                    path: b"docs".to_vec(),
                    kind: EntryKind::Dir,
                    mode: 0o755,
                    mtime: (1_700_000_000, 1),
                    size: 0,
                },
                Entry {
                    path: "docs/résumé.pdf".as_bytes().to_vec(),
                    kind: EntryKind::File {
                        object: [1; ID_LEN],
                        header_sha256: [2; 32],
                    },
                    mode: 0o640,
                    mtime: (-5, 999_999_999),
                    size: 12_345,
                },
            ],
        }
    }

    #[test]
    fn index_round_trips_byte_for_byte() {
        let index = sample();
        let bytes = index.encode().unwrap();
        assert_eq!(TreeIndex::decode(&bytes).unwrap(), index);
        let empty = TreeIndex::default();
        assert_eq!(TreeIndex::decode(&empty.encode().unwrap()).unwrap(), empty);
    }

    #[test]
    fn every_truncation_and_trailing_byte_is_refused() {
        let bytes = sample().encode().unwrap();
        for cut in 0..bytes.len() {
            assert!(TreeIndex::decode(&bytes[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(TreeIndex::decode(&long).is_err());
    }

    #[test]
    fn duplicate_unsorted_and_unsafe_paths_are_refused() {
        let mut dup = sample();
        dup.entries[1].path = b"docs".to_vec();
        assert!(dup.encode().is_err());
        // Encode by hand past the encoder's checks.
        let raw = |entries: &[Entry]| {
            let mut out = INDEX_MAGIC.to_vec();
            out.extend_from_slice(&[0; ID_LEN]);
            out.extend_from_slice(&0u64.to_be_bytes());
            out.extend_from_slice(&(entries.len() as u64).to_be_bytes());
            for e in entries {
                encode_entry(e, &mut out);
            }
            out
        };
        let entries = sample().entries;
        let twice = [entries[1].clone(), entries[1].clone()];
        assert!(TreeIndex::decode(&raw(&twice)).is_err());
        let reversed = [entries[1].clone(), entries[0].clone()];
        assert!(TreeIndex::decode(&raw(&reversed)).is_err());
        for path in [&b"../etc/passwd"[..], b"/abs", b"a//b", b""] {
            let mut e = entries[1].clone();
            e.path = path.to_vec();
            assert!(TreeIndex::decode(&raw(&[e])).is_err(), "{path:?}");
        }
        let mut setuid_beyond = entries[1].clone();
        setuid_beyond.mode = 0o10755;
        assert!(TreeIndex::decode(&raw(&[setuid_beyond])).is_err());
        let mut dir_with_size = entries[0].clone();
        dir_with_size.size = 1;
        assert!(TreeIndex::decode(&raw(&[dir_with_size])).is_err());
    }

    #[test]
    fn a_huge_entry_count_is_refused_before_allocating() {
        let mut bytes = TreeIndex::default().encode().unwrap();
        bytes[PREFIX_LEN - 8..PREFIX_LEN].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(TreeIndex::decode(&bytes).is_err());
    }
}
