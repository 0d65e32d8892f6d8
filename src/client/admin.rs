//! Keyset administration through the servers' admin API: creating a keyset
//! with a trusted dealer (install and verify one share per server, obtain
//! a client token from each, record the keyset in the config), revoking a
//! client at every server of a keyset, and unsealing a server.
//!
//! The dealer's secret key exists only in this process, briefly, and is
//! zeroized as soon as the shares are out (docs/THREAT-MODEL.md).

use std::collections::BTreeSet;

use rand::rngs::OsRng;
use zeroize::Zeroize;

use super::config::{Config, KeysetEntry, ServerEntry, TokenSource};
use super::error::{Error, Result, StepContext};
use super::http::{AdminClient, HttpOptions};
use super::report::Reporter;
use super::Session;
use crate::encoding::{format_fingerprint, hex};
use crate::protocol::{
    b64_element, CreateClientRequest, InstallShareRequest, Token, UnsealRequest, UnsealResponse,
};
use crate::threshold::kem::{deal, PublicKeyset};

/// One server to deal a share to, with its admin credential.
#[derive(Debug, Clone)]
pub struct DealTarget {
    /// Base URL.
    pub url: String,
    /// Pinned certificate fingerprint, if given.
    pub fingerprint: Option<[u8; 32]>,
    /// Admin credential for this server.
    pub admin_token: Token,
}

/// A keyset to create.
#[derive(Debug, Clone)]
pub struct CreateKeyset {
    /// Its name in the config.
    pub name: String,
    /// How many servers decryption needs.
    pub threshold: u16,
    /// The servers, participant ids 1..=n in this order.
    pub servers: Vec<DealTarget>,
    /// The client name registered at each server; `NAME-client` when
    /// `None`.
    pub client_name: Option<String>,
    /// Make it the default keyset (it becomes the default anyway when the
    /// config has none).
    pub make_default: bool,
}

/// A keyset that was created and saved.
#[derive(Debug, Clone)]
pub struct CreatedKeyset {
    /// Its id.
    pub id: [u8; 32],
    /// The config file it was written to.
    pub config_path: std::path::PathBuf,
}

/// A client revocation across a keyset's servers.
#[derive(Debug, Clone)]
pub struct Revocation {
    /// Servers that revoked the client.
    pub revoked: usize,
    /// Servers in the keyset.
    pub servers: usize,
    /// Revocations needed to cut the client off: `n - t + 1`.
    pub needed: usize,
    /// The servers that failed, with why.
    pub failures: Vec<String>,
}

/// Checks a threshold and server URLs before anything is asked of anyone:
/// `1 <= t <= n` and no server listed twice.
pub fn check_servers(threshold: u16, urls: &[&str]) -> Result<()> {
    let n = urls.len();
    if threshold < 1 || usize::from(threshold) > n {
        return Err(Error::Usage(format!(
            "--threshold must be between 1 and the number of servers ({n})"
        )));
    }
    let mut seen = BTreeSet::new();
    for url in urls {
        if !seen.insert(url.to_ascii_lowercase()) {
            return Err(Error::Usage(format!("server {url} is listed twice")));
        }
    }
    Ok(())
}

/// Refuses to revoke this machine's own client of a keyset unless `force`:
/// it would lock this config out of every file of the keyset.
pub fn check_revocable(entry: &KeysetEntry, keyset: &str, client: &str, force: bool) -> Result<()> {
    if entry.client() == Some(client) && !force {
        return Err(Error::Usage(format!(
            "{client} is this machine's own client for keyset {keyset}: revoking it locks this \
             config out of every file of the keyset. To regain access you would need another \
             machine's config, or `shardlock keyset add-client {keyset} NEW --out FILE` with \
             the admin tokens. Add --force to revoke it anyway"
        )));
    }
    Ok(())
}

impl Session {
    /// Deals a new keyset over the given servers and records it in the
    /// config (created if missing). Nothing is saved unless every server
    /// took its share and issued a client token.
    pub fn create_keyset(
        &self,
        request: &CreateKeyset,
        reporter: &dyn Reporter,
    ) -> Result<CreatedKeyset> {
        let urls: Vec<&str> = request.servers.iter().map(|s| s.url.as_str()).collect();
        check_servers(request.threshold, &urls)?;
        let path = self.config_path()?;
        let mut config = if path.exists() {
            Config::load(&path)?
        } else {
            Config::new()
        };
        if config.entry(&request.name).is_some() {
            return Err(Error::Usage(format!(
                "keyset {:?} already exists in {}",
                request.name,
                path.display()
            )));
        }
        let client_name = request
            .client_name
            .clone()
            .unwrap_or_else(|| format!("{}-client", request.name));
        let entry = deal_and_install(
            &request.servers,
            request.threshold,
            &client_name,
            &self.http_options(),
            reporter,
        )?;
        let id = *entry.public().id();
        config.add_keyset(&request.name, entry.with_client(Some(client_name)))?;
        if request.make_default || config.default_keyset().is_none() {
            config.set_default_keyset(Some(&request.name))?;
        }
        config.save(&path)?;
        Ok(CreatedKeyset {
            id,
            config_path: path,
        })
    }

    /// Hands the server at `url` its unseal secret (`server unseal`).
    pub fn unseal_server(
        &self,
        url: &str,
        fingerprint: Option<[u8; 32]>,
        admin_token: Token,
        request: &UnsealRequest,
    ) -> Result<UnsealResponse> {
        let admin = AdminClient::new(url, fingerprint, admin_token, &self.options.http)?;
        Ok(admin.unseal(request)?)
    }

    /// Revokes `client` at every server of a keyset, one admin token per
    /// server. A client keeps decrypting while `t` servers still honour its
    /// token, so it is cut off once `n - t + 1` have revoked it; fewer is a
    /// failure that lists each server that did not.
    pub fn revoke_client(
        &self,
        keyset: &str,
        client: &str,
        admin_tokens: Vec<Token>,
        force: bool,
        reporter: &dyn Reporter,
    ) -> Result<Revocation> {
        let entry = self
            .config()?
            .entry(keyset)
            .ok_or_else(|| Error::Usage(format!("keyset {keyset:?} is not in the config")))?;
        check_revocable(entry, keyset, client, force)?;
        let mut revoked = 0;
        let mut failures = Vec::new();
        for (server, token) in entry.servers().iter().zip(admin_tokens) {
            let result =
                AdminClient::new(&server.url, server.fingerprint, token, &self.http_options())
                    .and_then(|admin| admin.revoke_client(client));
            match result {
                Ok(_) => {
                    revoked += 1;
                    reporter.note(&format!("revoked {client} at {}", server.url));
                }
                Err(e) => failures.push(Error::from(e).for_server(&server.url)),
            }
        }
        let n = entry.servers().len();
        let needed = n - usize::from(entry.public().threshold()) + 1;
        if revoked < needed {
            return Err(Error::Failed(format!(
                "{client} is revoked at only {revoked} of {n} servers; it is cut off once {needed} have revoked it:\n  - {}",
                failures.join("\n  - ")
            )));
        }
        Ok(Revocation {
            revoked,
            servers: n,
            needed,
            failures,
        })
    }
}

/// The dealer: makes a `threshold`-of-n keyset over `targets` (participant
/// ids 1..=n in order), installs and verifies each share, and returns the
/// config entry with a fresh client token per server. Shared by
/// [`Session::create_keyset`] and the CLI's local dev cluster.
pub fn deal_and_install(
    targets: &[DealTarget],
    threshold: u16,
    client_name: &str,
    options: &HttpOptions,
    reporter: &dyn Reporter,
) -> Result<KeysetEntry> {
    let n = u16::try_from(targets.len()).map_err(|_| Error::Usage("too many servers".into()))?;
    let ids: Vec<u16> = (1..=n).collect();
    // Check every server answers before creating anything.
    let admins = targets
        .iter()
        .map(|t| {
            let admin = AdminClient::new(&t.url, t.fingerprint, t.admin_token.clone(), options)?;
            admin
                .health()
                .step(|| format!("key-share server {} is not reachable", t.url))?;
            Ok(admin)
        })
        .collect::<Result<Vec<_>>>()?;

    let (public, shares) = deal(threshold, &ids, &mut OsRng)?;
    let keyset_id = hex(public.id());
    let mut installed = Vec::new();
    for ((target, admin), share) in targets.iter().zip(&admins).zip(&shares) {
        let mut request = InstallShareRequest::new(&public, share);
        let installed_now = admin.install_share(&keyset_id, &request);
        // The request carries the secret share as text: wipe it either way.
        request.share.zeroize();
        installed_now
            .step(|| incomplete(&target.url, &installed, "installing its share failed"))?;
        verify_installed(admin, &keyset_id, &public, share.id()).step(|| {
            incomplete(
                &target.url,
                &installed,
                "the installed share does not check out",
            )
        })?;
        installed.push(target.url.clone());
        reporter.note(&format!("installed share {} on {}", share.id(), target.url));
    }
    // Shares are no longer needed anywhere in this process.
    drop(shares);

    let mut servers = Vec::with_capacity(targets.len());
    for ((target, admin), participant) in targets.iter().zip(&admins).zip(&ids) {
        let response = admin
            .create_client(&CreateClientRequest {
                name: client_name.to_string(),
                keysets: vec![keyset_id.clone()],
            })
            .step(|| format!("cannot obtain a client token from {}", target.url))?;
        servers.push(ServerEntry {
            participant: *participant,
            url: target.url.clone(),
            fingerprint: target.fingerprint,
            identity: None,
            token: TokenSource::Inline(Token::new(response.token.clone())),
        });
        if let Some(fp) = target.fingerprint {
            reporter.note(&format!(
                "client token from {} (pinned {})",
                target.url,
                format_fingerprint(&fp)
            ));
        }
    }
    Ok(KeysetEntry::new(public, servers)?)
}

fn verify_installed(
    admin: &AdminClient,
    keyset_id: &str,
    public: &PublicKeyset,
    participant: u16,
) -> Result<()> {
    let info = admin.key_info(keyset_id)?;
    let expected = public
        .public_share(participant)
        .map(b64_element)
        .unwrap_or_default();
    if info.participant != participant
        || info.public_share != expected
        || info.keyset_id != keyset_id
    {
        return Err(Error::Failed(format!(
            "the server reports participant {} with a different public share",
            info.participant
        )));
    }
    Ok(())
}

fn incomplete(url: &str, installed: &[String], what: &str) -> String {
    if installed.is_empty() {
        format!("{url}: {what}; nothing was installed anywhere")
    } else {
        format!(
            "{url}: {what}; the keyset is incomplete and was not saved (shares already on {} are unused and can be ignored)",
            installed.join(", ")
        )
    }
}
