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
    outln!(
        "keyset {} ({}-of-{}, id {})",
        health.name,
        health.threshold,
        n,
        hex(&health.id)
    );
    for server in &health.servers {
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
            outln!("       {problem}");
        }
    }
    let (healthy, threshold) = (health.healthy(), health.threshold);
    if !health.can_decrypt() {
        bail!("only {healthy} of {n} servers are healthy; decryption needs {threshold}");
    }
    settings.note(format_args!(
        "{healthy} of {n} servers healthy; decryption needs {threshold}"
    ));
    Ok(())
}
