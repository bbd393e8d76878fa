//! `fathom-agent modem --backend at:PORT` and the daemon, talking to a fake AT modem on a
//! pseudo-terminal (`fathom-fakemodem`, the edge of the machine) that answers with captured
//! module answers, echo, unsolicited lines and noise, as a USB modem's AT port does.

use fathom_e2e::{Collector, Proc, bin, run, wait_for};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agent/tests/fixtures/modem")
        .join(name)
        .display()
        .to_string()
}

/// Plugs in a fake modem whose port appears at `link`; [`unplug`] takes it away.
fn plug(link: &Path, args: &[&str]) -> Proc {
    let mut cmd = Command::new(bin("fathom-fakemodem"));
    cmd.arg("--link").arg(link).args(args);
    let log = link.with_extension("log");
    let (modem, ready) = Proc::start_ready("fathom-fakemodem", cmd, &log);
    assert!(ready.starts_with("ready /dev/pts/"), "{ready}");
    modem
}

/// Pulls the modem out: the process dies and, as udev does with `/dev/serial/by-id/…`, its link
/// goes. (A dangling link would be worse than realistic here: the freed `/dev/pts/N` is soon another
/// test's modem.)
fn unplug(mut modem: Proc, link: &Path) {
    modem.kill9();
    std::fs::remove_file(link).expect("the link existed");
}

fn qeng(file: &str) -> String {
    format!("AT+QENG=\"servingcell\"={}", fixture(file))
}

fn cpsi(file: &str) -> String {
    format!("AT+CPSI?={}", fixture(file))
}

/// One `modem --backend at:LINK --json` sample.
fn sample(link: &Path) -> Value {
    let mut cmd = Command::new(bin("fathom-agent"));
    cmd.args(["modem", "--json", "--backend"])
        .arg(format!("at:{}", link.display()));
    let (status, out, err) = run(&mut cmd);
    assert!(status.success(), "{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("a JSON array");
    assert_eq!(v.as_array().map(Vec::len), Some(1), "{v}");
    v[0].clone()
}

/// What one sample must say.
struct Want {
    carrier: Option<&'static str>,
    plmn: &'static str,
    rat: &'static str,
    rsrp_dbm: f64,
    sinr_db: Option<f64>,
    band: Option<&'static str>,
    meets_5g: bool,
}

impl Want {
    fn check(&self, what: &str, s: &Value) {
        assert_eq!(
            s["carrier"],
            self.carrier.map_or(Value::Null, Value::from),
            "{what}: {s}"
        );
        assert_eq!(s["plmn"], self.plmn, "{what}: {s}");
        assert_eq!(s["rat"], self.rat, "{what}: {s}");
        assert_eq!(s["rsrp_dbm"].as_f64(), Some(self.rsrp_dbm), "{what}: {s}");
        assert_eq!(s["sinr_db"].as_f64(), self.sinr_db, "{what}: {s}");
        if let Some(band) = self.band {
            assert_eq!(s["band"], band, "{what}: {s}");
        }
        assert_eq!(s["meets_5g"], self.meets_5g, "{what}: {s}");
        assert!(s["reason"].is_null(), "{what}: {s}");
    }
}

#[test]
#[expect(clippy::too_many_lines, reason = "one table row per module state")]
fn sa_nsa_weak_nsa_and_lte_are_read_as_each_module_prints_them() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyUSB2");
    let cesq = dir.path().join("cesq_sa.txt");
    std::fs::write(
        &cesq,
        "AT+CESQ\n+CESQ: 99,99,255,255,255,255,80,60,50\n\nOK\n",
    )
    .unwrap();
    let cesq = format!("AT+CESQ={}", cesq.display());
    let cops = format!("AT+COPS?={}", fixture("generic_cops_sa_ct.txt"));
    let sa = qeng("quectel_sa_cmcc_n41_rm520n.txt");
    let nsa = qeng("quectel_nsa_doc.txt");
    let weak = qeng("quectel_nsa_weak_constructed.txt");
    let lte = qeng("quectel_lte_ct.txt");
    let simcom_sa = cpsi("simcom_sa_n78.txt");
    let simcom_endc = cpsi("simcom_endc_ct.txt");
    let simcom = "SIMCOM INCORPORATED";
    let cases: Vec<(&str, Vec<&str>, Want)> = vec![
        (
            "Quectel SA, echo on",
            vec!["--answer", &sa],
            Want {
                carrier: Some("cmcc"),
                plmn: "46000",
                rat: "nr_sa",
                rsrp_dbm: -99.0,
                sinr_db: Some(0.0),
                band: Some("n41"),
                meets_5g: true,
            },
        ),
        (
            "Quectel NSA, echo off, unsolicited lines",
            vec!["--answer", &nsa, "--no-echo", "--urc"],
            Want {
                carrier: Some("cu"),
                plmn: "46001",
                rat: "nr_nsa",
                rsrp_dbm: -71.0,
                sinr_db: Some(33.0),
                band: Some("n78"),
                meets_5g: true,
            },
        ),
        (
            "Quectel weak NSA, line noise",
            vec!["--answer", &weak, "--noise"],
            Want {
                carrier: Some("cu"),
                plmn: "46001",
                rat: "nr_nsa",
                rsrp_dbm: -112.0,
                sinr_db: Some(-5.0),
                band: Some("n78"),
                meets_5g: false,
            },
        ),
        (
            "Quectel LTE only (Unisoc: SINR in dB)",
            vec!["--answer", &lte, "--model", "RM500U-CN"],
            Want {
                carrier: Some("ct"),
                plmn: "46011",
                rat: "lte",
                rsrp_dbm: -109.0,
                sinr_db: Some(11.0),
                band: None,
                meets_5g: false,
            },
        ),
        (
            "SIMCom SA on a network that is not one of ours",
            vec![
                "--answer",
                &simcom_sa,
                "--manufacturer",
                simcom,
                "--model",
                "SIM8262E-M2",
            ],
            Want {
                carrier: None,
                plmn: "24212",
                rat: "nr_sa",
                rsrp_dbm: -77.0,
                sinr_db: Some(29.0),
                band: Some("n78"),
                meets_5g: true,
            },
        ),
        (
            "SIMCom EN-DC",
            vec![
                "--answer",
                &simcom_endc,
                "--urc",
                "--manufacturer",
                simcom,
                "--model",
                "SIM8262E-M2",
            ],
            Want {
                carrier: Some("ct"),
                plmn: "46011",
                rat: "nr_nsa",
                rsrp_dbm: -96.0,
                sinr_db: Some(9.5),
                band: Some("n78"),
                meets_5g: true,
            },
        ),
        (
            "generic 3GPP SA (COPS + CESQ)",
            vec![
                "--manufacturer",
                "Acme",
                "--model",
                "X55",
                "--answer",
                &cops,
                "--answer",
                &cesq,
            ],
            Want {
                carrier: Some("ct"),
                plmn: "46011",
                rat: "nr_sa",
                rsrp_dbm: -97.0,
                sinr_db: Some(1.5),
                band: None,
                meets_5g: true,
            },
        ),
    ];
    for (what, args, want) in cases {
        let modem = plug(&link, &args);
        want.check(what, &sample(&link));
        unplug(modem, &link);
    }
}

#[test]
fn searching_no_service_no_sim_garbage_and_silence_give_rat_none_and_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyUSB2");
    let (search, garbage) = (
        qeng("quectel_search.txt"),
        qeng("quectel_garbage_constructed.txt"),
    );
    let no_service = cpsi("simcom_no_service.txt");
    let cases: Vec<(&str, Vec<&str>, &str)> = vec![
        (
            "searching",
            vec!["--answer", &search],
            "searching for a network",
        ),
        (
            "no service",
            vec![
                "--answer",
                &no_service,
                "--manufacturer",
                "SIMCOM INCORPORATED",
            ],
            "no service",
        ),
        (
            "no SIM",
            vec!["--answer", &search, "--no-sim"],
            "no SIM card",
        ),
        (
            "garbage",
            vec!["--answer", &garbage, "--noise"],
            "unreadable answer: AT+QENG=\"servingcell\"",
        ),
        (
            "unknown command answered ERROR",
            vec!["--manufacturer", "Quectel"],
            "unreadable answer: AT+QENG=\"servingcell\": the modem answered ERROR",
        ),
        // Answers AT and the identity, then hangs.
        (
            "stops answering",
            vec!["--answer", &search, "--mute-after", "4"],
            "the modem stopped answering: no answer to AT+CPIN?",
        ),
    ];
    for (what, args, why) in cases {
        let modem = plug(&link, &args);
        let s = sample(&link);
        assert_eq!(s["rat"], "none", "{what}: {s}");
        for field in ["plmn", "rsrp_dbm", "rsrq_db", "sinr_db"] {
            assert!(s[field].is_null(), "{what}: {field} must be null: {s}");
        }
        assert_eq!(s["meets_5g"], false, "{what}: {s}");
        let reason = s["reason"].as_str().unwrap_or_default();
        assert!(
            reason.starts_with(why),
            "{what}: {reason:?} should start with {why:?}"
        );
        unplug(modem, &link);
    }
}

#[test]
fn a_busy_port_and_an_unplugged_modem_are_named_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyUSB2");
    let search = qeng("quectel_search.txt");
    let modem = plug(&link, &["--answer", &search, "--hold-lock"]);
    let s = sample(&link);
    assert_eq!(s["rat"], "none");
    assert!(
        s["reason"].as_str().unwrap().starts_with("port busy"),
        "{s}"
    );
    unplug(modem, &link);
    let s = sample(&link);
    assert_eq!(s["rat"], "none");
    assert!(
        s["reason"].as_str().unwrap().starts_with("modem not found"),
        "{s}"
    );
    let s = sample(&dir.path().join("never-there"));
    assert!(
        s["reason"].as_str().unwrap().starts_with("modem not found"),
        "{s}"
    );
}

fn radio_samples(collector: &Collector) -> Vec<Value> {
    collector
        .export()
        .into_iter()
        .filter(|r| r["kind"] == "radio")
        .collect()
}

#[test]
fn the_daemon_keeps_sampling_through_unplug_and_replug_and_uploads_radio_results() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("p-at", "county-hospital");
    let dir = tempfile::tempdir().unwrap();
    let link: PathBuf = dir.path().join("ttyUSB2");
    let config = dir.path().join("probe.toml");
    std::fs::write(
        &config,
        format!(
            "collector = \"{}\"\nprobe_id = \"p-at\"\nsite_id = \"county-hospital\"\ntoken = \"{token}\"\n\
             spool = \"spool.db\"\n[schedule]\nradio_every = \"300ms\"\nspeed_every = \"24h\"\n\
             [upload]\nretry_min = \"100ms\"\nretry_max = \"500ms\"\n\
             [[modem]]\ncarrier = \"cmcc\"\nbackend = \"at:{}\"\n",
            collector.url,
            link.display()
        ),
    )
    .unwrap();
    let sa = qeng("quectel_sa_cmcc_n41_rm520n.txt");
    let modem = plug(&link, &["--answer", &sa]);
    let mut cmd = Command::new(bin("fathom-agent"));
    cmd.arg("run").arg("--config").arg(&config);
    let mut agent = Proc::start("fathom-agent", cmd, &dir.path().join("agent.log"));

    let count = |pred: &dyn Fn(&Value) -> bool| {
        radio_samples(&collector).iter().filter(|r| pred(r)).count()
    };
    let on_5g = |r: &Value| r["rat"] == "nr_sa" && r["carrier"] == "cmcc";
    let unplugged = |r: &Value| {
        r["rat"] == "none"
            && r["reason"]
                .as_str()
                .is_some_and(|w| w.starts_with("modem not found"))
    };
    wait_for("5G samples uploaded", Duration::from_secs(30), || {
        (count(&on_5g) >= 2).then_some(())
    });
    unplug(modem, &link);
    wait_for(
        "unplugged samples uploaded",
        Duration::from_secs(30),
        || (count(&unplugged) >= 2).then_some(()),
    );
    let before = count(&on_5g);
    let _modem = plug(&link, &["--answer", &sa, "--urc"]);
    wait_for(
        "5G samples after the modem is back",
        Duration::from_secs(30),
        || (count(&on_5g) >= before + 2).then_some(()),
    );
    assert!(agent.is_running(), "the daemon died: {}", agent.log());
    let status = agent.terminate(Duration::from_secs(10));
    assert!(status.success(), "{}", agent.log());
}

#[test]
fn a_real_ep06_answer_reads_its_sinr_in_db_and_an_unverified_family_says_its_scale_is_uncertain() {
    // A real EP06-E answer (4IceG/luci-app-3ginfo-lite#108): SINR 21 beside RSRQ -9 dB. Read as
    // raw/5 - 20 it would be -15.8 dB, the class of error issue 15 reports.
    let real = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agent/radio-parse/tests/fixtures/real/quectel_ep06_e_lte.txt")
        .display()
        .to_string();
    let answer = format!("AT+QENG=\"servingcell\"={real}");
    let dir = tempfile::tempdir().unwrap();
    let link = dir.path().join("ttyUSB2");
    for (model, uncertain) in [("EP06-E", false), ("EC25-E", true)] {
        let modem = plug(&link, &["--model", model, "--answer", &answer, "--urc"]);
        let s = sample(&link);
        assert_eq!(
            (
                &s["rat"],
                &s["plmn"],
                s["rsrq_db"].as_f64(),
                s["sinr_db"].as_f64()
            ),
            (
                &Value::from("lte"),
                &Value::from("22288"),
                Some(-9.0),
                Some(21.0)
            ),
            "{model}: {s}"
        );
        assert_eq!(s["meets_5g"], false, "{model}: {s}");
        if uncertain {
            assert_eq!(s["sinr_scale_uncertain"], true, "{model}: {s}");
            let why = s["reason"].as_str().unwrap_or_default();
            assert!(
                why.starts_with("SINR scale uncertain: 21 read as dB"),
                "{why}"
            );
        } else {
            assert!(s.get("sinr_scale_uncertain").is_none(), "{model}: {s}");
            assert!(s["reason"].is_null(), "{model}: {s}");
        }
        unplug(modem, &link);
    }
}
