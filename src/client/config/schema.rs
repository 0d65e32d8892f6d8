//! The file's layout as serde sees it, both ways.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::Zeroize as _;

use super::{ConfigError, KeysetEntry, TokenSource};
use crate::encoding::hex;
use crate::protocol::b64_element;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) default_keyset: Option<String>,
    #[serde(default)]
    pub(super) keysets: BTreeMap<String, FileKeyset>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileKeyset {
    pub(super) id: String,
    pub(super) threshold: u16,
    pub(super) group_key: String,
    #[serde(default)]
    pub(super) servers: Vec<FileServer>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct FileServer {
    pub(super) url: String,
    pub(super) participant: u16,
    pub(super) public_share: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) token_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) token_env: Option<String>,
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(token) = self.token.as_mut() {
            token.zeroize();
        }
    }
}

impl FileKeyset {
    pub(super) fn from_entry(entry: &KeysetEntry) -> Result<Self, ConfigError> {
        let servers = entry
            .servers()
            .iter()
            .map(|s| {
                let public_share = entry
                    .public()
                    .public_share(s.participant)
                    .map(b64_element)
                    .unwrap_or_default();
                let mut out = FileServer {
                    url: s.url.clone(),
                    participant: s.participant,
                    public_share,
                    fingerprint: s
                        .fingerprint
                        .as_ref()
                        .map(crate::encoding::format_fingerprint),
                    token: None,
                    token_file: None,
                    token_env: None,
                };
                match &s.token {
                    TokenSource::None => {}
                    TokenSource::Inline(t) => out.token = Some(t.expose().to_string()),
                    TokenSource::File(p) => {
                        out.token_file = Some(
                            p.to_str()
                                .ok_or_else(|| ConfigError::Invalid {
                                    file: None,
                                    position: None,
                                    field: "token_file".into(),
                                    message: format!(
                                        "path {} is not UTF-8 and cannot be stored in TOML",
                                        p.display()
                                    ),
                                })?
                                .to_string(),
                        )
                    }
                    TokenSource::Env(v) => out.token_env = Some(v.clone()),
                }
                Ok(out)
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(Self {
            id: hex(entry.public().id()),
            threshold: entry.public().threshold(),
            group_key: b64_element(entry.public().group_key()),
            servers,
        })
    }
}
