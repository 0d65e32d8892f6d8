//! `shardlock generate-docs`: writes shell completions (bash, zsh, fish,
//! PowerShell) and the man pages (`shardlock(1)` and one per subcommand,
//! `shardlock-encrypt(1)`, `shardlock-keyset-create(1)`, ...) from the
//! clap definitions, so they can never drift from the real flags. The
//! committed copies in `completions/` and `man/` are regenerated with:
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
    let pages = write_all(&args.out)?;
    outln!(
        "wrote completions/ and {pages} man pages in man/ under {}",
        args.out.display()
    );
    Ok(())
}

/// Writes every generated file under `out`; returns the number of man
/// pages.
pub fn write_all(out: &Path) -> Result<usize> {
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
    let mut cli = Cli::command().disable_help_subcommand(true);
    cli.build();
    let mut pages = Vec::new();
    collect(&cli, "", &mut pages);
    for (key, command) in &pages {
        let page = render(command, key).context("cannot render a man page")?;
        let name = if key.is_empty() {
            "shardlock.1".to_string()
        } else {
            format!("shardlock-{}.1", key.replace(' ', "-"))
        };
        let path = man.join(name);
        fs::write(&path, page).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(pages.len())
}

/// Every visible command below `command` (itself included), keyed by its
/// path of subcommand names ("" for the top, "keyset create", ...).
fn collect(command: &clap::Command, key: &str, out: &mut Vec<(String, clap::Command)>) {
    out.push((key.to_string(), command.clone()));
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let sub_key = if key.is_empty() {
            sub.get_name().to_string()
        } else {
            format!("{key} {}", sub.get_name())
        };
        collect(sub, &sub_key, out);
    }
}

fn render(command: &clap::Command, key: &str) -> std::io::Result<Vec<u8>> {
    let man = clap_mangen::Man::new(command.clone());
    let mut page = Vec::new();
    if key.is_empty() {
        // The top page: clap's own layout (its after_long_help is the
        // EXIT STATUS section), then the shared sections.
        man.render(&mut page)?;
    } else {
        man.render_title(&mut page)?;
        man.render_name_section(&mut page)?;
        man.render_synopsis_section(&mut page)?;
        man.render_description_section(&mut page)?;
        if command.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut page)?;
        }
        if command.has_subcommands() {
            man.render_subcommands_section(&mut page)?;
        }
        section(&mut page, "EXIT STATUS", EXIT_STATUS);
    }
    let examples = examples(key);
    if !examples.is_empty() {
        page.extend_from_slice(b".SH EXAMPLES\n");
        for (what, command) in examples {
            page.extend_from_slice(
                format!(
                    ".PP\n{}\n.PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n",
                    escape(what),
                    escape(command)
                )
                .as_bytes(),
            );
        }
    }
    section(&mut page, "ENVIRONMENT", ENVIRONMENT);
    section(&mut page, "FILES", FILES);
    let see_also = if key.is_empty() {
        "shardlock-encrypt(1), shardlock-decrypt(1), shardlock-ls(1), shardlock-keyset(1), \
         shardlock-server(1); README.md, docs/OPERATIONS.md, docs/FORMAT.md and \
         docs/THREAT-MODEL.md in the source tree"
    } else {
        "shardlock(1); README.md and docs/OPERATIONS.md in the source tree"
    };
    section(&mut page, "SEE ALSO", &[see_also]);
    Ok(page)
}

/// A section of plain paragraphs; a paragraph starting with `TAG\t` is a
/// tagged paragraph.
fn section(page: &mut Vec<u8>, title: &str, paragraphs: &[&str]) {
    page.extend_from_slice(format!(".SH \"{title}\"\n").as_bytes());
    for paragraph in paragraphs {
        match paragraph.split_once('\t') {
            Some((tag, text)) => page.extend_from_slice(
                format!(".TP\n\\fB{}\\fR\n{}\n", escape(tag), escape(text)).as_bytes(),
            ),
            None => page.extend_from_slice(format!(".PP\n{}\n", escape(paragraph)).as_bytes()),
        }
    }
}

/// roff escaping: backslashes, hyphens (so they copy as ASCII), and a
/// leading control character on any line.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const EXIT_STATUS: &[&str] = &[
    "0\tsuccess",
    "1\tthe operation failed (for trees: some files failed; each is named)",
    "2\tusage or configuration error (nothing was attempted)",
    "3\tnot enough key-share servers answered (retrying later may help)",
    "4\tintegrity failure: a tampered, truncated or foreign file",
    "130\tinterrupted (SIGINT or SIGTERM); nothing half-written is left",
    "141\tthe output pipe was closed (e.g. shardlock decrypt f | head), quietly",
];

const ENVIRONMENT: &[&str] = &[
    "SHARDLOCK_CONFIG\tthe client config file when --config is not given",
    "XDG_CONFIG_HOME\tthe config defaults to $XDG_CONFIG_HOME/shardlock/config.toml, \
     else ~/.config/shardlock/config.toml",
    "SHARDLOCK_ADMIN_TOKEN\tan admin token for keyset and client administration \
     (instead of --admin-token-file or a prompt)",
    "SHARDLOCK_RECOVERY_PASSPHRASE\tthe passphrase of a recovery key file \
     (instead of --passphrase-file or a prompt)",
    "SHARDLOCK_SERVER_PASSPHRASE\ta key-share server's seal passphrase for server init, \
     run, unseal and seal (instead of --passphrase-file, --key-file or a prompt)",
];

const FILES: &[&str] = &[
    "~/.config/shardlock/config.toml\tthe client config: keysets, servers, pinned \
     certificates, client tokens (mode 0600)",
    "CONFIG_DIR/trees/TREE_ID.state\twhat encrypt -r uploaded to a private tree, kept \
     beside the config so reruns stay offline (never uploaded)",
    "CONFIG_DIR/rounds/KEYSET.json\tthe journal of a key lifecycle round in progress \
     (keyset refresh, repair, reshare --resume)",
    "OUT/shardlock-tree, OUT/index.slock, OUT/objects/\ta private tree: its marker, \
     encrypted index and objects",
    "DIR/server.toml, DIR/state.db, DIR/tls/, DIR/audit.log\ta key-share server's \
     state directory (server init --dir DIR)",
];

/// Examples per command key: (what it does, the command).
fn examples(key: &str) -> &'static [(&'static str, &'static str)] {
    match key {
        "" => &[
            ("Try everything on a throwaway local cluster:", "shardlock demo"),
            (
                "Encrypt a folder before upload, then restore it:",
                "shardlock encrypt -r ~/Documents -o /mnt/upload/docs\nshardlock decrypt -r /mnt/upload/docs -o ~/restored",
            ),
        ],
        "encrypt" => &[
            ("One file (no server is contacted):", "shardlock encrypt -o report.pdf.slock report.pdf"),
            ("A stream:", "tar c dir | shardlock encrypt > dir.tar.slock"),
            (
                "A folder as a private tree, then nightly from cron, offline and incremental:",
                "shardlock encrypt -r ~/Documents -o /mnt/upload/docs --exclude '*.tmp'\n\
                 shardlock --config /etc/shardlock/backup.toml encrypt -r /srv/data -o /mnt/backup/data --skip-unchanged --delete --json",
            ),
        ],
        "decrypt" => &[
            ("One file with the help of t servers:", "shardlock decrypt -o report.pdf report.pdf.slock"),
            (
                "Part of a tree:",
                "shardlock decrypt -r /mnt/upload/docs -o ~/restored --include 'taxes/**' --exclude '*.log'",
            ),
            (
                "With every server gone, with the offline recovery key:",
                "shardlock decrypt -r --recovery-key recovery.key /mnt/upload/docs -o ~/restored",
            ),
        ],
        "ls" => &[
            ("Everything in a tree, then only PDFs as JSON:", "shardlock ls /mnt/upload/docs\nshardlock ls /mnt/upload/docs '*.pdf' --json"),
        ],
        "inspect" => &[("What a header says (no key, no server):", "shardlock inspect report.pdf.slock")],
        "status" => &[("Check the default keyset's servers from a script:", "shardlock status -q || echo 'fewer than t servers are healthy'")],
        "keyset create" => &[(
            "A 2-of-3 keyset by distributed key generation:",
            "shardlock keyset create team --threshold 2 --admin-token-file admin-tokens \\\n  --server https://a.example:7700#sha256:... --server https://b.example:7700#sha256:... --server https://c.example:7700#sha256:...",
        )],
        "keyset refresh" => &[("New shares of the same key at every server:", "shardlock keyset refresh team --admin-token-file admin-tokens")],
        "keyset repair" => &[(
            "Rebuild participant 2's share on a fresh server:",
            "shardlock keyset repair team --participant 2 --server https://new.example:7700#sha256:... --admin-token-file admin-tokens",
        )],
        "keyset reshare" => &[(
            "Move the key to 3-of-5:",
            "shardlock keyset reshare team --threshold 3 --server URL#PIN ... --admin-token-file admin-tokens",
        )],
        "keyset add-client" => &[("A config for a second machine:", "shardlock keyset add-client team laptop2 --out laptop2.toml --admin-token-file admin-tokens")],
        "keyset export" => &[("An encrypt-only config for a backup host:", "shardlock keyset export team --public --out backup-host.toml")],
        "keyset revoke-client" => &[("Cut a lost laptop off:", "shardlock keyset revoke-client laptop2 -k team --admin-token-file admin-tokens")],
        "keyset recovery-key" => &[("An offline break-glass key:", "shardlock keyset recovery-key team --out recovery.key")],
        "server init" => &[("A server's state directory, sealed under a passphrase:", "shardlock server init --dir /var/lib/shardlock --name keys.example.org")],
        "server run" => &[("Run it (starts sealed without a passphrase):", "shardlock server run --dir /var/lib/shardlock")],
        "server unseal" => &[("Open a sealed server from afar:", "shardlock server unseal --server https://a.example:7700#sha256:... --admin-token-file admin-token")],
        "server backup" => &[("A consistent copy of a running server:", "shardlock server backup --dir /var/lib/shardlock --out /backup/shardlock-$(date +%F)")],
        "dev-cluster" => &[("A local 2-of-3 cluster in the background:", "shardlock dev-cluster --dir /tmp/slk &\nexport SHARDLOCK_CONFIG=/tmp/slk/config.toml")],
        _ => &[],
    }
}
