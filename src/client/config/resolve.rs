//! Choosing a keyset (by name, the default, the only one, or by id) and
//! resolving it into endpoints ready for the HTTPS client.

use super::error::keyset_field;
use super::{Config, ConfigError, Env, ProcessEnv, ResolvedKeyset};
use crate::client::ServerEndpoint;
use crate::encoding::hex;

impl Config {
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
            .find(|(_, entry)| entry.public().id() == id)
            .map(|(name, _)| name.as_str())
            .ok_or_else(|| ConfigError::UnknownKeysetId {
                id: hex(id),
                available: self
                    .keysets
                    .iter()
                    .map(|(n, e)| format!("{n} = {}", hex(e.public().id())))
                    .collect(),
                file: self.source.clone(),
            })?;
        self.resolve(name, env)
    }

    /// The configured keyset `name` with every server's token obtained.
    fn resolve(&self, name: &str, env: &dyn Env) -> Result<ResolvedKeyset, ConfigError> {
        let entry = self.keysets.get(name).ok_or_else(|| self.unknown(name))?;
        let prefix = keyset_field(name);
        let endpoints = entry
            .servers()
            .iter()
            .enumerate()
            .map(|(i, server)| {
                Ok(ServerEndpoint {
                    participant: server.participant,
                    url: server.url.clone(),
                    fingerprint: server.fingerprint,
                    token: self.token(&format!("{prefix}.servers[{i}]"), &server.token, env)?,
                })
            })
            .collect::<Result<_, ConfigError>>()?;
        Ok(ResolvedKeyset {
            name: name.to_string(),
            public: entry.public().clone(),
            endpoints,
        })
    }
}
