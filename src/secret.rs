//! Secret-holding types: zeroized on drop, compared in constant time, and
//! printed as `[redacted]` so a stray `{:?}` never leaks key bytes.

use std::fmt;

use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// A fixed-size secret byte array (data keys, KEKs, derived subkeys).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SecretBytes<const N: usize>([u8; N]);

impl<const N: usize> SecretBytes<N> {
    /// Wraps `bytes`. The caller should zeroize its own copy if it has one.
    pub fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// Fresh random bytes from the operating system's CSPRNG.
    pub fn random<R: rand::RngCore + rand::CryptoRng>(rng: &mut R) -> Self {
        let mut bytes = [0u8; N];
        rng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// Copies a slice of exactly `N` bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let array: [u8; N] = bytes.try_into().ok()?;
        Some(Self(array))
    }

    /// The secret bytes. Keep the borrow short-lived.
    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl<const N: usize> PartialEq for SecretBytes<N> {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl<const N: usize> Eq for SecretBytes<N> {}

/// The 256-bit per-file data key (DEK).
pub type DataKey = SecretBytes<32>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_bytes() {
        let key = DataKey::new([0xAB; 32]);
        let printed = format!("{key:?}");
        assert_eq!(printed, "[redacted]");
        assert!(!printed.to_lowercase().contains("ab"));
    }

    #[test]
    fn equality_compares_contents() {
        assert_eq!(DataKey::new([1; 32]), DataKey::new([1; 32]));
        assert_ne!(DataKey::new([1; 32]), DataKey::new([2; 32]));
    }

    #[test]
    fn from_slice_rejects_wrong_lengths() {
        assert!(DataKey::from_slice(&[0; 31]).is_none());
        assert!(DataKey::from_slice(&[0; 33]).is_none());
        assert!(DataKey::from_slice(&[0; 32]).is_some());
    }
}
