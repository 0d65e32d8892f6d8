//! `shardlock encrypt`: one file, stdin, or with `-r` a whole tree, offline,
//! for a keyset.

use anyhow::Result;

use super::args::EncryptArgs;
use super::progress::{finish_tree, interrupt_flag, Terminal};
use super::settings::Settings;
use shardlock::client::tree::EncryptTree;
use shardlock::client::EncryptFile;

pub fn run(settings: &Settings, args: &EncryptArgs) -> Result<()> {
    if args.tree.recursive {
        let request = EncryptTree {
            keyset: args.keyset.clone(),
            source: args.input.clone(),
            output: args.output.clone(),
            force: args.force,
            skip_unchanged: args.tree.skip_unchanged,
            exclude: args.exclude.clone(),
            mirror: args.layout == super::args::Layout::Mirror,
            no_pad: args.no_pad,
            delete: args.delete,
        };
        let terminal = Terminal::for_tree(settings, "encrypt", args.tree.json);
        let stop = interrupt_flag();
        let outcome = settings.session.encrypt_tree(&request, &terminal, &stop)?;
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
    let terminal = Terminal::for_file(settings, "encrypt", args.tree.json);
    let result = settings
        .session
        .encrypt_file(
            &EncryptFile {
                keyset: args.keyset.clone(),
                input: args.input.clone(),
                output: args.output.clone(),
                force: args.force,
            },
            &terminal,
        )
        .map_err(anyhow::Error::from);
    terminal.clear();
    if args.tree.json {
        super::progress::single_file_json("encrypt", started, &result);
    }
    let outcome = result?;
    settings.note(format_args!(
        "encrypted {} bytes for keyset {}",
        outcome.bytes, outcome.keyset
    ));
    Ok(())
}
