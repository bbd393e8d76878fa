//! Every real modem answer in `tests/fixtures/real/` through the parser its module speaks, checked
//! against the reading the vendor's field order gives.
//!
//! Each fixture is one answer as a module printed it (framing added by hand is said so in the
//! file), after a header of `# key: value` lines:
//!
//! - `vendor`, `model`, `firmware`, `source` (issue URL, or repository and path), `note`;
//! - `parser`: `quectel` (`AT+QENG="servingcell"`, the LTE SINR scale from the model), `simcom`
//!   (`AT+CPSI?`, the scale from the model), `cops`, `cesq`, `generic` (`AT+COPS?` and
//!   `AT+CESQ`, the second answer after a `# --- AT+CESQ` line), or `mmcli-signal` (a
//!   ModemManager `modem.signal` document, read by `mmcli::modem_status` with an `mmcli -m N -J`
//!   document the test builds: connected, a SIM, no operator code, and the `access-technologies`
//!   header's JSON array);
//! - `expect`: `key=value` pairs (`rat`, `plmn`, `cell`, `band`, `rsrp`, `rsrq`, `sinr`,
//!   `uncertain`), `-` for an absent value; a key not listed is not checked;
//! - `expect-reason`: a piece of text the reading's reason must contain.
//!
//! The parsers ignore the header: it is `#` lines, which no module prints.

use fathom_radio_parse::RadioReading;
use fathom_radio_parse::at::{self, LteSinrScale};
use fathom_shared::Rat;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

struct Fixture {
    name: String,
    header: BTreeMap<String, String>,
    answer: String,
}

fn fixtures() -> Vec<Fixture> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("the fixture folder")
        .map(|e| e.expect("a folder entry").path())
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("a UTF-8 fixture");
            let mut header = BTreeMap::new();
            for line in text.lines() {
                let Some(rest) = line.strip_prefix("# ") else {
                    continue;
                };
                if let Some((key, value)) = rest.split_once(": ")
                    && !key.contains(' ')
                {
                    header.insert(key.to_owned(), value.trim().to_owned());
                }
            }
            Fixture {
                name: path.display().to_string(),
                header,
                answer: text,
            }
        })
        .collect()
}

fn field<'a>(f: &'a Fixture, key: &str) -> &'a str {
    f.header
        .get(key)
        .unwrap_or_else(|| panic!("{}: no `# {key}:` line", f.name))
}

/// The reading of a fixture, as the agent would get it from that module.
fn read(f: &Fixture) -> RadioReading {
    let model = field(f, "model");
    let reading = match field(f, "parser") {
        "quectel" => at::quectel_servingcell(&f.answer, at::quectel_lte_sinr_scale(model)),
        "simcom" => at::simcom_cpsi(&f.answer, at::simcom_scale(model)),
        "generic" => {
            let (cops, cesq) = f
                .answer
                .split_once("# --- AT+CESQ")
                .unwrap_or_else(|| panic!("{}: no `# --- AT+CESQ` line", f.name));
            at::generic_reading(cops, cesq)
        }
        "cops" => at::cops(&f.answer).map(|(plmn, rat)| {
            let mut r = RadioReading::unavailable("");
            (r.plmn, r.rat, r.reason) = (plmn, rat, None);
            r
        }),
        "cesq" => at::cesq(&f.answer).map(|v| {
            let mut r = RadioReading::unavailable("");
            (r.rsrp_dbm, r.rsrq_db, r.reason) = (v.rsrp_dbm, v.rsrq_db, None);
            r
        }),
        "mmcli-signal" => return mmcli_reading(f, field(f, "access-technologies")),
        other => panic!("{}: unknown parser {other}", f.name),
    };
    reading.unwrap_or_else(|e| panic!("{}: {e}", f.name))
}

/// The `mmcli -m N -J` document of a connected modem with a SIM, no operator code and these
/// access technologies (a JSON array): the half of a ModemManager reading the `mmcli-signal`
/// fixtures do not hold.
fn mmcli_modem(techs: &str) -> String {
    format!(
        r#"{{"modem":{{"3gpp":{{"operator-code":"--"}},"generic":{{"access-technologies":{techs},"sim":"/org/freedesktop/ModemManager1/SIM/0","state":"connected"}}}}}}"#
    )
}

/// The JSON of an `mmcli-signal` fixture: its text without the `#` lines.
fn json_of(f: &Fixture) -> String {
    f.answer
        .lines()
        .filter(|l| !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The reading of an `mmcli-signal` fixture on a modem with these access technologies.
fn mmcli_reading(f: &Fixture, techs: &str) -> RadioReading {
    fathom_radio_parse::mmcli::modem_status(&mmcli_modem(techs), &json_of(f))
        .unwrap_or_else(|e| panic!("{}: {e}", f.name))
}

fn number(f: &Fixture, key: &str, v: &str) -> Option<f64> {
    (v != "-").then(|| {
        v.parse()
            .unwrap_or_else(|_| panic!("{}: {key}={v} is not a number", f.name))
    })
}

fn text(v: &str) -> Option<String> {
    (v != "-").then(|| v.to_owned())
}

fn check(f: &Fixture, r: &RadioReading) {
    for pair in field(f, "expect").split_whitespace() {
        let (key, want) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("{}: {pair} is not key=value", f.name));
        let same = match key {
            "rat" => r.rat.id() == want,
            "plmn" => r.plmn == text(want),
            "cell" => r.cell_id == text(want),
            "band" => r.band == text(want),
            "rsrp" => r.rsrp_dbm == number(f, key, want),
            "rsrq" => r.rsrq_db == number(f, key, want),
            "sinr" => r.sinr_db == number(f, key, want),
            "uncertain" => r.sinr_scale_uncertain == (want == "yes"),
            other => panic!("{}: unknown expectation {other}", f.name),
        };
        assert!(
            same,
            "{}: {key} should be {want}, the reading is {r:?}",
            f.name
        );
    }
    if let Some(why) = f.header.get("expect-reason") {
        assert!(
            r.reason
                .as_deref()
                .is_some_and(|r| r.contains(why.as_str())),
            "{}: the reason should say {why:?}: {r:?}",
            f.name
        );
    }
}

#[test]
fn every_real_answer_gives_the_reading_of_its_vendor_field_order() {
    let all = fixtures();
    for f in &all {
        for key in ["vendor", "model", "firmware", "source", "parser", "expect"] {
            field(f, key);
        }
        check(f, &read(f));
    }
    // The issue's bar: real answers from at least 15 module models of at least 4 vendors.
    let models: BTreeSet<(&str, &str)> = all
        .iter()
        .map(|f| (field(f, "vendor"), field(f, "model")))
        .filter(|(_, m)| *m != "unknown")
        .collect();
    let vendors: BTreeSet<&str> = models.iter().map(|(v, _)| *v).collect();
    assert!(models.len() >= 15, "{} models: {models:?}", models.len());
    assert!(vendors.len() >= 4, "{} vendors: {vendors:?}", vendors.len());
}

#[test]
fn a_quectel_lte_sinr_reads_the_same_whatever_the_model_table_says() {
    // The class behind "-17 dB beside RSRQ -13 dB": a wrong or missing table entry must not turn
    // a real answer's SINR into another number. Under a scale the answer contradicts, the
    // reading keeps the vendor's value and says its scale is uncertain.
    let mut checked = 0;
    for f in fixtures()
        .iter()
        .filter(|f| field(f, "parser") == "quectel")
    {
        let by_model = read(f);
        if by_model.rat != Rat::Lte {
            continue;
        }
        for scale in [LteSinrScale::QuectelRaw, LteSinrScale::Unverified] {
            let r = at::quectel_servingcell(&f.answer, scale).unwrap();
            assert_eq!(r.sinr_db, by_model.sinr_db, "{} as {scale:?}", f.name);
            assert!(r.sinr_scale_uncertain, "{} as {scale:?}: {r:?}", f.name);
            assert!(
                r.reason
                    .as_deref()
                    .is_some_and(|w| w.contains("SINR scale uncertain")),
                "{}: {r:?}",
                f.name
            );
        }
        checked += 1;
    }
    assert!(checked >= 3, "{checked} LTE answers");
}

#[test]
fn a_real_5g_section_without_rsrp_never_gives_an_nr_measurement() {
    // A ModemManager that lists `5gnr` beside `lte` says the cell offers EN-DC, not that an NR
    // leg is up: with no 5G RSRP the reading is the LTE anchor's. On an SA modem (`5gnr` alone)
    // the reading is NR with no values, so it cannot meet the 5G rule either.
    let mut checked = 0;
    for f in fixtures()
        .iter()
        .filter(|f| field(f, "parser") == "mmcli-signal")
    {
        let json: serde_json::Value = serde_json::from_str(&json_of(f)).expect("JSON");
        if json["modem"]["signal"]["5g"]["rsrp"] != "--" {
            continue;
        }
        let endc = mmcli_reading(f, r#"["lte","5gnr"]"#);
        assert_eq!(endc.rat, Rat::Lte, "{}: {endc:?}", f.name);
        assert!(
            endc.reason
                .as_deref()
                .is_some_and(|w| w.contains("NR leg not measured")),
            "{}: {endc:?}",
            f.name
        );
        assert_eq!(mmcli_reading(f, r#"["lte"]"#).rat, Rat::Lte, "{}", f.name);
        let sa = mmcli_reading(f, r#"["5gnr"]"#);
        assert_eq!(
            (sa.rat, sa.rsrp_dbm, sa.sinr_db, sa.meets_5g),
            (Rat::NrSa, None, None, false),
            "{}: {sa:?}",
            f.name
        );
        assert!(
            sa.reason
                .as_deref()
                .is_some_and(|w| w.contains("RSRP not reported")),
            "{}: {sa:?}",
            f.name
        );
        checked += 1;
    }
    assert!(checked >= 1, "{checked} real empty 5g sections");
}
