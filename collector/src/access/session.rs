//! Sessions: a random 256-bit id in a cookie, known to the database only by its SHA-256, with
//! an expiry. The cookie is `HttpOnly` (no script reads it; the pages have none anyway),
//! `SameSite=Strict` (another site's link or form does not carry it), `Path=/`, and `Secure`
//! when the collector serves HTTPS or `[access] secure_cookies` says a TLS proxy is in front.

use rand::RngCore as _;
use sha2::{Digest as _, Sha256};
use std::time::Duration;

/// The session cookie's name.
pub const COOKIE: &str = "fathom_session";
/// The login form's CSRF cookie (double submit: the form carries the same value).
pub const LOGIN_COOKIE: &str = "fathom_login";
/// How long a session lasts from login: a working day.
pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A fresh random 256-bit value, hex: session ids and CSRF tokens.
pub fn random_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the database keeps of a session id.
pub fn id_hash(id: &str) -> String {
    hex::encode(Sha256::digest(id.as_bytes()))
}

/// A `Set-Cookie` value setting `name` to `value` for `max_age` (zero clears it).
pub fn set_cookie(name: &str, value: &str, max_age: Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Max-Age={}; Path=/; HttpOnly; SameSite=Strict{}",
        max_age.as_secs(),
        if secure { "; Secure" } else { "" }
    )
}

/// The value of cookie `name` in a `Cookie` header.
pub fn cookie<'h>(header: Option<&'h str>, name: &str) -> Option<&'h str> {
    header?
        .split(';')
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_carries_the_flags_and_is_found_among_others() {
        let c = set_cookie(COOKIE, "abc", LIFETIME, false);
        assert_eq!(
            c,
            "fathom_session=abc; Max-Age=43200; Path=/; HttpOnly; SameSite=Strict"
        );
        assert!(set_cookie(COOKIE, "abc", LIFETIME, true).ends_with("; Secure"));
        assert_eq!(
            cookie(Some("a=1; fathom_session=xyz; b=2"), COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie(Some("fathom_sessionx=1"), COOKIE), None);
        assert_eq!(cookie(Some("fathom_session="), COOKIE), None);
        assert_eq!(cookie(None, COOKIE), None);
    }

    #[test]
    fn ids_are_256_bit_and_stored_hashed() {
        let id = random_token();
        assert_eq!(id.len(), 64);
        assert_ne!(id, random_token());
        assert_eq!(id_hash(&id).len(), 64);
        assert_ne!(id_hash(&id), id);
    }
}
