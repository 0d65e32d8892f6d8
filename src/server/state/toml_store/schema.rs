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
use crate::protocol::{InstallShareRequest, PublicShare, MAX_BATCH};
use crate::server::ratelimit::{Limits, Rate};
use crate::server::state::{
    normalize_keyset_id, valid_client_name, validate_install, ClientRecord, DatabaseUrl,
    InstallError, InstalledKey, Settings,
};
use zeroize::Zeroizing;

/// `server.toml`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ServerFile {
    /// Layout version, currently 1.
    version: u32,
    /// SHA-256 of the admin token, hex.
    admin_token_sha256: String,
    /// Rate limits, caps and timeouts.
    #[serde(default)]
    limits: LimitsFile,
    /// Logging.
    #[serde(default)]
    log: LogFile,
    /// Where keys and clients live: absent means the embedded SQLite
    /// database in the state directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    database: Option<DatabaseFile>,
}

/// `[database]` of `server.toml`: a shared PostgreSQL database.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DatabaseFile {
    /// `postgres://user:password@host:port/dbname`; may hold a password,
    /// so it is never printed (nor shown by `Debug`).
    url: String,
}

impl std::fmt::Debug for DatabaseFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DatabaseFile { url: [redacted] }")
    }
}

impl ServerFile {
    /// A fresh server's settings: the default limits and logging.
    pub(super) fn new(admin_hash: &[u8; 32]) -> Self {
        Self {
            version: LAYOUT_VERSION,
            admin_token_sha256: hex(admin_hash),
            limits: LimitsFile::default(),
            log: LogFile::default(),
            database: None,
        }
    }

    /// The settings the file describes, or why they are unusable.
    pub(super) fn into_settings(self) -> Result<Settings, String> {
        if self.version != LAYOUT_VERSION {
            return Err(format!("unsupported layout version {}", self.version));
        }
        let admin_hash = parse_hex32(&self.admin_token_sha256)
            .ok_or("admin_token_sha256 is not 64 hex digits")?;
        let limits = self.limits.to_limits()?;
        Ok(Settings {
            admin_hash,
            limits,
            log_stderr: self.log.stderr,
            database: self.database.map(|d| DatabaseUrl(Zeroizing::new(d.url))),
        })
    }
}

/// `[limits]` of `server.toml`. Every key is optional; the defaults are
/// `Limits::default()` (docs/OPERATIONS.md section 5). `evaluate_per_second`
/// and `evaluate_burst` keep their old meaning (requests per client); the
/// element limit is new and applies on top of them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct LimitsFile {
    evaluate_per_second: f64,
    evaluate_burst: u32,
    evaluate_elements_per_second: f64,
    evaluate_elements_burst: u32,
    unauthenticated_per_second: f64,
    unauthenticated_burst: u32,
    max_connections: u32,
    max_inflight_evaluations: u32,
    header_timeout_seconds: f64,
    body_timeout_seconds: f64,
    idle_timeout_seconds: f64,
}

impl Default for LimitsFile {
    fn default() -> Self {
        let d = Limits::default();
        // The defaults are small whole numbers: exact in u32.
        Self {
            evaluate_per_second: d.requests.per_second,
            evaluate_burst: d.requests.burst as u32,
            evaluate_elements_per_second: d.elements.per_second,
            evaluate_elements_burst: d.elements.burst as u32,
            unauthenticated_per_second: d.unauthenticated.per_second,
            unauthenticated_burst: d.unauthenticated.burst as u32,
            max_connections: d.max_connections as u32,
            max_inflight_evaluations: d.max_evaluations as u32,
            header_timeout_seconds: d.header_timeout.as_secs_f64(),
            body_timeout_seconds: d.body_timeout.as_secs_f64(),
            idle_timeout_seconds: d.idle_timeout.as_secs_f64(),
        }
    }
}

impl LimitsFile {
    fn to_limits(&self) -> Result<Limits, String> {
        let rate = |name: &str, per_second: f64, burst: u32, min_burst: u32| {
            if !(per_second.is_finite() && per_second > 0.0) {
                return Err(format!(
                    "limits: {name}_per_second must be a positive number"
                ));
            }
            if burst < min_burst {
                return Err(format!("limits: {name}_burst must be at least {min_burst}"));
            }
            Ok(Rate {
                per_second,
                burst: f64::from(burst),
            })
        };
        // One day at most: longer is a mistake, and from_secs_f64 must not
        // see huge or negative values.
        let seconds = |name: &str, value: f64| {
            if value.is_finite() && value > 0.0 && value <= 86_400.0 {
                Ok(std::time::Duration::from_secs_f64(value))
            } else {
                Err(format!(
                    "limits: {name}_seconds must be > 0 and at most 86400"
                ))
            }
        };
        let count = |name: &str, value: u32| {
            usize::try_from(value)
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| format!("limits: {name} must be at least 1"))
        };
        // A full batch must fit the element bucket, or it could never pass.
        let max_batch = u32::try_from(MAX_BATCH).unwrap_or(u32::MAX);
        Ok(Limits {
            requests: rate("evaluate", self.evaluate_per_second, self.evaluate_burst, 1)?,
            elements: rate(
                "evaluate_elements",
                self.evaluate_elements_per_second,
                self.evaluate_elements_burst,
                max_batch,
            )?,
            unauthenticated: rate(
                "unauthenticated",
                self.unauthenticated_per_second,
                self.unauthenticated_burst,
                1,
            )?,
            max_connections: count("max_connections", self.max_connections)?,
            max_evaluations: count("max_inflight_evaluations", self.max_inflight_evaluations)?,
            header_timeout: seconds("header_timeout", self.header_timeout_seconds)?,
            body_timeout: seconds("body_timeout", self.body_timeout_seconds)?,
            idle_timeout: seconds("idle_timeout", self.idle_timeout_seconds)?,
        })
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
            // Version 1 predates epochs.
            epoch: 0,
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
