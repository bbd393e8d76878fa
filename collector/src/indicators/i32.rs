//! I32, IPv6 website support rate (IPv6 网站支持率).
//!
//! Rule: a website supports IPv6 when, in its latest valid check of the window (valid: the probe
//! itself had a working IPv6 path), its host has an AAAA record, its home page loads over IPv6,
//! and at least `min_link_share` of the same-site links checked load over IPv6. The collector
//! recomputes this from the check's raw fields. A website with no valid check is *unknown*, shown
//! as such, and counts as not supporting. The denominator is every configured website.
//!
//! No single link decides: each carrier's latest valid check is judged, and when two or more
//! carriers have one, the website supports IPv6 only when at least two of them show it (one probe
//! uploading "supports" for every website once moved I32 from 0 % to 100 %). When only one
//! carrier's link checked a website, its verdict stands and the row says so
//! ([`I32Row::single_carrier`], counted in [`I32::single_carrier`]).

use super::round;
use crate::config::Website;
use chrono::DateTime;
use fathom_shared::UtcTime;
use serde::Serialize;

/// One IPv6 website check, the rule's input: the raw values the collector judges again with its own thresholds.
/// Raw values are `None` when the stored body lacks them; the rule then falls back on the
/// probe's own verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6CheckRow {
    /// The website's URL.
    pub url: String,
    /// The carrier whose link the check went through.
    pub carrier: String,
    /// When it was measured, Unix ms.
    pub measured_at_ms: i64,
    /// Whether the probe's own IPv6 path worked: only such checks are valid.
    pub probe_ipv6: bool,
    /// The probe's verdict.
    pub supports_ipv6: Option<bool>,
    /// How many AAAA addresses the host had.
    pub aaaa: Option<u32>,
    /// Whether the home page loaded over IPv6.
    pub home_ok_v6: Option<bool>,
    /// Same-site links tried over IPv6.
    pub links_checked: Option<u32>,
    /// Of those, how many loaded.
    pub links_ok_v6: Option<u32>,
    /// The probe's one-line reason.
    pub reason: Option<String>,
}

/// The rule, as the report prints it, for the configured link share.
pub fn rule(min_link_share: f64) -> String {
    format!(
        "本周最新一次有效检测（探针 IPv6 线路正常）中，有 AAAA 记录、首页可通过 IPv6 打开、且不少于 \
         {p:.0}% 的同站链接可通过 IPv6 打开的网站，占全部配置网站的比例（未知算不支持）；按运营商分别判定，两家及以上运营商检测过的网站须至少两家显示支持。(websites \
         whose latest valid check (probe IPv6 path working) has an AAAA record, a home page that \
         loads over IPv6 and >= {p:.0} % of the same-site links loading over IPv6, over all \
         configured websites; unknown = not supporting; judged per carrier, and where two or more \
         carriers checked a website, at least two must show support)",
        p = min_link_share * 100.0
    )
}

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
    /// Why not, or why unknown; for a website that supports IPv6 through the one carrier that
    /// checked it, that it was the only one.
    pub reason: Option<String>,
    /// When the check behind the status was made (UTC, RFC 3339); for an unknown website, the
    /// latest invalid check if there was one.
    pub checked_at: Option<String>,
    /// The carriers whose latest valid checks were judged, in carrier order.
    pub carriers: Vec<String>,
    /// Whether only one carrier's link checked the website (its verdict then stands alone).
    pub single_carrier: bool,
}

/// I32 for one window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct I32 {
    /// Supporting websites / all configured websites; null when none is configured or none
    /// has a valid check in the window.
    #[serde(serialize_with = "round::share_opt")]
    pub value: Option<f64>,
    /// Target fraction.
    pub target: f64,
    /// Whether the value reaches the target.
    pub met: bool,
    /// Websites supporting IPv6.
    pub supporting: u64,
    /// Websites without a valid check.
    pub unknown: u64,
    /// Websites judged through one carrier's link only (no second carrier to agree).
    pub single_carrier: u64,
    /// The rows behind the value.
    pub sites: Vec<I32Row>,
    /// The rule applied.
    pub rule: String,
}

/// Whether one valid check shows IPv6 support, and if not why. The collector judges from the
/// raw values with its own link share; only when the stored check lacks them (no AAAA count)
/// does the probe's own verdict stand.
pub fn judge(check: &Ipv6CheckRow, min_link_share: f64) -> Result<(), String> {
    let Some(aaaa) = check.aaaa else {
        return match check.supports_ipv6 {
            Some(true) => Ok(()),
            _ => Err(check.reason.as_deref().map_or_else(
                || "探针未发现 IPv6 支持（the probe found no IPv6 support）".to_owned(),
                probe_reason,
            )),
        };
    };
    if aaaa == 0 {
        return Err("无 AAAA 记录，域名没有 IPv6 地址（no AAAA record）".to_owned());
    }
    if check.home_ok_v6 != Some(true) {
        return Err(check.reason.as_deref().map_or_else(
            || "首页无法通过 IPv6 打开（home page does not load over IPv6）".to_owned(),
            probe_reason,
        ));
    }
    let checked = check.links_checked.unwrap_or(0);
    let ok = check.links_ok_v6.unwrap_or(0);
    // The 1e-9 keeps "exactly the share" on the supporting side despite binary fractions.
    if checked > 0 && f64::from(ok) < min_link_share * f64::from(checked) - 1e-9 {
        return Err(format!(
            "仅 {ok}/{checked} 个链接可通过 IPv6 打开，不足 {}（{ok} of {checked} links load over IPv6）",
            super::simulated::percent(min_link_share)
        ));
    }
    Ok(())
}

/// The reason of a website without any check in the week.
pub const NO_CHECK: &str = "本周未检测（no check this week）";

/// A reason the probe wrote (in English, from `agent/src/ipv6/`), with the Chinese for the
/// common ones first, so the bureau reads why a website fails without translating it.
pub fn probe_reason(reason: &str) -> String {
    const KNOWN: [(&str, &str); 9] = [
        ("no AAAA record", "无 AAAA 记录，域名没有 IPv6 地址"),
        ("probe could not load the home page", "探针无法打开首页"),
        ("HTTP ", "网站返回错误状态"),
        ("TLS failure", "TLS 加密连接失败"),
        ("connection refused", "连接被拒绝"),
        ("timed out", "连接超时"),
        ("connection reset", "连接被重置"),
        ("host unreachable", "主机不可达"),
        ("network unreachable", "探针网络不可达"),
    ];
    let zh = KNOWN
        .iter()
        .find(|(en, _)| reason.starts_with(en))
        .map_or("探针报告", |(_, zh)| zh);
    format!("{zh}（{reason}）")
}

/// Trailing slashes aside, the same home page.
fn same_url(a: &str, b: &str) -> bool {
    a.trim_end_matches('/') == b.trim_end_matches('/')
}

fn utc(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(|t| UtcTime::from(t).to_string())
}

fn row(w: &Website, checks: &[Ipv6CheckRow], min_link_share: f64) -> I32Row {
    let mine = || checks.iter().filter(|c| same_url(&c.url, &w.url));
    // Each carrier's latest valid check.
    let mut latest: std::collections::BTreeMap<&str, &Ipv6CheckRow> =
        std::collections::BTreeMap::new();
    for c in mine().filter(|c| c.probe_ipv6) {
        let slot = latest.entry(c.carrier.as_str()).or_insert(c);
        if c.measured_at_ms > slot.measured_at_ms {
            *slot = c;
        }
    }
    let verdicts: Vec<(&str, Result<(), String>, i64)> = latest
        .iter()
        .map(|(carrier, c)| (*carrier, judge(c, min_link_share), c.measured_at_ms))
        .collect();
    let newest = verdicts.iter().map(|v| v.2).max();
    let (status, reason, at) = match verdicts.as_slice() {
        [] => match mine().max_by_key(|c| c.measured_at_ms) {
            Some(c) => (
                Ipv6Status::Unknown,
                Some("本周无有效检测：探针没有可用的 IPv6 线路（no valid check: the probe had no IPv6 path）".to_owned()),
                Some(c.measured_at_ms),
            ),
            None => (
                Ipv6Status::Unknown,
                Some(NO_CHECK.to_owned()),
                None,
            ),
        },
        [(carrier, Ok(()), at)] => (
            Ipv6Status::Supports,
            Some(format!(
                "仅经 {carrier} 一家运营商检测，无第二家印证（checked through {carrier}'s link only: no second carrier to agree）"
            )),
            Some(*at),
        ),
        [(_, Err(why), at)] => (Ipv6Status::No, Some(why.clone()), Some(*at)),
        several => {
            let supporting = several.iter().filter(|v| v.1.is_ok()).count();
            if supporting >= 2 {
                (Ipv6Status::Supports, None, newest)
            } else if supporting == 0 {
                // All agree it does not: the newest check's reason.
                let why = several
                    .iter()
                    .max_by_key(|v| v.2)
                    .and_then(|v| v.1.clone().err());
                (Ipv6Status::No, why, newest)
            } else {
                let (yes, no): (Vec<_>, Vec<_>) = several.iter().partition(|v| v.1.is_ok());
                let why = format!(
                    "运营商检测结果不一致 carriers disagree: IPv6 through {}, not through {}",
                    yes.iter().map(|v| v.0).collect::<Vec<_>>().join(", "),
                    no.iter()
                        .map(|v| format!("{} ({})", v.0, v.1.clone().err().unwrap_or_default()))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                (Ipv6Status::No, Some(why), newest)
            }
        }
    };
    I32Row {
        url: w.url.clone(),
        name: w.name.clone(),
        kind: w.kind,
        status,
        reason,
        checked_at: at.and_then(utc),
        carriers: verdicts.iter().map(|v| v.0.to_owned()).collect(),
        single_carrier: verdicts.len() == 1,
    }
}

/// Computes I32 from the configured websites and the window's checks. `checks` may hold several
/// checks per website, valid or not: the latest valid one decides.
pub fn compute(
    websites: &[Website],
    checks: &[Ipv6CheckRow],
    target: f64,
    min_link_share: f64,
) -> I32 {
    let sites: Vec<I32Row> = websites
        .iter()
        .map(|w| row(w, checks, min_link_share))
        .collect();
    let total = sites.len() as u64;
    let count = |s: Ipv6Status| sites.iter().filter(|r| r.status == s).count() as u64;
    let supporting = count(Ipv6Status::Supports);
    let unknown = count(Ipv6Status::Unknown);
    let single_carrier = sites.iter().filter(|r| r.single_carrier).count() as u64;
    // A week without a single valid check has no value, rather than a measured 0 %.
    let value = (total > 0 && unknown < total).then(|| supporting as f64 / total as f64);
    I32 {
        value,
        target,
        met: value.is_some_and(|v| v >= target),
        supporting,
        unknown,
        single_carrier,
        sites,
        rule: rule(min_link_share),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::WebsiteKind;

    const T0: i64 = 1_764_000_000_000;

    fn site(url: &str) -> Website {
        Website {
            url: url.into(),
            kind: WebsiteKind::Commercial,
            name: url.into(),
        }
    }

    /// A valid check of `url` at `T0 + at_ms` with its raw values.
    fn check(url: &str, at_ms: i64, aaaa: u32, home: bool, links: (u32, u32)) -> Ipv6CheckRow {
        Ipv6CheckRow {
            url: url.into(),
            carrier: "cmcc".into(),
            measured_at_ms: T0 + at_ms,
            probe_ipv6: true,
            supports_ipv6: Some(aaaa > 0 && home),
            aaaa: Some(aaaa),
            home_ok_v6: Some(home),
            links_checked: Some(links.0),
            links_ok_v6: Some(links.1),
            reason: None,
        }
    }

    fn good(url: &str, at_ms: i64) -> Ipv6CheckRow {
        check(url, at_ms, 1, true, (20, 20))
    }

    fn bad(url: &str, at_ms: i64) -> Ipv6CheckRow {
        check(url, at_ms, 0, false, (0, 0))
    }

    fn via(carrier: &str, mut c: Ipv6CheckRow) -> Ipv6CheckRow {
        carrier.clone_into(&mut c.carrier);
        c
    }

    #[test]
    fn where_two_carriers_checked_a_website_one_link_cannot_decide_it() {
        let sites = [
            site("https://a/"),
            site("https://b/"),
            site("https://c/"),
            site("https://d/"),
        ];
        let checks = [
            // a: one probe says "supports" through cmcc; cu and ct say no.
            good("https://a/", 0),
            via("cu", bad("https://a/", 0)),
            via("ct", bad("https://a/", 0)),
            // b: two of three carriers show support.
            good("https://b/", 0),
            via("cu", good("https://b/", 0)),
            via("ct", bad("https://b/", 0)),
            // c: only one carrier checked it.
            via("ct", good("https://c/", 0)),
            // d: two carriers, both no.
            bad("https://d/", 0),
            via("cu", bad("https://d/", 500)),
        ];
        let i = compute(&sites, &checks, 0.3, 0.9);
        assert_eq!(i.sites[0].status, Ipv6Status::No);
        let why = i.sites[0].reason.as_deref().unwrap();
        assert!(
            why.contains("carriers disagree: IPv6 through cmcc, not through ct (无 AAAA 记录"),
            "{why}"
        );
        assert_eq!(i.sites[1].status, Ipv6Status::Supports);
        assert_eq!(i.sites[1].carriers, ["cmcc", "ct", "cu"]);
        assert_eq!(
            i.sites[2].status,
            Ipv6Status::Supports,
            "one carrier's verdict stands"
        );
        assert!(
            i.sites[2]
                .reason
                .as_deref()
                .unwrap()
                .contains("ct's link only")
        );
        assert_eq!(i.sites[1].reason, None);
        assert!(i.sites[2].single_carrier && !i.sites[1].single_carrier);
        assert_eq!(i.sites[3].status, Ipv6Status::No);
        assert_eq!(
            i.sites[3].checked_at,
            utc(T0 + 500),
            "the newest of the checks"
        );
        assert_eq!((i.supporting, i.single_carrier), (2, 1));
        assert_eq!(i.value, Some(0.5));
    }

    #[test]
    fn probe_reasons_get_their_chinese_first() {
        assert_eq!(
            probe_reason("no AAAA record for a.test"),
            "无 AAAA 记录，域名没有 IPv6 地址（no AAAA record for a.test）"
        );
        assert_eq!(
            probe_reason("HTTP 503 on home page"),
            "网站返回错误状态（HTTP 503 on home page）"
        );
        assert_eq!(probe_reason("odd"), "探针报告（odd）");
    }

    #[test]
    fn support_needs_aaaa_home_page_and_90_percent_of_links() {
        let j = |c: &Ipv6CheckRow| judge(c, 0.9);
        assert!(j(&check("u", 0, 1, true, (20, 18))).is_ok(), "exactly 90 %");
        assert_eq!(
            j(&check("u", 0, 1, true, (20, 17))).unwrap_err(),
            "仅 17/20 个链接可通过 IPv6 打开，不足 90.0%（17 of 20 links load over IPv6）"
        );
        assert!(j(&bad("u", 0)).unwrap_err().starts_with("无 AAAA 记录"));
        assert!(j(&check("u", 0, 1, false, (0, 0))).is_err());
        assert!(
            j(&check("u", 0, 1, true, (0, 0))).is_ok(),
            "a home page without links"
        );
    }

    #[test]
    fn the_collector_recomputes_rather_than_trusting_the_probe() {
        let mut c = check("https://a/", 0, 1, true, (20, 10));
        c.supports_ipv6 = Some(true);
        let i = compute(&[site("https://a/")], &[c.clone()], 0.3, 0.9);
        assert_eq!(i.sites[0].status, Ipv6Status::No);
        // The link share is a collector setting.
        let i = compute(&[site("https://a/")], &[c], 0.3, 0.5);
        assert_eq!(i.sites[0].status, Ipv6Status::Supports);
        assert!(i.rule.contains(">= 50 %"), "{}", i.rule);
    }

    #[test]
    fn without_raw_values_the_probe_verdict_stands() {
        let mut c = good("https://a/", 0);
        (c.aaaa, c.home_ok_v6, c.links_checked, c.links_ok_v6) = (None, None, None, None);
        assert!(judge(&c, 0.9).is_ok());
        c.supports_ipv6 = Some(false);
        c.reason = Some("TLS failed over IPv6".into());
        assert_eq!(
            judge(&c, 0.9).unwrap_err(),
            "探针报告（TLS failed over IPv6）"
        );
    }

    #[test]
    fn the_latest_valid_check_wins_over_an_older_one() {
        let sites = [site("https://a/"), site("https://b/")];
        let checks = [
            good("https://a/", 0),
            bad("https://a/", 1_000),
            bad("https://b/", 0),
            good("https://b/", 1_000),
        ];
        let i = compute(&sites, &checks, 0.3, 0.9);
        assert_eq!(i.sites[0].status, Ipv6Status::No, "a: newer check fails");
        assert_eq!(i.sites[1].status, Ipv6Status::Supports, "b: newer passes");
        assert_eq!(i.sites[1].checked_at, utc(T0 + 1_000));
        assert_eq!(i.value, Some(0.5));
    }

    #[test]
    fn a_check_without_a_probe_ipv6_path_is_not_valid() {
        let sites = [site("https://a/"), site("https://b/")];
        let mut newer = bad("https://a/", 1_000);
        newer.probe_ipv6 = false;
        let mut only_invalid = good("https://b/", 0);
        only_invalid.probe_ipv6 = false;
        let i = compute(
            &sites,
            &[good("https://a/", 0), newer, only_invalid],
            0.3,
            0.9,
        );
        assert_eq!(
            i.sites[0].status,
            Ipv6Status::Supports,
            "the newer invalid check does not override the valid one"
        );
        assert_eq!(i.sites[1].status, Ipv6Status::Unknown, "never supports");
        assert!(
            i.sites[1]
                .reason
                .as_deref()
                .unwrap()
                .contains("no valid check")
        );
        assert_eq!((i.supporting, i.unknown), (1, 1));
    }

    #[test]
    fn unknown_websites_count_as_not_supporting_and_are_shown() {
        let sites = [site("https://a/"), site("https://b/"), site("https://c")];
        let i = compute(
            &sites,
            &[good("https://a", 0), good("https://c/", 0)],
            0.3,
            0.9,
        );
        assert_eq!(i.value, Some(2.0 / 3.0), "trailing slashes do not matter");
        assert!(i.met);
        assert_eq!(i.unknown, 1);
        assert_eq!(i.sites[1].status, Ipv6Status::Unknown);
        assert_eq!(i.sites[1].reason.as_deref(), Some(NO_CHECK));
        let i = compute(&sites, &[], 0.3, 0.9);
        assert_eq!((i.value, i.met, i.unknown), (None, false, 3));
        let i = compute(&sites, &[good("https://a/", 0)], 0.5, 0.9);
        assert_eq!((i.value, i.met), (Some(1.0 / 3.0), false));
    }
}
