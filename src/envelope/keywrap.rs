//! Wrapping a file's data key under a threshold keyset, and unwrapping it
//! with the servers' help: the KEM of [`crate::threshold::kem`] gives the
//! shared secret `Z`, this module turns it into a single-use key-encryption
//! key and the header's threshold stanza (docs/DESIGN.md section 1).
//!
//! ```text
//! KEK     = HKDF-SHA-256(ikm = Z, salt = keyset id, info = "shardlock/v1 kek" || W || K)
//! wrapped = AES-256-GCM(KEK, nonce 0, DEK)
//! ```

use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::encoding::hex;
use crate::format::ThresholdStanza;
use crate::secret::DataKey;
use crate::stream::{ChunkCipher, DefaultCipher, NONCE_LEN, TAG_LEN};
use crate::threshold::kem::{
    decapsulate_batch, encapsulate, KemError, KeyService, ParticipantFault, PublicKeyset,
    SharedSecret,
};

/// HKDF info prefix of the KEK (docs/DESIGN.md section 1).
const KEK_LABEL: &[u8] = b"shardlock/v1 kek";

/// Why a data key could not be recovered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnwrapError {
    /// The file was wrapped for another keyset.
    #[error("the file was encrypted for keyset {0}, not this one")]
    WrongKeyset(String),
    /// The KEM could not recompute the shared secret: a corrupt `W`, or
    /// too few honest servers.
    #[error(transparent)]
    Kem(#[from] KemError),
    /// The recombined KEK does not open the wrapped key.
    #[error("the file's wrapped key failed authentication (corrupt or tampered header)")]
    UnwrapFailed,
}

impl UnwrapError {
    /// Whether too few servers answered: the whole batch failed, and
    /// retrying later may help (unlike a corrupt file).
    pub fn is_not_enough_servers(&self) -> bool {
        matches!(self, UnwrapError::Kem(KemError::NotEnoughServers { .. }))
    }
}

/// Data keys recovered for a batch of files.
#[derive(Debug)]
pub struct Unwrapped {
    /// One entry per input stanza, in order.
    pub keys: Vec<Result<DataKey, UnwrapError>>,
    /// Servers that failed along the way although enough others answered.
    pub faults: Vec<ParticipantFault>,
}

/// Wraps `dek` for `keyset` into a threshold stanza. Needs no server.
pub fn wrap<R: RngCore + CryptoRng>(
    keyset: &PublicKeyset,
    dek: &DataKey,
    rng: &mut R,
) -> ThresholdStanza {
    let encapsulation = encapsulate(keyset, rng);
    let mut buf = Zeroizing::new([0u8; 32 + TAG_LEN]);
    buf[..32].copy_from_slice(dek.expose());
    // Nonce 0 is safe: the KEK is derived from a fresh r and used once.
    let tag = kek(keyset, &encapsulation.ephemeral, &encapsulation.secret)
        .seal(&[0; NONCE_LEN], &mut buf[..32]);
    buf[32..].copy_from_slice(&tag);
    ThresholdStanza {
        keyset_id: *keyset.id(),
        ephemeral: encapsulation.ephemeral,
        wrapped_key: *buf,
    }
}

/// Recovers the data keys of many files with as few server requests as
/// possible. Per-file problems (another keyset, a corrupt stanza) fail only
/// that file; too few honest servers fails the whole call.
pub fn unwrap_batch<S: KeyService + ?Sized, R: RngCore + CryptoRng>(
    keyset: &PublicKeyset,
    service: &S,
    stanzas: &[&ThresholdStanza],
    rng: &mut R,
) -> Result<Unwrapped, UnwrapError> {
    // Stanzas for another keyset never reach a server.
    let (ours, ephemerals): (Vec<usize>, Vec<[u8; 32]>) = stanzas
        .iter()
        .enumerate()
        .filter(|(_, s)| &s.keyset_id == keyset.id())
        .map(|(index, s)| (index, s.ephemeral))
        .unzip();
    let decapsulation = decapsulate_batch(keyset, service, &ephemerals, rng)?;
    let mut keys: Vec<Result<DataKey, UnwrapError>> = stanzas
        .iter()
        .map(|s| Err(UnwrapError::WrongKeyset(hex(&s.keyset_id))))
        .collect();
    for (index, secret) in ours.into_iter().zip(decapsulation.secrets) {
        keys[index] = secret
            .map_err(UnwrapError::from)
            .and_then(|z| open_wrapped(keyset, stanzas[index], &z));
    }
    Ok(Unwrapped {
        keys,
        faults: decapsulation.faults,
    })
}

/// Recovers one data key (a batch of one).
pub fn unwrap<S: KeyService + ?Sized, R: RngCore + CryptoRng>(
    keyset: &PublicKeyset,
    service: &S,
    stanza: &ThresholdStanza,
    rng: &mut R,
) -> Result<(DataKey, Vec<ParticipantFault>), UnwrapError> {
    let mut result = unwrap_batch(keyset, service, &[stanza], rng)?;
    let key = result
        .keys
        .pop()
        .unwrap_or(Err(UnwrapError::UnwrapFailed))?;
    Ok((key, result.faults))
}

/// KEK = HKDF-SHA-256(ikm = Z, salt = keyset id, info = label || W || K).
fn kek(keyset: &PublicKeyset, w: &[u8; 32], z: &SharedSecret) -> DefaultCipher {
    let mut info = Vec::with_capacity(KEK_LABEL.len() + 64);
    info.extend_from_slice(KEK_LABEL);
    info.extend_from_slice(w);
    info.extend_from_slice(keyset.group_key_bytes());
    let mut key = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(keyset.id()), z.expose())
        .expand(&info, &mut key[..])
        .unwrap_or_else(|_| unreachable!("32 bytes is a valid HKDF-SHA-256 output length"));
    DefaultCipher::new(&key)
}

fn open_wrapped(
    keyset: &PublicKeyset,
    stanza: &ThresholdStanza,
    z: &SharedSecret,
) -> Result<DataKey, UnwrapError> {
    let mut buf = Zeroizing::new([0u8; 32]);
    buf.copy_from_slice(&stanza.wrapped_key[..32]);
    let mut tag = [0u8; TAG_LEN];
    tag.copy_from_slice(&stanza.wrapped_key[32..]);
    if kek(keyset, &stanza.ephemeral, z).open(&[0; NONCE_LEN], &mut buf[..], &tag) {
        Ok(DataKey::new(*buf))
    } else {
        Err(UnwrapError::UnwrapFailed)
    }
}

#[cfg(test)]
mod tests {
    use rand::rngs::OsRng;

    use super::*;
    use crate::threshold::kem::deal;
    use crate::threshold::local::LocalKeyService;

    fn dek(seed: u8) -> DataKey {
        DataKey::new([seed; 32])
    }

    #[test]
    fn wrapped_keys_round_trip_for_several_thresholds() {
        for (t, n) in [(1, 1), (2, 3), (3, 5)] {
            let ids: Vec<u16> = (1..=n).collect();
            let (keyset, shares) = deal(t, &ids, &mut OsRng).unwrap();
            let stanza = wrap(&keyset, &dek(7), &mut OsRng);
            assert_eq!(stanza.keyset_id, *keyset.id());
            let service = LocalKeyService::new(shares);
            let (key, faults) = unwrap(&keyset, &service, &stanza, &mut OsRng).unwrap();
            assert_eq!(key, dek(7), "{t}-of-{n}");
            assert!(faults.is_empty());
        }
    }

    #[test]
    fn wrapping_is_randomised() {
        let (keyset, _) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let a = wrap(&keyset, &dek(1), &mut OsRng);
        let b = wrap(&keyset, &dek(1), &mut OsRng);
        assert_ne!(a.ephemeral, b.ephemeral);
        assert_ne!(a.wrapped_key, b.wrapped_key);
    }

    #[test]
    fn per_file_problems_fail_only_that_file() {
        let (keyset, shares) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let (other_keyset, _) = deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let good = wrap(&keyset, &dek(1), &mut OsRng);
        let foreign = wrap(&other_keyset, &dek(2), &mut OsRng);
        let mut identity = wrap(&keyset, &dek(3), &mut OsRng);
        identity.ephemeral = [0; 32];
        let mut non_canonical = wrap(&keyset, &dek(4), &mut OsRng);
        non_canonical.ephemeral = [0xff; 32];
        let mut tampered = wrap(&keyset, &dek(5), &mut OsRng);
        tampered.wrapped_key[40] ^= 1;
        let mut swapped_w = wrap(&keyset, &dek(6), &mut OsRng);
        swapped_w.ephemeral = good.ephemeral;

        let service = LocalKeyService::new(shares);
        let all = [
            &good,
            &foreign,
            &identity,
            &non_canonical,
            &tampered,
            &swapped_w,
        ];
        let result = unwrap_batch(&keyset, &service, &all, &mut OsRng).unwrap();
        assert_eq!(result.keys[0].as_ref().unwrap(), &dek(1));
        assert!(matches!(result.keys[1], Err(UnwrapError::WrongKeyset(_))));
        for corrupt in [2, 3] {
            assert_eq!(
                result.keys[corrupt].as_ref().unwrap_err(),
                &UnwrapError::Kem(KemError::InvalidEphemeral)
            );
        }
        for tampered in [4, 5] {
            assert_eq!(
                result.keys[tampered].as_ref().unwrap_err(),
                &UnwrapError::UnwrapFailed
            );
        }
    }

    #[test]
    fn too_few_servers_fails_the_whole_batch() {
        let (keyset, shares) = deal(3, &[1, 2, 3, 4, 5], &mut OsRng).unwrap();
        let stanza = wrap(&keyset, &dek(9), &mut OsRng);
        let service = LocalKeyService::new(shares.into_iter().take(2).collect());
        let err = unwrap(&keyset, &service, &stanza, &mut OsRng).unwrap_err();
        assert!(err.is_not_enough_servers(), "{err:?}");
        assert!(err.to_string().contains("fewer than 3 key-share servers"));
    }
}
