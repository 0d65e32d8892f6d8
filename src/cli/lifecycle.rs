//! `shardlock keyset create|refresh|repair|reshare`: a key lifecycle round
//! (or its `--resume`/`--abort`) from flags and admin credentials, run by
//! [`shardlock::client::lifecycle`], and its outcome printed.

use std::fs;
use std::io::IsTerminal;
use std::path::Path;

use anyhow::{bail, Context, Result};

use super::args::{
    KeysetCreateArgs, KeysetRefreshArgs, KeysetRepairArgs, KeysetReshareArgs, RoundArgs,
};
use super::keyset::{parse_server_arg, ADMIN_TOKEN_ENV};
use super::progress::Terminal;
use super::settings::{Settings, UsageError};
use shardlock::client::admin::check_servers;
use shardlock::client::lifecycle::{AdminTokens, Change, RoundReport, RoundRequest, ServerArg};
use shardlock::encoding::{format_fingerprint, hex};
use shardlock::lifecycle::Operation;
use shardlock::protocol::Token;

/// `keyset create` by distributed key generation.
pub fn create(settings: &Settings, args: &KeysetCreateArgs) -> Result<()> {
    let change = || -> Result<Change> {
        let threshold = args.threshold.unwrap_or_default();
        let servers = checked_servers(settings, threshold, &args.servers, args.trust_fingerprint)?;
        Ok(Change::Create {
            threshold,
            servers,
            make_default: args.default,
        })
    };
    round(
        settings,
        &args.name,
        Operation::Create,
        &args.round,
        args.admin_token_file.as_deref(),
        &args.servers,
        args.client_name.clone(),
        change,
    )
}

/// `keyset refresh`.
pub fn refresh(settings: &Settings, args: &KeysetRefreshArgs) -> Result<()> {
    let urls = configured_urls(settings, &args.name)?;
    round(
        settings,
        &args.name,
        Operation::Refresh,
        &args.round,
        args.admin_token_file.as_deref(),
        &urls,
        None,
        || Ok(Change::Refresh),
    )
}

/// `keyset repair`.
pub fn repair(settings: &Settings, args: &KeysetRepairArgs) -> Result<()> {
    let mut urls = configured_urls(settings, &args.name)?;
    urls.extend(args.server.clone());
    let change = || -> Result<Change> {
        let participant = args.participant.unwrap_or_default();
        let server = confirm_pins(
            settings,
            server_args(args.server.as_slice())?,
            args.trust_fingerprint,
        )?
        .pop()
        .ok_or_else(|| UsageError::new("--server is required"))?;
        Ok(Change::Repair {
            participant,
            server,
        })
    };
    round(
        settings,
        &args.name,
        Operation::Repair,
        &args.round,
        args.admin_token_file.as_deref(),
        &urls,
        args.client_name.clone(),
        change,
    )
}

/// `keyset reshare`.
pub fn reshare(settings: &Settings, args: &KeysetReshareArgs) -> Result<()> {
    let mut urls = configured_urls(settings, &args.name)?;
    urls.extend(args.servers.iter().cloned());
    let current = settings
        .session
        .config()
        .ok()
        .and_then(|c| c.entry(&args.name))
        .map(|e| e.public().threshold());
    let change = || -> Result<Change> {
        // The threshold stays as it is unless given.
        let threshold = args.threshold.or(current).unwrap_or_default();
        let servers = checked_servers(settings, threshold, &args.servers, args.trust_fingerprint)?;
        Ok(Change::Reshare { threshold, servers })
    };
    round(
        settings,
        &args.name,
        Operation::Reshare,
        &args.round,
        args.admin_token_file.as_deref(),
        &urls,
        args.client_name.clone(),
        change,
    )
}

/// The URLs the config lists for keyset `name` (empty if it has none).
fn configured_urls(settings: &Settings, name: &str) -> Result<Vec<String>> {
    Ok(settings
        .session
        .config()
        .ok()
        .and_then(|c| c.entry(name))
        .map(|e| e.servers().iter().map(|s| s.url.clone()).collect())
        .unwrap_or_default())
}

/// The servers of a new epoch, checked with its threshold before anyone
/// is asked for anything, then each unpinned one pinned (see
/// [`confirm_pins`]).
fn checked_servers(
    settings: &Settings,
    threshold: u16,
    args: &[String],
    trust: bool,
) -> Result<Vec<ServerArg>> {
    let servers = server_args(args)?;
    let urls: Vec<&str> = servers.iter().map(|s| s.url.as_str()).collect();
    check_servers(threshold, &urls)?;
    confirm_pins(settings, servers, trust)
}

/// Pins every `https://` server given without `#sha256:` before any
/// admin token is asked for: its presented certificate's fingerprint is
/// shown, and trusted on a yes at the terminal or with
/// `--trust-fingerprint`; otherwise the command stops and says what to add.
pub(super) fn confirm_pins(
    settings: &Settings,
    servers: Vec<ServerArg>,
    trust: bool,
) -> Result<Vec<ServerArg>> {
    let options = settings.session.http_options();
    servers
        .into_iter()
        .map(|mut server| {
            if server.fingerprint.is_some() || !server.url.starts_with("https://") {
                return Ok(server);
            }
            let presented =
                shardlock::client::http::AdminClient::presented_fingerprint(&server.url, &options)?;
            let shown = format_fingerprint(&presented);
            let trusted = if trust {
                true
            } else if std::io::stdin().is_terminal() {
                eprint!(
                    "{} presents certificate {shown}.\nTrust it? Compare it with what `shardlock \
                     server init` printed on that server [y/N]: ",
                    server.url
                );
                let mut answer = String::new();
                std::io::stdin()
                    .read_line(&mut answer)
                    .context("cannot read the answer")?;
                matches!(answer.trim(), "y" | "Y" | "yes")
            } else {
                false
            };
            if !trusted {
                return Err(UsageError::new(format!(
                    "{0} has no pin; it presents {shown}. After checking that with the server's \
                     operator, pass --server '{0}#{shown}' (or --trust-fingerprint)",
                    server.url
                ))
                .into());
            }
            settings.note(format_args!("pinned {} at {shown}", server.url));
            server.fingerprint = Some(presented);
            Ok(server)
        })
        .collect()
}

fn server_args(args: &[String]) -> Result<Vec<ServerArg>> {
    args.iter()
        .map(|arg| {
            let (url, fingerprint) = parse_server_arg(arg)?;
            Ok(ServerArg { url, fingerprint })
        })
        .collect()
}

/// Starts, resumes or aborts a round, then reports it.
#[allow(clippy::too_many_arguments)]
fn round(
    settings: &Settings,
    name: &str,
    operation: Operation,
    round: &RoundArgs,
    token_file: Option<&Path>,
    urls: &[String],
    client_name: Option<String>,
    change: impl FnOnce() -> Result<Change>,
) -> Result<()> {
    let session = &settings.session;
    let reporter = Terminal::plain(settings);
    if round.resume || round.abort {
        let (_, urls) = session.round_in_progress(name)?.ok_or_else(|| {
            UsageError::new(format!("no round of keyset {name:?} is in progress"))
        })?;
        let tokens = admin_tokens(token_file, &urls)?;
        if round.abort {
            session.abort_round(name, operation, &tokens, &reporter)?;
            settings.note(format_args!(
                "rolled back: no server changed{}",
                if operation == Operation::Create {
                    String::new()
                } else {
                    format!("; keyset {name} is as it was")
                }
            ));
            return Ok(());
        }
        let report = session.resume_round(name, operation, &tokens, &reporter)?;
        return print_report(settings, name, &report);
    }
    // Bad parameters are reported before anyone is asked for a credential.
    let change = change()?;
    let bare: Vec<String> = urls
        .iter()
        .map(|u| parse_server_arg(u).map(|(url, _)| url))
        .collect::<Result<_>>()?;
    let tokens = admin_tokens(token_file, &bare)?;
    let request = RoundRequest {
        keyset: name.to_string(),
        change,
        client_name,
    };
    let report = session.start_round(&request, &tokens, &reporter)?;
    print_report(settings, name, &report)
}

fn print_report(settings: &Settings, name: &str, report: &RoundReport) -> Result<()> {
    for warning in &report.warnings {
        super::settings::warn(format_args!("{warning}"));
    }
    settings.note(format_args!(
        "keyset {name}: {} done, epoch {} ({}-of-{}, id {}), {} round trip{}; written to {}",
        report.operation.name(),
        report.epoch,
        report.threshold,
        report.servers,
        hex(&report.keyset_id),
        report.round_trips,
        if report.round_trips == 1 { "" } else { "s" },
        report.config_path.display()
    ));
    Ok(())
}

/// Admin credentials by URL: from a file of `URL TOKEN` lines (or the
/// older forms: one token for all, or one per server in order), the
/// environment (one for all), or a prompt per server on a terminal.
pub(super) fn admin_tokens(file: Option<&Path>, urls: &[String]) -> Result<AdminTokens> {
    let mut unique: Vec<String> = Vec::new();
    for url in urls {
        let url = url.trim_end_matches('/').to_string();
        if !unique.iter().any(|u| u.eq_ignore_ascii_case(&url)) {
            unique.push(url);
        }
    }
    if let Some(path) = file {
        let text = fs::read_to_string(path).map_err(|e| {
            UsageError::new(format!(
                "cannot read the admin token file {}: {}",
                path.display(),
                shardlock::client::one_line(&e)
            ))
        })?;
        return parse_token_file(&text, &unique)
            .map_err(|m| UsageError::new(format!("{}: {m}", path.display())).into());
    }
    if let Ok(token) = std::env::var(ADMIN_TOKEN_ENV) {
        if !token.trim().is_empty() {
            let token = Token::new(token.trim().to_string());
            return Ok(AdminTokens::new(
                unique.into_iter().map(|u| (u, token.clone())).collect(),
            ));
        }
    }
    if !std::io::stdin().is_terminal() {
        bail!(UsageError::new(format!(
            "no admin credential: use --admin-token-file or set {ADMIN_TOKEN_ENV} (no terminal to prompt on)"
        )));
    }
    unique
        .into_iter()
        .map(|url| {
            let token = rpassword::prompt_password(format!("admin token for {url}: "))
                .context("cannot read the admin token")?;
            Ok((url, Token::new(token.trim().to_string())))
        })
        .collect::<Result<Vec<_>>>()
        .map(AdminTokens::new)
}

/// Parses a token file: `URL TOKEN` lines, or bare tokens (one for all,
/// or one per server in `urls` order). Tokens hold no whitespace, so any
/// other line is refused rather than guessed at.
fn parse_token_file(text: &str, urls: &[String]) -> std::result::Result<AdminTokens, String> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let mut pairs = Vec::new();
    let mut bare = Vec::new();
    for (number, line) in &lines {
        let fields: Vec<&str> = line.split_whitespace().collect();
        match fields.as_slice() {
            [token] => bare.push(*token),
            [url, token] if url.starts_with("https://") || url.starts_with("http://") => pairs
                .push((
                    url.trim_end_matches('/').to_string(),
                    Token::new(token.to_string()),
                )),
            _ => {
                return Err(format!(
                    "line {number} is neither `URL TOKEN` nor a bare token"
                ))
            }
        }
    }
    match (pairs.is_empty(), bare.len()) {
        (false, 0) => Ok(AdminTokens::new(pairs)),
        (false, _) => Err("mixes `URL TOKEN` lines with bare tokens".into()),
        (true, 1) => Ok(AdminTokens::new(
            urls.iter()
                .map(|u| (u.clone(), Token::new(bare[0].to_string())))
                .collect(),
        )),
        (true, k) if k == urls.len() => Ok(AdminTokens::new(
            urls.iter()
                .zip(&bare)
                .map(|(u, t)| (u.clone(), Token::new(t.to_string())))
                .collect(),
        )),
        (true, k) => Err(format!(
            "has {k} tokens; write `URL TOKEN` lines, or one token for all servers, or one per \
             server ({})",
            urls.len()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_files_name_their_server_or_follow_the_server_order() {
        let urls = vec!["https://a:1".to_string(), "https://b:2".to_string()];
        let by_url = parse_token_file(
            "# old and new servers\nhttps://b:2/ slk_b\n\nhttps://a:1 slk_a\n",
            &urls,
        )
        .unwrap();
        assert_eq!(by_url.for_url("https://A:1").unwrap().expose(), "slk_a");
        assert_eq!(by_url.for_url("https://b:2").unwrap().expose(), "slk_b");
        let ordered = parse_token_file("slk_1\nslk_2\n", &urls).unwrap();
        assert_eq!(ordered.for_url("https://b:2").unwrap().expose(), "slk_2");
        let one = parse_token_file("slk_all\n", &urls).unwrap();
        assert_eq!(one.for_url("https://a:1").unwrap().expose(), "slk_all");
        assert!(parse_token_file("a\nb\nc\n", &urls).is_err());
        assert!(parse_token_file("https://a:1 slk_a\nslk_b\n", &urls).is_err());
        let extra = parse_token_file("https://a:1 slk_a extra\n", &urls);
        assert!(extra.err().unwrap().contains("line 1"));
        assert!(parse_token_file("a:1 slk_a\n", &urls).is_err());
    }
}
