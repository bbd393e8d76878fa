//! Account passwords, hashed with Argon2id (the `argon2` crate of `RustCrypto`) and kept as PHC
//! strings (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`): the salt (16 random bytes) and the
//! parameters travel with the hash, so raising them later leaves old hashes verifiable.
//!
//! The parameters are OWASP's first recommendation for Argon2id: 19 MiB of memory, 2 passes,
//! one lane. About 30 ms on a server core; a guesser with a copy of the table pays the same
//! memory for every guess.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

/// Memory per hash, KiB.
pub const MEMORY_KIB: u32 = 19 * 1024;
/// Passes over the memory.
pub const PASSES: u32 = 2;
/// Lanes.
pub const LANES: u32 = 1;
/// Shortest password `user add` and `user passwd` take.
pub const MIN_CHARS: usize = 10;

/// Why a password cannot be hashed or checked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PasswordError {
    /// Shorter than [`MIN_CHARS`].
    #[error("the password must have at least {MIN_CHARS} characters")]
    TooShort,
    /// The hash function failed (it does not, with these parameters).
    #[error("cannot hash the password: {0}")]
    Hash(String),
}

fn argon2() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .expect("the constant parameters are within Argon2's bounds");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Hashes `password` with a fresh salt: the PHC string to store.
pub fn hash(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_CHARS {
        return Err(PasswordError::TooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored PHC string (false for a string that is not one).
pub fn verify(password: &str, phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    // The parameters come from the string itself, so an account hashed under older ones
    // still logs in.
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A PHC string no password matches, verified against when the account does not exist so that
/// the time a refusal takes does not say whether the name is taken.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::LazyLock<String> =
        std::sync::LazyLock::new(|| hash("decoy password never used").unwrap_or_default());
    &DECOY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_argon2id_with_the_stated_parameters_and_checks_only_its_password() {
        let phc = hash("correct horse battery").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify("correct horse battery", &phc));
        assert!(!verify("correct horse batterY", &phc));
        assert!(!verify("correct horse battery", "not a phc string"));
        // A fresh salt each time.
        assert_ne!(phc, hash("correct horse battery").unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(hash("short"), Err(PasswordError::TooShort)));
        assert!(!verify("", decoy()));
    }
}
