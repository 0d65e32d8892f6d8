//! Finding the configured keyset that opens a file, and its key service:
//! what single-file and tree decryption share before they ask servers to
//! unwrap data keys.

use std::collections::BTreeMap;

use super::config::{Config, ResolvedKeyset};
use super::error::{Error, Result};
use super::http::HttpKeyService;
use super::Session;
use crate::encoding::hex;
use crate::envelope::SealedHeader;

/// The configured keyset that can open this file. A configured keyset that
/// fails to resolve (say, a missing token file) reports that error rather
/// than "not found".
pub(crate) fn keyset_for(config: &Config, header: &SealedHeader) -> Result<ResolvedKeyset> {
    let ids = header.keyset_ids();
    let configured = |id: &[u8; 32]| {
        config
            .keyset_names()
            .iter()
            .any(|name| config.entry(name).is_some_and(|e| e.public().id() == id))
    };
    match ids.iter().find(|id| configured(id)) {
        Some(id) => {
            // A public export holds no client token: fail before any
            // output or server is touched (issue #9).
            if let Some(name) = config.keyset_names().into_iter().find(|n| {
                config
                    .entry(n)
                    .is_some_and(|e| e.public().id() == id && !e.can_decrypt())
            }) {
                return Err(Error::Usage(format!(
                    "keyset {name} in {} can only encrypt: it holds no client token (a public \
                     export); decrypt on a machine with a client of its own (`shardlock keyset \
                     add-client`)",
                    config
                        .path()
                        .map_or_else(|| "the config".to_string(), |p| p.display().to_string())
                )));
            }
            Ok(config.keyset_by_id(id)?)
        }
        None => {
            let wanted: Vec<String> = ids.iter().map(|id| hex(id)).collect();
            Err(Error::Failed(format!(
                "the file was encrypted for keyset {}, which is not in your config; \
                 add it (`shardlock keyset import FILE`) or point --config at the right file",
                wanted.join(" or ")
            )))
        }
    }
}

/// Keysets and their HTTPS services, resolved once per keyset id for a
/// whole tree run.
pub(crate) struct Keysets<'a> {
    session: &'a Session,
    config: &'a Config,
    resolved: BTreeMap<[u8; 32], (ResolvedKeyset, HttpKeyService)>,
}

impl<'a> Keysets<'a> {
    pub(crate) fn new(session: &'a Session, config: &'a Config) -> Self {
        Self {
            session,
            config,
            resolved: BTreeMap::new(),
        }
    }

    /// The configured keyset id that can open `header`.
    pub(crate) fn id_for(&mut self, header: &SealedHeader) -> Result<[u8; 32]> {
        for id in header.keyset_ids() {
            if self.resolved.contains_key(&id) {
                return Ok(id);
            }
        }
        let keyset = keyset_for(self.config, header)?;
        let service = self.session.key_service(&keyset)?;
        let id = *keyset.public.id();
        self.resolved.insert(id, (keyset, service));
        Ok(id)
    }

    /// A keyset resolved by [`Keysets::id_for`].
    pub(crate) fn get(&self, id: &[u8; 32]) -> Result<&(ResolvedKeyset, HttpKeyService)> {
        self.resolved
            .get(id)
            .ok_or_else(|| Error::Failed(format!("keyset {} vanished", hex(id))))
    }
}
