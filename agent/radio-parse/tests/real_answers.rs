//! Every real modem answer in `tests/fixtures/real/` through the parser its module speaks, checked
//! against the reading the vendor's field order gives.
//!
//! Each fixture is one answer as a module printed it (framing added by hand is said so in the
//! file), after a header of `# key: value` lines:
//!
//! - `vendor`, `model`, `firmware`, `source` (issue URL, or repository and path), `note`;
//! - `parser`: `quectel` (`AT+QENG="servingcell"`, the LTE SINR scale from the model), `simcom`
//!   (`AT+CPSI?`, the scale from the model), `cops`, `cesq`, or `generic` (`AT+COPS?` and
//!   `AT+CESQ`, the second answer after a `# --- AT+CESQ` line);
//! - `expect`: `key=value` pairs (`rat`, `plmn`, `cell`, `band`, `rsrp`, `rsrq`, `sinr`,
//!   `uncertain`), `-` for an absent value; a key not listed is not checked;
//! - `expect-reason`: a piece of text the reading's reason must contain.
//!
//! The parsers ignore the header: it is `#` lines, which no module prints.

use fathom_radio_parse::RadioReading;
use fathom_radio_parse::at::{self, LteSinrScale};
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
        other => panic!("{}: unknown parser {other}", f.name),
    };
    reading.unwrap_or_else(|e| panic!("{}: {e}", f.name))
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
    // The bar: real answers from at least 15 module models of at least 4 vendors.
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
        if by_model.rat != fathom_shared::Rat::Lte {
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
