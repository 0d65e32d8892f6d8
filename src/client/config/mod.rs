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

use std::collections::BTreeMap;
use std::ffi::OsString;
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
use crate::durable::{self, Replace};
use crate::encoding::parse_fingerprint;
use crate::encoding::{hex, parse_hex32};
use crate::protocol::Token;
use crate::protocol::{b64_element, unb64_element};
use crate::threshold::kem::PublicKeyset;

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SHARDLOCK_CONFIG";
/// Largest configuration file accepted, in bytes.
const MAX_CONFIG_LEN: u64 = 1 << 20;
/// Largest token file accepted, in bytes.
const MAX_TOKEN_FILE_LEN: u64 = 4096;
/// Longest keyset name.
const MAX_NAME_LEN: usize = 64;

/// Read access to environment variables, so callers (and tests) can supply
/// their own instead of the process environment.
pub trait Env {
    /// The value of `name`, or `None` if unset.
    fn var(&self, name: &str) -> Option<OsString>;
}

/// The process environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

impl Env for ProcessEnv {
    fn var(&self, name: &str) -> Option<OsString> {
        std::env::var_os(name)
    }
}

impl<F: Fn(&str) -> Option<OsString>> Env for F {
    fn var(&self, name: &str) -> Option<OsString> {
        self(name)
    }
}

/// A 1-based line and column (in characters) in a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number, from 1, counted in characters.
    pub column: usize,
}

/// Everything that can go wrong finding, reading, checking or writing the
/// configuration. Messages never contain token values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No explicit path, no `SHARDLOCK_CONFIG`, no usable `XDG_CONFIG_HOME`,
    /// no `HOME`.
    #[error(
        "cannot locate the configuration file: none of SHARDLOCK_CONFIG, XDG_CONFIG_HOME \
         or HOME is set; pass --config PATH"
    )]
    NoLocation,
    /// The configuration file does not exist.
    #[error(
        "no configuration file at {}; create one with `shardlock keyset create` \
         (or start a local test cluster with `shardlock dev-cluster`), or point \
         --config or SHARDLOCK_CONFIG at an existing file",
        path.display()
    )]
    NotFound {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// An I/O error reading or writing a file.
    #[error("{}: cannot {action}: {source}", path.display())]
    Io {
        /// The file or directory concerned.
        path: PathBuf,
        /// What was being done, e.g. "read".
        action: &'static str,
        /// The underlying error.
        #[source]
        source: io::Error,
    },
    /// Something in the configuration is wrong: bad TOML, a bad field, or a
    /// token that cannot be obtained.
    #[error("{}", render_invalid(file.as_deref(), position.as_ref(), field, message))]
    Invalid {
        /// The configuration file, if the configuration came from one.
        file: Option<PathBuf>,
        /// Where in the file, when known.
        position: Option<Position>,
        /// Dotted path of the field, e.g. `keysets.main.servers[1].url`
        /// (empty when the problem is not about one field).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// The configuration has no keysets at all.
    #[error(
        "no keysets configured{}; create one with `shardlock keyset create` \
         (or `shardlock dev-cluster` for a local test cluster)",
        in_file(file.as_deref())
    )]
    NoKeysets {
        /// The configuration file, if any.
        file: Option<PathBuf>,
    },
    /// A keyset name that is not configured.
    #[error(
        "no keyset named `{name}`{}; available: {}",
        in_file(file.as_deref()),
        available.join(", ")
    )]
    UnknownKeyset {
        /// The name asked for.
        name: String,
        /// The configured names.
        available: Vec<String>,
        /// The configuration file, if any.
        file: Option<PathBuf>,
    },
    /// Several keysets, no name given and no `default_keyset`.
    #[error(
        "several keysets are configured ({}) and none is the default: pass --keyset NAME \
         or set default_keyset",
        available.join(", ")
    )]
    AmbiguousKeyset {
        /// The configured names.
        available: Vec<String>,
    },
    /// No configured keyset has this id (e.g. a file encrypted elsewhere).
    #[error(
        "no configured keyset has id {id}{} (configured: {}); add it with \
         `shardlock keyset import` or use the configuration it was created with",
        in_file(file.as_deref()),
        available.join(", ")
    )]
    UnknownKeysetId {
        /// Hex keyset id asked for.
        id: String,
        /// The configured names.
        available: Vec<String>,
        /// The configuration file, if any.
        file: Option<PathBuf>,
    },
    /// [`Config::add_keyset`] with a name or id that is already configured.
    #[error("{0}")]
    Duplicate(String),
}

fn in_file(file: Option<&Path>) -> String {
    file.map(|f| format!(" in {}", f.display()))
        .unwrap_or_default()
}

fn render_invalid(
    file: Option<&Path>,
    position: Option<&Position>,
    field: &str,
    message: &str,
) -> String {
    let mut out = String::new();
    if let Some(file) = file {
        out.push_str(&file.display().to_string());
        if let Some(p) = position {
            out.push_str(&format!(":{}:{}", p.line, p.column));
        }
        out.push_str(": ");
    }
    if !field.is_empty() {
        out.push_str(field);
        out.push_str(": ");
    }
    out.push_str(message);
    out
}

/// Finds the configuration file: `explicit`, else `$SHARDLOCK_CONFIG`, else
/// `$XDG_CONFIG_HOME/shardlock/config.toml`, else
/// `$HOME/.config/shardlock/config.toml`. Does not check that it exists.
pub fn resolve_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigError> {
    resolve_path_with(explicit, &ProcessEnv)
}

/// [`resolve_path`] with the environment supplied by the caller.
pub fn resolve_path_with(explicit: Option<&Path>, env: &dyn Env) -> Result<PathBuf, ConfigError> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let var = |name: &str| env.var(name).filter(|v| !v.is_empty());
    if let Some(path) = var(CONFIG_ENV) {
        return Ok(PathBuf::from(path));
    }
    if let Some(xdg) = var("XDG_CONFIG_HOME").map(PathBuf::from) {
        // The XDG spec says relative values are invalid and must be ignored.
        if xdg.is_absolute() {
            return Ok(xdg.join("shardlock").join("config.toml"));
        }
    }
    if let Some(home) = var("HOME") {
        return Ok(PathBuf::from(home)
            .join(".config")
            .join("shardlock")
            .join("config.toml"));
    }
    Err(ConfigError::NoLocation)
}

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
    /// Where its bearer token comes from.
    pub token: TokenSource,
}

/// A configured keyset: its checked public part and its servers, one per
/// participant, sorted by participant id.
#[derive(Debug, Clone)]
pub struct KeysetEntry {
    public: PublicKeyset,
    servers: Vec<ServerEntry>,
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
        Ok(Self { public, servers })
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

/// The client configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    default_keyset: Option<String>,
    keysets: BTreeMap<String, KeysetEntry>,
    /// The file this was loaded from.
    source: Option<PathBuf>,
    /// Unix permission bits of that file when it was loaded.
    source_mode: Option<u32>,
    /// Field path → position in the source file, for later messages.
    positions: BTreeMap<String, Position>,
}

impl Config {
    /// An empty configuration (no keysets).
    pub fn new() -> Self {
        Self::default()
    }

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
            let prefix = format!("keysets.{}", path_segment(name));
            check_name(name).map_err(|m| self.invalid(&prefix, m))?;
            let entry = self.absorb_keyset(&prefix, keyset)?;
            if let Some(other) = ids.insert(*entry.public.id(), name.clone()) {
                return Err(self.invalid(
                    &format!("{prefix}.id"),
                    format!("same keyset id as keysets.{}", path_segment(&other)),
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

    /// An [`ConfigError::Invalid`] for `field`, located in the source file
    /// if the field was found there.
    fn invalid(&self, field: &str, message: String) -> ConfigError {
        ConfigError::Invalid {
            file: self.source.clone(),
            position: self.positions.get(field).copied(),
            field: field.to_string(),
            message,
        }
    }

    fn names_for_message(&self) -> String {
        let names = self.keyset_names();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
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

    /// The explicit `default_keyset`, if set.
    pub fn default_keyset(&self) -> Option<&str> {
        self.default_keyset.as_deref()
    }

    /// Sets or clears `default_keyset`; the name must be configured.
    pub fn set_default_keyset(&mut self, name: Option<&str>) -> Result<(), ConfigError> {
        if let Some(name) = name {
            if !self.keysets.contains_key(name) {
                return Err(self.unknown(name));
            }
        }
        self.default_keyset = name.map(str::to_string);
        Ok(())
    }

    fn unknown(&self, name: &str) -> ConfigError {
        ConfigError::UnknownKeyset {
            name: name.to_string(),
            available: self.keysets.keys().cloned().collect(),
            file: self.source.clone(),
        }
    }

    /// The name `keyset(name)` would use: `name`, else `default_keyset`,
    /// else the only keyset.
    pub fn select(&self, name: Option<&str>) -> Result<&str, ConfigError> {
        if let Some(name) = name.or(self.default_keyset.as_deref()) {
            return match self.keysets.get_key_value(name) {
                Some((k, _)) => Ok(k),
                None => Err(self.unknown(name)),
            };
        }
        let mut names = self.keysets.keys();
        match (names.next(), names.next()) {
            (None, _) => Err(ConfigError::NoKeysets {
                file: self.source.clone(),
            }),
            (Some(only), None) => Ok(only),
            _ => Err(ConfigError::AmbiguousKeyset {
                available: self.keysets.keys().cloned().collect(),
            }),
        }
    }

    /// The keyset called `name`, or the default one, with tokens resolved
    /// from the process environment and token files.
    pub fn keyset(&self, name: Option<&str>) -> Result<ResolvedKeyset, ConfigError> {
        self.keyset_with_env(name, &ProcessEnv)
    }

    /// [`Config::keyset`] with the environment supplied by the caller.
    pub fn keyset_with_env(
        &self,
        name: Option<&str>,
        env: &dyn Env,
    ) -> Result<ResolvedKeyset, ConfigError> {
        let name = self.select(name)?;
        self.resolve(name, env)
    }

    /// The keyset whose id is `id` (as named by an encrypted file's header).
    pub fn keyset_by_id(&self, id: &[u8; 32]) -> Result<ResolvedKeyset, ConfigError> {
        self.keyset_by_id_with_env(id, &ProcessEnv)
    }

    /// [`Config::keyset_by_id`] with the environment supplied by the caller.
    pub fn keyset_by_id_with_env(
        &self,
        id: &[u8; 32],
        env: &dyn Env,
    ) -> Result<ResolvedKeyset, ConfigError> {
        let name = self
            .keysets
            .iter()
            .find(|(_, entry)| entry.public.id() == id)
            .map(|(name, _)| name.as_str())
            .ok_or_else(|| ConfigError::UnknownKeysetId {
                id: hex(id),
                available: self
                    .keysets
                    .iter()
                    .map(|(n, e)| format!("{n} = {}", hex(e.public.id())))
                    .collect(),
                file: self.source.clone(),
            })?;
        self.resolve(name, env)
    }

    fn resolve(&self, name: &str, env: &dyn Env) -> Result<ResolvedKeyset, ConfigError> {
        let entry = self.keysets.get(name).ok_or_else(|| self.unknown(name))?;
        let prefix = format!("keysets.{}", path_segment(name));
        let mut endpoints = Vec::with_capacity(entry.servers.len());
        for (i, server) in entry.servers.iter().enumerate() {
            let field = |f: &str| format!("{prefix}.servers[{i}].{f}");
            let token = match &server.token {
                TokenSource::None => None,
                TokenSource::Inline(token) => {
                    if let Some(mode) = self.source_mode.filter(|m| m & 0o077 != 0) {
                        let file = self.source.as_deref().unwrap_or(Path::new("config"));
                        return Err(self.invalid(
                            &field("token"),
                            format!(
                                "the configuration file holds a token but is readable by group \
                                 or others (mode {:04o}); run `chmod 600 {}`",
                                mode & 0o7777,
                                file.display()
                            ),
                        ));
                    }
                    Some(token.clone())
                }
                TokenSource::File(path) => Some(
                    read_token_file(&self.token_path(path))
                        .map_err(|m| self.invalid(&field("token_file"), m))?,
                ),
                TokenSource::Env(var) => {
                    let value = env.var(var).ok_or_else(|| {
                        self.invalid(
                            &field("token_env"),
                            format!("environment variable {var} is not set"),
                        )
                    })?;
                    let value = Zeroizing::new(value.into_string().map_err(|_| {
                        self.invalid(
                            &field("token_env"),
                            format!("environment variable {var} is not valid UTF-8"),
                        )
                    })?);
                    let trimmed = value.trim();
                    check_token(trimmed).map_err(|m| {
                        self.invalid(
                            &field("token_env"),
                            format!("environment variable {var}: {m}"),
                        )
                    })?;
                    Some(Token::new(trimmed.to_string()))
                }
            };
            endpoints.push(ServerEndpoint {
                participant: server.participant,
                url: server.url.clone(),
                fingerprint: server.fingerprint,
                token,
            });
        }
        Ok(ResolvedKeyset {
            name: name.to_string(),
            public: entry.public.clone(),
            endpoints,
        })
    }

    /// `path` made absolute against the configuration file's directory
    /// (left as is when the configuration was not loaded from a file).
    fn token_path(&self, path: &Path) -> PathBuf {
        match self.source.as_deref().and_then(Path::parent) {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// Adds a keyset. Refuses a name or keyset id that is already
    /// configured (use [`Config::replace_keyset`] to replace on purpose).
    /// Adding a second keyset when the first was the implicit default makes
    /// that first one the explicit `default_keyset`, so existing commands
    /// keep working.
    pub fn add_keyset(&mut self, name: &str, entry: KeysetEntry) -> Result<(), ConfigError> {
        if self.keysets.contains_key(name) {
            return Err(ConfigError::Duplicate(format!(
                "a keyset named `{name}` already exists{}; choose another name or replace it \
                 explicitly",
                in_file(self.source.as_deref())
            )));
        }
        self.insert_keyset(name, entry)?;
        Ok(())
    }

    /// Adds or replaces the keyset `name`; returns the entry it replaced.
    pub fn replace_keyset(
        &mut self,
        name: &str,
        entry: KeysetEntry,
    ) -> Result<Option<KeysetEntry>, ConfigError> {
        self.insert_keyset(name, entry)
    }

    fn insert_keyset(
        &mut self,
        name: &str,
        entry: KeysetEntry,
    ) -> Result<Option<KeysetEntry>, ConfigError> {
        check_name(name).map_err(|message| ConfigError::Invalid {
            file: None,
            position: None,
            field: "keyset name".into(),
            message,
        })?;
        if let Some((other, _)) = self
            .keysets
            .iter()
            .find(|(n, e)| n.as_str() != name && e.public.id() == entry.public.id())
        {
            return Err(ConfigError::Duplicate(format!(
                "keyset `{other}` already has id {}",
                hex(entry.public.id())
            )));
        }
        if self.default_keyset.is_none()
            && self.keysets.len() == 1
            && !self.keysets.contains_key(name)
        {
            self.default_keyset = self.keysets.keys().next().cloned();
        }
        // Positions recorded for a replaced entry no longer apply.
        let prefix = format!("keysets.{}", path_segment(name));
        self.positions
            .retain(|k, _| k != &prefix && !k.starts_with(&format!("{prefix}.")));
        Ok(self.keysets.insert(name.to_string(), entry))
    }

    /// Removes the keyset `name` (clearing `default_keyset` if it named it).
    pub fn remove_keyset(&mut self, name: &str) -> Result<KeysetEntry, ConfigError> {
        let entry = self
            .keysets
            .remove(name)
            .ok_or_else(|| self.unknown(name))?;
        if self.default_keyset.as_deref() == Some(name) {
            self.default_keyset = None;
        }
        Ok(entry)
    }

    /// The configuration as TOML text (may contain inline tokens).
    pub fn to_toml(&self) -> Result<Zeroizing<String>, ConfigError> {
        let file = FileConfig {
            default_keyset: self.default_keyset.clone(),
            keysets: self
                .keysets
                .iter()
                .map(|(name, entry)| Ok((name.clone(), FileKeyset::from_entry(entry)?)))
                .collect::<Result<_, ConfigError>>()?,
        };
        let body = Zeroizing::new(toml::to_string(&file).map_err(|e| ConfigError::Invalid {
            file: None,
            position: None,
            field: String::new(),
            message: format!("cannot serialise the configuration: {e}"),
        })?);
        let mut out = Zeroizing::new(String::with_capacity(body.len() + 128));
        out.push_str(
            "# shardlock client configuration. Written by shardlock; may hold bearer tokens,\n\
             # keep it private (mode 0600).\n\n",
        );
        out.push_str(&body);
        Ok(out)
    }

    /// Writes the configuration to `path` atomically with mode 0600,
    /// creating the parent directory (mode 0700) if needed.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = self.to_toml()?;
        write_atomic(path, text.as_bytes())
    }
}

/// Writes `bytes` to `path` durably with mode 0600 (see
/// [`crate::durable`]), creating the parent directory (mode 0700) first.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ConfigError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    durable::create_private_dir(&dir).map_err(|source| ConfigError::Io {
        path: dir,
        action: "create directory",
        source,
    })?;
    durable::write_file(path, bytes, Replace::Allow).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}

/// Reads a token file: private (on unix), small, one token, trailing
/// whitespace trimmed.
fn read_token_file(path: &Path) -> Result<Token, String> {
    let shown = path.display();
    let mut file = fs::File::open(path).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if let Some(mode) = durable::mode_of(&meta).filter(|m| m & 0o077 != 0) {
        return Err(format!(
            "token file {shown} is readable by group or others (mode {:04o}); run `chmod 600 {shown}`",
            mode & 0o7777
        ));
    }
    let mut bytes = Zeroizing::new(Vec::new());
    (&mut file)
        .take(MAX_TOKEN_FILE_LEN + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    if bytes.len() as u64 > MAX_TOKEN_FILE_LEN {
        return Err(format!(
            "token file {shown} is larger than {MAX_TOKEN_FILE_LEN} bytes"
        ));
    }
    let text =
        std::str::from_utf8(&bytes).map_err(|_| format!("token file {shown} is not UTF-8 text"))?;
    let token = text.trim_end();
    check_token(token).map_err(|m| format!("token file {shown}: {m}"))?;
    Ok(Token::new(token.to_string()))
}

/// A token must be non-empty, one line, without spaces (it goes into an
/// HTTP header).
fn check_token(token: &str) -> Result<(), String> {
    if token.is_empty() {
        return Err("token is empty".into());
    }
    if token.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("token contains whitespace or control characters".into());
    }
    Ok(())
}

fn check_env_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.contains('=') || name.contains('\0') {
        return Err("expected the name of an environment variable".into());
    }
    Ok(())
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Err(format!(
            "invalid keyset name {name:?}: use 1 to {MAX_NAME_LEN} characters from A-Z a-z 0-9 _ -"
        ));
    }
    Ok(())
}

fn check_url(url: &str) -> Result<(), String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => {}
        _ => return Err(format!("expected an https:// URL, got {url:?}")),
    }
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("URL contains whitespace".into());
    }
    Ok(())
}

fn normalise_url(url: &str) -> String {
    url.trim_end_matches('/').to_ascii_lowercase()
}

fn join_ids(ids: &[u16]) -> String {
    ids.iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(", ")
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
            .servers
            .iter()
            .map(|s| {
                let public_share = entry
                    .public
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
            id: hex(entry.public.id()),
            threshold: entry.public.threshold(),
            group_key: b64_element(entry.public.group_key()),
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

/// Renders one key as a path segment, quoting keys that are not bare.
fn path_segment(key: &str) -> String {
    if !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        key.to_string()
    } else {
        format!("{key:?}")
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
mod tests {
    use super::*;
    use crate::encoding::b64;
    use crate::threshold::kem::deal;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    fn public(seed: u64) -> PublicKeyset {
        deal(2, &[1, 2, 3], &mut StdRng::seed_from_u64(seed))
            .expect("deal")
            .0
    }

    fn share(ks: &PublicKeyset, i: u16) -> String {
        b64_element(ks.public_share(i).expect("participant"))
    }

    const FP: &str = "sha256:abababababababababababababababababababababababababababababababab";

    /// A valid config; the comments give the line numbers tests rely on.
    fn sample(ks: &PublicKeyset) -> String {
        [
            r#"default_keyset = "main""#.to_string(), // 1
            String::new(),                            // 2
            "[keysets.main]".into(),                  // 3
            format!("id = \"{}\"", hex(ks.id())),     // 4
            "threshold = 2".into(),                   // 5
            format!("group_key = \"{}\"", b64_element(ks.group_key())), // 6
            String::new(),                            // 7
            "[[keysets.main.servers]]".into(),        // 8
            r#"url = "https://127.0.0.1:8443""#.into(), // 9
            "participant = 1".into(),                 // 10
            format!("public_share = \"{}\"", share(ks, 1)), // 11
            r#"token = "slk_inline""#.into(),         // 12
            String::new(),                            // 13
            "[[keysets.main.servers]]".into(),        // 14
            r#"url = "https://127.0.0.1:8444""#.into(), // 15
            "participant = 2".into(),                 // 16
            format!("public_share = \"{}\"", share(ks, 2)), // 17
            format!("fingerprint = \"{FP}\""),        // 18
            r#"token_env = "TOK2""#.into(),           // 19
            String::new(),                            // 20
            "[[keysets.main.servers]]".into(),        // 21
            r#"url = "https://127.0.0.1:8445""#.into(), // 22
            "participant = 3".into(),                 // 23
            format!("public_share = \"{}\"", share(ks, 3)), // 24
            r#"token_file = "tok3""#.into(),          // 25
            String::new(),
        ]
        .join("\n")
    }

    /// Replaces line `n` (1-based) of `text`.
    fn with_line(text: &str, n: usize, line: &str) -> String {
        let mut lines: Vec<&str> = text.split('\n').collect();
        lines[n - 1] = line;
        lines.join("\n")
    }

    fn parse_err(text: &str) -> String {
        Config::parse(text.as_bytes(), Some(Path::new("dir/config.toml")))
            .expect_err("config should be rejected")
            .to_string()
    }

    fn assert_err(text: &str, line: usize, field: &str, needle: &str) {
        let msg = parse_err(text);
        assert!(
            msg.starts_with(&format!("dir/config.toml:{line}:")),
            "wrong file/line in {msg:?} (want line {line})"
        );
        assert!(
            msg.contains(&format!(": {field}: ")),
            "field {field} missing in {msg:?}"
        );
        assert!(msg.contains(needle), "{needle:?} missing in {msg:?}");
    }

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<OsString> {
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt as _;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        fs::metadata(path).expect("stat").permissions().mode() & 0o777
    }

    /// Writes the sample config and its token file into a fresh directory.
    fn sample_on_disk(ks: &PublicKeyset) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("config.toml");
        fs::write(&path, sample(ks)).expect("write");
        fs::write(dir.path().join("tok3"), "slk_from_file\n").expect("write");
        #[cfg(unix)]
        {
            chmod(&path, 0o600);
            chmod(&dir.path().join("tok3"), 0o600);
        }
        (dir, path)
    }

    // --- location -------------------------------------------------------

    #[test]
    fn explicit_path_beats_everything() {
        let e = env(&[("SHARDLOCK_CONFIG", "/env/c.toml"), ("HOME", "/home/u")]);
        let p = resolve_path_with(Some(Path::new("/x/my.toml")), &e).expect("path");
        assert_eq!(p, PathBuf::from("/x/my.toml"));
    }

    #[test]
    fn shardlock_config_env_beats_xdg_and_home() {
        let e = env(&[
            ("SHARDLOCK_CONFIG", "/env/c.toml"),
            ("XDG_CONFIG_HOME", "/xdg"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(
            resolve_path_with(None, &e).expect("path"),
            PathBuf::from("/env/c.toml")
        );
    }

    #[test]
    fn xdg_config_home_beats_home() {
        let e = env(&[("XDG_CONFIG_HOME", "/xdg"), ("HOME", "/home/u")]);
        assert_eq!(
            resolve_path_with(None, &e).expect("path"),
            PathBuf::from("/xdg/shardlock/config.toml")
        );
    }

    #[test]
    fn home_is_the_fallback_and_empty_or_relative_vars_are_ignored() {
        let e = env(&[
            ("SHARDLOCK_CONFIG", ""),
            ("XDG_CONFIG_HOME", "relative/dir"),
            ("HOME", "/home/u"),
        ]);
        assert_eq!(
            resolve_path_with(None, &e).expect("path"),
            PathBuf::from("/home/u/.config/shardlock/config.toml")
        );
    }

    #[test]
    fn no_location_at_all_is_an_error() {
        let e = env(&[]);
        let err = resolve_path_with(None, &e).expect_err("no location");
        assert!(matches!(err, ConfigError::NoLocation));
        assert!(err.to_string().contains("--config"));
    }

    #[test]
    fn missing_file_says_where_and_how_to_create_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nope").join("config.toml");
        let msg = Config::load(&path).expect_err("missing").to_string();
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("shardlock keyset create"), "{msg}");
        assert!(msg.contains("shardlock dev-cluster"), "{msg}");
    }

    // --- loading and resolving ------------------------------------------

    #[test]
    fn sample_loads_and_resolves_tokens_from_inline_file_and_env() {
        let ks = public(1);
        let (_dir, path) = sample_on_disk(&ks);
        let config = Config::load(&path).expect("load");
        assert_eq!(config.keyset_names(), vec!["main"]);
        assert_eq!(config.default_keyset(), Some("main"));
        let resolved = config
            .keyset_with_env(None, &env(&[("TOK2", "slk_from_env\n")]))
            .expect("resolve");
        assert_eq!(resolved.name, "main");
        assert_eq!(resolved.public, ks);
        let e = &resolved.endpoints;
        assert_eq!(
            e.iter().map(|e| e.participant).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(e[0].url, "https://127.0.0.1:8443");
        assert_eq!(e[0].fingerprint, None);
        assert_eq!(e[1].fingerprint, Some([0xab; 32]));
        let tokens: Vec<&str> = e
            .iter()
            .map(|e| e.token.as_ref().map(Token::expose).unwrap_or(""))
            .collect();
        assert_eq!(tokens, vec!["slk_inline", "slk_from_env", "slk_from_file"]);
        // Debug output never shows a token.
        let debug = format!("{config:?} {resolved:?}");
        assert!(!debug.contains("slk_"), "{debug}");
    }

    #[test]
    fn unset_token_env_names_the_variable_field_and_line() {
        let ks = public(1);
        let (_dir, path) = sample_on_disk(&ks);
        let config = Config::load(&path).expect("load");
        let msg = config
            .keyset_with_env(Some("main"), &env(&[]))
            .expect_err("unset")
            .to_string();
        assert!(msg.contains("config.toml:19:"), "{msg}");
        assert!(msg.contains("keysets.main.servers[1].token_env"), "{msg}");
        assert!(msg.contains("TOK2"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_token_file_is_refused() {
        let ks = public(1);
        let (dir, path) = sample_on_disk(&ks);
        chmod(&dir.path().join("tok3"), 0o644);
        let config = Config::load(&path).expect("load");
        let msg = config
            .keyset_with_env(None, &env(&[("TOK2", "slk_x")]))
            .expect_err("readable")
            .to_string();
        assert!(msg.contains("chmod 600"), "{msg}");
        assert!(msg.contains("config.toml:25:"), "{msg}");
        assert!(msg.contains("keysets.main.servers[2].token_file"), "{msg}");
        assert!(!msg.contains("slk_from_file"), "{msg}");
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_config_with_inline_token_is_refused() {
        let ks = public(1);
        let (_dir, path) = sample_on_disk(&ks);
        chmod(&path, 0o644);
        let config = Config::load(&path).expect("load");
        let msg = config
            .keyset_with_env(None, &env(&[("TOK2", "slk_x")]))
            .expect_err("readable")
            .to_string();
        assert!(msg.contains("chmod 600"), "{msg}");
        assert!(msg.contains("keysets.main.servers[0].token"), "{msg}");
        assert!(!msg.contains("slk_inline"), "{msg}");
    }

    #[test]
    fn missing_token_file_is_reported_with_its_path() {
        let ks = public(1);
        let (dir, path) = sample_on_disk(&ks);
        fs::remove_file(dir.path().join("tok3")).expect("rm");
        let config = Config::load(&path).expect("load");
        let msg = config
            .keyset_with_env(None, &env(&[("TOK2", "slk_x")]))
            .expect_err("missing")
            .to_string();
        assert!(msg.contains("tok3"), "{msg}");
        assert!(msg.contains("servers[2].token_file"), "{msg}");
    }

    #[test]
    fn server_without_token_is_status_only() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 25, "");
        let text = with_line(&text, 19, "");
        let config = Config::parse(text.as_bytes(), None).expect("parse");
        let resolved = config.keyset_with_env(None, &env(&[])).expect("resolve");
        assert!(resolved.endpoints[1].token.is_none());
        assert!(resolved.endpoints[2].token.is_none());
    }

    // --- errors with file, line and field --------------------------------

    #[test]
    fn toml_syntax_error_has_line_and_column() {
        let ks = public(1);
        let msg = parse_err(&with_line(&sample(&ks), 5, "threshold = "));
        assert!(msg.starts_with("dir/config.toml:5:"), "{msg}");
    }

    #[test]
    fn unknown_field_is_an_error_naming_it() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 18, &format!("fingerprnt = \"{FP}\""));
        assert_err(
            &text,
            18,
            "keysets.main.servers[1].fingerprnt",
            "unknown field",
        );
        let text = with_line(&sample(&ks), 2, "defualt = 1");
        assert_err(&text, 2, "defualt", "unknown field");
    }

    #[test]
    fn wrong_type_names_the_field() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 16, r#"participant = "two""#);
        assert_err(
            &text,
            16,
            "keysets.main.servers[1].participant",
            "invalid type",
        );
        let text = with_line(&sample(&ks), 5, "threshold = -1");
        assert_err(&text, 5, "keysets.main.threshold", "u16");
    }

    #[test]
    fn missing_field_names_the_table() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 17, "");
        assert_err(
            &text,
            14,
            "keysets.main.servers[1]",
            "missing field `public_share`",
        );
    }

    #[test]
    fn bad_fingerprint() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 18, r#"fingerprint = "sha256:1234""#);
        assert_err(
            &text,
            18,
            "keysets.main.servers[1].fingerprint",
            "expected \"sha256:\" followed by 64 hex digits",
        );
    }

    #[test]
    fn bad_base64_and_non_canonical_elements() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 6, r#"group_key = "not base64!""#);
        assert_err(&text, 6, "keysets.main.group_key", "base64url");
        let text = with_line(
            &sample(&ks),
            17,
            &format!("public_share = \"{}\"", b64(&[0xff; 32])),
        );
        assert_err(
            &text,
            17,
            "keysets.main.servers[1].public_share",
            "canonical",
        );
        let text = with_line(
            &sample(&ks),
            11,
            &format!("public_share = \"{}\"", b64(&[0; 32])),
        );
        assert_err(
            &text,
            11,
            "keysets.main.servers[0].public_share",
            "canonical",
        );
    }

    #[test]
    fn duplicate_participant_and_url() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 16, "participant = 1");
        assert_err(
            &text,
            16,
            "keysets.main.servers[1].participant",
            "already used by servers[0]",
        );
        let text = with_line(&sample(&ks), 15, r#"url = "https://127.0.0.1:8443/""#);
        assert_err(
            &text,
            15,
            "keysets.main.servers[1].url",
            "same server URL as servers[0]",
        );
        let text = with_line(&sample(&ks), 15, r#"url = "ftp://x""#);
        assert_err(&text, 15, "keysets.main.servers[1].url", "https://");
    }

    #[test]
    fn threshold_out_of_range() {
        let ks = public(1);
        assert_err(
            &with_line(&sample(&ks), 5, "threshold = 4"),
            5,
            "keysets.main.threshold",
            "threshold 4",
        );
        assert_err(
            &with_line(&sample(&ks), 5, "threshold = 0"),
            5,
            "keysets.main.threshold",
            "threshold 0",
        );
    }

    #[test]
    fn id_mismatch_is_detected() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 4, &format!("id = \"{}\"", "00".repeat(32)));
        assert_err(&text, 4, "keysets.main.id", &hex(ks.id()));
        let text = with_line(&sample(&ks), 4, r#"id = "xyz""#);
        assert_err(&text, 4, "keysets.main.id", "64 hex digits");
    }

    #[test]
    fn inconsistent_public_shares_are_detected() {
        let ks = public(1);
        let other = public(2);
        let text = with_line(
            &sample(&ks),
            17,
            &format!("public_share = \"{}\"", share(&other, 2)),
        );
        assert_err(&text, 3, "keysets.main", "do not match group_key");
    }

    #[test]
    fn two_token_sources_are_refused() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 20, r#"token = "slk_also""#);
        let msg = parse_err(&text);
        assert!(msg.contains("keysets.main.servers[1].token_env"), "{msg}");
        assert!(msg.contains("token and token_env are both set"), "{msg}");
        assert!(msg.starts_with("dir/config.toml:19:"), "{msg}");
        assert!(!msg.contains("slk_also"), "{msg}");
    }

    #[test]
    fn unknown_default_keyset() {
        let ks = public(1);
        let text = with_line(&sample(&ks), 1, r#"default_keyset = "mian""#);
        assert_err(&text, 1, "default_keyset", "available: main");
    }

    #[test]
    fn bad_keyset_name_and_empty_server_list() {
        let ks = public(1);
        let text = sample(&ks).replace("keysets.main", "keysets.\"ma in\"");
        let text = with_line(&text, 1, "");
        assert_err(&text, 3, "keysets.\"ma in\"", "invalid keyset name");
        let text = format!(
            "[keysets.main]\nid = \"{}\"\nthreshold = 1\ngroup_key = \"{}\"\n",
            hex(ks.id()),
            b64_element(ks.group_key())
        );
        assert_err(&text, 1, "keysets.main", "no servers");
    }

    #[test]
    fn garbage_bytes_give_a_clear_error() {
        let mut bytes: Vec<u8> = b"threshold = 2\n".to_vec();
        bytes.extend((0..=255u8).rev());
        let err = Config::parse(&bytes, Some(Path::new("dir/config.toml"))).expect_err("binary");
        let msg = err.to_string();
        assert!(msg.starts_with("dir/config.toml:2:1:"), "{msg}");
        assert!(msg.contains("not UTF-8"), "{msg}");
        for junk in [
            &b"\0\0\x01\x02{{{["[..],
            b"[[[",
            b"keysets = 5",
            b"= = =",
            b"\xef\xbb\xbf[x",
        ] {
            let err = Config::parse(junk, Some(Path::new("c.toml"))).expect_err("junk");
            assert!(err.to_string().starts_with("c.toml"), "{err}");
        }
        // A datetime where a string is expected.
        let msg = parse_err("default_keyset = 1979-05-27T07:32:00Z\n");
        assert!(msg.starts_with("dir/config.toml:1:"), "{msg}");
        // Empty file: valid, just no keysets.
        let config = Config::parse(b"", None).expect("empty");
        assert!(matches!(
            config.keyset(None),
            Err(ConfigError::NoKeysets { .. })
        ));
    }

    // --- several keysets ------------------------------------------------

    fn two_keysets(default: Option<&str>) -> (Config, PublicKeyset, PublicKeyset) {
        let (a, b) = (public(1), public(2));
        let mut text = sample(&a)
            .replace("token_env = \"TOK2\"", "")
            .replace("token_file = \"tok3\"", "");
        text = with_line(
            &text,
            1,
            &default
                .map(|d| format!("default_keyset = \"{d}\""))
                .unwrap_or_default(),
        );
        let second = with_line(&sample(&b), 1, "")
            .replace("keysets.main", "keysets.backup")
            .replace("token_file = \"tok3\"", "");
        let text = format!("{text}\n{second}");
        let config = Config::parse(text.as_bytes(), Some(Path::new("c.toml"))).expect("parse");
        (config, a, b)
    }

    #[test]
    fn two_keysets_with_a_default() {
        let (config, a, b) = two_keysets(Some("backup"));
        assert_eq!(config.keyset_names(), vec!["backup", "main"]);
        let e = env(&[("TOK2", "slk_2")]);
        assert_eq!(config.keyset_with_env(None, &e).expect("default").public, b);
        assert_eq!(
            config
                .keyset_with_env(Some("main"), &e)
                .expect("main")
                .public,
            a
        );
        let by_id = config.keyset_by_id_with_env(a.id(), &e).expect("by id");
        assert_eq!(by_id.name, "main");
        let msg = config
            .keyset_by_id(&[7; 32])
            .expect_err("unknown id")
            .to_string();
        assert!(
            msg.contains(&"07".repeat(32)) && msg.contains("main") && msg.contains("backup"),
            "{msg}"
        );
        let msg = config
            .keyset(Some("nope"))
            .expect_err("unknown")
            .to_string();
        assert!(
            msg.contains("nope") && msg.contains("backup, main"),
            "{msg}"
        );
    }

    #[test]
    fn two_keysets_without_default_are_ambiguous() {
        let (config, _, _) = two_keysets(None);
        let err = config.keyset(None).expect_err("ambiguous");
        assert!(matches!(err, ConfigError::AmbiguousKeyset { .. }));
        assert!(err.to_string().contains("backup, main"), "{err}");
    }

    #[test]
    fn duplicate_keyset_ids_are_refused() {
        let a = public(1);
        let second = with_line(&sample(&a), 1, "").replace("keysets.main", "keysets.again");
        let text = format!("{}\n{second}", with_line(&sample(&a), 1, ""));
        let msg = parse_err(&text);
        assert!(
            msg.contains("keysets.main.id") && msg.contains("same keyset id as keysets.again"),
            "{msg}"
        );
    }

    // --- building and writing -------------------------------------------

    fn entry(ks: &PublicKeyset, port: u16) -> KeysetEntry {
        let servers = vec![
            ServerEntry {
                participant: 3,
                url: format!("https://127.0.0.1:{}", port + 2),
                fingerprint: None,
                token: TokenSource::File(PathBuf::from("tokens/n3")),
            },
            ServerEntry {
                participant: 1,
                url: format!("https://127.0.0.1:{port}"),
                fingerprint: Some([0x11; 32]),
                token: TokenSource::Inline(Token::new("slk_one".into())),
            },
            ServerEntry {
                participant: 2,
                url: format!("https://127.0.0.1:{}", port + 1),
                fingerprint: None,
                token: TokenSource::Env("SHARDLOCK_TOKEN_NODE2".into()),
            },
        ];
        KeysetEntry::new(ks.clone(), servers).expect("entry")
    }

    #[test]
    fn save_then_load_round_trips() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new").join("shardlock").join("config.toml");
        let (a, b) = (public(1), public(2));
        let mut config = Config::new();
        config.add_keyset("main", entry(&a, 8443)).expect("add");
        assert_eq!(config.default_keyset(), None);
        config.add_keyset("backup", entry(&b, 9443)).expect("add");
        // The first keyset stays the default once there are two.
        assert_eq!(config.default_keyset(), Some("main"));
        config.save(&path).expect("save");
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            assert_eq!(mode(path.parent().expect("parent")), 0o700);
        }
        let loaded = Config::load(&path).expect("load");
        assert_eq!(loaded.keyset_names(), vec!["backup", "main"]);
        assert_eq!(loaded.default_keyset(), Some("main"));
        assert_eq!(loaded.entry("main").expect("main").public(), &a);
        let servers = loaded.entry("main").expect("main").servers();
        assert_eq!(servers[0].fingerprint, Some([0x11; 32]));
        assert!(matches!(&servers[0].token, TokenSource::Inline(t) if t.expose() == "slk_one"));
        assert!(matches!(&servers[1].token, TokenSource::Env(v) if v == "SHARDLOCK_TOKEN_NODE2"));
        assert!(matches!(&servers[2].token, TokenSource::File(p) if p == Path::new("tokens/n3")));
        assert_eq!(
            *loaded.to_toml().expect("toml"),
            *config.to_toml().expect("toml")
        );
        // Saving over an existing file replaces it and leaves no temp files.
        loaded.save(&path).expect("save again");
        let names: Vec<_> = fs::read_dir(path.parent().expect("parent"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![OsString::from("config.toml")]);
    }

    #[test]
    fn add_keyset_refuses_duplicates_unless_replacing() {
        let (a, b) = (public(1), public(2));
        let mut config = Config::new();
        config.add_keyset("main", entry(&a, 8443)).expect("add");
        assert!(matches!(
            config.add_keyset("main", entry(&b, 8443)),
            Err(ConfigError::Duplicate(_))
        ));
        // Same keyset under another name.
        assert!(matches!(
            config.add_keyset("other", entry(&a, 8443)),
            Err(ConfigError::Duplicate(_))
        ));
        let old = config
            .replace_keyset("main", entry(&b, 8443))
            .expect("replace");
        assert_eq!(old.expect("old").public(), &a);
        assert_eq!(config.entry("main").expect("main").public(), &b);
        assert!(config.add_keyset("bad name", entry(&a, 1)).is_err());
    }

    #[test]
    fn entry_must_cover_the_keyset_participants() {
        let a = public(1);
        let server = |participant: u16, url: &str| ServerEntry {
            participant,
            url: url.into(),
            fingerprint: None,
            token: TokenSource::None,
        };
        let err = |servers| {
            KeysetEntry::new(a.clone(), servers)
                .expect_err("bad")
                .to_string()
        };
        assert!(
            err(vec![server(1, "https://a"), server(2, "https://b")]).contains("3 participants")
        );
        assert!(err(vec![
            server(1, "https://a"),
            server(2, "https://b"),
            server(4, "https://c")
        ])
        .contains("not part of the keyset"));
        assert!(err(vec![
            server(1, "https://a"),
            server(2, "https://a"),
            server(3, "https://c")
        ])
        .contains("same server URL"));
        assert!(err(vec![
            server(1, "https://a"),
            server(2, "https://b"),
            server(3, "c")
        ])
        .contains("https://"));
    }

    #[test]
    fn relative_token_file_is_relative_to_the_config_directory() {
        let ks = public(1);
        let (dir, path) = sample_on_disk(&ks);
        fs::create_dir(dir.path().join("tokens")).expect("mkdir");
        let token_path = dir.path().join("tokens").join("n3");
        fs::write(&token_path, "slk_nested\r\n").expect("write");
        #[cfg(unix)]
        chmod(&token_path, 0o600);
        fs::write(&path, sample(&ks).replace("\"tok3\"", "\"tokens/n3\"")).expect("write");
        #[cfg(unix)]
        chmod(&path, 0o600);
        let resolved = Config::load(&path)
            .expect("load")
            .keyset_with_env(None, &env(&[("TOK2", "slk_2")]))
            .expect("resolve");
        let token = resolved.endpoints[2].token.as_ref().expect("token");
        assert_eq!(token.expose(), "slk_nested");
    }
}
