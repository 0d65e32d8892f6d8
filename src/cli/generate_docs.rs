//! `shardlock generate-docs`: writes shell completions (bash, zsh, fish,
//! PowerShell) and the man page from the clap definitions, so they can
//! never drift from the real flags. The committed copies in `completions/`
//! and `man/` are regenerated with:
//!
//! ```sh
//! cargo run -- generate-docs --out .
//! ```
//!
//! and a test fails when they are stale.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use super::args::{Cli, GenerateDocsArgs};

pub fn run(args: &GenerateDocsArgs) -> Result<()> {
    write_all(&args.out)?;
    outln!(
        "wrote completions/ and man/shardlock.1 under {}",
        args.out.display()
    );
    Ok(())
}

/// Writes every generated file under `out`.
pub fn write_all(out: &Path) -> Result<()> {
    let completions = out.join("completions");
    let man = out.join("man");
    for dir in [&completions, &man] {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::PowerShell] {
        let mut command = Cli::command();
        let mut bytes = Vec::new();
        clap_complete::generate(shell, &mut command, "shardlock", &mut bytes);
        let name = match shell {
            Shell::Bash => "shardlock.bash",
            Shell::Zsh => "_shardlock",
            Shell::Fish => "shardlock.fish",
            _ => "_shardlock.ps1",
        };
        let path = completions.join(name);
        fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("cannot render the man page")?;
    let path = man.join("shardlock.1");
    fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
