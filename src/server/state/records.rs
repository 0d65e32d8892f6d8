//! The server's in-memory records: installed keys, clients, the principal a
//! token resolves to, and the naming rules for client names and keyset ids.
//!
//! Nothing here knows how records are stored; the storage side converts
//! its own formats to and from these types.

use crate::encoding::{hex, parse_hex32};
use crate::protocol::{b64_element, KeyInfo};
use crate::threshold::kem::PublicKeyset;
use crate::threshold::shamir::SecretShare;

/// Normalises a keyset id from a URL or request: 64 hex digits, returned
/// lower-case; `None` if malformed.
pub(crate) fn normalize_keyset_id(text: &str) -> Option<String> {
    parse_hex32(text).map(|bytes| hex(&bytes))
}

pub(crate) use crate::protocol::valid_client_name;

/// An installed share with the public keyset it belongs to.
///
/// Only `validate_install` builds one, so every instance has passed
/// install validation, whether it came from a request or from storage.
pub struct InstalledKey {
    pub(super) id_hex: String,
    pub(super) keyset: PublicKeyset,
    pub(super) share: SecretShare,
}

impl std::fmt::Debug for InstalledKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstalledKey")
            .field("keyset", &self.id_hex)
            .field("participant", &self.share.id())
            .field("share", &"[redacted]")
            .finish()
    }
}

impl InstalledKey {
    /// The keyset id, lower-case hex.
    pub fn id_hex(&self) -> &str {
        &self.id_hex
    }

    /// The public keyset.
    pub fn keyset(&self) -> &PublicKeyset {
        &self.keyset
    }

    /// This server's share.
    pub fn share(&self) -> &SecretShare {
        &self.share
    }

    /// `GET /v1/keys/{id}` answer.
    pub fn info(&self) -> KeyInfo {
        KeyInfo {
            keyset_id: self.id_hex.clone(),
            participant: self.share.id(),
            public_share: b64_element(&self.share.public_share()),
            threshold: self.keyset.threshold(),
            group_key: b64_element(self.keyset.group_key()),
            epoch: self.keyset.epoch(),
        }
    }
}

/// A client as the server knows it.
#[derive(Debug, Clone)]
pub struct ClientRecord {
    /// Unique name.
    pub name: String,
    /// SHA-256 of its token.
    pub token_sha256: [u8; 32],
    /// Keyset ids (lower-case hex) it may evaluate under.
    pub keysets: Vec<String>,
    /// Revoked clients are refused.
    pub revoked: bool,
    /// When it was created (RFC 3339).
    pub created: String,
}

/// Who a bearer token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// The admin credential.
    Admin,
    /// An active client with its grants.
    Client {
        /// Client name.
        name: String,
        /// Granted keyset ids.
        keysets: Vec<String>,
    },
    /// A client whose token was revoked.
    Revoked(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_names_are_url_safe_and_keyset_ids_are_64_hex_digits_lowercased() {
        assert!(valid_client_name("backup-host_1.example"));
        assert!(!valid_client_name(""));
        assert!(!valid_client_name(".."));
        assert!(!valid_client_name("a/b"));
        assert!(!valid_client_name(&"a".repeat(65)));
        assert!(valid_client_name(&"a".repeat(64)));
        assert_eq!(normalize_keyset_id(&"AB".repeat(32)), Some("ab".repeat(32)));
        assert_eq!(normalize_keyset_id("ab"), None);
        assert_eq!(normalize_keyset_id(&"g".repeat(64)), None);
    }
}
