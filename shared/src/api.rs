//! The upload API: request and answer bodies, error bodies, limits, and the OpenAPI description
//! (`openapi.json`, checked in beside this crate and tested against these types).

use serde::{Deserialize, Serialize};

/// Path of the upload endpoint.
pub const RESULTS_PATH: &str = "/api/v1/results";
/// Path of the health endpoint.
pub const HEALTH_PATH: &str = "/api/v1/health";
/// Path of the download endpoint of the speed test.
pub const DOWNLOAD_PATH: &str = "/api/v1/download";
/// Path of the upload endpoint of the speed test (`POST`, the body discarded as it arrives).
pub const SPEED_UPLOAD_PATH: &str = "/api/v1/upload";
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
/// Largest upload one speed-test request may announce, in bytes (the same as a download).
pub const MAX_SPEED_UPLOAD_BYTES: u64 = MAX_DOWNLOAD_BYTES;

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

/// Bounds of a probe's status, with the reason for each. A status is shown on `/fleet` and kept
/// per probe, so none of it may be of any length.
pub mod status_limits {
    /// Longest agent version: a version with build metadata (`0.1.0+g1a2b3c4.dirty`) needs far
    /// fewer.
    pub const MAX_AGENT_VERSION_LEN: usize = 64;
    /// Most modems, and SIM budgets, one status lists: a probe has one modem per carrier, and a
    /// Raspberry Pi's USB ports (with a hub) carry far fewer than this.
    pub const MAX_MODEMS: usize = 16;
    /// Longest reason a modem is not present: as for a result's reason.
    pub const MAX_REASON_LEN: usize = crate::result::limits::MAX_REASON_LEN;
}

impl ProbeStatus {
    /// Reads a status from the JSON of an upload, naming the field that does not fit
    /// (`budgets[0].budget_bytes: invalid value: integer `-1`, expected u64`).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, crate::result::WireError> {
        crate::result::read(value)
    }

    /// Checks the bounds of [`status_limits`], and the same one-line rule as results' text
    /// (no control characters, no bidirectional controls).
    pub fn validate(&self) -> Result<(), crate::result::ValidationError> {
        use crate::result::{check_line, invalid};
        check_line(
            "agent_version",
            &self.agent_version,
            status_limits::MAX_AGENT_VERSION_LEN,
        )?;
        for (field, n) in [
            ("modems", self.modems.len()),
            ("budgets", self.budgets.len()),
        ] {
            if n > status_limits::MAX_MODEMS {
                return Err(invalid(
                    field,
                    format!("{n} entries are more than {}", status_limits::MAX_MODEMS),
                ));
            }
        }
        for (i, m) in self.modems.iter().enumerate() {
            if let Some(reason) = &m.reason {
                check_line("modems[].reason", reason, status_limits::MAX_REASON_LEN).map_err(
                    |e| {
                        invalid(
                            e.field,
                            format!("modems[{i}] ({}): {}", m.carrier, e.message),
                        )
                    },
                )?;
            }
        }
        Ok(())
    }
}

/// One modem's state from its last radio reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModemStatus {
    /// The carrier it is configured for.
    pub carrier: crate::Carrier,
    /// True when its last reading found it registered on a network; false when the modem was
    /// missing, had no SIM or no registration, or was never read.
    pub present: bool,
    /// Access technology of the last reading. Required, though it may be null, as the schema
    /// says: `deserialize_with` stops serde from taking a missing field for null.
    #[serde(deserialize_with = "Option::deserialize")]
    pub rat: Option<crate::Rat>,
    /// Why it is not present, in one line. Required, though it may be null.
    #[serde(deserialize_with = "Option::deserialize")]
    pub reason: Option<String>,
}

/// One SIM's data used this month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BudgetStatus {
    /// The carrier whose SIM it is.
    pub carrier: crate::Carrier,
    /// Bytes used by speed tests this month (UTC).
    pub used_bytes: u64,
    /// The monthly budget, when one is set. Required, though it may be null (see
    /// [`ModemStatus::rat`]).
    #[serde(deserialize_with = "Option::deserialize")]
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

/// Every [`Alert::kind`] the collector gives, in the order the fleet page and `/metrics` list them.
pub const ALERT_KINDS: [&str; 6] = [
    "never_seen",
    "silent",
    "modem_missing",
    "budget_nearly_spent",
    "clock_unsynced",
    "over_result_budget",
];

/// Something about a probe that needs attention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Alert {
    /// One of [`ALERT_KINDS`].
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

    fn good_status() -> Value {
        serde_json::json!({
            "agent_version": "0.1.0",
            "modems": [{"carrier": "cmcc", "present": false, "rat": null, "reason": "no SIM"}],
            "spool_pending": 3,
            "clock_synced": true,
            "budgets": [{"carrier": "cmcc", "used_bytes": 10, "budget_bytes": 2_000_000_000u64}],
        })
    }

    /// The status's error, from reading or from its bounds.
    fn status_error(v: &Value) -> String {
        match ProbeStatus::from_json(v) {
            Err(e) => e.to_string(),
            Ok(s) => s.validate().unwrap_err().to_string(),
        }
    }

    #[test]
    fn a_status_is_bounded_like_results() {
        let ok = ProbeStatus::from_json(&good_status()).unwrap();
        ok.validate().unwrap();
        let with = |pointer: &str, value: Value| {
            let mut v = good_status();
            *v.pointer_mut(pointer).unwrap() = value;
            v
        };
        let cases = [
            // The 1.9 MB agent version that made `/fleet` 2 MB.
            (
                with("/agent_version", Value::from("9".repeat(1_900_000))),
                "agent_version: is longer than 64",
            ),
            (
                with("/agent_version", Value::from("")),
                "agent_version: is empty",
            ),
            (
                with("/agent_version", Value::from("0.1\u{0}")),
                "agent_version: must be one line",
            ),
            (
                with("/agent_version", Value::from("1.0\u{202E}0.1")),
                "U+202E",
            ),
            (
                with("/modems/0/reason", Value::from("no\u{2067}SIM")),
                "modems[].reason: modems[0] (cmcc): must be one line",
            ),
            (
                with("/modems/0/reason", Value::from("x".repeat(501))),
                "modems[].reason: modems[0] (cmcc): is longer than 500",
            ),
            (
                with(
                    "/modems",
                    Value::from(vec![good_status()["modems"][0].clone(); 17]),
                ),
                "modems: 17 entries are more than 16",
            ),
            (
                with(
                    "/budgets",
                    Value::from(vec![good_status()["budgets"][0].clone(); 17]),
                ),
                "budgets: 17 entries",
            ),
            (
                with("/budgets/0/budget_bytes", Value::from(-1)),
                "budgets[0].budget_bytes: invalid value: integer `-1`",
            ),
            (
                with("/spool_pending", Value::from(-1)),
                "spool_pending: invalid value",
            ),
        ];
        // Fields the schema requires though they may be null are required here too
        // (schemathesis found a status without `budget_bytes` accepted).
        let mut missing = Vec::new();
        for (list, field) in [
            ("budgets", "budget_bytes"),
            ("modems", "rat"),
            ("modems", "reason"),
        ] {
            let mut v = good_status();
            v[list][0].as_object_mut().unwrap().remove(field);
            missing.push((v, format!("{list}[0]: missing field `{field}`")));
        }
        let cases = cases
            .into_iter()
            .map(|(v, e)| (v, e.to_owned()))
            .chain(missing);
        for (v, expected) in cases {
            let e = status_error(&v);
            assert!(
                e.contains(expected.as_str()),
                "{expected:?} not in {:?}",
                e.chars().take(200).collect::<String>()
            );
        }
    }

    /// The rules between fields that `validate` applies are in the schema too, so that a client
    /// generated from it (or a fuzzer such as schemathesis) does not send what is refused.
    #[test]
    fn the_rules_between_fields_are_in_the_schema() {
        let spec = spec();
        let header = schema(&spec, "ResultHeader");
        assert_eq!(header["if"]["properties"]["clock_synced"]["const"], true);
        assert_eq!(header["if"]["required"][0], "clock_synced");
        // Years from EARLIEST_YEAR on: 2020–2099, 2100–2999, 3000–9999.
        assert_eq!(crate::result::limits::EARLIEST_YEAR, 2020);
        assert_eq!(
            header["then"]["properties"]["measured_at"]["pattern"],
            "^(20[2-9][0-9]|2[1-9][0-9]{2}|[3-9][0-9]{3})-"
        );
        let ipv6 = &schema(&spec, "Ipv6Result")["allOf"][1];
        assert_eq!(ipv6["if"]["properties"]["probe_ipv6"]["const"], false);
        assert_eq!(ipv6["if"]["required"][0], "probe_ipv6");
        assert_eq!(ipv6["then"]["properties"]["supports_ipv6"]["type"], "null");
        // Every answer enrollment gives is listed; its 429 comes with Retry-After.
        let answers = &spec["paths"][ENROLL_PATH]["post"]["responses"];
        assert_eq!(
            keys(answers),
            ["200", "400", "403", "429", "503"]
                .map(str::to_owned)
                .into_iter()
                .collect()
        );
        assert_eq!(
            answers["429"]["headers"]["Retry-After"]["schema"]["minimum"],
            1
        );
        // The status's counts and bytes may not be negative, in the schema as in `ProbeStatus`.
        let budget = schema(&spec, "BudgetStatus");
        assert_eq!(budget["properties"]["budget_bytes"]["minimum"], 0);
    }

    #[test]
    fn the_status_bounds_are_in_the_schema() {
        let spec = spec();
        let status = schema(&spec, "ProbeStatus");
        let version = &status["properties"]["agent_version"];
        assert_eq!(version["maxLength"], status_limits::MAX_AGENT_VERSION_LEN);
        assert_eq!(version["minLength"], 1);
        for list in ["modems", "budgets"] {
            assert_eq!(
                status["properties"][list]["maxItems"],
                status_limits::MAX_MODEMS
            );
        }
        let reason = &schema(&spec, "ModemStatus")["properties"]["reason"];
        assert_eq!(reason["anyOf"][1]["$ref"], "#/components/schemas/OneLine");
        let one_line = schema(&spec, "OneLine");
        assert_eq!(one_line["maxLength"], status_limits::MAX_REASON_LEN);
        // The pattern refuses what `check_line` refuses: control and bidirectional controls.
        let pattern = one_line["pattern"].as_str().unwrap();
        assert_eq!(version["pattern"].as_str().unwrap(), pattern);
        for c in [
            "\\u0000-\\u001F",
            "\\u007F-\\u009F",
            "\\u202A-\\u202E",
            "\\u2066-\\u2069",
        ] {
            assert!(pattern.contains(c), "{c} not in {pattern}");
        }
    }

    #[test]
    fn the_spec_describes_the_paths_the_collector_serves() {
        let spec = spec();
        assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
        for path in [
            RESULTS_PATH,
            HEALTH_PATH,
            DOWNLOAD_PATH,
            SPEED_UPLOAD_PATH,
            PING_PATH,
            ENROLL_PATH,
            FLEET_PATH,
            METRICS_PATH,
            crate::survey::SURVEY_PATH,
        ] {
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
    fn the_survey_schemas_match_the_wire_types() {
        let spec = spec();
        let example = path_example(&spec, crate::survey::SURVEY_PATH, "post", None);
        let upload: crate::survey::SurveyUpload =
            serde_json::from_value(example.clone()).expect("the example is a SurveyUpload");
        let mark = &upload.marks[0];
        mark.validate().expect("the example is a valid mark");
        let mut full = serde_json::to_value(&mark.carriers[0]).unwrap();
        full["speed"] = serde_json::json!({});
        let mut minimal = serde_json::to_value(&mark.carriers[0]).unwrap();
        minimal["rsrp_median_dbm"] = Value::Null;
        minimal["sinr_median_db"] = Value::Null;
        assert_schema_matches(&spec, "SurveyCarrier", &full, &minimal);
        let m = serde_json::to_value(mark).unwrap();
        assert_schema_matches(&spec, "SurveyMark", &m, &m);
        assert_eq!(
            schema(&spec, "SurveyUpload")["properties"]["marks"]["maxItems"],
            serde_json::json!(crate::survey::MAX_MARKS_PER_UPLOAD)
        );
    }

    /// The `example` of `path`'s `method` request body (`status` None) or of its answer.
    fn path_example<'a>(
        spec: &'a Value,
        path: &str,
        method: &str,
        status: Option<&str>,
    ) -> &'a Value {
        let op = &spec["paths"][path][method];
        let body = match status {
            None => &op["requestBody"],
            Some(s) => &op["responses"][s],
        };
        &body["content"]["application/json"]["example"]
    }

    /// Checks a schema against what our type writes: `full` (every optional field set) has
    /// exactly the described properties; `minimal` (every optional field unset) has exactly the
    /// required ones, and each that it writes as null is described as nullable.
    fn assert_schema_matches(spec: &Value, name: &str, full: &Value, minimal: &Value) {
        let s = schema(spec, name);
        assert_eq!(keys(full), keys(&s["properties"]), "{name}: properties");
        let required: BTreeSet<String> = s["required"]
            .as_array()
            .expect("a required list")
            .iter()
            .map(|r| r.as_str().expect("a name").to_owned())
            .collect();
        assert_eq!(keys(minimal), required, "{name}: required");
        for (field, value) in minimal.as_object().expect("an object") {
            if value.is_null() {
                let described = &s["properties"][field];
                let nullable = described["type"]
                    .as_array()
                    .is_some_and(|t| t.contains(&Value::from("null")))
                    || described["anyOf"]
                        .as_array()
                        .is_some_and(|a| a.contains(&serde_json::json!({"type": "null"})));
                assert!(
                    nullable,
                    "{name}.{field} is written as null but not described so"
                );
            }
        }
    }

    fn value<T: Serialize>(v: &T) -> Value {
        serde_json::to_value(v).expect("serialisable")
    }

    #[test]
    fn the_enrollment_and_fleet_schemas_match_our_types() {
        let spec = spec();
        let enroll_request = EnrollRequest {
            code: "7KQ2M-XR9TD".into(),
        };
        assert_schema_matches(
            &spec,
            "EnrollRequest",
            &value(&enroll_request),
            &value(&enroll_request),
        );
        let enrolled = EnrollResponse {
            probe_id: "p".into(),
            site_id: "s".into(),
            token: "t".into(),
        };
        assert_schema_matches(
            &spec,
            "EnrollResponse",
            &value(&enrolled),
            &value(&enrolled),
        );
        let modem = ModemStatus {
            carrier: Carrier::Cmcc,
            present: false,
            rat: Some(Rat::None),
            reason: Some("no modem".into()),
        };
        let bare_modem = ModemStatus {
            rat: None,
            reason: None,
            ..modem.clone()
        };
        assert_schema_matches(&spec, "ModemStatus", &value(&modem), &value(&bare_modem));
        let budget = BudgetStatus {
            carrier: Carrier::Cu,
            used_bytes: 1,
            budget_bytes: Some(2),
        };
        let no_budget = BudgetStatus {
            budget_bytes: None,
            ..budget.clone()
        };
        assert_schema_matches(&spec, "BudgetStatus", &value(&budget), &value(&no_budget));
        let status = ProbeStatus {
            agent_version: "0.1.0".into(),
            modems: vec![modem],
            spool_pending: 0,
            clock_synced: true,
            budgets: vec![budget],
        };
        assert_schema_matches(&spec, "ProbeStatus", &value(&status), &value(&status));
        let alert = Alert {
            kind: ALERT_KINDS[2].into(),
            carrier: Some(Carrier::Ct),
            message: "m".into(),
        };
        let general = Alert {
            carrier: None,
            ..alert.clone()
        };
        assert_schema_matches(&spec, "Alert", &value(&alert), &value(&general));
        let probe = FleetProbe {
            probe_id: "p".into(),
            site_id: "s".into(),
            last_seen: Some("2026-11-23T01:58:10Z".into()),
            last_seen_age_s: Some(1),
            revoked: false,
            status: Some(status),
            alerts: vec![alert],
        };
        let never = FleetProbe {
            last_seen: None,
            last_seen_age_s: None,
            status: None,
            alerts: Vec::new(),
            ..probe.clone()
        };
        assert_schema_matches(&spec, "FleetProbe", &value(&probe), &value(&never));
        let fleet = FleetResponse {
            now: "2026-11-23T02:00:00Z".into(),
            probes: vec![probe],
        };
        assert_schema_matches(&spec, "FleetResponse", &value(&fleet), &value(&fleet));
        // The upload's status is the same object the fleet answer gives back.
        assert_eq!(
            schema(&spec, "UploadRequest")["properties"]["status"]["anyOf"][1]["$ref"],
            "#/components/schemas/ProbeStatus"
        );
        let kinds: BTreeSet<String> = ALERT_KINDS.iter().map(|k| (*k).to_owned()).collect();
        assert_eq!(
            enum_values(&schema(&spec, "Alert")["properties"]["kind"]),
            kinds
        );
    }

    #[test]
    fn the_enrollment_and_fleet_examples_read_back_unchanged() {
        fn round_trip<T: serde::de::DeserializeOwned + Serialize>(example: &Value, what: &str) {
            assert!(example.is_object(), "{what}: no example");
            let read: T =
                serde_json::from_value(example.clone()).unwrap_or_else(|e| panic!("{what}: {e}"));
            let written = serde_json::to_value(&read).expect("serialisable");
            assert_eq!(&written, example, "{what}: written back differently");
        }
        let spec = spec();
        round_trip::<EnrollRequest>(
            path_example(&spec, ENROLL_PATH, "post", None),
            "enroll request",
        );
        round_trip::<EnrollResponse>(
            path_example(&spec, ENROLL_PATH, "post", Some("200")),
            "enroll answer",
        );
        let fleet = path_example(&spec, FLEET_PATH, "get", Some("200"));
        round_trip::<FleetResponse>(fleet, "fleet answer");
        // The example shows a probe that never reported and one with a status, and only
        // alert kinds the collector gives.
        let probes: Vec<FleetProbe> =
            serde_json::from_value(fleet["probes"].clone()).expect("probes");
        assert!(probes.iter().any(|p| p.status.is_none()));
        assert!(probes.iter().any(|p| p.status.is_some()));
        for a in probes.iter().flat_map(|p| &p.alerts) {
            assert!(ALERT_KINDS.contains(&a.kind.as_str()), "{}", a.kind);
        }
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
            // A download does not write the upload's fields (nor its direction, the default).
            if matches!(&r.measurement, crate::result::Measurement::Speed(s) if s.direction.is_download())
            {
                for upload_only in ["direction", "upload_mbps", "bytes_uploaded"] {
                    described.remove(upload_only);
                }
            }
            if matches!(&r.measurement, crate::result::Measurement::Radio(s) if !s.sinr_scale_uncertain)
            {
                described.remove("sinr_scale_uncertain");
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
