//! The file header codec: pure functions from bytes to [`Header`] and back,
//! no I/O and no cryptography beyond what [`metadata`] seals. The exact byte
//! layout is specified in `docs/FORMAT.md`; keep the two in step.
//!
//! ```text
//! header   = magic(9) version(1) header_len(u32 BE) stanza*
//! stanza   = type(u8) body_len(u16 BE) body
//! ```
//!
//! `header_len` counts every header byte, preamble included, so a reader
//! knows how much to read before parsing and where the body starts. The
//! whole header is the chunked-encryption context of the body, so changing
//! any header byte (a stanza, even an unknown one) makes the body fail its
//! commitment check.

pub mod metadata;
pub mod padding;
pub mod tree_index;

use std::fmt;

/// "shardlock", the first bytes of every file.
pub const MAGIC: &[u8; 9] = b"shardlock";
/// The only format version this code reads and writes.
pub const VERSION: u8 = 1;
/// magic || version || header_len.
pub const PREAMBLE_LEN: usize = MAGIC.len() + 1 + 4;
/// Upper bound on the whole header. Parsing never allocates beyond it.
pub const MAX_HEADER_LEN: usize = 64 * 1024;
/// Upper bound on the number of stanzas.
pub const MAX_STANZAS: usize = 32;
/// Stanza types with this bit set are critical: a reader that does not know
/// one must refuse the file rather than skip it.
pub const CRITICAL_BIT: u8 = 0x80;

/// Stanza type of a threshold-KEM key wrap.
pub const STANZA_THRESHOLD: u8 = 0x01;
/// Stanza type of the sealed file metadata.
pub const STANZA_METADATA: u8 = 0x02;
/// Type of the recovery stanza (non-critical): the data key sealed to an
/// offline recovery key (docs/FORMAT.md section 2.3).
pub const STANZA_RECOVERY: u8 = 0x03;
/// Recovery key id length.
pub const RECOVERY_ID_LEN: usize = 8;
/// HPKE `enc || ciphertext` of the 32-byte data key.
pub const RECOVERY_SEALED_LEN: usize = 32 + 32 + 16;
/// Body length of a recovery stanza.
pub const RECOVERY_STANZA_LEN: usize = RECOVERY_ID_LEN + RECOVERY_SEALED_LEN;

/// Length of a keyset id (SHA-256).
pub const KEYSET_ID_LEN: usize = 32;
/// Length of an encoded ristretto255 element.
pub const ELEMENT_LEN: usize = 32;
/// A wrapped 32-byte data key plus its 16-byte GCM tag.
pub const WRAPPED_KEY_LEN: usize = 32 + 16;
/// Body length of a threshold stanza.
pub const THRESHOLD_STANZA_LEN: usize = KEYSET_ID_LEN + ELEMENT_LEN + WRAPPED_KEY_LEN;

/// Why a header was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// The file does not start with the magic bytes.
    #[error("not a shardlock file (bad magic bytes)")]
    NotShardlock,
    /// The version byte names a format this build does not know.
    #[error("unsupported shardlock format version {0}; upgrade shardlock to read this file")]
    UnsupportedVersion(u8),
    /// The input ends inside the header.
    #[error("the file header is truncated")]
    Truncated,
    /// The declared header length is below the preamble or above the limit.
    #[error("the file header declares an invalid length of {0} bytes")]
    BadHeaderLength(u64),
    /// A stanza is malformed.
    #[error("malformed {kind} stanza: {reason}")]
    BadStanza {
        /// Which stanza.
        kind: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Too many stanzas.
    #[error("the file header has more than {MAX_STANZAS} stanzas")]
    TooManyStanzas,
    /// A critical stanza this build cannot process.
    #[error("the file needs a newer shardlock (unknown critical stanza type {0:#04x})")]
    UnknownCriticalStanza(u8),
    /// No stanza can recover the data key.
    #[error("the file header has no key stanza")]
    NoKeyStanza,
    /// More than one metadata stanza.
    #[error("the file header has more than one metadata stanza")]
    DuplicateMetadata,
    /// Encoding a header that would break a limit.
    #[error("header too large to encode: {0}")]
    TooLarge(&'static str),
}

/// The threshold-KEM wrap of the data key (docs/DESIGN.md section 1): the
/// keyset it was made for, the ephemeral element `W = r·G`, and the data key
/// sealed under the KEK derived from `r·K`.
#[derive(Clone, PartialEq, Eq)]
pub struct ThresholdStanza {
    /// Which keyset (hash of its public parts) can unwrap this.
    pub keyset_id: [u8; KEYSET_ID_LEN],
    /// Encoded ristretto255 element `W`.
    pub ephemeral: [u8; ELEMENT_LEN],
    /// AES-256-GCM(KEK, nonce 0, DEK): 32 bytes + 16-byte tag.
    pub wrapped_key: [u8; WRAPPED_KEY_LEN],
}

impl fmt::Debug for ThresholdStanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThresholdStanza")
            .field("keyset_id", &crate::encoding::hex(&self.keyset_id))
            .finish_non_exhaustive()
    }
}

/// The data key sealed to an offline recovery key: which key, and the
/// HPKE output.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryStanza {
    /// The recovery key's id.
    pub key_id: [u8; RECOVERY_ID_LEN],
    /// HPKE `enc || ciphertext` of the data key.
    pub sealed: [u8; RECOVERY_SEALED_LEN],
}

impl fmt::Debug for RecoveryStanza {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecoveryStanza")
            .field("key_id", &crate::encoding::hex(&self.key_id))
            .finish_non_exhaustive()
    }
}

/// One typed header entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stanza {
    /// A threshold-KEM key wrap.
    Threshold(ThresholdStanza),
    /// The data key for an offline recovery key.
    Recovery(RecoveryStanza),
    /// File metadata sealed under a key derived from the data key.
    Metadata(Vec<u8>),
    /// A non-critical stanza from a newer writer, kept verbatim (it is part
    /// of the authenticated context) and otherwise ignored.
    Unknown {
        /// Its type byte (critical bit clear).
        kind: u8,
        /// Its body.
        body: Vec<u8>,
    },
}

impl Stanza {
    fn kind(&self) -> u8 {
        match self {
            Stanza::Threshold(_) => STANZA_THRESHOLD,
            Stanza::Recovery(_) => STANZA_RECOVERY,
            Stanza::Metadata(_) => STANZA_METADATA,
            Stanza::Unknown { kind, .. } => *kind,
        }
    }
}

/// A parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Stanzas in file order.
    pub stanzas: Vec<Stanza>,
}

impl Header {
    /// The threshold stanzas, in file order.
    pub fn threshold_stanzas(&self) -> impl Iterator<Item = &ThresholdStanza> {
        self.stanzas.iter().filter_map(|s| match s {
            Stanza::Threshold(t) => Some(t),
            _ => None,
        })
    }

    /// The recovery stanzas, in file order.
    pub fn recovery_stanzas(&self) -> impl Iterator<Item = &RecoveryStanza> {
        self.stanzas.iter().filter_map(|s| match s {
            Stanza::Recovery(r) => Some(r),
            _ => None,
        })
    }

    /// The sealed metadata, if the file has any.
    pub fn sealed_metadata(&self) -> Option<&[u8]> {
        self.stanzas.iter().find_map(|s| match s {
            Stanza::Metadata(m) => Some(m.as_slice()),
            _ => None,
        })
    }

    /// Serialises the header. Fails only if it would break a limit.
    pub fn to_bytes(&self) -> Result<Vec<u8>, FormatError> {
        self.validate()?;
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(MAGIC);
        out.push(VERSION);
        out.extend_from_slice(&[0; 4]); // patched below
        for stanza in &self.stanzas {
            let body: &[u8] = match stanza {
                Stanza::Threshold(t) => {
                    let start = out.len() + 3;
                    out.push(STANZA_THRESHOLD);
                    out.extend_from_slice(&(THRESHOLD_STANZA_LEN as u16).to_be_bytes());
                    out.extend_from_slice(&t.keyset_id);
                    out.extend_from_slice(&t.ephemeral);
                    out.extend_from_slice(&t.wrapped_key);
                    debug_assert_eq!(out.len() - start, THRESHOLD_STANZA_LEN);
                    continue;
                }
                Stanza::Recovery(r) => {
                    out.push(STANZA_RECOVERY);
                    out.extend_from_slice(&(RECOVERY_STANZA_LEN as u16).to_be_bytes());
                    out.extend_from_slice(&r.key_id);
                    out.extend_from_slice(&r.sealed);
                    continue;
                }
                Stanza::Metadata(body) => body,
                Stanza::Unknown { body, .. } => body,
            };
            let len =
                u16::try_from(body.len()).map_err(|_| FormatError::TooLarge("stanza body"))?;
            out.push(stanza.kind());
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(body);
        }
        if out.len() > MAX_HEADER_LEN {
            return Err(FormatError::TooLarge("header"));
        }
        let len = out.len() as u32;
        out[MAGIC.len() + 1..PREAMBLE_LEN].copy_from_slice(&len.to_be_bytes());
        Ok(out)
    }

    /// The rules every header must satisfy, whether parsed or built.
    fn validate(&self) -> Result<(), FormatError> {
        if self.stanzas.len() > MAX_STANZAS {
            return Err(FormatError::TooManyStanzas);
        }
        let mut metadata = 0;
        let mut keys = 0;
        for stanza in &self.stanzas {
            match stanza {
                Stanza::Threshold(_) => keys += 1,
                // Not a key stanza for the "at least one" rule: a file
                // must always open through a keyset.
                Stanza::Recovery(_) => {}
                Stanza::Metadata(_) => metadata += 1,
                Stanza::Unknown { kind, .. } => {
                    if kind & CRITICAL_BIT != 0
                        || *kind == STANZA_THRESHOLD
                        || *kind == STANZA_METADATA
                        || *kind == STANZA_RECOVERY
                    {
                        return Err(FormatError::UnknownCriticalStanza(*kind));
                    }
                }
            }
        }
        if metadata > 1 {
            return Err(FormatError::DuplicateMetadata);
        }
        if keys == 0 {
            return Err(FormatError::NoKeyStanza);
        }
        Ok(())
    }

    /// Parses a header from the start of `input` and returns it with its
    /// length in bytes (the body starts right after). Never panics, never
    /// allocates more than `input.len()`.
    pub fn parse(input: &[u8]) -> Result<(Header, usize), FormatError> {
        let len = header_len(input)?;
        let bytes = input.get(..len).ok_or(FormatError::Truncated)?;
        let mut rest = &bytes[PREAMBLE_LEN..];
        let mut stanzas = Vec::new();
        while !rest.is_empty() {
            if stanzas.len() == MAX_STANZAS {
                return Err(FormatError::TooManyStanzas);
            }
            let (&kind, after_kind) = rest.split_first().ok_or(FormatError::Truncated)?;
            let body_len = after_kind
                .get(..2)
                .map(|b| u16::from_be_bytes([b[0], b[1]]) as usize)
                .ok_or_else(|| bad(kind, "missing length"))?;
            let body = after_kind
                .get(2..2 + body_len)
                .ok_or_else(|| bad(kind, "body runs past the end of the header"))?;
            rest = &after_kind[2 + body_len..];
            stanzas.push(parse_stanza(kind, body)?);
        }
        let header = Header { stanzas };
        header.validate()?;
        Ok((header, len))
    }
}

/// Checks the preamble at the start of `input` (at least
/// [`PREAMBLE_LEN`] bytes) and returns the total header length it declares,
/// so a reader can fetch exactly that many bytes before parsing.
pub fn header_len(input: &[u8]) -> Result<usize, FormatError> {
    // A short input that agrees with the magic so far is a truncation;
    // anything else (an empty input included) is a foreign file.
    let Some(magic) = input.get(..MAGIC.len()) else {
        return Err(if !input.is_empty() && MAGIC.starts_with(input) {
            FormatError::Truncated
        } else {
            FormatError::NotShardlock
        });
    };
    if magic != MAGIC {
        return Err(FormatError::NotShardlock);
    }
    let version = *input.get(MAGIC.len()).ok_or(FormatError::Truncated)?;
    if version != VERSION {
        return Err(FormatError::UnsupportedVersion(version));
    }
    let len_bytes = input
        .get(MAGIC.len() + 1..PREAMBLE_LEN)
        .ok_or(FormatError::Truncated)?;
    let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
    if (len as usize) < PREAMBLE_LEN || len as usize > MAX_HEADER_LEN {
        return Err(FormatError::BadHeaderLength(len.into()));
    }
    Ok(len as usize)
}

fn bad(kind: u8, reason: &'static str) -> FormatError {
    let kind = match kind {
        STANZA_THRESHOLD => "threshold".to_string(),
        STANZA_METADATA => "metadata".to_string(),
        other => format!("type {other:#04x}"),
    };
    FormatError::BadStanza { kind, reason }
}

fn parse_stanza(kind: u8, body: &[u8]) -> Result<Stanza, FormatError> {
    match kind {
        STANZA_THRESHOLD => {
            if body.len() != THRESHOLD_STANZA_LEN {
                return Err(bad(kind, "wrong length"));
            }
            let mut t = ThresholdStanza {
                keyset_id: [0; KEYSET_ID_LEN],
                ephemeral: [0; ELEMENT_LEN],
                wrapped_key: [0; WRAPPED_KEY_LEN],
            };
            let (id, rest) = body.split_at(KEYSET_ID_LEN);
            let (w, wrapped) = rest.split_at(ELEMENT_LEN);
            t.keyset_id.copy_from_slice(id);
            t.ephemeral.copy_from_slice(w);
            t.wrapped_key.copy_from_slice(wrapped);
            Ok(Stanza::Threshold(t))
        }
        STANZA_RECOVERY => {
            if body.len() != RECOVERY_STANZA_LEN {
                return Err(bad(kind, "wrong length"));
            }
            let mut r = RecoveryStanza {
                key_id: [0; RECOVERY_ID_LEN],
                sealed: [0; RECOVERY_SEALED_LEN],
            };
            r.key_id.copy_from_slice(&body[..RECOVERY_ID_LEN]);
            r.sealed.copy_from_slice(&body[RECOVERY_ID_LEN..]);
            Ok(Stanza::Recovery(r))
        }
        STANZA_METADATA => {
            if body.len() < metadata::MIN_SEALED_LEN || body.len() > metadata::MAX_SEALED_LEN {
                return Err(bad(kind, "wrong length"));
            }
            Ok(Stanza::Metadata(body.to_vec()))
        }
        k if k & CRITICAL_BIT != 0 => Err(FormatError::UnknownCriticalStanza(k)),
        k => Ok(Stanza::Unknown {
            kind: k,
            body: body.to_vec(),
        }),
    }
}

#[cfg(test)]
mod tests;
