//! `shardlock keyset add-client|export|import|clients`: another machine's
//! config, encrypt-only exports and their import, and every client of a
//! keyset at every server, printed ([`shardlock::client::machines`]).

use anyhow::{Context, Result};

use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;

use super::args::{
    KeysetAddClientArgs, KeysetClientsArgs, KeysetExportArgs, KeysetImportArgs,
    KeysetRecoveryKeyArgs,
};
use super::keyset::admin_tokens;
use super::progress::Terminal;
use super::settings::{Settings, UsageError};
use shardlock::client::machines::{check_recovery_replace, AddClient};
use shardlock::encoding::hex;
use shardlock::envelope::recovery::RecoverySecret;
use zeroize::Zeroizing;

/// Environment variable with the recovery key's passphrase.
pub const RECOVERY_PASSPHRASE_ENV: &str = "SHARDLOCK_RECOVERY_PASSPHRASE";
/// Shortest passphrase accepted for a new recovery key.
const MIN_PASSPHRASE_LEN: usize = 12;

/// The recovery key's passphrase: from a file, the environment, or a
/// prompt (twice when `confirm`, for a new key).
fn recovery_passphrase(file: Option<&Path>, confirm: bool) -> Result<Zeroizing<String>> {
    if let Some(path) = file {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| {
            UsageError::new(format!(
                "cannot read the passphrase file {}: {}",
                path.display(),
                shardlock::client::one_line(&e)
            ))
        })?);
        return Ok(Zeroizing::new(
            text.trim_end_matches(['\n', '\r']).to_string(),
        ));
    }
    if let Ok(text) = std::env::var(RECOVERY_PASSPHRASE_ENV) {
        if !text.is_empty() {
            return Ok(Zeroizing::new(text));
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(UsageError::new(format!(
            "no passphrase for the recovery key: use --passphrase-file or set \
             {RECOVERY_PASSPHRASE_ENV} (no terminal to prompt on)"
        ))
        .into());
    }
    let first = Zeroizing::new(
        rpassword::prompt_password("recovery key passphrase: ")
            .context("cannot read the passphrase")?,
    );
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password("again: ").context("cannot read the passphrase")?,
        );
        if *again != *first {
            return Err(UsageError::new("the two passphrases differ").into());
        }
    }
    Ok(first)
}

/// `keyset recovery-key KEYSET --out FILE | --paper`.
pub fn recovery_key(settings: &Settings, args: &KeysetRecoveryKeyArgs) -> Result<()> {
    let config = settings.session.config()?;
    let entry = config
        .entry(&args.keyset)
        .with_context(|| format!("keyset {:?} is not in the config", args.keyset))?;
    // Before asking for a passphrase.
    check_recovery_replace(entry, &args.keyset, args.replace)?;
    let secret = RecoverySecret::generate(&mut rand::rngs::OsRng);
    let public = secret.public();
    match &args.out {
        Some(out) => {
            if out.exists() {
                return Err(UsageError::new(format!(
                    "{} exists; choose a new file for the recovery key",
                    out.display()
                ))
                .into());
            }
            let passphrase = recovery_passphrase(args.passphrase_file.as_deref(), true)?;
            if passphrase.chars().count() < MIN_PASSPHRASE_LEN {
                return Err(UsageError::new(format!(
                    "the passphrase is shorter than {MIN_PASSPHRASE_LEN} characters"
                ))
                .into());
            }
            let text = secret.to_file(&passphrase);
            shardlock::client::write_new_private(out, text.as_bytes())?;
        }
        None => {
            outln!("{}", secret.to_paper().as_str());
        }
    }
    settings
        .session
        .set_recovery_key(&args.keyset, public.clone(), args.replace)?;
    settings.note(format_args!(
        "keyset {} now has recovery key {}: every file encrypted from now on with this config \
         also opens with it, with every server gone. Keep it offline{}. Configs made earlier \
         (add-client, export) do not have it: run `keyset export --public` again and `keyset \
         import` that file on those machines",
        args.keyset,
        hex(&public.id()),
        match &args.out {
            Some(out) => format!(" ({})", out.display()),
            None => " (the paper key above: write it down, it is shown once)".into(),
        }
    ));
    Ok(())
}

/// The recovery key for `decrypt --recovery-key`.
pub fn open_recovery_key(
    file: &Path,
    passphrase_file: Option<&Path>,
) -> Result<Arc<RecoverySecret>> {
    let text = Zeroizing::new(std::fs::read_to_string(file).map_err(|e| {
        UsageError::new(format!(
            "cannot read the recovery key {}: {}",
            file.display(),
            shardlock::client::one_line(&e)
        ))
    })?);
    let passphrase = if RecoverySecret::is_paper(&text) {
        None
    } else {
        Some(recovery_passphrase(passphrase_file, false)?)
    };
    // A wrong passphrase is a failed operation (exit 1), a malformed key a
    // usage error (exit 2).
    let secret = RecoverySecret::open(&text, passphrase.as_deref().map(String::as_str)).map_err(
        |e| match e {
            shardlock::envelope::recovery::RecoveryError::WrongPassphrase => {
                anyhow::anyhow!("{}: {e}", file.display())
            }
            _ => UsageError::new(format!("{}: {e}", file.display())).into(),
        },
    )?;
    Ok(Arc::new(secret))
}

/// `keyset add-client KEYSET NAME --out FILE`.
pub fn add_client(settings: &Settings, args: &KeysetAddClientArgs) -> Result<()> {
    let config = settings.session.config()?;
    let entry = config
        .entry(&args.keyset)
        .with_context(|| format!("keyset {:?} is not in the config", args.keyset))?;
    if args.out.exists() {
        return Err(UsageError::new(format!(
            "{} exists; choose a new file for the new machine's config",
            args.out.display()
        ))
        .into());
    }
    let urls: Vec<String> = entry.servers().iter().map(|s| s.url.clone()).collect();
    let tokens = admin_tokens(args.admin_token_file.as_deref(), &urls)?;
    let added = settings.session.add_client(
        &AddClient {
            keyset: args.keyset.clone(),
            name: args.name.clone(),
            out: args.out.clone(),
            admin_tokens: tokens,
            min: args.min,
        },
        &Terminal::plain(settings),
    )?;
    for failure in &added.failures {
        super::settings::warn(format_args!("no token from {failure}"));
    }
    settings.note(format_args!(
        "client {} created at {} of {} servers; its config is {} (mode 0600): copy it to the \
         new machine and use it with --config or SHARDLOCK_CONFIG",
        args.name,
        added.created,
        added.servers,
        args.out.display()
    ));
    Ok(())
}

/// `keyset export KEYSET --public --out FILE`.
pub fn export(settings: &Settings, args: &KeysetExportArgs) -> Result<()> {
    if !args.public {
        return Err(UsageError::new(
            "only public exports exist: add --public (tokens never leave this machine; \
             `keyset add-client` makes a config that decrypts)",
        )
        .into());
    }
    settings.session.export_public(&args.keyset, &args.out)?;
    settings.note(format_args!(
        "keyset {} exported to {}: it encrypts offline and cannot decrypt",
        args.keyset,
        args.out.display()
    ));
    Ok(())
}

/// `keyset import FILE`.
pub fn import(settings: &Settings, args: &KeysetImportArgs) -> Result<()> {
    let names = settings.session.import_keysets(&args.file)?;
    settings.note(format_args!(
        "imported keyset{} {} into {}",
        if names.len() == 1 { "" } else { "s" },
        names.join(", "),
        settings.session.config_path()?.display()
    ));
    Ok(())
}

/// `keyset clients [-k KEYSET]`.
pub fn clients(settings: &Settings, args: &KeysetClientsArgs) -> Result<()> {
    let config = settings.session.config()?;
    let name = config.select(args.keyset.as_deref())?.to_string();
    let entry = config
        .entry(&name)
        .with_context(|| format!("keyset {name:?} is not in the config"))?;
    let urls: Vec<String> = entry.servers().iter().map(|s| s.url.clone()).collect();
    let tokens = admin_tokens(args.admin_token_file.as_deref(), &urls)?;
    let table = settings.session.list_clients(&name, tokens)?;
    let n = table.servers.len();
    let needed = n - usize::from(table.threshold) + 1;
    if args.json {
        let clients: Vec<serde_json::Value> = table
            .clients
            .iter()
            .map(|row| {
                serde_json::json!({
                    "name": row.name,
                    "this_machine": table.local.as_deref() == Some(row.name.as_str()),
                    "revoked_at": row.revoked_at(),
                    "cut_off": row.revoked_at() >= needed,
                    "servers_disagree": row.disagreement(&table.answered),
                    "servers": row.at.iter().zip(&table.servers).zip(&table.answered).map(|((c, url), ok)| {
                        serde_json::json!({
                            "url": url,
                            "answered": ok,
                            "known": c.is_some(),
                            "revoked": c.as_ref().map(|c| c.revoked),
                            "keysets": c.as_ref().map(|c| c.keysets.clone()),
                            "created": c.as_ref().and_then(|c| c.created.clone()),
                        })
                    }).collect::<Vec<_>>(),
                })
            })
            .collect();
        outln!(
            "{}",
            serde_json::json!({
                "keyset": name,
                "servers": table.servers,
                "failures": table.failures,
                "clients": clients,
            })
        );
    } else {
        for row in &table.clients {
            let created = row
                .at
                .iter()
                .flatten()
                .filter_map(|c| c.created.as_deref())
                .min()
                .unwrap_or("-");
            let known = row.at.iter().filter(|c| c.is_some()).count();
            let revoked = row.revoked_at();
            let state = if revoked >= needed {
                format!("cut off (revoked at {revoked} of {n})")
            } else if revoked > 0 {
                format!("revoked at {revoked} of {n}, NOT cut off (needs {needed})")
            } else {
                "active".to_string()
            };
            outln!(
                "{}{}  at {known} of {n} servers  {state}  created {created}{}",
                row.name,
                if table.local.as_deref() == Some(row.name.as_str()) {
                    " (this machine)"
                } else {
                    ""
                },
                if row.disagreement(&table.answered) {
                    "  SERVERS DISAGREE"
                } else {
                    ""
                }
            );
        }
    }
    for failure in &table.failures {
        super::settings::warn(format_args!("not asked: {failure}"));
    }
    Ok(())
}
