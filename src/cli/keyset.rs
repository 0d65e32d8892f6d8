//! `shardlock keyset create|list|revoke-client`: flags and admin
//! credentials (from a file, the environment or a prompt) turned into
//! requests for [`shardlock::client::admin`], and the outcome printed.

use std::path::Path;

use anyhow::{Context, Result};

use super::args::{KeysetCommand, KeysetCreateArgs, KeysetRevokeArgs};
use super::progress::Terminal;
use super::settings::{Settings, UsageError};
use shardlock::client::admin::{check_revocable, check_servers, CreateKeyset, DealTarget};
use shardlock::client::lifecycle::ServerArg;
use shardlock::encoding::{hex, parse_fingerprint};
use shardlock::protocol::Token;

/// Environment variable with the servers' admin credential.
pub const ADMIN_TOKEN_ENV: &str = "SHARDLOCK_ADMIN_TOKEN";

pub fn run(settings: &Settings, command: &KeysetCommand) -> Result<()> {
    match command {
        KeysetCommand::Create(args) if !args.dealer => super::lifecycle::create(settings, args),
        KeysetCommand::Create(args) => create_command(settings, args),
        KeysetCommand::Refresh(args) => super::lifecycle::refresh(settings, args),
        KeysetCommand::Repair(args) => super::lifecycle::repair(settings, args),
        KeysetCommand::Reshare(args) => super::lifecycle::reshare(settings, args),
        KeysetCommand::List => list(settings),
        KeysetCommand::RevokeClient(args) => revoke_client(settings, args),
        KeysetCommand::AddClient(args) => super::machines::add_client(settings, args),
        KeysetCommand::Export(args) => super::machines::export(settings, args),
        KeysetCommand::Import(args) => super::machines::import(settings, args),
        KeysetCommand::Clients(args) => super::machines::clients(settings, args),
        KeysetCommand::RecoveryKey(args) => super::machines::recovery_key(settings, args),
    }
}

/// Revokes a client at every server of a keyset. A client keeps decrypting
/// while `t` servers still honour its token, so it is cut off once
/// `n - t + 1` have revoked it; fewer is reported as a failure.
fn revoke_client(settings: &Settings, args: &KeysetRevokeArgs) -> Result<()> {
    let config = settings.session.config()?;
    let name = config.select(args.keyset.as_deref())?.to_string();
    let entry = config
        .entry(&name)
        .with_context(|| format!("keyset {name:?} is not in the config"))?;
    // Before any credential is asked for.
    check_revocable(entry, &name, &args.client, args.force)?;
    let urls: Vec<String> = entry.servers().iter().map(|s| s.url.clone()).collect();
    let tokens = admin_tokens(args.admin_token_file.as_deref(), &urls)?;
    let revocation = settings.session.revoke_client(
        &name,
        &args.client,
        tokens,
        args.force,
        &Terminal::plain(settings),
    )?;
    for failure in &revocation.failures {
        super::settings::warn(format_args!("not revoked at {failure}"));
    }
    settings.note(format_args!(
        "{} is cut off from keyset {name}: revoked at {} of {} servers (needed {})",
        args.client, revocation.revoked, revocation.servers, revocation.needed
    ));
    Ok(())
}

fn list(settings: &Settings) -> Result<()> {
    let config = settings.session.config()?;
    let default = config.default_keyset();
    for name in config.keyset_names() {
        if let Some(entry) = config.entry(name) {
            let public = entry.public();
            outln!(
                "{}{}  {}-of-{}  epoch {}  {}  client {}{}",
                name,
                if Some(name) == default {
                    " (default)"
                } else {
                    ""
                },
                public.threshold(),
                public.shares().len(),
                public.epoch(),
                hex(public.id()),
                entry.client().unwrap_or("-"),
                if entry.can_decrypt() {
                    ""
                } else {
                    "  (encrypt only)"
                }
            );
        }
    }
    Ok(())
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

/// `keyset create --dealer`: the trusted dealer of the first version.
fn create_command(settings: &Settings, args: &KeysetCreateArgs) -> Result<()> {
    let threshold = args.threshold.unwrap_or_default();
    let parsed = args
        .servers
        .iter()
        .map(|arg| parse_server_arg(arg))
        .collect::<Result<Vec<_>>>()?;
    let urls: Vec<String> = parsed.iter().map(|(url, _)| url.clone()).collect();
    // Bad parameters are reported before anyone is asked for a credential.
    check_servers(
        threshold,
        &urls.iter().map(String::as_str).collect::<Vec<_>>(),
    )?;
    let pinned = super::lifecycle::confirm_pins(
        settings,
        parsed
            .into_iter()
            .map(|(url, fingerprint)| ServerArg { url, fingerprint })
            .collect(),
        args.trust_fingerprint,
    )?;
    let tokens = admin_tokens(args.admin_token_file.as_deref(), &urls)?;
    let servers = pinned
        .into_iter()
        .zip(tokens)
        .map(|(server, admin_token)| DealTarget {
            url: server.url,
            fingerprint: server.fingerprint,
            admin_token,
        })
        .collect();
    let request = CreateKeyset {
        name: args.name.clone(),
        threshold,
        servers,
        client_name: args.client_name.clone(),
        make_default: args.default,
    };
    let created = settings
        .session
        .create_keyset(&request, &Terminal::plain(settings))?;
    settings.note(format_args!(
        "keyset {} ({}-of-{}, id {}) written to {}",
        args.name,
        threshold,
        urls.len(),
        hex(&created.id),
        created.config_path.display()
    ));
    Ok(())
}

/// Admin credentials, one per server in `servers` order: from a file
/// (`URL TOKEN` lines, or one token for all, or one per server in order),
/// the environment, or a prompt on the terminal.
pub(super) fn admin_tokens(file: Option<&Path>, servers: &[String]) -> Result<Vec<Token>> {
    let by_url = super::lifecycle::admin_tokens(file, servers)?;
    servers
        .iter()
        .map(|url| {
            by_url.for_url(url).cloned().ok_or_else(|| {
                UsageError::new(format!(
                    "no admin token for {url}; add a line `{url} TOKEN` to the admin token file"
                ))
                .into()
            })
        })
        .collect()
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
