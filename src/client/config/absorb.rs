//! Checking the deserialised file and turning it into keyset entries:
//! encodings, duplicates, the threshold, token sources, and the recorded
//! keyset id against the one recomputed from the rest.

use std::collections::BTreeMap;
use std::path::PathBuf;

use curve25519_dalek::ristretto::RistrettoPoint;
use zeroize::Zeroize as _;

use super::checks::{check_env_name, check_name, check_token, check_url, normalise_url};
use super::error::keyset_field;
use super::schema::{FileConfig, FileKeyset, FileServer};
use super::{Config, ConfigError, KeysetEntry, Network, ServerEntry, TokenSource};
use crate::client::duration::parse_duration;
use crate::encoding::{hex, parse_fingerprint, parse_hex32};
use crate::protocol::{unb64_element, Token};
use crate::threshold::kem::PublicKeyset;
use toml::Spanned;

impl Config {
    /// Validates the deserialised file and fills `self`.
    pub(super) fn absorb(&mut self, mut raw: FileConfig) -> Result<(), ConfigError> {
        if let Some(network) = raw.network.take() {
            let duration = |field: &str, value: Option<Spanned<String>>| {
                value
                    .map(|v| {
                        parse_duration(v.get_ref())
                            .map_err(|m| self.invalid(&format!("network.{field}"), m))
                    })
                    .transpose()
            };
            self.network = Network {
                connect_timeout: duration("connect_timeout", network.connect_timeout)?,
                request_timeout: duration("request_timeout", network.request_timeout)?,
            };
        }
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

    /// One keyset: its servers, then the threshold against how many there
    /// are, then its public part (from the servers' shares) against the id
    /// recorded in the file. Each step needs the one before.
    fn absorb_keyset(
        &self,
        prefix: &str,
        raw: &mut FileKeyset,
    ) -> Result<KeysetEntry, ConfigError> {
        if raw.servers.is_empty() {
            return Err(self.invalid(
                prefix,
                "no servers: add one [[...servers]] table per key-share server".into(),
            ));
        }
        let (servers, shares) = self.absorb_servers(prefix, &mut raw.servers)?;
        let threshold = *raw.threshold.get_ref();
        if threshold == 0 || usize::from(threshold) > servers.len() {
            return Err(self.invalid(
                &format!("{prefix}.threshold"),
                format!(
                    "threshold {threshold} is invalid with {} servers (need 1 <= threshold \
                     <= servers)",
                    servers.len()
                ),
            ));
        }
        let public = self.public_keyset(prefix, raw, shares)?;
        // KeysetEntry::new repeats checks made above, for entries built in
        // code; should one fail here, its field is relative to the keyset.
        let client = match raw.client.as_ref() {
            None => None,
            Some(name) if crate::protocol::valid_client_name(name.get_ref()) => {
                Some(name.get_ref().clone())
            }
            Some(_) => {
                return Err(self.invalid(
                    &format!("{prefix}.client"),
                    "expected a client name: 1 to 64 of A-Z a-z 0-9 . _ -".into(),
                ))
            }
        };
        let recovery = match raw.recovery.as_ref() {
            None => None,
            Some(text) => Some(
                crate::envelope::recovery::RecoveryPublic::parse(text.get_ref()).map_err(|_| {
                    self.invalid(
                        &format!("{prefix}.recovery"),
                        "expected a recovery public key (base64url of 32 bytes)".into(),
                    )
                })?,
            ),
        };
        KeysetEntry::new(public, servers)
            .map(|entry| entry.with_client(client).with_recovery(recovery))
            .map_err(|e| match e {
                ConfigError::Invalid { field, message, .. } => {
                    self.invalid(&format!("{prefix}.{field}"), message)
                }
                other => other,
            })
    }

    /// The keyset's servers in file order, each with the public share it
    /// holds.
    fn absorb_servers(
        &self,
        prefix: &str,
        raw: &mut [FileServer],
    ) -> Result<(Vec<ServerEntry>, Vec<Share>), ConfigError> {
        let mut seen = Seen::default();
        let mut servers = Vec::with_capacity(raw.len());
        let mut shares = Vec::with_capacity(raw.len());
        for (i, server) in raw.iter_mut().enumerate() {
            let (entry, share) =
                absorb_server(i, server, &mut seen).map_err(|(field, message)| {
                    self.invalid(&format!("{prefix}.servers[{i}].{field}"), message)
                })?;
            shares.push((entry.participant, share));
            servers.push(entry);
        }
        Ok((servers, shares))
    }

    /// The public keyset made from the threshold, group key and servers'
    /// shares. Its id must equal the one in the file, so an entry edited
    /// by hand (or corrupted) is refused rather than used.
    fn public_keyset(
        &self,
        prefix: &str,
        raw: &FileKeyset,
        shares: Vec<Share>,
    ) -> Result<PublicKeyset, ConfigError> {
        let err =
            |field: &str, message: String| self.invalid(&format!("{prefix}.{field}"), message);
        let group_key = unb64_element(raw.group_key.get_ref())
            .ok_or_else(|| err("group_key", NOT_AN_ELEMENT.into()))?;
        let id = parse_hex32(raw.id.get_ref().trim())
            .ok_or_else(|| err("id", "expected 64 hex digits (the keyset id)".into()))?;
        let inconsistent = |e: crate::threshold::Error| {
            self.invalid(
                prefix,
                format!("the servers' public shares do not match group_key and threshold: {e}"),
            )
        };
        let threshold = *raw.threshold.get_ref();
        let epoch = raw.epoch.as_ref().map_or(0, |e| *e.get_ref());
        if epoch > 0 {
            // A later epoch keeps epoch 0's id (docs/FORMAT.md section
            // 8.1), which its public shares no longer hash to: only their
            // consistency with `K` can be checked.
            return PublicKeyset::at_epoch(id, epoch, threshold, group_key, shares)
                .map_err(inconsistent);
        }
        let public = PublicKeyset::new(threshold, group_key, shares).map_err(inconsistent)?;
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
        Ok(public)
    }
}

/// A server's participant id and public share, as [`PublicKeyset::new`]
/// takes them.
type Share = (u16, RistrettoPoint);

/// What a bad `group_key` or `public_share` is told.
const NOT_AN_ELEMENT: &str = "expected a base64url (unpadded) canonical ristretto255 element";

/// One server table, on its own and against the servers before it (`seen`).
/// Errors name the field within the table.
fn absorb_server(
    i: usize,
    raw: &mut FileServer,
    seen: &mut Seen,
) -> Result<(ServerEntry, RistrettoPoint), (&'static str, String)> {
    let url = raw.url.get_ref().clone();
    check_url(&url).map_err(|m| ("url", m))?;
    seen.url(i, &url)?;
    let participant = *raw.participant.get_ref();
    if participant == 0 {
        return Err(("participant", "participant ids start at 1".into()));
    }
    seen.participant(i, participant)?;
    let share = unb64_element(raw.public_share.get_ref())
        .ok_or_else(|| ("public_share", NOT_AN_ELEMENT.into()))?;
    let fingerprint = match &raw.fingerprint {
        None => None,
        Some(text) => Some(parse_fingerprint(text.get_ref()).ok_or_else(|| {
            (
                "fingerprint",
                "expected \"sha256:\" followed by 64 hex digits".into(),
            )
        })?),
    };
    let identity = match &raw.identity {
        None => None,
        Some(text) => Some(
            crate::identity::IdentityPublic::parse(text.get_ref()).map_err(|_| {
                (
                    "identity",
                    "expected a server identity (base64url of 64 bytes)".into(),
                )
            })?,
        ),
    };
    let token = take_token_source(raw)?;
    let entry = ServerEntry {
        participant,
        url,
        fingerprint,
        identity,
        token,
    };
    Ok((entry, share))
}

/// The URLs and participant ids of a keyset's servers so far, each with the
/// index of the server that has it, so a repeat can name the first.
#[derive(Default)]
struct Seen {
    urls: BTreeMap<String, usize>,
    participants: BTreeMap<u16, usize>,
}

impl Seen {
    fn url(&mut self, i: usize, url: &str) -> Result<(), (&'static str, String)> {
        // Case and a trailing slash do not make another server.
        match self.urls.insert(normalise_url(url), i) {
            Some(prev) => Err(("url", format!("same server URL as servers[{prev}]"))),
            None => Ok(()),
        }
    }

    fn participant(&mut self, i: usize, participant: u16) -> Result<(), (&'static str, String)> {
        match self.participants.insert(participant, i) {
            Some(prev) => Err((
                "participant",
                format!("participant {participant} is already used by servers[{prev}]"),
            )),
            None => Ok(()),
        }
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
