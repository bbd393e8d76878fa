//! The Prometheus alerting rules (`packaging/prometheus/fathom-alerts.yml`) and the Grafana
//! dashboard (`packaging/grafana/fathom-dashboard.json`) against their own tool and the real
//! `/metrics`: `promtool check rules`, `promtool test rules` (the rules' unit tests feed series
//! and expect each alert to fire, not before its `for:`), `promtool check metrics` on a real
//! collector's exposition, every dashboard query parsed by promtool (as a recording rule), and
//! every metric that a rule or a dashboard query names must be one
//! that the collector exposes, so renaming a metric fails here.
//!
//! Needs `promtool` on `PATH` (Debian package `prometheus`, which `scripts/test.sh` installs);
//! without it the tests say so and pass, unless `FATHOM_REQUIRE_NETLAB=1` (CI), which makes a
//! missing `promtool` a failure.

use fathom_e2e::{Agent, Collector, run};
use fathom_shared::api::ALERT_KINDS;
use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const RULES: &str = "packaging/prometheus/fathom-alerts.yml";
const RULE_TESTS: &str = "packaging/prometheus/fathom-alerts.test.yml";
const DASHBOARD: &str = "packaging/grafana/fathom-dashboard.json";
/// Series that Prometheus makes itself for each scrape target, not the collector.
const PROMETHEUS_OWN: [&str; 1] = ["up"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the repository")
        .to_owned()
}

/// `promtool` from `PATH`, or `None` (after saying so) when it is missing and may be.
fn promtool(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("promtool"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("FATHOM_REQUIRE_NETLAB").as_deref() != Ok("1"),
            "{test}: FATHOM_REQUIRE_NETLAB=1 but promtool is missing \
             (apt-get install -y --no-install-recommends prometheus)"
        );
        eprintln!(
            "SKIPPED {test}: promtool is missing (apt-get install -y --no-install-recommends \
             prometheus; set FATHOM_REQUIRE_NETLAB=1 to make this a failure)"
        );
    }
    found
}

/// Runs `promtool ARGS` in the repository's root, with `stdin` as its input; returns its output.
fn run_promtool(promtool: &Path, args: &[&str], stdin: Option<&str>) -> (bool, String) {
    let mut cmd = Command::new(promtool);
    cmd.args(args).current_dir(repo_root());
    let (status, out, err) = match stdin {
        None => run(&mut cmd),
        Some(input) => {
            use std::io::Write as _;
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("promtool starts");
            child
                .stdin
                .take()
                .expect("stdin piped")
                .write_all(input.as_bytes())
                .expect("promtool reads its input");
            let o = child.wait_with_output().expect("promtool ends");
            (
                o.status,
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).into_owned(),
            )
        }
    };
    (status.success(), format!("{out}{err}"))
}

/// The metric names a Prometheus query reads: its identifiers less functions, aggregations,
/// keywords, label names (in `{…}`, `by (…)`, `on (…)`…), strings, durations and `$variables`.
fn metric_names(expr: &str) -> BTreeSet<String> {
    const KEYWORDS: [&str; 20] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "and",
        "or",
        "unless",
        "bool",
        "offset",
        "sum",
        "min",
        "max",
        "avg",
        "count",
        "group",
        "stddev",
        "stdvar",
        "topk",
    ];
    const LABEL_LISTS: [&str; 6] = [
        "by",
        "without",
        "on",
        "ignoring",
        "group_left",
        "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let mut skip_label_list = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            // Strings, label matchers and range selectors hold no metric names.
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
                i += 1;
            }
            '{' | '[' => {
                let close = if c == '{' { '}' } else { ']' };
                while i < chars.len() && chars[i] != close {
                    i += 1;
                }
                i += 1;
            }
            '(' if skip_label_list => {
                while i < chars.len() && chars[i] != ')' {
                    i += 1;
                }
                i += 1;
                skip_label_list = false;
            }
            '$' => {
                i += 1;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len() && ident(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let next = chars[i..].iter().find(|c| !c.is_whitespace());
                if LABEL_LISTS.contains(&word.as_str()) {
                    skip_label_list = true;
                } else if !KEYWORDS.contains(&word.as_str()) && next != Some(&'(') {
                    names.insert(word);
                }
            }
            // Numbers, with their exponent or duration unit (`5m`, `1e3`).
            c if c.is_ascii_digit() || c == '.' => {
                while i < chars.len() && (ident(chars[i]) || chars[i] == '.') {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    names
}

/// The names in `exprs` (each with where it is) that are neither exposed nor Prometheus's own.
fn unknown_metrics(exprs: &[(String, String)], exposed: &BTreeSet<String>) -> Vec<String> {
    exprs
        .iter()
        .flat_map(|(place, expr)| {
            metric_names(expr)
                .into_iter()
                .filter(|n| !exposed.contains(n) && !PROMETHEUS_OWN.contains(&n.as_str()))
                .map(move |n| format!("{place}: {n} in {expr}"))
        })
        .collect()
}

/// Each rule of the rules file: its alert name and its chunk of text (through the next rule).
fn rules(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if let Some(name) = line.trim().strip_prefix("- alert: ") {
            out.push((name.to_owned(), String::new()));
        } else if let Some((_, chunk)) = out.last_mut() {
            chunk.push_str(line);
            chunk.push('\n');
        }
    }
    out
}

/// The value of `key: "…"` or `key: …` in a rule's chunk.
fn field<'a>(chunk: &'a str, key: &str) -> Option<&'a str> {
    chunk.lines().find_map(|l| {
        l.trim()
            .strip_prefix(key)
            .and_then(|v| v.strip_prefix(": "))
            .map(|v| v.trim_matches('"'))
    })
}

/// Every query of the dashboard, with where it is: panel targets (rows' panels too) and the
/// template variables' queries.
fn dashboard_queries(dashboard: &Value) -> Vec<(String, String)> {
    fn walk(panels: &[Value], out: &mut Vec<(String, String)>) {
        for p in panels {
            let title = p["title"].as_str().unwrap_or("?");
            for t in p["targets"].as_array().into_iter().flatten() {
                let expr = t["expr"]
                    .as_str()
                    .unwrap_or_else(|| panic!("panel {title:?}: a target without expr: {t}"));
                out.push((format!("panel {title:?}"), expr.to_owned()));
            }
            walk(p["panels"].as_array().map_or(&[], Vec::as_slice), out);
        }
    }
    let mut out = Vec::new();
    walk(
        dashboard["panels"].as_array().expect("panels is a list"),
        &mut out,
    );
    for v in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let q = v["definition"]
            .as_str()
            .expect("a query variable's definition");
        // label_values(METRIC, LABEL): the metric is what a query reads.
        let metric = q
            .strip_prefix("label_values(")
            .and_then(|r| r.split_once(','))
            .map_or(q, |(m, _)| m);
        out.push((format!("variable {}", v["name"]), metric.to_owned()));
    }
    out
}

/// The dashboard is one Grafana imports: a recent schema, the Prometheus data source as the
/// `DS_PROMETHEUS` input on every panel, unique panel ids, a query in every panel.
fn check_dashboard_shape(dashboard: &Value) {
    assert!(
        dashboard["schemaVersion"].as_u64().is_some_and(|v| v >= 39),
        "schemaVersion 39 or later"
    );
    assert_eq!(dashboard["__inputs"][0]["name"], "DS_PROMETHEUS");
    assert_eq!(dashboard["__inputs"][0]["pluginId"], "prometheus");
    let mut ids = BTreeSet::new();
    for p in dashboard["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(p["id"].as_u64().expect("a panel id")),
            "panel ids are unique: {p}"
        );
        if p["type"] != "row" {
            assert_eq!(
                p["datasource"]["uid"], "${DS_PROMETHEUS}",
                "panel {}: the datasource is the input ${{DS_PROMETHEUS}}",
                p["title"]
            );
            assert!(
                !p["targets"].as_array().expect("targets").is_empty(),
                "{}",
                p["title"]
            );
        }
    }
}

#[test]
fn the_metric_name_check_catches_a_misspelled_or_unknown_metric() {
    let exposed: BTreeSet<String> = ["fathom_results_received_total", "fathom_probe_alert"]
        .map(String::from)
        .into();
    let fine = [(
        "a".to_owned(),
        "sum by (kind) (rate(fathom_results_received_total{kind=~\"$kind\"}[$__rate_interval])) \
         * 60 > 1 or on(job) up{job=\"fathom-collector\"} == 0 and fathom_probe_alert offset 5m"
            .to_owned(),
    )];
    assert_eq!(unknown_metrics(&fine, &exposed), Vec::<String>::new());
    let misspelled = [(
        "b".to_owned(),
        "rate(fathom_results_recieved_total[5m])".to_owned(),
    )];
    assert_eq!(unknown_metrics(&misspelled, &exposed).len(), 1);
    let label_as_metric = [(
        "c".to_owned(),
        "sum(fathom_probe_alert) by (probe) / fathom_probes".to_owned(),
    )];
    assert_eq!(
        unknown_metrics(&label_as_metric, &exposed),
        ["c: fathom_probes in sum(fathom_probe_alert) by (probe) / fathom_probes"]
    );
}

#[test]
fn the_alert_rules_pass_promtool_and_their_unit_tests_and_cover_every_alert_kind() {
    let text = std::fs::read_to_string(repo_root().join(RULES)).expect("the rules file");
    let rules = rules(&text);
    // One rule for each kind the collector knows, on its per-probe series, and for the collector.
    for kind in ALERT_KINDS {
        let on_kind = format!("fathom_probe_alert{{alert=\"{kind}\"}} == 1");
        assert!(
            rules
                .iter()
                .any(|(_, chunk)| field(chunk, "expr") == Some(on_kind.as_str())),
            "no rule with `expr: {on_kind}` in {RULES}"
        );
    }
    for needle in [
        "up{job=\"fathom-collector\"} == 0",
        "fathom_uploads_refused_total",
    ] {
        assert!(
            rules
                .iter()
                .any(|(_, c)| field(c, "expr").is_some_and(|e| e.contains(needle))),
            "no rule on {needle} in {RULES}"
        );
    }
    for (name, chunk) in &rules {
        assert!(
            name.starts_with("Fathom"),
            "{name}: alert names start with Fathom"
        );
        assert!(
            field(chunk, "expr").is_some_and(|e| !e.is_empty() && e != "|" && e != ">"),
            "{name}: expr on one line (the metric check reads it)"
        );
        assert!(
            matches!(
                field(chunk, "severity"),
                Some("critical" | "warning" | "info")
            ),
            "{name}: severity critical, warning or info"
        );
        for key in ["summary", "description"] {
            let v = field(chunk, key).unwrap_or_else(|| panic!("{name}: no {key}"));
            let first = v.chars().find(|c| c.is_alphabetic()).unwrap_or(' ');
            assert!(
                ('\u{4e00}'..='\u{9fff}').contains(&first),
                "{name}: {key} in Chinese first, then English: {v}"
            );
            assert!(
                v.chars().any(|c| c.is_ascii_alphabetic()),
                "{name}: {key} has English too: {v}"
            );
        }
    }

    let Some(promtool) = promtool("prometheus rules") else {
        return;
    };
    let (ok, out) = run_promtool(&promtool, &["check", "rules", RULES], None);
    assert!(ok, "promtool check rules {RULES}:\n{out}");
    assert!(
        out.contains(&format!("SUCCESS: {} rules found", rules.len())),
        "{out}"
    );
    let (ok, out) = run_promtool(&promtool, &["test", "rules", RULE_TESTS], None);
    assert!(ok, "promtool test rules {RULE_TESTS}:\n{out}");
    // Every alert is expected to fire somewhere in the unit tests.
    let tests = std::fs::read_to_string(repo_root().join(RULE_TESTS)).expect("the rule tests");
    for (name, _) in &rules {
        let fires = tests
            .split("alertname: ")
            .skip(1)
            .any(|t| t.starts_with(&format!("{name}\n")) && t.contains("exp_labels"));
        assert!(fires, "{RULE_TESTS} never expects {name} to fire");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_metrics_pass_promtool_and_the_dashboard_and_rules_read_only_them() {
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join(DASHBOARD)).expect("the dashboard file"),
    )
    .expect("the dashboard is JSON");
    check_dashboard_shape(&dashboard);

    // A collector with a probe that uploaded (its clock unsynchronised: no systemd here), one
    // never seen, and one refused upload, so every series has samples.
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("hosp-prom", "county-hospital");
    collector.add_probe("hub-prom", "bus-station");
    let mut agent = Agent::new(&collector.url, "hosp-prom", "county-hospital", &token);
    let (status, log) = agent.run_once();
    assert!(status.success(), "run --once failed:\n{log}");
    let client = reqwest::Client::new();
    let refused = client
        .post(format!("{}/api/v1/results", collector.url))
        .bearer_auth("fth_not_a_token")
        .header("content-type", "application/json")
        .body(r#"{"results":[]}"#)
        .send()
        .await
        .expect("an answer");
    assert_eq!(refused.status(), 401);
    let text = client
        .get(format!("{}/metrics", collector.url))
        .send()
        .await
        .expect("an answer")
        .text()
        .await
        .expect("a body");
    assert!(
        text.contains(
            "fathom_probe_alert{probe=\"hub-prom\",site=\"bus-station\",alert=\"never_seen\"} 1\n"
        ),
        "{text}"
    );
    assert!(text.contains("fathom_uploads_refused_total 1\n"), "{text}");
    let exposed: BTreeSet<String> = text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect();
    for name in &exposed {
        assert!(
            text.lines()
                .any(|l| l.starts_with(name.as_str()) && !l.starts_with('#')),
            "{name} has no sample:\n{text}"
        );
    }

    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 8, "{queries:?}");
    let unknown = unknown_metrics(&queries, &exposed);
    assert!(
        unknown.is_empty(),
        "{DASHBOARD} reads metrics /metrics does not have:\n{}\nexposed: {exposed:?}",
        unknown.join("\n")
    );
    // Each of the collector's metrics is on the dashboard.
    let shown: BTreeSet<String> = queries.iter().flat_map(|(_, q)| metric_names(q)).collect();
    for name in &exposed {
        assert!(shown.contains(name), "{DASHBOARD} shows nothing of {name}");
    }
    let rules_text = std::fs::read_to_string(repo_root().join(RULES)).expect("the rules file");
    let rule_exprs: Vec<(String, String)> = rules(&rules_text)
        .into_iter()
        .map(|(name, chunk)| (name, field(&chunk, "expr").unwrap_or_default().to_owned()))
        .collect();
    let unknown = unknown_metrics(&rule_exprs, &exposed);
    assert!(
        unknown.is_empty(),
        "{RULES} reads metrics /metrics does not have:\n{}",
        unknown.join("\n")
    );

    let Some(promtool) = promtool("prometheus metrics") else {
        return;
    };
    // Every dashboard query parses as PromQL: promtool checks it as a recording rule, with the
    // dashboard's variables filled in as Grafana would.
    let mut check = String::from("groups:\n  - name: fathom-dashboard-queries\n    rules:\n");
    for (i, (_, q)) in queries.iter().enumerate() {
        let q = q.replace("$__rate_interval", "4m").replace("$site", ".*");
        let q = serde_json::to_string(&q).expect("a string");
        writeln!(
            check,
            "      - record: fathom_dashboard_query_{i}\n        expr: {q}"
        )
        .unwrap();
    }
    let file = collector.dir.path().join("dashboard-queries.yml");
    std::fs::write(&file, check).expect("written");
    let (ok, out) = run_promtool(
        &promtool,
        &["check", "rules", file.to_str().expect("a UTF-8 path")],
        None,
    );
    assert!(ok, "the dashboard's queries as PromQL:\n{out}");

    let (ok, out) = run_promtool(&promtool, &["check", "metrics"], Some(&text));
    assert!(
        ok,
        "promtool check metrics on the collector's /metrics:\n{out}\n{text}"
    );
}
