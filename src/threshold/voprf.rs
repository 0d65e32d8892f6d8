//! RFC 9497 VOPRF, mode `modeVOPRF` (0x01), suite `ristretto255-SHA512`.
//!
//! The server side ([`blind_evaluate_batch`]) is what a key-share server runs
//! on its share `k_i`; the client side ([`verify_proof`]) is how the client
//! detects a server that answered with anything but `k_i·B` (docs/DESIGN.md
//! section 1, "Decapsulation"). `blind`, `finalize` and [`derive_key_pair`]
//! complete the RFC protocol so the Appendix A test vectors can be checked
//! end to end, from `Input` to `Output`; the first two exist only in tests,
//! since shardlock's client blinds group elements, not byte strings.

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_POINT;
use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::{Zeroize, Zeroizing};

use super::group::{
    decode_scalar_allow_zero, encode_element, random_nonzero_scalar, Error, SecretScalar,
    ELEMENT_LEN, SCALAR_LEN,
};
#[cfg(test)]
use crate::secret::SecretBytes;

/// `contextString = "OPRFV1-" || I2OSP(modeVOPRF, 1) || "-" || identifier`
/// (RFC 9497 section 3.1), with modeVOPRF = 0x01 and identifier
/// "ristretto255-SHA512" (section 4.1).
pub const CONTEXT_STRING: &[u8] = b"OPRFV1-\x01-ristretto255-SHA512";

const HASH_TO_GROUP_DST: &[u8] = b"HashToGroup-OPRFV1-\x01-ristretto255-SHA512";
const HASH_TO_SCALAR_DST: &[u8] = b"HashToScalar-OPRFV1-\x01-ristretto255-SHA512";
const DERIVE_KEY_PAIR_DST: &[u8] = b"DeriveKeyPairOPRFV1-\x01-ristretto255-SHA512";
const SEED_DST: &[u8] = b"Seed-OPRFV1-\x01-ristretto255-SHA512";

/// Length of an encoded proof: `c || s`, two scalars (RFC 9497 section 3.3).
pub const PROOF_LEN: usize = 2 * SCALAR_LEN;
/// Length of the PRF output: `Nh` for SHA-512.
pub const OUTPUT_LEN: usize = 64;
/// The largest batch the proof transcript can express: the element index is
/// encoded as `I2OSP(i, 2)` (RFC 9497 section 2.2.1). Servers should impose a
/// much smaller bound of their own.
pub const MAX_BATCH: usize = 1 << 16;
/// The largest `PrivateInput` / `info`: both carry a 2-byte length prefix.
pub const MAX_INPUT_LEN: usize = u16::MAX as usize;

/// SHA-512 output size and input block size (`b_in_bytes`, `s_in_bytes`).
const SHA512_OUT: usize = 64;
const SHA512_BLOCK: usize = 128;

/// `I2OSP(len, 2)` for lengths the callers have already bounded.
fn i2osp2(len: usize) -> [u8; 2] {
    // Every caller bounds `len` to at most 65535 first (element and scalar
    // sizes are constants, inputs are checked against MAX_INPUT_LEN, batch
    // indices are below MAX_BATCH), so saturation never happens.
    u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes()
}

/// `expand_message_xmd` with SHA-512 (RFC 9380 section 5.3.1), for a message
/// given as the concatenation of `msg_parts` (which avoids copying the
/// transcripts into one buffer).
///
/// Errors, as the RFC's ABORT conditions: `len_in_bytes` of 0 or above
/// 65535, `ell = ceil(len_in_bytes / 64) > 255`, or a DST over 255 bytes.
pub fn expand_message_xmd(
    msg_parts: &[&[u8]],
    dst: &[u8],
    len_in_bytes: usize,
) -> Result<Vec<u8>, Error> {
    let ell = len_in_bytes.div_ceil(SHA512_OUT);
    if len_in_bytes == 0 || len_in_bytes > 65535 || ell > 255 {
        return Err(Error::ExpandLength(len_in_bytes));
    }
    let dst_len = u8::try_from(dst.len()).map_err(|_| Error::DstTooLong(dst.len()))?;
    // Bounded above, so these conversions are exact.
    let ell_u8 = u8::try_from(ell).map_err(|_| Error::ExpandLength(len_in_bytes))?;
    let len_bytes = u16::try_from(len_in_bytes)
        .map_err(|_| Error::ExpandLength(len_in_bytes))?
        .to_be_bytes();

    // b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime)
    let mut hasher = Sha512::new();
    hasher.update([0u8; SHA512_BLOCK]);
    for part in msg_parts {
        hasher.update(part);
    }
    hasher.update(len_bytes);
    hasher.update([0u8]);
    hasher.update(dst);
    hasher.update([dst_len]);
    let b_0 = hasher.finalize();

    // b_1 = H(b_0 || I2OSP(1, 1) || DST_prime)
    // b_i = H(strxor(b_0, b_(i-1)) || I2OSP(i, 1) || DST_prime)
    let mut uniform = Vec::with_capacity(ell * SHA512_OUT);
    let mut previous = [0u8; SHA512_OUT];
    for i in 1..=ell_u8 {
        let mut block = [0u8; SHA512_OUT];
        for (out, (b0, prev)) in block.iter_mut().zip(b_0.iter().zip(previous.iter())) {
            // For i = 1, `previous` is all zero, so this is b_0 itself.
            *out = b0 ^ prev;
        }
        let mut hasher = Sha512::new();
        hasher.update(block);
        hasher.update([i]);
        hasher.update(dst);
        hasher.update([dst_len]);
        previous.copy_from_slice(&hasher.finalize());
        uniform.extend_from_slice(&previous);
    }
    uniform.truncate(len_in_bytes);
    Ok(uniform)
}

/// 64 uniform bytes from `expand_message_xmd`, in a fixed array.
fn expand_64(msg_parts: &[&[u8]], dst: &[u8]) -> Zeroizing<[u8; 64]> {
    let mut out = Zeroizing::new([0u8; 64]);
    // The DSTs here are crate constants (< 255 bytes) and 64 is a valid
    // output length, so expansion cannot fail.
    if let Ok(mut bytes) = expand_message_xmd(msg_parts, dst, 64) {
        out.copy_from_slice(&bytes);
        bytes.zeroize();
    }
    out
}

/// `HashToGroup`: hash_to_ristretto255 (RFC 9380 appendix B / RFC 9496
/// section 4.3.4) with DST `"HashToGroup-" || contextString`.
pub fn hash_to_group(msg_parts: &[&[u8]]) -> RistrettoPoint {
    RistrettoPoint::from_uniform_bytes(&expand_64(msg_parts, HASH_TO_GROUP_DST))
}

/// `HashToScalar` with an explicit DST: 64 bytes of `expand_message_xmd`
/// read little-endian and reduced mod ℓ (RFC 9497 section 4.1).
fn hash_to_scalar_with_dst(msg_parts: &[&[u8]], dst: &[u8]) -> Scalar {
    Scalar::from_bytes_mod_order_wide(&expand_64(msg_parts, dst))
}

/// `HashToScalar` with DST `"HashToScalar-" || contextString`.
pub fn hash_to_scalar(msg_parts: &[&[u8]]) -> Scalar {
    hash_to_scalar_with_dst(msg_parts, HASH_TO_SCALAR_DST)
}

/// `DeriveKeyPair(seed, info)` (RFC 9497 section 3.2.1): deterministic key
/// generation from a secret 32-byte seed and a public `info` string.
pub fn derive_key_pair(
    seed: &[u8; 32],
    info: &[u8],
) -> Result<(SecretScalar, RistrettoPoint), Error> {
    if info.len() > MAX_INPUT_LEN {
        return Err(Error::InputTooLong(info.len()));
    }
    let info_len = i2osp2(info.len());
    // deriveInput || I2OSP(counter, 1), with deriveInput = seed ||
    // I2OSP(len(info), 2) || info; retry while the scalar is zero.
    for counter in 0..=255u8 {
        let sk = SecretScalar::new(hash_to_scalar_with_dst(
            &[seed, &info_len, info, &[counter]],
            DERIVE_KEY_PAIR_DST,
        ));
        if !sk.is_zero() {
            let pk = sk.public();
            return Ok((sk, pk));
        }
    }
    Err(Error::DeriveKeyPair)
}

/// A batched DLEQ proof `(c, s)` (RFC 9497 section 2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Proof {
    /// The challenge.
    pub c: Scalar,
    /// The response.
    pub s: Scalar,
}

impl Proof {
    /// `SerializeScalar(c) || SerializeScalar(s)`.
    pub fn to_bytes(&self) -> [u8; PROOF_LEN] {
        let mut out = [0u8; PROOF_LEN];
        out[..SCALAR_LEN].copy_from_slice(&self.c.to_bytes());
        out[SCALAR_LEN..].copy_from_slice(&self.s.to_bytes());
        out
    }

    /// Parses exactly 64 bytes of two canonical scalars. Zero is allowed for
    /// either (they are public and may legitimately be zero); non-canonical
    /// encodings are not, so a proof has exactly one encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, Error> {
        if bytes.len() != PROOF_LEN {
            return Err(Error::ProofLength(bytes.len()));
        }
        let (c, s) = bytes.split_at(SCALAR_LEN);
        Ok(Self {
            c: decode_scalar_allow_zero(c)?,
            s: decode_scalar_allow_zero(s)?,
        })
    }
}

/// Checks the shape of a batch: non-empty, equal lengths, within
/// [`MAX_BATCH`], and no identity elements anywhere.
fn check_batch(c: &[RistrettoPoint], d: &[RistrettoPoint]) -> Result<(), Error> {
    if c.len() != d.len() {
        return Err(Error::LengthMismatch {
            left: c.len(),
            right: d.len(),
        });
    }
    if c.is_empty() {
        return Err(Error::EmptyBatch);
    }
    if c.len() > MAX_BATCH {
        return Err(Error::BatchTooLarge(c.len()));
    }
    if c.iter().chain(d).any(IsIdentity::is_identity) {
        return Err(Error::IdentityElement);
    }
    Ok(())
}

/// The per-element weights `d_i` shared by `ComputeComposites` and
/// `ComputeCompositesFast` (RFC 9497 section 2.2.1):
///
/// ```text
/// seed = Hash(I2OSP(len(Bm), 2) || Bm || I2OSP(len(seedDST), 2) || seedDST)
/// d_i  = HashToScalar(I2OSP(len(seed), 2) || seed || I2OSP(i, 2) ||
///                     I2OSP(len(Ci), 2) || Ci || I2OSP(len(Di), 2) || Di ||
///                     "Composite")
/// ```
///
/// The caller has checked the batch with [`check_batch`].
fn composite_weights(
    b: &RistrettoPoint,
    c: &[RistrettoPoint],
    d: &[RistrettoPoint],
) -> Vec<Scalar> {
    let bm = encode_element(b);
    let mut hasher = Sha512::new();
    hasher.update(i2osp2(ELEMENT_LEN));
    hasher.update(bm);
    hasher.update(i2osp2(SEED_DST.len()));
    hasher.update(SEED_DST);
    let seed = hasher.finalize();

    let element_len = i2osp2(ELEMENT_LEN);
    c.iter()
        .zip(d)
        .enumerate()
        .map(|(i, (ci, di))| {
            hash_to_scalar(&[
                &i2osp2(seed.len()),
                &seed,
                &i2osp2(i),
                &element_len,
                &encode_element(ci),
                &element_len,
                &encode_element(di),
                b"Composite",
            ])
        })
        .collect()
}

/// The Fiat-Shamir challenge of RFC 9497 section 2.2.1:
/// `HashToScalar(I2OSP(32,2)||Bm || I2OSP(32,2)||M || I2OSP(32,2)||Z ||
/// I2OSP(32,2)||t2 || I2OSP(32,2)||t3 || "Challenge")`.
fn challenge(
    b: &RistrettoPoint,
    m: &RistrettoPoint,
    z: &RistrettoPoint,
    t2: &RistrettoPoint,
    t3: &RistrettoPoint,
) -> Scalar {
    let len = i2osp2(ELEMENT_LEN);
    hash_to_scalar(&[
        &len,
        &encode_element(b),
        &len,
        &encode_element(m),
        &len,
        &encode_element(z),
        &len,
        &encode_element(t2),
        &len,
        &encode_element(t3),
        b"Challenge",
    ])
}

/// `GenerateProof(k, A, B, C, D)` (RFC 9497 section 2.2.1) with the
/// randomness `r` supplied by the caller, proving `k·A = B` and
/// `k·C[i] = D[i]` for all `i`, using `ComputeCompositesFast`.
///
/// # Security
///
/// `r` must be a fresh uniformly random non-zero scalar for every proof:
/// two proofs with the same `r` and different challenges reveal `k`. This
/// entry point exists for the RFC's known-answer tests; production code
/// calls [`blind_evaluate_batch`], which draws `r` itself.
pub fn generate_proof_with_randomness(
    k: &SecretScalar,
    a: &RistrettoPoint,
    b: &RistrettoPoint,
    c: &[RistrettoPoint],
    d: &[RistrettoPoint],
    mut r: Scalar,
) -> Result<Proof, Error> {
    check_batch(c, d)?;
    // ComputeCompositesFast: the server knows k, so Z = k·M instead of
    // Σ d_i·D[i]. The composites are public; vartime is fine for M.
    let weights = composite_weights(b, c, d);
    let m = RistrettoPoint::vartime_multiscalar_mul(&weights, c);
    let z = m * k.expose();

    // Secret-dependent from here: r and k only meet constant-time code.
    let t2 = a * r;
    let t3 = m * r;
    let c_scalar = challenge(b, &m, &z, &t2, &t3);
    let s = r - c_scalar * k.expose();
    r.zeroize();
    Ok(Proof { c: c_scalar, s })
}

/// The server's batched `BlindEvaluate` (RFC 9497 section 3.3.2): returns
/// `evaluated[i] = sk·blinded[i]` and one proof for the whole batch that
/// `log_G pk = log_{blinded[i]} evaluated[i]`.
///
/// `pk` must be `sk·G` (it is not recomputed here; a mismatch yields proofs
/// that clients reject). Errors on an empty batch, more than [`MAX_BATCH`]
/// elements, or an identity element; the caller should bound batches far
/// below that.
pub fn blind_evaluate_batch<R: RngCore + CryptoRng + ?Sized>(
    sk: &SecretScalar,
    pk: &RistrettoPoint,
    blinded: &[RistrettoPoint],
    rng: &mut R,
) -> Result<(Vec<RistrettoPoint>, Proof), Error> {
    if blinded.is_empty() {
        return Err(Error::EmptyBatch);
    }
    if blinded.len() > MAX_BATCH {
        return Err(Error::BatchTooLarge(blinded.len()));
    }
    if blinded.iter().any(IsIdentity::is_identity) {
        return Err(Error::IdentityElement);
    }
    let evaluated: Vec<RistrettoPoint> = blinded.iter().map(|b| b * sk.expose()).collect();
    let r = random_nonzero_scalar(rng);
    let proof =
        generate_proof_with_randomness(sk, &RISTRETTO_BASEPOINT_POINT, pk, blinded, &evaluated, r)?;
    Ok((evaluated, proof))
}

/// The client's `VerifyProof(G, pk, blinded, evaluated, proof)` (RFC 9497
/// section 2.2.2), using `ComputeComposites` (the verifier cannot use the
/// key): succeeds only if every `evaluated[i]` is `k·blinded[i]` for the `k`
/// with `pk = k·G` (except with negligible probability).
///
/// The order of the two lists matters: they are hashed with their indices.
pub fn verify_proof(
    pk: &RistrettoPoint,
    blinded: &[RistrettoPoint],
    evaluated: &[RistrettoPoint],
    proof: &Proof,
) -> Result<(), Error> {
    check_batch(blinded, evaluated)?;
    if pk.is_identity() {
        return Err(Error::IdentityElement);
    }
    // Everything here is public, so variable-time arithmetic is fine.
    let weights = composite_weights(pk, blinded, evaluated);
    let m = RistrettoPoint::vartime_multiscalar_mul(&weights, blinded);
    let z = RistrettoPoint::vartime_multiscalar_mul(&weights, evaluated);

    // t2 = s·G + c·B ; t3 = s·M + c·Z
    let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&proof.c, pk, &proof.s);
    let t3 = RistrettoPoint::vartime_multiscalar_mul([proof.s, proof.c], [m, z]);
    let expected = challenge(pk, &m, &z, &t2, &t3);
    // Scalar equality is constant time.
    if expected == proof.c {
        Ok(())
    } else {
        Err(Error::InvalidProof)
    }
}

#[cfg(test)]
fn check_input(input: &[u8]) -> Result<(), Error> {
    if input.len() > MAX_INPUT_LEN {
        return Err(Error::InputTooLong(input.len()));
    }
    Ok(())
}

/// `HashToGroup(input)`, rejecting the identity (RFC 9497 `InvalidInputError`).
#[cfg(test)]
fn input_element(input: &[u8]) -> Result<RistrettoPoint, Error> {
    check_input(input)?;
    let element = hash_to_group(&[input]);
    if element.is_identity() {
        return Err(Error::InvalidInput);
    }
    Ok(element)
}

#[cfg(test)]
/// `Blind(input)` with a caller-chosen blind (RFC 9497 section 3.3.1):
/// `blind·HashToGroup(input)`. For known-answer tests and for callers that
/// manage their own blinds.
pub fn blind_with(input: &[u8], blind: &SecretScalar) -> Result<RistrettoPoint, Error> {
    if blind.is_zero() {
        return Err(Error::ZeroScalar);
    }
    Ok(input_element(input)? * blind.expose())
}

#[cfg(test)]
/// `Blind(input)` (RFC 9497 section 3.3.1): a fresh random blind and the
/// blinded element to send to the server.
pub fn blind<R: RngCore + CryptoRng + ?Sized>(
    input: &[u8],
    rng: &mut R,
) -> Result<(SecretScalar, RistrettoPoint), Error> {
    let blind = SecretScalar::random(rng);
    let blinded = blind_with(input, &blind)?;
    Ok((blind, blinded))
}

#[cfg(test)]
/// `Hash(I2OSP(len(input), 2) || input || I2OSP(32, 2) || N || "Finalize")`
/// with `N = blind^-1 · evaluated`.
fn unblind_and_hash(
    input: &[u8],
    blind: &SecretScalar,
    evaluated: &RistrettoPoint,
) -> Result<SecretBytes<OUTPUT_LEN>, Error> {
    check_input(input)?;
    if blind.is_zero() {
        return Err(Error::ZeroScalar);
    }
    let inverse = SecretScalar::new(blind.expose().invert());
    let unblinded = Zeroizing::new(encode_element(&(evaluated * inverse.expose())));
    Ok(finalize_hash(input, &unblinded))
}

#[cfg(test)]
fn finalize_hash(input: &[u8], element: &[u8; ELEMENT_LEN]) -> SecretBytes<OUTPUT_LEN> {
    let mut hasher = Sha512::new();
    hasher.update(i2osp2(input.len()));
    hasher.update(input);
    hasher.update(i2osp2(ELEMENT_LEN));
    hasher.update(element);
    hasher.update(b"Finalize");
    let mut digest: [u8; OUTPUT_LEN] = hasher.finalize().into();
    let output = SecretBytes::new(digest);
    digest.zeroize();
    output
}

#[cfg(test)]
/// The client's VOPRF `Finalize` (RFC 9497 section 3.3.2): verifies the
/// proof for the single pair, then unblinds and hashes.
pub fn finalize(
    input: &[u8],
    blind: &SecretScalar,
    evaluated: &RistrettoPoint,
    blinded: &RistrettoPoint,
    pk: &RistrettoPoint,
    proof: &Proof,
) -> Result<SecretBytes<OUTPUT_LEN>, Error> {
    verify_proof(pk, &[*blinded], &[*evaluated], proof)?;
    unblind_and_hash(input, blind, evaluated)
}

#[cfg(test)]
/// `Finalize` over a batch answered with one proof (RFC 9497 section 3.3.2,
/// "Clients can verify multiple inputs at once"): all four lists pair up by
/// index.
pub fn finalize_batch(
    inputs: &[&[u8]],
    blinds: &[SecretScalar],
    evaluated: &[RistrettoPoint],
    blinded: &[RistrettoPoint],
    pk: &RistrettoPoint,
    proof: &Proof,
) -> Result<Vec<SecretBytes<OUTPUT_LEN>>, Error> {
    for len in [blinds.len(), evaluated.len()] {
        if len != inputs.len() {
            return Err(Error::LengthMismatch {
                left: inputs.len(),
                right: len,
            });
        }
    }
    verify_proof(pk, blinded, evaluated, proof)?;
    inputs
        .iter()
        .zip(blinds)
        .zip(evaluated)
        .map(|((input, blind), element)| unblind_and_hash(input, blind, element))
        .collect()
}

#[cfg(test)]
/// The PRF evaluated directly by someone holding the key (RFC 9497
/// section 3.3.1 `Evaluate`); equals the client's [`finalize`] output.
pub fn evaluate(sk: &SecretScalar, input: &[u8]) -> Result<SecretBytes<OUTPUT_LEN>, Error> {
    let element = Zeroizing::new(encode_element(&(input_element(input)? * sk.expose())));
    Ok(finalize_hash(input, &element))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::group::{decode_element, decode_scalar, mul_base};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn unhex(s: &str) -> Vec<u8> {
        hex::decode(s).unwrap()
    }

    fn element(s: &str) -> RistrettoPoint {
        decode_element(&unhex(s)).unwrap()
    }

    fn secret(s: &str) -> SecretScalar {
        SecretScalar::new(decode_scalar(&unhex(s)).unwrap())
    }

    // RFC 9497 Appendix A.1.2, ristretto255-SHA512, VOPRF mode.
    const SEED: &str = "a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3a3";
    const KEY_INFO: &str = "74657374206b6579";
    const SK_SM: &str = "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909";
    const PK_SM: &str = "c803e2cc6b05fc15064549b5920659ca4a77b2cca6f04f6b357009335476ad4e";

    /// One RFC 9497 test vector; batch fields are index-aligned.
    struct Vector {
        inputs: &'static [&'static str],
        blinds: &'static [&'static str],
        blinded: &'static [&'static str],
        evaluated: &'static [&'static str],
        proof: &'static str,
        proof_random_scalar: &'static str,
        outputs: &'static [&'static str],
    }

    const VECTORS: [Vector; 3] = [
        // A.1.2.1, Test Vector 1, Batch Size 1.
        Vector {
            inputs: &["00"],
            blinds: &["64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"],
            blinded: &["863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945"],
            evaluated: &["aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e"],
            proof: "ddef93772692e535d1a53903db24367355cc2cc78de93b3be5a8ffcc6985dd06\
                    6d4346421d17bf5117a2a1ff0fcb2a759f58a539dfbe857a40bce4cf49ec600d",
            proof_random_scalar: "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
            outputs: &[
                "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7d\
                        a4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
            ],
        },
        // A.1.2.2, Test Vector 2, Batch Size 1.
        Vector {
            inputs: &["5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"],
            blinds: &["64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706"],
            blinded: &["cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c"],
            evaluated: &["60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468"],
            proof: "401a0da6264f8cf45bb2f5264bc31e109155600babb3cd4e5af7d181a2c9dc0a\
                    67154fabf031fd936051dec80b0b6ae29c9503493dde7393b722eafdf5a50b02",
            proof_random_scalar: "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
            outputs: &[
                "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60\
                        356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
            ],
        },
        // A.1.2.3, Test Vector 3, Batch Size 2.
        Vector {
            inputs: &["00", "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"],
            blinds: &[
                "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706",
                "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e",
            ],
            blinded: &[
                "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
                "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654",
            ],
            evaluated: &[
                "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e",
                "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a",
            ],
            proof: "cc203910175d786927eeb44ea847328047892ddf8590e723c37205cb74600b0a\
                    5ab5337c8eb4ceae0494c2cf89529dcf94572ed267473d567aeed6ab873dee08",
            proof_random_scalar: "419c4f4f5052c53c45f3da494d2b67b220d02118e0857cdbcf037f9ea84bbe0c",
            outputs: &[
                "b58cfbe118e0cb94d79b5fd6a6dafb98764dff49c14e1770b566e42402da1a7d\
                 a4d8527693914139caee5bd03903af43a491351d23b430948dd50cde10d32b3c",
                "8a9a2f3c7f085b65933594309041fc1898d42d0858e59f90814ae90571a6df60\
                 356f4610bf816f27afdd84f47719e480906d27ecd994985890e5f539e7ea74b6",
            ],
        },
    ];

    fn rfc_key() -> (SecretScalar, RistrettoPoint) {
        let seed: [u8; 32] = unhex(SEED).try_into().unwrap();
        derive_key_pair(&seed, &unhex(KEY_INFO)).unwrap()
    }

    /// The parsed blinded and evaluated elements and proof of a vector.
    fn parsed(v: &Vector) -> (Vec<RistrettoPoint>, Vec<RistrettoPoint>, Proof) {
        let blinded = v.blinded.iter().map(|s| element(s)).collect();
        let evaluated = v.evaluated.iter().map(|s| element(s)).collect();
        let proof = Proof::from_bytes(&unhex(v.proof)).unwrap();
        (blinded, evaluated, proof)
    }

    #[test]
    fn rfc9380_expand_message_xmd_sha512() {
        // RFC 9380 Appendix K.3, DST "QUUX-V01-CS02-with-expander-SHA512-256".
        let dst = b"QUUX-V01-CS02-with-expander-SHA512-256";
        assert_eq!(
            hex::encode(expand_message_xmd(&[b""], dst, 0x20).unwrap()),
            "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"
        );
        assert_eq!(
            hex::encode(expand_message_xmd(&[b"abc"], dst, 0x20).unwrap()),
            "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"
        );
        // Split message parts hash like their concatenation.
        assert_eq!(
            expand_message_xmd(&[b"a", b"", b"bc"], dst, 200).unwrap(),
            expand_message_xmd(&[b"abc"], dst, 200).unwrap()
        );
        assert_eq!(expand_message_xmd(&[b"abc"], dst, 200).unwrap().len(), 200);
    }

    #[test]
    fn expand_message_xmd_length_checks() {
        let dst = b"dst";
        assert_eq!(
            expand_message_xmd(&[b"x"], dst, 0),
            Err(Error::ExpandLength(0))
        );
        // ell = ceil(16321 / 64) = 256 > 255.
        assert_eq!(
            expand_message_xmd(&[b"x"], dst, 255 * 64 + 1),
            Err(Error::ExpandLength(255 * 64 + 1))
        );
        assert_eq!(
            expand_message_xmd(&[b"x"], dst, 255 * 64).unwrap().len(),
            255 * 64
        );
        assert_eq!(
            expand_message_xmd(&[b"x"], &[b'a'; 256], 64),
            Err(Error::DstTooLong(256))
        );
        assert!(expand_message_xmd(&[b"x"], &[b'a'; 255], 64).is_ok());
    }

    #[test]
    fn context_and_dsts_match_the_rfc() {
        assert_eq!(CONTEXT_STRING, b"OPRFV1-\x01-ristretto255-SHA512");
        for (prefix, dst) in [
            (&b"HashToGroup-"[..], HASH_TO_GROUP_DST),
            (b"HashToScalar-", HASH_TO_SCALAR_DST),
            (b"DeriveKeyPair", DERIVE_KEY_PAIR_DST),
            (b"Seed-", SEED_DST),
        ] {
            assert_eq!(dst, [prefix, CONTEXT_STRING].concat().as_slice());
        }
    }

    #[test]
    fn rfc9497_derive_key_pair() {
        let (sk, pk) = rfc_key();
        assert_eq!(hex::encode(sk.to_bytes().expose()), SK_SM);
        assert_eq!(hex::encode(encode_element(&pk)), PK_SM);
    }

    #[test]
    fn rfc9497_vectors_end_to_end() {
        let (sk, pk) = rfc_key();
        for (n, v) in VECTORS.iter().enumerate() {
            let inputs: Vec<Vec<u8>> = v.inputs.iter().map(|s| unhex(s)).collect();
            let blinds: Vec<SecretScalar> = v.blinds.iter().map(|s| secret(s)).collect();

            // Client: Blind.
            let blinded: Vec<RistrettoPoint> = inputs
                .iter()
                .zip(&blinds)
                .map(|(input, b)| blind_with(input, b).unwrap())
                .collect();
            let blinded_hex: Vec<String> = blinded
                .iter()
                .map(|b| hex::encode(encode_element(b)))
                .collect();
            assert_eq!(blinded_hex, v.blinded, "vector {n}: BlindedElement");

            // Server: BlindEvaluate with the vector's proof randomness.
            let evaluated: Vec<RistrettoPoint> = blinded.iter().map(|b| b * sk.expose()).collect();
            let evaluated_hex: Vec<String> = evaluated
                .iter()
                .map(|e| hex::encode(encode_element(e)))
                .collect();
            assert_eq!(evaluated_hex, v.evaluated, "vector {n}: EvaluationElement");
            let r = decode_scalar(&unhex(v.proof_random_scalar)).unwrap();
            let proof = generate_proof_with_randomness(
                &sk,
                &mul_base(&Scalar::ONE),
                &pk,
                &blinded,
                &evaluated,
                r,
            )
            .unwrap();
            assert_eq!(hex::encode(proof.to_bytes()), v.proof, "vector {n}: Proof");

            // Client: verify and Finalize.
            verify_proof(&pk, &blinded, &evaluated, &proof).unwrap();
            let input_refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
            let outputs =
                finalize_batch(&input_refs, &blinds, &evaluated, &blinded, &pk, &proof).unwrap();
            let outputs_hex: Vec<String> =
                outputs.iter().map(|o| hex::encode(o.expose())).collect();
            assert_eq!(outputs_hex, v.outputs, "vector {n}: Output");

            // Evaluate (the key holder's direct PRF) agrees.
            for (input, output) in inputs.iter().zip(&outputs) {
                assert_eq!(&evaluate(&sk, input).unwrap(), output);
            }
            if inputs.len() == 1 {
                let single = finalize(
                    &inputs[0],
                    &blinds[0],
                    &evaluated[0],
                    &blinded[0],
                    &pk,
                    &proof,
                )
                .unwrap();
                assert_eq!(hex::encode(single.expose()), v.outputs[0]);
            }
        }
    }

    #[test]
    fn rfc9497_vector_proofs_verify_as_published() {
        let pk = element(PK_SM);
        for v in &VECTORS {
            let (blinded, evaluated, proof) = parsed(v);
            verify_proof(&pk, &blinded, &evaluated, &proof).unwrap();
        }
    }

    #[test]
    fn altered_proofs_and_batches_are_rejected() {
        let pk = element(PK_SM);
        for (n, v) in VECTORS.iter().enumerate() {
            let (blinded, evaluated, proof) = parsed(v);
            let proof_bytes = proof.to_bytes();

            // A flipped bit in c, then in s (low bits keep the scalar canonical).
            for (what, byte) in [("c", 0usize), ("s", SCALAR_LEN)] {
                for bit in 0..8 {
                    let mut bad = proof_bytes;
                    bad[byte + 3] ^= 1 << bit;
                    let bad = Proof::from_bytes(&bad).unwrap();
                    assert_eq!(
                        verify_proof(&pk, &blinded, &evaluated, &bad),
                        Err(Error::InvalidProof),
                        "vector {n}: bit {bit} of {what}"
                    );
                }
            }

            let g = mul_base(&Scalar::ONE);
            for i in 0..blinded.len() {
                let mut bad = evaluated.clone();
                bad[i] += g;
                assert_eq!(
                    verify_proof(&pk, &blinded, &bad, &proof),
                    Err(Error::InvalidProof),
                    "vector {n}: evaluated[{i}] altered"
                );
                let mut bad = blinded.clone();
                bad[i] += g;
                assert_eq!(
                    verify_proof(&pk, &bad, &evaluated, &proof),
                    Err(Error::InvalidProof),
                    "vector {n}: blinded[{i}] altered"
                );
            }

            assert_eq!(
                verify_proof(&(pk + g), &blinded, &evaluated, &proof),
                Err(Error::InvalidProof),
                "vector {n}: wrong public key"
            );

            if blinded.len() > 1 {
                // Swapping both lists consistently still changes the transcript.
                let mut b = blinded.clone();
                let mut e = evaluated.clone();
                b.swap(0, 1);
                e.swap(0, 1);
                assert_eq!(
                    verify_proof(&pk, &b, &e, &proof),
                    Err(Error::InvalidProof),
                    "vector {n}: swapped order"
                );
                // Swapping only the answers pairs them with the wrong inputs.
                let mut e = evaluated.clone();
                e.swap(0, 1);
                assert_eq!(
                    verify_proof(&pk, &blinded, &e, &proof),
                    Err(Error::InvalidProof),
                    "vector {n}: swapped answers"
                );
                // A truncated batch.
                assert_eq!(
                    verify_proof(&pk, &blinded[..1], &evaluated[..1], &proof),
                    Err(Error::InvalidProof),
                    "vector {n}: truncated batch"
                );
                assert_eq!(
                    verify_proof(&pk, &blinded, &evaluated[..1], &proof),
                    Err(Error::LengthMismatch { left: 2, right: 1 })
                );
            }
        }
    }

    #[test]
    fn malformed_batches_are_rejected() {
        let (sk, pk) = rfc_key();
        let mut rng = StdRng::seed_from_u64(9);
        assert_eq!(
            blind_evaluate_batch(&sk, &pk, &[], &mut rng),
            Err(Error::EmptyBatch)
        );
        let proof = Proof {
            c: Scalar::ONE,
            s: Scalar::ONE,
        };
        assert_eq!(verify_proof(&pk, &[], &[], &proof), Err(Error::EmptyBatch));
        let identity = RistrettoPoint::default();
        let g = mul_base(&Scalar::ONE);
        assert_eq!(
            blind_evaluate_batch(&sk, &pk, &[g, identity], &mut rng),
            Err(Error::IdentityElement)
        );
        assert_eq!(
            verify_proof(&pk, &[identity], &[identity], &proof),
            Err(Error::IdentityElement)
        );
        assert_eq!(
            verify_proof(&identity, &[g], &[g], &proof),
            Err(Error::IdentityElement)
        );
        let too_many = vec![g; MAX_BATCH + 1];
        assert_eq!(
            blind_evaluate_batch(&sk, &pk, &too_many, &mut rng),
            Err(Error::BatchTooLarge(MAX_BATCH + 1))
        );
    }

    #[test]
    fn proof_encoding() {
        let v = &VECTORS[0];
        let bytes = unhex(v.proof);
        let proof = Proof::from_bytes(&bytes).unwrap();
        assert_eq!(proof.to_bytes().as_slice(), bytes.as_slice());
        assert_eq!(Proof::from_bytes(&bytes[..63]), Err(Error::ProofLength(63)));
        assert_eq!(Proof::from_bytes(&[]), Err(Error::ProofLength(0)));
        // A non-canonical s (top bit set).
        let mut bad = bytes.clone();
        bad[63] |= 0x80;
        assert_eq!(Proof::from_bytes(&bad), Err(Error::InvalidScalar));
        // Zero scalars are canonical and parse (they just will not verify).
        assert!(Proof::from_bytes(&[0u8; 64]).is_ok());
    }

    #[test]
    fn inputs_are_bounded() {
        let mut rng = StdRng::seed_from_u64(10);
        let long = vec![0u8; MAX_INPUT_LEN + 1];
        assert!(matches!(
            blind(&long, &mut rng),
            Err(Error::InputTooLong(_))
        ));
        assert!(blind(&long[..MAX_INPUT_LEN], &mut rng).is_ok());
        assert!(matches!(
            derive_key_pair(&[0; 32], &long),
            Err(Error::InputTooLong(_))
        ));
        assert_eq!(
            blind_with(b"x", &SecretScalar::new(Scalar::ZERO)),
            Err(Error::ZeroScalar)
        );
    }

    #[test]
    fn random_batch_round_trip() {
        let mut rng = StdRng::seed_from_u64(11);
        let sk = SecretScalar::random(&mut rng);
        let pk = sk.public();
        let inputs: Vec<Vec<u8>> = (0u8..10).map(|i| vec![i; usize::from(i) * 7]).collect();
        let mut blinds = Vec::new();
        let mut blinded = Vec::new();
        for input in &inputs {
            let (b, be) = blind(input, &mut rng).unwrap();
            blinds.push(b);
            blinded.push(be);
        }
        let (evaluated, proof) = blind_evaluate_batch(&sk, &pk, &blinded, &mut rng).unwrap();
        assert_eq!(evaluated.len(), 10);
        verify_proof(&pk, &blinded, &evaluated, &proof).unwrap();

        // The wire encoding round-trips and still verifies.
        let decoded = Proof::from_bytes(&proof.to_bytes()).unwrap();
        let blinded_wire: Vec<RistrettoPoint> = blinded
            .iter()
            .map(|b| decode_element(&encode_element(b)).unwrap())
            .collect();
        verify_proof(&pk, &blinded_wire, &evaluated, &decoded).unwrap();

        let input_refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
        let outputs =
            finalize_batch(&input_refs, &blinds, &evaluated, &blinded, &pk, &proof).unwrap();
        for (input, output) in inputs.iter().zip(&outputs) {
            assert_eq!(&evaluate(&sk, input).unwrap(), output);
        }

        // A proof made with another key does not verify under this one.
        let other = SecretScalar::random(&mut rng);
        let forged: Vec<RistrettoPoint> = blinded.iter().map(|b| b * other.expose()).collect();
        let (_, other_proof) =
            blind_evaluate_batch(&other, &other.public(), &blinded, &mut rng).unwrap();
        assert_eq!(
            verify_proof(&pk, &blinded, &forged, &other_proof),
            Err(Error::InvalidProof)
        );
        assert_eq!(
            verify_proof(&pk, &blinded, &evaluated, &other_proof),
            Err(Error::InvalidProof)
        );
    }
}
