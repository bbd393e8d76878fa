//! The `/fleet` page: every probe with its alerts, those with alerts first, linked from the
//! dashboard and leading back to it. The alerts come right after the probe and its site, so
//! that on a phone, where the table scrolls inside its box, they are on the first screen.

use super::{DashboardState, font};
use crate::alerts::fleet_view;
use crate::config::CollectorConfig;
use crate::http::ApiError;
use crate::indicators::simulated::percent;
use crate::report::html::{PHONE_CSS, VIEWPORT, esc, local_str, site_name, zone_name};
use axum::extract::State;
use axum::response::Html;
use chrono::Utc;
use fathom_shared::Rat;
use fathom_shared::api::FleetResponse;
use std::fmt::Write as _;

/// `GET /fleet`.
pub(super) async fn fleet_page(
    State(state): State<DashboardState>,
) -> Result<Html<String>, ApiError> {
    let mut view = fleet_view(
        crate::alerts::mark_over_budget(state.store.fleet().await?, |p| {
            state.budgets.refused_at_ms(p)
        }),
        Utc::now(),
    );
    view.probes
        .sort_by_key(|p| (p.alerts.is_empty(), p.probe_id.clone()));
    Ok(Html(fleet_html(&view, &state.config)))
}

/// A network type as a technician says it (5G SA, 4G), not its wire id (`nr_sa`, `lte`).
fn rat_name(rat: Rat) -> &'static str {
    match rat {
        Rat::NrSa => "5G SA",
        Rat::NrNsa => "5G NSA",
        Rat::Lte => "4G",
        Rat::Wcdma => "3G",
        Rat::Gsm => "2G",
        Rat::None => "未注册 no service",
    }
}

/// The fleet page's HTML, in the order of `view`, with a way back to the dashboard: sites by
/// name, carriers by name, times in the county's zone.
fn fleet_html(view: &FleetResponse, config: &CollectorConfig) -> String {
    let tz = config.timezone;
    let with_alerts = view.probes.iter().filter(|p| !p.alerts.is_empty()).count();
    let mut h = String::new();
    let font_url = font::url();
    let mut put = |s: String| h.push_str(&s);
    put(format!(
        "<!doctype html><html lang=zh><head><meta charset=utf-8>{VIEWPORT}<title>探针状态 Fleet</title>\
         <style>body{{font-family:sans-serif;margin:1em}}table{{border-collapse:collapse}}\
         td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}.alert{{color:#b00}}\
         @font-face{{font-family:FathomCJK;src:url(\"{font_url}\")}}\
         body,td,th{{font-family:FathomCJK,sans-serif}}{PHONE_CSS}</style>\
         </head><body><nav><a id=nav-dashboard href=\"/\">← 指标看板 dashboard</a></nav>\
         <h1>探针状态 Fleet health</h1><p>{}（{}） · 探针 probes: {} · 需处理 with alerts: {}</p>\
         <div class=scroll><table id=fleet><tr><th>探针 probe</th><th>站点 site</th><th>告警 alerts</th>\
         <th>最后上报 last seen</th><th>版本 version</th><th>调制解调器 modems</th><th>待传 spool</th>\
         <th>流量 data used</th><th>时钟 clock</th></tr>",
        esc(&local_str(&view.now, tz)),
        zone_name(tz),
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
                            m.carrier.name_zh(),
                            if m.present {
                                m.rat.map_or("?", rat_name).to_owned()
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
                            "{} {}",
                            b.carrier.name_zh(),
                            percent(b.used_bytes as f64 / total as f64)
                        ),
                        _ => format!("{} {} MB", b.carrier.name_zh(), b.used_bytes / 1_000_000),
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
            "<tr><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td>{version}</td><td>{modems}</td>\
             <td>{spool}</td><td>{budgets}</td><td>{clock}</td></tr>",
            esc(&p.probe_id),
            if p.revoked {
                " (已吊销 revoked)"
            } else {
                ""
            },
            esc(&site_name(config, &p.site_id)),
            if alerts.is_empty() {
                "—".to_owned()
            } else {
                alerts
            },
            p.last_seen
                .as_deref()
                .map_or_else(|| "—".to_owned(), |t| esc(&local_str(t, tz)))
        ));
    }
    put("</table></div></body></html>".to_owned());
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    const NOW: i64 = 1_764_000_000_000;

    fn config() -> CollectorConfig {
        CollectorConfig::from_toml(
            include_str!("../../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::path::PathBuf::new(),
        )
        .expect("the example config loads")
    }

    #[test]
    fn network_types_in_technicians_words() {
        let names: Vec<&str> = Rat::ALL.iter().map(|&r| rat_name(r)).collect();
        assert_eq!(
            names,
            ["5G SA", "5G NSA", "4G", "3G", "2G", "未注册 no service"]
        );
    }

    /// Sites by name and times in Beijing time, not ids and UTC.
    #[test]
    fn the_fleet_page_names_sites_and_shows_beijing_time() {
        let row = crate::alerts::FleetRow {
            probe_id: "bus-01".into(),
            site_id: "bus-station".into(),
            revoked: false,
            // 2025-11-24 16:00:00Z is 2025-11-25 00:00 in Beijing.
            last_seen_ms: Some(1_764_000_000_000),
            status: None,
            over_budget_ms: None,
        };
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let page = fleet_html(&fleet_view(vec![row], now), &config());
        assert!(page.contains("<td>沂源汽车站</td>"), "{page}");
        assert!(page.contains("2025-11-25 00:00"), "{page}");
        assert!(page.contains("（北京时间）"), "{page}");
    }

    #[test]
    fn the_fleet_page_leads_back_to_the_dashboard() {
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let page = fleet_html(&fleet_view(Vec::new(), now), &config());
        assert!(
            page.contains("<nav><a id=nav-dashboard href=\"/\">← 指标看板 dashboard</a></nav>"),
            "{page}"
        );
    }

    /// On a phone the page keeps its width: a viewport, and the wide table scrolls in its box.
    #[test]
    fn the_fleet_page_fits_a_phone() {
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let page = fleet_html(&fleet_view(Vec::new(), now), &config());
        assert!(page.contains(VIEWPORT) && page.contains(".scroll{overflow-x:auto"));
        assert!(
            page.contains("<div class=scroll><table id=fleet>"),
            "{page}"
        );
    }
}
