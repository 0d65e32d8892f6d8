//! Shamir secret sharing over the ristretto255 scalar field, Lagrange
//! coefficients, interpolation "in the exponent", and the consistency check
//! of a keyset's public shares (docs/DESIGN.md section 1, "Threshold key").
//!
//! Participant ids are the evaluation points `x_i`: non-zero `u16` values,
//! distinct within a keyset. Because every id is below 2^16 and the group
//! order ℓ is about 2^252, distinct ids are distinct field elements, so every
//! denominator `x_j - x_i` below is invertible.

use std::collections::BTreeSet;
use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, MultiscalarMul, VartimeMultiscalarMul};
use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::group::{random_scalar, Error, SecretScalar};

/// One participant's share `k_i = f(i)` of a secret `k = f(0)`.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretShare {
    /// The participant id, i.e. the evaluation point; never zero.
    pub id: u16,
    value: SecretScalar,
}

impl SecretShare {
    /// Builds a share from its parts (e.g. one loaded from disk).
    pub fn new(id: u16, value: SecretScalar) -> Result<Self, Error> {
        if id == 0 {
            return Err(Error::ParticipantIdZero);
        }
        Ok(Self { id, value })
    }

    /// The participant id.
    pub fn id(&self) -> u16 {
        self.id
    }

    /// The secret share value `k_i`.
    pub fn value(&self) -> &SecretScalar {
        &self.value
    }

    /// The public share `K_i = k_i·G`.
    pub fn public_share(&self) -> RistrettoPoint {
        self.value.public()
    }
}

impl fmt::Debug for SecretShare {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretShare")
            .field("id", &self.id)
            .field("value", &self.value)
            .finish()
    }
}

/// Checks that `ids` are non-zero and pairwise distinct.
fn validate_ids(ids: impl IntoIterator<Item = u16>) -> Result<(), Error> {
    let mut seen = BTreeSet::new();
    for id in ids {
        if id == 0 {
            return Err(Error::ParticipantIdZero);
        }
        if !seen.insert(id) {
            return Err(Error::DuplicateParticipant(id));
        }
    }
    Ok(())
}

fn check_threshold(threshold: u16, participants: usize) -> Result<(), Error> {
    if threshold == 0 || usize::from(threshold) > participants {
        return Err(Error::BadThreshold {
            threshold,
            participants,
        });
    }
    Ok(())
}

/// Splits `secret` into one share per id with a random polynomial of degree
/// `threshold - 1`, so that any `threshold` shares determine the secret and
/// fewer reveal nothing about it.
///
/// Refuses `threshold < 1`, `threshold > ids.len()`, and zero or duplicate
/// ids. The coefficients are zeroized before returning.
pub fn split<R: RngCore + CryptoRng + ?Sized>(
    secret: &SecretScalar,
    threshold: u16,
    ids: &[u16],
    rng: &mut R,
) -> Result<Vec<SecretShare>, Error> {
    check_threshold(threshold, ids.len())?;
    validate_ids(ids.iter().copied())?;

    // f(x) = a_0 + a_1 x + ... + a_{t-1} x^{t-1} with a_0 = secret. The other
    // coefficients are uniform (zero included), which is what makes any t-1
    // shares independent of the secret.
    let mut coefficients: Zeroizing<Vec<Scalar>> =
        Zeroizing::new(Vec::with_capacity(usize::from(threshold)));
    coefficients.push(*secret.expose());
    for _ in 1..threshold {
        coefficients.push(random_scalar(rng));
    }

    let shares = ids
        .iter()
        .map(|&id| {
            let x = Scalar::from(id);
            // Horner's rule from the highest coefficient down.
            let mut acc = Zeroizing::new(Scalar::ZERO);
            for coefficient in coefficients.iter().rev() {
                *acc = *acc * x + coefficient;
            }
            SecretShare {
                id,
                value: SecretScalar::new(*acc),
            }
        })
        .collect();
    Ok(shares)
}

/// The Lagrange basis coefficients `λ_i(x)` for evaluating at `x` the
/// polynomial of degree `< ids.len()` through the points at `ids`, in the
/// order of `ids`:
///
/// `λ_i(x) = Π_{j ≠ i} (x - x_j) / (x_i - x_j)`.
///
/// `ids` must already be validated (non-zero, distinct).
fn lagrange_coefficients_at(x: &Scalar, ids: &[u16]) -> Vec<Scalar> {
    ids.iter()
        .map(|&i| {
            let xi = Scalar::from(i);
            let mut numerator = Scalar::ONE;
            let mut denominator = Scalar::ONE;
            for &j in ids.iter().filter(|&&j| j != i) {
                let xj = Scalar::from(j);
                numerator *= x - xj;
                denominator *= xi - xj;
            }
            // Distinct ids below 2^16 are distinct mod ℓ, so the denominator
            // is non-zero and has an inverse.
            numerator * denominator.invert()
        })
        .collect()
}

/// `λ_i` for interpolating at `x = 0` over the participant set `ids`:
/// `λ_i = Π_{j ≠ i} x_j / (x_j - x_i)`.
///
/// `ids` must be non-zero and distinct, and `id` one of them.
pub fn lagrange_at_zero(id: u16, ids: &[u16]) -> Result<Scalar, Error> {
    validate_ids(ids.iter().copied())?;
    let position = ids
        .iter()
        .position(|&j| j == id)
        .ok_or(Error::UnknownParticipant(id))?;
    let xi = Scalar::from(id);
    let mut numerator = Scalar::ONE;
    let mut denominator = Scalar::ONE;
    for (k, &j) in ids.iter().enumerate() {
        if k != position {
            let xj = Scalar::from(j);
            numerator *= xj;
            denominator *= xj - xi;
        }
    }
    Ok(numerator * denominator.invert())
}

/// Interpolation in the exponent: given `(x_i, P_i = f(x_i)·Q)` for some
/// polynomial `f` and element `Q`, returns `f(0)·Q = Σ λ_i·P_i`.
///
/// Every given point is used, so pass exactly the `t` (or more) answers to
/// combine. Ids must be non-zero and distinct; at least one point is needed.
/// Constant time in the points, since they may be secret-dependent.
pub fn combine_elements(points: &[(u16, RistrettoPoint)]) -> Result<RistrettoPoint, Error> {
    if points.is_empty() {
        return Err(Error::NoShares);
    }
    let ids: Vec<u16> = points.iter().map(|(id, _)| *id).collect();
    validate_ids(ids.iter().copied())?;
    let lambdas = lagrange_coefficients_at(&Scalar::ZERO, &ids);
    Ok(RistrettoPoint::multiscalar_mul(
        &lambdas,
        points.iter().map(|(_, point)| point),
    ))
}

#[cfg(test)]
/// Recovers the secret `f(0) = Σ λ_i·k_i` from shares. Only the dealer's
/// tests and recovery tooling need this; in normal operation the secret is
/// never reassembled (decapsulation uses [`combine_elements`]).
pub fn combine_scalars(shares: &[SecretShare]) -> Result<SecretScalar, Error> {
    if shares.is_empty() {
        return Err(Error::NoShares);
    }
    let ids: Vec<u16> = shares.iter().map(|share| share.id).collect();
    validate_ids(ids.iter().copied())?;
    let lambdas = lagrange_coefficients_at(&Scalar::ZERO, &ids);
    let mut secret = Scalar::ZERO;
    for (lambda, share) in lambdas.iter().zip(shares) {
        secret += lambda * share.value.expose();
    }
    let result = SecretScalar::new(secret);
    zeroize::Zeroize::zeroize(&mut secret);
    Ok(result)
}

/// Verifies that a keyset's public shares `K_i` are consistent with its
/// group key `K` for threshold `t`: docs/DESIGN.md requires that every `t`-subset
/// of the shares interpolates (in the exponent) to `K`.
///
/// # Why checking one polynomial is equivalent to checking every subset
///
/// Checking all C(n, t) subsets is exponential, so this function instead
/// interpolates the degree `≤ t-1` polynomial `F` (in the exponent) through
/// the first `t` shares and checks (a) `F(0) = K` and (b) `F(x_j) = K_j` for
/// every remaining share `j`. The two conditions are equivalent:
///
/// - If (a) and (b) hold, all `n` shares and `(0, K)` lie on `F`. Any `t`
///   of the shares determine a unique polynomial of degree `≤ t-1`, which
///   must therefore be `F`, and it gives `K` at 0.
/// - Conversely, suppose every `t`-subset interpolates to `K`. Take the
///   first subset `S` with polynomial `F_S`, and `S' = S - {a} + {b}`. Both
///   `F_S` and `F_S'` have degree `≤ t-1` and agree on the `t-1` shared
///   points and at `(0, K)` (0 is never an id): `t` points, so `F_S = F_S'`
///   and `K_b = F_S(x_b)`. Every share outside `S` is reached by one such
///   swap, so (a) and (b) hold.
///
/// The group has prime order ℓ and the ids are distinct mod ℓ, so
/// interpolation in the exponent behaves exactly like over the field.
///
/// Also rejects `t < 1`, `t > n`, zero or duplicate ids, and identity
/// elements (an identity `K_i` means `k_i = 0`, a broken or hostile dealer).
///
/// On failure the error does not say which server is at fault: with a bad
/// share among the first `t`, every other share looks wrong too.
pub fn check_public_shares(
    group_key: &RistrettoPoint,
    threshold: u16,
    public_shares: &[(u16, RistrettoPoint)],
) -> Result<(), Error> {
    check_threshold(threshold, public_shares.len())?;
    validate_ids(public_shares.iter().map(|(id, _)| *id))?;
    if group_key.is_identity() || public_shares.iter().any(|(_, k)| k.is_identity()) {
        return Err(Error::IdentityElement);
    }

    let (basis, rest) = public_shares.split_at(usize::from(threshold));
    let basis_ids: Vec<u16> = basis.iter().map(|(id, _)| *id).collect();
    let basis_points: Vec<RistrettoPoint> = basis.iter().map(|(_, point)| *point).collect();

    // Everything here is public, so variable-time arithmetic is fine.
    let evaluate = |x: Scalar| {
        let lambdas = lagrange_coefficients_at(&x, &basis_ids);
        RistrettoPoint::vartime_multiscalar_mul(&lambdas, &basis_points)
    };

    if evaluate(Scalar::ZERO) != *group_key {
        return Err(Error::InconsistentShares);
    }
    for (id, share) in rest {
        if evaluate(Scalar::from(*id)) != *share {
            return Err(Error::InconsistentShares);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::threshold::group::mul_base;
    use proptest::prelude::*;
    use rand::rngs::StdRng;
    use rand::seq::SliceRandom;
    use rand::SeedableRng;

    fn ids(n: u16) -> Vec<u16> {
        (1..=n).collect()
    }

    /// All subsets of `items` of size `k`.
    fn subsets<T: Clone>(items: &[T], k: usize) -> Vec<Vec<T>> {
        if k == 0 {
            return vec![vec![]];
        }
        if items.len() < k {
            return vec![];
        }
        let mut with_first: Vec<Vec<T>> = subsets(&items[1..], k - 1)
            .into_iter()
            .map(|mut rest| {
                rest.insert(0, items[0].clone());
                rest
            })
            .collect();
        with_first.extend(subsets(&items[1..], k));
        with_first
    }

    fn public_shares(shares: &[SecretShare]) -> Vec<(u16, RistrettoPoint)> {
        shares.iter().map(|s| (s.id, s.public_share())).collect()
    }

    #[test]
    fn split_combine_round_trip_every_subset() {
        let mut rng = StdRng::seed_from_u64(1);
        for (t, n) in [(1, 1), (1, 3), (2, 3), (3, 5), (5, 5), (4, 7)] {
            let secret = SecretScalar::random(&mut rng);
            let shares = split(&secret, t, &ids(n), &mut rng).unwrap();
            assert_eq!(shares.len(), usize::from(n));
            for subset in subsets(&shares, usize::from(t)) {
                assert_eq!(combine_scalars(&subset).unwrap(), secret, "{t}-of-{n}");
                // More than t shares also interpolate to the secret.
            }
            assert_eq!(combine_scalars(&shares).unwrap(), secret);
            if t > 1 {
                for subset in subsets(&shares, usize::from(t - 1)) {
                    assert_ne!(combine_scalars(&subset).unwrap(), secret, "{t}-of-{n}");
                }
            }
        }
    }

    #[test]
    fn combine_elements_interpolates_in_the_exponent() {
        let mut rng = StdRng::seed_from_u64(2);
        let secret = SecretScalar::random(&mut rng);
        let shares = split(&secret, 3, &[3, 9, 17, 200, 65535], &mut rng).unwrap();
        // Evaluations k_i·B of a random base B combine to k·B.
        let base = mul_base(&Scalar::random(&mut rng));
        let expected = base * secret.expose();
        for subset in subsets(&shares, 3) {
            let points: Vec<(u16, RistrettoPoint)> = subset
                .iter()
                .map(|s| (s.id, base * s.value().expose()))
                .collect();
            assert_eq!(combine_elements(&points).unwrap(), expected);
        }
        let two: Vec<(u16, RistrettoPoint)> = shares[..2]
            .iter()
            .map(|s| (s.id, base * s.value().expose()))
            .collect();
        assert_ne!(combine_elements(&two).unwrap(), expected);
    }

    #[test]
    fn lagrange_coefficients_sum_to_one_and_reject_bad_sets() {
        // Σ λ_i = 1 because the constant polynomial 1 interpolates to 1.
        let set = [2u16, 5, 11, 40];
        let sum: Scalar = set
            .iter()
            .map(|&id| lagrange_at_zero(id, &set).unwrap())
            .sum();
        assert_eq!(sum, Scalar::ONE);
        assert_eq!(lagrange_at_zero(7, &[7]).unwrap(), Scalar::ONE);
        // 2-of-{1,2}: λ_1 = 2, λ_2 = -1.
        assert_eq!(lagrange_at_zero(1, &[1, 2]).unwrap(), Scalar::from(2u8));
        assert_eq!(lagrange_at_zero(2, &[1, 2]).unwrap(), -Scalar::ONE);
        assert_eq!(
            lagrange_at_zero(3, &[1, 2]),
            Err(Error::UnknownParticipant(3))
        );
        assert_eq!(
            lagrange_at_zero(1, &[1, 2, 1]),
            Err(Error::DuplicateParticipant(1))
        );
        assert_eq!(lagrange_at_zero(1, &[0, 1]), Err(Error::ParticipantIdZero));
    }

    #[test]
    fn split_rejects_bad_parameters() {
        let mut rng = StdRng::seed_from_u64(3);
        let secret = SecretScalar::random(&mut rng);
        assert_eq!(
            split(&secret, 0, &[1, 2], &mut rng),
            Err(Error::BadThreshold {
                threshold: 0,
                participants: 2
            })
        );
        assert_eq!(
            split(&secret, 3, &[1, 2], &mut rng),
            Err(Error::BadThreshold {
                threshold: 3,
                participants: 2
            })
        );
        assert!(matches!(
            split(&secret, 1, &[], &mut rng),
            Err(Error::BadThreshold { .. })
        ));
        assert_eq!(
            split(&secret, 2, &[1, 0, 3], &mut rng),
            Err(Error::ParticipantIdZero)
        );
        assert_eq!(
            split(&secret, 2, &[1, 4, 4], &mut rng),
            Err(Error::DuplicateParticipant(4))
        );
        assert_eq!(
            SecretShare::new(0, secret.clone()),
            Err(Error::ParticipantIdZero)
        );
    }

    #[test]
    fn combine_rejects_empty_and_duplicates() {
        assert_eq!(combine_elements(&[]), Err(Error::NoShares));
        assert!(matches!(combine_scalars(&[]), Err(Error::NoShares)));
        let p = mul_base(&Scalar::ONE);
        assert_eq!(
            combine_elements(&[(1, p), (1, p)]),
            Err(Error::DuplicateParticipant(1))
        );
        assert_eq!(combine_elements(&[(0, p)]), Err(Error::ParticipantIdZero));
    }

    #[test]
    fn share_debug_is_redacted() {
        let mut rng = StdRng::seed_from_u64(4);
        let secret = SecretScalar::random(&mut rng);
        let share = &split(&secret, 1, &[9], &mut rng).unwrap()[0];
        assert_eq!(
            format!("{share:?}"),
            "SecretShare { id: 9, value: [redacted] }"
        );
    }

    #[test]
    fn check_public_shares_accepts_honest_keysets() {
        let mut rng = StdRng::seed_from_u64(5);
        for (t, n) in [(1, 1), (1, 3), (2, 3), (3, 5), (5, 5)] {
            let secret = SecretScalar::random(&mut rng);
            let shares = split(&secret, t, &ids(n), &mut rng).unwrap();
            let mut public = public_shares(&shares);
            check_public_shares(&secret.public(), t, &public).unwrap();
            // Order does not matter.
            public.reverse();
            check_public_shares(&secret.public(), t, &public).unwrap();
        }
    }

    #[test]
    fn check_public_shares_rejects_tampering() {
        let mut rng = StdRng::seed_from_u64(6);
        let secret = SecretScalar::random(&mut rng);
        let group_key = secret.public();
        let shares = split(&secret, 3, &ids(5), &mut rng).unwrap();
        let honest = public_shares(&shares);
        let g = mul_base(&Scalar::ONE);

        // One altered share, in the basis or outside it.
        for index in 0..honest.len() {
            let mut altered = honest.clone();
            altered[index].1 += g;
            assert_eq!(
                check_public_shares(&group_key, 3, &altered),
                Err(Error::InconsistentShares),
                "altered share {index}"
            );
        }

        // Two ids swapped (the shares are attributed to the wrong servers).
        let mut swapped = honest.clone();
        let (a, b) = (swapped[1].0, swapped[3].0);
        swapped[1].0 = b;
        swapped[3].0 = a;
        assert_eq!(
            check_public_shares(&group_key, 3, &swapped),
            Err(Error::InconsistentShares)
        );

        // A wrong group key.
        assert_eq!(
            check_public_shares(&(group_key + g), 3, &honest),
            Err(Error::InconsistentShares)
        );

        // A wrong threshold: the shares lie on a degree-2 polynomial.
        assert_eq!(
            check_public_shares(&group_key, 2, &honest),
            Err(Error::InconsistentShares)
        );
    }

    #[test]
    fn check_public_shares_rejects_malformed_sets() {
        let mut rng = StdRng::seed_from_u64(7);
        let secret = SecretScalar::random(&mut rng);
        let k = secret.public();
        let shares = public_shares(&split(&secret, 2, &ids(3), &mut rng).unwrap());
        assert!(matches!(
            check_public_shares(&k, 0, &shares),
            Err(Error::BadThreshold { .. })
        ));
        assert!(matches!(
            check_public_shares(&k, 4, &shares),
            Err(Error::BadThreshold { .. })
        ));
        let mut duplicate = shares.clone();
        duplicate[2].0 = duplicate[0].0;
        assert_eq!(
            check_public_shares(&k, 2, &duplicate),
            Err(Error::DuplicateParticipant(duplicate[0].0))
        );
        let mut zero = shares.clone();
        zero[1].0 = 0;
        assert_eq!(
            check_public_shares(&k, 2, &zero),
            Err(Error::ParticipantIdZero)
        );
        let mut identity = shares.clone();
        identity[1].1 = RistrettoPoint::default();
        assert_eq!(
            check_public_shares(&k, 2, &identity),
            Err(Error::IdentityElement)
        );
        assert_eq!(
            check_public_shares(&RistrettoPoint::default(), 2, &shares),
            Err(Error::IdentityElement)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        #[test]
        fn prop_random_threshold_round_trip(
            n in 1u16..=7,
            t_seed in 0u16..7,
            id_seed in any::<u64>(),
            rng_seed in any::<u64>(),
        ) {
            let t = 1 + t_seed % n;
            let mut rng = StdRng::seed_from_u64(rng_seed);
            // Random distinct non-zero ids, not just 1..=n.
            let mut id_rng = StdRng::seed_from_u64(id_seed);
            let mut pool: Vec<u16> = (1..=1000).collect();
            pool.shuffle(&mut id_rng);
            let chosen = &pool[..usize::from(n)];

            let secret = SecretScalar::random(&mut rng);
            let shares = split(&secret, t, chosen, &mut rng).unwrap();
            let public = public_shares(&shares);
            prop_assert!(check_public_shares(&secret.public(), t, &public).is_ok());

            let mut subset = shares.clone();
            subset.shuffle(&mut rng);
            subset.truncate(usize::from(t));
            prop_assert_eq!(combine_scalars(&subset).unwrap(), secret.clone());

            let points: Vec<(u16, RistrettoPoint)> =
                subset.iter().map(|s| (s.id, s.public_share())).collect();
            prop_assert_eq!(combine_elements(&points).unwrap(), secret.public());

            if t > 1 {
                subset.truncate(usize::from(t - 1));
                prop_assert_ne!(combine_scalars(&subset).unwrap(), secret.clone());
            }
        }
    }
}
