//! The I32 rule for one website (`docs/ipv6.md`): pure, no I/O.
//!
//! A site *supports IPv6* when its host has an AAAA record, its home page loads over IPv6
//! (redirect hops included) with a final 2xx, and at least 90 % of the same-site links checked
//! load over IPv6 (no links checked counts as enough). The verdict is only valid when the probe's
//! own IPv6 path was proven (the canary loaded): otherwise it is unknown (`None`), never "no",
//! so that a carrier without IPv6 is not blamed on the website. A failure on the probe's side
//! (network unreachable, DNS lookup failing) also makes the verdict unknown.

use std::net::Ipv6Addr;

/// Whether the probe's own IPv6 path worked when the sites were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbePath {
    /// The canary loaded over IPv6.
    Works,
    /// It did not; why.
    Broken(String),
}

/// The AAAA lookup of a site's host (CNAMEs followed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Aaaa {
    /// Usable IPv6 addresses.
    Found(Vec<Ipv6Addr>),
    /// The name has no (usable) AAAA record.
    NoRecord,
    /// The lookup itself failed (server unreachable, SERVFAIL, …): nothing is known.
    LookupFailed(String),
}

/// Why a page did not load over IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// One line, e.g. `connection refused on [fd00::1]:443`.
    pub reason: String,
    /// True when the fault is the probe's (network unreachable, DNS lookup failing): the site is
    /// not to blame.
    pub probe_side: bool,
}

impl Failure {
    /// A failure to blame on the site.
    pub fn site(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            probe_side: false,
        }
    }

    /// A failure on the probe's side.
    pub fn probe(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
            probe_side: true,
        }
    }
}

/// One same-site link tried over IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkOutcome {
    /// The link's URL.
    pub url: String,
    /// `None` when it loaded, else why not.
    pub failure: Option<Failure>,
}

/// What was observed about one site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SiteFacts {
    /// The host judged (the URL's host: `www.` and the bare domain are different hosts).
    pub host: String,
    /// Its AAAA lookup.
    pub aaaa: Aaaa,
    /// The home page over IPv6; `None` when not tried.
    pub home: Option<Result<(), Failure>>,
    /// The links tried.
    pub links: Vec<LinkOutcome>,
    /// Whether the host has an A record, when asked (only without AAAA: it tells an IPv4-only
    /// site from a name that does not resolve at all).
    pub has_a: Option<bool>,
}

/// A site's verdict and its one-line reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Supports IPv6, does not, or unknown (`None`).
    pub supports_ipv6: Option<bool>,
    /// Why not or why unknown; `None` when it supports IPv6.
    pub reason: Option<String>,
}

impl Verdict {
    fn unknown(reason: String) -> Self {
        Self {
            supports_ipv6: None,
            reason: Some(reason),
        }
    }

    fn no(reason: String) -> Self {
        Self {
            supports_ipv6: Some(false),
            reason: Some(reason),
        }
    }
}

/// Whether `ok` of `checked` links is enough: at least 90 %, and 0 of 0 is enough.
pub fn links_enough(ok: u32, checked: u32) -> bool {
    u64::from(ok) * 10 >= u64::from(checked) * 9
}

/// The verdict for one site.
pub fn verdict(probe: &ProbePath, site: &SiteFacts) -> Verdict {
    if let ProbePath::Broken(why) = probe {
        return Verdict::unknown(format!("probe has no IPv6 path: {why}"));
    }
    let host = &site.host;
    match &site.aaaa {
        Aaaa::LookupFailed(why) => {
            return Verdict::unknown(format!("DNS lookup of {host} failed: {why}"));
        }
        Aaaa::NoRecord if site.has_a == Some(false) => {
            return Verdict::no(format!(
                "no AAAA record for {host} (and no A record: the name does not resolve)"
            ));
        }
        Aaaa::NoRecord => return Verdict::no(format!("no AAAA record for {host}")),
        Aaaa::Found(_) => {}
    }
    match &site.home {
        None => return Verdict::unknown("home page not tried".to_owned()),
        Some(Err(f)) if f.probe_side => {
            return Verdict::unknown(format!("probe could not load the home page: {}", f.reason));
        }
        Some(Err(f)) => return Verdict::no(f.reason.clone()),
        Some(Ok(())) => {}
    }
    let checked = site.links.len() as u32;
    let failed: Vec<(&str, &Failure)> = site
        .links
        .iter()
        .filter_map(|l| l.failure.as_ref().map(|f| (l.url.as_str(), f)))
        .collect();
    let ok = checked - failed.len() as u32;
    if links_enough(ok, checked) {
        return Verdict {
            supports_ipv6: Some(true),
            reason: None,
        };
    }
    let (url, first) = failed[0];
    let text = format!(
        "{} of {checked} links fail over IPv6 (first: {url}: {})",
        failed.len(),
        first.reason
    );
    // Links that failed only on the probe's side say nothing about the site.
    if failed.iter().all(|(_, f)| f.probe_side) {
        Verdict::unknown(text)
    } else {
        Verdict::no(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> Aaaa {
        Aaaa::Found(vec!["fd00:99::1".parse().expect("address")])
    }

    fn links(ok: usize, failed: usize) -> Vec<LinkOutcome> {
        let mut v: Vec<LinkOutcome> = (0..failed)
            .map(|i| LinkOutcome {
                url: format!("http://a.test/f{i}"),
                failure: Some(Failure::site("HTTP 404")),
            })
            .collect();
        v.extend((0..ok).map(|i| LinkOutcome {
            url: format!("http://a.test/{i}"),
            failure: None,
        }));
        v
    }

    fn site(aaaa: Aaaa, home: Option<Result<(), Failure>>, links: Vec<LinkOutcome>) -> SiteFacts {
        SiteFacts {
            host: "a.test".to_owned(),
            aaaa,
            home,
            links,
            has_a: None,
        }
    }

    #[test]
    fn ninety_percent_of_links_is_enough_and_no_links_is_enough() {
        assert!(links_enough(0, 0));
        assert!(links_enough(18, 20));
        assert!(!links_enough(17, 20));
        assert!(links_enough(9, 10));
        assert!(!links_enough(8, 10));
        assert!(!links_enough(0, 1));
    }

    #[test]
    fn a_site_with_aaaa_home_and_links_supports_ipv6() {
        let v = verdict(&ProbePath::Works, &site(addr(), Some(Ok(())), links(19, 1)));
        assert_eq!(v.supports_ipv6, Some(true));
        assert_eq!(v.reason, None);
    }

    #[test]
    fn too_many_failing_links_is_a_no_naming_the_first() {
        let v = verdict(&ProbePath::Works, &site(addr(), Some(Ok(())), links(17, 3)));
        assert_eq!(v.supports_ipv6, Some(false));
        assert_eq!(
            v.reason.as_deref(),
            Some("3 of 20 links fail over IPv6 (first: http://a.test/f0: HTTP 404)")
        );
    }

    #[test]
    fn no_aaaa_is_a_no() {
        let v = verdict(&ProbePath::Works, &site(Aaaa::NoRecord, None, vec![]));
        assert_eq!(v.supports_ipv6, Some(false));
        assert_eq!(v.reason.as_deref(), Some("no AAAA record for a.test"));
        let mut nowhere = site(Aaaa::NoRecord, None, vec![]);
        nowhere.has_a = Some(false);
        let v = verdict(&ProbePath::Works, &nowhere);
        assert_eq!(v.supports_ipv6, Some(false));
        assert_eq!(
            v.reason.as_deref(),
            Some("no AAAA record for a.test (and no A record: the name does not resolve)")
        );
    }

    #[test]
    fn a_home_page_failure_is_a_no_with_its_reason() {
        let home = Some(Err(Failure::site("connection refused on [fd00:99::1]:80")));
        let v = verdict(&ProbePath::Works, &site(addr(), home, vec![]));
        assert_eq!(v.supports_ipv6, Some(false));
        assert_eq!(
            v.reason.as_deref(),
            Some("connection refused on [fd00:99::1]:80")
        );
    }

    #[test]
    fn without_a_probe_path_every_verdict_is_unknown_never_no() {
        let probe = ProbePath::Broken("network unreachable".to_owned());
        for s in [
            site(Aaaa::NoRecord, None, vec![]),
            site(
                addr(),
                Some(Err(Failure::site("HTTP 503 on home page"))),
                vec![],
            ),
            site(addr(), Some(Ok(())), links(20, 0)),
        ] {
            let v = verdict(&probe, &s);
            assert_eq!(v.supports_ipv6, None);
            assert_eq!(
                v.reason.as_deref(),
                Some("probe has no IPv6 path: network unreachable")
            );
        }
    }

    #[test]
    fn failures_on_the_probe_side_make_the_verdict_unknown() {
        let v = verdict(
            &ProbePath::Works,
            &site(Aaaa::LookupFailed("request timed out".into()), None, vec![]),
        );
        assert_eq!(v.supports_ipv6, None);
        assert_eq!(
            v.reason.as_deref(),
            Some("DNS lookup of a.test failed: request timed out")
        );
        let home = Some(Err(Failure::probe("network unreachable for [fd00::1]:80")));
        let v = verdict(&ProbePath::Works, &site(addr(), home, vec![]));
        assert_eq!(v.supports_ipv6, None);
    }
}
