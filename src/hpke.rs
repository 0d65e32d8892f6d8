//! HPKE (RFC 9180) for one suite in base mode, single-shot: the sealing of
//! a secret to an X25519 key — a sub-share from one key-share server to
//! another ([`crate::identity`]), a data key to an offline recovery key
//! ([`crate::envelope::recovery`]).
//!
//! Suite: DHKEM(X25519, HKDF-SHA256) (kem_id 0x0020), HKDF-SHA256
//! (kdf_id 0x0001), ChaCha20Poly1305 (aead_id 0x0003); mode_base (0x00), no
//! PSK, no exporter. Single-shot means one message per setup (RFC 9180
//! section 6.1), so the one AEAD nonce is `base_nonce` itself (sequence
//! number 0, section 5.2) and the context is never kept.
//!
//! Written here rather than taken from a crate: the suite is one of
//! everything, each step is a few lines over ring, hkdf and x25519-dalek
//! (all already dependencies), and the RFC's own test vector (Appendix
//! A.2.1) pins every intermediate value below.

use hkdf::{Hkdf, HkdfExtract};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha2::Sha256;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize as _, Zeroizing};

/// Length of the encapsulated key `enc` (Nenc, RFC 9180 section 7.1): an
/// X25519 public key.
pub(crate) const ENC_LEN: usize = 32;
/// Length of the ChaCha20Poly1305 tag appended to the ciphertext.
pub(crate) const TAG_LEN: usize = 16;
/// Nk for ChaCha20Poly1305 (section 7.3).
const KEY_LEN: usize = 32;

const VERSION_LABEL: &[u8] = b"HPKE-v1";
/// suite_id for the KEM's own labeled derivations: "KEM" ‖ I2OSP(kem_id, 2)
/// (section 4.1).
const KEM_SUITE_ID: &[u8] = b"KEM\x00\x20";
/// suite_id for the key schedule: "HPKE" ‖ kem_id ‖ kdf_id ‖ aead_id
/// (section 5.1).
const HPKE_SUITE_ID: &[u8] = b"HPKE\x00\x20\x00\x01\x00\x03";
const MODE_BASE: u8 = 0x00;

/// Why HPKE failed. Carries no key material.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HpkeError {
    /// A public key of small order: the X25519 output is all zeros, which
    /// RFC 9180 section 7.1.4 requires both sides to reject.
    #[error("X25519 public key of small order")]
    SmallOrder,
    /// Shorter than `enc` plus an AEAD tag: cannot be a sealed message.
    #[error("sealed message too short")]
    TooShort,
    /// The AEAD tag does not verify: altered, or sealed to another key or
    /// under another `info`/`aad`.
    #[error("sealed message does not open")]
    Open,
}

/// The AEAD key and nonce of a single-shot context (section 5.1).
pub(super) struct Context {
    key: Zeroizing<[u8; KEY_LEN]>,
    base_nonce: [u8; NONCE_LEN],
}

/// `LabeledExtract(salt, label, ikm)` (section 4): HKDF-Extract over
/// "HPKE-v1" ‖ suite_id ‖ label ‖ ikm, fed in pieces so secret `ikm` is
/// never copied into a concatenation buffer. Returns the PRK as an HKDF
/// ready to expand.
fn labeled_extract(
    suite_id: &[u8],
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
) -> (Zeroizing<[u8; 32]>, Hkdf<Sha256>) {
    // An empty salt is HKDF's default (HashLen zero bytes, RFC 5869
    // section 2.2): HMAC pads a short key with zeros either way.
    let mut extract = HkdfExtract::<Sha256>::new(Some(salt));
    extract.input_ikm(VERSION_LABEL);
    extract.input_ikm(suite_id);
    extract.input_ikm(label);
    extract.input_ikm(ikm);
    let (mut prk, hkdf) = extract.finalize();
    let mut bytes = Zeroizing::new([0u8; 32]);
    bytes.copy_from_slice(&prk);
    prk.as_mut_slice().zeroize();
    (bytes, hkdf)
}

/// `LabeledExpand(prk, label, info, L)` (section 4): HKDF-Expand with info
/// I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info.
fn labeled_expand(prk: &Hkdf<Sha256>, suite_id: &[u8], label: &[u8], info: &[u8], out: &mut [u8]) {
    let length = u16::try_from(out.len())
        .expect("outputs here are at most 32 bytes")
        .to_be_bytes();
    prk.expand_multi_info(&[&length, VERSION_LABEL, suite_id, label, info], out)
        .expect("outputs here are far below HKDF-SHA256's 8160-byte limit");
}

/// DHKEM's `ExtractAndExpand(dh, kem_context)` (section 4.1).
fn extract_and_expand(dh: &[u8; 32], enc: &[u8; ENC_LEN], pk_r: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let (_, eae_prk) = labeled_extract(KEM_SUITE_ID, b"", b"eae_prk", dh);
    // kem_context = enc ‖ pkRm: binds the shared secret to both public keys.
    let kem_context = [enc.as_slice(), pk_r.as_slice()].concat();
    let mut shared_secret = Zeroizing::new([0u8; 32]);
    labeled_expand(
        &eae_prk,
        KEM_SUITE_ID,
        b"shared_secret",
        &kem_context,
        shared_secret.as_mut(),
    );
    shared_secret
}

/// DHKEM `Encap(pkR)` (section 4.1) with the ephemeral key given, so the
/// RFC's test vector can fix it. Returns `(shared_secret, enc)`.
pub(super) fn encap(
    recipient: &PublicKey,
    ephemeral: &StaticSecret,
) -> Result<(Zeroizing<[u8; 32]>, [u8; ENC_LEN]), HpkeError> {
    let dh = ephemeral.diffie_hellman(recipient);
    if !dh.was_contributory() {
        return Err(HpkeError::SmallOrder);
    }
    let enc = PublicKey::from(ephemeral).to_bytes();
    Ok((
        extract_and_expand(dh.as_bytes(), &enc, recipient.as_bytes()),
        enc,
    ))
}

/// DHKEM `Decap(enc, skR)` (section 4.1).
fn decap(enc: &[u8; ENC_LEN], recipient: &StaticSecret) -> Result<Zeroizing<[u8; 32]>, HpkeError> {
    let dh = recipient.diffie_hellman(&PublicKey::from(*enc));
    if !dh.was_contributory() {
        return Err(HpkeError::SmallOrder);
    }
    let pk_r = PublicKey::from(recipient).to_bytes();
    Ok(extract_and_expand(dh.as_bytes(), enc, &pk_r))
}

/// `KeySchedule(mode_base, shared_secret, info, "", "")` (section 5.1),
/// stopping at key and base_nonce: the exporter secret is never used.
pub(super) fn key_schedule(shared_secret: &[u8; 32], info: &[u8]) -> Context {
    let (psk_id_hash, _) = labeled_extract(HPKE_SUITE_ID, b"", b"psk_id_hash", b"");
    let (info_hash, _) = labeled_extract(HPKE_SUITE_ID, b"", b"info_hash", info);
    let mut context = [0u8; 65];
    context[0] = MODE_BASE;
    context[1..33].copy_from_slice(psk_id_hash.as_ref());
    context[33..].copy_from_slice(info_hash.as_ref());
    // secret = LabeledExtract(shared_secret, "secret", psk) with psk = "".
    let (_, secret) = labeled_extract(HPKE_SUITE_ID, shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; KEY_LEN]);
    labeled_expand(&secret, HPKE_SUITE_ID, b"key", &context, key.as_mut());
    let mut base_nonce = [0u8; NONCE_LEN];
    labeled_expand(
        &secret,
        HPKE_SUITE_ID,
        b"base_nonce",
        &context,
        &mut base_nonce,
    );
    Context { key, base_nonce }
}

impl Context {
    fn aead(&self) -> LessSafeKey {
        LessSafeKey::new(
            UnboundKey::new(&CHACHA20_POLY1305, self.key.as_ref()).expect("a 32-byte key"),
        )
    }

    /// The sequence-number-0 nonce: `base_nonce` XOR 0 (section 5.2).
    fn nonce(&self) -> Nonce {
        Nonce::assume_unique_for_key(self.base_nonce)
    }
}

/// Single-shot `Seal` (section 6.1) to `recipient`: returns
/// `enc (32 bytes) ‖ ciphertext ‖ tag (16 bytes)`. Fails only for a
/// small-order `recipient`.
pub(crate) fn seal<R: rand::RngCore + rand::CryptoRng>(
    recipient: &PublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    rng: &mut R,
) -> Result<Vec<u8>, HpkeError> {
    let ephemeral = StaticSecret::random_from_rng(rng);
    seal_with_ephemeral(recipient, &ephemeral, info, aad, plaintext)
}

/// [`seal`] with the ephemeral key given (the test vector fixes it). Each
/// ephemeral key must be used once: it alone makes the AEAD key fresh.
pub(super) fn seal_with_ephemeral(
    recipient: &PublicKey,
    ephemeral: &StaticSecret,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, HpkeError> {
    let (shared_secret, enc) = encap(recipient, ephemeral)?;
    let context = key_schedule(&shared_secret, info);
    let mut sealed = Vec::with_capacity(ENC_LEN + plaintext.len() + TAG_LEN);
    sealed.extend_from_slice(&enc);
    sealed.extend_from_slice(plaintext);
    // Encrypt in place after `enc`, so no clear copy of the plaintext is
    // left behind in a temporary buffer.
    let tag = context
        .aead()
        .seal_in_place_separate_tag(context.nonce(), Aad::from(aad), &mut sealed[ENC_LEN..])
        .expect("a single-shot message is far below ChaCha20Poly1305's limit");
    sealed.extend_from_slice(tag.as_ref());
    Ok(sealed)
}

/// Single-shot `Open` (section 6.1) of `enc ‖ ciphertext ‖ tag` with the
/// recipient's static key.
pub(crate) fn open(
    recipient: &StaticSecret,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
    if sealed.len() < ENC_LEN + TAG_LEN {
        return Err(HpkeError::TooShort);
    }
    let (enc, ciphertext) = sealed.split_at(ENC_LEN);
    let enc: &[u8; ENC_LEN] = enc.try_into().expect("split at ENC_LEN");
    let shared_secret = decap(enc, recipient)?;
    let context = key_schedule(&shared_secret, info);
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    let plaintext_len = context
        .aead()
        .open_in_place(context.nonce(), Aad::from(aad), buffer.as_mut_slice())
        .map_err(|_| HpkeError::Open)?
        .len();
    buffer.truncate(plaintext_len);
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex<const N: usize>(text: &str) -> [u8; N] {
        hex::decode(text).unwrap().try_into().unwrap()
    }

    /// RFC 9180 Appendix A.2.1: DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
    /// ChaCha20Poly1305, Base Setup Information, and its first encryption
    /// (sequence number 0).
    mod rfc9180_a_2_1 {
        pub const INFO: &str = "4f6465206f6e2061204772656369616e2055726e";
        pub const SK_EM: &str = "f4ec9b33b792c372c1d2c2063507b684ef925b8c75a42dbcbf57d63ccd381600";
        pub const PK_EM: &str = "1afa08d3dec047a643885163f1180476fa7ddb54c6a8029ea33f95796bf2ac4a";
        pub const SK_RM: &str = "8057991eef8f1f1af18f4a9491d16a1ce333f695d4db8e38da75975c4478e0fb";
        pub const PK_RM: &str = "4310ee97d88cc1f088a5576c77ab0cf5c3ac797f3d95139c6c84b5429c59662a";
        pub const SHARED_SECRET: &str =
            "0bbe78490412b4bbea4812666f7916932b828bba79942424abb65244930d69a7";
        pub const KEY: &str = "ad2744de8e17f4ebba575b3f5f5a8fa1f69c2a07f6e7500bc60ca6e3e3ec1c91";
        pub const BASE_NONCE: &str = "5c4d98150661b848853b547f";
        // Encryption sequence number 0.
        pub const AAD: &str = "436f756e742d30";
        pub const PT: &str = "4265617574792069732074727574682c20747275746820626561757479";
        pub const CT: &str = "1c5250d8034ec2b784ba2cfd69dbdb8af406cfe3ff938e131f0def8c8b60b4db\
                              21993c62ce81883d2dd1b51a28";
    }

    #[test]
    fn reproduces_rfc_9180_a_2_1() {
        use rfc9180_a_2_1::*;
        let ephemeral = StaticSecret::from(unhex::<32>(SK_EM));
        let recipient = StaticSecret::from(unhex::<32>(SK_RM));
        assert_eq!(PublicKey::from(&ephemeral).to_bytes(), unhex::<32>(PK_EM));
        let pk_r = PublicKey::from(&recipient);
        assert_eq!(pk_r.to_bytes(), unhex::<32>(PK_RM));
        let info = hex::decode(INFO).unwrap();

        let (shared_secret, enc) = encap(&pk_r, &ephemeral).unwrap();
        assert_eq!(enc, unhex::<32>(PK_EM));
        assert_eq!(*shared_secret, unhex::<32>(SHARED_SECRET));
        assert_eq!(*decap(&enc, &recipient).unwrap(), *shared_secret);

        let context = key_schedule(&shared_secret, &info);
        assert_eq!(*context.key, unhex::<32>(KEY));
        assert_eq!(context.base_nonce, unhex::<12>(BASE_NONCE));

        let aad = hex::decode(AAD).unwrap();
        let pt = hex::decode(PT).unwrap();
        let sealed = seal_with_ephemeral(&pk_r, &ephemeral, &info, &aad, &pt).unwrap();
        assert_eq!(sealed[..ENC_LEN], unhex::<32>(PK_EM));
        assert_eq!(hex::encode(&sealed[ENC_LEN..]), CT);
        assert_eq!(*open(&recipient, &info, &aad, &sealed).unwrap(), pt);
    }

    fn keypair() -> (StaticSecret, PublicKey) {
        let secret = StaticSecret::random_from_rng(rand::rngs::OsRng);
        let public = PublicKey::from(&secret);
        (secret, public)
    }

    #[test]
    fn sealed_length_is_enc_plus_plaintext_plus_tag() {
        let (_, public) = keypair();
        for len in [0, 1, 32, 1000] {
            let sealed = seal(
                &public,
                b"info",
                b"aad",
                &vec![7; len],
                &mut rand::rngs::OsRng,
            )
            .unwrap();
            assert_eq!(sealed.len(), ENC_LEN + len + TAG_LEN);
        }
    }

    #[test]
    fn open_rejects_any_alteration_and_the_wrong_key() {
        let (secret, public) = keypair();
        let (other, _) = keypair();
        let sealed = seal(&public, b"info", b"aad", b"a share", &mut rand::rngs::OsRng).unwrap();
        assert_eq!(
            *open(&secret, b"info", b"aad", &sealed).unwrap(),
            b"a share"
        );

        for i in [0, ENC_LEN - 1, ENC_LEN, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[i] ^= 0x01;
            assert!(
                open(&secret, b"info", b"aad", &altered).is_err(),
                "byte {i}"
            );
        }
        assert_eq!(
            open(&secret, b"infO", b"aad", &sealed),
            Err(HpkeError::Open)
        );
        assert_eq!(
            open(&secret, b"info", b"aaD", &sealed),
            Err(HpkeError::Open)
        );
        assert_eq!(open(&other, b"info", b"aad", &sealed), Err(HpkeError::Open));
        assert_eq!(
            open(&secret, b"info", b"aad", &sealed[..ENC_LEN + TAG_LEN - 1]),
            Err(HpkeError::TooShort)
        );
        assert_eq!(
            open(&secret, b"info", b"aad", &sealed[..sealed.len() - 1]),
            Err(HpkeError::Open)
        );
    }

    #[test]
    fn small_order_keys_are_rejected_on_both_sides() {
        let (secret, _) = keypair();
        let zero = PublicKey::from([0u8; 32]);
        assert_eq!(
            seal(&zero, b"", b"", b"x", &mut rand::rngs::OsRng),
            Err(HpkeError::SmallOrder)
        );
        // An `enc` of small order (here u = 0) must not open to anything.
        let mut sealed = vec![0u8; ENC_LEN + TAG_LEN + 1];
        sealed[ENC_LEN] = 1;
        assert_eq!(open(&secret, b"", b"", &sealed), Err(HpkeError::SmallOrder));
    }
}
