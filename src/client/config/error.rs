//! What can go wrong with the configuration ([`ConfigError`]), how an
//! invalid field is shown (`FILE:LINE:COLUMN: FIELD: message`) and how
//! fields are named in those messages (`keysets.main.servers[1].url`).

use std::io;
use std::path::{Path, PathBuf};

/// A 1-based line and column (in characters) in a configuration file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Line number, from 1.
    pub line: usize,
    /// Column number, from 1, counted in characters.
    pub column: usize,
}

impl Position {
    /// Where byte `offset` of `text` is. toml gives spans as byte ranges;
    /// messages show lines and columns, counted in characters as an editor
    /// does.
    pub(super) fn at(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        Position {
            line: before.matches('\n').count() + 1,
            column: before[line_start..].chars().count() + 1,
        }
    }
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
    /// [`Config::add_keyset`](super::Config::add_keyset) with a name or id
    /// that is already configured.
    #[error("{0}")]
    Duplicate(String),
}

pub(super) fn in_file(file: Option<&Path>) -> String {
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

/// Renders one key as a path segment, quoting keys that are not bare (so
/// `keysets."ma in"` is not read as two segments).
pub(super) fn path_segment(key: &str) -> String {
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

/// The field path of keyset `name`, e.g. `keysets.main`.
pub(super) fn keyset_field(name: &str) -> String {
    format!("keysets.{}", path_segment(name))
}
