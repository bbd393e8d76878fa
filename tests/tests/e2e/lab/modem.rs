//! `fathom-agent modem` through ModemManager: a fake `mmcli` first on `PATH` (the edge of the
//! machine) answers with captured JSON of two modems; the real agent binary reads them.

use fathom_e2e::{bin, run};
use serde_json::Value;
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../agent/tests/fixtures/modem")
}

/// Writes `body` as an executable shell script `mmcli` in `dir`.
fn write_mmcli(dir: &Path, body: &str) {
    let path = dir.join("mmcli");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("fake mmcli written");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
        .expect("fake mmcli executable");
}

/// A folder with an executable `mmcli` that answers like ModemManager with three modems: a Telit
/// on a German LTE network, an FM350 on China Mobile's 5G NSA and an RM520N on China Telecom's SA. `broken` makes it print junk.
fn fake_mmcli(broken: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = fixtures().display().to_string();
    let body = if broken {
        "echo '{\"modem-list\": [' ; exit 0".to_owned()
    } else {
        format!(
            r#"case "$*" in
  "-L -J") cat "{f}/mmcli_list_three.json" ;;
  "-m 0 -J") cat "{f}/mmcli_modem0_telit_lte.json" ;;
  "-m 1 -J") cat "{f}/mmcli_modem1_fm350_nsa_constructed.json" ;;
  "-m 2 -J") cat "{f}/mmcli_modem2_rm520n_sa_constructed.json" ;;
  "-m 0 --signal-setup=10"|"-m 1 --signal-setup=10"|"-m 2 --signal-setup=10") echo "successfully setup signal quality information" ;;
  "-m 0 --signal-get -J") cat "{f}/mmcli_signal0_telit_lte.json" ;;
  "-m 1 --signal-get -J") cat "{f}/mmcli_signal1_fm350_nsa_constructed.json" ;;
  "-m 2 --signal-get -J") cat "{f}/mmcli_signal2_rm520n_sa_constructed.json" ;;
  *) echo "error: unexpected arguments: $*" >&2; exit 1 ;;
esac"#
        )
    };
    write_mmcli(dir.path(), &body);
    dir
}

/// Writes `probe.toml` in `dir`: one modem per carrier, each read through `mmcli`. Returns its path.
fn mmcli_probe_config(dir: &Path, carriers: &[&str]) -> PathBuf {
    let mut text = "collector = \"http://127.0.0.1:9\"\nprobe_id = \"p1\"\nsite_id = \"s1\"\n\
                    token = \"t\"\nspool = \"spool.db\"\n"
        .to_owned();
    for carrier in carriers {
        write!(
            text,
            "[[modem]]\ncarrier = \"{carrier}\"\nbackend = \"mmcli\"\n"
        )
        .expect("a String takes any text");
    }
    let config = dir.join("probe.toml");
    std::fs::write(&config, text).expect("probe config written");
    config
}

fn agent_with_path(path_dir: &Path) -> Command {
    let mut cmd = Command::new(bin("fathom-agent"));
    let old = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{old}", path_dir.display()));
    cmd
}

#[test]
fn modem_reads_every_modemmanager_modem_and_maps_plmn_to_carrier() {
    let fake = fake_mmcli(false);
    let (status, out, err) =
        run(agent_with_path(fake.path()).args(["modem", "--backend", "mmcli", "--json"]));
    assert!(status.success(), "{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("a JSON array");
    let modems = v.as_array().unwrap();
    assert_eq!(modems.len(), 3, "{v}");
    // The German network is not one of the four carriers: no carrier, but the reading is kept.
    assert!(modems[0]["carrier"].is_null());
    assert_eq!(modems[0]["plmn"], "26202");
    assert_eq!(modems[0]["rat"], "lte");
    assert_eq!(modems[0]["meets_5g"], false);
    assert_eq!(modems[1]["carrier"], "cmcc");
    assert_eq!(modems[1]["plmn"], "46000");
    assert_eq!(modems[1]["rat"], "nr_nsa");
    assert_eq!(modems[1]["rsrp_dbm"], -89.0);
    assert_eq!(modems[1]["sinr_db"], 15.0);
    assert_eq!(modems[1]["meets_5g"], true);
    assert_eq!(modems[2]["carrier"], "ct");
    assert_eq!(modems[2]["plmn"], "46011");
    assert_eq!(modems[2]["rat"], "nr_sa");
    assert_eq!(modems[2]["rsrp_dbm"], -97.0);
    assert_eq!(modems[2]["sinr_db"], 4.0);
    assert_eq!(modems[2]["meets_5g"], true);
}

#[test]
fn a_probe_config_matches_modems_to_carriers_and_says_why_one_is_missing() {
    let fake = fake_mmcli(false);
    let dir = tempfile::tempdir().unwrap();
    let config = mmcli_probe_config(dir.path(), &["cmcc", "cu"]);
    let mut cmd = agent_with_path(fake.path());
    cmd.args(["modem", "--json", "--config"]).arg(&config);
    let (status, out, err) = run(&mut cmd);
    assert!(status.success(), "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v[0]["carrier"], "cmcc");
    assert_eq!(v[0]["rat"], "nr_nsa");
    assert_eq!(v[1]["carrier"], "cu");
    assert_eq!(v[1]["rat"], "none");
    assert!(v[1]["rsrp_dbm"].is_null());
    assert!(
        v[1]["reason"].as_str().unwrap().contains("China Unicom"),
        "{v}"
    );
}

#[test]
fn a_missing_or_broken_mmcli_gives_a_reason_not_numbers() {
    // Junk from mmcli: `--backend mmcli` fails with a one-line reason (exit 1)…
    let broken = fake_mmcli(true);
    let (status, _, err) =
        run(agent_with_path(broken.path()).args(["modem", "--backend", "mmcli", "--json"]));
    assert_eq!(status.code(), Some(1));
    assert!(err.contains("mmcli -L -J"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");

    // …and a probe whose mmcli is not installed samples `rat: none` with the reason.
    let dir = tempfile::tempdir().unwrap();
    let config = mmcli_probe_config(dir.path(), &["ct"]);
    let mut cmd = Command::new(bin("fathom-agent"));
    cmd.env("PATH", dir.path())
        .args(["modem", "--json", "--config"])
        .arg(&config);
    let (status, out, err) = run(&mut cmd);
    assert!(status.success(), "{err}");
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v[0]["rat"], "none");
    assert!(
        v[0]["reason"]
            .as_str()
            .unwrap()
            .contains("cannot run mmcli"),
        "{v}"
    );
}

/// A folder with an `mmcli` like ModemManager's under a comma-decimal locale (`-89,00` unless
/// `LC_ALL=C`), whose modem 0 answers junk and whose modem 1 is the FM350 on China Mobile's 5G
/// NSA. Each call's `LC_ALL` is appended to `locale.log` in the folder.
fn fake_mmcli_one_broken_comma_locale() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    let f = fixtures().display().to_string();
    let log = dir.path().join("locale.log").display().to_string();
    let body = format!(
        r#"echo "LC_ALL=$LC_ALL" >> "{log}"
comma() {{ if [ "$LC_ALL" = C ]; then cat "$1"; else sed 's/\(-\{{0,1\}}[0-9][0-9]*\)\.\([0-9][0-9]\)"/\1,\2"/g' "$1"; fi; }}
case "$*" in
  "-L -J") cat "{f}/mmcli_list_two.json" ;;
  "-m 0 -J") echo '{{"modem": {{"generic": ' ;;
  "-m 1 -J") cat "{f}/mmcli_modem1_fm350_nsa_constructed.json" ;;
  "-m 0 --signal-setup=10"|"-m 1 --signal-setup=10") echo "successfully setup signal quality information" ;;
  "-m 0 --signal-get -J") echo '{{}}' ;;
  "-m 1 --signal-get -J") comma "{f}/mmcli_signal1_fm350_nsa_constructed.json" ;;
  *) echo "error: unexpected arguments: $*" >&2; exit 1 ;;
esac"#
    );
    write_mmcli(dir.path(), &body);
    dir
}

#[test]
fn one_unreadable_modem_fails_alone_and_mmcli_runs_in_the_c_locale() {
    let fake = fake_mmcli_one_broken_comma_locale();
    // The probe itself runs under a comma-decimal locale.
    let mut cmd = agent_with_path(fake.path());
    cmd.env("LC_ALL", "de_DE.UTF-8")
        .args(["modem", "--backend", "mmcli", "--json"]);
    let (status, out, err) = run(&mut cmd);
    assert!(status.success(), "{err}");
    let v: Value = serde_json::from_str(out.trim()).expect("a JSON array");
    let modems = v.as_array().unwrap();
    assert_eq!(modems.len(), 2, "{v}");
    // Modem 0's junk is its own reading, with the reason…
    assert_eq!(modems[0]["rat"], "none");
    assert!(modems[0]["rsrp_dbm"].is_null());
    let why = modems[0]["reason"].as_str().unwrap();
    assert!(why.starts_with("modem 0: mmcli -m 0"), "{why}");
    // …and modem 1 is read as usual.
    assert_eq!(modems[1]["carrier"], "cmcc");
    assert_eq!(modems[1]["rat"], "nr_nsa");
    assert_eq!(modems[1]["rsrp_dbm"], -89.0);
    assert_eq!(modems[1]["sinr_db"], 15.0);
    // Every call ran in the C locale, whatever the probe's own.
    let calls = std::fs::read_to_string(fake.path().join("locale.log")).unwrap();
    assert!(calls.lines().count() >= 5, "{calls}");
    assert!(calls.lines().all(|l| l == "LC_ALL=C"), "{calls}");
}
