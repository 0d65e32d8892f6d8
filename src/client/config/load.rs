//! Loading: reading the file (bounded, a regular file), requiring UTF-8,
//! deserialising it and checking it into a [`Config`].

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

use zeroize::{Zeroize as _, Zeroizing};

use super::checks::{check_env_name, check_name, check_token, check_url, normalise_url};
use super::error::keyset_field;
use super::locator::{position_of, Locator};
use super::schema::{FileConfig, FileKeyset, FileServer};
use super::{Config, ConfigError, KeysetEntry, ServerEntry, TokenSource};
use crate::durable;
use crate::encoding::{hex, parse_fingerprint, parse_hex32};
use crate::protocol::{unb64_element, Token};
use crate::threshold::kem::PublicKeyset;

/// Largest configuration file accepted, in bytes.
const MAX_CONFIG_LEN: u64 = 1 << 20;

impl Config {
    /// Reads and checks the configuration at `path`.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let io_err = |action, source| ConfigError::Io {
            path: path.to_path_buf(),
            action,
            source,
        };
        let mut file = match fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(ConfigError::NotFound {
                    path: path.to_path_buf(),
                })
            }
            Err(e) => return Err(io_err("open", e)),
        };
        let meta = file.metadata().map_err(|e| io_err("read", e))?;
        if meta.is_dir() {
            return Err(io_err(
                "read",
                io::Error::new(io::ErrorKind::InvalidInput, "is a directory, not a file"),
            ));
        }
        let mut bytes = Zeroizing::new(Vec::new());
        (&mut file)
            .take(MAX_CONFIG_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| io_err("read", e))?;
        if bytes.len() as u64 > MAX_CONFIG_LEN {
            return Err(ConfigError::Invalid {
                file: Some(path.to_path_buf()),
                position: None,
                field: String::new(),
                message: format!(
                    "file is larger than {MAX_CONFIG_LEN} bytes; this is not a shardlock configuration"
                ),
            });
        }
        let mut config = Self::parse(&bytes, Some(path))?;
        config.source_mode = durable::mode_of(&meta);
        Ok(config)
    }

    /// Parses and checks configuration text. `file` names it in messages
    /// and is the base for relative `token_file` paths.
    pub fn parse(bytes: &[u8], file: Option<&Path>) -> Result<Self, ConfigError> {
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = &bytes[..e.valid_up_to()];
            // Position of the first bad byte (the prefix is valid UTF-8).
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            ConfigError::Invalid {
                file: file.map(Path::to_path_buf),
                position: Some(position_of(prefix, prefix.len())),
                field: String::new(),
                message: format!(
                    "not UTF-8 text (byte 0x{:02x}); a shardlock configuration is a TOML text file",
                    bytes.get(e.valid_up_to()).copied().unwrap_or(0)
                ),
            }
        })?;
        let locator = Locator::new(text);
        let raw: FileConfig = toml::from_str(text).map_err(|e| {
            let span = e.span();
            let field = span
                .clone()
                .and_then(|s| locator.path_for_span(s, text))
                .unwrap_or_default();
            ConfigError::Invalid {
                file: file.map(Path::to_path_buf),
                position: span.map(|s| position_of(text, s.start)),
                field,
                message: e
                    .message()
                    .trim()
                    .lines()
                    .map(str::trim)
                    .collect::<Vec<_>>()
                    .join("; "),
            }
        })?;
        let positions = locator.positions(text);
        let mut config = Self {
            source: file.map(Path::to_path_buf),
            positions,
            ..Self::default()
        };
        config.absorb(raw)?;
        Ok(config)
    }

    /// Validates the deserialised file and fills `self`.
    fn absorb(&mut self, mut raw: FileConfig) -> Result<(), ConfigError> {
        let mut ids: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for (name, keyset) in &mut raw.keysets {
            let prefix = keyset_field(name);
            check_name(name).map_err(|m| self.invalid(&prefix, m))?;
            let entry = self.absorb_keyset(&prefix, keyset)?;
            if let Some(other) = ids.insert(*entry.public().id(), name.clone()) {
                return Err(self.invalid(
                    &format!("{prefix}.id"),
                    format!("same keyset id as {}", keyset_field(&other)),
                ));
            }
            self.keysets.insert(name.clone(), entry);
        }
        if let Some(default) = raw.default_keyset.take() {
            if !self.keysets.contains_key(&default) {
                return Err(self.invalid(
                    "default_keyset",
                    format!(
                        "no keyset named `{default}` (available: {})",
                        self.names_for_message()
                    ),
                ));
            }
            self.default_keyset = Some(default);
        }
        Ok(())
    }

    fn absorb_keyset(
        &self,
        prefix: &str,
        raw: &mut FileKeyset,
    ) -> Result<KeysetEntry, ConfigError> {
        let err =
            |field: &str, message: String| self.invalid(&format!("{prefix}.{field}"), message);
        if raw.servers.is_empty() {
            return Err(self.invalid(
                prefix,
                "no servers: add one [[...servers]] table per key-share server".into(),
            ));
        }
        let mut servers = Vec::with_capacity(raw.servers.len());
        let mut shares = Vec::with_capacity(raw.servers.len());
        let mut participants = BTreeMap::new();
        let mut urls = BTreeMap::new();
        for (i, server) in raw.servers.iter_mut().enumerate() {
            let sp = format!("servers[{i}]");
            check_url(&server.url).map_err(|m| err(&format!("{sp}.url"), m))?;
            if let Some(prev) = urls.insert(normalise_url(&server.url), i) {
                return Err(err(
                    &format!("{sp}.url"),
                    format!("same server URL as servers[{prev}]"),
                ));
            }
            if server.participant == 0 {
                return Err(err(
                    &format!("{sp}.participant"),
                    "participant ids start at 1".into(),
                ));
            }
            if let Some(prev) = participants.insert(server.participant, i) {
                return Err(err(
                    &format!("{sp}.participant"),
                    format!(
                        "participant {} is already used by servers[{prev}]",
                        server.participant
                    ),
                ));
            }
            let share = unb64_element(&server.public_share).ok_or_else(|| {
                err(
                    &format!("{sp}.public_share"),
                    "expected a base64url (unpadded) canonical ristretto255 element".into(),
                )
            })?;
            shares.push((server.participant, share));
            let fingerprint = match &server.fingerprint {
                None => None,
                Some(text) => Some(parse_fingerprint(text).ok_or_else(|| {
                    err(
                        &format!("{sp}.fingerprint"),
                        "expected \"sha256:\" followed by 64 hex digits".into(),
                    )
                })?),
            };
            let token = take_token_source(server).map_err(|(f, m)| err(&format!("{sp}.{f}"), m))?;
            servers.push(ServerEntry {
                participant: server.participant,
                url: server.url.clone(),
                fingerprint,
                token,
            });
        }
        if raw.threshold == 0 || usize::from(raw.threshold) > servers.len() {
            return Err(err(
                "threshold",
                format!(
                    "threshold {} is invalid with {} servers (need 1 <= threshold <= servers)",
                    raw.threshold,
                    servers.len()
                ),
            ));
        }
        let group_key = unb64_element(&raw.group_key).ok_or_else(|| {
            err(
                "group_key",
                "expected a base64url (unpadded) canonical ristretto255 element".into(),
            )
        })?;
        let id = parse_hex32(raw.id.trim())
            .ok_or_else(|| err("id", "expected 64 hex digits (the keyset id)".into()))?;
        let public = PublicKeyset::new(raw.threshold, group_key, shares).map_err(|e| {
            self.invalid(
                prefix,
                format!("the servers' public shares do not match group_key and threshold: {e}"),
            )
        })?;
        if public.id() != &id {
            return Err(err(
                "id",
                format!(
                    "does not match the id computed from threshold, group_key and the public \
                     shares ({}); the entry was edited or corrupted",
                    hex(public.id())
                ),
            ));
        }
        KeysetEntry::new(public, servers).map_err(|e| match e {
            ConfigError::Invalid { field, message, .. } => {
                self.invalid(&format!("{prefix}.{field}"), message)
            }
            other => other,
        })
    }
}

/// Takes the token source out of a raw server table, refusing more than one.
fn take_token_source(server: &mut FileServer) -> Result<TokenSource, (&'static str, String)> {
    let set: Vec<&'static str> = [
        ("token", server.token.is_some()),
        ("token_file", server.token_file.is_some()),
        ("token_env", server.token_env.is_some()),
    ]
    .into_iter()
    .filter(|(_, present)| *present)
    .map(|(name, _)| name)
    .collect();
    if set.len() > 1 {
        return Err((
            set[1],
            format!(
                "{} are both set; use exactly one of token, token_file, token_env",
                set.join(" and ")
            ),
        ));
    }
    if let Some(mut token) = server.token.take() {
        let checked = check_token(&token).map(|()| TokenSource::Inline(Token::new(token.clone())));
        token.zeroize();
        return checked.map_err(|m| ("token", m));
    }
    if let Some(path) = server.token_file.take() {
        if path.is_empty() {
            return Err(("token_file", "empty path".into()));
        }
        return Ok(TokenSource::File(PathBuf::from(path)));
    }
    if let Some(name) = server.token_env.take() {
        check_env_name(&name).map_err(|m| ("token_env", m))?;
        return Ok(TokenSource::Env(name));
    }
    Ok(TokenSource::None)
}
