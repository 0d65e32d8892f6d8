//! The client configuration: which keysets exist, and how to reach and
//! authenticate to each of their key-share servers.
//!
//! # Location
//!
//! [`resolve_path`] picks the first of:
//! 1. an explicit path (`--config PATH`);
//! 2. the `SHARDLOCK_CONFIG` environment variable;
//! 3. `$XDG_CONFIG_HOME/shardlock/config.toml` (only if absolute, per the
//!    XDG base directory spec);
//! 4. `$HOME/.config/shardlock/config.toml`.
//!
//! Empty environment variables count as unset.
//!
//! # Schema
//!
//! ```toml
//! # Optional. When only one keyset exists it is the default.
//! default_keyset = "main"
//!
//! [keysets.main]
//! # Keyset id (64 hex digits). Must equal the id recomputed from threshold,
//! # group_key and the servers' public shares, so an edited entry is caught.
//! id = "3f2c...64 hex digits...9a1b"
//! threshold = 2
//! # The group key K, unpadded base64url of a canonical ristretto255 element.
//! group_key = "jPzG...43 characters...Ww"
//!
//! [[keysets.main.servers]]
//! url = "https://127.0.0.1:8443"
//! participant = 1                     # 1..=65535, unique within the keyset
//! public_share = "8m0e...43 characters...Kg"   # K_i, base64url
//! # Optional: pin exactly this certificate (SHA-256 of its DER). Without
//! # it the web PKI roots bundled into shardlock (webpki-roots) and hostname
//! # verification apply.
//! fingerprint = "sha256:5d41...64 hex digits...c0de"
//! # At most one of token / token_file / token_env. With none, the server
//! # can only be asked for its status, not to evaluate.
//! token = "slk_..."
//!
//! [[keysets.main.servers]]
//! url = "https://127.0.0.1:8444"
//! participant = 2
//! public_share = "..."
//! # Relative paths are relative to this config file's directory. The file
//! # must not be readable by group or others (chmod 600); one trailing
//! # newline/whitespace is trimmed.
//! token_file = "tokens/node2"
//!
//! [[keysets.main.servers]]
//! url = "https://keys.example.net"
//! participant = 3
//! public_share = "..."
//! token_env = "SHARDLOCK_TOKEN_NODE3"   # read from this environment variable
//! ```
//!
//! Keyset names are 1 to 64 characters from `[A-Za-z0-9_-]`. Unknown fields
//! are errors, so typos are caught. Server URLs use `https://` (or `http://`
//! for local tests) and must be distinct within a keyset.
//!
//! # Errors
//!
//! Every problem in a file is reported as `FILE:LINE:COLUMN: FIELD: what is
//! wrong`, e.g.
//! `config.toml:7:1: keysets.main.servers[1].fingerprint: expected "sha256:" followed by 64 hex digits`.
//! Semantic checks (element encodings, duplicate participants or URLs,
//! threshold, keyset id, token sources, `default_keyset`) run at load time;
//! tokens are read from files and the environment only when a keyset is
//! resolved ([`Config::keyset`]).
//!
//! # Writing
//!
//! [`Config::save`] writes atomically (temporary file in the same directory,
//! fsync, rename) with mode 0600 since the file may hold inline tokens,
//! creating the parent directory with mode 0700. Comments in a hand-edited
//! file are not preserved.

mod checks;
mod edit;
mod error;
mod location;
mod model;
mod resolve;
mod save;
mod tokens;

pub use error::{ConfigError, Position};
pub use location::{resolve_path, resolve_path_with, Env, ProcessEnv, CONFIG_ENV};
pub use model::{Config, KeysetEntry, ResolvedKeyset, ServerEntry, TokenSource};

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Read as _};
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use toml::Spanned;
use zeroize::{Zeroize as _, Zeroizing};

use super::ServerEndpoint;
use crate::durable;
use crate::encoding::parse_fingerprint;
use crate::encoding::{hex, parse_hex32};
use crate::protocol::Token;
use crate::protocol::{b64_element, unb64_element};
use crate::threshold::kem::PublicKeyset;
use checks::{check_env_name, check_name, check_token, check_url, normalise_url};
use error::{keyset_field, path_segment};

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

// ---------------------------------------------------------------------------
// The on-disk schema.

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    default_keyset: Option<String>,
    #[serde(default)]
    keysets: BTreeMap<String, FileKeyset>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileKeyset {
    id: String,
    threshold: u16,
    group_key: String,
    #[serde(default)]
    servers: Vec<FileServer>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileServer {
    url: String,
    participant: u16,
    public_share: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_env: Option<String>,
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(token) = self.token.as_mut() {
            token.zeroize();
        }
    }
}

impl FileKeyset {
    fn from_entry(entry: &KeysetEntry) -> Result<Self, ConfigError> {
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

// ---------------------------------------------------------------------------
// Locating fields in the source text.

/// Byte offset → 1-based line and character column.
fn position_of(text: &str, offset: usize) -> Position {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

fn join_path(segments: &[String]) -> String {
    let mut out = String::new();
    for seg in segments {
        if !out.is_empty() && !seg.starts_with('[') {
            out.push('.');
        }
        out.push_str(seg);
    }
    out
}

/// A span-carrying skeleton of the TOML document: every key with its
/// source span, nested as in the document.
enum Tree {
    Table(Vec<(Spanned<String>, Tree)>),
    Array(Vec<Tree>),
    Leaf,
}

impl<'de> Deserialize<'de> for Tree {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TreeVisitor;
        impl<'de> Visitor<'de> for TreeVisitor {
            type Value = Tree;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any TOML value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_str<E>(self, _: &str) -> Result<Tree, E> {
                Ok(Tree::Leaf)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tree, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(Tree::Array(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tree, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key()? {
                    entries.push((key, map.next_value()?));
                }
                Ok(Tree::Table(entries))
            }
        }
        deserializer.deserialize_any(TreeVisitor)
    }
}

/// Every key of the document with its path and span.
struct Locator {
    /// (path segments, key span, whether the value is a leaf)
    keys: Vec<(Vec<String>, Range<usize>, bool)>,
}

impl Locator {
    /// Indexes `text`; an unparseable document yields an empty index.
    fn new(text: &str) -> Self {
        let mut keys = Vec::new();
        if let Ok(tree) = toml::from_str::<Tree>(text) {
            Self::walk(&tree, &mut Vec::new(), &mut keys);
        }
        Self { keys }
    }

    fn walk(tree: &Tree, path: &mut Vec<String>, out: &mut Vec<(Vec<String>, Range<usize>, bool)>) {
        match tree {
            Tree::Leaf => {}
            Tree::Table(entries) => {
                for (key, value) in entries {
                    path.push(path_segment(key.get_ref()));
                    out.push((path.clone(), key.span(), matches!(value, Tree::Leaf)));
                    Self::walk(value, path, out);
                    path.pop();
                }
            }
            Tree::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match path.last_mut() {
                        Some(last) => last.push_str(&format!("[{i}]")),
                        None => continue,
                    }
                    Self::walk(item, path, out);
                    if let Some(last) = path.last_mut() {
                        let cut = last.rfind('[').unwrap_or(last.len());
                        last.truncate(cut);
                    }
                }
            }
        }
    }

    /// Path → position of its key, for semantic errors after parsing.
    fn positions(&self, text: &str) -> BTreeMap<String, Position> {
        let mut out = BTreeMap::new();
        for (path, span, _) in &self.keys {
            out.entry(join_path(path))
                .or_insert_with(|| position_of(text, span.start));
        }
        out
    }

    /// The field a deserialisation error at `span` is about.
    fn path_for_span(&self, span: Range<usize>, text: &str) -> Option<String> {
        // An error on a key itself (unknown field).
        if let Some((path, _, _)) = self
            .keys
            .iter()
            .find(|(_, k, _)| k.start <= span.start && span.start < k.end.max(k.start + 1))
        {
            return Some(join_path(path));
        }
        // An error on a whole table (missing field): the common parent of
        // the leaf keys inside it.
        let mut parents = self
            .keys
            .iter()
            .filter(|(_, k, leaf)| *leaf && span.start <= k.start && k.end <= span.end)
            .map(|(path, _, _)| &path[..path.len().saturating_sub(1)]);
        if let Some(first) = parents.next() {
            let common = parents.fold(first, |acc, p| {
                let n = acc.iter().zip(p).take_while(|(a, b)| a == b).count();
                &acc[..n]
            });
            if !common.is_empty() {
                return Some(join_path(common));
            }
        }
        // A table header with nothing under it.
        let rest = text.get(span.start..).unwrap_or_default();
        if rest.starts_with('[') {
            let header = rest.lines().next().unwrap_or_default();
            let name = header.trim_matches(|c: char| c == '[' || c == ']' || c.is_whitespace());
            return Some(name.to_string());
        }
        // An error on a value: the nearest key before it.
        self.keys
            .iter()
            .filter(|(_, k, _)| k.start <= span.start)
            .max_by_key(|(_, k, _)| k.start)
            .map(|(path, _, _)| join_path(path))
    }
}

#[cfg(test)]
mod tests;
