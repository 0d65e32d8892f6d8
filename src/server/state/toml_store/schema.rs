//! The serde schemas of the state directory's TOML files (`server.toml`,
//! its `[limits]` and `[log]` tables, `keys/<id>.toml`, `clients.toml`)
//! and their conversions to and from the in-memory records.
//!
//! Every file is `deny_unknown_fields`: a misspelt setting is an error at
//! load, not a silently ignored line.

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use super::LAYOUT_VERSION;
#[cfg(test)]
use crate::encoding::b64;
use crate::encoding::{hex, parse_hex32};
#[cfg(test)]
use crate::protocol::b64_element;
use crate::protocol::{InstallShareRequest, PublicShare};
use crate::server::ratelimit::Limits;
use crate::server::state::{
    normalize_keyset_id, valid_client_name, validate_install, ClientRecord, InstallError,
    InstalledKey, Settings,
};

/// `server.toml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerFile {
    /// Layout version, currently 1.
    version: u32,
    /// SHA-256 of the admin token, hex.
    admin_token_sha256: String,
    /// Evaluate rate limits per client.
    #[serde(default)]
    limits: LimitsFile,
    /// Logging.
    #[serde(default)]
    log: LogFile,
}

impl ServerFile {
    /// A fresh server's settings: the default limits and logging.
    pub(super) fn new(admin_hash: &[u8; 32]) -> Self {
        Self {
            version: LAYOUT_VERSION,
            admin_token_sha256: hex(admin_hash),
            limits: LimitsFile::default(),
            log: LogFile::default(),
        }
    }

    /// The settings the file describes, or why they are unusable.
    pub(super) fn into_settings(self) -> Result<Settings, String> {
        if self.version != LAYOUT_VERSION {
            return Err(format!("unsupported layout version {}", self.version));
        }
        let admin_hash = parse_hex32(&self.admin_token_sha256)
            .ok_or("admin_token_sha256 is not 64 hex digits")?;
        let limits = &self.limits;
        if !(limits.evaluate_per_second.is_finite() && limits.evaluate_per_second > 0.0)
            || limits.evaluate_burst == 0
        {
            return Err(
                "limits must be positive (evaluate_per_second > 0, evaluate_burst >= 1)".into(),
            );
        }
        Ok(Settings {
            admin_hash,
            limits: Limits {
                per_second: limits.evaluate_per_second,
                burst: f64::from(limits.evaluate_burst),
            },
            log_stderr: self.log.stderr,
        })
    }
}

/// `[limits]` of `server.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    /// Sustained evaluate requests per second per client.
    #[serde(default = "default_per_second")]
    evaluate_per_second: f64,
    /// Burst of evaluate requests per client.
    #[serde(default = "default_burst")]
    evaluate_burst: u32,
}

fn default_per_second() -> f64 {
    20.0
}

fn default_burst() -> u32 {
    40
}

impl Default for LimitsFile {
    fn default() -> Self {
        Self {
            evaluate_per_second: default_per_second(),
            evaluate_burst: default_burst(),
        }
    }
}

/// `[log]` of `server.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogFile {
    /// Echo audit lines to stderr (they always go to `audit.log`).
    #[serde(default = "default_true")]
    stderr: bool,
}

fn default_true() -> bool {
    true
}

impl Default for LogFile {
    fn default() -> Self {
        Self { stderr: true }
    }
}

/// `keys/<keyset-id>.toml`: one installed share with its public keyset.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KeyFile {
    pub(super) keyset_id: String,
    participant: u16,
    threshold: u16,
    group_key: String,
    /// The secret share `k_i`, base64url; zeroized when the struct drops.
    share: String,
    public_shares: Vec<PublicShare>,
}

impl Drop for KeyFile {
    fn drop(&mut self) {
        self.share.zeroize();
    }
}

impl KeyFile {
    #[cfg(test)]
    pub(super) fn from_key(key: &InstalledKey) -> Self {
        Self {
            keyset_id: key.id_hex().to_string(),
            participant: key.share().id(),
            threshold: key.keyset().threshold(),
            group_key: b64_element(key.keyset().group_key()),
            share: b64(key.share().value().to_bytes().expose()),
            public_shares: PublicShare::all_of(key.keyset()),
        }
    }

    /// Validates the file exactly as an install request for keyset `id`
    /// would be, so a damaged file cannot hold a key the API would refuse.
    pub(super) fn validate(&self, id: &str) -> Result<InstalledKey, InstallError> {
        let mut request = InstallShareRequest {
            participant: self.participant,
            threshold: self.threshold,
            group_key: self.group_key.clone(),
            public_shares: self.public_shares.clone(),
            share: self.share.clone(),
        };
        let validated = validate_install(id, &request);
        // The request is a second copy of the secret share.
        request.share.zeroize();
        validated
    }
}

/// `clients.toml`.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientsFile {
    #[serde(default, rename = "client")]
    pub(super) clients: Vec<ClientEntry>,
}

impl ClientsFile {
    #[cfg(test)]
    pub(super) fn from_records(records: &[ClientRecord]) -> Self {
        Self {
            clients: records.iter().map(ClientEntry::from_record).collect(),
        }
    }
}

/// One `[[client]]` of `clients.toml`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ClientEntry {
    name: String,
    token_sha256: String,
    keysets: Vec<String>,
    #[serde(default)]
    revoked: bool,
    #[serde(default)]
    created: String,
}

impl ClientEntry {
    #[cfg(test)]
    fn from_record(record: &ClientRecord) -> Self {
        Self {
            name: record.name.clone(),
            token_sha256: hex(&record.token_sha256),
            keysets: record.keysets.clone(),
            revoked: record.revoked,
            created: record.created.clone(),
        }
    }

    /// The record the entry describes, with keyset ids normalised to
    /// lower case, or why the entry is unusable.
    pub(super) fn into_record(self) -> Result<ClientRecord, String> {
        let token_sha256 = parse_hex32(&self.token_sha256)
            .ok_or_else(|| format!("bad token hash for {}", self.name))?;
        if !valid_client_name(&self.name) {
            return Err("invalid client name".into());
        }
        let keysets = self
            .keysets
            .iter()
            .map(|k| normalize_keyset_id(k))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| format!("bad keyset id for {}", self.name))?;
        Ok(ClientRecord {
            name: self.name,
            token_sha256,
            keysets,
            revoked: self.revoked,
            created: self.created,
        })
    }
}
