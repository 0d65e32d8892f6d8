//! Bearer tokens: generation, hashing, and constant-time lookup.
//!
//! docs/DESIGN.md section 3: tokens are stored hashed. A token is `slk_` followed
//! by the unpadded base64url of 32 bytes from the operating system's CSPRNG,
//! so it carries 256 bits of entropy and a plain SHA-256 is a sufficient
//! one-way function (no password hashing needed: nothing to brute-force).
//! A presented token is hashed; the hash finds the client through the
//! store's index (a 256-bit random token's SHA-256 leaks nothing about any
//! other token), and the found record is compared again with `subtle`, so
//! timing reveals nothing about how much of a hash agreed.

use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::encoding::b64;
use crate::protocol::Token;
use crate::protocol::TOKEN_PREFIX;

/// Length of the random part of a token, in bytes.
const TOKEN_RANDOM_LEN: usize = 32;
/// Longest `Authorization` value considered at all; real tokens are ~47
/// characters, so anything longer is refused before hashing.
const MAX_TOKEN_LEN: usize = 256;

/// A fresh bearer token: `slk_` + base64url(32 random bytes from OsRng).
pub fn generate_token() -> Token {
    let mut random = Zeroizing::new([0u8; TOKEN_RANDOM_LEN]);
    OsRng.fill_bytes(random.as_mut());
    let encoded = Zeroizing::new(b64(random.as_ref()));
    Token::new(format!("{TOKEN_PREFIX}{}", encoded.as_str()))
}

/// SHA-256 of a token's text: what the server stores instead of the token.
pub fn hash_token(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// Whether `presented` hashes to `stored`, in constant time.
pub fn token_matches(presented: &str, stored: &[u8; 32]) -> bool {
    hash_token(presented).ct_eq(stored).into()
}

/// Extracts the token from an `Authorization: Bearer <token>` header value
/// (RFC 6750 section 2.1; the scheme name is case-insensitive). Returns
/// `None` for anything else, including absurdly long values.
pub fn bearer_token(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    if value.len() > MAX_TOKEN_LEN {
        return None;
    }
    let (scheme, token) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let token = token.trim();
    (!token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_prefix_and_are_unique() {
        let a = generate_token();
        let b = generate_token();
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        // 32 bytes -> 43 base64url characters, no padding.
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + 43);
        assert!(!a.expose().contains('='));
        assert_ne!(a.expose(), b.expose());
    }

    #[test]
    fn token_hash_is_sha256_of_the_text() {
        // SHA-256("abc"), FIPS 180-2 appendix B.1.
        assert_eq!(
            crate::encoding::hex(&hash_token("abc")),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_token_matches_its_own_hash_only() {
        let tokens: Vec<Token> = (0..5).map(|_| generate_token()).collect();
        let hashes: Vec<[u8; 32]> = tokens.iter().map(|t| hash_token(t.expose())).collect();
        for (i, token) in tokens.iter().enumerate() {
            for (j, hash) in hashes.iter().enumerate() {
                assert_eq!(token_matches(token.expose(), hash), i == j);
            }
        }
        assert!(!token_matches("slk_nope", &hashes[0]));
        // A token differing in one character does not match.
        let mut altered = tokens[2].expose().to_string();
        altered.pop();
        altered.push('!');
        assert!(!token_matches(&altered, &hashes[2]));
    }

    #[test]
    fn bearer_header_parsing() {
        assert_eq!(bearer_token(Some("Bearer slk_abc")), Some("slk_abc"));
        assert_eq!(bearer_token(Some("bearer   slk_abc ")), Some("slk_abc"));
        assert_eq!(bearer_token(Some("Basic slk_abc")), None);
        assert_eq!(bearer_token(Some("Bearer")), None);
        assert_eq!(bearer_token(Some("Bearer ")), None);
        assert_eq!(bearer_token(None), None);
        let long = format!("Bearer {}", "a".repeat(MAX_TOKEN_LEN));
        assert_eq!(bearer_token(Some(&long)), None);
    }
}
