//! Fleet health: each probe's latest status, the alerts drawn from it, `GET /api/v1/fleet`, the
//! `/fleet` page and the Prometheus `/metrics`.
//!
//! The alert rules are one pure function, [`alerts`]: a probe's status and last upload, and
//! `now`, in; what needs attention out.

use crate::api::{ApiError, AppState};
use crate::store::FleetRow;
use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use fathom_shared::api::{ALERT_KINDS, Alert, FleetProbe, FleetResponse, ProbeStatus};
use fathom_shared::{Carrier, ResultKind, ResultRecord};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

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
            "从未上报 never reported: check the probe's power, uplink and token".to_owned(),
        )),
        Some(seen) if now_ms - seen > SILENT_AFTER_MS => out.push(alert(
            "silent",
            None,
            format!(
                "静默 silent for {} min (over 2 h): check power and uplink",
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
                "{} 调制解调器缺失 modem missing or not registered: {}",
                m.carrier,
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
                        "{} 流量将尽 data budget {:.0} % used ({} of {} bytes this month)",
                        b.carrier,
                        share * 100.0,
                        b.used_bytes,
                        budget
                    ),
                ));
            }
        }
    }
    if !s.clock_synced {
        out.push(alert(
            "clock_unsynced",
            None,
            "时钟未同步 clock unsynchronised: check NTP (timedatectl); results are dated by the collector meanwhile".to_owned(),
        ));
    }
    out
}

fn rfc3339(ms: i64) -> Option<String> {
    DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339_opts(SecondsFormat::Secs, true))
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
            FleetProbe {
                alerts: alerts(r.last_seen_ms, status.as_ref(), now_ms),
                probe_id: r.probe.id,
                site_id: r.probe.site_id,
                last_seen: r.last_seen_ms.and_then(rfc3339),
                last_seen_age_s: r.last_seen_ms.map(|s| (now_ms - s) / 1000),
                revoked: r.probe.revoked_at_ms.is_some(),
                status,
            }
        })
        .collect();
    FleetResponse {
        now: now.to_rfc3339_opts(SecondsFormat::Secs, true),
        probes,
    }
}

/// `GET /api/v1/fleet`.
pub(crate) async fn fleet_json(
    State(state): State<AppState>,
) -> Result<Json<FleetResponse>, ApiError> {
    Ok(Json(fleet_view(state.store.fleet().await?, Utc::now())))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `GET /fleet`: the fleet page, probes with alerts first.
pub(crate) async fn fleet_page(State(state): State<AppState>) -> Result<Html<String>, ApiError> {
    let mut view = fleet_view(state.store.fleet().await?, Utc::now());
    view.probes
        .sort_by_key(|p| (p.alerts.is_empty(), p.probe_id.clone()));
    Ok(Html(fleet_html(&view)))
}

/// The fleet page's HTML, in the order of `view`, with a way back to the dashboard.
pub fn fleet_html(view: &FleetResponse) -> String {
    let with_alerts = view.probes.iter().filter(|p| !p.alerts.is_empty()).count();
    let mut h = String::new();
    let mut put = |s: String| h.push_str(&s);
    put(format!(
        "<!doctype html><html lang=zh><head><meta charset=utf-8><title>探针状态 Fleet</title>\
         <style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.alert{{color:#b00}}</style>\
         </head><body><nav><a id=nav-dashboard href=\"/\">← 指标看板 dashboard</a></nav>\
         <h1>探针状态 Fleet health</h1><p>{} · 探针 probes: {} · 需处理 with alerts: {}</p>\
         <table id=fleet><tr><th>探针 probe</th><th>站点 site</th><th>最后上报 last seen</th>\
         <th>版本 version</th><th>调制解调器 modems</th><th>待传 spool</th><th>流量 data used</th>\
         <th>时钟 clock</th><th>告警 alerts</th></tr>",
        esc(&view.now),
        view.probes.len(),
        with_alerts
    ));
    for p in &view.probes {
        let (version, modems, spool, budgets, clock) = match &p.status {
            Some(s) => (
                esc(&s.agent_version),
                s.modems
                    .iter()
                    .map(|m| {
                        format!(
                            "{} {}",
                            m.carrier,
                            if m.present {
                                m.rat.map_or("?", fathom_shared::Rat::id).to_owned()
                            } else {
                                "缺失 missing".to_owned()
                            }
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                s.spool_pending.to_string(),
                s.budgets
                    .iter()
                    .map(|b| match b.budget_bytes {
                        Some(total) if total > 0 => format!(
                            "{} {:.0} %",
                            b.carrier,
                            b.used_bytes as f64 * 100.0 / total as f64
                        ),
                        _ => format!("{} {} MB", b.carrier, b.used_bytes / 1_000_000),
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                if s.clock_synced {
                    "已同步 synced"
                } else {
                    "未同步 unsynced"
                }
                .to_owned(),
            ),
            None => Default::default(),
        };
        let mut alerts = String::new();
        for a in &p.alerts {
            write!(
                alerts,
                "<div class=alert data-kind={}>{}</div>",
                a.kind,
                esc(&a.message)
            )
            .expect("writing to a String cannot fail");
        }
        put(format!(
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{version}</td><td>{modems}</td>\
             <td>{spool}</td><td>{budgets}</td><td>{clock}</td><td>{}</td></tr>",
            esc(&p.probe_id),
            if p.revoked {
                " (已吊销 revoked)"
            } else {
                ""
            },
            esc(&p.site_id),
            p.last_seen.as_deref().map_or_else(|| "—".to_owned(), esc),
            if alerts.is_empty() {
                "—".to_owned()
            } else {
                alerts
            }
        ));
    }
    put("</table></body></html>".to_owned());
    h
}

/// The collector's counters since it started, for `/metrics`.
#[derive(Debug, Default)]
pub struct Metrics {
    received: [AtomicU64; 3],
    stored: AtomicU64,
    duplicate: AtomicU64,
    refused: AtomicU64,
}

const KINDS: [ResultKind; 3] = [ResultKind::Speed, ResultKind::Radio, ResultKind::Ipv6];

impl Metrics {
    /// Counts an accepted upload: its results by kind, and how many were new or duplicates.
    pub fn stored(&self, results: &[ResultRecord], counts: crate::store::InsertCounts) {
        for r in results {
            let i = KINDS.iter().position(|k| *k == r.kind()).unwrap_or(0);
            self.received[i].fetch_add(1, Ordering::Relaxed);
        }
        self.stored.fetch_add(counts.accepted, Ordering::Relaxed);
        self.duplicate
            .fetch_add(counts.duplicate, Ordering::Relaxed);
    }

    /// Counts an upload answered with a 4xx or 5xx.
    pub fn refused(&self) {
        self.refused.fetch_add(1, Ordering::Relaxed);
    }
}

/// The text exposition (Prometheus 0.0.4) of the counters and of the fleet at `now`.
pub fn exposition(m: &Metrics, fleet: &FleetResponse) -> String {
    let mut t = String::new();
    let mut line = |s: String| {
        t.push_str(&s);
        t.push('\n');
    };
    line("# HELP fathom_results_received_total Valid results received in accepted uploads, by kind (duplicates included).".into());
    line("# TYPE fathom_results_received_total counter".into());
    for (i, k) in KINDS.iter().enumerate() {
        line(format!(
            "fathom_results_received_total{{kind=\"{}\"}} {}",
            k.id(),
            m.received[i].load(Ordering::Relaxed)
        ));
    }
    line("# HELP fathom_results_stored_total Results stored (new ids).".into());
    line("# TYPE fathom_results_stored_total counter".into());
    line(format!(
        "fathom_results_stored_total {}",
        m.stored.load(Ordering::Relaxed)
    ));
    line("# HELP fathom_results_duplicate_total Results whose id was already stored.".into());
    line("# TYPE fathom_results_duplicate_total counter".into());
    line(format!(
        "fathom_results_duplicate_total {}",
        m.duplicate.load(Ordering::Relaxed)
    ));
    line("# HELP fathom_uploads_refused_total Uploads answered with an error status.".into());
    line("# TYPE fathom_uploads_refused_total counter".into());
    line(format!(
        "fathom_uploads_refused_total {}",
        m.refused.load(Ordering::Relaxed)
    ));
    line("# HELP fathom_probes Registered probes with at least one alert of each kind, and all probes.".into());
    line("# TYPE fathom_probes gauge".into());
    line(format!(
        "fathom_probes{{alert=\"any\"}} {}",
        fleet.probes.iter().filter(|p| !p.alerts.is_empty()).count()
    ));
    for kind in ALERT_KINDS {
        let n = fleet
            .probes
            .iter()
            .filter(|p| p.alerts.iter().any(|a| a.kind == kind))
            .count();
        line(format!("fathom_probes{{alert=\"{kind}\"}} {n}"));
    }
    line(format!(
        "fathom_probes{{alert=\"none\"}} {}",
        fleet.probes.iter().filter(|p| p.alerts.is_empty()).count()
    ));
    line("# HELP fathom_probe_last_seen_age_seconds Seconds since each probe's last upload (probes that never uploaded are left out).".into());
    line("# TYPE fathom_probe_last_seen_age_seconds gauge".into());
    for p in &fleet.probes {
        if let Some(age) = p.last_seen_age_s {
            // Probe ids are slugs ([a-z0-9-]), safe inside a label value.
            line(format!(
                "fathom_probe_last_seen_age_seconds{{probe=\"{}\",site=\"{}\"}} {age}",
                p.probe_id, p.site_id
            ));
        }
    }
    t
}

/// `GET /metrics`.
pub(crate) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let fleet = fleet_view(state.store.fleet().await?, Utc::now());
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        exposition(&state.metrics, &fleet),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use fathom_shared::Rat;
    use fathom_shared::api::{BudgetStatus, ModemStatus};

    const NOW: i64 = 1_764_000_000_000;

    fn healthy() -> ProbeStatus {
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

    #[test]
    fn the_fleet_page_leads_back_to_the_dashboard() {
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let page = fleet_html(&fleet_view(Vec::new(), now));
        assert!(
            page.contains("<nav><a id=nav-dashboard href=\"/\">← 指标看板 dashboard</a></nav>"),
            "{page}"
        );
    }

    #[test]
    fn the_exposition_has_one_sample_per_line_with_help_and_type() {
        let m = Metrics::default();
        m.refused();
        let rows = vec![FleetRow {
            probe: crate::store::ProbeRow {
                id: "hosp-01".into(),
                site_id: "county-hospital".into(),
                created_at_ms: 0,
                revoked_at_ms: None,
            },
            last_seen_ms: Some(NOW - 3 * SILENT_AFTER_MS),
            status: Some(serde_json::to_string(&healthy()).unwrap()),
        }];
        let now = DateTime::from_timestamp_millis(NOW).unwrap();
        let text = exposition(&m, &fleet_view(rows, now));
        assert!(text.contains("fathom_uploads_refused_total 1\n"), "{text}");
        assert!(
            text.contains("fathom_probes{alert=\"silent\"} 1\n"),
            "{text}"
        );
        assert!(text.contains(
            "fathom_probe_last_seen_age_seconds{probe=\"hosp-01\",site=\"county-hospital\"} 21600\n"
        ));
        for l in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = l.rsplit_once(' ').unwrap();
            value.parse::<f64>().unwrap_or_else(|_| panic!("{l}"));
        }
    }
}
