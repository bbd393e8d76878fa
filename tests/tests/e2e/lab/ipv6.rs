//! `fathom-agent ipv6-check` and the scheduled IPv6 job in the IPv6 lab: an authoritative DNS
//! server and websites on IPv4 and IPv6 addresses inside a server namespace, a probe namespace
//! with a dual-stack carrier (wwan0) and an IPv4-only one (wwan1).
//!
//! One lab and one check run cover the site cases (each asserting verdict and reason); the
//! probe without IPv6, TLS without the test CA and the exit statuses are further runs in the same
//! lab.

use fathom_e2e::netlab::Ipv6Lab;
use fathom_e2e::{Collector, Proc, bin, netlab, run};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Duration;

/// The DNS server, on both families.
const DNS_V4: &str = "198.19.0.53";
const DNS_V6: &str = "fd00:99::53";
/// Where every site is served over IPv4.
const WEB_V4: &str = "198.19.0.1";
/// Where sites with full IPv6 are served.
const WEB_V6: &str = "fd00:99::1";
/// An IPv6 address nothing listens on: connections are refused.
const REFUSING_V6: &str = "fd00:99::3";
/// An IPv6 front serving only the home page.
const HOME_ONLY_V6: &str = "fd00:99::6";
/// An IPv6 address whose packets the network drops: connections time out.
const DROPPED_V6: &str = "fd00:dead::1";

fn sites_config(dir: &Path) -> Value {
    let entry = |name: &str, a: &[&str], aaaa: &[&str]| json!({"name": name, "a": a, "aaaa": aaaa});
    json!({
        "dns": [format!("{DNS_V4}:53"), format!("[{DNS_V6}]:53")],
        "records": [
            entry("full.fathom.test", &[WEB_V4], &[WEB_V6]),
            entry("noaaaa.fathom.test", &[WEB_V4], &[]),
            entry("refuse.fathom.test", &[WEB_V4], &[REFUSING_V6]),
            entry("drop.fathom.test", &[WEB_V4], &[DROPPED_V6]),
            entry("wwwonly.fathom.test", &[WEB_V4], &[]),
            entry("www.wwwonly.fathom.test", &[WEB_V4], &[WEB_V6]),
            entry("homeonly.fathom.test", &[WEB_V4], &[HOME_ONLY_V6]),
            {"name": "cname.fathom.test", "cname": "edge.cdn.test"},
            entry("edge.cdn.test", &[WEB_V4], &[WEB_V6]),
            entry("redirect.fathom.test", &[WEB_V4], &[WEB_V6]),
            entry("old.fathom.test", &[WEB_V4], &[]),
            entry("secure.fathom.test", &[WEB_V4], &[WEB_V6]),
            entry("canary.fathom.test", &[], &[WEB_V6]),
        ],
        "listeners": [
            {"addr": format!("{WEB_V4}:80")},
            {"addr": format!("{WEB_V4}:443"), "tls": true},
            {"addr": format!("[{WEB_V6}]:80")},
            {"addr": format!("[{WEB_V6}]:443"), "tls": true},
            {"addr": format!("[{HOME_ONLY_V6}]:80"), "home_only": true},
        ],
        "redirects": {"redirect.fathom.test": "http://old.fathom.test/"},
        "tls_names": ["secure.fathom.test"],
        "ca_out": dir.join("ca.pem"),
    })
}

/// The lab with its sites running.
struct SitesLab {
    lab: Ipv6Lab,
    dir: tempfile::TempDir,
    _sites: Proc,
}

impl SitesLab {
    fn start() -> Self {
        let lab = Ipv6Lab::new(&[DNS_V4, DNS_V6, WEB_V4, WEB_V6, REFUSING_V6, HOME_ONLY_V6]);
        let dir = tempfile::tempdir().expect("temp dir");
        let config = dir.path().join("sites.json");
        std::fs::write(&config, sites_config(dir.path()).to_string()).expect("sites config");
        let mut cmd = lab.in_server(&bin("fathom-lab-sites"));
        cmd.arg(&config);
        let (sites, line) =
            Proc::start_ready("fathom-lab-sites", cmd, &dir.path().join("sites.log"));
        assert_eq!(line, "ready");
        Self {
            lab,
            dir,
            _sites: sites,
        }
    }

    /// Runs `fathom-agent ipv6-check ARGS` in the probe namespace: (exit code, stdout, stderr).
    fn check(&self, args: &[&str]) -> (Option<i32>, String, String) {
        let (status, out, err) = run(self
            .lab
            .in_probe(&bin("fathom-agent"))
            .arg("ipv6-check")
            .args(args));
        (status.code(), out, err)
    }

    /// Runs a `--json` check that must succeed and returns its object.
    fn check_json(&self, args: &[&str]) -> Value {
        let (code, out, err) = self.check(args);
        assert_eq!(code, Some(0), "ipv6-check failed: {err}\n{out}");
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("one JSON object ({e}): {out}"))
    }
}

fn site<'a>(report: &'a Value, url: &str) -> &'a Value {
    report["sites"]
        .as_array()
        .expect("sites is an array")
        .iter()
        .find(|s| s["url"] == url)
        .unwrap_or_else(|| panic!("no row for {url} in {report}"))
}

/// The expected row per lab site: (`url`, `supports_ipv6`, `reason`, `home_ok_v6`,
/// `links_checked`, `links_ok_v6`).
fn expected_rows() -> Vec<(&'static str, Value, Value, Value, u64, u64)> {
    vec![
        (
            "http://full.fathom.test/",
            json!(true),
            Value::Null,
            json!(true),
            3,
            3,
        ),
        (
            "http://noaaaa.fathom.test/",
            json!(false),
            json!("no AAAA record for noaaaa.fathom.test"),
            Value::Null,
            0,
            0,
        ),
        (
            "http://nowhere.fathom.test/",
            json!(false),
            json!(
                "no AAAA record for nowhere.fathom.test (and no A record: the name does not resolve)"
            ),
            Value::Null,
            0,
            0,
        ),
        (
            "http://refuse.fathom.test/",
            json!(false),
            json!("connection refused on [fd00:99::3]:80"),
            json!(false),
            0,
            0,
        ),
        (
            "http://drop.fathom.test/",
            json!(false),
            json!("timed out connecting to [fd00:dead::1]:80"),
            json!(false),
            0,
            0,
        ),
        (
            "http://wwwonly.fathom.test/",
            json!(false),
            json!("no AAAA record for wwwonly.fathom.test"),
            Value::Null,
            0,
            0,
        ),
        (
            "http://www.wwwonly.fathom.test/",
            json!(true),
            Value::Null,
            json!(true),
            3,
            3,
        ),
        (
            "http://homeonly.fathom.test/",
            json!(false),
            json!("3 of 3 links fail over IPv6 (first: http://homeonly.fathom.test/a: HTTP 404)"),
            json!(true),
            3,
            0,
        ),
        (
            "http://cname.fathom.test/",
            json!(true),
            Value::Null,
            json!(true),
            3,
            3,
        ),
        (
            "http://redirect.fathom.test/",
            json!(false),
            json!("redirect to old.fathom.test which has no IPv6 address"),
            json!(false),
            0,
            0,
        ),
        (
            "https://secure.fathom.test/",
            json!(true),
            Value::Null,
            json!(true),
            3,
            3,
        ),
    ]
}

#[test]
fn ipv6_check_gives_the_verdict_and_reason_of_each_lab_site() {
    if !netlab::require("ipv6_check_gives_the_verdict_and_reason_of_each_lab_site") {
        return;
    }
    let lab = SitesLab::start();
    let ca = lab.dir.path().join("ca.pem");
    let urls = [
        "http://full.fathom.test/",
        "http://noaaaa.fathom.test/",
        "http://nowhere.fathom.test/",
        "http://refuse.fathom.test/",
        "http://drop.fathom.test/",
        "http://wwwonly.fathom.test/",
        "http://www.wwwonly.fathom.test/",
        "http://homeonly.fathom.test/",
        "http://cname.fathom.test/",
        "http://redirect.fathom.test/",
        "https://secure.fathom.test/",
    ];
    let started = std::time::Instant::now();
    let mut args = vec![
        "--dns",
        DNS_V6,
        "--interface",
        Ipv6Lab::DUAL_STACK_IF,
        "--canary",
        "http://canary.fathom.test/",
        "--ca",
        ca.to_str().expect("utf-8 path"),
        "--connect-timeout",
        "1s",
        "--json",
    ];
    args.extend(urls);
    let report = lab.check_json(&args);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "bounded timeouts keep a round short"
    );
    assert_eq!(report["probe_ipv6"], true, "{report}");
    assert_eq!(report["sites"].as_array().map(Vec::len), Some(urls.len()));

    for (url, supports, reason, home, checked, ok) in expected_rows() {
        let s = site(&report, url);
        assert_eq!(s["supports_ipv6"], supports, "{url}: {s}");
        assert_eq!(s["reason"], reason, "{url}: {s}");
        assert_eq!(s["home_ok_v6"], home, "{url}: {s}");
        assert_eq!(s["links_checked"], checked, "{url}: {s}");
        assert_eq!(s["links_ok_v6"], ok, "{url}: {s}");
        assert_eq!(s["probe_ipv6"], true, "{url}: {s}");
    }
    // The AAAA of a CNAME is the CDN name's; a host without AAAA has none listed.
    assert_eq!(
        site(&report, "http://cname.fathom.test/")["aaaa"],
        json!([WEB_V6])
    );
    assert_eq!(
        site(&report, "http://cname.fathom.test/")["host"],
        "cname.fathom.test"
    );
    assert_eq!(
        site(&report, "http://noaaaa.fathom.test/")["aaaa"],
        json!([])
    );
    assert_eq!(
        site(&report, "http://homeonly.fathom.test/")["aaaa"],
        json!([HOME_ONLY_V6])
    );
}

#[test]
fn https_without_the_test_ca_is_a_tls_failure() {
    if !netlab::require("https_without_the_test_ca_is_a_tls_failure") {
        return;
    }
    let lab = SitesLab::start();
    // Without the test CA the same https site is a TLS failure; DNS over IPv4 works the same.
    let report = lab.check_json(&[
        "--dns",
        DNS_V4,
        "--interface",
        Ipv6Lab::DUAL_STACK_IF,
        "--canary",
        "http://canary.fathom.test/",
        "--json",
        "https://secure.fathom.test/",
    ]);
    let s = site(&report, "https://secure.fathom.test/");
    assert_eq!(s["supports_ipv6"], false, "{s}");
    assert!(
        s["reason"]
            .as_str()
            .is_some_and(|r| r.starts_with("TLS failure: ")),
        "{s}"
    );
}

#[test]
fn ipv6_check_prints_one_line_per_site_without_json() {
    if !netlab::require("ipv6_check_prints_one_line_per_site_without_json") {
        return;
    }
    let lab = SitesLab::start();
    // Text output: one line per site with the verdict and reason.
    let (code, out, err) = lab.check(&[
        "--dns",
        DNS_V6,
        "--canary",
        "http://canary.fathom.test/",
        "http://full.fathom.test/",
        "http://noaaaa.fathom.test/",
    ]);
    assert_eq!(code, Some(0), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    assert!(
        lines[0].starts_with("http://full.fathom.test/: supports IPv6"),
        "{out}"
    );
    assert!(
        lines[1].contains("no IPv6") && lines[1].contains("no AAAA record"),
        "{out}"
    );
}

#[test]
fn a_probe_without_ipv6_gives_unknown_verdicts_never_no() {
    if !netlab::require("a_probe_without_ipv6_gives_unknown_verdicts_never_no") {
        return;
    }
    let lab = SitesLab::start();
    // Through the IPv4-only carrier: DNS works (over IPv4), IPv6 does not.
    let report = lab.check_json(&[
        "--dns",
        DNS_V4,
        "--interface",
        Ipv6Lab::IPV4_ONLY_IF,
        "--canary",
        "http://canary.fathom.test/",
        "--json",
        "http://full.fathom.test/",
        "http://noaaaa.fathom.test/",
        "http://refuse.fathom.test/",
    ]);
    assert_eq!(report["probe_ipv6"], false, "{report}");
    for s in report["sites"].as_array().expect("sites") {
        assert_eq!(s["supports_ipv6"], Value::Null, "{s}");
        assert_eq!(s["probe_ipv6"], false, "{s}");
        assert_eq!(
            s["reason"],
            "probe has no IPv6 path: the canary http://canary.fathom.test/ did not load: \
             network unreachable for [fd00:99::1]:80",
            "{s}"
        );
    }
    // The AAAA lookups still say what the sites publish.
    assert_eq!(
        site(&report, "http://full.fathom.test/")["aaaa"],
        json!([WEB_V6])
    );

    // A DNS server that does not answer: nothing could be checked (exit 1).
    let (code, out, err) = lab.check(&[
        "--dns",
        WEB_V4,
        "--dns-timeout",
        "300ms",
        "--interface",
        Ipv6Lab::DUAL_STACK_IF,
        "--canary",
        "http://canary.fathom.test/",
        "--json",
        "http://full.fathom.test/",
    ]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(err.contains("nothing could be checked"), "{err}");

    // An interface that does not exist: exit 1 with the reason, no verdicts.
    let (code, out, err) = lab.check(&["--interface", "wwan9", "http://full.fathom.test/"]);
    assert_eq!(code, Some(1), "{out}\n{err}");
    assert!(err.contains("interface wwan9 has no address"), "{err}");
    assert!(out.is_empty(), "{out}");

    // Bad usage: exit 2 with a one-line reason.
    let (code, _, err) = lab.check(&["ftp://full.fathom.test/"]);
    assert_eq!(code, Some(2), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let not_a_cert = lab.dir.path().join("sites.json");
    let (code, _, err) = lab.check(&[
        "--ca",
        not_a_cert.to_str().expect("utf-8 path"),
        "https://secure.fathom.test/",
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("holds no PEM certificate"), "{err}");
}

/// `fathom-agent doctor` in the IPv6 lab, one line per link: the dual-stack link has an address
/// and routes and loads the canary (OK); the IPv4-only link has no IPv6 (a warning saying what to
/// do); a canary that does not load, and then a link whose routes are gone, are failures saying
/// what to do. The collector is out of reach from the lab, so the probe is never ready here.
#[test]
fn doctor_checks_each_links_ipv6_address_route_and_canary() {
    if !netlab::require("doctor_checks_each_links_ipv6_address_route_and_canary") {
        return;
    }
    let lab = SitesLab::start();
    let dir = lab.dir.path();
    std::fs::write(dir.join("modems.toml"), fathom_e2e::SIM_MODEMS).expect("sim file written");
    let doctor = |canary: &str| {
        let config = dir.join("probe.toml");
        std::fs::write(
            &config,
            format!(
                "collector = \"http://127.0.0.1:9\"\nprobe_id = \"p-v6\"\n\
                 site_id = \"county-hospital\"\ntoken = \"fth_lab\"\nspool = \"{}\"\n\
                 [ipv6]\nwebsites = [\"http://full.fathom.test/\"]\ncanary = \"{canary}\"\n\
                 dns = \"{DNS_V4}\"\nconnect_timeout = \"1s\"\n\
                 [[modem]]\ncarrier = \"cmcc\"\ninterface = \"{}\"\nbackend = \"sim:modems.toml\"\n\
                 [[modem]]\ncarrier = \"cu\"\ninterface = \"{}\"\nbackend = \"sim:modems.toml\"\n",
                dir.join("spool.db").display(),
                Ipv6Lab::DUAL_STACK_IF,
                Ipv6Lab::IPV4_ONLY_IF,
            ),
        )
        .expect("config written");
        let (status, out, err) = run(lab
            .lab
            .in_probe(&bin("fathom-agent"))
            .args(["doctor", "--no-speed", "--config"])
            .arg(&config));
        assert_eq!(
            status.code(),
            Some(1),
            "no collector, not ready:\n{out}\n{err}"
        );
        out
    };
    // The line about `carrier`'s IPv6, and the advice under it.
    let ipv6_line = |out: &str, carrier: &str| -> (String, String) {
        let mut lines = out.lines();
        let line = lines
            .find(|l| l.contains(&format!("IPv6 通路 IPv6 path: {carrier}:")))
            .unwrap_or_else(|| panic!("no IPv6 line for {carrier}:\n{out}"))
            .to_owned();
        (line, lines.next().unwrap_or_default().to_owned())
    };

    let out = doctor("http://canary.fathom.test/");
    let (cmcc, _) = ipv6_line(&out, "cmcc");
    assert_eq!(
        cmcc,
        "[ OK ] IPv6 通路 IPv6 path: cmcc: wwan0 has fd00:1::2, 2 route(s); \
         http://canary.fathom.test/ loaded over IPv6",
        "{out}"
    );
    let (cu, advice) = ipv6_line(&out, "cu");
    assert_eq!(
        cu, "[WARN] IPv6 通路 IPv6 path: cu: wwan1 has no global IPv6 address",
        "{out}"
    );
    assert!(advice.contains("IPv4v6"), "{out}");

    // A canary whose address the network drops: the path is said not to work, and why.
    let out = doctor("http://drop.fathom.test/");
    let (cmcc, advice) = ipv6_line(&out, "cmcc");
    assert!(
        cmcc.starts_with("[FAIL]")
            && cmcc.contains("IPv6 does not work through it")
            && cmcc.contains("timed out connecting to [fd00:dead::1]:80"),
        "{out}"
    );
    assert!(advice.contains("AAAA"), "{out}");

    // The link keeps its address but loses its routes: half set up, and the fix is named.
    for prefix in ["fd00:99::/64", "fd00:dead::/64"] {
        let (status, _, err) = run(lab.lab.in_probe(Path::new("ip")).args([
            "-6",
            "route",
            "del",
            prefix,
            "dev",
            Ipv6Lab::DUAL_STACK_IF,
        ]));
        assert!(status.success(), "route {prefix} not removed: {err}");
    }
    let out = doctor("http://canary.fathom.test/");
    let (cmcc, advice) = ipv6_line(&out, "cmcc");
    assert_eq!(
        cmcc,
        "[FAIL] IPv6 通路 IPv6 path: cmcc: wwan0 has fd00:1::2 but no IPv6 route beyond the link",
        "{out}"
    );
    assert!(
        advice.contains("accept_ra") && advice.contains("dev wwan0"),
        "{out}"
    );
}

#[test]
fn run_once_spools_and_uploads_one_ipv6_result_per_website() {
    if !netlab::require("run_once_spools_and_uploads_one_ipv6_result_per_website") {
        return;
    }
    let lab = SitesLab::start();
    // The collector runs in the server namespace, reachable from the probe.
    let collector = Collector::new();
    let mut serve = lab.lab.in_server(&bin("fathom-collector"));
    serve.arg("--config").arg(collector.config()).args([
        "serve",
        "--listen",
        &format!("{WEB_V4}:0"),
    ]);
    let (_server, line) = Proc::start_ready(
        "fathom-collector",
        serve,
        &collector.dir.path().join("collector.log"),
    );
    let url = line
        .strip_prefix("listening on ")
        .expect("readiness line")
        .trim()
        .to_owned();
    let token = collector.add_probe("hosp-01", "county-hospital");
    let dir = tempfile::tempdir().expect("temp dir");
    let config = format!(
        r#"collector = "{url}"
probe_id = "hosp-01"
site_id = "county-hospital"
token = "{token}"
spool = "spool.db"

[speedtest]
max_duration = "300ms"
max_bytes = 1000000

[ipv6]
websites = ["http://full.fathom.test/", "http://noaaaa.fathom.test/"]
canary = "http://canary.fathom.test/"
dns = "{DNS_V6}"
connect_timeout = "1s"

[[modem]]
carrier = "cmcc"
interface = "{}"
backend = "sim:modems.toml"
"#,
        Ipv6Lab::DUAL_STACK_IF
    );
    std::fs::write(dir.path().join("probe.toml"), config).expect("probe config");
    std::fs::write(
        dir.path().join("modems.toml"),
        "[[modem]]\ncarrier = \"cmcc\"\nlink_mbps = 20.0\n[[modem.state]]\nrat = \"lte\"\n\
         rsrp_dbm = -95.0\nrsrq_db = -11.0\nsinr_db = 8.0\nband = \"B3\"\ncell_id = \"1A\"\n",
    )
    .expect("sim file");
    let (status, out, log) = run(lab
        .lab
        .in_probe(&bin("fathom-agent"))
        .arg("run")
        .arg("--config")
        .arg(dir.path().join("probe.toml"))
        .arg("--once"));
    assert!(status.success(), "run --once failed:\n{out}\n{log}");

    let (status, out, err) = run(collector.command().args(["export", "--kind", "ipv6"]));
    assert!(status.success(), "export failed: {err}");
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(rows.len(), 2, "{out}\nagent log:\n{log}");
    let row = |url: &str| {
        rows.iter()
            .find(|r| r["url"] == url)
            .unwrap_or_else(|| panic!("no ipv6 result for {url}: {out}"))
    };
    let full = row("http://full.fathom.test/");
    assert_eq!(full["kind"], "ipv6");
    assert_eq!(full["carrier"], "cmcc");
    assert_eq!(full["interface"], Ipv6Lab::DUAL_STACK_IF);
    assert_eq!(full["supports_ipv6"], true, "{full}");
    assert_eq!(full["probe_ipv6"], true, "{full}");
    let no = row("http://noaaaa.fathom.test/");
    assert_eq!(no["supports_ipv6"], false, "{no}");
    assert_eq!(no["reason"], "no AAAA record for noaaaa.fathom.test");
}
