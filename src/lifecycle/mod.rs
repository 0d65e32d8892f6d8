//! The key lifecycle protocol both sides run (docs/FORMAT.md section 8):
//! plans, deals, the public transcript and its confirmations, checked the
//! same way by every server and by the relaying client. Pure: no I/O,
//! randomness passed in.
//!
//! Every operation — distributed key generation, refresh, repair and
//! reshare — is one round of Feldman sharing ([`crate::threshold::vss`])
//! in three client↔server round trips:
//!
//! 1. **deal**: each dealer draws its polynomial, seals one sub-share to
//!    each new member's identity (HPKE) and signs the whole deal;
//! 2. **receive**: each new member checks every deal (signature, proof of
//!    knowledge or weighted constant, its own sub-share against the
//!    commitments), stages its new share, and signs the transcript hash;
//! 3. **commit**: each server, given every new member's confirmation of the
//!    same transcript, switches to the new epoch (a leaving one deletes its
//!    share).
//!
//! The relaying client can read no sub-share (sealed to the recipient),
//! forge none (signed by the dealer), and cannot show two servers different
//! messages (their transcript hashes differ, so no confirmation set exists
//! that either would commit on).

use curve25519_dalek::ristretto::RistrettoPoint;
use curve25519_dalek::scalar::Scalar;
use rand::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};

use crate::identity::{IdentityPublic, IdentitySecret};
use crate::threshold::group::encode_element;
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::{lagrange_at_zero, SecretShare};
use crate::threshold::vss::{self, Commitments};
use crate::threshold::SecretScalar;

pub mod wire;

/// Domain separators (docs/FORMAT.md section 8.3).
const PLAN_LABEL: &[u8] = b"shardlock/v1 lifecycle plan";
const DEAL_LABEL: &[u8] = b"shardlock/v1 lifecycle deal";
const SHARE_LABEL: &[u8] = b"shardlock/v1 lifecycle share";
const TRANSCRIPT_LABEL: &[u8] = b"shardlock/v1 lifecycle transcript";
const CONFIRM_LABEL: &[u8] = b"shardlock/v1 lifecycle confirm";
const POK_CONTEXT_LABEL: &[u8] = b"shardlock/v1 lifecycle pok";

/// Most members of one keyset epoch: bounds every message (a full receive
/// request for 16 members is about 60 KB, under the server's body limit).
pub const MAX_MEMBERS: usize = 16;

/// What a round does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Distributed key generation of a new keyset (epoch 0).
    Create,
    /// New shares of the same `K` for the same servers and threshold.
    Refresh,
    /// New shares for the same threshold, one participant's server replaced.
    Repair,
    /// New shares for a new server set and/or threshold.
    Reshare,
}

impl Operation {
    /// The byte in the plan encoding.
    fn code(self) -> u8 {
        match self {
            Operation::Create => 1,
            Operation::Refresh => 2,
            Operation::Repair => 3,
            Operation::Reshare => 4,
        }
    }

    /// The word in JSON and messages.
    pub fn name(self) -> &'static str {
        match self {
            Operation::Create => "create",
            Operation::Refresh => "refresh",
            Operation::Repair => "repair",
            Operation::Reshare => "reshare",
        }
    }

    /// Parses [`Operation::name`].
    pub fn parse(text: &str) -> Option<Self> {
        [
            Operation::Create,
            Operation::Refresh,
            Operation::Repair,
            Operation::Reshare,
        ]
        .into_iter()
        .find(|op| op.name() == text)
    }
}

/// A server taking part, by participant id and pinned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    /// Participant id in its epoch.
    pub participant: u16,
    /// Its long-term identity.
    pub identity: IdentityPublic,
}

/// Everything a round is about, fixed by the coordinator before anyone
/// deals; its hash binds every later message to this run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// 16 random bytes naming the run.
    pub session: [u8; 16],
    /// What the round does.
    pub operation: Operation,
    /// The current epoch's public keyset (`None` for [`Operation::Create`]).
    pub from: Option<PublicKeyset>,
    /// The epoch the round produces: 0 for create, else `from` + 1.
    pub to_epoch: u32,
    /// The new threshold.
    pub threshold: u16,
    /// Who deals: every new member for create; else `from.threshold`
    /// current participants.
    pub dealers: Vec<u16>,
    /// Current participants taking part (dealers, and servers that leave),
    /// with identities; empty for create.
    pub old_members: Vec<Member>,
    /// The new epoch's participants, with identities.
    pub new_members: Vec<Member>,
}

/// Why a round cannot go on. Messages name the culprit where one is known
/// and never carry a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    /// The plan itself is malformed or inconsistent.
    #[error("invalid plan: {0}")]
    Plan(String),
    /// A dealer's deal is missing, malformed or does not verify.
    #[error("deal from participant {dealer}: {reason}")]
    Deal {
        /// The dealer at fault.
        dealer: u16,
        /// What is wrong.
        reason: String,
    },
    /// A confirmation is missing or does not verify.
    #[error("confirmation from participant {participant}: {reason}")]
    Confirmation {
        /// The new member at fault (or missing).
        participant: u16,
        /// What is wrong.
        reason: String,
    },
}

fn plan_error(message: impl Into<String>) -> LifecycleError {
    LifecycleError::Plan(message.into())
}

fn check_members(members: &[Member], what: &str) -> Result<(), LifecycleError> {
    if members.len() > MAX_MEMBERS {
        return Err(plan_error(format!("more than {MAX_MEMBERS} {what}")));
    }
    for (i, m) in members.iter().enumerate() {
        if m.participant == 0 {
            return Err(plan_error(format!("{what}: participant id 0")));
        }
        if members[..i].iter().any(|o| o.participant == m.participant) {
            return Err(plan_error(format!(
                "{what}: participant {} twice",
                m.participant
            )));
        }
        if members[..i].iter().any(|o| o.identity == m.identity) {
            return Err(plan_error(format!(
                "{what}: one server identity twice (participants {} and {})",
                members[..i]
                    .iter()
                    .find(|o| o.identity == m.identity)
                    .map_or(0, |o| o.participant),
                m.participant
            )));
        }
    }
    Ok(())
}

impl Plan {
    /// Checks the plan's own consistency (every server does, before
    /// anything else).
    pub fn check(&self) -> Result<(), LifecycleError> {
        check_members(&self.new_members, "new members")?;
        check_members(&self.old_members, "current members")?;
        let n = self.new_members.len();
        if self.threshold == 0 || usize::from(self.threshold) > n {
            return Err(plan_error(format!(
                "threshold {} with {n} new members",
                self.threshold
            )));
        }
        let mut sorted = self.dealers.clone();
        sorted.sort_unstable();
        sorted.dedup();
        if sorted != self.dealers {
            return Err(plan_error("dealers must be ascending and distinct"));
        }
        match (&self.operation, &self.from) {
            (Operation::Create, None) => {
                if self.to_epoch != 0 || !self.old_members.is_empty() {
                    return Err(plan_error("a new keyset starts at epoch 0"));
                }
                let ids: Vec<u16> = self.new_ids();
                if self.dealers != ids {
                    return Err(plan_error("every new member deals in a key generation"));
                }
            }
            (Operation::Create, Some(_)) | (_, None) => {
                return Err(plan_error("only key generation has no current epoch"));
            }
            (_, Some(from)) => {
                if Some(self.to_epoch) != from.epoch().checked_add(1) {
                    return Err(plan_error("the new epoch must follow the current one"));
                }
                if self.dealers.len() != usize::from(from.threshold()) {
                    return Err(plan_error(format!(
                        "exactly {} current participants must deal",
                        from.threshold()
                    )));
                }
                for dealer in &self.dealers {
                    if from.public_share(*dealer).is_none() {
                        return Err(plan_error(format!(
                            "dealer {dealer} is not a current participant"
                        )));
                    }
                    if self.old_member(*dealer).is_none() {
                        return Err(plan_error(format!("dealer {dealer} has no identity")));
                    }
                }
                for member in &self.old_members {
                    if from.public_share(member.participant).is_none() {
                        return Err(plan_error(format!(
                            "participant {} is not a current participant",
                            member.participant
                        )));
                    }
                }
            }
        }
        Ok(())
    }

    /// New member ids, in plan order.
    pub fn new_ids(&self) -> Vec<u16> {
        self.new_members.iter().map(|m| m.participant).collect()
    }

    /// A current member by participant id.
    pub fn old_member(&self, participant: u16) -> Option<&Member> {
        self.old_members
            .iter()
            .find(|m| m.participant == participant)
    }

    /// A new member by participant id.
    pub fn new_member(&self, participant: u16) -> Option<&Member> {
        self.new_members
            .iter()
            .find(|m| m.participant == participant)
    }

    /// The new participant id of the server with `identity`, if it is a
    /// new member.
    pub fn new_id_of(&self, identity: &IdentityPublic) -> Option<u16> {
        self.new_members
            .iter()
            .find(|m| &m.identity == identity)
            .map(|m| m.participant)
    }

    /// The identity a dealer signs with.
    pub fn dealer_identity(&self, dealer: u16) -> Option<&IdentityPublic> {
        match self.operation {
            Operation::Create => self.new_member(dealer),
            _ => self.old_member(dealer),
        }
        .map(|m| &m.identity)
    }

    /// The keyset id the round is about (`None` for create: it is known
    /// only once the public shares are).
    pub fn keyset_id(&self) -> Option<[u8; 32]> {
        self.from.as_ref().map(|f| *f.id())
    }

    /// The byte encoding the plan hash is taken over (FORMAT.md 8.3).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&self.session);
        out.push(self.operation.code());
        match &self.from {
            None => out.push(0),
            Some(from) => {
                out.push(1);
                out.extend_from_slice(from.id());
                out.extend_from_slice(&from.epoch().to_be_bytes());
                out.extend_from_slice(&from.threshold().to_be_bytes());
                out.extend_from_slice(from.group_key_bytes());
                push_len(&mut out, from.shares().len());
                for (id, k) in from.shares() {
                    out.extend_from_slice(&id.to_be_bytes());
                    out.extend_from_slice(&encode_element(k));
                }
            }
        }
        out.extend_from_slice(&self.to_epoch.to_be_bytes());
        out.extend_from_slice(&self.threshold.to_be_bytes());
        push_len(&mut out, self.dealers.len());
        for d in &self.dealers {
            out.extend_from_slice(&d.to_be_bytes());
        }
        for members in [&self.old_members, &self.new_members] {
            push_len(&mut out, members.len());
            for m in members {
                out.extend_from_slice(&m.participant.to_be_bytes());
                out.extend_from_slice(&m.identity.to_bytes());
            }
        }
        out
    }

    /// `SHA-256(label ‖ encode())`.
    pub fn hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(PLAN_LABEL);
        h.update(self.encode());
        h.finalize().into()
    }

    /// The Lagrange weight of a dealer's share (non-create rounds).
    fn weight(&self, dealer: u16) -> Result<Scalar, LifecycleError> {
        lagrange_at_zero(dealer, &self.dealers).map_err(|e| plan_error(e.to_string()))
    }
}

fn push_len(out: &mut Vec<u8>, len: usize) {
    // Every list is bounded by MAX_MEMBERS (or a sealed share's size).
    out.extend_from_slice(&(len as u16).to_be_bytes());
}

/// One new member's sub-share, sealed to its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedShare {
    /// New participant id.
    pub recipient: u16,
    /// HPKE `enc ‖ ciphertext` of the 32-byte scalar.
    pub sealed: Vec<u8>,
}

/// A dealer's contribution to a round, signed by its identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deal {
    /// The dealer's participant id (current epoch; new id for create).
    pub dealer: u16,
    /// Feldman commitments, `threshold` of them.
    pub commitments: Commitments,
    /// Proof of knowledge of the constant (create only).
    pub proof: Option<[u8; vss::POK_LEN]>,
    /// One sealed sub-share per new member, in new-member order.
    pub shares: Vec<SealedShare>,
    /// Ed25519 signature of [`Deal::signed_bytes`].
    pub signature: [u8; 64],
}

impl Deal {
    /// What the dealer signs (FORMAT.md 8.3).
    pub fn signed_bytes(&self, plan_hash: &[u8; 32]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(DEAL_LABEL);
        out.extend_from_slice(plan_hash);
        out.extend_from_slice(&self.dealer.to_be_bytes());
        let commitments = self.commitments.encode();
        push_len(&mut out, commitments.len());
        for c in &commitments {
            out.extend_from_slice(c);
        }
        match &self.proof {
            None => out.push(0),
            Some(p) => {
                out.push(1);
                out.extend_from_slice(p);
            }
        }
        push_len(&mut out, self.shares.len());
        for s in &self.shares {
            out.extend_from_slice(&s.recipient.to_be_bytes());
            push_len(&mut out, s.sealed.len());
            out.extend_from_slice(&s.sealed);
        }
        out
    }
}

fn share_info(plan_hash: &[u8; 32], dealer: u16, recipient: u16) -> Vec<u8> {
    let mut info = SHARE_LABEL.to_vec();
    info.extend_from_slice(plan_hash);
    info.extend_from_slice(&dealer.to_be_bytes());
    info.extend_from_slice(&recipient.to_be_bytes());
    info
}

fn pok_context(plan_hash: &[u8; 32], dealer: u16) -> Vec<u8> {
    let mut context = POK_CONTEXT_LABEL.to_vec();
    context.extend_from_slice(plan_hash);
    context.extend_from_slice(&dealer.to_be_bytes());
    context
}

/// Deals as participant `dealer`: for create a fresh random constant with
/// its proof of knowledge; otherwise `share` (this dealer's current share)
/// weighted by its Lagrange coefficient over the dealers.
pub fn make_deal<R: RngCore + CryptoRng>(
    plan: &Plan,
    dealer: u16,
    share: Option<&SecretShare>,
    identity: &IdentitySecret,
    rng: &mut R,
) -> Result<Deal, LifecycleError> {
    plan.check()?;
    if !plan.dealers.contains(&dealer) {
        return Err(plan_error(format!("participant {dealer} is not a dealer")));
    }
    if plan.dealer_identity(dealer) != Some(&identity.public()) {
        return Err(plan_error(format!(
            "participant {dealer}'s identity in the plan is not this server's"
        )));
    }
    let plan_hash = plan.hash();
    let (constant, proof) = match (plan.operation, share) {
        (Operation::Create, None) => {
            let constant = SecretScalar::random(rng);
            let proof = vss::prove_constant(&constant, &pok_context(&plan_hash, dealer), rng);
            (constant, Some(proof))
        }
        (Operation::Create, Some(_)) | (_, None) => {
            return Err(plan_error(
                "a share is dealt in every round but key generation",
            ))
        }
        (_, Some(share)) => {
            let lambda = plan.weight(dealer)?;
            (SecretScalar::new(lambda * share.value().expose()), None)
        }
    };
    let (commitments, subs) = vss::deal(&constant, plan.threshold, &plan.new_ids(), rng)
        .map_err(|e| plan_error(e.to_string()))?;
    let shares = plan
        .new_members
        .iter()
        .zip(&subs)
        .map(|(member, sub)| SealedShare {
            recipient: member.participant,
            sealed: member.identity.seal(
                rng,
                &share_info(&plan_hash, dealer, member.participant),
                &[],
                sub.value().to_bytes().expose(),
            ),
        })
        .collect();
    let mut deal = Deal {
        dealer,
        commitments,
        proof,
        shares,
        signature: [0; 64],
    };
    deal.signature = identity.sign(&deal.signed_bytes(&plan_hash));
    Ok(deal)
}

/// Checks one deal's public parts: signature, shape, and the constant
/// (proof of knowledge, or the weighted public share).
fn check_deal(plan: &Plan, plan_hash: &[u8; 32], deal: &Deal) -> Result<(), LifecycleError> {
    let fail = |reason: &str| LifecycleError::Deal {
        dealer: deal.dealer,
        reason: reason.to_string(),
    };
    let identity = plan
        .dealer_identity(deal.dealer)
        .ok_or_else(|| fail("not a dealer of this round"))?;
    identity
        .verify(&deal.signed_bytes(plan_hash), &deal.signature)
        .map_err(|_| fail("signature does not verify (altered, or from another run)"))?;
    if deal.commitments.threshold() != usize::from(plan.threshold) {
        return Err(fail("wrong number of commitments"));
    }
    let recipients: Vec<u16> = deal.shares.iter().map(|s| s.recipient).collect();
    if recipients != plan.new_ids() {
        return Err(fail("not one sub-share per new member"));
    }
    match (plan.operation, &plan.from, &deal.proof) {
        (Operation::Create, _, Some(proof)) => {
            if !vss::verify_constant(
                deal.commitments.constant(),
                &pok_context(plan_hash, deal.dealer),
                proof,
            ) {
                return Err(fail("proof of knowledge does not verify"));
            }
        }
        (Operation::Create, _, None) => return Err(fail("no proof of knowledge")),
        (_, Some(from), None) => {
            let public = from
                .public_share(deal.dealer)
                .ok_or_else(|| fail("not a current participant"))?;
            if *deal.commitments.constant() != plan.weight(deal.dealer)? * public {
                return Err(fail("commitment is not its weighted public share"));
            }
        }
        _ => return Err(fail("unexpected proof of knowledge")),
    }
    Ok(())
}

/// Checks that `deals` hold exactly one valid deal per dealer, in dealer
/// order, and returns the transcript hash over them.
pub fn check_deals(plan: &Plan, deals: &[Deal]) -> Result<[u8; 32], LifecycleError> {
    plan.check()?;
    let plan_hash = plan.hash();
    for dealer in &plan.dealers {
        if !deals.iter().any(|d| d.dealer == *dealer) {
            return Err(LifecycleError::Deal {
                dealer: *dealer,
                reason: "missing".into(),
            });
        }
    }
    let order: Vec<u16> = deals.iter().map(|d| d.dealer).collect();
    if order != plan.dealers {
        let extra = order
            .iter()
            .find(|d| !plan.dealers.contains(d))
            .or_else(|| order.first())
            .copied()
            .unwrap_or(0);
        return Err(LifecycleError::Deal {
            dealer: extra,
            reason: "unexpected, repeated or out of order".into(),
        });
    }
    for deal in deals {
        check_deal(plan, &plan_hash, deal)?;
    }
    Ok(transcript_hash(&plan_hash, deals))
}

/// `SHA-256(label ‖ plan hash ‖ count ‖ SHA-256(signed bytes ‖ signature)…)`.
pub fn transcript_hash(plan_hash: &[u8; 32], deals: &[Deal]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(TRANSCRIPT_LABEL);
    h.update(plan_hash);
    h.update((deals.len() as u16).to_be_bytes());
    for deal in deals {
        let mut d = Sha256::new();
        d.update(deal.signed_bytes(plan_hash));
        d.update(deal.signature);
        h.update(d.finalize());
    }
    h.finalize().into()
}

/// The new epoch's public keyset, from the (checked) deals' commitments.
pub fn new_keyset(plan: &Plan, deals: &[Deal]) -> Result<PublicKeyset, LifecycleError> {
    let commitments: Vec<&Commitments> = deals.iter().map(|d| &d.commitments).collect();
    let group_key = vss::sum_constants(&commitments);
    let shares: Vec<(u16, RistrettoPoint)> = plan
        .new_ids()
        .into_iter()
        .map(|x| (x, vss::sum_public(&commitments, x)))
        .collect();
    let bad = |e: crate::threshold::Error| plan_error(format!("the new public shares: {e}"));
    match &plan.from {
        None => PublicKeyset::new(plan.threshold, group_key, shares).map_err(bad),
        Some(from) => {
            if &group_key != from.group_key() {
                return Err(plan_error("the deals do not preserve the group key"));
            }
            PublicKeyset::at_epoch(*from.id(), plan.to_epoch, plan.threshold, group_key, shares)
                .map_err(bad)
        }
    }
}

/// What a new member takes from a round.
#[derive(Debug)]
pub struct Received {
    /// The new epoch's public keyset.
    pub keyset: PublicKeyset,
    /// This member's new share.
    pub share: SecretShare,
    /// The transcript hash it confirms.
    pub transcript: [u8; 32],
}

/// A new member's side of round 2: checks every deal, opens and checks its
/// own sub-shares, and sums them into its new share.
pub fn receive(
    plan: &Plan,
    deals: &[Deal],
    identity: &IdentitySecret,
) -> Result<Received, LifecycleError> {
    let transcript = check_deals(plan, deals)?;
    let me = plan
        .new_id_of(&identity.public())
        .ok_or_else(|| plan_error("this server is not a new member"))?;
    let plan_hash = plan.hash();
    let mut parts = Vec::with_capacity(deals.len());
    for deal in deals {
        let fail = |reason: &str| LifecycleError::Deal {
            dealer: deal.dealer,
            reason: format!("sub-share for participant {me}: {reason}"),
        };
        let sealed = deal
            .shares
            .iter()
            .find(|s| s.recipient == me)
            .ok_or_else(|| fail("missing"))?;
        let plain = identity
            .open(
                &share_info(&plan_hash, deal.dealer, me),
                &[],
                &sealed.sealed,
            )
            .map_err(|_| fail("does not open"))?;
        let value = SecretScalar::from_bytes(&plain).map_err(|_| fail("not a scalar"))?;
        let part = SecretShare::new(me, value).map_err(|_| fail("bad id"))?;
        if !deal.commitments.verifies(&part) {
            return Err(fail("does not match the dealer's commitments"));
        }
        parts.push(part);
    }
    let share = vss::sum_shares(me, &parts).map_err(|e| plan_error(e.to_string()))?;
    let keyset = new_keyset(plan, deals)?;
    if keyset.public_share(me) != Some(&share.public_share()) {
        return Err(plan_error("the new share does not match its public share"));
    }
    Ok(Received {
        keyset,
        share,
        transcript,
    })
}

/// A new member's signature of the transcript hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confirmation {
    /// New participant id.
    pub participant: u16,
    /// Ed25519 signature of [`confirmation_bytes`].
    pub signature: [u8; 64],
}

/// `label ‖ transcript ‖ participant`: what a confirmation signs.
pub fn confirmation_bytes(transcript: &[u8; 32], participant: u16) -> Vec<u8> {
    let mut out = CONFIRM_LABEL.to_vec();
    out.extend_from_slice(transcript);
    out.extend_from_slice(&participant.to_be_bytes());
    out
}

/// Signs `transcript` as new participant `participant`.
pub fn confirm(identity: &IdentitySecret, transcript: &[u8; 32], participant: u16) -> Confirmation {
    Confirmation {
        participant,
        signature: identity.sign(&confirmation_bytes(transcript, participant)),
    }
}

/// Checks that every new member confirmed `transcript`: no server commits
/// without all of them.
pub fn check_confirmations(
    plan: &Plan,
    transcript: &[u8; 32],
    confirmations: &[Confirmation],
) -> Result<(), LifecycleError> {
    for member in &plan.new_members {
        let fail = |reason: &str| LifecycleError::Confirmation {
            participant: member.participant,
            reason: reason.to_string(),
        };
        let confirmation = confirmations
            .iter()
            .find(|c| c.participant == member.participant)
            .ok_or_else(|| fail("missing"))?;
        member
            .identity
            .verify(
                &confirmation_bytes(transcript, member.participant),
                &confirmation.signature,
            )
            .map_err(|_| fail("does not verify: it saw a different transcript"))?;
    }
    if confirmations.len() != plan.new_members.len() {
        return Err(LifecycleError::Confirmation {
            participant: 0,
            reason: "more confirmations than new members".into(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
