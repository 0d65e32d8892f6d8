//! `shardlock server init|run|unseal|seal|backup|audit verify`: the
//! key-share server's thin entry point; everything it does lives in
//! [`shardlock::server`]. This file only finds the operator's secrets
//! (flags, environment, terminal) and prints outcomes.

use std::io::IsTerminal as _;
use std::path::Path;

use anyhow::{Context, Result};

use super::args::{SealSecretArgs, ServerAuditCommand, ServerCommand};
use super::settings::{Settings, UsageError};
use shardlock::encoding::hex;
use shardlock::server;
use shardlock::server::audit_chain;
use shardlock::server::seal::{self, SealChoice, SealKind, UnsealSecret, PASSPHRASE_ENV};

pub fn run(settings: &Settings, command: &ServerCommand) -> Result<()> {
    match command {
        ServerCommand::Init(args) => {
            let choice = if args.insecure_no_seal {
                SealChoice::Insecure
            } else {
                SealChoice::Secret(new_secret(
                    args.secret.passphrase_file.as_deref(),
                    args.secret.key_file.as_deref(),
                    true,
                )?)
            };
            let report = server::init(&args.dir, &args.names, &choice)
                .with_context(|| format!("cannot initialise a server in {}", args.dir.display()))?;
            outln!(
                "initialised key-share server state in {}",
                report.dir.display()
            );
            outln!("certificate fingerprint: {}", report.fingerprint_text());
            outln!("certificate names:       {}", report.names.join(", "));
            outln!(
                "server identity:         {}",
                shardlock::encoding::hex(&report.identity.fingerprint())
            );
            outln!("shares sealed with:      {}", seal_description(&choice));
            outln!();
            outln!("admin token (shown once; store it safely, it is kept only as a hash):");
            outln!("{}", report.admin_token.expose());
            Ok(())
        }
        ServerCommand::Run(args) => {
            let choice = if args.insecure_no_seal {
                Some(SealChoice::Insecure)
            } else {
                existing_secret(&args.secret, false)?.map(SealChoice::Secret)
            };
            server::serve_blocking(
                &args.dir,
                &args.listen,
                args.exit_on_stdin_eof,
                choice.as_ref(),
            )
            .with_context(|| format!("key-share server in {} failed", args.dir.display()))?;
            Ok(())
        }
        ServerCommand::Unseal(args) => {
            let (url, pin) = super::keyset::parse_server_arg(&args.server)?;
            let pin = match (pin, &args.dir) {
                (Some(pin), _) => pin,
                (None, Some(dir)) => server::certificate_fingerprint(dir)?,
                (None, None) => {
                    return Err(UsageError::new(
                        "give the server's fingerprint (--server 'URL#sha256:HEX') or its \
                         state directory (--dir DIR) to pin its certificate",
                    )
                    .into())
                }
            };
            let token = super::keyset::admin_tokens(
                args.admin_token_file.as_deref(),
                std::slice::from_ref(&url),
            )?
            .pop()
            .context("no admin token")?;
            let secret = existing_secret(&args.secret, true)?.ok_or_else(|| {
                UsageError::new(format!(
                    "no unseal secret: use --passphrase-file, --key-file or set {PASSPHRASE_ENV} \
                     (no terminal to prompt on)"
                ))
            })?;
            let answer = settings
                .session
                .unseal_server(&url, Some(pin), token, &secret.to_request())
                .with_context(|| format!("cannot unseal {url}"))?;
            outln!(
                "{url}: {}, serving {} keyset(s)",
                answer.status,
                answer.keysets
            );
            Ok(())
        }
        ServerCommand::Seal(args) => {
            let current = existing_secret(&args.current, false)?.map(SealChoice::Secret);
            let state = server::State::open(&args.dir, current.as_ref())
                .with_context(|| format!("cannot open the server in {}", args.dir.display()))?;
            if state.is_sealed() {
                return Err(UsageError::new(
                    "the shares are sealed: give the current secret with --passphrase-file, \
                     --key-file or SHARDLOCK_SERVER_PASSPHRASE",
                )
                .into());
            }
            let new = SealChoice::Secret(new_secret(
                args.new_passphrase_file.as_deref(),
                args.new_key_file.as_deref(),
                false,
            )?);
            let report = state
                .change_seal(&new)
                .with_context(|| format!("cannot change the seal of {}", args.dir.display()))?;
            outln!(
                "{}: {} key(s) now sealed with {}{}",
                args.dir.display(),
                report.keys,
                seal_description(&new),
                if report.rotated {
                    " under a new seal key; restart any running replica"
                } else {
                    ""
                }
            );
            Ok(())
        }
        ServerCommand::Backup(args) => {
            let report = server::backup(&args.dir, &args.out).with_context(|| {
                format!(
                    "cannot back up {} to {}",
                    args.dir.display(),
                    args.out.display()
                )
            })?;
            outln!(
                "backed up {} key(s) and {} client(s) to {}; shares sealed with {}",
                report.keys,
                report.clients,
                report.dir.display(),
                match report.seal {
                    SealKind::Argon2id => "a passphrase",
                    SealKind::KeyFile => "a key file",
                    SealKind::None => "NOTHING (the seal key is in clear: protect this copy)",
                }
            );
            Ok(())
        }
        ServerCommand::Audit(ServerAuditCommand::Verify(args)) => {
            let path = match (&args.dir, &args.file) {
                (_, Some(file)) => file.clone(),
                (Some(dir), None) => dir.join("audit.log"),
                (None, None) => return Err(UsageError::new("give --dir DIR or --file FILE").into()),
            };
            let report = audit_chain::verify(&path)?;
            outln!(
                "{}: {} records, chain intact{}",
                path.display(),
                report.records,
                if report.unchained > 0 {
                    format!(
                        " (the first {} from before the chain, unchecked)",
                        report.unchained
                    )
                } else {
                    String::new()
                }
            );
            outln!("head: sha256:{}", hex(&report.head));
            Ok(())
        }
    }
}

fn seal_description(choice: &SealChoice) -> &'static str {
    match choice {
        SealChoice::Insecure => "nothing (--insecure-no-seal: for tests only)",
        SealChoice::Secret(UnsealSecret::Passphrase(_)) => "a passphrase (argon2id)",
        SealChoice::Secret(UnsealSecret::KeyFile(_)) => "a key file",
    }
}

/// The secret that opens an existing seal: a flag, the environment, or
/// (with `prompt`, on a terminal) a prompt. `None`: none given.
fn existing_secret(args: &SealSecretArgs, prompt: bool) -> Result<Option<UnsealSecret>> {
    if let Some(path) = &args.passphrase_file {
        return Ok(Some(
            seal::read_passphrase_file(path).map_err(UsageError::new)?,
        ));
    }
    if let Some(path) = &args.key_file {
        return Ok(Some(UnsealSecret::KeyFile(
            seal::read_key_file(path).map_err(UsageError::new)?,
        )));
    }
    if let Some(secret) = passphrase_from_env()? {
        return Ok(Some(secret));
    }
    if prompt && std::io::stdin().is_terminal() {
        let text =
            rpassword::prompt_password("passphrase: ").context("cannot read the passphrase")?;
        return Ok(Some(
            UnsealSecret::passphrase(text).map_err(UsageError::new)?,
        ));
    }
    Ok(None)
}

/// The secret for a new seal: a passphrase file, a key file (created if it
/// does not exist; with `from_env`, also $SHARDLOCK_SERVER_PASSPHRASE), or
/// a passphrase typed twice on a terminal.
fn new_secret(
    passphrase_file: Option<&Path>,
    key_file: Option<&Path>,
    from_env: bool,
) -> Result<UnsealSecret> {
    let secret = find_new_secret(passphrase_file, key_file, from_env)?;
    secret
        .check_strength()
        .map_err(|e| UsageError::new(e.to_string()))?;
    Ok(secret)
}

fn find_new_secret(
    passphrase_file: Option<&Path>,
    key_file: Option<&Path>,
    from_env: bool,
) -> Result<UnsealSecret> {
    if let Some(path) = passphrase_file {
        return Ok(seal::read_passphrase_file(path).map_err(UsageError::new)?);
    }
    if let Some(path) = key_file {
        if path.exists() {
            return Ok(UnsealSecret::KeyFile(
                seal::read_key_file(path).map_err(UsageError::new)?,
            ));
        }
        let key = seal::create_key_file(path)
            .with_context(|| format!("cannot create the key file {}", path.display()))?;
        eprintln!(
            "shardlock: wrote a new seal key file {}; keep a copy apart from this server's backups",
            path.display()
        );
        return Ok(UnsealSecret::KeyFile(key));
    }
    if from_env {
        if let Some(secret) = passphrase_from_env()? {
            return Ok(secret);
        }
    }
    if !std::io::stdin().is_terminal() {
        return Err(UsageError::new(format!(
            "no passphrase to seal the shares: use --passphrase-file or --key-file{} (no terminal \
             to prompt on), or --insecure-no-seal for tests",
            if from_env {
                format!(", or set {PASSPHRASE_ENV}")
            } else {
                String::new()
            }
        ))
        .into());
    }
    let first = rpassword::prompt_password(format!(
        "passphrase to seal the shares (at least {} characters): ",
        seal::MIN_PASSPHRASE_LEN
    ))
    .context("cannot read the passphrase")?;
    let second = rpassword::prompt_password("the same passphrase again: ")
        .context("cannot read the passphrase")?;
    if first != second {
        return Err(UsageError::new("the two passphrases differ; nothing was written").into());
    }
    Ok(UnsealSecret::passphrase(first).map_err(UsageError::new)?)
}

fn passphrase_from_env() -> Result<Option<UnsealSecret>> {
    match std::env::var(PASSPHRASE_ENV) {
        Ok(text) if !text.is_empty() => Ok(Some(
            UnsealSecret::passphrase(text).map_err(UsageError::new)?,
        )),
        Ok(_) | Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            Err(UsageError::new(format!("{PASSPHRASE_ENV} is not UTF-8 text")).into())
        }
    }
}
