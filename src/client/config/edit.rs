//! Changing the configuration in memory: adding, replacing and removing
//! keysets, and choosing the default one.

use super::checks::check_name;
use super::error::{in_file, keyset_field};
use super::{Config, ConfigError, KeysetEntry};
use crate::encoding::hex;

impl Config {
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
            .find(|(n, e)| n.as_str() != name && e.public().id() == entry.public().id())
        {
            return Err(ConfigError::Duplicate(format!(
                "keyset `{other}` already has id {}",
                hex(entry.public().id())
            )));
        }
        if self.default_keyset.is_none()
            && self.keysets.len() == 1
            && !self.keysets.contains_key(name)
        {
            self.default_keyset = self.keysets.keys().next().cloned();
        }
        // Positions recorded for a replaced entry no longer apply.
        let prefix = keyset_field(name);
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
}
