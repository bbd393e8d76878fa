//! Probe credentials: bearer tokens made at registration, of which only a SHA-256 is stored.
//!
//! The token is 32 random bytes (256 bits), so a stored hash cannot be reversed by guessing, and
//! looking a probe up by the hash of the presented token needs no secret comparison in our code.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// Prefix of every token, so a leaked one is recognisable in a scan.
pub const TOKEN_PREFIX: &str = "fth_";

/// A new random token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// The SHA-256 of a token, hex: what the database keeps.
pub fn token_sha256(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_prefixed() {
        let a = new_token();
        let b = new_token();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
    }

    #[test]
    fn the_stored_hash_is_sha256_and_not_the_token() {
        assert_eq!(
            token_sha256("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let t = new_token();
        assert!(!token_sha256(&t).contains(&t[TOKEN_PREFIX.len()..]));
    }
}
