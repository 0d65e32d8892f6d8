//! The lifecycle messages as JSON (docs/FORMAT.md section 8.4): the shapes
//! on the wire and in the client's journal, and their conversion to and
//! from the checked types of [`super`]. Decoding is strict: canonical
//! elements, exact lengths, no unknown fields.

use serde::{Deserialize, Serialize};

use super::{Confirmation, Deal, LifecycleError, Member, Operation, Plan, SealedShare};
use crate::encoding::{b64, hex, parse_hex32, unb64};
use crate::identity::IdentityPublic;
use crate::protocol::{b64_element, unb64_element, PublicShare};
use crate::threshold::kem::PublicKeyset;
use crate::threshold::vss::{Commitments, POK_LEN};

/// A keyset epoch's public part.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireEpoch {
    /// Keyset id, hex (the id of epoch 0).
    pub keyset_id: String,
    /// Epoch number.
    pub epoch: u32,
    /// Threshold.
    pub threshold: u16,
    /// `K`, base64url.
    pub group_key: String,
    /// Every participant's `K_i`.
    pub public_shares: Vec<PublicShare>,
}

impl From<&PublicKeyset> for WireEpoch {
    fn from(keyset: &PublicKeyset) -> Self {
        Self {
            keyset_id: hex(keyset.id()),
            epoch: keyset.epoch(),
            threshold: keyset.threshold(),
            group_key: b64_element(keyset.group_key()),
            public_shares: PublicShare::all_of(keyset),
        }
    }
}

impl WireEpoch {
    /// The checked keyset (public shares consistent with `K`; at epoch 0
    /// the id must be the hash of the public parts).
    pub fn to_keyset(&self) -> Result<PublicKeyset, LifecycleError> {
        let bad = |what: &str| LifecycleError::Plan(format!("keyset: {what}"));
        let id = parse_hex32(&self.keyset_id).ok_or_else(|| bad("keyset_id"))?;
        let group_key = unb64_element(&self.group_key).ok_or_else(|| bad("group_key"))?;
        let shares = self
            .public_shares
            .iter()
            .map(|p| {
                unb64_element(&p.public_share)
                    .map(|k| (p.participant, k))
                    .ok_or_else(|| bad("public_share"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        PublicKeyset::at_epoch(id, self.epoch, self.threshold, group_key, shares)
            .map_err(|e| bad(&e.to_string()))
    }
}

/// A member: participant id and identity (base64url of 64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireMember {
    /// Participant id.
    pub participant: u16,
    /// Server identity.
    pub identity: String,
}

/// A [`Plan`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePlan {
    /// 32 hex digits.
    pub session: String,
    /// `create`, `refresh`, `repair` or `reshare`.
    pub operation: String,
    /// The current epoch (absent for create).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<WireEpoch>,
    /// The epoch produced.
    pub to_epoch: u32,
    /// The new threshold.
    pub threshold: u16,
    /// Dealer participant ids, ascending.
    pub dealers: Vec<u16>,
    /// Current members taking part.
    #[serde(default)]
    pub old_members: Vec<WireMember>,
    /// New members.
    pub new_members: Vec<WireMember>,
}

fn members(list: &[Member]) -> Vec<WireMember> {
    list.iter()
        .map(|m| WireMember {
            participant: m.participant,
            identity: m.identity.to_text(),
        })
        .collect()
}

fn parse_members(list: &[WireMember]) -> Result<Vec<Member>, LifecycleError> {
    list.iter()
        .map(|m| {
            Ok(Member {
                participant: m.participant,
                identity: IdentityPublic::parse(&m.identity).map_err(|_| {
                    LifecycleError::Plan(format!(
                        "participant {}'s identity is not valid",
                        m.participant
                    ))
                })?,
            })
        })
        .collect()
}

impl From<&Plan> for WirePlan {
    fn from(plan: &Plan) -> Self {
        Self {
            session: hex(&plan.session),
            operation: plan.operation.name().to_string(),
            from: plan.from.as_ref().map(WireEpoch::from),
            to_epoch: plan.to_epoch,
            threshold: plan.threshold,
            dealers: plan.dealers.clone(),
            old_members: members(&plan.old_members),
            new_members: members(&plan.new_members),
        }
    }
}

impl WirePlan {
    /// The checked plan ([`Plan::check`] included).
    pub fn to_plan(&self) -> Result<Plan, LifecycleError> {
        let session = parse_session(&self.session)
            .ok_or_else(|| LifecycleError::Plan("session is not 32 hex digits".into()))?;
        let operation = Operation::parse(&self.operation)
            .ok_or_else(|| LifecycleError::Plan("unknown operation".into()))?;
        let plan = Plan {
            session,
            operation,
            from: self.from.as_ref().map(WireEpoch::to_keyset).transpose()?,
            to_epoch: self.to_epoch,
            threshold: self.threshold,
            dealers: self.dealers.clone(),
            old_members: parse_members(&self.old_members)?,
            new_members: parse_members(&self.new_members)?,
        };
        plan.check()?;
        Ok(plan)
    }
}

/// Parses a 16-byte session id from 32 hex digits.
pub fn parse_session(text: &str) -> Option<[u8; 16]> {
    crate::encoding::parse_hex_array(text)
}

/// One sealed sub-share.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireSealedShare {
    /// New participant id.
    pub recipient: u16,
    /// base64url of HPKE `enc ‖ ciphertext`.
    pub sealed: String,
}

/// A [`Deal`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireDeal {
    /// Dealer participant id.
    pub dealer: u16,
    /// Commitments, base64url elements.
    pub commitments: Vec<String>,
    /// Proof of knowledge (create only), base64url of 64 bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proof: Option<String>,
    /// One per new member.
    pub shares: Vec<WireSealedShare>,
    /// base64url of 64 bytes.
    pub signature: String,
}

impl From<&Deal> for WireDeal {
    fn from(deal: &Deal) -> Self {
        Self {
            dealer: deal.dealer,
            commitments: deal.commitments.encode().iter().map(|c| b64(c)).collect(),
            proof: deal.proof.as_ref().map(|p| b64(p)),
            shares: deal
                .shares
                .iter()
                .map(|s| WireSealedShare {
                    recipient: s.recipient,
                    sealed: b64(&s.sealed),
                })
                .collect(),
            signature: b64(&deal.signature),
        }
    }
}

/// Largest sealed sub-share: enc (32) + scalar (32) + tag (16), with room.
const MAX_SEALED: usize = 256;

impl WireDeal {
    /// The decoded deal (not yet verified: see [`super::check_deals`]).
    pub fn to_deal(&self) -> Result<Deal, LifecycleError> {
        let fail = |what: &str| LifecycleError::Deal {
            dealer: self.dealer,
            reason: format!("{what} is not valid"),
        };
        if self.commitments.len() > super::MAX_MEMBERS || self.shares.len() > super::MAX_MEMBERS {
            return Err(fail("the size"));
        }
        let points = self
            .commitments
            .iter()
            .map(|c| unb64_element(c).ok_or_else(|| fail("a commitment")))
            .collect::<Result<Vec<_>, _>>()?;
        let commitments = Commitments::new(points).map_err(|_| fail("the commitment list"))?;
        let proof = match &self.proof {
            None => None,
            Some(p) => Some(
                <[u8; POK_LEN]>::try_from(unb64(p).ok_or_else(|| fail("the proof"))?.as_slice())
                    .map_err(|_| fail("the proof"))?,
            ),
        };
        let shares = self
            .shares
            .iter()
            .map(|s| {
                let sealed = unb64(&s.sealed)
                    .filter(|b| b.len() <= MAX_SEALED)
                    .ok_or_else(|| fail("a sealed share"))?;
                Ok(SealedShare {
                    recipient: s.recipient,
                    sealed,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let signature = signature(&self.signature).ok_or_else(|| fail("the signature"))?;
        Ok(Deal {
            dealer: self.dealer,
            commitments,
            proof,
            shares,
            signature,
        })
    }
}

fn signature(text: &str) -> Option<[u8; 64]> {
    <[u8; 64]>::try_from(unb64(text)?.as_slice()).ok()
}

/// Decodes a list of deals.
pub fn to_deals(deals: &[WireDeal]) -> Result<Vec<Deal>, LifecycleError> {
    if deals.len() > super::MAX_MEMBERS {
        return Err(LifecycleError::Plan("too many deals".into()));
    }
    deals.iter().map(WireDeal::to_deal).collect()
}

/// A [`Confirmation`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireConfirmation {
    /// New participant id.
    pub participant: u16,
    /// base64url of 64 bytes.
    pub signature: String,
}

impl From<&Confirmation> for WireConfirmation {
    fn from(c: &Confirmation) -> Self {
        Self {
            participant: c.participant,
            signature: b64(&c.signature),
        }
    }
}

/// Decodes a list of confirmations.
pub fn to_confirmations(list: &[WireConfirmation]) -> Result<Vec<Confirmation>, LifecycleError> {
    if list.len() > super::MAX_MEMBERS {
        return Err(LifecycleError::Plan("too many confirmations".into()));
    }
    list.iter()
        .map(|c| {
            Ok(Confirmation {
                participant: c.participant,
                signature: signature(&c.signature).ok_or_else(|| LifecycleError::Confirmation {
                    participant: c.participant,
                    reason: "signature is not 64 bytes of base64url".into(),
                })?,
            })
        })
        .collect()
}

/// `POST /v1/admin/lifecycle/deal`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DealRequest {
    /// The round.
    pub plan: WirePlan,
}

/// `POST /v1/admin/lifecycle/receive`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveRequest {
    /// The round.
    pub plan: WirePlan,
    /// Every dealer's deal, in dealer order.
    pub deals: Vec<WireDeal>,
}

/// Answer to [`ReceiveRequest`]: the member's confirmation and the new
/// public keyset it computed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiveResponse {
    /// Hex transcript hash.
    pub transcript: String,
    /// The signature over it.
    pub confirmation: WireConfirmation,
    /// The new epoch's public part.
    pub keyset: WireEpoch,
}

/// `POST /v1/admin/lifecycle/commit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommitRequest {
    /// The round.
    pub plan: WirePlan,
    /// Hex transcript hash every new member confirmed.
    pub transcript: String,
    /// One per new member.
    pub confirmations: Vec<WireConfirmation>,
}

/// `POST /v1/admin/lifecycle/abort`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AbortRequest {
    /// The round.
    pub plan: WirePlan,
}

/// Answer to commit and abort.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LifecycleStatus {
    /// `committed`, `left`, `aborted` or `nothing staged`.
    pub status: String,
    /// Epoch of the keyset on this server afterwards (absent if it holds
    /// none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u32>,
}

/// `GET /v1/identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityResponse {
    /// base64url of the 64-byte identity.
    pub identity: String,
}
