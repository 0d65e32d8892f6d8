//! The ristretto255 group (RFC 9496) as used by the whole threshold module:
//! canonical encoding and decoding of elements and scalars, the module's
//! error type, and [`SecretScalar`], the only type that holds secret scalars.
//!
//! docs/DESIGN.md section 1: every element or scalar received from outside is
//! decoded canonically; the identity element and non-canonical encodings are
//! rejected. The functions here are the single place where that happens.

use std::fmt;

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use rand::{CryptoRng, RngCore};
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::secret::SecretBytes;

/// Length of an encoded ristretto255 element (RFC 9496 section 4.3.2).
pub const ELEMENT_LEN: usize = 32;
/// Length of an encoded scalar: little-endian, fully reduced mod the group
/// order ℓ (RFC 9497 section 4.1, `SerializeScalar`).
pub const SCALAR_LEN: usize = 32;

/// Everything that can go wrong in the threshold module.
///
/// Variants name what is wrong with the *input*; none of them carries secret
/// material, so they are safe to log and to show to users.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An encoded element had the wrong length.
    #[error("group element must be {ELEMENT_LEN} bytes, got {0}")]
    ElementLength(usize),
    /// Bytes that are not the canonical RFC 9496 encoding of any element.
    #[error("invalid group element: not a canonical ristretto255 encoding")]
    InvalidElement,
    /// The identity element, which RFC 9497 section 3.3 forbids as input.
    #[error("group element is the identity, which is never a valid input")]
    IdentityElement,
    /// An encoded scalar had the wrong length.
    #[error("scalar must be {SCALAR_LEN} bytes, got {0}")]
    ScalarLength(usize),
    /// A scalar encoding that is not fully reduced mod the group order.
    #[error("invalid scalar: encoding is not canonical (must be below the group order)")]
    InvalidScalar,
    /// A zero scalar where a non-zero one is required (keys, blinds).
    #[error("scalar is zero, which is not allowed here")]
    ZeroScalar,
    /// An encoded DLEQ proof had the wrong length.
    #[error("proof must be 64 bytes, got {0}")]
    ProofLength(usize),
    /// A DLEQ proof that does not verify: the server's answer is wrong.
    #[error("proof does not verify: the evaluation was not made with the expected key")]
    InvalidProof,
    /// A threshold outside `1..=n`.
    #[error(
        "threshold {threshold} is invalid for {participants} participants \
         (need 1 <= threshold <= participants)"
    )]
    BadThreshold {
        /// The threshold that was asked for.
        threshold: u16,
        /// The number of participants available.
        participants: usize,
    },
    /// The same participant id twice in one set.
    #[error("participant id {0} appears more than once")]
    DuplicateParticipant(u16),
    /// Participant id 0, which would reveal the secret (it is f(0)).
    #[error("participant id 0 is not allowed (ids are evaluation points and must be non-zero)")]
    ParticipantIdZero,
    /// A participant id that is not in the set it should belong to.
    #[error("participant id {0} is not in the participant set")]
    UnknownParticipant(u16),
    /// No shares or points at all were given.
    #[error("no shares given; at least one is required")]
    NoShares,
    /// Public shares that do not lie on one polynomial through the group key.
    #[error("public shares are inconsistent with the group key")]
    InconsistentShares,
    /// Two lists that must pair up element by element differ in length.
    #[error("length mismatch: {left} versus {right} items")]
    LengthMismatch {
        /// Length of the first list.
        left: usize,
        /// Length of the second list.
        right: usize,
    },
    /// An empty batch (RFC 9497 proofs are over non-empty lists).
    #[error("batch is empty; at least one element is required")]
    EmptyBatch,
    /// A batch longer than the 2-byte index in the RFC 9497 transcript allows.
    #[error("batch of {0} elements is too large (at most 65536)")]
    BatchTooLarge(usize),
    /// A PRF input or key info longer than its 2-byte length prefix allows.
    #[error("input of {0} bytes is too long (at most 65535)")]
    InputTooLong(usize),
    /// A PRF input that hashes to the identity (RFC 9497 `InvalidInputError`).
    #[error("input maps to the identity element and cannot be evaluated")]
    InvalidInput,
    /// `DeriveKeyPair` found no non-zero scalar in 256 tries (RFC 9497 3.2.1).
    #[error("key derivation failed: no non-zero scalar in 256 attempts")]
    DeriveKeyPair,
    /// `expand_message_xmd` length limits (RFC 9380 section 5.3.1).
    #[error("expand_message_xmd: invalid output length {0}")]
    ExpandLength(usize),
    /// A domain separation tag longer than 255 bytes (RFC 9380 section 5.3.1).
    #[error("domain separation tag of {0} bytes is too long (at most 255)")]
    DstTooLong(usize),
}

/// Decodes a group element received from outside: exactly 32 bytes, the
/// canonical RFC 9496 section 4.3.1 encoding, and not the identity.
///
/// `CompressedRistretto::decompress` performs the full RFC 9496 validation
/// (canonical field encoding, non-negative `s`, square `x^2`, non-negative
/// `t`, non-zero `y`), so every invalid encoding of Appendix A.2 fails here.
pub fn decode_element(bytes: &[u8]) -> Result<RistrettoPoint, Error> {
    let array: [u8; ELEMENT_LEN] = bytes
        .try_into()
        .map_err(|_| Error::ElementLength(bytes.len()))?;
    let point = CompressedRistretto(array)
        .decompress()
        .ok_or(Error::InvalidElement)?;
    if point.is_identity() {
        return Err(Error::IdentityElement);
    }
    Ok(point)
}

/// Encodes an element (RFC 9496 section 4.3.2). Equal elements always
/// encode to the same bytes.
pub fn encode_element(point: &RistrettoPoint) -> [u8; ELEMENT_LEN] {
    point.compress().to_bytes()
}

/// Decodes a scalar that must be non-zero (keys, shares, blinds): exactly
/// 32 bytes, canonical (strictly below ℓ, so the top bits are clear).
pub fn decode_scalar(bytes: &[u8]) -> Result<Scalar, Error> {
    let scalar = decode_scalar_allow_zero(bytes)?;
    if scalar == Scalar::ZERO {
        return Err(Error::ZeroScalar);
    }
    Ok(scalar)
}

/// Decodes a canonical scalar that may be zero. Used for the proof scalars
/// `c` and `s` (RFC 9497 section 2.2), which are public values that are zero
/// with negligible but non-zero probability; a canonical encoding is still
/// required so each proof has exactly one encoding.
pub fn decode_scalar_allow_zero(bytes: &[u8]) -> Result<Scalar, Error> {
    let array: [u8; SCALAR_LEN] = bytes
        .try_into()
        .map_err(|_| Error::ScalarLength(bytes.len()))?;
    Option::<Scalar>::from(Scalar::from_canonical_bytes(array)).ok_or(Error::InvalidScalar)
}

/// Encodes a scalar (32 bytes little-endian, RFC 9497 `SerializeScalar`).
pub fn encode_scalar(scalar: &Scalar) -> [u8; SCALAR_LEN] {
    scalar.to_bytes()
}

/// A uniformly random scalar, zero included: 64 random bytes reduced mod ℓ
/// (RFC 9497 section 4.7), so the bias is below 2^-250.
pub fn random_scalar<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(wide.as_mut());
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// A uniformly random non-zero scalar (RFC 9497 `RandomScalar`, section
/// 4.7: rejecting zero keeps the distribution uniform on the rest).
pub fn random_nonzero_scalar<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    loop {
        // Zero occurs with probability ~2^-252; retry on it.
        let scalar = random_scalar(rng);
        if scalar != Scalar::ZERO {
            return scalar;
        }
    }
}

/// `scalar·G` for the ristretto255 generator, constant time.
pub fn mul_base(scalar: &Scalar) -> RistrettoPoint {
    RISTRETTO_BASEPOINT_TABLE * scalar
}

/// A secret scalar (a key, a key share, a blind). Zeroized on drop, printed
/// as `[redacted]`, compared in constant time, and deliberately without
/// `Display` or `Copy` so it is not duplicated or printed by accident.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretScalar(Scalar);

impl SecretScalar {
    /// Wraps a scalar. The caller should zeroize its own copy if it keeps one.
    pub fn new(scalar: Scalar) -> Self {
        Self(scalar)
    }

    /// A fresh uniformly random non-zero secret scalar.
    pub fn random<R: RngCore + CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(random_nonzero_scalar(rng))
    }

    /// Decodes a secret scalar: canonical and non-zero (see [`decode_scalar`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        decode_scalar(bytes).map(Self)
    }

    /// The canonical 32-byte encoding, in a container that zeroizes itself.
    pub fn to_bytes(&self) -> SecretBytes<SCALAR_LEN> {
        SecretBytes::new(self.0.to_bytes())
    }

    /// The scalar itself. Keep the borrow short-lived and do not copy it out.
    pub fn expose(&self) -> &Scalar {
        &self.0
    }

    /// The public element `self·G`.
    pub fn public(&self) -> RistrettoPoint {
        mul_base(&self.0)
    }

    /// Whether the scalar is zero, in constant time.
    pub fn is_zero(&self) -> bool {
        self.0.ct_eq(&Scalar::ZERO).into()
    }
}

impl fmt::Debug for SecretScalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl PartialEq for SecretScalar {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for SecretScalar {}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
    use curve25519_dalek::traits::Identity;

    /// RFC 9496 Appendix A.1: encodings of 0·G .. 15·G.
    const MULTIPLES_OF_G: [&str; 16] = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
        "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
        "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
        "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
        "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
        "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
        "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
        "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
        "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
        "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
        "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
        "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
        "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
        "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
        "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
    ];

    /// RFC 9496 Appendix A.2: encodings that MUST be rejected.
    const INVALID_ENCODINGS: [&str; 29] = [
        // Non-canonical field encodings.
        "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
        "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        // Negative field elements.
        "0100000000000000000000000000000000000000000000000000000000000000",
        "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
        "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
        "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
        "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
        "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
        "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
        // Non-square x^2.
        "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
        "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
        "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
        "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
        "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
        "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
        "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
        "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
        // Negative xy value.
        "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
        "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
        "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
        "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
        "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
        "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
        "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
        "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
        // s = -1, which causes y = 0.
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];

    /// ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
    const GROUP_ORDER_LE: &str = "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010";

    #[test]
    fn rfc9496_multiples_of_generator_round_trip() {
        let mut expected = RistrettoPoint::identity();
        for (i, hex_str) in MULTIPLES_OF_G.iter().enumerate() {
            let bytes = hex::decode(hex_str).unwrap();
            assert_eq!(encode_element(&expected), bytes.as_slice(), "{i}·G");
            if i == 0 {
                assert_eq!(decode_element(&bytes), Err(Error::IdentityElement));
            } else {
                let decoded = decode_element(&bytes).unwrap();
                assert_eq!(decoded, expected, "{i}·G");
                assert_eq!(encode_element(&decoded), bytes.as_slice());
                assert_eq!(decoded, mul_base(&Scalar::from(i as u64)));
            }
            expected += RISTRETTO_BASEPOINT_POINT;
        }
    }

    #[test]
    fn rfc9496_invalid_encodings_are_rejected() {
        for hex_str in INVALID_ENCODINGS {
            let bytes = hex::decode(hex_str).unwrap();
            assert_eq!(
                decode_element(&bytes),
                Err(Error::InvalidElement),
                "{hex_str} must be rejected"
            );
        }
    }

    #[test]
    fn identity_is_rejected() {
        assert_eq!(decode_element(&[0u8; 32]), Err(Error::IdentityElement));
    }

    #[test]
    fn wrong_element_lengths_are_rejected() {
        assert_eq!(decode_element(&[]), Err(Error::ElementLength(0)));
        let g = encode_element(&RISTRETTO_BASEPOINT_POINT);
        assert_eq!(decode_element(&g[..31]), Err(Error::ElementLength(31)));
        let mut long = g.to_vec();
        long.push(0);
        assert_eq!(decode_element(&long), Err(Error::ElementLength(33)));
    }

    #[test]
    fn non_canonical_scalars_are_rejected() {
        let order = hex::decode(GROUP_ORDER_LE).unwrap();
        assert_eq!(decode_scalar(&order), Err(Error::InvalidScalar));
        assert_eq!(decode_scalar_allow_zero(&order), Err(Error::InvalidScalar));

        // ℓ + 1 and 2^255 - 1 (all bits set except the top one).
        let mut order_plus_one = order.clone();
        order_plus_one[0] += 1;
        assert_eq!(decode_scalar(&order_plus_one), Err(Error::InvalidScalar));
        let mut max = [0xffu8; 32];
        max[31] = 0x7f;
        assert_eq!(decode_scalar(&max), Err(Error::InvalidScalar));
        assert_eq!(decode_scalar(&[0xff; 32]), Err(Error::InvalidScalar));

        // ℓ - 1 is the largest canonical scalar.
        let mut order_minus_one = order;
        order_minus_one[0] -= 1;
        assert_eq!(decode_scalar(&order_minus_one).unwrap(), -Scalar::ONE);
    }

    #[test]
    fn zero_scalar_rejected_unless_allowed() {
        assert_eq!(decode_scalar(&[0u8; 32]), Err(Error::ZeroScalar));
        assert_eq!(SecretScalar::from_bytes(&[0u8; 32]), Err(Error::ZeroScalar));
        assert_eq!(decode_scalar_allow_zero(&[0u8; 32]), Ok(Scalar::ZERO));
    }

    #[test]
    fn wrong_scalar_lengths_are_rejected() {
        assert_eq!(decode_scalar(&[1u8; 31]), Err(Error::ScalarLength(31)));
        assert_eq!(decode_scalar(&[1u8; 33]), Err(Error::ScalarLength(33)));
    }

    #[test]
    fn scalar_round_trip() {
        let mut rng = rand::thread_rng();
        for _ in 0..32 {
            let s = random_nonzero_scalar(&mut rng);
            assert_ne!(s, Scalar::ZERO);
            assert_eq!(decode_scalar(&encode_scalar(&s)).unwrap(), s);
        }
    }

    #[test]
    fn secret_scalar_is_redacted_and_compares_by_value() {
        let mut rng = rand::thread_rng();
        let a = SecretScalar::random(&mut rng);
        let b = SecretScalar::new(*a.expose());
        assert_eq!(a, b);
        assert_ne!(a, SecretScalar::random(&mut rng));
        assert_eq!(format!("{a:?}"), "[redacted]");
        assert!(!a.is_zero());
        assert!(SecretScalar::new(Scalar::ZERO).is_zero());
        let bytes = a.to_bytes();
        assert_eq!(SecretScalar::from_bytes(bytes.expose()).unwrap(), a);
        assert_eq!(a.public(), mul_base(a.expose()));
    }
}
