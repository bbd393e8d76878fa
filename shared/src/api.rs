//! The upload API: request and answer bodies, error bodies, limits, and the OpenAPI description
//! (`openapi.json`, checked in beside this crate and tested against these types).

use serde::{Deserialize, Serialize};

/// Path of the upload endpoint.
pub const RESULTS_PATH: &str = "/api/v1/results";
/// Path of the health endpoint.
pub const HEALTH_PATH: &str = "/api/v1/health";
/// Path of the download endpoint of the speed test.
pub const DOWNLOAD_PATH: &str = "/api/v1/download";
/// Path of the latency endpoint of the speed test.
pub const PING_PATH: &str = "/api/v1/ping";
/// Path where the collector serves [`OPENAPI_JSON`].
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// Most results one upload may carry.
pub const MAX_RESULTS_PER_UPLOAD: usize = 1000;
/// Largest upload body, in bytes. 1000 results of about 600 bytes fit with room to spare.
pub const MAX_UPLOAD_BYTES: usize = 2 * 1024 * 1024;
/// Largest download one speed-test request may ask for, in bytes.
pub const MAX_DOWNLOAD_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The OpenAPI 3.1 description of the collector's probe-facing API.
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Path of the enrollment endpoint.
pub const ENROLL_PATH: &str = "/api/v1/enroll";

/// The body of `POST /api/v1/enroll`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    /// The one-time code printed by `fathom-collector probe enroll-code`.
    pub code: String,
}

/// The answer to a good enrollment code: what the probe's config needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollResponse {
    /// The probe's id.
    pub probe_id: String,
    /// The site it is registered at.
    pub site_id: String,
    /// Its new bearer token (any earlier one is refused from now on).
    pub token: String,
}

/// Path of the fleet health endpoint.
pub const FLEET_PATH: &str = "/api/v1/fleet";
/// Path of the Prometheus metrics.
pub const METRICS_PATH: &str = "/metrics";

/// The body of `POST /api/v1/results`. Results are kept as JSON values so that each can be read
/// and judged on its own, and an error can name the result it is about.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UploadRequest {
    /// Results in wire format.
    pub results: Vec<serde_json::Value>,
    /// The probe's health as it sends, a [`ProbeStatus`] (optional: older probes send none).
    /// Kept as JSON so that a status the collector cannot read never costs the results: it is
    /// then logged and ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

/// A probe's health, sent with each upload; the collector keeps the latest per probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeStatus {
    /// The agent's version.
    pub agent_version: String,
    /// Each configured modem, by its last radio reading.
    pub modems: Vec<ModemStatus>,
    /// Results waiting in the spool (this upload's included).
    pub spool_pending: u64,
    /// Whether the probe's clock is synchronised now.
    pub clock_synced: bool,
    /// Data used by speed tests this month, per SIM.
    pub budgets: Vec<BudgetStatus>,
}

/// One modem's state from its last radio reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModemStatus {
    /// The carrier it is configured for.
    pub carrier: crate::Carrier,
    /// True when its last reading found it registered on a network; false when the modem was
    /// missing, had no SIM or no registration, or was never read.
    pub present: bool,
    /// Access technology of the last reading.
    pub rat: Option<crate::Rat>,
    /// Why it is not present, in one line.
    pub reason: Option<String>,
}

/// One SIM's data used this month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The carrier whose SIM it is.
    pub carrier: crate::Carrier,
    /// Bytes used by speed tests this month (UTC).
    pub used_bytes: u64,
    /// The monthly budget, when one is set.
    pub budget_bytes: Option<u64>,
}

/// One probe in `GET /api/v1/fleet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetProbe {
    /// The probe's id.
    pub probe_id: String,
    /// Its site.
    pub site_id: String,
    /// When it last uploaded (RFC 3339), or null when it never did.
    pub last_seen: Option<String>,
    /// Seconds since then, or null.
    pub last_seen_age_s: Option<i64>,
    /// Whether its token is revoked.
    pub revoked: bool,
    /// Its latest status, or null when it never sent one.
    pub status: Option<ProbeStatus>,
    /// What needs attention.
    pub alerts: Vec<Alert>,
}

/// Something about a probe that needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// `never_seen`, `silent`, `modem_missing`, `budget_nearly_spent` or `clock_unsynced`.
    pub kind: String,
    /// The carrier concerned, when one is.
    pub carrier: Option<crate::Carrier>,
    /// One line saying what and what to do.
    pub message: String,
}

/// The answer of `GET /api/v1/fleet`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetResponse {
    /// When the answer was made (RFC 3339).
    pub now: String,
    /// Every registered probe, by id.
    pub probes: Vec<FleetProbe>,
}

/// The answer to an accepted upload: every result in it is now stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadResponse {
    /// Results stored by this upload.
    pub accepted: u64,
    /// Results whose id was already stored (a retried upload); not stored again.
    pub duplicate: u64,
    /// What the bureau wants this probe to do (absent from older collectors).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settings: Option<ProbeSettings>,
}

/// A probe's settings as the collector gives them with each upload's answer, so the bureau
/// changes schedules, the test server, the ten websites and the data budgets in one place. A
/// value set in the probe's own file wins over the collector's; `None` leaves the probe's
/// default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProbeSettings {
    /// Changes whenever anything below changes, so a probe applies (and logs) only news.
    pub version: String,
    /// Seconds between radio samples per modem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub radio_every_s: Option<u64>,
    /// Seconds per speed-test period per modem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_every_s: Option<u64>,
    /// Seconds between rounds of IPv6 website checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_every_s: Option<u64>,
    /// Speed-test server base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub speed_server: Option<String>,
    /// The websites whose IPv6 support is checked (home page URLs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub websites: Vec<String>,
    /// Monthly data budget of each SIM for speed tests, bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub monthly_budget_bytes: Option<u64>,
}

/// The body of every 4xx and 5xx answer: one line saying why, and for a refused result which
/// one it was, so that a probe can set that result aside and send the others.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// One line saying what was wrong.
    pub error: String,
    /// Index in `results` of the result refused, when one result is the cause.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Id of the result refused, when it could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// The answer of `GET /api/v1/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthResponse {
    /// `"ok"` when the collector and its database answer.
    pub status: String,
    /// The collector's version.
    pub version: String,
    /// The wire format version it reads.
    pub schema: u32,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::ResultRecord;
    use crate::{Carrier, Rat, SiteCategory};
    use serde_json::Value;
    use std::collections::BTreeSet;

    fn spec() -> Value {
        serde_json::from_str(OPENAPI_JSON).expect("openapi.json is JSON")
    }

    fn schema<'a>(spec: &'a Value, name: &str) -> &'a Value {
        &spec["components"]["schemas"][name]
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object()
            .map(|o| o.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn enum_values(v: &Value) -> BTreeSet<String> {
        v["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect()
    }

    /// Properties of a kind's schema: the header's plus its own (`allOf`).
    fn kind_properties(spec: &Value, name: &str) -> BTreeSet<String> {
        let mut props = keys(&schema(spec, "ResultHeader")["properties"]);
        for part in schema(spec, name)["allOf"].as_array().unwrap() {
            props.extend(keys(&part["properties"]));
        }
        props
    }

    #[test]
    fn the_spec_describes_the_paths_the_collector_serves() {
        let spec = spec();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [RESULTS_PATH, HEALTH_PATH, DOWNLOAD_PATH, PING_PATH] {
            assert!(
                spec["paths"].get(path).is_some(),
                "{path} missing from openapi.json"
            );
        }
        assert_eq!(
            spec["components"]["schemas"]["UploadRequest"]["properties"]["results"]["maxItems"],
            serde_json::json!(MAX_RESULTS_PER_UPLOAD)
        );
        // The settings a probe is given are described field by field.
        let full = ProbeSettings {
            version: "v".to_owned(),
            radio_every_s: Some(60),
            speed_every_s: Some(3600),
            ipv6_every_s: Some(86_400),
            speed_server: Some("https://c.example/".to_owned()),
            websites: vec!["https://w.example/".to_owned()],
            monthly_budget_bytes: Some(1),
        };
        assert_eq!(
            keys(&serde_json::to_value(&full).unwrap()),
            keys(&schema(&spec, "ProbeSettings")["properties"])
        );
    }

    #[test]
    fn every_example_in_the_spec_is_read_by_our_types() {
        let spec = spec();
        let examples = &spec["components"]["examples"];
        let mut kinds = BTreeSet::new();
        for (name, ex) in examples.as_object().unwrap() {
            let value = &ex["value"];
            let r =
                ResultRecord::from_json(value).unwrap_or_else(|e| panic!("example {name}: {e}"));
            r.validate(chrono::Utc::now())
                .unwrap_or_else(|e| panic!("example {name}: {e}"));
            kinds.insert(r.kind().id().to_owned());
            // What our types write back has exactly the keys of the example's kind in the spec.
            let written = keys(&r.to_json());
            let schema_name = match r.kind().id() {
                "speed" => "SpeedResult",
                "radio" => "RadioResult",
                _ => "Ipv6Result",
            };
            let mut described = kind_properties(&spec, schema_name);
            if !r.header.simulated {
                described.remove("simulated");
            }
            if r.header.age_ms.is_none() {
                described.remove("age_ms");
            }
            assert_eq!(written, described, "example {name} vs schema {schema_name}");
        }
        assert_eq!(kinds.len(), 3, "one example per kind");
    }

    #[test]
    fn enums_in_the_spec_match_the_model() {
        let spec = spec();
        let carriers: BTreeSet<_> = Carrier::ALL.iter().map(|c| c.id().to_owned()).collect();
        assert_eq!(enum_values(schema(&spec, "Carrier")), carriers);
        let rats: BTreeSet<_> = Rat::ALL.iter().map(|r| r.id().to_owned()).collect();
        assert_eq!(enum_values(schema(&spec, "Rat")), rats);
        let cats: BTreeSet<_> = SiteCategory::ALL
            .iter()
            .map(|c| c.id().to_owned())
            .collect();
        assert_eq!(enum_values(schema(&spec, "SiteCategory")), cats);
    }

    #[test]
    fn ranges_in_the_spec_match_validation() {
        use crate::result::limits;
        let spec = spec();
        let radio = &schema(&spec, "RadioResult")["allOf"][1]["properties"];
        assert_eq!(
            radio["rsrp_dbm"]["minimum"].as_f64(),
            Some(limits::RSRP_DBM.0)
        );
        assert_eq!(
            radio["rsrp_dbm"]["maximum"].as_f64(),
            Some(limits::RSRP_DBM.1)
        );
        assert_eq!(
            radio["rsrq_db"]["minimum"].as_f64(),
            Some(limits::RSRQ_DB.0)
        );
        assert_eq!(
            radio["sinr_db"]["maximum"].as_f64(),
            Some(limits::SINR_DB.1)
        );
        let speed = &schema(&spec, "SpeedResult")["allOf"][1]["properties"];
        assert_eq!(
            speed["download_mbps"]["maximum"].as_f64(),
            Some(limits::MAX_DOWNLOAD_MBPS)
        );
        assert_eq!(
            speed["streams"]["maximum"].as_u64(),
            Some(u64::from(limits::MAX_STREAMS))
        );
        let ipv6 = &schema(&spec, "Ipv6Result")["allOf"][1]["properties"];
        assert_eq!(
            ipv6["links_checked"]["maximum"].as_u64(),
            Some(u64::from(limits::MAX_LINKS))
        );
    }

    #[test]
    fn error_bodies_are_one_object_with_an_optional_index() {
        let e = ErrorBody {
            error: "results[2].rsrp_dbm: out of range".into(),
            index: Some(2),
            id: None,
        };
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(
            json,
            r#"{"error":"results[2].rsrp_dbm: out of range","index":2}"#
        );
        assert_eq!(serde_json::from_str::<ErrorBody>(&json).unwrap(), e);
    }
}
