//! The coordinator's journal of a lifecycle round: everything relayed so
//! far (plan, deals, confirmations) and which servers play which part, so
//! an interrupted round is resumed or rolled back from where it stopped
//! (`--resume`, `--abort`). It holds no secret: sub-shares are sealed to
//! their recipients and admin tokens are never written.
//!
//! One file per keyset name, `rounds/NAME.json` beside the config file,
//! mode 0600, replaced atomically at every step.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::super::error::{Error, Result};
use crate::lifecycle::wire::{WireConfirmation, WireDeal, WireEpoch, WirePlan};

/// Journal format version.
const VERSION: u32 = 1;

/// One server of the round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JournalServer {
    /// Base URL.
    pub(crate) url: String,
    /// Pinned certificate fingerprint (`sha256:HEX`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) fingerprint: Option<String>,
    /// Its identity as pinned for this round.
    pub(crate) identity: String,
    /// Participant id in the current epoch, if it holds a share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) old_participant: Option<u16>,
    /// Participant id in the new epoch, if it will hold one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) new_participant: Option<u16>,
}

/// A round in progress.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Journal {
    pub(crate) version: u32,
    /// The keyset's name in the config.
    pub(crate) keyset: String,
    /// The plan every message is bound to.
    pub(crate) plan: WirePlan,
    /// Every server taking part.
    pub(crate) servers: Vec<JournalServer>,
    /// Client name to register at servers that need a token afterwards.
    pub(crate) client_name: String,
    /// Make the keyset the default (create).
    #[serde(default)]
    pub(crate) make_default: bool,
    /// Round 1's deals, once every dealer answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deals: Option<Vec<WireDeal>>,
    /// Round 2's confirmations so far.
    #[serde(default)]
    pub(crate) confirmations: Vec<WireConfirmation>,
    /// The transcript hash the deals give (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) transcript: Option<String>,
    /// The new epoch's public keyset, once computed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) keyset_after: Option<WireEpoch>,
    /// Set once every confirmation is in and the first commit was sent:
    /// from then on the round can only go forward.
    #[serde(default)]
    pub(crate) committing: bool,
}

impl Journal {
    pub(crate) fn new(
        keyset: &str,
        plan: WirePlan,
        servers: Vec<JournalServer>,
        client_name: String,
        make_default: bool,
    ) -> Self {
        Self {
            version: VERSION,
            keyset: keyset.to_string(),
            plan,
            servers,
            client_name,
            make_default,
            deals: None,
            confirmations: Vec::new(),
            transcript: None,
            keyset_after: None,
            committing: false,
        }
    }

    /// Where the journal of keyset `name` lives for the config at
    /// `config_path`.
    pub(crate) fn path(config_path: &Path, name: &str) -> PathBuf {
        config_path
            .parent()
            .unwrap_or_else(|| Path::new("."))
            .join("rounds")
            .join(format!("{name}.json"))
    }

    /// The journal of keyset `name`, if a round is in progress.
    pub(crate) fn load(config_path: &Path, name: &str) -> Result<Option<Self>> {
        let path = Self::path(config_path, name);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(Error::Io {
                    context: format!("cannot read {}", path.display()),
                    source,
                })
            }
        };
        let journal: Self = serde_json::from_str(&text).map_err(|e| {
            Error::Failed(format!(
                "{} is not a readable round journal ({e}); move it away to start over",
                path.display()
            ))
        })?;
        if journal.version != VERSION {
            return Err(Error::Failed(format!(
                "{} was written by another shardlock version",
                path.display()
            )));
        }
        Ok(Some(journal))
    }

    /// Writes the journal durably (temporary file, fsync, rename).
    pub(crate) fn save(&self, config_path: &Path) -> Result<()> {
        let path = Self::path(config_path, &self.keyset);
        let dir = path.parent().unwrap_or_else(|| Path::new("."));
        let io = |context: String| move |source| Error::Io { context, source };
        crate::durable::create_private_dir(dir)
            .map_err(io(format!("cannot create {}", dir.display())))?;
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::Failed(format!("cannot encode the round journal: {e}")))?;
        crate::durable::write_file(&path, text.as_bytes(), crate::durable::Replace::Allow)
            .map_err(io(format!("cannot write {}", path.display())))
    }

    /// Removes the journal: the round is over.
    pub(crate) fn remove(config_path: &Path, name: &str) -> Result<()> {
        let path = Self::path(config_path, name);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io {
                context: format!("cannot remove {}", path.display()),
                source,
            }),
        }
    }
}
