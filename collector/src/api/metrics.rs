//! `GET /metrics`: the collector's counters and the fleet's alerts in Prometheus text format.

use super::AppState;
use crate::alerts::fleet_view;
use crate::http::ApiError;
use crate::store::InsertCounts;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use chrono::Utc;
use fathom_shared::api::{ALERT_KINDS, FleetResponse};
use fathom_shared::{ResultKind, ResultRecord};
use std::sync::atomic::{AtomicU64, Ordering};

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
    pub fn stored(&self, results: &[ResultRecord], counts: InsertCounts) {
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
    line("# HELP fathom_probe_alert Each probe's active alerts: 1 per probe and alert kind it has now (see /fleet for the carrier and what to do); a probe without alerts has no series.".into());
    line("# TYPE fathom_probe_alert gauge".into());
    for p in &fleet.probes {
        // One series per kind, however many carriers it concerns: at most probes × kinds.
        for kind in ALERT_KINDS {
            if p.alerts.iter().any(|a| a.kind == kind) {
                line(format!(
                    "fathom_probe_alert{{probe=\"{}\",site=\"{}\",alert=\"{kind}\"}} 1",
                    p.probe_id, p.site_id
                ));
            }
        }
    }
    t
}

/// `GET /metrics`.
pub(super) async fn metrics(State(state): State<AppState>) -> Result<impl IntoResponse, ApiError> {
    let fleet = fleet_view(
        crate::alerts::mark_over_budget(state.store.fleet().await?, |p| {
            state.budgets.refused_at_ms(p)
        }),
        Utc::now(),
    );
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
    use crate::alerts::tests::{NOW, healthy};
    use crate::alerts::{FleetRow, SILENT_AFTER_MS};
    use chrono::DateTime;
    use fathom_shared::Carrier;
    use fathom_shared::api::{ModemStatus, ProbeStatus};

    #[test]
    fn the_exposition_has_one_sample_per_line_with_help_and_type() {
        let m = Metrics::default();
        m.refused();
        let rows = vec![FleetRow {
            probe_id: "hosp-01".into(),
            site_id: "county-hospital".into(),
            revoked: false,
            last_seen_ms: Some(NOW - 3 * SILENT_AFTER_MS),
            status: Some(serde_json::to_string(&healthy()).unwrap()),
            over_budget_ms: None,
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

    fn row(probe: &str, last_seen_ms: Option<i64>, status: Option<ProbeStatus>) -> FleetRow {
        FleetRow {
            probe_id: probe.into(),
            site_id: "county-hospital".into(),
            revoked: false,
            last_seen_ms,
            status: status.map(|s| serde_json::to_string(&s).unwrap()),
            over_budget_ms: None,
        }
    }

    #[test]
    fn each_probe_has_one_alert_series_per_active_kind_and_a_healthy_probe_none() {
        // Two modems missing and a spent budget on one probe, a healthy one, one never seen.
        let mut sick = healthy();
        sick.modems[0].present = false;
        sick.modems.push(ModemStatus {
            present: false,
            carrier: Carrier::Cu,
            ..sick.modems[0].clone()
        });
        sick.budgets[0].used_bytes = 95;
        let rows = vec![
            row("hosp-01", Some(NOW), Some(sick)),
            row("hosp-02", Some(NOW), Some(healthy())),
            row("hosp-03", None, None),
        ];
        let now = DateTime::from_timestamp_millis(NOW).unwrap();
        let text = exposition(&Metrics::default(), &fleet_view(rows, now));
        let series: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("fathom_probe_alert{"))
            .collect();
        assert_eq!(
            series,
            [
                "fathom_probe_alert{probe=\"hosp-01\",site=\"county-hospital\",alert=\"modem_missing\"} 1",
                "fathom_probe_alert{probe=\"hosp-01\",site=\"county-hospital\",alert=\"budget_nearly_spent\"} 1",
                "fathom_probe_alert{probe=\"hosp-03\",site=\"county-hospital\",alert=\"never_seen\"} 1",
            ],
            "{text}"
        );
        assert!(text.contains("# TYPE fathom_probe_alert gauge\n"), "{text}");
        // The per-kind counts agree with the per-probe series.
        assert!(
            text.contains("fathom_probes{alert=\"modem_missing\"} 1\n"),
            "{text}"
        );
    }
}
