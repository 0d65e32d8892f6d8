//! The client configuration: which keysets exist, and how to reach and
//! authenticate to each of their key-share servers.
//!
//! # Location
//!
//! [`resolve_path`] picks the first of:
//! 1. an explicit path (`--config PATH`);
//! 2. the `SHARDLOCK_CONFIG` environment variable;
//! 3. `$XDG_CONFIG_HOME/shardlock/config.toml` (only if absolute, per the
//!    XDG base directory spec);
//! 4. `$HOME/.config/shardlock/config.toml`.
//!
//! Empty environment variables count as unset.
//!
//! # Schema
//!
//! ```toml
//! # Optional. When only one keyset exists it is the default.
//! default_keyset = "main"
//!
//! [keysets.main]
//! # Keyset id (64 hex digits). Must equal the id recomputed from threshold,
//! # group_key and the servers' public shares, so an edited entry is caught.
//! id = "3f2c...64 hex digits...9a1b"
//! threshold = 2
//! # The group key K, unpadded base64url of a canonical ristretto255 element.
//! group_key = "jPzG...43 characters...Ww"
//!
//! [[keysets.main.servers]]
//! url = "https://127.0.0.1:8443"
//! participant = 1                     # 1..=65535, unique within the keyset
//! public_share = "8m0e...43 characters...Kg"   # K_i, base64url
//! # Optional: pin exactly this certificate (SHA-256 of its DER). Without
//! # it the web PKI roots bundled into shardlock (webpki-roots) and hostname
//! # verification apply.
//! fingerprint = "sha256:5d41...64 hex digits...c0de"
//! # At most one of token / token_file / token_env. With none, the server
//! # can only be asked for its status, not to evaluate.
//! token = "slk_..."
//!
//! [[keysets.main.servers]]
//! url = "https://127.0.0.1:8444"
//! participant = 2
//! public_share = "..."
//! # Relative paths are relative to this config file's directory. The file
//! # must not be readable by group or others (chmod 600); one trailing
//! # newline/whitespace is trimmed.
//! token_file = "tokens/node2"
//!
//! [[keysets.main.servers]]
//! url = "https://keys.example.net"
//! participant = 3
//! public_share = "..."
//! token_env = "SHARDLOCK_TOKEN_NODE3"   # read from this environment variable
//!
//! # Optional: how long to wait for servers (the --connect-timeout and
//! # --timeout flags win over these). Units: ms, s, m.
//! [network]
//! connect_timeout = "2s"    # TCP connection (default 2s)
//! request_timeout = "10s"   # one whole request (default 10s)
//! ```
//!
//! Keyset names are 1 to 64 characters from `[A-Za-z0-9_-]`. Unknown fields
//! are errors, so typos are caught. Server URLs use `https://` (or `http://`
//! for local tests) and must be distinct within a keyset.
//!
//! # Errors
//!
//! Every problem in a file is reported as `FILE:LINE:COLUMN: FIELD: what is
//! wrong`, pointing at the offending value (a keyset at its name), e.g.
//! `config.toml:7:15: keysets.main.servers[1].fingerprint: expected "sha256:" followed by 64 hex digits`.
//! Semantic checks (element encodings, duplicate participants or URLs,
//! threshold, keyset id, token sources, `default_keyset`) run at load time;
//! tokens are read from files and the environment only when a keyset is
//! resolved ([`Config::keyset`]).
//!
//! # Writing
//!
//! [`Config::save`] writes atomically (temporary file in the same directory,
//! fsync, rename) with mode 0600 since the file may hold inline tokens,
//! creating the parent directory with mode 0700. Comments in a hand-edited
//! file are not preserved.

mod absorb;
mod checks;
mod deserialize;
mod edit;
mod error;
mod load;
mod location;
mod model;
mod resolve;
mod save;
mod schema;
mod tokens;

pub use error::{ConfigError, Position};
pub use location::{resolve_path, resolve_path_with, Env, ProcessEnv, CONFIG_ENV};
pub use model::{Config, KeysetEntry, Network, ResolvedKeyset, ServerEntry, TokenSource};

#[cfg(test)]
mod tests;
