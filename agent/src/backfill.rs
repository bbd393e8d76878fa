//! Simulated history for demos: weeks of results a probe with simulated modems would have made,
//! with a trend (speeds and 5G coverage improving week by week) so charts have a shape.
//!
//! Pure: time, randomness (a seeded generator) and the modems' scripts are inputs; every result is
//! marked `simulated` and passes the wire format's validation.

use crate::radio::sim::{SimModem, SimWebsite};
use chrono::{DateTime, Duration, Timelike, Utc};
use fathom_shared::result::{Ipv6Check, RadioSample, SpeedDirection, SpeedTest, limits};
use fathom_shared::{
    InterfaceName, Measurement, Meets5gThresholds, ProbeId, Rat, ResultHeader, ResultId,
    ResultRecord, SCHEMA_VERSION, SiteId, SpeedProtocol, radio::meets_5g,
};
use rand::rngs::StdRng;
use rand::{Rng, RngCore, SeedableRng};

/// One simulated modem of the probe.
#[derive(Debug, Clone)]
pub struct BackfillModem {
    /// Its interface.
    pub interface: Option<InterfaceName>,
    /// Its script.
    pub sim: SimModem,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct BackfillPlan {
    /// The probe.
    pub probe_id: ProbeId,
    /// Its site.
    pub site_id: SiteId,
    /// Test server URL written into speed results.
    pub server: String,
    /// The modems.
    pub modems: Vec<BackfillModem>,
    /// Websites for daily IPv6 checks.
    pub websites: Vec<SimWebsite>,
}

const SPEED_EVERY_MIN: i64 = 120;
const RADIO_EVERY_MIN: i64 = 30;
/// Speed factor of the oldest week; rises linearly to 1.0 now.
const OLDEST_FACTOR: f64 = 0.7;
/// Chance that an NR state shows as LTE in the oldest week; falls to 0 now.
const OLDEST_NR_LOSS: f64 = 0.15;

fn id(rng: &mut StdRng, t: DateTime<Utc>) -> ResultId {
    let mut random = [0u8; 10];
    rng.fill_bytes(&mut random);
    ResultId::from_parts(u64::try_from(t.timestamp_millis()).unwrap_or(0), &random)
}

fn header(
    plan: &BackfillPlan,
    m: &BackfillModem,
    rng: &mut StdRng,
    t: DateTime<Utc>,
) -> ResultHeader {
    ResultHeader {
        schema: SCHEMA_VERSION,
        id: id(rng, t),
        probe_id: plan.probe_id.clone(),
        site_id: plan.site_id.clone(),
        carrier: m.sim.carrier,
        interface: m.interface.clone(),
        measured_at: t.into(),
        clock_synced: true,
        simulated: true,
        age_ms: None,
    }
}

fn speed(
    plan: &BackfillPlan,
    link: f64,
    progress: f64,
    t: DateTime<Utc>,
    rng: &mut StdRng,
) -> SpeedTest {
    let failed = rng.random_bool(0.02);
    // Evening busy hours (19–22 in China, 11–14 UTC) are slower.
    let busy = if (11..=14).contains(&t.hour()) {
        0.8
    } else {
        1.0
    };
    let factor =
        (OLDEST_FACTOR + (1.0 - OLDEST_FACTOR) * progress) * busy * rng.random_range(0.85..1.15);
    let mbps = (link * factor).clamp(0.1, limits::MAX_DOWNLOAD_MBPS);
    let duration_ms: u32 = rng.random_range(6000..10_000);
    let idle: f64 = (rng.random_range(18.0..45.0_f64) * 10.0).round() / 10.0;
    SpeedTest {
        download_mbps: (!failed).then_some((mbps * 100.0).round() / 100.0),
        bytes_downloaded: if failed {
            rng.random_range(0..200_000)
        } else {
            (mbps * 1e6 / 8.0 * f64::from(duration_ms) / 1000.0) as u64
        },
        duration_ms: u64::from(duration_ms),
        latency_idle_ms: Some(idle),
        latency_loaded_ms: (!failed)
            .then(|| (idle * rng.random_range(1.5..4.0) * 10.0).round() / 10.0),
        streams: u32::from(!failed),
        protocol: SpeedProtocol::Http,
        server: plan.server.clone(),
        error: failed.then(|| "timed out waiting for data from the test server".to_owned()),
        jitter_ms: None,
        stable: None,
        ramp_up_ms: None,
        samples_mbps: Vec::new(),
        rat: None,
        direction: SpeedDirection::Download,
        upload_mbps: None,
        bytes_uploaded: 0,
        latency_idle_p90_ms: None,
        latency_loaded_p90_ms: None,
        rpm: None,
    }
}

fn radio(sim: &SimModem, n: u64, progress: f64, rng: &mut StdRng) -> RadioSample {
    let mut r = sim.reading(n);
    if r.rat.is_nr() && rng.random_bool(OLDEST_NR_LOSS * (1.0 - progress)) {
        r.rat = Rat::Lte;
        r.band = Some("B3".to_owned());
    }
    let wobble = |v: Option<f64>, (lo, hi): (f64, f64), rng: &mut StdRng| {
        v.map(|x| ((x + rng.random_range(-2.0..2.0)) * 10.0).round() / 10.0)
            .map(|x| x.clamp(lo, hi))
    };
    r.rsrp_dbm = wobble(r.rsrp_dbm, limits::RSRP_DBM, rng);
    r.rsrq_db = wobble(r.rsrq_db, limits::RSRQ_DB, rng);
    r.sinr_db = wobble(r.sinr_db, limits::SINR_DB, rng);
    let s = r.to_sample(&Meets5gThresholds::default());
    debug_assert_eq!(
        s.meets_5g,
        meets_5g(s.rat, s.rsrp_dbm, s.sinr_db, &Meets5gThresholds::default())
    );
    s
}

fn ipv6(site: &SimWebsite, i: usize) -> Ipv6Check {
    let host = site.host().to_owned();
    let ok = site.supports_ipv6;
    Ipv6Check {
        url: site.url.clone(),
        host,
        aaaa: if ok {
            vec![
                format!("fd00::1:{:x}", i + 1)
                    .parse()
                    .unwrap_or(std::net::Ipv6Addr::LOCALHOST),
            ]
        } else {
            Vec::new()
        },
        home_ok_v6: Some(ok),
        links_checked: if ok { 20 } else { 0 },
        links_ok_v6: if ok { 20 } else { 0 },
        supports_ipv6: Some(ok),
        probe_ipv6: true,
        reason: (!ok).then(|| "no AAAA record".to_owned()),
    }
}

/// Where `weeks` weeks of history before `to` start: the Monday 00:00 UTC of the week `weeks`
/// weeks back, so the oldest week is (nearly) whole in any time zone east of UTC and the trend
/// does not begin with a half-empty week.
pub fn history_start(to: DateTime<Utc>, weeks: u32) -> DateTime<Utc> {
    let back = to - Duration::weeks(i64::from(weeks));
    let monday = back.date_naive().week(chrono::Weekday::Mon).first_day();
    monday.and_time(chrono::NaiveTime::MIN).and_utc()
}

/// Every result of `plan` between `from` and `to`, in time order.
pub fn generate(
    plan: &BackfillPlan,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    seed: u64,
) -> Vec<ResultRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let span = (to - from).num_seconds().max(1) as f64;
    let progress = |t: DateTime<Utc>| ((t - from).num_seconds() as f64 / span).clamp(0.0, 1.0);
    let mut out = Vec::new();
    for (k, m) in plan.modems.iter().enumerate() {
        // Modems take turns: one speed test at a time per probe.
        let mut t = from + Duration::minutes(20 * k as i64);
        while t < to {
            if let Some(link) = m.sim.link_mbps {
                let test = speed(plan, link, progress(t), t, &mut rng);
                out.push(ResultRecord {
                    header: header(plan, m, &mut rng, t),
                    measurement: Measurement::Speed(test),
                });
            }
            t += Duration::minutes(SPEED_EVERY_MIN);
        }
        let mut t = from + Duration::minutes(k as i64);
        let mut n = 0;
        while t < to {
            let sample = radio(&m.sim, n, progress(t), &mut rng);
            out.push(ResultRecord {
                header: header(plan, m, &mut rng, t),
                measurement: Measurement::Radio(sample),
            });
            n += 1;
            t += Duration::minutes(RADIO_EVERY_MIN);
        }
    }
    if let Some(first) = plan.modems.first() {
        let mut day = from + Duration::hours(3);
        while day < to {
            for (i, w) in plan.websites.iter().enumerate() {
                let t = day + Duration::minutes(i as i64);
                out.push(ResultRecord {
                    header: header(plan, first, &mut rng, t),
                    measurement: Measurement::Ipv6(ipv6(w, i)),
                });
            }
            day += Duration::days(1);
        }
    }
    out.sort_by_key(|r| r.header.measured_at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radio::sim::SimFile;

    fn plan() -> BackfillPlan {
        let file = SimFile::parse(
            r#"
[[modem]]
carrier = "cmcc"
link_mbps = 100.0
[[modem.state]]
rat = "nr_sa"
rsrp_dbm = -85.0
rsrq_db = -10.0
sinr_db = 15.0
band = "n41"
cell_id = "1A"
[[website]]
url = "https://www.gov.example/"
supports_ipv6 = true
[[website]]
url = "https://news.example/"
supports_ipv6 = false
"#,
        )
        .unwrap();
        BackfillPlan {
            probe_id: ProbeId::parse("p1").unwrap(),
            site_id: SiteId::parse("s1").unwrap(),
            server: "http://127.0.0.1:8787".to_owned(),
            modems: vec![BackfillModem {
                interface: None,
                sim: file.modems[0].clone(),
            }],
            websites: file.websites,
        }
    }

    fn span() -> (DateTime<Utc>, DateTime<Utc>) {
        let to = DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        (to - Duration::weeks(4), to)
    }

    #[test]
    fn every_generated_result_is_valid_simulated_and_unique() {
        let (from, to) = span();
        let results = generate(&plan(), from, to, 7);
        // 4 weeks: 12 speed tests and 48 radio samples a day, 2 websites a day.
        assert_eq!(results.len(), 28 * (12 + 48 + 2));
        let mut ids = std::collections::HashSet::new();
        for r in &results {
            r.validate(to)
                .unwrap_or_else(|e| panic!("{e}: {:?}", r.to_json()));
            assert!(r.header.simulated);
            assert!(ids.insert(r.header.id));
            assert!(
                r.header.measured_at.datetime() >= from && r.header.measured_at.datetime() < to
            );
        }
    }

    #[test]
    fn history_starts_on_the_monday_of_the_oldest_week() {
        let to = DateTime::parse_from_rfc3339("2026-11-29T01:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        // Eight weeks before Sunday 29 November is Sunday 4 October; its week began Monday 28 September.
        let from = history_start(to, 8);
        assert_eq!(
            from,
            DateTime::parse_from_rfc3339("2026-09-28T00:00:00Z")
                .unwrap()
                .with_timezone(&Utc)
        );
        assert_eq!(
            history_start(from, 0),
            from,
            "a Monday midnight is its own start"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_history() {
        let (from, to) = span();
        assert_eq!(
            generate(&plan(), from, to, 3),
            generate(&plan(), from, to, 3)
        );
        assert_ne!(
            generate(&plan(), from, to, 3),
            generate(&plan(), from, to, 4)
        );
    }

    #[test]
    fn speeds_and_5g_coverage_rise_over_the_weeks() {
        let (from, to) = span();
        let results = generate(&plan(), from, to, 11);
        let mid = from + (to - from) / 2;
        let mean = |early: bool| {
            let v: Vec<f64> = results
                .iter()
                .filter(|r| (r.header.measured_at.datetime() < mid) == early)
                .filter_map(|r| match &r.measurement {
                    Measurement::Speed(s) => s.download_mbps,
                    _ => None,
                })
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        assert!(
            mean(false) > mean(true) * 1.05,
            "late {} vs early {}",
            mean(false),
            mean(true)
        );
        let share_5g = |early: bool| {
            let v: Vec<bool> = results
                .iter()
                .filter(|r| (r.header.measured_at.datetime() < mid) == early)
                .filter_map(|r| match &r.measurement {
                    Measurement::Radio(s) => Some(s.meets_5g),
                    _ => None,
                })
                .collect();
            v.iter().filter(|b| **b).count() as f64 / v.len() as f64
        };
        assert!(share_5g(false) > share_5g(true));
    }
}
