//! `shardlock decrypt`: one file, stdin, or with `-r` a whole tree, with
//! the help of t key-share servers.

use anyhow::Result;

use super::args::DecryptArgs;
use super::progress::{finish_tree, interrupt_flag, Terminal};
use super::settings::Settings;
use shardlock::client::tree::DecryptTree;
use shardlock::client::DecryptFile;

pub fn run(settings: &Settings, args: &DecryptArgs) -> Result<()> {
    let recovery = match &args.recovery_key {
        Some(file) => Some(super::machines::open_recovery_key(
            file,
            args.passphrase_file.as_deref(),
        )?),
        None => None,
    };
    if args.tree.recursive {
        let request = DecryptTree {
            source: args.input.clone(),
            output: args.output.clone(),
            force: args.force,
            skip_unchanged: args.tree.skip_unchanged,
            recovery,
            include: args.include.clone(),
            exclude: args.exclude.clone(),
            preserve_special_bits: args.preserve_special_bits,
        };
        let terminal = Terminal::for_tree(settings, "decrypt", args.tree.json);
        let stop = interrupt_flag();
        let outcome = settings.session.decrypt_tree(&request, &terminal, &stop)?;
        return finish_tree(settings, &terminal, outcome, args.tree.json);
    }
    let to_stdout = args.output.as_deref().is_none_or(|o| o.as_os_str() == "-");
    if args.tree.json && to_stdout {
        return Err(super::settings::UsageError::new(
            "--json needs -o FILE: stdout carries the data",
        )
        .into());
    }
    // Ctrl-C removes the partial output before exiting.
    super::progress::exit_on_signal();
    let started = std::time::Instant::now();
    let terminal = Terminal::for_file(settings, "decrypt", args.tree.json);
    let result = settings
        .session
        .decrypt_file(
            &DecryptFile {
                input: args.input.clone(),
                output: args.output.clone(),
                force: args.force,
                recovery,
                preserve_special_bits: args.preserve_special_bits,
            },
            &terminal,
        )
        .map_err(anyhow::Error::from);
    terminal.clear();
    if args.tree.json {
        super::progress::single_file_json("decrypt", started, &result);
    }
    let outcome = result?;
    if args.recovery_key.is_some() {
        settings.note(format_args!(
            "decrypted {} bytes with the recovery key",
            outcome.bytes
        ));
    } else {
        settings.note(format_args!(
            "decrypted {} bytes with keyset {}",
            outcome.bytes, outcome.keyset
        ));
    }
    Ok(())
}
