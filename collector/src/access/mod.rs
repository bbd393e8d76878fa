//! Accounts and roles for the pages and read APIs (`docs/access.md`).
//!
//! Probes keep their bearer tokens and machines the `[server] read_token`; this module is about
//! people. While no account exists the collector stays open, as before accounts existed, and
//! every page says so in a banner; from the first `fathom-collector user add` on, the pages, the
//! exports and the fleet API need a login.
//!
//! - `scope.rs`: who may see what, a pure function of (account, county, path, carrier).
//! - `password.rs`: Argon2id PHC strings.
//! - `session.rs`: the session cookie and its id; `csrf.rs`: the forms' tokens and the origin
//!   check; `ratelimit.rs`: failed logins per account and per address, with backoff.
//! - `proxy.rs`: address ranges of the reverse proxies trusted to name the user.
//! - `gate.rs`: the middleware in front of every route, the login and logout forms, and the
//!   audit log's writes; `pages.rs`: the login page, the 403 page and the banners.

pub mod csrf;
mod gate;
mod pages;
pub mod password;
pub mod proxy;
pub mod ratelimit;
pub mod scope;
pub mod session;

pub use gate::{AccessState, Viewer, gate, routes};

/// The login form.
pub const LOGIN_PATH: &str = "/login";
/// The logout form's target.
pub const LOGOUT_PATH: &str = "/logout";

/// `[access]` in `collector.toml`, checked.
#[derive(Debug, Clone, Default)]
pub struct AccessSettings {
    /// Session cookies are `Secure` although the collector serves plain HTTP (a TLS proxy is in
    /// front); they are whenever it serves HTTPS itself.
    pub secure_cookies: bool,
    /// The header a trusted reverse proxy names its authenticated user in (off when `None`).
    pub trusted_user_header: Option<axum::http::HeaderName>,
    /// The proxies whose requests may use that header (the TCP peer must be inside one).
    pub trusted_proxies: Vec<proxy::Cidr>,
}

/// An account as stored, read into what the gate decides on; `None` when its role or carrier
/// cannot be read (someone edited the table).
pub fn account_of(row: &crate::store::AccountRow) -> Option<scope::Account> {
    let role: scope::Role = row.role.parse().ok()?;
    let carrier = match &row.carrier {
        Some(c) => Some(c.parse().ok()?),
        None => None,
    };
    Some(scope::Account {
        name: row.name.clone(),
        role,
        counties: row
            .county
            .as_deref()
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        carrier,
    })
}
