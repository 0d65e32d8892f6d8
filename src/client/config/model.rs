//! The checked configuration in memory: keysets and their servers, where
//! each server's token comes from, and the [`Config`] holding them.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::checks::{check_env_name, check_token, check_url, join_ids, normalise_url};
use super::{ConfigError, Position};
use crate::client::ServerEndpoint;
use crate::envelope::recovery::RecoveryPublic;
use crate::envelope::Recipients;
use crate::protocol::Token;
use crate::threshold::kem::PublicKeyset;

/// Where a server's bearer token comes from.
#[derive(Debug, Clone, Default)]
pub enum TokenSource {
    /// No token: the server can be asked for its status only.
    #[default]
    None,
    /// Stored in the configuration file itself (`token = "slk_..."`).
    Inline(Token),
    /// Read from a file (`token_file`); relative paths are relative to the
    /// configuration file's directory.
    File(PathBuf),
    /// Read from an environment variable (`token_env`).
    Env(String),
}

/// One key-share server of a keyset, as configured.
#[derive(Debug, Clone)]
pub struct ServerEntry {
    /// Participant id of the server in the keyset.
    pub participant: u16,
    /// Base URL, e.g. `https://127.0.0.1:8443`.
    pub url: String,
    /// Pinned certificate fingerprint (SHA-256 of the DER certificate).
    pub fingerprint: Option<[u8; 32]>,
    /// Pinned long-term server identity (docs/FORMAT.md section 8.2), as
    /// the key lifecycle commands learned it over the pinned TLS
    /// connection; `None` until one of them first ran.
    pub identity: Option<crate::identity::IdentityPublic>,
    /// Where its bearer token comes from.
    pub token: TokenSource,
}

/// A configured keyset: its checked public part and its servers, one per
/// participant, sorted by participant id.
#[derive(Debug, Clone)]
pub struct KeysetEntry {
    public: PublicKeyset,
    servers: Vec<ServerEntry>,
    /// The name this machine's client has at the servers (`client =`),
    /// when known: `keyset create` and `add-client` write it.
    client: Option<String>,
    /// The keyset's offline recovery key (`recovery =`), if one is set:
    /// every file encrypted from now on gets a stanza for it.
    recovery: Option<RecoveryPublic>,
}

impl KeysetEntry {
    /// Builds an entry for `public` (as made by `keyset create` or
    /// `dev-cluster`). `servers` must name every participant of the keyset
    /// exactly once, with distinct `http(s)://` URLs.
    pub fn new(public: PublicKeyset, mut servers: Vec<ServerEntry>) -> Result<Self, ConfigError> {
        servers.sort_by_key(|s| s.participant);
        let invalid = |field: String, message: String| ConfigError::Invalid {
            file: None,
            position: None,
            field,
            message,
        };
        let mut seen_urls = BTreeMap::new();
        for (i, server) in servers.iter().enumerate() {
            let field = |name: &str| format!("servers[{i}].{name}");
            if public.public_share(server.participant).is_none() {
                return Err(invalid(
                    field("participant"),
                    format!(
                        "participant {} is not part of the keyset (participants: {})",
                        server.participant,
                        join_ids(&public.participants())
                    ),
                ));
            }
            if i > 0 && servers[i - 1].participant == server.participant {
                return Err(invalid(
                    field("participant"),
                    format!("participant {} appears twice", server.participant),
                ));
            }
            check_url(&server.url).map_err(|m| invalid(field("url"), m))?;
            if let Some(prev) = seen_urls.insert(normalise_url(&server.url), i) {
                return Err(invalid(
                    field("url"),
                    format!("same server URL as servers[{prev}]"),
                ));
            }
            match &server.token {
                TokenSource::Inline(t) => {
                    check_token(t.expose()).map_err(|m| invalid(field("token"), m))?
                }
                TokenSource::Env(name) => {
                    check_env_name(name).map_err(|m| invalid(field("token_env"), m))?
                }
                TokenSource::File(p) if p.as_os_str().is_empty() => {
                    return Err(invalid(field("token_file"), "empty path".into()))
                }
                TokenSource::File(_) | TokenSource::None => {}
            }
        }
        if servers.len() != public.shares().len() {
            return Err(invalid(
                "servers".into(),
                format!(
                    "the keyset has {} participants ({}) but {} servers are given",
                    public.shares().len(),
                    join_ids(&public.participants()),
                    servers.len()
                ),
            ));
        }
        Ok(Self {
            public,
            servers,
            client: None,
            recovery: None,
        })
    }

    /// The same entry with this recovery key (or none).
    pub fn with_recovery(mut self, recovery: Option<RecoveryPublic>) -> Self {
        self.recovery = recovery;
        self
    }

    /// The recovery key, if set.
    pub fn recovery(&self) -> Option<&RecoveryPublic> {
        self.recovery.as_ref()
    }

    /// Whom a file encrypted for this keyset is for.
    pub fn recipients(&self) -> Recipients<'_> {
        Recipients {
            keyset: &self.public,
            recovery: self.recovery.as_ref(),
        }
    }

    /// The same entry with this machine's client name recorded.
    pub fn with_client(mut self, name: Option<String>) -> Self {
        self.client = name;
        self
    }

    /// This machine's client name at the servers, if recorded.
    pub fn client(&self) -> Option<&str> {
        self.client.as_deref()
    }

    /// Whether any server has a client token here: without one (a public
    /// export) the keyset can only encrypt.
    pub fn can_decrypt(&self) -> bool {
        self.servers
            .iter()
            .any(|s| !matches!(s.token, TokenSource::None))
    }

    /// The public keyset (for an encrypt-only export): the same servers,
    /// pins and identities, no tokens, no client name.
    pub fn public_only(&self) -> Self {
        Self {
            public: self.public.clone(),
            servers: self
                .servers
                .iter()
                .map(|s| ServerEntry {
                    token: TokenSource::None,
                    ..s.clone()
                })
                .collect(),
            client: None,
            // An encrypt-only host still adds the recovery stanza.
            recovery: self.recovery.clone(),
        }
    }

    /// The keyset's public part.
    pub fn public(&self) -> &PublicKeyset {
        &self.public
    }

    /// The servers, sorted by participant id.
    pub fn servers(&self) -> &[ServerEntry] {
        &self.servers
    }
}

/// A keyset ready for use: public part plus endpoints with tokens resolved.
#[derive(Debug, Clone)]
pub struct ResolvedKeyset {
    /// The keyset's name in the configuration.
    pub name: String,
    /// The checked public keyset.
    pub public: PublicKeyset,
    /// One endpoint per server, sorted by participant id.
    pub endpoints: Vec<ServerEndpoint>,
}

/// The `[network]` section: how long to wait for servers. Unset values
/// fall back to the defaults of [`crate::client::http::HttpOptions`]; the
/// `--connect-timeout` and `--timeout` flags win over both.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Network {
    /// `connect_timeout`: time to establish a TCP connection.
    pub connect_timeout: Option<Duration>,
    /// `request_timeout`: deadline of one whole request.
    pub request_timeout: Option<Duration>,
}

/// The client configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub(super) default_keyset: Option<String>,
    pub(super) network: Network,
    pub(super) keysets: BTreeMap<String, KeysetEntry>,
    /// The file this was loaded from.
    pub(super) source: Option<PathBuf>,
    /// Unix permission bits of that file when it was loaded.
    pub(super) source_mode: Option<u32>,
    /// Field path → position in the source file, for later messages.
    pub(super) positions: BTreeMap<String, Position>,
}

impl Config {
    /// An empty configuration (no keysets).
    pub fn new() -> Self {
        Self::default()
    }

    /// The file this configuration was loaded from, if any.
    pub fn path(&self) -> Option<&Path> {
        self.source.as_deref()
    }

    /// Configured keyset names, sorted.
    pub fn keyset_names(&self) -> Vec<&str> {
        self.keysets.keys().map(String::as_str).collect()
    }

    /// The configured entry for `name`.
    pub fn entry(&self, name: &str) -> Option<&KeysetEntry> {
        self.keysets.get(name)
    }

    /// The `[network]` section.
    pub fn network(&self) -> Network {
        self.network
    }

    /// Replaces the `[network]` section (written by [`Config::save`]).
    pub fn set_network(&mut self, network: Network) {
        self.network = network;
    }

    /// The explicit `default_keyset`, if set.
    pub fn default_keyset(&self) -> Option<&str> {
        self.default_keyset.as_deref()
    }

    /// An [`ConfigError::Invalid`] for `field`, located in the source file
    /// if the field was found there.
    pub(super) fn invalid(&self, field: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            file: self.source.clone(),
            position: self.positions.get(field).copied(),
            field: field.to_string(),
            message,
        }
    }

    /// [`ConfigError::UnknownKeyset`] for `name`, listing what is configured.
    pub(super) fn unknown(&self, name: &str) -> ConfigError {
        ConfigError::UnknownKeyset {
            name: name.to_string(),
            available: self.keysets.keys().cloned().collect(),
            file: self.source.clone(),
        }
    }

    /// The configured names for a message (`none` rather than nothing).
    pub(super) fn names_for_message(&self) -> String {
        let names = self.keyset_names();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}
