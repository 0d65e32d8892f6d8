//! Sealing file metadata into the header (docs/DESIGN.md "File format"):
//! the plaintext layout is [`crate::format::metadata`]'s, the key is derived
//! from the file's data key, so only someone who recovered the DEK through
//! `t` servers learns the path, size, mode and mtime.
//!
//! ```text
//! meta_key = HKDF-SHA-256(salt = "", ikm = DEK, info = "shardlock/v1 metadata")
//! sealed   = AES-256-GCM(meta_key, nonce = 0^12, aad = "", plaintext) || tag
//! ```
//!
//! A fixed nonce is safe because `meta_key` is used exactly once: every file
//! has a fresh random DEK and one metadata stanza.

use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::format::metadata::{FileMetadata, SEAL_TAG_LEN};
use crate::format::FormatError;
use crate::secret::DataKey;
use crate::stream::{ChunkCipher, DefaultCipher, NONCE_LEN, TAG_LEN};

const INFO: &[u8] = b"shardlock/v1 metadata";

// The format reserves exactly one AEAD tag after the plaintext.
const _: () = assert!(SEAL_TAG_LEN == TAG_LEN);

/// Seals `metadata` for the header's metadata stanza.
pub fn seal(metadata: &FileMetadata, dek: &DataKey) -> Result<Vec<u8>, FormatError> {
    let mut buf = metadata.encode()?;
    let tag = metadata_cipher(dek).seal(&[0; NONCE_LEN], &mut buf);
    let mut out = buf.to_vec();
    out.extend_from_slice(&tag);
    Ok(out)
}

/// Opens sealed metadata. Fails if it was not sealed under `dek` or was
/// altered.
pub fn open(sealed: &[u8], dek: &DataKey) -> Result<FileMetadata, FormatError> {
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
    FileMetadata::decode(&buf)
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
    use crate::format::metadata::{MAX_SEALED_LEN, MIN_SEALED_LEN};

    fn sample() -> FileMetadata {
        crate::format::metadata::tests::sample()
    }

    #[test]
    fn seal_open_round_trip() {
        let dek = DataKey::new([9; 32]);
        for meta in [sample(), FileMetadata::default()] {
            let sealed = seal(&meta, &dek).unwrap();
            assert!(sealed.len() >= MIN_SEALED_LEN && sealed.len() <= MAX_SEALED_LEN);
            assert_eq!(open(&sealed, &dek).unwrap(), meta);
        }
    }

    #[test]
    fn sealed_metadata_hides_the_path() {
        let sealed = seal(&sample(), &DataKey::new([9; 32])).unwrap();
        assert!(!sealed.windows(4).any(|w| w == b"docs"));
    }

    #[test]
    fn wrong_key_or_any_flipped_bit_is_rejected() {
        let dek = DataKey::new([9; 32]);
        let sealed = seal(&sample(), &dek).unwrap();
        assert!(open(&sealed, &DataKey::new([8; 32])).is_err());
        for i in 0..sealed.len() {
            let mut bad = sealed.clone();
            bad[i] ^= 0x10;
            assert!(open(&bad, &dek).is_err(), "byte {i}");
        }
        assert!(open(&sealed[..10], &dek).is_err());
    }
}
