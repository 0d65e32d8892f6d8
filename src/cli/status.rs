//! `shardlock status`: is every server of a keyset reachable, presenting
//! the pinned certificate, and holding the expected share? Exits 1 if fewer
//! than `t` servers are healthy (decryption would fail).

use anyhow::{bail, Result};

use super::args::StatusArgs;
use super::settings::Settings;
use shardlock::encoding::hex;

pub fn run(settings: &Settings, args: &StatusArgs) -> Result<()> {
    let health = settings.session.keyset_health(args.keyset.as_deref())?;
    let n = health.servers.len();
    // -q: nothing but the verdict (errors, and warnings).
    let show = !settings.quiet;
    if show {
        outln!(
            "keyset {} ({}-of-{}, epoch {}, id {})",
            health.name,
            health.threshold,
            n,
            health.epoch,
            hex(&health.id)
        );
    }
    for server in health.servers.iter().filter(|_| show) {
        let s = &server.status;
        let latency = s
            .latency_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_else(|| "-".into());
        let pin = match s.pin_ok {
            Some(true) => "pinned",
            Some(false) => "PIN MISMATCH",
            None if server.pinned => "pin unchecked",
            None => "web PKI roots",
        };
        let share = match s.share_ok {
            Some(true) => "share ok",
            Some(false) => "SHARE MISMATCH",
            None => "share unchecked",
        };
        let share = match s.epoch {
            Some(epoch) => format!("{share}, epoch {epoch}"),
            None => share.to_string(),
        };
        outln!(
            "  [{}] {} {} participant {}: {}, {}, {}",
            if server.healthy() { "ok" } else { "!!" },
            s.url,
            s.version
                .as_deref()
                .map(|v| format!("(v{v})"))
                .unwrap_or_default(),
            s.participant,
            if s.reachable {
                latency
            } else {
                "unreachable".into()
            },
            pin,
            share
        );
        if let Some(problem) = &s.problem {
            // An encrypt-only config has no tokens by design.
            if !health.encrypt_only {
                outln!("       {problem}");
            }
        }
    }
    let mut epochs: Vec<u32> = health
        .servers
        .iter()
        .filter_map(|s| s.status.epoch)
        .collect();
    epochs.sort_unstable();
    epochs.dedup();
    if epochs.len() > 1 {
        super::settings::warn(format_args!(
            "servers of keyset {} are on different epochs ({}): a lifecycle round is unfinished",
            health.name,
            epochs
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some((operation, _)) = settings.session.round_in_progress(&health.name)? {
        super::settings::warn(format_args!(
            "a {0} of keyset {1} is in progress; finish it with `shardlock keyset {0} {1} \
             --resume` or roll it back with `--abort`",
            operation.name(),
            health.name
        ));
    }
    if health.encrypt_only {
        let reachable = health
            .servers
            .iter()
            .filter(|s| s.status.reachable && s.status.pin_ok != Some(false))
            .count();
        settings.note(format_args!(
            "this config can only encrypt with keyset {} (no client tokens): {reachable} of {n} \
             servers reachable, not needed for encryption",
            health.name
        ));
        return Ok(());
    }
    let (healthy, threshold) = (health.healthy(), health.threshold);
    if !health.can_decrypt() {
        return Err(super::settings::Unavailable(format!(
            "only {healthy} of {n} servers are healthy; decryption needs {threshold}"
        ))
        .into());
    }
    let mismatched: Vec<&str> = health
        .servers
        .iter()
        .filter(|s| s.status.pin_ok == Some(false))
        .map(|s| s.status.url.as_str())
        .collect();
    if !mismatched.is_empty() {
        bail!(
            "certificate pin mismatch at {}: a server presented another certificate than the \
             config pins",
            mismatched.join(", ")
        );
    }
    settings.note(format_args!(
        "{healthy} of {n} servers healthy; decryption needs {threshold}"
    ));
    Ok(())
}
