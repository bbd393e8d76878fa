//! Fleet health rules: what needs attention about each probe ([`alerts`]: its status and last
//! upload, and `now`, in; alerts out), and the fleet view ([`fleet_view`]) that `GET
//! /api/v1/fleet`, the `/fleet` page and `/metrics` show. Pure: no I/O, no clock.

use chrono::{DateTime, SecondsFormat, Utc};
use fathom_shared::Carrier;
use fathom_shared::api::{Alert, FleetProbe, FleetResponse, ProbeStatus};

/// A probe that has not uploaded for this long is silent (its uploads come at least hourly).
pub const SILENT_AFTER_MS: i64 = 2 * 3_600_000;
/// A SIM that has used this share of its monthly budget is nearly spent.
pub const BUDGET_NEARLY_SPENT: f64 = 0.9;

fn alert(kind: &str, carrier: Option<Carrier>, message: String) -> Alert {
    Alert {
        kind: kind.to_owned(),
        carrier,
        message,
    }
}

/// What needs attention about one probe at `now_ms`: never seen, silent over 2 h, a modem
/// missing, a SIM's budget ≥ 90 % spent, the clock unsynchronised. A silent probe's last status
/// is old, but what it said still stands until it says otherwise.
pub fn alerts(last_seen_ms: Option<i64>, status: Option<&ProbeStatus>, now_ms: i64) -> Vec<Alert> {
    let mut out = Vec::new();
    match last_seen_ms {
        None => out.push(alert(
            "never_seen",
            None,
            "从未上报：请检查探针的电源、上行网络和令牌（never reported: check power, uplink and token）".to_owned(),
        )),
        Some(seen) if now_ms - seen > SILENT_AFTER_MS => out.push(alert(
            "silent",
            None,
            format!(
                "已静默 {} 分钟（超过 2 小时）：请检查电源和上行网络（silent over 2 h: check power and uplink）",
                (now_ms - seen) / 60_000
            ),
        )),
        Some(_) => {}
    }
    let Some(s) = status else {
        return out;
    };
    for m in s.modems.iter().filter(|m| !m.present) {
        out.push(alert(
            "modem_missing",
            Some(m.carrier),
            format!(
                "{} 调制解调器缺失或未注册网络：请检查模块、SIM 卡和天线（modem missing or not registered: {}）",
                m.carrier.name_zh(),
                m.reason.as_deref().unwrap_or("no reading")
            ),
        ));
    }
    for b in &s.budgets {
        if let Some(budget) = b.budget_bytes.filter(|b| *b > 0) {
            let share = b.used_bytes as f64 / budget as f64;
            if share >= BUDGET_NEARLY_SPENT {
                out.push(alert(
                    "budget_nearly_spent",
                    Some(b.carrier),
                    format!(
                        "{} 本月流量已用 {}（{} / {} MB）：请充值或降低测速频率（data budget nearly spent）",
                        b.carrier.name_zh(),
                        crate::indicators::simulated::percent(share),
                        b.used_bytes / 1_000_000,
                        budget / 1_000_000
                    ),
                ));
            }
        }
    }
    if !s.clock_synced {
        out.push(alert(
            "clock_unsynced",
            None,
            "时钟未同步：请检查 NTP（timedatectl）；在此期间结果按采集器接收时间定时（clock unsynchronised）".to_owned(),
        ));
    }
    out
}

fn rfc3339(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// A registered probe as the fleet view reads it, filled by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FleetRow {
    /// The probe's id.
    pub probe_id: String,
    /// The site it is registered at.
    pub site_id: String,
    /// Whether its token was revoked.
    pub revoked: bool,
    /// When it last uploaded, Unix ms.
    pub last_seen_ms: Option<i64>,
    /// Its latest status (JSON text).
    pub status: Option<String>,
    /// When an upload of it was last refused for its result budget, Unix ms (kept in memory by
    /// [`crate::budget::ResultBudgets`]; the store leaves it `None`).
    pub over_budget_ms: Option<i64>,
}

/// `rows` with each probe's last result-budget refusal, as `refused_at` tells it.
pub fn mark_over_budget(
    mut rows: Vec<FleetRow>,
    refused_at: impl Fn(&str) -> Option<i64>,
) -> Vec<FleetRow> {
    for row in &mut rows {
        row.over_budget_ms = refused_at(&row.probe_id);
    }
    rows
}

/// How long a result-budget refusal stays on the fleet page.
pub const OVER_BUDGET_SHOWN_MS: i64 = 3_600_000;

/// The alert for a probe refused for its result budget at `refused_ms`, while it is recent.
pub fn over_budget(refused_ms: Option<i64>, now_ms: i64) -> Option<Alert> {
    let refused = refused_ms.filter(|t| now_ms - t <= OVER_BUDGET_SHOWN_MS)?;
    Some(alert(
        "over_result_budget",
        None,
        format!(
            "结果超出预算 over its result budget {} min ago: it uploads more results than its schedule can measure; check its cadences (a [[probes.override]]) or whether its token was stolen",
            (now_ms - refused) / 60_000
        ),
    ))
}

/// The fleet at `now`: every registered probe with its status and alerts.
pub fn fleet_view(rows: Vec<FleetRow>, now: DateTime<Utc>) -> FleetResponse {
    let now_ms = now.timestamp_millis();
    let probes = rows
        .into_iter()
        .map(|r| {
            let status: Option<ProbeStatus> = r
                .status
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok());
            let mut alerts = alerts(r.last_seen_ms, status.as_ref(), now_ms);
            alerts.extend(over_budget(r.over_budget_ms, now_ms));
            FleetProbe {
                alerts,
                probe_id: r.probe_id,
                site_id: r.site_id,
                last_seen: r.last_seen_ms.and_then(rfc3339),
                last_seen_age_s: r.last_seen_ms.map(|s| (now_ms - s) / 1000),
                revoked: r.revoked,
                status,
            }
        })
        .collect();
    FleetResponse {
        now: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        probes,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use fathom_shared::Rat;
    use fathom_shared::api::{ALERT_KINDS, BudgetStatus, ModemStatus};

    pub(crate) const NOW: i64 = 1_764_000_000_000;

    /// A probe with one present 5G SA modem, a synced clock, an empty spool and budget to spare.
    pub(crate) fn healthy() -> ProbeStatus {
        ProbeStatus {
            agent_version: "0.1.0".into(),
            modems: vec![ModemStatus {
                carrier: Carrier::Cmcc,
                present: true,
                rat: Some(Rat::NrSa),
                reason: None,
            }],
            spool_pending: 0,
            clock_synced: true,
            budgets: vec![BudgetStatus {
                carrier: Carrier::Cmcc,
                used_bytes: 10,
                budget_bytes: Some(100),
            }],
        }
    }

    fn kinds(a: &[Alert]) -> Vec<&str> {
        a.iter().map(|a| a.kind.as_str()).collect()
    }

    #[test]
    fn a_recent_result_budget_refusal_is_an_alert_and_an_old_one_is_not() {
        let a = over_budget(Some(NOW - 5 * 60_000), NOW).expect("an alert");
        assert_eq!(a.kind, "over_result_budget");
        assert!(a.message.contains("5 min ago"), "{}", a.message);
        assert!(over_budget(Some(NOW - OVER_BUDGET_SHOWN_MS - 1), NOW).is_none());
        assert!(over_budget(None, NOW).is_none());
        let rows = mark_over_budget(
            vec![FleetRow {
                probe_id: "hosp-01".into(),
                site_id: "county-hospital".into(),
                revoked: false,
                last_seen_ms: Some(NOW),
                status: None,
                over_budget_ms: None,
            }],
            |p| (p == "hosp-01").then_some(NOW),
        );
        let view = fleet_view(rows, DateTime::from_timestamp_millis(NOW).unwrap());
        assert_eq!(view.probes[0].alerts[0].kind, "over_result_budget");
    }

    #[test]
    fn a_healthy_probe_seen_recently_has_no_alert() {
        assert!(alerts(Some(NOW - 60_000), Some(&healthy()), NOW).is_empty());
    }

    #[test]
    fn silence_counts_from_two_hours() {
        let just = alerts(Some(NOW - SILENT_AFTER_MS), Some(&healthy()), NOW);
        assert!(just.is_empty(), "exactly 2 h is not yet silent");
        let over = alerts(Some(NOW - SILENT_AFTER_MS - 1), Some(&healthy()), NOW);
        assert_eq!(kinds(&over), ["silent"]);
        assert_eq!(kinds(&alerts(None, None, NOW)), ["never_seen"]);
    }

    #[test]
    fn a_missing_modem_a_spent_budget_and_an_unsynced_clock_are_each_named() {
        let mut s = healthy();
        s.modems.push(ModemStatus {
            carrier: Carrier::Cu,
            present: false,
            rat: Some(Rat::None),
            reason: Some("no modem at /dev/ttyUSB2".into()),
        });
        s.budgets[0].used_bytes = 90;
        s.clock_synced = false;
        let a = alerts(Some(NOW), Some(&s), NOW);
        assert_eq!(
            kinds(&a),
            ["modem_missing", "budget_nearly_spent", "clock_unsynced"]
        );
        assert!(
            a.iter().all(|a| ALERT_KINDS.contains(&a.kind.as_str())),
            "only documented kinds: {a:?}"
        );
        assert_eq!(a[0].carrier, Some(Carrier::Cu));
        assert!(a[0].message.contains("/dev/ttyUSB2"));
        // Chinese first, the carrier by its name.
        assert!(
            a[0].message.starts_with("中国联通 调制解调器缺失"),
            "{}",
            a[0].message
        );
        assert!(
            a[1].message.starts_with("中国移动 本月流量已用 90.0%"),
            "{}",
            a[1].message
        );
        assert!(a[2].message.starts_with("时钟未同步：请检查 NTP"));
        assert_eq!(a[1].carrier, Some(Carrier::Cmcc));
        s.budgets[0].used_bytes = 89;
        s.budgets.push(BudgetStatus {
            carrier: Carrier::Ct,
            used_bytes: 1 << 40,
            budget_bytes: None,
        });
        let a = alerts(Some(NOW), Some(&s), NOW);
        assert!(
            !kinds(&a).contains(&"budget_nearly_spent"),
            "89 % and no budget: {a:?}"
        );
    }
}
