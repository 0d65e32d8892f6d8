//! The file's layout as serde sees it: what is read (every value that is
//! checked later keeps its span, so a message can point at it) and what is
//! written.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use toml::Spanned;
use zeroize::Zeroize as _;

use super::error::keyset_field;
use super::{Config, ConfigError, KeysetEntry, Network, Position, TokenSource};
use crate::client::duration::config_duration;
use crate::encoding::{format_fingerprint, hex};
use crate::protocol::b64_element;

// ---------------------------------------------------------------------------
// Read.

/// The whole file as read. Not derived: [`super::deserialize`] reads it so
/// that keyset names keep the span of their key and still appear in the
/// field path of an error.
#[derive(Default)]
pub(super) struct FileConfig {
    pub(super) default_keyset: Option<Spanned<String>>,
    /// Sorted by name (a `Spanned` compares by its value only).
    pub(super) keysets: BTreeMap<Spanned<String>, FileKeyset>,
    pub(super) network: Option<FileNetwork>,
}

/// The `[network]` table: durations as text (`"2s"`, `"500ms"`), checked
/// when absorbed so a message can point at the value.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileNetwork {
    #[serde(default)]
    pub(super) connect_timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) request_timeout: Option<Spanned<String>>,
}

// The names FileKeyset and FileServer show up in toml's messages ("expected
// struct FileServer" for `servers = [1]`), so they are kept.

/// One `[keysets.NAME]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileKeyset {
    pub(super) id: Spanned<String>,
    #[serde(default)]
    pub(super) epoch: Option<Spanned<u32>>,
    #[serde(default)]
    pub(super) client: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) recovery: Option<Spanned<String>>,
    pub(super) threshold: Spanned<u16>,
    pub(super) group_key: Spanned<String>,
    #[serde(default)]
    pub(super) servers: Vec<FileServer>,
}

/// One `[[keysets.NAME.servers]]` table.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileServer {
    pub(super) url: Spanned<String>,
    pub(super) participant: Spanned<u16>,
    pub(super) public_share: Spanned<String>,
    #[serde(default)]
    pub(super) fingerprint: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) identity: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) token: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) token_file: Option<Spanned<String>>,
    #[serde(default)]
    pub(super) token_env: Option<Spanned<String>>,
}

impl Drop for FileServer {
    // An inline token not taken into a `Token` (the file was rejected
    // before) must not linger in freed memory.
    fn drop(&mut self) {
        if let Some(token) = self.token.as_mut() {
            token.get_mut().zeroize();
        }
    }
}

impl FileConfig {
    /// Where each value that a message may name is in `text`, by field
    /// path: a keyset at its name's key, every other field at its value.
    /// Kept by the [`Config`] because token errors come after loading.
    pub(super) fn positions(&self, text: &str) -> BTreeMap<String, Position> {
        let mut spans = Vec::new();
        if let Some(name) = &self.default_keyset {
            spans.push(("default_keyset".to_string(), name.span()));
        }
        if let Some(network) = &self.network {
            for (field, value) in [
                ("connect_timeout", &network.connect_timeout),
                ("request_timeout", &network.request_timeout),
            ] {
                if let Some(value) = value {
                    spans.push((format!("network.{field}"), value.span()));
                }
            }
        }
        for (name, keyset) in &self.keysets {
            let prefix = keyset_field(name.get_ref());
            spans.push((prefix.clone(), name.span()));
            spans.push((format!("{prefix}.id"), keyset.id.span()));
            spans.push((format!("{prefix}.threshold"), keyset.threshold.span()));
            if let Some(epoch) = &keyset.epoch {
                spans.push((format!("{prefix}.epoch"), epoch.span()));
            }
            if let Some(client) = &keyset.client {
                spans.push((format!("{prefix}.client"), client.span()));
            }
            if let Some(recovery) = &keyset.recovery {
                spans.push((format!("{prefix}.recovery"), recovery.span()));
            }
            spans.push((format!("{prefix}.group_key"), keyset.group_key.span()));
            for (i, server) in keyset.servers.iter().enumerate() {
                let optional = [
                    ("fingerprint", &server.fingerprint),
                    ("identity", &server.identity),
                    ("token", &server.token),
                    ("token_file", &server.token_file),
                    ("token_env", &server.token_env),
                ];
                let fields = [
                    ("url", server.url.span()),
                    ("participant", server.participant.span()),
                    ("public_share", server.public_share.span()),
                ]
                .into_iter()
                .chain(
                    optional
                        .into_iter()
                        .filter_map(|(field, value)| Some((field, value.as_ref()?.span()))),
                );
                for (field, span) in fields {
                    spans.push((format!("{prefix}.servers[{i}].{field}"), span));
                }
            }
        }
        spans
            .into_iter()
            .map(|(field, span)| (field, Position::at(text, span.start)))
            .collect()
    }
}

// ---------------------------------------------------------------------------
// Written. Borrowed from the configuration, so inline tokens are not copied;
// the field order here is the order in the file.

/// The whole file as written by [`Config::to_toml`].
#[derive(Serialize)]
pub(super) struct WrittenConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    default_keyset: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    network: Option<WrittenNetwork>,
    keysets: BTreeMap<&'a str, WrittenKeyset<'a>>,
}

#[derive(Serialize)]
struct WrittenNetwork {
    #[serde(skip_serializing_if = "Option::is_none")]
    connect_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_timeout: Option<String>,
}

#[derive(Serialize)]
struct WrittenKeyset<'a> {
    id: String,
    #[serde(skip_serializing_if = "is_zero")]
    epoch: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    client: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recovery: Option<String>,
    threshold: u16,
    group_key: String,
    servers: Vec<WrittenServer<'a>>,
}

#[derive(Serialize)]
struct WrittenServer<'a> {
    url: &'a str,
    participant: u16,
    public_share: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    identity: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_file: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_env: Option<&'a str>,
}

fn is_zero(epoch: &u32) -> bool {
    *epoch == 0
}

impl<'a> WrittenConfig<'a> {
    /// The file for `config`. Fails only for a token file path that is not
    /// UTF-8, which TOML cannot hold.
    pub(super) fn of(config: &'a Config) -> Result<Self, ConfigError> {
        Ok(Self {
            default_keyset: config.default_keyset.as_deref(),
            network: (config.network != Network::default()).then(|| WrittenNetwork {
                connect_timeout: config.network.connect_timeout.map(config_duration),
                request_timeout: config.network.request_timeout.map(config_duration),
            }),
            keysets: config
                .keysets
                .iter()
                .map(|(name, entry)| Ok((name.as_str(), WrittenKeyset::of(entry)?)))
                .collect::<Result<_, ConfigError>>()?,
        })
    }
}

impl<'a> WrittenKeyset<'a> {
    fn of(entry: &'a KeysetEntry) -> Result<Self, ConfigError> {
        let public = entry.public();
        let servers = entry
            .servers()
            .iter()
            .map(|s| {
                let mut out = WrittenServer {
                    url: &s.url,
                    participant: s.participant,
                    public_share: public
                        .public_share(s.participant)
                        .map(b64_element)
                        .unwrap_or_default(),
                    fingerprint: s.fingerprint.as_ref().map(format_fingerprint),
                    identity: s.identity.as_ref().map(|i| i.to_text()),
                    token: None,
                    token_file: None,
                    token_env: None,
                };
                match &s.token {
                    TokenSource::None => {}
                    TokenSource::Inline(t) => out.token = Some(t.expose()),
                    TokenSource::File(p) => {
                        out.token_file = Some(p.to_str().ok_or_else(|| ConfigError::Invalid {
                            file: None,
                            position: None,
                            field: "token_file".into(),
                            message: format!(
                                "path {} is not UTF-8 and cannot be stored in TOML",
                                p.display()
                            ),
                        })?)
                    }
                    TokenSource::Env(v) => out.token_env = Some(v),
                }
                Ok(out)
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self {
            id: hex(public.id()),
            epoch: public.epoch(),
            client: entry.client(),
            recovery: entry.recovery().map(|r| r.to_text()),
            threshold: public.threshold(),
            group_key: b64_element(public.group_key()),
            servers,
        })
    }
}
