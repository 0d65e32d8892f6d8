//! The key-share server's JSON wire protocol, shared by the server and the
//! client so both sides serialise exactly the same shapes. Byte strings are
//! unpadded base64url (RFC 4648 section 5). `docs/FORMAT.md` section
//! "Wire protocol" documents every message; keep the two in step.

use std::fmt;

use curve25519_dalek::ristretto::RistrettoPoint;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::encoding::{b64, unb64};
use crate::threshold::group::{decode_element, encode_element};
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::SecretShare;

/// Largest number of elements in one evaluate request.
pub const MAX_BATCH: usize = crate::threshold::kem::MAX_BATCH;
/// Largest request body the server accepts, in bytes. A full batch is
/// 1024 × 45 bytes of base64 plus JSON punctuation, well under this.
pub const MAX_BODY: usize = 128 * 1024;
/// Prefix of every bearer token, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "slk_";

/// Whether `name` is a valid client name: `[A-Za-z0-9._-]{1,64}`, and not
/// `.` or `..` (names appear in URL paths).
pub fn valid_client_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Encodes a group element as base64url.
pub fn b64_element(point: &RistrettoPoint) -> String {
    b64(&encode_element(point))
}

/// Decodes a base64url group element, rejecting non-canonical encodings and
/// the identity.
pub fn unb64_element(text: &str) -> Option<RistrettoPoint> {
    decode_element(&unb64(text)?).ok()
}

/// A bearer token held in memory: zeroized on drop, never printed.
#[derive(Clone)]
pub struct Token(Zeroizing<String>);

impl Token {
    /// Wraps a token string.
    pub fn new(token: String) -> Self {
        Self(Zeroizing::new(token))
    }

    /// The token text, for the `Authorization` header only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `GET /v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    /// "ok" when the server can evaluate; "sealed" while its shares are
    /// sealed (docs/FORMAT.md section 5.7).
    pub status: String,
    /// Server version.
    pub version: String,
}

/// `POST /v1/admin/unseal`: exactly one of the two secrets.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnsealRequest {
    /// The operator's passphrase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub passphrase: Option<String>,
    /// The text of the key file (`shardlock-seal-key-v1:...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
}

impl fmt::Debug for UnsealRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UnsealRequest([redacted])")
    }
}

impl Drop for UnsealRequest {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.passphrase.zeroize();
        self.key_file.zeroize();
    }
}

/// `POST /v1/admin/unseal` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsealResponse {
    /// "unsealed", or "already unsealed".
    pub status: String,
    /// Keysets now served.
    pub keysets: usize,
}

/// `GET /v1/keys/{keyset_id}`: this server's part of a keyset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyInfo {
    /// Hex keyset id.
    pub keyset_id: String,
    /// This server's participant id.
    pub participant: u16,
    /// `K_i`, base64url.
    pub public_share: String,
    /// Keyset threshold.
    pub threshold: u16,
    /// Group key `K`, base64url.
    pub group_key: String,
    /// The epoch of the share this server holds (docs/FORMAT.md 8.1).
    #[serde(default)]
    pub epoch: u32,
}

/// `POST /v1/keys/{keyset_id}/evaluate` request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluateRequest {
    /// Blinded elements `B_j`, base64url, 1..=MAX_BATCH of them.
    pub blinded: Vec<String>,
    /// The epoch whose public share the client will check the proof
    /// against. A server holding another epoch refuses (409) instead of
    /// answering with a proof that cannot verify. Absent: any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u32>,
}

/// `POST /v1/keys/{keyset_id}/evaluate` response: RFC 9497 BlindEvaluate
/// outputs in request order and one batch proof, `c || s` (64 bytes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateResponse {
    /// `E_j = k_i·B_j`, base64url, same order as the request.
    pub evaluated: Vec<String>,
    /// Batch DLEQ proof, base64url of 64 bytes.
    pub proof: String,
    /// The epoch of the share that answered.
    #[serde(default)]
    pub epoch: u32,
}

/// One public share inside [`InstallShareRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublicShare {
    /// Participant id.
    pub participant: u16,
    /// `K_i`, base64url.
    pub public_share: String,
}

impl PublicShare {
    /// Every participant's public share of `keyset`, in participant order.
    pub fn all_of(keyset: &crate::threshold::kem::PublicKeyset) -> Vec<PublicShare> {
        keyset
            .shares()
            .iter()
            .map(|(participant, k)| PublicShare {
                participant: *participant,
                public_share: b64_element(k),
            })
            .collect()
    }
}

/// `PUT /v1/admin/keys/{keyset_id}` (admin): installs this server's share.
/// The server recomputes the keyset id from the public parts, checks that
/// the public shares are consistent and that `share·G` is its own public
/// share, and refuses to replace a different existing share.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InstallShareRequest {
    /// The keyset's epoch (docs/FORMAT.md section 8.1); absent means 0,
    /// where the keyset id must be the hash of the public parts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u32,
    /// This server's participant id.
    pub participant: u16,
    /// Keyset threshold.
    pub threshold: u16,
    /// Group key `K`, base64url.
    pub group_key: String,
    /// Every participant's public share.
    pub public_shares: Vec<PublicShare>,
    /// The secret share `k_i`, base64url of a canonical scalar.
    pub share: String,
}

impl InstallShareRequest {
    /// The request that delivers `share` of `keyset` to its server. The
    /// caller should zeroize `share` (the secret, as text) once it is sent.
    pub fn new(keyset: &PublicKeyset, share: &SecretShare) -> Self {
        Self {
            epoch: keyset.epoch(),
            participant: share.id(),
            threshold: keyset.threshold(),
            group_key: b64_element(keyset.group_key()),
            public_shares: PublicShare::all_of(keyset),
            share: b64(share.value().to_bytes().expose()),
        }
    }
}

impl std::fmt::Debug for InstallShareRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstallShareRequest")
            .field("participant", &self.participant)
            .field("threshold", &self.threshold)
            .field("share", &"[redacted]")
            .finish_non_exhaustive()
    }
}

fn is_zero(epoch: &u32) -> bool {
    *epoch == 0
}

/// `POST /v1/admin/clients` (admin): creates a client token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateClientRequest {
    /// Client name, unique on this server: `[A-Za-z0-9._-]{1,64}`.
    pub name: String,
    /// Hex keyset ids the token may evaluate under.
    pub keysets: Vec<String>,
}

/// Response to [`CreateClientRequest`]. The token is shown only here; the
/// server keeps its SHA-256.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreateClientResponse {
    /// Client name.
    pub name: String,
    /// Bearer token, `slk_` + base64url of 32 random bytes.
    pub token: String,
}

impl std::fmt::Debug for CreateClientResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreateClientResponse")
            .field("name", &self.name)
            .field("token", &"[redacted]")
            .finish()
    }
}

/// Error body of every non-2xx answer. Never carries internals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// Short human-readable reason.
    pub error: String,
}

/// One client as `GET /v1/admin/clients` and `DELETE
/// /v1/admin/clients/{name}` (admin) describe it. Never carries a token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientInfo {
    /// Client name.
    pub name: String,
    /// Hex keyset ids the client may evaluate under.
    pub keysets: Vec<String>,
    /// Whether the client's token has been revoked.
    pub revoked: bool,
    /// When it was created (RFC 3339), if the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<String>,
}

/// `GET /v1/admin/clients` (admin).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientList {
    /// Every client, revoked ones included, in creation order.
    pub clients: Vec<ClientInfo>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_redacted() {
        assert_eq!(
            format!("{:?}", Token::new("slk_secret".into())),
            "[redacted]"
        );
    }
}
