//! The threshold ElGamal KEM of docs/DESIGN.md section 1: a shared secret
//! `Z` that the encrypter computes alone and that only `t` servers together
//! can recompute. Turning `Z` into a key-encryption key and wrapping a data
//! key with it is the envelope's job (`envelope::keywrap`); this module
//! stays pure group arithmetic and protocol logic.
//!
//! Encapsulation is offline (needs only the keyset's public key):
//!
//! ```text
//! r <- random non-zero scalar;  W = r·G;  Z = r·K
//! ```
//!
//! Decapsulation is oblivious, threshold and verifiable: the client blinds
//! `W` with a fresh `a` per file, any `t` servers evaluate `E_i = k_i·a·W`
//! with an RFC 9497 batch DLEQ proof against their public share `K_i`, and
//! the client recombines `Z = a⁻¹·Σ λ_i·E_i`. Servers see neither `W` nor
//! `Z`, and a server that answers wrongly is caught by its proof, named, and
//! replaced by another.
//!
//! The servers are reached through the [`KeyService`] trait; this module
//! holds only the protocol logic, so the in-process evaluator used by tests
//! and the HTTPS client exercise the same code.

use std::collections::BTreeMap;
use std::fmt;

use std::sync::{Arc, OnceLock};

use curve25519_dalek::ristretto::{RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::MultiscalarMul;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::group::{
    decode_element, encode_element, mul_base, random_nonzero_scalar, Error, SecretScalar,
};
use super::shamir::{check_public_shares, lagrange_at_zero, split, SecretShare};
use super::voprf::{verify_proof, Proof};
use crate::secret::SecretBytes;

/// Domain separator of the keyset id hash.
const KEYSET_ID_LABEL: &[u8] = b"shardlock/v1 keyset";
/// Most elements in one evaluate request: bounds server work per request and
/// the client's memory, while 10,000 files still cost only ~10 round trips.
pub const MAX_BATCH: usize = 1024;

/// The public half of a threshold key: what a client needs to encrypt and
/// to check servers' answers. Its id commits to all of it.
#[derive(Clone)]
pub struct PublicKeyset {
    id: [u8; 32],
    /// Which generation of shares this is (docs/FORMAT.md section 8):
    /// 0 when created; every refresh, repair or reshare adds one. The id
    /// and `K` stay the same across epochs.
    epoch: u32,
    threshold: u16,
    group_key: RistrettoPoint,
    /// `K` encoded, for the KEK's HKDF info.
    group_key_bytes: [u8; 32],
    /// `(participant id, K_i)`, sorted by id.
    shares: Vec<(u16, RistrettoPoint)>,
    /// Precomputed multiples of `K`, built on first use: encrypting a tree
    /// computes `r·K` once per file, and a fixed-base table makes that
    /// several times cheaper (still constant time).
    group_table: Arc<OnceLock<RistrettoBasepointTable>>,
}

impl PartialEq for PublicKeyset {
    fn eq(&self, other: &Self) -> bool {
        // The id commits to every public part of epoch 0; later epochs
        // share it, so compare what changes too.
        self.id == other.id
            && self.epoch == other.epoch
            && self.threshold == other.threshold
            && self.shares == other.shares
    }
}

impl Eq for PublicKeyset {}

impl fmt::Debug for PublicKeyset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PublicKeyset")
            .field("id", &crate::encoding::hex(&self.id))
            .field("epoch", &self.epoch)
            .field("threshold", &self.threshold)
            .field("participants", &self.participants())
            .finish()
    }
}

impl PublicKeyset {
    /// Builds a keyset after checking that the public shares are consistent
    /// with the group key (so any `t` of them recombine to `K`).
    pub fn new(
        threshold: u16,
        group_key: RistrettoPoint,
        mut shares: Vec<(u16, RistrettoPoint)>,
    ) -> Result<Self, Error> {
        shares.sort_by_key(|(id, _)| *id);
        check_public_shares(&group_key, threshold, &shares)?;
        let mut h = Sha256::new();
        h.update(KEYSET_ID_LABEL);
        h.update(threshold.to_be_bytes());
        h.update((shares.len() as u16).to_be_bytes());
        h.update(encode_element(&group_key));
        for (id, share) in &shares {
            h.update(id.to_be_bytes());
            h.update(encode_element(share));
        }
        Ok(Self {
            id: h.finalize().into(),
            epoch: 0,
            threshold,
            group_key,
            group_key_bytes: encode_element(&group_key),
            shares,
            group_table: Arc::default(),
        })
    }

    /// A later epoch of keyset `id`: new public shares (and perhaps a new
    /// threshold and participant set) for the same `K`, checked to be
    /// consistent with it. The id is not recomputed: it is the id of
    /// epoch 0, which every file's KEK salt holds (docs/FORMAT.md
    /// section 8.1). Epoch 0 goes through [`PublicKeyset::new`].
    pub fn at_epoch(
        id: [u8; 32],
        epoch: u32,
        threshold: u16,
        group_key: RistrettoPoint,
        shares: Vec<(u16, RistrettoPoint)>,
    ) -> Result<Self, Error> {
        let mut keyset = Self::new(threshold, group_key, shares)?;
        if epoch == 0 && keyset.id != id {
            return Err(Error::InconsistentShares);
        }
        keyset.id = id;
        keyset.epoch = epoch;
        Ok(keyset)
    }

    /// The keyset id: at epoch 0, SHA-256 over the threshold and every
    /// public part; the same at every later epoch.
    pub fn id(&self) -> &[u8; 32] {
        &self.id
    }

    /// The epoch of these public shares.
    pub fn epoch(&self) -> u32 {
        self.epoch
    }

    /// How many servers must answer.
    pub fn threshold(&self) -> u16 {
        self.threshold
    }

    /// The group key `K = k·G`.
    pub fn group_key(&self) -> &RistrettoPoint {
        &self.group_key
    }

    /// `K` encoded (it goes into the KEK's HKDF info).
    pub fn group_key_bytes(&self) -> &[u8; 32] {
        &self.group_key_bytes
    }

    /// `(participant id, K_i)` pairs, sorted by id.
    pub fn shares(&self) -> &[(u16, RistrettoPoint)] {
        &self.shares
    }

    /// Participant ids, ascending.
    pub fn participants(&self) -> Vec<u16> {
        self.shares.iter().map(|(id, _)| *id).collect()
    }

    /// `K_i` of one participant.
    pub fn public_share(&self, participant: u16) -> Option<&RistrettoPoint> {
        self.shares
            .iter()
            .find(|(id, _)| *id == participant)
            .map(|(_, k)| k)
    }
}

/// A trusted dealer: draws `k`, splits it over `participants` with
/// threshold `t`, and returns the public keyset with the secret shares to
/// deliver. `k` and the polynomial are zeroized before this returns.
pub fn deal<R: RngCore + CryptoRng>(
    threshold: u16,
    participants: &[u16],
    rng: &mut R,
) -> Result<(PublicKeyset, Vec<SecretShare>), Error> {
    let secret = SecretScalar::random(rng);
    let shares = split(&secret, threshold, participants, rng)?;
    let public = shares.iter().map(|s| (s.id(), s.public_share())).collect();
    let keyset = PublicKeyset::new(threshold, secret.public(), public)?;
    Ok((keyset, shares))
}

/// The encoded shared secret `Z = r·K = k·W`: zeroized on drop.
pub type SharedSecret = SecretBytes<32>;

/// What encapsulation yields: `W`, to be stored with the file, and `Z`, to
/// derive the key-encryption key from and then forget.
#[derive(Debug)]
pub struct Encapsulation {
    /// The encoded ephemeral element `W = r·G`.
    pub ephemeral: [u8; 32],
    /// The encoded shared secret `Z = r·K`.
    pub secret: SharedSecret,
}

/// 1/2 mod ℓ, computed once.
fn inverse_of_two() -> Scalar {
    static INVERSE: OnceLock<Scalar> = OnceLock::new();
    *INVERSE.get_or_init(|| Scalar::from(2u8).invert())
}

/// Draws a fresh `r` and returns `W = r·G` and `Z = r·K`. Needs no
/// server: only the public group key.
pub fn encapsulate<R: RngCore + CryptoRng>(keyset: &PublicKeyset, rng: &mut R) -> Encapsulation {
    let r = SecretScalar::new(random_nonzero_scalar(rng));
    // W = r·G and Z = r·K are both needed only encoded. Encoding costs an
    // inversion each; computing (r/2)·G and (r/2)·K and letting
    // double_and_compress_batch encode their doubles shares one inversion
    // between the two (and a tree of small files pays this per file).
    let half = SecretScalar::new(r.expose() * inverse_of_two());
    let table = keyset
        .group_table
        .get_or_init(|| RistrettoBasepointTable::create(&keyset.group_key));
    let encoded = RistrettoPoint::double_and_compress_batch(&[
        mul_base(half.expose()),
        table * half.expose(),
    ]);
    match encoded.as_slice() {
        [w, z] => Encapsulation {
            ephemeral: w.to_bytes(),
            secret: SharedSecret::new(z.to_bytes()),
        },
        _ => unreachable!("two points in, two encodings out"),
    }
}

/// One server's answer to an evaluate request.
#[derive(Debug, Clone)]
pub struct Evaluation {
    /// `E_j = k_i·B_j`, in request order.
    pub evaluated: Vec<RistrettoPoint>,
    /// RFC 9497 batch DLEQ proof that `log_G K_i = log_{B_j} E_j` for all j.
    pub proof: Proof,
}

/// Why a server gave no usable answer, as reported by a [`KeyService`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceError {
    /// Could not be reached, timed out, or failed at the transport level.
    #[error("unreachable: {0}")]
    Unavailable(String),
    /// Reached, but refused the request (authentication, rate limit...).
    #[error("refused: {0}")]
    Refused(String),
    /// Answered with something that does not parse.
    #[error("malformed answer: {0}")]
    Malformed(String),
}

/// Access to the key-share servers of a keyset. Implementations decide how
/// requests travel (in-process, HTTPS) and should query the given
/// participants concurrently.
pub trait KeyService {
    /// Asks each of `participants` to evaluate `blinded` under its share of
    /// `keyset`; returns one result per participant, in the same order.
    fn evaluate(
        &self,
        keyset: &PublicKeyset,
        participants: &[u16],
        blinded: &[RistrettoPoint],
    ) -> Vec<Result<Evaluation, ServiceError>>;

    /// A human-readable name for a participant (its URL), for messages.
    fn describe(&self, participant: u16) -> String {
        format!("server {participant}")
    }

    /// Gets `needed` answers that pass `check`, asking `candidates` in the
    /// caller's order of preference, and returns the outcome of every
    /// server whose answer it waited for, in the order they were judged.
    ///
    /// The caller verifies (only it knows what a correct answer is); the
    /// service decides when to ask whom, which is where tail latency is
    /// won or lost. This default asks `needed` servers at a time through
    /// [`KeyService::evaluate`] and replaces each failure with the next
    /// candidate; a service over a real network overrides it to hedge
    /// slow servers (`client::http`).
    fn gather(
        &self,
        keyset: &PublicKeyset,
        candidates: &[u16],
        needed: usize,
        blinded: &[RistrettoPoint],
        check: &mut dyn FnMut(u16, Result<Evaluation, ServiceError>) -> Result<Evaluation, Fault>,
    ) -> Vec<(u16, Result<Evaluation, Fault>)> {
        let mut outcomes = Vec::new();
        let mut valid = 0;
        let mut rest = candidates.iter().copied();
        while valid < needed {
            let ask: Vec<u16> = rest.by_ref().take(needed - valid).collect();
            if ask.is_empty() {
                break;
            }
            let mut answers = self.evaluate(keyset, &ask, blinded).into_iter();
            for id in ask {
                let answer = answers
                    .next()
                    .unwrap_or_else(|| Err(ServiceError::Malformed("no answer".into())));
                let outcome = check(id, answer);
                valid += usize::from(outcome.is_ok());
                outcomes.push((id, outcome));
            }
        }
        outcomes
    }
}

/// What went wrong with one participant during decapsulation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// The service could not get an answer from it.
    #[error("{0}")]
    Service(#[from] ServiceError),
    /// It answered with evaluations its proof does not cover: it is faulty
    /// or lying, and its answer was discarded.
    #[error("returned an evaluation with an invalid proof (faulty or malicious server)")]
    BadProof,
    /// It answered a different number of elements than asked.
    #[error("returned {got} elements for {expected} asked")]
    WrongCount {
        /// Elements sent.
        expected: usize,
        /// Elements returned.
        got: usize,
    },
}

/// A participant that failed, with its name and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParticipantFault {
    /// Participant id.
    pub participant: u16,
    /// How the service names it (e.g. its URL).
    pub name: String,
    /// What went wrong.
    pub fault: Fault,
}

impl fmt::Display for ParticipantFault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (participant {}): {}",
            self.name, self.participant, self.fault
        )
    }
}

/// Why a shared secret could not be recomputed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KemError {
    /// `W` is not a valid group element (corrupt or forged stanza).
    #[error("the file's key stanza is corrupt (invalid ephemeral element)")]
    InvalidEphemeral,
    /// Fewer than `t` servers gave valid answers.
    #[error("{}", not_enough_message(*needed, faults))]
    NotEnoughServers {
        /// The threshold.
        needed: u16,
        /// Every server that failed, and why.
        faults: Vec<ParticipantFault>,
    },
}

fn not_enough_message(needed: u16, faults: &[ParticipantFault]) -> String {
    // A client revoked (or not known) at every server that refused it is
    // not helped by restarting servers.
    let refused = |f: &ParticipantFault| {
        matches!(&f.fault, Fault::Service(ServiceError::Refused(m))
            if m.contains("token revoked") || m.contains("invalid token"))
    };
    let mut msg = if !faults.is_empty() && faults.iter().all(refused) {
        format!(
            "fewer than {needed} key-share servers accept this machine's client token: it was \
             revoked (or never issued there); ask the keyset's owner for a new client \
             (`shardlock keyset add-client`):"
        )
    } else {
        format!(
            "fewer than {needed} key-share servers answered correctly; start or fix enough of \
             them and retry:"
        )
    };
    for fault in faults {
        msg.push_str("\n  - ");
        msg.push_str(&fault.to_string());
    }
    msg
}

/// Result of a batch decapsulation.
#[derive(Debug)]
pub struct Decapsulation {
    /// One entry per input `W`, in order.
    pub secrets: Vec<Result<SharedSecret, KemError>>,
    /// Servers that failed along the way although enough others answered.
    /// A [`Fault::BadProof`] here deserves a loud warning.
    pub faults: Vec<ParticipantFault>,
}

/// Recomputes `Z = k·W` for many ephemeral elements with as few requests as
/// possible: one request per server per [`MAX_BATCH`] elements. An invalid
/// `W` fails only its own entry (and never reaches a server); too few
/// honest servers fails the whole call.
pub fn decapsulate_batch<S: KeyService + ?Sized, R: RngCore + CryptoRng>(
    keyset: &PublicKeyset,
    service: &S,
    ephemerals: &[[u8; 32]],
    rng: &mut R,
) -> Result<Decapsulation, KemError> {
    let mut secrets: Vec<Option<Result<SharedSecret, KemError>>> = vec![None; ephemerals.len()];
    // Decode first; bad elements never reach a server.
    let mut pending = Vec::new();
    for (index, ephemeral) in ephemerals.iter().enumerate() {
        match decode_element(ephemeral) {
            Ok(w) => pending.push((index, w)),
            Err(_) => secrets[index] = Some(Err(KemError::InvalidEphemeral)),
        }
    }

    let mut scheduler = Scheduler::new(keyset);
    for batch in pending.chunks(MAX_BATCH) {
        // B_j = a_j·W_j with a fresh blind per file, so answers for one file
        // cannot be linked to another or to W.
        let blinds: Vec<SecretScalar> = batch
            .iter()
            .map(|_| SecretScalar::new(random_nonzero_scalar(rng)))
            .collect();
        let blinded: Vec<RistrettoPoint> = batch
            .iter()
            .zip(&blinds)
            .map(|((_, w), a)| w * a.expose())
            .collect();
        let answers = scheduler.collect(service, &blinded)?;

        // Z_j = a_j⁻¹ · Σ λ_i·E_ij, as one multiscalar multiplication.
        let ids: Vec<u16> = answers.iter().map(|(id, _)| *id).collect();
        let lambdas = ids
            .iter()
            .map(|&id| lagrange_at_zero(id, &ids))
            .collect::<Result<Vec<Scalar>, Error>>()
            .map_err(|_| KemError::NotEnoughServers {
                needed: keyset.threshold,
                faults: scheduler.faults.clone(),
            })?;
        let mut inverses: Zeroizing<Vec<Scalar>> =
            Zeroizing::new(blinds.iter().map(|a| *a.expose()).collect());
        Scalar::batch_invert(&mut inverses);
        for (j, (index, _)) in batch.iter().enumerate() {
            let coefficients: Zeroizing<Vec<Scalar>> =
                Zeroizing::new(lambdas.iter().map(|l| l * inverses[j]).collect());
            let z = RistrettoPoint::multiscalar_mul(
                coefficients.iter(),
                answers.iter().map(|(_, e)| &e.evaluated[j]),
            );
            secrets[*index] = Some(Ok(SharedSecret::new(encode_element(&z))));
        }
    }

    Ok(Decapsulation {
        secrets: secrets
            .into_iter()
            .map(|k| k.unwrap_or(Err(KemError::InvalidEphemeral)))
            .collect(),
        faults: scheduler.faults,
    })
}

/// Chooses which servers to ask, across batches: those that answered well
/// before come first, untried ones next, and failed ones only as a last
/// resort, so a dead server costs one timeout per run rather than per batch.
struct Scheduler<'k> {
    keyset: &'k PublicKeyset,
    good: Vec<u16>,
    failed: BTreeMap<u16, ()>,
    faults: Vec<ParticipantFault>,
}

impl<'k> Scheduler<'k> {
    fn new(keyset: &'k PublicKeyset) -> Self {
        Self {
            keyset,
            good: Vec::new(),
            failed: BTreeMap::new(),
            faults: Vec::new(),
        }
    }

    fn order(&self) -> Vec<u16> {
        let mut order = self.good.clone();
        let all = self.keyset.participants();
        order.extend(
            all.iter()
                .filter(|id| !self.good.contains(id) && !self.failed.contains_key(id)),
        );
        order.extend(
            all.iter()
                .filter(|id| self.failed.contains_key(id) && !self.good.contains(id)),
        );
        order
    }

    /// Gets `t` verified evaluations of `blinded` through
    /// [`KeyService::gather`], which replaces each failure with another
    /// server (and may hedge a slow one), then remembers who failed.
    fn collect<S: KeyService + ?Sized>(
        &mut self,
        service: &S,
        blinded: &[RistrettoPoint],
    ) -> Result<Vec<(u16, Evaluation)>, KemError> {
        let needed = usize::from(self.keyset.threshold);
        let keyset = self.keyset;
        let outcomes = service.gather(keyset, &self.order(), needed, blinded, &mut |id, answer| {
            check(keyset, id, blinded, answer)
        });
        let mut valid: Vec<(u16, Evaluation)> = Vec::with_capacity(needed);
        let mut batch_faults: Vec<ParticipantFault> = Vec::new();
        for (id, outcome) in outcomes {
            match outcome {
                // A service may return more than asked (a hedged server and
                // its spare both answering); `t` are enough.
                Ok(evaluation) if valid.len() < needed && !valid.iter().any(|(v, _)| *v == id) => {
                    if !self.good.contains(&id) {
                        self.good.push(id);
                    }
                    self.failed.remove(&id);
                    valid.push((id, evaluation));
                }
                Ok(_) => {}
                Err(fault) => {
                    self.good.retain(|&g| g != id);
                    self.failed.insert(id, ());
                    let fault = ParticipantFault {
                        participant: id,
                        name: service.describe(id),
                        fault,
                    };
                    self.faults.push(fault.clone());
                    batch_faults.push(fault);
                }
            }
        }
        if valid.len() >= needed {
            return Ok(valid);
        }
        let mut faults = batch_faults;
        for fault in &self.faults {
            if !faults.iter().any(|f| f.participant == fault.participant) {
                faults.push(fault.clone());
            }
        }
        Err(KemError::NotEnoughServers {
            needed: self.keyset.threshold,
            faults,
        })
    }
}

/// Judges one server's answer: the right number of elements, and a batch
/// DLEQ proof that verifies against the server's public share.
fn check(
    keyset: &PublicKeyset,
    id: u16,
    blinded: &[RistrettoPoint],
    answer: Result<Evaluation, ServiceError>,
) -> Result<Evaluation, Fault> {
    let evaluation = answer?;
    if evaluation.evaluated.len() != blinded.len() {
        return Err(Fault::WrongCount {
            expected: blinded.len(),
            got: evaluation.evaluated.len(),
        });
    }
    let public_share = keyset.public_share(id).ok_or(Fault::BadProof)?;
    verify_proof(
        public_share,
        blinded,
        &evaluation.evaluated,
        &evaluation.proof,
    )
    .map_err(|_| Fault::BadProof)?;
    Ok(evaluation)
}

#[cfg(test)]
mod tests;
