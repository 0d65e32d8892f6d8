//! `shardlock status`: is every server of a keyset reachable, presenting
//! the pinned certificate, and holding the expected share? Exits 1 if fewer
//! than `t` servers are healthy (decryption would fail).

use anyhow::{bail, Result};

use super::args::StatusArgs;
use super::Settings;
use crate::client::http::{check_status, HttpOptions};
use crate::encoding::hex;

pub fn run(settings: &Settings, args: &StatusArgs) -> Result<()> {
    let config = settings.load_config()?;
    let keyset = config.keyset(args.keyset.as_deref())?;
    let options = HttpOptions {
        allow_http: settings.allow_http,
        ..HttpOptions::default()
    };
    let statuses = check_status(&keyset.public, &keyset.endpoints, &options);
    let threshold = keyset.public.threshold();
    outln!(
        "keyset {} ({}-of-{}, id {})",
        keyset.name,
        threshold,
        statuses.len(),
        hex(keyset.public.id())
    );
    let mut healthy = 0;
    for (s, endpoint) in statuses.iter().zip(&keyset.endpoints) {
        let ok = s.reachable
            && s.pin_ok != Some(false)
            && s.share_ok == Some(true)
            && s.problem.is_none();
        healthy += usize::from(ok);
        let latency = s
            .latency_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_else(|| "-".into());
        let pin = match s.pin_ok {
            Some(true) => "pinned",
            Some(false) => "PIN MISMATCH",
            None if endpoint.fingerprint.is_some() => "pin unchecked",
            None => "web PKI roots",
        };
        let share = match s.share_ok {
            Some(true) => "share ok",
            Some(false) => "SHARE MISMATCH",
            None => "share unchecked",
        };
        outln!(
            "  [{}] {} {} participant {}: {}, {}, {}",
            if ok { "ok" } else { "!!" },
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
    if healthy < usize::from(threshold) {
        bail!(
            "only {healthy} of {} servers are healthy; decryption needs {threshold}",
            statuses.len()
        );
    }
    settings.note(format_args!(
        "{healthy} of {} servers healthy; decryption needs {threshold}",
        statuses.len()
    ));
    Ok(())
}
