//! Keys from passphrases and small sealed records, shared by the server's
//! seal (docs/FORMAT.md section 7) and the client's recovery key (section
//! 2.3): argon2id (RFC 9106) and AES-256-GCM with a random nonce.

use rand::rngs::OsRng;
use rand::RngCore as _;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::secret::SecretBytes;

/// argon2id cost for passphrases: 64 MiB, 3 passes, 1 lane. RFC 9106
/// section 4 recommends 64 MiB and 3 passes where 2 GiB is too much; one
/// lane because the derivation runs once per use on one thread. The
/// parameters are stored in each record, so later versions can raise them.
pub const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// argon2id passes.
pub const ARGON2_PASSES: u32 = 3;
/// argon2id lanes.
pub const ARGON2_LANES: u32 = 1;

/// argon2id cost parameters, as stored in a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Argon2Cost {
    pub(crate) memory_kib: u32,
    pub(crate) passes: u32,
    pub(crate) lanes: u32,
}

impl Argon2Cost {
    /// The cost new records get.
    pub(crate) const DEFAULT: Argon2Cost = Argon2Cost {
        memory_kib: ARGON2_MEMORY_KIB,
        passes: ARGON2_PASSES,
        lanes: ARGON2_LANES,
    };
}

/// Argon2id version 0x13 with a 32-byte tag (RFC 9106 section 3). `secret`
/// and `data` are empty in use; the test vectors set them.
pub(crate) fn argon2id(
    password: &[u8],
    salt: &[u8],
    cost: Argon2Cost,
    secret: &[u8],
    data: &[u8],
) -> Option<SecretBytes<32>> {
    // Refuse absurd stored costs before allocating (at most 4 GiB).
    if cost.memory_kib > 4 * 1024 * 1024 || cost.passes > 64 || cost.lanes > 64 {
        return None;
    }
    let mut builder = argon2::ParamsBuilder::new();
    builder
        .m_cost(cost.memory_kib)
        .t_cost(cost.passes)
        .p_cost(cost.lanes)
        .output_len(32);
    if !data.is_empty() {
        builder.data(argon2::AssociatedData::new(data).ok()?);
    }
    let params = builder.build().ok()?;
    let hasher = if secret.is_empty() {
        argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
    } else {
        argon2::Argon2::new_with_secret(
            secret,
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            params,
        )
        .ok()?
    };
    let mut out = [0u8; 32];
    hasher.hash_password_into(password, salt, &mut out).ok()?;
    Some(SecretBytes::new(out))
}

fn aead_key(key: &[u8; 32]) -> LessSafeKey {
    // A 32-byte key is always valid for AES-256-GCM.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES-256-GCM key"))
}

/// nonce ‖ ciphertext ‖ tag, with a random 96-bit nonce: every key used
/// here seals at most a handful of records (one per installed keyset, or
/// one recovery key), far below the 2^32 messages a random nonce allows.
pub(crate) fn aead_seal(key: &[u8; 32], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut nonce = [0u8; NONCE_LEN];
    OsRng.fill_bytes(&mut nonce);
    let mut out = Vec::with_capacity(NONCE_LEN + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = aead_key(key)
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[NONCE_LEN..],
        )
        .expect("AES-GCM seals any record this small");
    out.extend_from_slice(tag.as_ref());
    out
}

pub(crate) fn aead_open(key: &[u8; 32], aad: &[u8], sealed: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if sealed.len() < NONCE_LEN + 16 {
        return None;
    }
    let (nonce, body) = sealed.split_at(NONCE_LEN);
    let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buf = Zeroizing::new(body.to_vec());
    let len = aead_key(key)
        .open_in_place(nonce, Aad::from(aad), &mut buf)
        .ok()?
        .len();
    buf.truncate(len);
    Some(buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encoding::hex;

    #[test]
    fn argon2id_matches_the_rfc_9106_test_vector() {
        // RFC 9106 section 5.3: Argon2id v0x13, 32 KiB, 3 passes, 4 lanes,
        // password 32 x 0x01, salt 16 x 0x02, secret 8 x 0x03, AD 12 x 0x04.
        let tag = argon2id(
            &[1; 32],
            &[2; 16],
            Argon2Cost {
                memory_kib: 32,
                passes: 3,
                lanes: 4,
            },
            &[3; 8],
            &[4; 12],
        )
        .unwrap();
        assert_eq!(
            hex(tag.expose()),
            "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
        );
    }

    #[test]
    fn sealed_records_open_only_with_their_key_and_associated_data() {
        let key = [7u8; 32];
        let sealed = aead_seal(&key, b"aad", b"secret");
        assert_eq!(
            aead_open(&key, b"aad", &sealed).unwrap().as_slice(),
            b"secret"
        );
        assert!(aead_open(&[8u8; 32], b"aad", &sealed).is_none());
        assert!(aead_open(&key, b"other", &sealed).is_none());
        assert!(aead_open(&key, b"aad", &sealed[..10]).is_none());
    }
}
