//! Cross-site request forgery. Every form that changes something is a POST carrying a
//! synchronizer token: the session's own (kept with the session) for logout, and for the login
//! form, which has no session yet, the value of a `SameSite=Strict` cookie set with the form
//! (double submit). The token is compared in constant time. The request's `Origin` (or, without
//! one, its `Referer`) must be this collector itself: a browser always sends one of them on a
//! cross-site POST, so a form on another site is refused even before its token is looked at.

use sha2::{Digest as _, Sha256};

/// Whether the token a form carried is the expected one.
pub fn token_matches(expected: &str, offered: Option<&str>) -> bool {
    let Some(offered) = offered else {
        return false;
    };
    if expected.is_empty() {
        return false;
    }
    // Digests are equal-length: the comparison's time says nothing about the token.
    Sha256::digest(expected.as_bytes()) == Sha256::digest(offered.as_bytes())
}

/// Whether a POST's `Origin` (else `Referer`) names `host` (the request's `Host` header). A
/// request with neither is a script's or an old client's, not a browser following another
/// site's form; its token still has to match.
pub fn same_origin(origin: Option<&str>, referer: Option<&str>, host: Option<&str>) -> bool {
    let Some(claimed) = origin.or(referer) else {
        return true;
    };
    let Some(host) = host else {
        return false;
    };
    let Some(rest) = claimed
        .strip_prefix("https://")
        .or_else(|| claimed.strip_prefix("http://"))
    else {
        // `Origin: null` (a sandboxed frame, a file) and anything else.
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_expected_token_passes() {
        assert!(token_matches("abc123", Some("abc123")));
        assert!(!token_matches("abc123", Some("abc124")));
        assert!(!token_matches("abc123", Some("")));
        assert!(!token_matches("abc123", None));
        assert!(!token_matches("", Some("")));
    }

    #[test]
    fn a_post_from_another_site_is_refused() {
        let host = Some("127.0.0.1:8787");
        assert!(same_origin(Some("http://127.0.0.1:8787"), None, host));
        assert!(same_origin(Some("https://127.0.0.1:8787"), None, host));
        assert!(same_origin(
            None,
            Some("http://127.0.0.1:8787/login?next=/"),
            host
        ));
        assert!(same_origin(None, None, host));
        assert!(!same_origin(Some("http://evil.example"), None, host));
        assert!(!same_origin(
            Some("http://127.0.0.1:8787.evil.example"),
            None,
            host
        ));
        assert!(!same_origin(Some("null"), None, host));
        assert!(!same_origin(None, Some("http://evil.example/x"), host));
        assert!(!same_origin(Some("http://127.0.0.1:8787"), None, None));
    }
}
