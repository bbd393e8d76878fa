//! Probe credentials: bearer tokens made at registration, of which only a SHA-256 is stored.
//!
//! The token is 32 random bytes (256 bits), so a stored hash cannot be reversed by guessing, and
//! looking a probe up by the hash of the presented token needs no secret comparison in our code.

use fathom_shared::{ProbeId, SiteId};
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

/// Letters of enrollment codes: Crockford's base 32, without the look-alikes I, L, O and U, so a
/// code read aloud or typed from paper comes through.
const CODE_ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A one-time enrollment code: ten characters in two groups (`7KQ2M-XR9TD`, 50 random bits).
pub fn new_enrollment_code() -> String {
    let mut rng = rand::rng();
    let mut code = String::with_capacity(11);
    for i in 0..10 {
        if i == 5 {
            code.push('-');
        }
        let n = (rng.next_u32() % 32) as usize;
        code.push(char::from(CODE_ALPHABET[n]));
    }
    code
}

/// A code as typed, made canonical: case, spaces and dashes do not matter, and the letters
/// people mistake for digits (O, I, L) read as the digits.
pub fn normalize_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

/// The plain SHA-256 of a code as typed, hex: how codes were kept before they were keyed (see
/// [`code_hmac`]); only to find such a code, never to store a new one.
pub fn code_sha256(typed: &str) -> String {
    token_sha256(&normalize_code(typed))
}

/// The HMAC-SHA256 of a code as typed under the deployment's `key`, hex: what the database
/// keeps. A code has only 50 random bits, so an unkeyed hash of it could be reversed by trying
/// every code; without the key, a copy of the codes table gives nothing.
pub fn code_hmac(key: &[u8], typed: &str) -> String {
    use hmac::Mac as _;
    // HMAC takes a key of any length, so this cannot fail.
    let mut mac = hmac::Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    mac.update(normalize_code(typed).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// A new random secret of 32 bytes, hex: the key of [`code_hmac`].
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A line of a probe list that cannot be registered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}: {reason}")]
pub struct ProbeListError {
    /// 1-based line number.
    pub line: usize,
    /// Why.
    pub reason: String,
}

/// Reads a probe list for `probe add-many`: one `ID SITE` a line (spaces or a tab between),
/// blank lines and `#` comments skipped. `known_site` says whether the config declares a site.
/// The first bad line stops the reading, so a typo registers nothing rather than part of a fleet.
pub fn parse_probe_list(
    text: &str,
    known_site: impl Fn(&SiteId) -> bool,
) -> Result<Vec<(ProbeId, SiteId)>, ProbeListError> {
    let mut seen = std::collections::HashSet::new();
    let mut probes = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let err = |reason: String| ProbeListError {
            line: n + 1,
            reason,
        };
        let line = raw.split('#').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let mut words = line.split_whitespace();
        let (Some(id), Some(site), None) = (words.next(), words.next(), words.next()) else {
            return Err(err(format!(
                "expected `PROBE-ID SITE-ID`, found {:?}",
                line.chars().take(80).collect::<String>()
            )));
        };
        let id = ProbeId::parse(id).map_err(|e| err(e.to_string()))?;
        let site = SiteId::parse(site).map_err(|e| err(e.to_string()))?;
        if !known_site(&site) {
            return Err(err(format!("unknown site {site}")));
        }
        if !seen.insert(id.clone()) {
            return Err(err(format!("probe {id} is listed twice")));
        }
        probes.push((id, site));
    }
    Ok(probes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_probe_list_is_read_line_by_line_with_comments() {
        let known = |s: &SiteId| s.as_str() != "nowhere";
        let list =
            "# fleet of 2026\nyy-hosp-01 county-hospital\n\n  yy-hub-01\tbus-station  # new\n";
        let probes = parse_probe_list(list, known).unwrap();
        let ids: Vec<_> = probes
            .iter()
            .map(|(p, s)| (p.as_str(), s.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("yy-hosp-01", "county-hospital"),
                ("yy-hub-01", "bus-station")
            ]
        );
        assert!(parse_probe_list("", known).unwrap().is_empty());
    }

    #[test]
    fn a_bad_probe_list_names_its_first_bad_line() {
        let known = |s: &SiteId| s.as_str() != "nowhere";
        let cases = [
            (
                "a-01 county-hospital\nb-01\n",
                2,
                "expected `PROBE-ID SITE-ID`",
            ),
            ("a-01 county-hospital extra\n", 1, "expected"),
            ("a-01 nowhere\n", 1, "unknown site nowhere"),
            ("a-01 x\n\na-01 y\n", 3, "listed twice"),
            ("../a x\n", 1, ""),
        ];
        for (text, line, reason) in cases {
            let e = parse_probe_list(text, known).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.reason.contains(reason), "{text:?}: {e}");
        }
    }

    #[test]
    fn enrollment_codes_are_short_typable_and_forgiving() {
        let a = new_enrollment_code();
        assert_eq!(a.len(), 11);
        assert_eq!(a.as_bytes()[5], b'-');
        assert!(
            a.chars()
                .all(|c| c == '-' || CODE_ALPHABET.contains(&(c as u8)))
        );
        assert_ne!(a, new_enrollment_code());
        assert_eq!(
            code_sha256(&a),
            code_sha256(&a.to_lowercase().replace('-', " "))
        );
        assert_eq!(normalize_code("7kq2o-xr9tl"), "7KQ20XR9T1");
    }

    #[test]
    fn a_code_is_keyed_by_the_deployments_secret() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?" (the code is
        // normalised first, so the check uses text normalisation leaves alone).
        let mac = |key: &[u8], data: &[u8]| {
            use hmac::Mac as _;
            let mut m = hmac::Hmac::<Sha256>::new_from_slice(key).unwrap();
            m.update(data);
            hex::encode(m.finalize().into_bytes())
        };
        assert_eq!(
            mac(b"Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let code = "7KQ2M-XR9TD";
        assert_eq!(code_hmac(b"k", code), mac(b"k", b"7KQ2MXR9TD"));
        assert_eq!(code_hmac(b"k", code), code_hmac(b"k", "7kq2m xr9td"));
        assert_ne!(code_hmac(b"k", code), code_hmac(b"other", code));
        assert_ne!(code_hmac(b"k", code), code_sha256(code));
        assert_eq!(new_secret().len(), 64);
        assert_ne!(new_secret(), new_secret());
    }

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
