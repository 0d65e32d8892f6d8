//! shardlock: end-to-end file encryption whose keys no single party holds.
//!
//! Every file gets a random data key, streamed through chunked AES-256-GCM;
//! that key is wrapped under a threshold key whose shares live on `t`-of-`n`
//! key-share servers. `docs/DESIGN.md` describes the construction and the
//! components, `docs/FORMAT.md` the bytes.
//!
//! The public API, top down (data flows one way, each layer calling only
//! the ones below it):
//! - [`client`]: the use cases — encrypt and decrypt a file, a stream or a
//!   tree, inspect, status, keyset administration — behind
//!   [`client::Session`]; the `shardlock` binary is a thin front end over it.
//! - [`server`]: the key-share server, a library with explicit start and
//!   shutdown, beside the client and never importing it.
//! - [`envelope`]: one whole file: header plus body, the data key wrapped
//!   under a keyset ([`envelope::keywrap`]) and the metadata sealed beside it.
//! - [`mod@lifecycle`]: the key lifecycle protocol (distributed key
//!   generation, refresh, repair, reshare) both sides run: plans, deals,
//!   transcripts and confirmations (pure).
//! - [`threshold`]: ristretto255, Shamir shares, RFC 9497 VOPRF evaluation
//!   with DLEQ proofs, and the threshold KEM (pure, no I/O).
//! - [`mod@format`]: the header codec (pure bytes ↔ structs, no crypto).
//! - [`stream`]: C2SP chunked encryption of the body, on every core.
//! - Shared by client and server: [`protocol`] (wire messages, tokens),
//!   [`encoding`] (hex, base64url, fingerprints), [`secret`] (zeroizing
//!   secret types), [`error_chain`] (an error and its causes on one line).
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

// shardlock relies on Unix file semantics throughout: positional reads,
// permission bits, renameat2, directory fsync, SIGTERM.
#[cfg(not(unix))]
compile_error!("shardlock supports Unix-like systems only");

pub mod client;
pub(crate) mod durable;
pub mod encoding;
pub mod envelope;
pub mod error_chain;
pub mod format;
#[cfg(any(test, feature = "testkit"))]
pub mod fuzzing;
pub(crate) mod hpke;
pub mod identity;
pub mod lifecycle;
pub(crate) mod passphrase;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod stream;
pub mod threshold;
