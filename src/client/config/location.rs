//! Where the configuration file is: an explicit path, `SHARDLOCK_CONFIG`,
//! the XDG config directory or `~/.config`, and the environment those are
//! read from.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::ConfigError;

/// Environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "SHARDLOCK_CONFIG";

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
