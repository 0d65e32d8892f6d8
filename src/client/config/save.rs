//! Writing the configuration: its TOML text, saved atomically with mode
//! 0600 in a private directory.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::schema::WrittenConfig;
use super::{Config, ConfigError};
use crate::durable::{self, Replace};

impl Config {
    /// The configuration as TOML text (may contain inline tokens).
    pub fn to_toml(&self) -> Result<Zeroizing<String>, ConfigError> {
        let file = WrittenConfig::of(self)?;
        let body = Zeroizing::new(toml::to_string(&file).map_err(|e| ConfigError::Invalid {
            file: None,
            position: None,
            field: String::new(),
            message: format!("cannot serialise the configuration: {e}"),
        })?);
        let mut out = Zeroizing::new(String::with_capacity(body.len() + 128));
        let names = self.keyset_names();
        let encrypt_only = !names.is_empty()
            && names
                .iter()
                .all(|n| self.entry(n).is_some_and(|e| !e.can_decrypt()));
        out.push_str(if encrypt_only {
            "# shardlock client configuration, encrypt-only: it holds no bearer token.\n\
             # Written by shardlock.\n\n"
        } else {
            "# shardlock client configuration. Written by shardlock; may hold bearer tokens,\n\
             # keep it private (mode 0600).\n\n"
        });
        out.push_str(&body);
        Ok(out)
    }

    /// Writes the configuration to `path` atomically with mode 0600,
    /// creating the parent directory (mode 0700) if needed.
    pub fn save(&self, path: &Path) -> Result<(), ConfigError> {
        let text = self.to_toml()?;
        write_atomic(path, text.as_bytes(), Replace::Allow)
    }

    /// Like [`Config::save`], but refuses to replace an existing file
    /// (a config written for another machine: `add-client`, `export`).
    pub fn save_new(&self, path: &Path) -> Result<(), ConfigError> {
        let text = self.to_toml()?;
        write_atomic(path, text.as_bytes(), Replace::Refuse)
    }
}

/// Writes `bytes` to `path` durably with mode 0600 (see
/// [`crate::durable`]), creating the parent directory (mode 0700) first.
fn write_atomic(path: &Path, bytes: &[u8], replace: Replace) -> Result<(), ConfigError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    durable::create_private_dir(&dir).map_err(|source| ConfigError::Io {
        path: dir,
        action: "create directory",
        source,
    })?;
    durable::write_file(path, bytes, replace).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        action: "write",
        source,
    })
}
