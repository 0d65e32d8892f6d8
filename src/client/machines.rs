//! Machines and people (issue #9): a client config for another machine
//! (`keyset add-client`), an encrypt-only export of a keyset and its
//! import elsewhere, and the list of every client at every server.
//!
//! Tokens only ever go into the config written for the machine they
//! belong to (mode 0600, never replacing a file); nothing here prints one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::{Config, KeysetEntry, ServerEntry, TokenSource};
use super::error::{Error, Result};
use super::http::AdminClient;
use super::report::Reporter;
use super::Session;
use crate::encoding::hex;
use crate::envelope::recovery::RecoveryPublic;
use crate::protocol::{valid_client_name, ClientInfo, CreateClientRequest, Token};

/// A client to create for another machine.
#[derive(Debug, Clone)]
pub struct AddClient {
    /// The keyset's name in this config.
    pub keyset: String,
    /// The new client's name at every server.
    pub name: String,
    /// Where to write the new machine's config.
    pub out: PathBuf,
    /// Admin tokens, one per server of the keyset in participant order.
    pub admin_tokens: Vec<Token>,
    /// Accept fewer servers than all (at least the threshold).
    pub min: Option<usize>,
}

/// A client created and its config written.
#[derive(Debug, Clone)]
pub struct AddedClient {
    /// Servers that issued a token.
    pub created: usize,
    /// Servers of the keyset.
    pub servers: usize,
    /// The servers that did not, with why.
    pub failures: Vec<String>,
}

/// One client as each server of a keyset knows it.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// Client name.
    pub name: String,
    /// Per server (participant order): what it says, or `None` if it does
    /// not know this client.
    pub at: Vec<Option<ClientInfo>>,
}

impl ClientRow {
    /// Whether the servers that answered (`answered`, participant order)
    /// disagree about this client: some lack it, grant other keysets, or
    /// differ on revocation.
    pub fn disagreement(&self, answered: &[bool]) -> bool {
        let mut seen = self
            .at
            .iter()
            .zip(answered)
            .filter(|(_, ok)| **ok)
            .map(|(c, _)| c.as_ref().map(|c| (&c.keysets, c.revoked)));
        let Some(first) = seen.next() else {
            return false;
        };
        seen.any(|other| other != first)
    }

    /// Revoked at this many servers.
    pub fn revoked_at(&self) -> usize {
        self.at.iter().flatten().filter(|c| c.revoked).count()
    }
}

/// Every client of every server of a keyset.
#[derive(Debug, Clone)]
pub struct ClientTable {
    /// The servers' URLs, in participant order.
    pub servers: Vec<String>,
    /// Whether each server answered (participant order).
    pub answered: Vec<bool>,
    /// Servers that could not be asked, with why.
    pub failures: Vec<String>,
    /// Clients by name.
    pub clients: Vec<ClientRow>,
    /// This machine's client name for the keyset, if recorded.
    pub local: Option<String>,
    /// The keyset's threshold and server count.
    pub threshold: u16,
}

/// Refuses to replace a keyset's recovery key unless `replace`: files
/// made since it was set need it.
pub fn check_recovery_replace(entry: &KeysetEntry, name: &str, replace: bool) -> Result<()> {
    match entry.recovery() {
        Some(old) if !replace => Err(Error::Usage(format!(
            "keyset {name} already has recovery key {}; files made since it was set need it. \
             Add --replace to use a new key for files made from now on",
            hex(&old.id())
        ))),
        _ => Ok(()),
    }
}

impl Session {
    /// Creates client `name` at every server of a keyset and writes a
    /// complete config for the machine it is for. With fewer than all
    /// servers (or than `min`, at least `t`), the tokens made are revoked
    /// again and nothing is written.
    pub fn add_client(&self, request: &AddClient, reporter: &dyn Reporter) -> Result<AddedClient> {
        let config = self.config()?;
        let entry = config.entry(&request.keyset).ok_or_else(|| {
            Error::Usage(format!("keyset {:?} is not in the config", request.keyset))
        })?;
        if !valid_client_name(&request.name) {
            return Err(Error::Usage(format!(
                "{:?} is not a client name (1 to 64 of A-Z a-z 0-9 . _ -)",
                request.name
            )));
        }
        if request.out.exists() {
            return Err(Error::Usage(format!(
                "{} exists; choose a new file for the new machine's config",
                request.out.display()
            )));
        }
        let n = entry.servers().len();
        let t = usize::from(entry.public().threshold());
        let min = request.min.unwrap_or(n);
        if min < t || min > n {
            return Err(Error::Usage(format!(
                "--min must be between the threshold ({t}) and the number of servers ({n})"
            )));
        }
        let id_hex = hex(entry.public().id());
        // One connection per server, for the name check and the creation.
        let admins: Vec<Result<AdminClient>> = entry
            .servers()
            .iter()
            .zip(&request.admin_tokens)
            .map(|(server, token)| {
                Ok(AdminClient::new(
                    &server.url,
                    server.fingerprint,
                    token.clone(),
                    &self.http_options(),
                )?)
            })
            .collect();
        // Names stay taken once used (revoked clients too): look before
        // creating anything, so a taken name costs nothing anywhere.
        for (server, admin) in entry.servers().iter().zip(&admins) {
            let Ok(Ok(clients)) = admin.as_ref().map(AdminClient::list_clients) else {
                continue;
            };
            if let Some(existing) = clients.iter().find(|c| c.name == request.name) {
                return Err(Error::Usage(format!(
                    "{} already has a client {:?}{}; client names are never reused, \
                     choose another",
                    server.url,
                    request.name,
                    if existing.revoked { " (revoked)" } else { "" }
                )));
            }
        }
        let mut servers = Vec::with_capacity(n);
        let mut made = Vec::new();
        let mut failures = Vec::new();
        for (server, admin) in entry.servers().iter().zip(admins) {
            let created = admin.and_then(|admin| {
                let answer = admin.create_client(&CreateClientRequest {
                    name: request.name.clone(),
                    keysets: vec![id_hex.clone()],
                })?;
                Ok((admin, answer))
            });
            let token = match created {
                Ok((admin, answer)) => {
                    made.push(admin);
                    TokenSource::Inline(Token::new(answer.token.clone()))
                }
                Err(e) => {
                    failures.push(e.for_server(&server.url));
                    TokenSource::None
                }
            };
            servers.push(ServerEntry {
                token,
                ..server.clone()
            });
        }
        if made.len() < min {
            // Roll back: the tokens made are useless alone, but revoke them
            // so no half-made client lingers (the name stays taken there).
            for admin in &made {
                if let Err(e) = admin.revoke_client(&request.name) {
                    reporter.warn(&format!(
                        "could not revoke the partial client at {}: {}",
                        admin.url(),
                        Error::from(e).chain()
                    ));
                }
            }
            return Err(Error::Failed(format!(
                "client {} was created at only {} of {n} servers (needed {min}); it was revoked \
                 again where it was made and nothing was written. Fix these, then retry with \
                 another name (the name stays taken), or accept fewer servers with --min:\n  - {}",
                request.name,
                made.len(),
                failures.join("\n  - ")
            )));
        }
        let entry = KeysetEntry::new(entry.public().clone(), servers)?
            .with_client(Some(request.name.clone()))
            .with_recovery(entry.recovery().cloned());
        let mut new = Config::new();
        new.set_network(config.network());
        new.add_keyset(&request.keyset, entry)?;
        new.set_default_keyset(Some(&request.keyset))?;
        new.save_new(&request.out)?;
        Ok(AddedClient {
            created: made.len(),
            servers: n,
            failures,
        })
    }

    /// Writes an encrypt-only config for keyset `name` to `out`: public
    /// shares, URLs, pins and identities, no token.
    pub fn export_public(&self, name: &str, out: &Path) -> Result<()> {
        let config = self.config()?;
        let entry = config
            .entry(name)
            .ok_or_else(|| Error::Usage(format!("keyset {name:?} is not in the config")))?;
        if out.exists() {
            return Err(Error::Usage(format!(
                "{} exists; choose a new file for the export",
                out.display()
            )));
        }
        let mut export = Config::new();
        export.add_keyset(name, entry.public_only())?;
        export.set_default_keyset(Some(name))?;
        export.save_new(out)?;
        Ok(())
    }

    /// Merges every keyset of the config at `file` into this config
    /// (created if missing). A keyset already present with the same id is
    /// replaced only if it is the same epoch or older; a name taken by
    /// another keyset is refused. Returns the names imported.
    pub fn import_keysets(&self, file: &Path) -> Result<Vec<String>> {
        let other = Config::load(file)?;
        let path = self.config_path()?;
        let mut config = if path.exists() {
            Config::load(&path)?
        } else {
            Config::new()
        };
        let mut imported = Vec::new();
        for name in other.keyset_names() {
            let Some(entry) = other.entry(name) else {
                continue;
            };
            let same_id = config
                .keyset_names()
                .into_iter()
                .find(|n| {
                    config
                        .entry(n)
                        .is_some_and(|e| e.public().id() == entry.public().id())
                })
                .map(str::to_string);
            match (config.entry(name), same_id) {
                (Some(current), _) if current.public().id() != entry.public().id() => {
                    return Err(Error::Usage(format!(
                        "this config already has another keyset named {name:?}; rename one of them"
                    )))
                }
                (_, Some(existing)) if existing != name => {
                    return Err(Error::Usage(format!(
                        "keyset {name:?} is already in this config as {existing:?}"
                    )))
                }
                (Some(current), _) if current.public().epoch() > entry.public().epoch() => {
                    return Err(Error::Usage(format!(
                        "this config holds epoch {} of keyset {name:?} and {} holds the older \
                         epoch {}",
                        current.public().epoch(),
                        file.display(),
                        entry.public().epoch()
                    )))
                }
                _ => {}
            }
            // Keep this machine's tokens for servers it already knows when
            // the file brings none (a public export of a later epoch).
            let known: BTreeMap<String, TokenSource> = config
                .entry(name)
                .map(|e| {
                    e.servers()
                        .iter()
                        .map(|s| (s.url.to_ascii_lowercase(), s.token.clone()))
                        .collect()
                })
                .unwrap_or_default();
            let client = config
                .entry(name)
                .and_then(|e| e.client().map(str::to_string))
                .or_else(|| entry.client().map(str::to_string));
            let servers = entry
                .servers()
                .iter()
                .map(|s| {
                    let token = match (&s.token, known.get(&s.url.to_ascii_lowercase())) {
                        (TokenSource::None, Some(kept)) => kept.clone(),
                        (own, _) => own.clone(),
                    };
                    ServerEntry { token, ..s.clone() }
                })
                .collect();
            let merged = KeysetEntry::new(entry.public().clone(), servers)?
                .with_client(client)
                .with_recovery(entry.recovery().cloned());
            config.replace_keyset(name, merged)?;
            imported.push(name.to_string());
        }
        if imported.is_empty() {
            return Err(Error::Usage(format!("{} holds no keyset", file.display())));
        }
        config.save(&path)?;
        Ok(imported)
    }

    /// Sets the recovery key of keyset `name`: from now on every file
    /// encrypted for it (here, and by configs exported afterwards) gets a
    /// recovery stanza. Refuses to replace another key unless `replace`.
    pub fn set_recovery_key(
        &self,
        name: &str,
        public: RecoveryPublic,
        replace: bool,
    ) -> Result<Option<RecoveryPublic>> {
        let path = self.config_path()?;
        let mut config = Config::load(&path)?;
        let entry = config
            .entry(name)
            .ok_or_else(|| Error::Usage(format!("keyset {name:?} is not in the config")))?
            .clone();
        let previous = entry.recovery().cloned();
        check_recovery_replace(&entry, name, replace)?;
        config.replace_keyset(name, entry.with_recovery(Some(public)))?;
        config.save(&path)?;
        Ok(previous)
    }

    /// Every client of every server of a keyset (admin tokens one per
    /// server, participant order).
    pub fn list_clients(&self, name: &str, admin_tokens: Vec<Token>) -> Result<ClientTable> {
        let config = self.config()?;
        let entry = config
            .entry(name)
            .ok_or_else(|| Error::Usage(format!("keyset {name:?} is not in the config")))?;
        let id_hex = hex(entry.public().id());
        let servers: Vec<&ServerEntry> = entry.servers().iter().collect();
        let answers: Vec<Result<Vec<ClientInfo>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = servers
                .iter()
                .zip(admin_tokens)
                .map(|(server, token)| {
                    let options = self.http_options();
                    scope.spawn(move || -> Result<Vec<ClientInfo>> {
                        let admin =
                            AdminClient::new(&server.url, server.fingerprint, token, &options)?;
                        Ok(admin.list_clients()?)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Error::Failed("a request thread failed".into())))
                })
                .collect()
        });
        let mut rows: BTreeMap<String, Vec<Option<ClientInfo>>> = BTreeMap::new();
        let mut failures = Vec::new();
        let n = servers.len();
        let mut answered = vec![false; n];
        for (i, (server, answer)) in servers.iter().zip(answers).enumerate() {
            match answer {
                Ok(clients) => {
                    answered[i] = true;
                    for client in clients
                        .into_iter()
                        .filter(|c| c.keysets.iter().any(|k| k.eq_ignore_ascii_case(&id_hex)))
                    {
                        let slot = rows
                            .entry(client.name.clone())
                            .or_insert_with(|| vec![None; n]);
                        slot[i] = Some(client);
                    }
                }
                Err(e) => failures.push(e.for_server(&server.url)),
            }
        }
        Ok(ClientTable {
            servers: servers.iter().map(|s| s.url.clone()).collect(),
            answered,
            failures,
            clients: rows
                .into_iter()
                .map(|(name, at)| ClientRow { name, at })
                .collect(),
            local: entry.client().map(str::to_string),
            threshold: entry.public().threshold(),
        })
    }
}
