//! I32, IPv6 website support rate (IPv6 网站支持率).
//!
//! Rule: a website supports IPv6 when, in its latest valid check of the window (valid: the probe
//! itself had a working IPv6 path), its host has an AAAA record, its home page loads over IPv6,
//! and at least `min_link_share` of the same-site links checked load over IPv6. The collector
//! recomputes this from the check's raw fields. A website with no valid check is *unknown*, shown
//! as such, and counts as not supporting. The denominator is every configured website.

use crate::config::Website;
use crate::store::LatestIpv6;
use chrono::DateTime;
use fathom_shared::result::Ipv6Check;
use serde::Serialize;

/// The rule, as the report prints it.
pub const RULE: &str = "websites whose latest valid check has an AAAA record, a home page that loads over IPv6 and >= 90 % of up to 20 same-site links loading over IPv6, over all ten websites (unknown = not supporting)";

/// A website's standing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ipv6Status {
    /// Supports IPv6.
    Supports,
    /// Does not.
    No,
    /// No valid check in the window.
    Unknown,
}

/// One website.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I32Row {
    /// URL.
    pub url: String,
    /// Name.
    pub name: String,
    /// Which of the ten.
    pub kind: crate::config::WebsiteKind,
    /// Standing.
    pub status: Ipv6Status,
    /// Why not, or why unknown.
    pub reason: Option<String>,
    /// When the check was made (UTC, RFC 3339).
    pub checked_at: Option<String>,
}

/// I32 for one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I32 {
    /// Supporting websites / all configured websites; null when none is configured or none
    /// has a valid check in the window.
    pub value: Option<f64>,
    /// Target fraction.
    pub target: f64,
    /// Whether the value reaches the target.
    pub met: bool,
    /// Websites supporting IPv6.
    pub supporting: u64,
    /// Websites without a valid check.
    pub unknown: u64,
    /// The rows behind the value.
    pub sites: Vec<I32Row>,
    /// The rule applied.
    pub rule: &'static str,
}

/// Whether one valid check shows IPv6 support, and if not why.
pub fn judge(check: &Ipv6Check, min_link_share: f64) -> Result<(), String> {
    if check.aaaa.is_empty() {
        return Err("no AAAA record".to_owned());
    }
    if check.home_ok_v6 != Some(true) {
        return Err(check
            .reason
            .clone()
            .unwrap_or_else(|| "home page does not load over IPv6".to_owned()));
    }
    if check.links_checked > 0
        && f64::from(check.links_ok_v6) < min_link_share * f64::from(check.links_checked) - 1e-9
    {
        return Err(format!(
            "{} of {} links load over IPv6",
            check.links_ok_v6, check.links_checked
        ));
    }
    Ok(())
}

/// Computes I32 from the configured websites and their latest valid checks in the window.
pub fn compute(
    websites: &[Website],
    latest: &[LatestIpv6],
    target: f64,
    min_link_share: f64,
) -> I32 {
    let sites: Vec<I32Row> = websites
        .iter()
        .map(|w| {
            let found = latest.iter().find(|l| l.url == w.url);
            let (status, reason) = match found {
                None => (
                    Ipv6Status::Unknown,
                    Some("no valid check this week".to_owned()),
                ),
                Some(l) => match judge(&l.check, min_link_share) {
                    Ok(()) => (Ipv6Status::Supports, None),
                    Err(why) => (Ipv6Status::No, Some(why)),
                },
            };
            I32Row {
                url: w.url.clone(),
                name: w.name.clone(),
                kind: w.kind,
                status,
                reason,
                checked_at: found
                    .and_then(|l| DateTime::from_timestamp_millis(l.measured_at_ms))
                    .map(|t| fathom_shared::UtcTime::from(t).to_string()),
            }
        })
        .collect();
    let total = sites.len() as u64;
    let supporting = sites
        .iter()
        .filter(|s| s.status == Ipv6Status::Supports)
        .count() as u64;
    let unknown = sites
        .iter()
        .filter(|s| s.status == Ipv6Status::Unknown)
        .count() as u64;
    // A week without a single valid check has no value, rather than a measured 0 %.
    let value = (total > 0 && unknown < total).then(|| supporting as f64 / total as f64);
    I32 {
        value,
        target,
        met: value.is_some_and(|v| v >= target),
        supporting,
        unknown: sites
            .iter()
            .filter(|s| s.status == Ipv6Status::Unknown)
            .count() as u64,
        sites,
        rule: RULE,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebsiteKind;

    fn site(url: &str) -> Website {
        Website {
            url: url.into(),
            kind: WebsiteKind::Commercial,
            name: url.into(),
        }
    }

    fn check(aaaa: bool, home: bool, links: (u32, u32)) -> Ipv6Check {
        Ipv6Check {
            url: "https://a/".into(),
            host: "a".into(),
            aaaa: if aaaa {
                vec!["fd00::1".parse().unwrap()]
            } else {
                vec![]
            },
            home_ok_v6: Some(home),
            links_checked: links.0,
            links_ok_v6: links.1,
            supports_ipv6: Some(aaaa && home),
            probe_ipv6: true,
            reason: None,
        }
    }

    fn latest(url: &str, c: Ipv6Check) -> LatestIpv6 {
        LatestIpv6 {
            url: url.into(),
            measured_at_ms: 1_764_000_000_000,
            check: c,
        }
    }

    #[test]
    fn support_needs_aaaa_home_page_and_90_percent_of_links() {
        assert!(judge(&check(true, true, (20, 18)), 0.9).is_ok());
        assert_eq!(
            judge(&check(true, true, (20, 17)), 0.9).unwrap_err(),
            "17 of 20 links load over IPv6"
        );
        assert_eq!(
            judge(&check(false, false, (0, 0)), 0.9).unwrap_err(),
            "no AAAA record"
        );
        assert!(judge(&check(true, false, (0, 0)), 0.9).is_err());
        assert!(
            judge(&check(true, true, (0, 0)), 0.9).is_ok(),
            "a home page without links"
        );
    }

    #[test]
    fn unknown_websites_count_as_not_supporting_and_are_shown() {
        let sites = [site("https://a/"), site("https://b/"), site("https://c/")];
        let i = compute(
            &sites,
            &[latest("https://a/", check(true, true, (20, 20)))],
            0.3,
            0.9,
        );
        assert_eq!(i.value, Some(1.0 / 3.0));
        assert!(i.met);
        assert_eq!(i.unknown, 2);
        assert_eq!(i.sites[1].status, Ipv6Status::Unknown);
        let i = compute(&sites, &[], 0.3, 0.9);
        assert_eq!((i.value, i.met, i.unknown), (None, false, 3));
    }

    #[test]
    fn the_collector_recomputes_rather_than_trusting_the_probe() {
        let mut c = check(true, true, (20, 10));
        c.supports_ipv6 = Some(true);
        let i = compute(&[site("https://a/")], &[latest("https://a/", c)], 0.3, 0.9);
        assert_eq!(i.sites[0].status, Ipv6Status::No);
    }
}
