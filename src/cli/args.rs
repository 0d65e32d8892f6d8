//! Command-line definitions (clap). Everything the user can type lives
//! here, so completions and the man page are generated from one place.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use shardlock::client::duration::parse_duration;

/// The exit statuses, for `--help` and the man page (README "Exit status").
const EXIT_STATUS_HELP: &str = "EXIT STATUS:
  0    success
  1    the operation failed (for trees: some files failed; each is named)
  2    usage or configuration error (nothing was attempted)
  3    not enough key-share servers answered (retrying later may help)
  4    integrity failure: a tampered, truncated or foreign file
  130  interrupted (SIGINT or SIGTERM); nothing half-written is left
  141  the output pipe was closed (e.g. `shardlock decrypt f | head`), quietly";

/// End-to-end file encryption whose keys no single party holds.
///
/// Files are encrypted offline under a keyset's public key; decrypting asks
/// any t of the keyset's n key-share servers to help, and none of them ever
/// sees a file, a file key, or which file is being opened.
#[derive(Debug, Parser)]
#[command(
    name = "shardlock",
    version,
    about,
    long_about,
    after_long_help = EXIT_STATUS_HELP
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Options accepted by every subcommand.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Client configuration file [default: $SHARDLOCK_CONFIG, then
    /// $XDG_CONFIG_HOME/shardlock/config.toml]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Allow plain http:// key-share servers on loopback addresses (tests
    /// and local experiments only; never crosses a network)
    #[arg(long, global = true)]
    pub allow_http: bool,

    /// Print nothing but errors (and no progress bar)
    #[arg(short, long, global = true)]
    pub quiet: bool,

    /// Worker threads [default: number of cores]
    #[arg(short = 'j', long = "jobs", global = true, value_name = "N")]
    pub jobs: Option<usize>,

    /// Time to connect to a key-share server, e.g. 2s or 500ms [default:
    /// the config's network.connect_timeout, else 2s]
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub connect_timeout: Option<Duration>,

    /// Deadline of one request to a key-share server, e.g. 10s [default:
    /// the config's network.request_timeout, else 10s]. A slow server is
    /// hedged with a spare long before this.
    #[arg(long, global = true, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<Duration>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Encrypt a file or stdin for a keyset (no server needed)
    Encrypt(EncryptArgs),
    /// Decrypt a file or stdin with the help of t key-share servers
    Decrypt(DecryptArgs),
    /// List an encrypted tree: paths, sizes, modes and mtimes (asks t
    /// servers for the private index's key)
    Ls(ListArgs),
    /// Show a file's header without contacting any server
    Inspect(InspectArgs),
    /// Check every server of a keyset: reachable, TLS pin, public share, latency
    Status(StatusArgs),
    /// Create and manage keysets
    #[command(subcommand)]
    Keyset(KeysetCommand),
    /// Run a key-share server
    #[command(subcommand)]
    Server(ServerCommand),
    /// Start a local t-of-n cluster of key-share servers for trying shardlock
    DevCluster(DevClusterArgs),
    /// Run the whole job once on a throwaway local cluster, then clean up
    Demo(DemoArgs),
    /// Write shell completions and the man page (for maintainers)
    #[command(hide = true)]
    GenerateDocs(GenerateDocsArgs),
}

#[derive(Debug, Args)]
pub struct GenerateDocsArgs {
    /// Directory to write completions/ and man/ into
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct EncryptArgs {
    /// File to encrypt; "-" or nothing reads stdin. With -r, a directory
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,

    /// Where to write the encrypted file; "-" or nothing writes stdout.
    /// With -r, the output directory (required)
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Keyset to encrypt for [default: the config's default keyset]
    #[arg(short = 'k', long, value_name = "KEYSET")]
    pub keyset: Option<String>,

    /// Replace outputs that exist
    #[arg(short, long)]
    pub force: bool,

    #[command(flatten)]
    pub tree: TreeArgs,

    /// Skip paths matching this glob, relative to INPUT (repeatable; with -r)
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    pub exclude: Vec<String>,

    /// Output layout of -r: "private" hides names, structure, modes, mtimes
    /// and exact sizes from the storage; "mirror" writes one NAME.slock per
    /// file beside clear names (README "What the storage sees")
    #[arg(long, value_enum, default_value_t = Layout::Private, requires = "recursive")]
    pub layout: Layout,

    /// Private layout: do not pad object sizes (exact sizes then show)
    #[arg(long, requires = "recursive")]
    pub no_pad: bool,

    /// Private layout: remove from the output the files whose source is
    /// gone (without it nothing is ever deleted)
    #[arg(long, requires = "recursive")]
    pub delete: bool,
}

/// How `encrypt -r` lays out its output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Layout {
    /// Opaque objects and an encrypted index (the default).
    Private,
    /// One NAME.slock per file in the source's own structure.
    Mirror,
}

/// Options for whole directory trees.
#[derive(Debug, Clone, Args)]
pub struct TreeArgs {
    /// INPUT is a directory: process the whole tree (encrypt writes a
    /// private tree by default, see --layout; decrypt reads either layout)
    #[arg(short, long)]
    pub recursive: bool,

    /// Only process files whose size, mode or modification time changed
    /// since their output was written (cron mode, offline; implies
    /// replacing changed outputs)
    #[arg(long, requires = "recursive")]
    pub skip_unchanged: bool,

    /// Print one JSON summary on stdout (files, bytes, skipped, failed,
    /// seconds, timestamp, exit_code), also for a single file
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DecryptArgs {
    /// File to decrypt; "-" or nothing reads stdin. With -r, a directory of
    /// .slock files
    #[arg(value_name = "INPUT")]
    pub input: Option<PathBuf>,

    /// Where to write the plaintext; "-" or nothing writes stdout. With -r,
    /// the destination directory (required); nothing is ever written
    /// outside it
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,

    /// Replace outputs that exist
    #[arg(short, long)]
    pub force: bool,

    /// Open with this offline recovery key (a key file or paper key)
    /// instead of the servers; no config or server needed
    #[arg(long, value_name = "FILE")]
    pub recovery_key: Option<PathBuf>,

    /// File holding the recovery key's passphrase
    /// [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]
    #[arg(long, value_name = "PATH", requires = "recovery_key")]
    pub passphrase_file: Option<PathBuf>,

    #[command(flatten)]
    pub tree: TreeArgs,

    /// Restore only paths matching this glob, and the directories they
    /// need (repeatable; with -r)
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    pub include: Vec<String>,

    /// Leave out paths matching this glob (repeatable; with -r)
    #[arg(long, value_name = "GLOB", requires = "recursive")]
    pub exclude: Vec<String>,

    /// Restore setuid, setgid and sticky bits too (dropped by default:
    /// anyone with the public keyset can create a file claiming them)
    #[arg(long)]
    pub preserve_special_bits: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The encrypted tree (a private tree, or a mirror of .slock files)
    #[arg(value_name = "ENC_DIR")]
    pub input: PathBuf,

    /// Only paths matching this glob, or whose file name matches it
    #[arg(value_name = "PATTERN")]
    pub pattern: Option<String>,

    /// Print one JSON document instead of lines
    #[arg(long)]
    pub json: bool,

    /// Open with this offline recovery key instead of the servers
    #[arg(long, value_name = "FILE")]
    pub recovery_key: Option<PathBuf>,

    /// File holding the recovery key's passphrase
    /// [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]
    #[arg(long, value_name = "PATH", requires = "recovery_key")]
    pub passphrase_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Encrypted file to describe; "-" reads stdin
    #[arg(value_name = "FILE")]
    pub input: PathBuf,

    /// Print JSON instead of text
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Keyset to check [default: the config's default keyset]
    #[arg(short = 'k', long, value_name = "KEYSET")]
    pub keyset: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum KeysetCommand {
    /// Create a new t-of-n keyset on running servers by distributed key
    /// generation (nobody ever holds the key) and add it to the config
    Create(KeysetCreateArgs),
    /// Give every server a new share of the same key (old shares become
    /// useless; files are untouched)
    Refresh(KeysetRefreshArgs),
    /// Rebuild a lost server's share on a freshly initialised server
    Repair(KeysetRepairArgs),
    /// Move the same key to a new server set and/or threshold
    Reshare(KeysetReshareArgs),
    /// List the configured keysets
    List,
    /// Revoke a client's token at every server of a keyset (cutting it off
    /// needs n - t + 1 of them)
    RevokeClient(KeysetRevokeArgs),
    /// Create a client for another machine at every server and write that
    /// machine's config
    AddClient(KeysetAddClientArgs),
    /// Write an encrypt-only config for a keyset (no tokens)
    Export(KeysetExportArgs),
    /// Merge the keysets of another config file (e.g. an export) into this one
    Import(KeysetImportArgs),
    /// List every client of a keyset at every server
    Clients(KeysetClientsArgs),
    /// Make an offline break-glass recovery key for a keyset: files
    /// encrypted from now on also open with it, with every server gone
    RecoveryKey(KeysetRecoveryKeyArgs),
}

#[derive(Debug, Args)]
pub struct KeysetRecoveryKeyArgs {
    /// Keyset in this config
    #[arg(value_name = "KEYSET")]
    pub keyset: String,

    /// Where to write the key, protected by a passphrase (mode 0600; never
    /// replaced). Keep it offline
    #[arg(long, value_name = "FILE", required_unless_present = "paper")]
    pub out: Option<PathBuf>,

    /// Print the key once on stdout instead (a paper key, unprotected)
    #[arg(long, conflicts_with_all = ["out", "passphrase_file"])]
    pub paper: bool,

    /// File holding the passphrase that protects the key
    /// [default: $SHARDLOCK_RECOVERY_PASSPHRASE, else a prompt]
    #[arg(long, value_name = "PATH")]
    pub passphrase_file: Option<PathBuf>,

    /// Replace the keyset's current recovery key (files made before keep
    /// needing the old one)
    #[arg(long)]
    pub replace: bool,
}

#[derive(Debug, Args)]
pub struct KeysetAddClientArgs {
    /// Keyset in this config
    #[arg(value_name = "KEYSET")]
    pub keyset: String,

    /// The new client's name at every server ([A-Za-z0-9._-]{1,64})
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Where to write the new machine's config (mode 0600; never replaced)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Admin credentials: lines `URL TOKEN`, or one token for all, or one
    /// per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN,
    /// else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// Accept a client at only this many servers (at least the threshold)
    /// instead of all of them
    #[arg(long, value_name = "K")]
    pub min: Option<usize>,
}

#[derive(Debug, Args)]
pub struct KeysetExportArgs {
    /// Keyset in this config
    #[arg(value_name = "KEYSET")]
    pub keyset: String,

    /// Export the public keyset only (required: tokens never leave this
    /// machine; `add-client` makes a config that decrypts)
    #[arg(long)]
    pub public: bool,

    /// Where to write the export (never replaced)
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct KeysetImportArgs {
    /// A config file holding the keysets to merge in
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct KeysetClientsArgs {
    /// Keyset whose servers to ask [default: the config's default keyset]
    #[arg(short = 'k', long, value_name = "KEYSET")]
    pub keyset: Option<String>,

    /// Admin credentials: lines `URL TOKEN`, or one token for all, or one
    /// per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN,
    /// else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// One JSON object instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct KeysetRevokeArgs {
    /// The client's name on the servers (as given to keyset create with
    /// --client-name; default NAME-client)
    #[arg(value_name = "CLIENT")]
    pub client: String,

    /// Keyset whose servers to ask [default: the config's default keyset]
    #[arg(short = 'k', long, value_name = "KEYSET")]
    pub keyset: Option<String>,

    /// Admin credentials: lines `URL TOKEN`, or one token for all, or one
    /// per server in participant order [default: $SHARDLOCK_ADMIN_TOKEN,
    /// else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// Revoke even this machine's own client (locks this config out)
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct KeysetCreateArgs {
    /// Name of the keyset in the config
    #[arg(value_name = "NAME")]
    pub name: String,

    /// How many servers must cooperate to decrypt
    #[arg(short, long, value_name = "T", required_unless_present_any = ["resume", "abort"])]
    pub threshold: Option<u16>,

    /// A key-share server, optionally with its certificate fingerprint:
    /// https://host:port#sha256:HEX (repeat once per server)
    #[arg(short, long = "server", value_name = "URL", required_unless_present_any = ["resume", "abort"])]
    pub servers: Vec<String>,

    /// Admin credentials: lines `URL TOKEN` (blank lines and # comments
    /// allowed); or one token for all servers, or one per server in
    /// --server order [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// Name of the client token requested from each server
    #[arg(long, value_name = "NAME")]
    pub client_name: Option<String>,

    /// Make this the default keyset
    #[arg(long)]
    pub default: bool,

    /// Deal the key from this machine instead (weaker: the whole key exists
    /// here for a moment; docs/THREAT-MODEL.md)
    #[arg(long, conflicts_with_all = ["resume", "abort"])]
    pub dealer: bool,

    /// Pin servers given without `#sha256:` to whatever certificate they
    /// present (only on a network you trust; a terminal asks instead)
    #[arg(long)]
    pub trust_fingerprint: bool,

    #[command(flatten)]
    pub round: RoundArgs,
}

/// `--resume` / `--abort` of an interrupted round.
#[derive(Debug, Args)]
pub struct RoundArgs {
    /// Finish the interrupted round of this keyset (from its journal)
    #[arg(long, conflicts_with = "abort")]
    pub resume: bool,

    /// Roll back the interrupted round of this keyset (only before any
    /// server switched epochs)
    #[arg(long)]
    pub abort: bool,
}

#[derive(Debug, Args)]
pub struct KeysetRefreshArgs {
    /// Name of the keyset in the config
    #[arg(value_name = "NAME")]
    pub name: String,

    /// Admin credentials: lines `URL TOKEN` (blank lines and # comments
    /// allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN,
    /// else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    #[command(flatten)]
    pub round: RoundArgs,
}

#[derive(Debug, Args)]
pub struct KeysetRepairArgs {
    /// Name of the keyset in the config
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The participant whose share was lost
    #[arg(long, value_name = "ID", required_unless_present_any = ["resume", "abort"])]
    pub participant: Option<u16>,

    /// Its new, freshly initialised server: https://host:port#sha256:HEX
    #[arg(short, long, value_name = "URL", required_unless_present_any = ["resume", "abort"])]
    pub server: Option<String>,

    /// Admin credentials: lines `URL TOKEN` (blank lines and # comments
    /// allowed), or one token for all [default: $SHARDLOCK_ADMIN_TOKEN,
    /// else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// Name of the client token requested from the new server
    #[arg(long, value_name = "NAME")]
    pub client_name: Option<String>,

    /// Pin servers given without `#sha256:` to whatever certificate they
    /// present (only on a network you trust; a terminal asks instead)
    #[arg(long)]
    pub trust_fingerprint: bool,

    #[command(flatten)]
    pub round: RoundArgs,
}

#[derive(Debug, Args)]
pub struct KeysetReshareArgs {
    /// Name of the keyset in the config
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The new threshold [default: the current one]
    #[arg(short, long, value_name = "T")]
    pub threshold: Option<u16>,

    /// The complete new server list (servers may stay), in participant
    /// order: https://host:port#sha256:HEX (repeat once per server)
    #[arg(short, long = "server", value_name = "URL", required_unless_present_any = ["resume", "abort"])]
    pub servers: Vec<String>,

    /// Admin credentials: lines `URL TOKEN` for old and new servers (blank
    /// lines and # comments allowed), or one token for all
    /// [default: $SHARDLOCK_ADMIN_TOKEN, else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    /// Name of the client token requested from new servers
    #[arg(long, value_name = "NAME")]
    pub client_name: Option<String>,

    /// Pin servers given without `#sha256:` to whatever certificate they
    /// present (only on a network you trust; a terminal asks instead)
    #[arg(long)]
    pub trust_fingerprint: bool,

    #[command(flatten)]
    pub round: RoundArgs,
}

#[derive(Debug, Subcommand)]
pub enum ServerCommand {
    /// Create a server state directory: TLS key and certificate, admin credential
    Init(ServerInitArgs),
    /// Serve HTTPS from a state directory until SIGINT/SIGTERM
    Run(ServerRunArgs),
    /// Give a running sealed server its passphrase or key file
    Unseal(ServerUnsealArgs),
    /// Change the passphrase or key file that seals a server's shares
    Seal(ServerSealArgs),
    /// Copy a server's state directory consistently, while it runs
    Backup(ServerBackupArgs),
    /// Check the audit log's hash chain
    #[command(subcommand)]
    Audit(ServerAuditCommand),
}

/// Where the secret that seals a server's shares comes from.
#[derive(Debug, Args)]
pub struct SealSecretArgs {
    /// File holding the passphrase (mode 0600; one trailing newline is
    /// dropped) [default: $SHARDLOCK_SERVER_PASSPHRASE, else a prompt]
    #[arg(long, value_name = "PATH", conflicts_with = "key_file")]
    pub passphrase_file: Option<PathBuf>,

    /// Seal key file instead of a passphrase (init creates it if missing)
    #[arg(long, value_name = "PATH")]
    pub key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServerUnsealArgs {
    /// The server: https://host:port, with #sha256:HEX unless --dir gives
    /// its certificate
    #[arg(long, value_name = "URL")]
    pub server: String,

    /// The server's state directory, to pin its certificate from
    /// DIR/tls/cert.pem (when run on the server's machine)
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// File holding the server's admin token [default:
    /// $SHARDLOCK_ADMIN_TOKEN, else a prompt]
    #[arg(long, value_name = "PATH")]
    pub admin_token_file: Option<PathBuf>,

    #[command(flatten)]
    pub secret: SealSecretArgs,
}

#[derive(Debug, Args)]
pub struct ServerSealArgs {
    /// State directory made by `server init`
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// The current secret (not needed for a server made with
    /// --insecure-no-seal)
    #[command(flatten)]
    pub current: SealSecretArgs,

    /// File holding the new passphrase [default: a prompt]
    #[arg(long, value_name = "PATH", conflicts_with = "new_key_file")]
    pub new_passphrase_file: Option<PathBuf>,

    /// New seal key file (created if missing)
    #[arg(long, value_name = "PATH")]
    pub new_key_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServerBackupArgs {
    /// State directory of the server (it may be running)
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// New directory to write the backup to (a complete state directory,
    /// shares still sealed)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ServerAuditCommand {
    /// Verify that no audit record was removed, altered, inserted or
    /// reordered, and print the chain's head to keep elsewhere
    Verify(ServerAuditVerifyArgs),
}

#[derive(Debug, Args)]
pub struct ServerAuditVerifyArgs {
    /// State directory made by `server init` (its audit.log is checked)
    #[arg(long, value_name = "DIR", conflicts_with = "file")]
    pub dir: Option<PathBuf>,

    /// An audit log file to check instead (e.g. a shipped copy)
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ServerInitArgs {
    /// State directory to create
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// Extra DNS name or IP address for the certificate (repeatable)
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    #[command(flatten)]
    pub secret: SealSecretArgs,

    /// Keep the shares' seal key in clear: for tests and experiments only
    #[arg(long, conflicts_with_all = ["passphrase_file", "key_file"])]
    pub insecure_no_seal: bool,
}

#[derive(Debug, Args)]
pub struct ServerRunArgs {
    /// State directory made by `server init`
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// Address to listen on (port 0 picks a free port)
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8443")]
    pub listen: String,

    /// Unseal at start with this (else a sealed server starts sealed, until
    /// `server unseal`)
    #[command(flatten)]
    pub secret: SealSecretArgs,

    /// Only to start on a database that has no seal yet: seal it with its
    /// key in clear (tests only)
    #[arg(long, conflicts_with_all = ["passphrase_file", "key_file"])]
    pub insecure_no_seal: bool,

    /// Shut down when stdin reaches end of file (used by dev-cluster so
    /// nodes never outlive it)
    #[arg(long, hide = true)]
    pub exit_on_stdin_eof: bool,
}

#[derive(Debug, Args)]
pub struct DevClusterArgs {
    /// Directory for the nodes' state and the generated config.toml
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,

    /// Number of key-share servers
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub nodes: u16,

    /// Servers needed to decrypt
    #[arg(long, default_value_t = 2, value_name = "T")]
    pub threshold: u16,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the demo's temporary directory instead of deleting it
    #[arg(long)]
    pub keep: bool,
}
