//! Checking the deserialised file and turning it into keyset entries:
//! encodings, duplicates, the threshold, token sources, and the recorded
//! keyset id against the one recomputed from the rest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use zeroize::Zeroize as _;

use super::checks::{check_env_name, check_name, check_token, check_url, normalise_url};
use super::error::keyset_field;
use super::schema::{FileConfig, FileKeyset, FileServer};
use super::{Config, ConfigError, KeysetEntry, ServerEntry, TokenSource};
use crate::encoding::{hex, parse_fingerprint, parse_hex32};
use crate::protocol::{unb64_element, Token};
use crate::threshold::kem::PublicKeyset;

impl Config {
    /// Validates the deserialised file and fills `self`.
    pub(super) fn absorb(&mut self, mut raw: FileConfig) -> Result<(), ConfigError> {
        let mut ids: BTreeMap<[u8; 32], String> = BTreeMap::new();
        for (name, keyset) in &mut raw.keysets {
            let name = name.get_ref();
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
            let default = default.into_inner();
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
            let url = server.url.get_ref().clone();
            let participant = *server.participant.get_ref();
            check_url(&url).map_err(|m| err(&format!("{sp}.url"), m))?;
            if let Some(prev) = urls.insert(normalise_url(&url), i) {
                return Err(err(
                    &format!("{sp}.url"),
                    format!("same server URL as servers[{prev}]"),
                ));
            }
            if participant == 0 {
                return Err(err(
                    &format!("{sp}.participant"),
                    "participant ids start at 1".into(),
                ));
            }
            if let Some(prev) = participants.insert(participant, i) {
                return Err(err(
                    &format!("{sp}.participant"),
                    format!("participant {participant} is already used by servers[{prev}]"),
                ));
            }
            let share = unb64_element(server.public_share.get_ref()).ok_or_else(|| {
                err(
                    &format!("{sp}.public_share"),
                    "expected a base64url (unpadded) canonical ristretto255 element".into(),
                )
            })?;
            shares.push((participant, share));
            let fingerprint = match &server.fingerprint {
                None => None,
                Some(text) => Some(parse_fingerprint(text.get_ref()).ok_or_else(|| {
                    err(
                        &format!("{sp}.fingerprint"),
                        "expected \"sha256:\" followed by 64 hex digits".into(),
                    )
                })?),
            };
            let token = take_token_source(server).map_err(|(f, m)| err(&format!("{sp}.{f}"), m))?;
            servers.push(ServerEntry {
                participant,
                url,
                fingerprint,
                token,
            });
        }
        let threshold = *raw.threshold.get_ref();
        if threshold == 0 || usize::from(threshold) > servers.len() {
            return Err(err(
                "threshold",
                format!(
                    "threshold {} is invalid with {} servers (need 1 <= threshold <= servers)",
                    threshold,
                    servers.len()
                ),
            ));
        }
        let group_key = unb64_element(raw.group_key.get_ref()).ok_or_else(|| {
            err(
                "group_key",
                "expected a base64url (unpadded) canonical ristretto255 element".into(),
            )
        })?;
        let id = parse_hex32(raw.id.get_ref().trim())
            .ok_or_else(|| err("id", "expected 64 hex digits (the keyset id)".into()))?;
        let public = PublicKeyset::new(threshold, group_key, shares).map_err(|e| {
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
    if let Some(token) = server.token.take() {
        let mut token = token.into_inner();
        let checked = check_token(&token).map(|()| TokenSource::Inline(Token::new(token.clone())));
        token.zeroize();
        return checked.map_err(|m| ("token", m));
    }
    if let Some(path) = server.token_file.take() {
        let path = path.into_inner();
        if path.is_empty() {
            return Err(("token_file", "empty path".into()));
        }
        return Ok(TokenSource::File(PathBuf::from(path)));
    }
    if let Some(name) = server.token_env.take() {
        let name = name.into_inner();
        check_env_name(&name).map_err(|m| ("token_env", m))?;
        return Ok(TokenSource::Env(name));
    }
    Ok(TokenSource::None)
}
