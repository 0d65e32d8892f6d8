//! Feldman verifiable secret sharing: the one dealing primitive behind every
//! key lifecycle operation (docs/DESIGN.md section 5.1, docs/FORMAT.md
//! section 8).
//!
//! A dealer shares a scalar `a_0` with a random polynomial
//! `f(x) = a_0 + a_1 x + … + a_{t-1} x^{t-1}` and publishes the commitments
//! `C_k = a_k·G`. A recipient at `x = j` checks its share against them:
//! `f(j)·G = Σ_k j^k·C_k`, and anyone computes the recipient's public share
//! the same way. What the dealer shares decides the operation:
//!
//! - distributed key generation: each dealer a random `a_0` together with a
//!   Schnorr proof of knowledge of it ([`prove_constant`]), so nobody can
//!   pick a commitment that cancels the others' (rogue-key attack); the
//!   group key is `Σ_i C_{i,0}` and `k = Σ_i a_{i,0}` never exists anywhere;
//! - resharing, refresh and repair: each of `t` current holders shares its
//!   Lagrange-weighted share `λ_i·k_i`, whose commitment everyone checks
//!   against the public share (`C_{i,0} = λ_i·K_i`); the sums of the
//!   sub-shares are shares of the same `k` on a fresh polynomial, of any
//!   threshold, for any new set of participants.
//!
//! Everything here is pure; randomness is passed in.

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::VartimeMultiscalarMul;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha512};
use zeroize::Zeroizing;

use super::group::{
    decode_element, decode_scalar_allow_zero, encode_element, encode_scalar, mul_base,
    random_nonzero_scalar, Error, SecretScalar,
};
use super::shamir::SecretShare;

/// Domain separator of the proof-of-knowledge challenge.
const POK_LABEL: &[u8] = b"shardlock/v1 dkg proof of knowledge";
/// Length of an encoded proof of knowledge: `R ‖ z`.
pub const POK_LEN: usize = 64;

/// A dealer's public commitments `C_0 … C_{t-1}` to its polynomial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commitments(Vec<RistrettoPoint>);

impl Commitments {
    /// Wraps decoded commitments; at least one (the constant's).
    pub fn new(points: Vec<RistrettoPoint>) -> Result<Self, Error> {
        if points.is_empty() {
            return Err(Error::NoShares);
        }
        Ok(Self(points))
    }

    /// Decodes canonical encodings (the identity is refused, so no
    /// coefficient can be zero: dealers draw non-zero ones).
    pub fn decode(encoded: &[[u8; 32]]) -> Result<Self, Error> {
        Self::new(
            encoded
                .iter()
                .map(|e| decode_element(e))
                .collect::<Result<_, _>>()?,
        )
    }

    /// The encodings, in order.
    pub fn encode(&self) -> Vec<[u8; 32]> {
        self.0.iter().map(encode_element).collect()
    }

    /// The polynomial's threshold: the number of commitments.
    pub fn threshold(&self) -> usize {
        self.0.len()
    }

    /// `C_0 = a_0·G`, the commitment to the shared scalar.
    pub fn constant(&self) -> &RistrettoPoint {
        &self.0[0]
    }

    /// `f(x)·G`: the public share of the recipient at `x` (public data,
    /// so variable time).
    pub fn evaluate(&self, x: u16) -> RistrettoPoint {
        let x = Scalar::from(x);
        let mut power = Scalar::ONE;
        let powers: Vec<Scalar> = self
            .0
            .iter()
            .map(|_| {
                let p = power;
                power *= x;
                p
            })
            .collect();
        RistrettoPoint::vartime_multiscalar_mul(&powers, &self.0)
    }

    /// Whether `share` is the dealer's polynomial at the share's id.
    pub fn verifies(&self, share: &SecretShare) -> bool {
        // Constant-time equality; the evaluation itself is over public data.
        share.public_share() == self.evaluate(share.id())
    }
}

/// Shares `constant` with threshold `threshold` over `recipients`: the
/// commitments and one sub-share per recipient, in `recipients` order.
/// The coefficients are non-zero (so every commitment decodes) and are
/// zeroized before this returns.
pub fn deal<R: RngCore + CryptoRng + ?Sized>(
    constant: &SecretScalar,
    threshold: u16,
    recipients: &[u16],
    rng: &mut R,
) -> Result<(Commitments, Vec<SecretShare>), Error> {
    if threshold == 0 || usize::from(threshold) > recipients.len() {
        return Err(Error::BadThreshold {
            threshold,
            participants: recipients.len(),
        });
    }
    if constant.is_zero() {
        return Err(Error::ZeroScalar);
    }
    let mut coefficients: Zeroizing<Vec<Scalar>> =
        Zeroizing::new(Vec::with_capacity(usize::from(threshold)));
    coefficients.push(*constant.expose());
    for _ in 1..threshold {
        coefficients.push(random_nonzero_scalar(rng));
    }
    let commitments = Commitments(coefficients.iter().map(mul_base).collect());
    let shares = recipients
        .iter()
        .map(|&id| {
            let x = Scalar::from(id);
            let mut acc = Zeroizing::new(Scalar::ZERO);
            for coefficient in coefficients.iter().rev() {
                *acc = *acc * x + coefficient;
            }
            SecretShare::new(id, SecretScalar::new(*acc))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok((commitments, shares))
}

/// A Schnorr proof of knowledge of `a_0` for `C_0 = a_0·G`, bound to
/// `context` (the session and the dealer, so a proof cannot be replayed
/// into another run or by another dealer): `R = r·G`,
/// `c = SHA-512(label ‖ context ‖ C_0 ‖ R) mod ℓ`, `z = r + c·a_0`;
/// encoded `R ‖ z`.
pub fn prove_constant<R: RngCore + CryptoRng + ?Sized>(
    constant: &SecretScalar,
    context: &[u8],
    rng: &mut R,
) -> [u8; POK_LEN] {
    let r = Zeroizing::new(random_nonzero_scalar(rng));
    let big_r = mul_base(&r);
    let c = challenge(context, &constant.public(), &big_r);
    let z = *r + c * constant.expose();
    let mut out = [0u8; POK_LEN];
    out[..32].copy_from_slice(&encode_element(&big_r));
    out[32..].copy_from_slice(&encode_scalar(&z));
    out
}

/// Checks a proof from [`prove_constant`] against `C_0`.
pub fn verify_constant(commitment: &RistrettoPoint, context: &[u8], proof: &[u8]) -> bool {
    if proof.len() != POK_LEN {
        return false;
    }
    let (Ok(big_r), Ok(z)) = (
        decode_element(&proof[..32]),
        decode_scalar_allow_zero(&proof[32..]),
    ) else {
        return false;
    };
    let c = challenge(context, commitment, &big_r);
    mul_base(&z) == big_r + c * commitment
}

fn challenge(context: &[u8], commitment: &RistrettoPoint, big_r: &RistrettoPoint) -> Scalar {
    let mut h = Sha512::new();
    h.update(POK_LABEL);
    h.update((context.len() as u32).to_be_bytes());
    h.update(context);
    h.update(encode_element(commitment));
    h.update(encode_element(big_r));
    Scalar::from_hash(h)
}

/// A recipient's new share: the sum of the sub-shares it received, one per
/// dealer (all for its own id).
pub fn sum_shares(id: u16, parts: &[SecretShare]) -> Result<SecretShare, Error> {
    let mut acc = Zeroizing::new(Scalar::ZERO);
    for part in parts {
        if part.id() != id {
            return Err(Error::UnknownParticipant(part.id()));
        }
        *acc += part.value().expose();
    }
    let value = SecretScalar::new(*acc);
    if value.is_zero() {
        return Err(Error::ZeroScalar);
    }
    SecretShare::new(id, value)
}

/// Public share of participant `x` after a round: `Σ_i f_i(x)·G` over
/// every dealer's commitments.
pub fn sum_public(dealings: &[&Commitments], x: u16) -> RistrettoPoint {
    dealings.iter().map(|c| c.evaluate(x)).sum()
}

/// The group key after a round: `Σ_i C_{i,0}`.
pub fn sum_constants(dealings: &[&Commitments]) -> RistrettoPoint {
    dealings.iter().map(|c| *c.constant()).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::kem::{deal as trusted_deal, PublicKeyset};
    use crate::threshold::shamir::{combine_scalars, lagrange_at_zero};
    use rand::rngs::OsRng;

    /// Runs one resharing round: dealers `holders` (t of them) share their
    /// weighted shares to `new_ids` with threshold `t2`.
    fn reshare(
        holders: &[SecretShare],
        t2: u16,
        new_ids: &[u16],
    ) -> (Vec<SecretShare>, Vec<Commitments>) {
        let ids: Vec<u16> = holders.iter().map(SecretShare::id).collect();
        let mut received: Vec<Vec<SecretShare>> = vec![Vec::new(); new_ids.len()];
        let mut all = Vec::new();
        for holder in holders {
            let lambda = lagrange_at_zero(holder.id(), &ids).unwrap();
            let weighted = SecretScalar::new(lambda * holder.value().expose());
            let (commitments, subs) = deal(&weighted, t2, new_ids, &mut OsRng).unwrap();
            // Everyone can check the constant against the public share.
            assert_eq!(*commitments.constant(), lambda * holder.public_share());
            for (slot, sub) in received.iter_mut().zip(subs) {
                assert!(commitments.verifies(&sub));
                slot.push(sub);
            }
            all.push(commitments);
        }
        let shares = new_ids
            .iter()
            .zip(&received)
            .map(|(&id, parts)| sum_shares(id, parts).unwrap())
            .collect();
        (shares, all)
    }

    #[test]
    fn resharing_keeps_the_secret_under_a_new_threshold_and_set() {
        let (keyset, shares) = trusted_deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let secret = combine_scalars(&shares[..2]).unwrap();
        let (new_shares, commitments) = reshare(&shares[1..3], 3, &[1, 2, 3, 4, 5]);
        let refs: Vec<&Commitments> = commitments.iter().collect();
        assert_eq!(sum_constants(&refs), *keyset.group_key());
        let public: Vec<(u16, RistrettoPoint)> =
            (1..=5).map(|x| (x, sum_public(&refs, x))).collect();
        for share in &new_shares {
            assert_eq!(share.public_share(), public[usize::from(share.id()) - 1].1);
        }
        PublicKeyset::new(3, *keyset.group_key(), public).unwrap();
        assert_eq!(combine_scalars(&new_shares[2..5]).unwrap(), secret);
        // Two new shares are below the new threshold.
        assert_ne!(combine_scalars(&new_shares[..2]).unwrap(), secret);
    }

    #[test]
    fn an_old_share_combined_with_refreshed_ones_gives_nothing_usable() {
        let (_, shares) = trusted_deal(2, &[1, 2, 3], &mut OsRng).unwrap();
        let secret = combine_scalars(&shares[..2]).unwrap();
        let (fresh, _) = reshare(&shares[..2], 2, &[1, 2, 3]);
        assert_eq!(combine_scalars(&fresh[1..3]).unwrap(), secret);
        for old in &shares {
            for new in fresh.iter().filter(|s| s.id() != old.id()) {
                let mixed = [old.clone(), new.clone()];
                assert_ne!(combine_scalars(&mixed).unwrap(), secret);
            }
        }
    }

    #[test]
    fn distributed_generation_sums_the_dealers_constants() {
        let ids = [1u16, 2, 3];
        let mut received: Vec<Vec<SecretShare>> = vec![Vec::new(); 3];
        let mut all = Vec::new();
        let mut constants = Vec::new();
        for &dealer in &ids {
            let a0 = SecretScalar::random(&mut OsRng);
            let context = [b"session".as_slice(), &dealer.to_be_bytes()].concat();
            let proof = prove_constant(&a0, &context, &mut OsRng);
            let (commitments, subs) = deal(&a0, 2, &ids, &mut OsRng).unwrap();
            assert!(verify_constant(commitments.constant(), &context, &proof));
            // Bound to its context and its commitment.
            assert!(!verify_constant(commitments.constant(), b"other", &proof));
            assert!(!verify_constant(&mul_base(&Scalar::ONE), &context, &proof));
            let mut bad = proof;
            bad[40] ^= 1;
            assert!(!verify_constant(commitments.constant(), &context, &bad));
            for (slot, sub) in received.iter_mut().zip(subs) {
                slot.push(sub);
            }
            constants.push(a0);
            all.push(commitments);
        }
        let refs: Vec<&Commitments> = all.iter().collect();
        let group_key = sum_constants(&refs);
        let k: Scalar = constants.iter().map(|a| a.expose()).sum();
        assert_eq!(group_key, mul_base(&k));
        let shares: Vec<SecretShare> = ids
            .iter()
            .zip(&received)
            .map(|(&id, parts)| sum_shares(id, parts).unwrap())
            .collect();
        assert_eq!(*combine_scalars(&shares[..2]).unwrap().expose(), k);
    }

    #[test]
    fn a_wrong_sub_share_fails_its_commitments() {
        let a0 = SecretScalar::random(&mut OsRng);
        let (commitments, subs) = deal(&a0, 2, &[1, 2, 3], &mut OsRng).unwrap();
        let forged = SecretShare::new(2, subs[0].value().clone()).unwrap();
        assert!(!commitments.verifies(&forged));
        assert!(commitments.verifies(&subs[1]));
        let round_trip = Commitments::decode(&commitments.encode()).unwrap();
        assert_eq!(round_trip, commitments);
        assert!(Commitments::decode(&[[0u8; 32]]).is_err());
        assert!(deal(&a0, 4, &[1, 2, 3], &mut OsRng).is_err());
    }
}
