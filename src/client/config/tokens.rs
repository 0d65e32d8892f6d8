//! Obtaining bearer tokens when a keyset is resolved: inline ones only from
//! a private configuration file, token files (private, small, one line) and
//! environment variables.

use std::fs;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use super::checks::check_token;
use super::{Config, ConfigError, Env, TokenSource};
use crate::durable;
use crate::protocol::Token;

/// Largest token file accepted, in bytes.
const MAX_TOKEN_FILE_LEN: u64 = 4096;

impl Config {
    /// The bearer token for the server whose table is `server` (a field
    /// path such as `keysets.main.servers[1]`), obtained from its source.
    /// Loading never reads token files or variables; this runs only when a
    /// keyset is resolved, so errors name the field the source came from.
    pub(super) fn token(
        &self,
        server: &str,
        source: &TokenSource,
        env: &dyn Env,
    ) -> Result<Option<Token>, ConfigError> {
        let field = |f: &str| format!("{server}.{f}");
        Ok(match source {
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
