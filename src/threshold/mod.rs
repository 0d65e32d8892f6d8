//! Threshold cryptography on ristretto255 (RFC 9496): canonical decoding,
//! Shamir shares and Lagrange coefficients, RFC 9497 VOPRF evaluation with
//! DLEQ proofs, and the threshold hashed-ElGamal KEM (docs/DESIGN.md section 1).
//! Everything here is pure: no I/O, randomness passed in by the caller.

pub mod group;
pub mod kem;
#[cfg(any(test, feature = "testkit"))]
pub mod local;
pub mod shamir;
pub mod voprf;
pub mod vss;

pub use group::{Error, SecretScalar};
