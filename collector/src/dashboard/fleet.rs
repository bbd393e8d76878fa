//! The `/fleet` page, for the technicians: every probe, the broken ones first, what each of its
//! modems sees now, when it last reported and how regularly over the last day. An alert every
//! probe shares (a fleet-wide clock problem) is said once above the table, so the probe that is
//! really broken stands out. The page refreshes itself every minute (no script).

use super::DashboardState;
use crate::alerts::fleet_view;
use crate::config::CollectorConfig;
use crate::http::ApiError;
use crate::indicators::simulated::percent;
use crate::report::html::{PAGE_CSS, PHONE_CSS, VIEWPORT, esc, local_str, local_time, zone_name};
use crate::store::LatestReading;
use axum::extract::{Query, State};
use axum::response::Html;
use chrono::{DateTime, Utc};
use fathom_shared::Rat;
use fathom_shared::api::{FleetProbe, FleetResponse};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Appends to a `String`, which cannot fail.
macro_rules! put {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

/// How far back the page looks for readings and uploads.
const HISTORY_MS: i64 = 24 * 3_600_000;
/// The page reloads itself this often, seconds.
const REFRESH_S: u32 = 60;

/// What the page shows besides the fleet view: each probe's latest readings and its results per
/// hour over the last day.
struct History {
    readings: Vec<LatestReading>,
    /// Per probe, results per hour, oldest hour first (24 entries).
    hourly: BTreeMap<String, [i64; 24]>,
}

/// `GET /fleet`.
pub(super) async fn fleet_page(
    State(state): State<DashboardState>,
    Query(params): Query<super::Params>,
) -> Result<Html<String>, axum::response::Response> {
    // A province's county (`county=`): its probes only, named in its view.
    let state = state
        .county(params.county.as_deref(), None)?
        .unwrap_or(state);
    fleet_of(&state)
        .await
        .map_err(axum::response::IntoResponse::into_response)
}

/// The fleet page of `state`'s county (of every county, for the province as a whole).
async fn fleet_of(state: &DashboardState) -> Result<Html<String>, ApiError> {
    let now = Utc::now();
    let mut rows = state.store.fleet().await?;
    if let Some(county) = state.config.scope.as_deref() {
        rows.retain(|r| state.config.county_holds(Some(county), &r.site_id));
    }
    let view = fleet_view(
        crate::alerts::mark_over_budget(rows, |p| state.budgets.refused_at_ms(p)),
        now,
    );
    let since = now.timestamp_millis() - HISTORY_MS;
    let mut hourly: BTreeMap<String, [i64; 24]> = BTreeMap::new();
    for (probe, h, n) in state.store.hourly_results(since).await? {
        if let Ok(i) = usize::try_from(h)
            && i < 24
        {
            hourly.entry(probe).or_insert([0; 24])[i] = n;
        }
    }
    let history = History {
        readings: state.store.latest_readings(since).await?,
        hourly,
    };
    Ok(Html(fleet_html(&view, &history, &state.config, now)))
}

/// A network type as a technician says it (5G SA, 4G), not its wire id (`nr_sa`, `lte`).
pub(super) fn rat_name(rat: Rat) -> &'static str {
    match rat {
        Rat::NrSa => "5G SA",
        Rat::NrNsa => "5G NSA",
        Rat::Lte => "4G",
        Rat::Wcdma => "3G",
        Rat::Gsm => "2G",
        Rat::None => "未注册 no service",
    }
}

/// How long ago, as people say it: 刚刚, 12 分钟前, 3 小时前, 2 天前.
fn ago(then_ms: i64, now_ms: i64) -> String {
    let s = (now_ms - then_ms).max(0) / 1000;
    match s {
        0..60 => "刚刚".to_owned(),
        60..3600 => format!("{} 分钟前", s / 60),
        3600..86_400 => format!("{} 小时前", s / 3600),
        _ => format!("{} 天前", s / 86_400),
    }
}

/// How urgent an alert is: a probe that is dead or never came first, then a missing modem,
/// then what only needs attention soon.
fn severity(kind: &str) -> u8 {
    match kind {
        "never_seen" | "silent" => 0,
        "modem_missing" => 1,
        "over_result_budget" => 2,
        "budget_nearly_spent" => 3,
        "clock_unsynced" => 4,
        _ => 5,
    }
}

/// Alert kinds (not about one carrier) that at least three probes and 80 % of the probes not
/// revoked share: a problem of the fleet (a time server, one SIM plan for all), said once. A
/// probe that is dead, never came or lost a modem is listed however many share it: each needs
/// a visit.
fn fleet_wide(probes: &[FleetProbe]) -> Vec<&'static str> {
    let live: Vec<&FleetProbe> = probes.iter().filter(|p| !p.revoked).collect();
    fathom_shared::api::ALERT_KINDS
        .into_iter()
        .filter(|kind| severity(kind) >= 3)
        .filter(|kind| {
            let n = live
                .iter()
                .filter(|p| {
                    p.alerts
                        .iter()
                        .any(|a| a.kind == *kind && a.carrier.is_none())
                })
                .count();
            n >= 3 && n * 5 >= live.len() * 4
        })
        .collect()
}

/// The probes in the order a technician works through them: by their most urgent alert not
/// shared by the whole fleet, then those without, each by id.
fn ranked<'a>(probes: &'a [FleetProbe], shared: &[&str]) -> Vec<&'a FleetProbe> {
    let mut out: Vec<&FleetProbe> = probes.iter().collect();
    out.sort_by_key(|p| {
        let worst = p
            .alerts
            .iter()
            .filter(|a| !shared.contains(&a.kind.as_str()))
            .map(|a| severity(&a.kind))
            .min()
            .unwrap_or(u8::MAX);
        (p.revoked, worst, p.probe_id.clone())
    });
    out
}

/// A day of hourly result counts as a strip of bars (· for an hour without any).
fn strip(hours: &[i64; 24]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = hours.iter().copied().max().unwrap_or(0).max(1);
    hours
        .iter()
        .map(|&n| {
            if n == 0 {
                '·'
            } else {
                let i = usize::try_from((n * 7).div_euclid(max)).unwrap_or(7).min(7);
                BARS[i]
            }
        })
        .collect()
}

/// The fleet page's HTML, with a way back to the dashboard: sites and carriers by name, times
/// in the county's zone and as "how long ago".
fn fleet_html(
    view: &FleetResponse,
    history: &History,
    config: &CollectorConfig,
    now: DateTime<Utc>,
) -> String {
    let tz = config.timezone;
    let now_ms = now.timestamp_millis();
    let shared = fleet_wide(&view.probes);
    let needing = view
        .probes
        .iter()
        .filter(|p| p.alerts.iter().any(|a| !shared.contains(&a.kind.as_str())))
        .count();
    let mut h = String::new();
    put!(
        h,
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>{VIEWPORT}\
         <meta http-equiv=refresh content={REFRESH_S}><title>探针状态 Fleet</title>\
         <style>{PAGE_CSS}.alert{{color:#b00}}.strip{{font-family:monospace;letter-spacing:-1px;white-space:nowrap}}\
         @font-face{{font-family:FathomCJK;src:url(\"{font}\")}}\
         body,td,th{{font-family:FathomCJK,sans-serif}}{PHONE_CSS}</style>\
         </head><body><nav><a id=nav-dashboard href=\"/\">← 指标看板 dashboard</a> <a href=\"/map\">站点地图 map</a></nav>\
         <h1>探针状态 Fleet health</h1><p>更新于 {}（{}），每 {REFRESH_S} 秒自动刷新 · 探针 probes: {} · 需处理 need attention: {needing}</p>",
        esc(&local_str(&view.now, tz)),
        zone_name(tz),
        view.probes.len(),
        font = super::font::url(),
    );
    for kind in &shared {
        let with: Vec<&FleetProbe> = view
            .probes
            .iter()
            .filter(|p| p.alerts.iter().any(|a| a.kind == *kind))
            .collect();
        let message = with
            .iter()
            .flat_map(|p| &p.alerts)
            .find(|a| a.kind == *kind)
            .map_or("", |a| a.message.as_str());
        put!(
            h,
            "<p class=banner id=fleet-wide data-kind={kind}>全部 {} 个探针中 {} 个：{}<br><span class=note>全网共有的问题（时间服务器、防火墙……）只在此处列出一次，不在下表逐个重复。 Shared by the fleet; not repeated below.</span></p>",
            view.probes.iter().filter(|p| !p.revoked).count(),
            with.len(),
            esc(message)
        );
    }
    put!(
        h,
        "<div class=scroll><table id=fleet><tr><th>探针 probe</th><th>站点 site</th><th>告警 alerts</th>\
         <th>最后上报 last seen</th><th>近 24 小时结果 last 24 h</th><th>版本 version</th><th>待传 spool</th>\
         <th>时钟 clock</th></tr>"
    );
    for p in ranked(&view.probes, &shared) {
        h.push_str(&probe_row(p, history, config, &shared, now_ms));
    }
    put!(h, "</table></div>");
    h.push_str(&modems_html(view, history, config, now_ms));
    h.push_str("</body></html>");
    h
}

/// A probe's row: its own alerts (not the fleet's), when it last reported and its day.
fn probe_row(
    p: &FleetProbe,
    history: &History,
    config: &CollectorConfig,
    shared: &[&str],
    now_ms: i64,
) -> String {
    let tz = config.timezone;
    let mut alerts = String::new();
    let mut own: Vec<_> = p
        .alerts
        .iter()
        .filter(|a| !shared.contains(&a.kind.as_str()))
        .collect();
    own.sort_by_key(|a| severity(&a.kind));
    for a in own {
        put!(
            alerts,
            "<div class=alert data-kind={}>{}</div>",
            a.kind,
            esc(&a.message)
        );
    }
    let seen = p.last_seen.as_deref().map_or_else(
        || "从未 never".to_owned(),
        |t| {
            let at = DateTime::parse_from_rfc3339(t).map(|t| t.timestamp_millis());
            format!(
                "<span title=\"{}\">{}</span>",
                esc(&local_str(t, tz)),
                at.map_or_else(|_| esc(t), |ms| ago(ms, now_ms))
            )
        },
    );
    let hours = history.hourly.get(&p.probe_id).copied().unwrap_or([0; 24]);
    let total: i64 = hours.iter().sum();
    let (version, spool, clock) = p.status.as_ref().map_or_else(
        || ("—".to_owned(), "—".to_owned(), "—"),
        |s| {
            (
                esc(&s.agent_version),
                s.spool_pending.to_string(),
                if s.clock_synced {
                    "已同步 synced"
                } else {
                    "未同步 unsynced"
                },
            )
        },
    );
    let mut h = String::new();
    put!(
        h,
        "<tr id=\"probe-{id}\"><td><a href=\"/probe/{id}\">{id}</a>{}</td><td><a href=\"/site/{}\">{}</a></td><td>{}</td><td>{seen}</td>\
         <td class=strip title=\"{total} 条 results\">{}</td><td>{version}</td><td>{spool}</td><td>{clock}</td></tr>",
        if p.revoked {
            " (已吊销 revoked)"
        } else {
            ""
        },
        esc(&p.site_id),
        esc(&crate::report::html::site_name(config, &p.site_id)),
        if alerts.is_empty() {
            "—".to_owned()
        } else {
            alerts
        },
        strip(&hours),
        id = esc(&p.probe_id),
    );
    h
}

/// One row per probe and carrier: the network its modem is on, its latest signal, its latest
/// speed test and the data its SIM used of its budget.
fn modems_html(
    view: &FleetResponse,
    history: &History,
    config: &CollectorConfig,
    now_ms: i64,
) -> String {
    let tz = config.timezone;
    let mut h = String::from(
        "<h2>各调制解调器 Modems</h2><div class=scroll><table id=modems><tr><th>探针 probe</th><th>运营商 carrier</th>\
         <th>网络 network</th><th>信号 RSRP / SINR</th><th>最近测速 last speed</th><th>本月流量 data used / budget</th></tr>",
    );
    for p in view.probes.iter().filter(|p| !p.revoked) {
        let mut carriers: Vec<String> = p
            .status
            .iter()
            .flat_map(|s| s.modems.iter().map(|m| m.carrier.id().to_owned()))
            .collect();
        carriers.extend(
            history
                .readings
                .iter()
                .filter(|r| r.probe_id == p.probe_id)
                .map(|r| r.carrier.clone()),
        );
        for c in crate::indicators::carrier_order(carriers) {
            h.push_str(&modem_row(p, &c, history, tz, now_ms));
        }
    }
    h.push_str("</table></div>");
    h
}

/// One modem of a probe: network, signal, last speed, data used.
fn modem_row(p: &FleetProbe, c: &str, history: &History, tz: chrono_tz::Tz, now_ms: i64) -> String {
    let modem = p
        .status
        .iter()
        .flat_map(|s| &s.modems)
        .find(|m| m.carrier.id() == c);
    let reading = |kind: &str| {
        history
            .readings
            .iter()
            .find(|r| r.probe_id == p.probe_id && r.carrier == c && r.kind == kind)
    };
    let network = match modem {
        Some(m) if !m.present => format!(
            "<span class=no>缺失 missing</span> <span class=note>{}</span>",
            esc(m.reason.as_deref().unwrap_or(""))
        ),
        Some(m) => m.rat.map_or("?", rat_name).to_owned(),
        None => "—".to_owned(),
    };
    let signal = reading("radio").map_or_else(
        || "—".to_owned(),
        |r| {
            let v = |x: Option<f64>, u: &str| {
                x.map_or_else(|| "—".to_owned(), |x| format!("{x:.0} {u}"))
            };
            format!(
                "{} / {} <span class=note title=\"{}\">{}</span>",
                v(r.rsrp_dbm, "dBm"),
                v(r.sinr_db, "dB"),
                esc(&local_time(
                    DateTime::from_timestamp_millis(r.measured_at_ms).unwrap_or_default(),
                    tz
                )),
                ago(r.measured_at_ms, now_ms)
            )
        },
    );
    let speed = reading("speed").map_or_else(
        || "—".to_owned(),
        |r| {
            format!(
                "{} <span class=note>{}</span>",
                r.download_mbps.map_or_else(
                    || format!(
                        "<span class=no>失败 failed: {}</span>",
                        esc(r.error.as_deref().unwrap_or(""))
                    ),
                    |v| format!("{v:.1} Mbit/s")
                ),
                ago(r.measured_at_ms, now_ms)
            )
        },
    );
    let data = p
        .status
        .iter()
        .flat_map(|s| &s.budgets)
        .find(|b| b.carrier.id() == c)
        .map_or_else(
            || "—".to_owned(),
            |b| {
                let gb = |bytes: u64| format!("{:.2} GB", bytes as f64 / 1e9);
                match b.budget_bytes {
                    Some(total) if total > 0 => format!(
                        "{} / {}（{}）",
                        gb(b.used_bytes),
                        gb(total),
                        percent(b.used_bytes as f64 / total as f64)
                    ),
                    _ => gb(b.used_bytes),
                }
            },
        );
    let mut h = String::new();
    put!(
        h,
        "<tr><td><a href=\"#probe-{id}\">{id}</a></td><td>{}</td><td>{network}</td><td>{signal}</td><td>{speed}</td><td>{data}</td></tr>",
        esc(&crate::report::html::carrier_name(c)),
        id = esc(&p.probe_id),
    );
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

    fn no_history() -> History {
        History {
            readings: Vec::new(),
            hourly: BTreeMap::new(),
        }
    }

    #[test]
    fn times_as_people_say_them() {
        let m = 60_000;
        assert_eq!(ago(NOW - 20_000, NOW), "刚刚");
        assert_eq!(ago(NOW - 12 * m, NOW), "12 分钟前");
        assert_eq!(ago(NOW - 180 * m, NOW), "3 小时前");
        assert_eq!(ago(NOW - 3 * 24 * 60 * m, NOW), "3 天前");
        // A clock ahead of the collector's is not "in the future".
        assert_eq!(ago(NOW + m, NOW), "刚刚");
    }

    fn probe(id: &str, kinds: &[&str]) -> FleetProbe {
        FleetProbe {
            probe_id: id.into(),
            site_id: "bus-station".into(),
            last_seen: None,
            last_seen_age_s: None,
            revoked: false,
            status: None,
            alerts: kinds
                .iter()
                .map(|k| fathom_shared::api::Alert {
                    kind: (*k).to_owned(),
                    carrier: None,
                    message: format!("{k} message"),
                })
                .collect(),
        }
    }

    #[test]
    fn a_problem_the_whole_fleet_shares_is_said_once_and_the_broken_probe_comes_first() {
        let probes = vec![
            probe("a", &["clock_unsynced"]),
            probe("b", &["clock_unsynced", "silent"]),
            probe("c", &["clock_unsynced"]),
            probe("d", &["clock_unsynced", "budget_nearly_spent"]),
            probe("e", &[]),
        ];
        let shared = fleet_wide(&probes);
        assert_eq!(shared, ["clock_unsynced"]);
        let order: Vec<&str> = ranked(&probes, &shared)
            .iter()
            .map(|p| p.probe_id.as_str())
            .collect();
        assert_eq!(order, ["b", "d", "a", "c", "e"]);
        // Two of five is not the fleet.
        assert!(fleet_wide(&probes[..2]).is_empty());
        // Dead probes are each listed, however many.
        let dead: Vec<FleetProbe> = ["a", "b", "c"]
            .iter()
            .map(|id| probe(id, &["silent"]))
            .collect();
        assert!(fleet_wide(&dead).is_empty());
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let view = FleetResponse {
            now: "2025-11-24T16:00:00Z".into(),
            probes,
        };
        let page = fleet_html(&view, &no_history(), &config(), now);
        assert_eq!(page.matches("clock_unsynced message").count(), 1, "{page}");
        assert!(
            page.contains("全部 5 个探针中 4 个：clock_unsynced message"),
            "{page}"
        );
        assert!(page.contains("需处理 need attention: 2"), "{page}");
        assert!(page.find("id=\"probe-b\"") < page.find("id=\"probe-a\""));
        assert!(page.contains("<meta http-equiv=refresh content=60>"));
    }

    #[test]
    fn a_day_of_uploads_as_a_strip() {
        let mut hours = [0; 24];
        hours[0] = 8;
        hours[1] = 4;
        hours[23] = 1;
        let s = strip(&hours);
        assert_eq!(s.chars().count(), 24);
        assert!(s.starts_with("█▄·") && s.ends_with('▁'), "{s}");
        assert_eq!(strip(&[0; 24]), "·".repeat(24));
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
        let page = fleet_html(&fleet_view(vec![row], now), &no_history(), &config(), now);
        assert!(page.contains(">沂源汽车站</a></td>"), "{page}");
        assert!(page.contains("2025-11-25 00:00"), "{page}");
        assert!(page.contains("（北京时间）"), "{page}");
    }

    #[test]
    fn the_fleet_page_leads_back_to_the_dashboard() {
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let page = fleet_html(&fleet_view(Vec::new(), now), &no_history(), &config(), now);
        assert!(
            page.contains("<nav><a id=nav-dashboard href=\"/\">← 指标看板 dashboard</a>"),
            "{page}"
        );
    }

    /// On a phone the page keeps its width: a viewport, and the wide table scrolls in its box.
    #[test]
    fn the_fleet_page_fits_a_phone() {
        let now = DateTime::from_timestamp_millis(NOW).expect("a time");
        let page = fleet_html(&fleet_view(Vec::new(), now), &no_history(), &config(), now);
        assert!(page.contains(VIEWPORT) && page.contains(".scroll{overflow-x:auto"));
        assert!(
            page.contains("<div class=scroll><table id=fleet>"),
            "{page}"
        );
    }
}
