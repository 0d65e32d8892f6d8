//! A key-share server's long-term identity: an Ed25519 signing key and an
//! X25519 key for HPKE (RFC 9180), so one server can hand another a secret
//! through a client it does not trust.
//!
//! The client relays; it must neither read nor alter what it carries. The
//! sender therefore seals the secret to the recipient's X25519 key (only
//! the recipient opens it) and signs what it sends with its Ed25519 key
//! (the recipient knows who sealed it, and that the client changed
//! nothing). Two keys rather than one converted key: an Ed25519 key reused
//! for X25519 ties signature and encryption security together for no gain.
//!
//! Operators pin a peer by its [`IdentityPublic::fingerprint`], a hash of
//! both public keys under a domain-separation label, as they pin TLS
//! certificates today.

use crate::hpke;

use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::encoding::{b64, hex, unb64};

/// Prefix of the secret's text form, so a stray identity file is
/// recognisable and a future format can change the number.
const SECRET_PREFIX: &str = "shardlock-identity-v1:";
/// Domain-separation label of [`IdentityPublic::fingerprint`].
const FINGERPRINT_LABEL: &[u8] = b"shardlock/v1 server identity";
/// Length of [`IdentityPublic::to_bytes`]: Ed25519 key ‖ X25519 key.
pub const PUBLIC_LEN: usize = 64;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// Why an identity could not be parsed, or a signature or sealed message
/// was refused. Shown to operators; never carries key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum IdentityError {
    /// Wrong prefix, length or encoding, or not a curve point.
    #[error("not a valid server identity")]
    Malformed,
    /// A well-formed key of small order: it would let anyone forge
    /// signatures or read what is sealed to it.
    #[error("not a valid server identity: a key of small order")]
    SmallOrder,
    /// The signature is not this identity's over this message.
    #[error("signature does not verify")]
    BadSignature,
    /// The sealed message was altered, is malformed, or is for another
    /// server (or another purpose: `info`/`aad` differ).
    #[error("sealed message does not open: altered, or sealed to another server")]
    Open,
}

/// A server's secret identity. Zeroized on drop (both dalek types zeroize
/// themselves); printed as `[redacted]`; deliberately not `Clone`, so the
/// secret lives in one place.
pub struct IdentitySecret {
    signing: SigningKey,
    kem: StaticSecret,
}

impl IdentitySecret {
    /// A fresh identity from a CSPRNG.
    pub fn generate<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Self {
        Self {
            signing: SigningKey::generate(rng),
            kem: StaticSecret::random_from_rng(rng),
        }
    }

    /// The public half, to publish and to pin.
    pub fn public(&self) -> IdentityPublic {
        IdentityPublic {
            verifying: self.signing.verifying_key(),
            kem: PublicKey::from(&self.kem),
        }
    }

    /// A plain Ed25519 signature (RFC 8032 section 5.1.6) over `message`.
    /// Callers prefix their own domain-separation label, so a signature
    /// made for one purpose never verifies for another.
    pub fn sign(&self, message: &[u8]) -> [u8; SIGNATURE_LEN] {
        self.signing.sign(message).to_bytes()
    }

    /// Opens a message [`IdentityPublic::seal`]ed to this identity under the
    /// same `info` and `aad`.
    pub fn open(
        &self,
        info: &[u8],
        aad: &[u8],
        sealed: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, IdentityError> {
        // Every failure (short input, small-order `enc`, bad tag) means the
        // same to the caller: this message is not for us as it stands.
        hpke::open(&self.kem, info, aad, sealed).map_err(|_| IdentityError::Open)
    }

    /// `shardlock-identity-v1:` followed by the unpadded base64url of the
    /// 32-byte Ed25519 seed and the 32-byte X25519 secret.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut raw = Zeroizing::new([0u8; 64]);
        raw[..32].copy_from_slice(self.signing.as_bytes());
        raw[32..].copy_from_slice(self.kem.as_bytes());
        let encoded = Zeroizing::new(b64(raw.as_ref()));
        let mut text = Zeroizing::new(String::with_capacity(SECRET_PREFIX.len() + encoded.len()));
        text.push_str(SECRET_PREFIX);
        text.push_str(&encoded);
        text
    }

    /// Parses [`IdentitySecret::to_text`]'s form. Surrounding whitespace
    /// (a file's trailing newline) is ignored; anything else out of place
    /// is refused.
    pub fn from_text(text: &str) -> Result<Self, IdentityError> {
        let encoded = text
            .trim()
            .strip_prefix(SECRET_PREFIX)
            .ok_or(IdentityError::Malformed)?;
        let raw = Zeroizing::new(unb64(encoded).ok_or(IdentityError::Malformed)?);
        if raw.len() != 64 {
            return Err(IdentityError::Malformed);
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        seed.copy_from_slice(&raw[..32]);
        let mut kem = Zeroizing::new([0u8; 32]);
        kem.copy_from_slice(&raw[32..]);
        // Every 32-byte string is a valid seed and (clamped) X25519 secret.
        Ok(Self {
            signing: SigningKey::from_bytes(&seed),
            kem: StaticSecret::from(*kem),
        })
    }
}

impl fmt::Debug for IdentitySecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IdentitySecret([redacted])")
    }
}

/// A server's public identity: what peers pin and seal to. Every value of
/// this type holds a canonical Ed25519 point and a canonical X25519 key,
/// neither of small order, so sealing to it cannot fail.
#[derive(Clone)]
pub struct IdentityPublic {
    verifying: VerifyingKey,
    kem: PublicKey,
}

impl IdentityPublic {
    /// The Ed25519 public key ‖ the X25519 public key.
    pub fn to_bytes(&self) -> [u8; PUBLIC_LEN] {
        let mut out = [0u8; PUBLIC_LEN];
        out[..32].copy_from_slice(self.verifying.as_bytes());
        out[32..].copy_from_slice(self.kem.as_bytes());
        out
    }

    /// Parses [`IdentityPublic::to_bytes`]: exactly 64 bytes, both keys in
    /// canonical encoding (so equal keys have equal bytes and one
    /// fingerprint) and neither of small order.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdentityError> {
        let bytes: &[u8; PUBLIC_LEN] = bytes.try_into().map_err(|_| IdentityError::Malformed)?;
        let ed: [u8; 32] = bytes[..32].try_into().expect("32 bytes");
        let x: [u8; 32] = bytes[32..].try_into().expect("32 bytes");

        let verifying = VerifyingKey::from_bytes(&ed).map_err(|_| IdentityError::Malformed)?;
        // Decompression accepts some non-canonical y (y >= p); re-encoding
        // the point catches them.
        if verifying.to_edwards().compress().to_bytes() != ed {
            return Err(IdentityError::Malformed);
        }
        // A small-order Ed25519 key admits signatures valid for many
        // messages (verify_strict refuses them too; refuse at parse time).
        if verifying.is_weak() {
            return Err(IdentityError::SmallOrder);
        }

        if !is_canonical_x25519(&x) {
            return Err(IdentityError::Malformed);
        }
        let kem = PublicKey::from(x);
        if is_small_order_x25519(&kem) {
            return Err(IdentityError::SmallOrder);
        }
        Ok(Self { verifying, kem })
    }

    /// Unpadded base64url of [`IdentityPublic::to_bytes`].
    pub fn to_text(&self) -> String {
        b64(&self.to_bytes())
    }

    /// Parses [`IdentityPublic::to_text`]'s form, ignoring surrounding
    /// whitespace.
    pub fn parse(text: &str) -> Result<Self, IdentityError> {
        let raw = unb64(text.trim()).ok_or(IdentityError::Malformed)?;
        Self::from_bytes(&raw)
    }

    /// SHA-256("shardlock/v1 server identity" ‖ [`IdentityPublic::to_bytes`]):
    /// one value that pins both keys.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut hash = Sha256::new();
        hash.update(FINGERPRINT_LABEL);
        hash.update(self.to_bytes());
        hash.finalize().into()
    }

    /// Checks an Ed25519 signature by this identity over `message`, in
    /// strict mode: non-canonical or small-order `R` and non-reduced `s`
    /// are refused, so no signature has a malleated twin.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<(), IdentityError> {
        let signature =
            Signature::from_slice(signature).map_err(|_| IdentityError::BadSignature)?;
        self.verifying
            .verify_strict(message, &signature)
            .map_err(|_| IdentityError::BadSignature)
    }

    /// HPKE-seals `plaintext` to this identity (RFC 9180 base mode,
    /// single-shot; see the `hpke` submodule): `enc (32) ‖ ciphertext ‖
    /// tag (16)`. `info` names the purpose and `aad` binds context that
    /// travels in clear; the recipient must pass the same values to open.
    pub fn seal<R: rand::RngCore + rand::CryptoRng>(
        &self,
        rng: &mut R,
        info: &[u8],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Vec<u8> {
        hpke::seal(&self.kem, info, aad, plaintext, rng)
            .expect("an IdentityPublic never holds a small-order X25519 key")
    }
}

impl PartialEq for IdentityPublic {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}

impl Eq for IdentityPublic {}

impl fmt::Debug for IdentityPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdentityPublic({})", hex(&self.fingerprint()))
    }
}

/// Whether `u` is the canonical encoding of an X25519 u-coordinate: the
/// top bit clear (RFC 7748 section 5 masks it) and the value below
/// p = 2^255 - 19.
fn is_canonical_x25519(u: &[u8; 32]) -> bool {
    if u[31] & 0x80 != 0 {
        return false;
    }
    // With the top bit clear, u >= p only for p..=2^255-1: little-endian
    // bytes ed..ff, then thirty 0xff, then 0x7f.
    let at_least_p = u[0] >= 0xed && u[1..31].iter().all(|&b| b == 0xff) && u[31] == 0x7f;
    !at_least_p
}

/// Whether `kem` has small order (all-zero u among them).
///
/// X25519 clamps every scalar to 8·k with 2^251 <= k < 2^252, and k is then
/// below both the curve's prime subgroup order (about 2^252) and the
/// twist's (about 2^253). So a clamped scalar multiple of a point is the
/// identity (all-zero output) exactly when the point's order divides 8,
/// whatever the scalar: one multiplication by a fixed scalar decides it for
/// every secret key, and a key passing here can never yield the all-zero
/// shared secret RFC 9180 section 7.1.4 forbids.
fn is_small_order_x25519(kem: &PublicKey) -> bool {
    !StaticSecret::from([1u8; 32])
        .diffie_hellman(kem)
        .was_contributory()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::OsRng;

    #[test]
    fn secret_text_round_trips_and_keeps_the_public_half() {
        let secret = IdentitySecret::generate(&mut OsRng);
        let text = secret.to_text();
        assert!(text.starts_with("shardlock-identity-v1:"));
        assert_eq!(text.len(), SECRET_PREFIX.len() + 86);
        let again = IdentitySecret::from_text(&format!("  {}\n", *text)).unwrap();
        assert_eq!(again.public(), secret.public());
        assert_eq!(*again.to_text(), *text);
    }

    #[test]
    fn public_text_and_bytes_round_trip() {
        let public = IdentitySecret::generate(&mut OsRng).public();
        let text = public.to_text();
        assert_eq!(text.len(), 86);
        assert_eq!(IdentityPublic::parse(&text).unwrap(), public);
        assert_eq!(IdentityPublic::parse(&format!("{text}\n")).unwrap(), public);
        assert_eq!(
            IdentityPublic::from_bytes(&public.to_bytes()).unwrap(),
            public
        );
        let other = IdentitySecret::generate(&mut OsRng).public();
        assert_ne!(other, public);
        assert_ne!(other.fingerprint(), public.fingerprint());
    }

    #[test]
    fn fingerprint_is_the_labelled_hash_and_debug_shows_it() {
        let public = IdentitySecret::generate(&mut OsRng).public();
        let expected: [u8; 32] =
            Sha256::digest([FINGERPRINT_LABEL, &public.to_bytes()].concat()).into();
        assert_eq!(public.fingerprint(), expected);
        assert_eq!(
            format!("{public:?}"),
            format!("IdentityPublic({})", hex(&expected))
        );
    }

    #[test]
    fn signatures_verify_only_for_the_signer_and_the_message() {
        let alice = IdentitySecret::generate(&mut OsRng);
        let bob = IdentitySecret::generate(&mut OsRng);
        let signature = alice.sign(b"label: message");
        assert_eq!(alice.public().verify(b"label: message", &signature), Ok(()));
        assert_eq!(
            bob.public().verify(b"label: message", &signature),
            Err(IdentityError::BadSignature)
        );
        assert_eq!(
            alice.public().verify(b"label: messagE", &signature),
            Err(IdentityError::BadSignature)
        );
        let mut altered = signature;
        altered[10] ^= 1;
        assert_eq!(
            alice.public().verify(b"label: message", &altered),
            Err(IdentityError::BadSignature)
        );
        assert_eq!(
            alice.public().verify(b"label: message", &signature[..63]),
            Err(IdentityError::BadSignature)
        );
    }

    #[test]
    fn sealed_to_one_identity_opens_only_there() {
        let alice = IdentitySecret::generate(&mut OsRng);
        let bob = IdentitySecret::generate(&mut OsRng);
        let sealed = alice
            .public()
            .seal(&mut OsRng, b"purpose", b"context", b"a share");
        assert_eq!(sealed.len(), 32 + 7 + 16);
        assert_eq!(
            *alice.open(b"purpose", b"context", &sealed).unwrap(),
            b"a share"
        );
        assert_eq!(
            bob.open(b"purpose", b"context", &sealed),
            Err(IdentityError::Open)
        );
        assert_eq!(
            alice.open(b"other", b"context", &sealed),
            Err(IdentityError::Open)
        );
        assert_eq!(
            alice.open(b"purpose", b"other", &sealed),
            Err(IdentityError::Open)
        );
        assert_eq!(
            alice.open(b"purpose", b"context", &sealed[..10]),
            Err(IdentityError::Open)
        );
    }

    #[test]
    fn debug_of_the_secret_shows_nothing() {
        let secret = IdentitySecret::generate(&mut OsRng);
        let printed = format!("{secret:?}");
        assert_eq!(printed, "IdentitySecret([redacted])");
        let text = secret.to_text();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap();
        assert!(!printed.contains(encoded));
        assert!(!printed.contains(&encoded[..8]));
    }

    #[test]
    fn secret_text_is_strict() {
        let text = IdentitySecret::generate(&mut OsRng).to_text();
        let encoded = text.strip_prefix(SECRET_PREFIX).unwrap().to_string();
        let malformed = [
            encoded.clone(),
            format!("shardlock-identity-v2:{encoded}"),
            format!("Shardlock-identity-v1:{encoded}"),
            format!("{SECRET_PREFIX} {encoded}"),
            format!("{SECRET_PREFIX}{}", &encoded[..85]),
            format!("{SECRET_PREFIX}{encoded}A"),
            format!("{SECRET_PREFIX}{encoded}="),
            format!("{SECRET_PREFIX}{}", b64(&[7u8; 63])),
            format!("{SECRET_PREFIX}{}", b64(&[7u8; 65])),
            format!("{SECRET_PREFIX}{}+/", &encoded[..84]),
            SECRET_PREFIX.to_string(),
            "garbage".to_string(),
            String::new(),
        ];
        for bad in malformed {
            assert_eq!(
                IdentitySecret::from_text(&bad).map(|_| ()),
                Err(IdentityError::Malformed),
                "{bad}"
            );
        }
    }

    #[test]
    fn public_parsing_refuses_bad_lengths_points_and_small_order_keys() {
        let good = IdentitySecret::generate(&mut OsRng).public().to_bytes();
        assert_eq!(
            IdentityPublic::from_bytes(&good[..63]),
            Err(IdentityError::Malformed)
        );
        assert_eq!(
            IdentityPublic::from_bytes(&[good.as_slice(), &[0]].concat()),
            Err(IdentityError::Malformed)
        );
        assert_eq!(
            IdentityPublic::parse("not base64!"),
            Err(IdentityError::Malformed)
        );
        assert_eq!(IdentityPublic::parse(""), Err(IdentityError::Malformed));

        let with_ed = |ed: [u8; 32]| {
            let mut bytes = good;
            bytes[..32].copy_from_slice(&ed);
            IdentityPublic::from_bytes(&bytes)
        };
        // y = 2 is not on the curve.
        let mut not_a_point = [0u8; 32];
        not_a_point[0] = 2;
        assert_eq!(with_ed(not_a_point), Err(IdentityError::Malformed));
        // The identity point (y = 1) has order 1; y = -1 has order 2.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(with_ed(identity), Err(IdentityError::SmallOrder));
        let mut minus_one = [0xffu8; 32];
        minus_one[0] = 0xec;
        minus_one[31] = 0x7f;
        assert_eq!(with_ed(minus_one), Err(IdentityError::SmallOrder));
        // y = p + 1 is a non-canonical spelling of the identity.
        let mut p_plus_one = [0xffu8; 32];
        p_plus_one[0] = 0xee;
        p_plus_one[31] = 0x7f;
        assert_eq!(with_ed(p_plus_one), Err(IdentityError::Malformed));

        let with_x = |x: [u8; 32]| {
            let mut bytes = good;
            bytes[32..].copy_from_slice(&x);
            IdentityPublic::from_bytes(&bytes)
        };
        assert_eq!(with_x([0u8; 32]), Err(IdentityError::SmallOrder));
        let mut one = [0u8; 32];
        one[0] = 1;
        assert_eq!(with_x(one), Err(IdentityError::SmallOrder));
        // A point of order 8 (RFC 7748's curve has cofactor 8).
        let order_8: [u8; 32] =
            hex::decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800")
                .unwrap()
                .try_into()
                .unwrap();
        assert_eq!(with_x(order_8), Err(IdentityError::SmallOrder));
        // u = p - 1 is canonical but of small order.
        let mut p_minus_one = [0xffu8; 32];
        p_minus_one[0] = 0xec;
        p_minus_one[31] = 0x7f;
        assert_eq!(with_x(p_minus_one), Err(IdentityError::SmallOrder));
        // Non-canonical encodings: the top bit set, and u = p.
        let mut high_bit: [u8; 32] = good[32..].try_into().unwrap();
        high_bit[31] |= 0x80;
        assert_eq!(with_x(high_bit), Err(IdentityError::Malformed));
        let mut p = [0xffu8; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert_eq!(with_x(p), Err(IdentityError::Malformed));
    }

    #[test]
    fn errors_say_what_went_wrong() {
        assert_eq!(
            IdentityError::Malformed.to_string(),
            "not a valid server identity"
        );
        assert_eq!(
            IdentityError::BadSignature.to_string(),
            "signature does not verify"
        );
        assert_eq!(
            IdentityError::Open.to_string(),
            "sealed message does not open: altered, or sealed to another server"
        );
    }
}
