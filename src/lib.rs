//! shardlock: end-to-end file encryption whose keys no single party holds.
//!
//! Layers, bottom up (see `docs/FORMAT.md` for the byte-exact spec):
//! - [`stream`]: C2SP chunked encryption ("Cobblestone-256") of the body.
//! - [`threshold`]: ristretto255 group, Shamir shares, RFC 9497 VOPRF
//!   evaluation with DLEQ proofs, and the threshold hashed-ElGamal KEM.
//! - [`mod@format`]: the file header codec (pure, no I/O).
#![forbid(unsafe_code)]
#![deny(missing_debug_implementations)]

pub mod cli;
pub mod client;
pub mod durable;
pub mod encoding;
pub mod envelope;
pub mod format;
pub mod protocol;
pub mod secret;
pub mod server;
pub mod stream;
pub mod threshold;
