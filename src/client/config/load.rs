//! Loading: reading the file (bounded, not a directory), requiring UTF-8,
//! deserialising it once, and handing it to [absorb](super::absorb) to be
//! checked.

use std::fs;
use std::io::{self, Read as _};
use std::path::Path;

use zeroize::Zeroizing;

use super::{deserialize, Config, ConfigError, Position};
use crate::durable;

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
        let invalid = |position, field, message| ConfigError::Invalid {
            file: file.map(Path::to_path_buf),
            position,
            field,
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| {
            let valid = &bytes[..e.valid_up_to()];
            // Position of the first bad byte (the prefix is valid UTF-8).
            let prefix = std::str::from_utf8(valid).unwrap_or_default();
            invalid(
                Some(Position::at(prefix, prefix.len())),
                String::new(),
                format!(
                    "not UTF-8 text (byte 0x{:02x}); a shardlock configuration is a TOML text file",
                    bytes.get(e.valid_up_to()).copied().unwrap_or(0)
                ),
            )
        })?;
        let raw = deserialize::from_str(text).map_err(|e| {
            invalid(
                e.span.map(|s| Position::at(text, s.start)),
                e.field,
                e.message,
            )
        })?;
        let mut config = Self {
            source: file.map(Path::to_path_buf),
            positions: raw.positions(text),
            ..Self::default()
        };
        config.absorb(raw)?;
        Ok(config)
    }
}
