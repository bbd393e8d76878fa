//! The pure parts of `fathom-loadgen` (the ingest load benchmark's simulated probes): the probe
//! list it reads, the results it makes, and the figures it reports.
//!
//! Results are built as wire-format JSON and checked with the real decoder and validator of
//! `fathom-shared`, so the collector is loaded with exactly what agents send.

use fathom_shared::{ResultId, ResultRecord, UtcTime};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

/// A registered probe: a line of `fathom-collector probe add-many`'s output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProbe {
    /// Its id.
    pub id: String,
    /// Its site.
    pub site: String,
    /// Its bearer token.
    pub token: String,
}

/// Reads `probe add-many`'s output: `ID<TAB>SITE<TAB>TOKEN` a line.
pub fn parse_tokens(text: &str) -> Result<Vec<LoadProbe>, String> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, l)| {
            let mut f = l.split('\t');
            match (f.next(), f.next(), f.next(), f.next()) {
                (Some(id), Some(site), Some(token), None) => Ok(LoadProbe {
                    id: id.to_owned(),
                    site: site.to_owned(),
                    token: token.trim().to_owned(),
                }),
                _ => Err(format!("line {}: expected ID<TAB>SITE<TAB>TOKEN", n + 1)),
            }
        })
        .collect()
}

const CARRIERS: [&str; 3] = ["cmcc", "cu", "ct"];

/// The `n`th result of a probe, measured at `at_ms` (Unix ms): of every ten, four speed tests
/// (one failed), five radio samples (5G SA, NSA, LTE) and one IPv6 check, as a probe with three
/// modems makes them. Each call gives a fresh id.
pub fn result(probe: &LoadProbe, n: usize, at_ms: i64) -> Value {
    let carrier = CARRIERS[n % CARRIERS.len()];
    let at = chrono::DateTime::from_timestamp_millis(at_ms).unwrap_or_default();
    let id = ResultId::at(u64::try_from(at_ms).unwrap_or_default());
    let mut v = json!({
        "schema": 1, "id": id.to_string(), "probe_id": probe.id, "site_id": probe.site,
        "carrier": carrier, "interface": format!("wwan{}", n % CARRIERS.len()),
        "measured_at": UtcTime::from_datetime(at).to_string(), "clock_synced": true,
    });
    let rest = match n % 10 {
        0..=2 => json!({"kind": "speed", "download_mbps": 20.0 + (n % 70) as f64,
            "bytes_downloaded": 26_000_000, "duration_ms": 4900, "latency_idle_ms": 31.0,
            "latency_loaded_ms": 80.0, "streams": 4, "protocol": "http",
            "server": "https://collector.example.cn:8787/", "error": null, "jitter_ms": 2.4,
            "stable": true, "ramp_up_ms": 640,
            "samples_mbps": [18.2, 31.5, 40.1, 41.7]}),
        3 => json!({"kind": "speed", "download_mbps": null, "bytes_downloaded": 0,
            "duration_ms": 10_000, "latency_idle_ms": null, "latency_loaded_ms": null,
            "streams": 4, "protocol": "http", "server": "https://collector.example.cn:8787/",
            "error": "timeout: no byte within 10 s"}),
        4..=8 => {
            let (rat, rsrp, sinr, band) = match n % 3 {
                0 => ("nr_sa", -88.0, 15.0, "n41"),
                1 => ("nr_nsa", -97.0, 6.0, "n78"),
                _ => ("lte", -101.0, 3.0, "B3"),
            };
            json!({"kind": "radio", "plmn": "46000", "rat": rat, "rsrp_dbm": rsrp,
                "rsrq_db": -11.0, "sinr_db": sinr, "band": band, "cell_id": "1A2B3C4D5",
                "meets_5g": rat != "lte"})
        }
        _ => json!({"kind": "ipv6", "url": "https://www.gov.example/", "host": "www.gov.example",
            "aaaa": ["fd00::10"], "home_ok_v6": true, "links_checked": 20, "links_ok_v6": 19,
            "supports_ipv6": true, "probe_ipv6": true, "reason": null}),
    };
    if let (Some(obj), Value::Object(extra)) = (v.as_object_mut(), rest) {
        obj.extend(extra);
    }
    v
}

/// Checks a made result with the collector's own decoder and validator.
pub fn check(v: &Value, now: chrono::DateTime<chrono::Utc>) -> Result<(), String> {
    let r = ResultRecord::from_json(v).map_err(|e| e.to_string())?;
    r.validate(now).map_err(|e| e.to_string())
}

/// The `p`th percentile (0..=100) of sorted `samples`, nearest rank; `None` when empty.
pub fn percentile(sorted: &[Duration], p: f64) -> Option<Duration> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// What one phase measured.
#[derive(Debug, Default)]
pub struct Tally {
    /// Latency of every answered request.
    pub latencies: Vec<Duration>,
    /// Results the collector acknowledged as stored now.
    pub accepted: u64,
    /// Results it acknowledged as stored before.
    pub duplicate: u64,
    /// Requests answered 200.
    pub ok: u64,
    /// Refused or failed requests by status (`connection` when none came).
    pub errors: BTreeMap<String, u64>,
}

impl Tally {
    /// Adds another worker's tally.
    pub fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.accepted += other.accepted;
        self.duplicate += other.duplicate;
        self.ok += other.ok;
        for (k, v) in other.errors {
            *self.errors.entry(k).or_default() += v;
        }
    }

    /// The phase's figures as one JSON object.
    pub fn summary(mut self, phase: &str, probes: usize, elapsed: Duration) -> Value {
        self.latencies.sort();
        let ms = |d: Option<Duration>| d.map(|d| (d.as_secs_f64() * 1e4).round() / 10.0);
        let secs = elapsed.as_secs_f64();
        json!({
            "phase": phase,
            "probes": probes,
            "requests": self.latencies.len() as u64 + self.errors.get("connection").copied().unwrap_or(0),
            "ok": self.ok,
            "accepted": self.accepted,
            "duplicate": self.duplicate,
            "seconds": (secs * 1000.0).round() / 1000.0,
            "results_per_s": if secs > 0.0 { (self.accepted as f64 / secs).round() } else { 0.0 },
            "p50_ms": ms(percentile(&self.latencies, 50.0)),
            "p99_ms": ms(percentile(&self.latencies, 99.0)),
            "max_ms": ms(self.latencies.last().copied()),
            "errors": self.errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe() -> LoadProbe {
        LoadProbe {
            id: "load-00001".into(),
            site: "county-hospital".into(),
            token: "fth_x".into(),
        }
    }

    #[test]
    fn every_made_result_passes_the_wire_validator_with_a_fresh_id() {
        let now = chrono::Utc::now();
        let at = now.timestamp_millis() - 60_000;
        let mut ids = std::collections::HashSet::new();
        let mut kinds = BTreeMap::<String, usize>::new();
        for n in 0..30 {
            let v = result(&probe(), n, at);
            check(&v, now).unwrap_or_else(|e| panic!("result {n} is invalid: {e}\n{v}"));
            assert!(ids.insert(v["id"].as_str().unwrap().to_owned()));
            *kinds
                .entry(v["kind"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        assert_eq!(kinds["speed"], 12);
        assert_eq!(kinds["radio"], 15);
        assert_eq!(kinds["ipv6"], 3);
    }

    #[test]
    fn a_result_from_the_future_is_caught_before_it_is_sent() {
        let now = chrono::Utc::now();
        let v = result(&probe(), 0, now.timestamp_millis() + 3_600_000);
        assert!(check(&v, now).is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let d: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&d, 50.0), Some(Duration::from_millis(50)));
        assert_eq!(percentile(&d, 99.0), Some(Duration::from_millis(99)));
        assert_eq!(percentile(&d, 100.0), Some(Duration::from_millis(100)));
        assert_eq!(percentile(&d, 0.0), Some(Duration::from_millis(1)));
        assert_eq!(
            percentile(&[Duration::from_millis(7)], 99.0),
            Some(Duration::from_millis(7))
        );
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn the_token_list_is_read_and_bad_lines_are_named() {
        let p = parse_tokens("a-01\ts\tfth_1\n\nb-01\tt\tfth_2\n").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].token, "fth_2");
        assert_eq!(
            parse_tokens("a-01\ts\n").unwrap_err(),
            "line 1: expected ID<TAB>SITE<TAB>TOKEN"
        );
    }

    #[test]
    fn tallies_merge_and_summarise() {
        let mut a = Tally {
            latencies: vec![Duration::from_millis(10)],
            accepted: 50,
            ok: 1,
            ..Tally::default()
        };
        let mut b = Tally {
            latencies: vec![Duration::from_millis(30)],
            accepted: 50,
            ok: 1,
            ..Tally::default()
        };
        b.errors.insert("429".into(), 2);
        a.merge(b);
        let s = a.summary("steady", 2, Duration::from_secs(2));
        assert_eq!(s["accepted"], 100);
        assert_eq!(s["results_per_s"], 50.0);
        assert_eq!(s["p50_ms"], 10.0);
        assert_eq!(s["p99_ms"], 30.0);
        assert_eq!(s["errors"]["429"], 2);
    }
}
