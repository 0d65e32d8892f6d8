//! `shardlock keyset create|list`: a trusted dealer creates the threshold
//! key, installs one share on each server over the admin API, verifies it,
//! obtains a client token from each server, and records the keyset in the
//! client config. The secret key exists only in this process, briefly, and
//! is zeroized as soon as the shares are out.

use std::collections::BTreeSet;
use std::fs;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use rand::rngs::OsRng;
use zeroize::Zeroize;

use super::args::{KeysetCommand, KeysetCreateArgs, KeysetRevokeArgs};
use super::{Settings, UsageError};
use crate::client::config::{resolve_path, Config, KeysetEntry, ServerEntry, TokenSource};
use crate::client::http::{install_share_request, AdminClient, HttpOptions};
use crate::encoding::hex;
use crate::encoding::{format_fingerprint, parse_fingerprint};
use crate::protocol::Token;
use crate::protocol::{b64_element, CreateClientRequest};
use crate::threshold::kem::{deal, PublicKeyset};

/// Environment variable with the servers' admin credential.
pub const ADMIN_TOKEN_ENV: &str = "SHARDLOCK_ADMIN_TOKEN";

pub fn run(settings: &Settings, command: &KeysetCommand) -> Result<()> {
    match command {
        KeysetCommand::Create(args) => create_command(settings, args),
        KeysetCommand::List => list(settings),
        KeysetCommand::RevokeClient(args) => revoke_client(settings, args),
    }
}

/// Revokes a client at every server of a keyset. A client keeps decrypting
/// while `t` servers still honour its token, so it is cut off once
/// `n - t + 1` have revoked it; fewer is reported as a failure.
fn revoke_client(settings: &Settings, args: &KeysetRevokeArgs) -> Result<()> {
    let config = settings.load_config()?;
    let name = config.select(args.keyset.as_deref())?.to_string();
    let entry = config
        .entry(&name)
        .with_context(|| format!("keyset {name:?} is not in the config"))?;
    let servers: Vec<(String, Option<[u8; 32]>)> = entry
        .servers()
        .iter()
        .map(|s| (s.url.clone(), s.fingerprint))
        .collect();
    let tokens = admin_tokens(args.admin_token_file.as_deref(), &servers)?;
    let options = HttpOptions {
        allow_http: settings.allow_http,
        ..HttpOptions::default()
    };
    let mut revoked = 0;
    let mut failures = Vec::new();
    for ((url, fingerprint), token) in servers.iter().zip(tokens) {
        let result = AdminClient::new(url, *fingerprint, token, &options)
            .map_err(anyhow::Error::from)
            .and_then(|admin| Ok(admin.revoke_client(&args.client)?));
        match result {
            Ok(_) => {
                revoked += 1;
                settings.note(format_args!("revoked {} at {url}", args.client));
            }
            Err(e) => failures.push(format!("{url}: {e:#}")),
        }
    }
    let n = servers.len();
    let needed = n - usize::from(entry.public().threshold()) + 1;
    if revoked < needed {
        bail!(
            "{} is revoked at only {revoked} of {n} servers; it is cut off once {needed} have revoked it:\n  - {}",
            args.client,
            failures.join("\n  - ")
        );
    }
    for failure in &failures {
        super::warn(format_args!("not revoked at {failure}"));
    }
    settings.note(format_args!(
        "{} is cut off from keyset {name}: revoked at {revoked} of {n} servers (needed {needed})",
        args.client
    ));
    Ok(())
}

fn list(settings: &Settings) -> Result<()> {
    let config = settings.load_config()?;
    let default = config.default_keyset();
    for name in config.keyset_names() {
        if let Some(entry) = config.entry(name) {
            let public = entry.public();
            outln!(
                "{}{}  {}-of-{}  {}",
                name,
                if Some(name) == default {
                    " (default)"
                } else {
                    ""
                },
                public.threshold(),
                public.shares().len(),
                hex(public.id())
            );
        }
    }
    Ok(())
}

/// One server as given on the command line, with its admin credential.
#[derive(Debug, Clone)]
pub struct DealTarget {
    /// Base URL.
    pub url: String,
    /// Pinned certificate fingerprint, if given.
    pub fingerprint: Option<[u8; 32]>,
    /// Admin credential for this server.
    pub admin_token: Token,
}

/// Splits `https://host:port#sha256:HEX` into URL and fingerprint.
pub fn parse_server_arg(arg: &str) -> Result<(String, Option<[u8; 32]>)> {
    let (url, fingerprint) = match arg.split_once('#') {
        None => (arg, None),
        Some((url, fp)) => {
            let parsed = parse_fingerprint(fp).ok_or_else(|| {
                UsageError::new(format!(
                    "{arg}: the part after '#' must be a certificate fingerprint, sha256: followed by 64 hex digits"
                ))
            })?;
            (url, Some(parsed))
        }
    };
    let url = url.trim_end_matches('/').to_string();
    if !(url.starts_with("https://") || url.starts_with("http://")) {
        return Err(UsageError::new(format!("{arg}: a server URL starts with https://")).into());
    }
    Ok((url, fingerprint))
}

fn create_command(settings: &Settings, args: &KeysetCreateArgs) -> Result<()> {
    let n = args.servers.len();
    if args.threshold < 1 || usize::from(args.threshold) > n {
        bail!(UsageError::new(format!(
            "--threshold must be between 1 and the number of servers ({n})"
        )));
    }
    let mut seen = BTreeSet::new();
    let mut parsed = Vec::with_capacity(n);
    for arg in &args.servers {
        let (url, fingerprint) = parse_server_arg(arg)?;
        if !seen.insert(url.to_ascii_lowercase()) {
            bail!(UsageError::new(format!("server {url} is listed twice")));
        }
        parsed.push((url, fingerprint));
    }
    let tokens = admin_tokens(args.admin_token_file.as_deref(), &parsed)?;
    let targets: Vec<DealTarget> = parsed
        .into_iter()
        .zip(tokens)
        .map(|((url, fingerprint), admin_token)| DealTarget {
            url,
            fingerprint,
            admin_token,
        })
        .collect();

    let path = resolve_path(settings.config.as_deref())?;
    let mut config = if path.exists() {
        Config::load(&path)?
    } else {
        Config::new()
    };
    if config.entry(&args.name).is_some() {
        bail!(UsageError::new(format!(
            "keyset {:?} already exists in {}",
            args.name,
            path.display()
        )));
    }
    let client_name = args
        .client_name
        .clone()
        .unwrap_or_else(|| format!("{}-client", args.name));
    let options = HttpOptions {
        allow_http: settings.allow_http,
        ..HttpOptions::default()
    };
    let entry = deal_and_install(&targets, args.threshold, &client_name, &options, |line| {
        settings.note(line)
    })?;
    let id = hex(entry.public().id());
    config.add_keyset(&args.name, entry)?;
    if args.default || config.default_keyset().is_none() {
        config.set_default_keyset(Some(&args.name))?;
    }
    config.save(&path)?;
    settings.note(format_args!(
        "keyset {} ({}-of-{}, id {id}) written to {}",
        args.name,
        args.threshold,
        n,
        path.display()
    ));
    Ok(())
}

/// Admin credentials, one per server: from a file (one line for all, or
/// one per server), the environment, or a prompt on the terminal.
fn admin_tokens(file: Option<&Path>, servers: &[(String, Option<[u8; 32]>)]) -> Result<Vec<Token>> {
    let n = servers.len();
    if let Some(path) = file {
        let text = fs::read_to_string(path)
            .with_context(|| format!("cannot read the admin token file {}", path.display()))?;
        let lines: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return match lines.len() {
            1 => Ok(vec![Token::new(lines[0].to_string()); n]),
            k if k == n => Ok(lines.iter().map(|l| Token::new(l.to_string())).collect()),
            k => Err(UsageError::new(format!(
                "{} has {k} tokens; give one for all servers or one per server ({n})",
                path.display()
            ))
            .into()),
        };
    }
    if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
        if !token.trim().is_empty() {
            return Ok(vec![Token::new(token.trim().to_string()); n]);
        }
    }
    if !std::io::stdin().is_terminal() {
        bail!(UsageError::new(format!(
            "no admin credential: use --admin-token-file or set {ADMIN_TOKEN_ENV} (no terminal to prompt on)"
        )));
    }
    servers
        .iter()
        .map(|(url, _)| {
            let token = rpassword::prompt_password(format!("admin token for {url}: "))
                .context("cannot read the admin token")?;
            Ok(Token::new(token.trim().to_string()))
        })
        .collect()
}

/// The dealer: makes a `threshold`-of-n keyset over `targets` (participant
/// ids 1..=n in order), installs and verifies each share, and returns the
/// config entry with a fresh client token per server. Shared by `keyset
/// create`, `dev-cluster` and `demo`.
pub fn deal_and_install(
    targets: &[DealTarget],
    threshold: u16,
    client_name: &str,
    options: &HttpOptions,
    progress: impl Fn(String),
) -> Result<KeysetEntry> {
    let n = u16::try_from(targets.len()).map_err(|_| anyhow!("too many servers"))?;
    let ids: Vec<u16> = (1..=n).collect();
    // Check every server answers before creating anything.
    let admins = targets
        .iter()
        .map(|t| {
            let admin = AdminClient::new(&t.url, t.fingerprint, t.admin_token.clone(), options)?;
            admin
                .health()
                .with_context(|| format!("key-share server {} is not reachable", t.url))?;
            Ok(admin)
        })
        .collect::<Result<Vec<_>>>()?;

    let (public, shares) = deal(threshold, &ids, &mut OsRng)?;
    let keyset_id = hex(public.id());
    let mut installed = Vec::new();
    for ((target, admin), share) in targets.iter().zip(&admins).zip(&shares) {
        let mut request = install_share_request(&public, share);
        let installed_now = admin.install_share(&keyset_id, &request);
        // The request carries the secret share as text: wipe it either way.
        request.share.zeroize();
        installed_now
            .with_context(|| incomplete(&target.url, &installed, "installing its share failed"))?;
        verify_installed(admin, &keyset_id, &public, share.id()).with_context(|| {
            incomplete(
                &target.url,
                &installed,
                "the installed share does not check out",
            )
        })?;
        installed.push(target.url.clone());
        progress(format!("installed share {} on {}", share.id(), target.url));
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
            .with_context(|| format!("cannot obtain a client token from {}", target.url))?;
        servers.push(ServerEntry {
            participant: *participant,
            url: target.url.clone(),
            fingerprint: target.fingerprint,
            token: TokenSource::Inline(Token::new(response.token.clone())),
        });
        if let Some(fp) = target.fingerprint {
            progress(format!(
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
        bail!(
            "the server reports participant {} with a different public share",
            info.participant
        );
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_arguments_carry_an_optional_fingerprint() {
        let fp = "ab".repeat(32);
        let (url, pin) = parse_server_arg(&format!("https://127.0.0.1:8443/#sha256:{fp}")).unwrap();
        assert_eq!(url, "https://127.0.0.1:8443");
        assert_eq!(pin, Some([0xab; 32]));
        assert_eq!(
            parse_server_arg("https://h:1").unwrap(),
            ("https://h:1".to_string(), None)
        );
        assert!(parse_server_arg("https://h:1#sha256:12").is_err());
        assert!(parse_server_arg("h:1").is_err());
    }
}
