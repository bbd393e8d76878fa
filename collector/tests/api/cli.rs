//! The command line, through the real binary: `probe add`, `import`, `export`, `serve`,
//! `testserver`, and the exit-status contract (0 ok, 2 bad usage or input, 1 other failure).

use crate::helpers::result;
use crate::scratch::{self, ScratchDb};
use serde_json::Value;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

const CONFIG: &str = r#"
[county]
name = "Test county"
timezone = "Asia/Shanghai"

[[site]]
id = "county-hospital"
name = "Hospital"
category = "hospital"

[[site]]
id = "bus-station"
name = "Bus station"
category = "transit_hub"
"#;

/// A config in a temp dir, its database, and the binary run against them.
struct Collector {
    dir: tempfile::TempDir,
    /// The PostgreSQL database named in the config's `[database]`, dropped with the collector;
    /// `None` for SQLite beside the config.
    _pg: Option<ScratchDb>,
}

impl Collector {
    /// On SQLite (`fathom.db` beside the config, the default).
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("collector.toml"), CONFIG).expect("config written");
        Collector { dir, _pg: None }
    }

    /// One on SQLite and, when PostgreSQL answers, one on a fresh PostgreSQL database.
    fn each_backend() -> Vec<Self> {
        scratch::each_backend()
            .into_iter()
            .map(|db| {
                if db.backend == "sqlite" {
                    return Collector::new();
                }
                let c = Collector::new();
                let config = format!("{CONFIG}\n[database]\nurl = \"{}\"\n", db.url);
                std::fs::write(c.path("collector.toml"), config).expect("config written");
                Collector { _pg: Some(db), ..c }
            })
            .collect()
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn command(&self) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fathom-collector"));
        c.current_dir(self.dir.path()).env("RUST_LOG", "warn");
        c
    }

    fn run(&self, args: &[&str]) -> (Option<i32>, String, String) {
        run_with(self.command().args(args), None)
    }

    fn add_probe(&self, id: &str, site: &str) -> String {
        let (code, out, err) = self.run(&["probe", "add", "--id", id, "--site", site]);
        assert_eq!(code, Some(0), "{err}");
        out.trim().to_owned()
    }

    fn export(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["export"];
        all.extend_from_slice(args);
        let (code, out, err) = self.run(&all);
        assert_eq!(code, Some(0), "{err}");
        out.lines()
            .map(|l| serde_json::from_str(l).expect("export prints JSON lines"))
            .collect()
    }

    fn write_lines(&self, name: &str, lines: &[String]) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, lines.join("\n") + "\n").expect("file written");
        path
    }
}

fn run_with(cmd: &mut Command, stdin: Option<&[u8]>) -> (Option<i32>, String, String) {
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(input)
            .expect("the binary reads stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("the binary ends");
    (
        status.code(),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// The one `error: …` line a failing command prints last on stderr.
fn error_line(err: &str) -> &str {
    let line = err.lines().last().unwrap_or_default();
    assert!(line.starts_with("error: "), "{err}");
    line
}

fn line(kind: &str, n: u32, probe: &str, site: &str) -> String {
    result(kind, n, probe, site).to_string()
}

#[test]
fn probe_add_prints_one_token_and_refuses_unknown_sites_and_taken_ids() {
    for c in Collector::each_backend() {
        let (code, out, _) = c.run(&[
            "probe",
            "add",
            "--id",
            "hosp-01",
            "--site",
            "county-hospital",
        ]);
        assert_eq!(code, Some(0));
        assert_eq!(out.lines().count(), 1, "{out:?}");
        let token = out.trim();
        assert!(token.starts_with("fth_") && token.len() == 68, "{token}");
        assert!(token[4..].bytes().all(|b| b.is_ascii_hexdigit()), "{token}");

        let (code, out, err) = c.run(&[
            "probe",
            "add",
            "--id",
            "hosp-01",
            "--site",
            "county-hospital",
        ]);
        assert_eq!(code, Some(2));
        assert!(out.is_empty());
        assert!(
            error_line(&err).contains("hosp-01 is already registered"),
            "{err}"
        );

        let (code, _, err) = c.run(&["probe", "add", "--id", "x-01", "--site", "nowhere"]);
        assert_eq!(code, Some(2));
        assert_eq!(
            error_line(&err),
            "error: unknown site nowhere; the config declares: county-hospital, bus-station"
        );

        // Global options go after the subcommand too.
        let (code, out, err) = c.run(&["probe", "list", "--config", "collector.toml"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(out.starts_with("hosp-01\tcounty-hospital\t"), "{out}");
    }
}

#[test]
fn import_is_all_or_nothing_and_skips_stored_ids() {
    for c in Collector::each_backend() {
        c.add_probe("hosp-01", "county-hospital");
        c.add_probe("hub-01", "bus-station");
        let good = vec![
            line("speed", 1, "hosp-01", "county-hospital"),
            String::new(),
            line("radio", 2, "hub-01", "bus-station"),
            line("ipv6", 3, "hosp-01", "county-hospital"),
        ];

        // A bad line (line 4: a probe at another probe's site) stops everything.
        let mut bad = good.clone();
        bad.insert(3, line("radio", 9, "hub-01", "county-hospital"));
        let file = c.write_lines("bad.jsonl", &bad);
        let (code, out, err) = c.run(&["import", file.to_str().unwrap()]);
        assert_eq!(code, Some(2), "{err}");
        assert!(out.is_empty());
        let name = file.display().to_string();
        assert!(
            error_line(&err).starts_with(&format!("error: {name}:4: site_id \"county-hospital\"")),
            "{err}"
        );
        assert!(
            c.export(&[]).is_empty(),
            "nothing of a refused import is stored"
        );

        for (n, bad_line) in [
            ("malformed", "{\"schema\": 1,".to_owned()),
            (
                "unregistered",
                line("speed", 9, "ghost-01", "county-hospital"),
            ),
            (
                "out of range",
                line("speed", 9, "hosp-01", "county-hospital").replace("87.5", "-1"),
            ),
        ] {
            let file = c.write_lines("bad.jsonl", &[good[0].clone(), bad_line]);
            let (code, _, err) = c.run(&["import", file.to_str().unwrap()]);
            assert_eq!(code, Some(2), "{n}: {err}");
            assert!(error_line(&err).contains("bad.jsonl:2: "), "{n}: {err}");
        }
        assert!(c.export(&[]).is_empty());

        let file = c.write_lines("good.jsonl", &good);
        let (code, out, err) = c.run(&["import", file.to_str().unwrap()]);
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(
            out,
            format!("imported 3 results (0 duplicates skipped) from {name}\n")
                .replace("bad.jsonl", "good.jsonl")
        );

        // From stdin, with one new result and a repeat inside the input.
        let mut again = good.clone();
        again.push(line("speed", 4, "hosp-01", "county-hospital"));
        again.push(good[0].clone());
        let (code, out, err) = run_with(
            c.command().args(["import", "-"]),
            Some(again.join("\n").as_bytes()),
        );
        assert_eq!(code, Some(0), "{err}");
        assert_eq!(out, "imported 1 results (4 duplicates skipped) from -\n");
        assert_eq!(c.export(&[]).len(), 4);

        let (code, _, err) = c.run(&["import", "missing.jsonl"]);
        assert_eq!(code, Some(2));
        assert!(error_line(&err).contains("missing.jsonl"), "{err}");
    }
}

#[test]
fn export_prints_the_stored_wire_format_filtered_and_in_time_order() {
    for c in Collector::each_backend() {
        c.add_probe("hosp-01", "county-hospital");
        c.add_probe("hub-01", "bus-station");
        let mut late = result("speed", 1, "hosp-01", "county-hospital");
        late["measured_at"] = Value::from("2026-11-24T00:00:00Z");
        let lines = vec![
            late.to_string(),
            line("radio", 2, "hub-01", "bus-station"),
            line("ipv6", 3, "hosp-01", "county-hospital"),
            line("speed", 4, "hosp-01", "county-hospital"),
        ];
        let file = c.write_lines("in.jsonl", &lines);
        assert_eq!(c.run(&["import", file.to_str().unwrap()]).0, Some(0));

        let all = c.export(&[]);
        let ids: Vec<_> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
        // 01:15 speed, 01:16 radio, 02:00 ipv6, then the next day.
        assert_eq!(
            ids.iter().map(|id| &id[id.len() - 1..]).collect::<String>(),
            "4231"
        );
        assert_eq!(
            all[2],
            result("ipv6", 3, "hosp-01", "county-hospital"),
            "stored as sent"
        );

        assert_eq!(c.export(&["--kind", "radio"]).len(), 1);
        assert_eq!(c.export(&["--probe", "hosp-01"]).len(), 3);
        assert_eq!(
            c.export(&[
                "--since",
                "2026-11-23T01:16:00Z",
                "--until",
                "2026-11-24T00:00:00Z"
            ])
            .len(),
            2
        );
        let (code, _, err) = c.run(&["export", "--since", "yesterday"]);
        assert_eq!(code, Some(2), "{err}");
        let (code, _, _) = c.run(&["export", "--kind", "video"]);
        assert_eq!(code, Some(2));
    }
}

#[test]
fn a_reader_that_closes_the_pipe_early_is_not_a_failure() {
    let c = Collector::new();
    c.add_probe("hosp-01", "county-hospital");
    let lines: Vec<_> = (1..=3000)
        .map(|n| line("speed", n, "hosp-01", "county-hospital"))
        .collect();
    let file = c.write_lines("in.jsonl", &lines);
    assert_eq!(c.run(&["import", file.to_str().unwrap()]).0, Some(0));
    let mut child = c
        .command()
        .arg("export")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_configs_and_weeks_exit_2_with_one_line() {
    let c = Collector::new();
    let (code, _, err) = c.run(&["probe", "list", "--config", "nope.toml"]);
    assert_eq!(code, Some(2));
    assert!(error_line(&err).contains("nope.toml"), "{err}");

    std::fs::write(c.path("typo.toml"), CONFIG.replace("timezone", "time_zone")).unwrap();
    let (code, _, err) = c.run(&["probe", "list", "--config", "typo.toml"]);
    assert_eq!(code, Some(2));
    assert_eq!(err.lines().count(), 1, "{err}");

    let (code, _, err) = c.run(&["indicators", "--week", "2026-W60"]);
    assert_eq!(code, Some(2));
    assert!(error_line(&err).contains("2026-W60"), "{err}");

    let (code, _, _) = c.run(&["probe", "list", "--db", "mysql://x"]);
    assert_eq!(code, Some(2));
    let (code, _, _) = c.run(&["frobnicate"]);
    assert_eq!(code, Some(2));
}

/// Reads the readiness line of a server child.
fn listening_url(child: &mut std::process::Child) -> String {
    let mut line = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout is piped"))
        .read_line(&mut line)
        .expect("stdout is readable");
    line.trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("readiness line: {line:?}"))
        .to_owned()
}

fn terminate(child: &mut std::process::Child) -> Option<i32> {
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    child.wait().expect("the server ends").code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_where_it_listens_serves_and_stops_cleanly_on_sigterm() {
    let c = Collector::new();
    let token = c.add_probe("hosp-01", "county-hospital");
    let mut child = c
        .command()
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    assert!(
        url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
        "{url}"
    );
    let resp = reqwest::Client::new()
        .post(format!("{url}/api/v1/results"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"results": [result("speed", 1, "hosp-01", "county-hospital")]}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(terminate(&mut child), Some(0));
    assert_eq!(
        c.export(&[]).len(),
        1,
        "the upload is in the database serve used"
    );
}

/// Whether process `pid` runs `exe` and catches SIGTERM (signal 15: bit 14 of `SigCgt` in
/// `/proc/PID/status`). Before its `exec` the child is a copy of this test process, hence `exe`.
fn runs_and_catches_sigterm(pid: u32, exe: &std::path::Path) -> bool {
    if std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .as_deref()
        != Some(exe)
    {
        return false;
    }
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("SigCgt:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << 14) != 0)
}

#[test]
fn a_sigterm_right_after_start_stops_serve_cleanly() {
    let c = Collector::new();
    let exe = std::fs::canonicalize(env!("CARGO_BIN_EXE_fathom-collector")).expect("the binary");
    let child = c
        .command()
        .env("RUST_LOG", "info")
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // SIGTERM as soon as the collector catches it, long before it listens. The handlers are
    // registered before any work, so once its database exists it must be catching SIGTERM.
    let database = c.path("fathom.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let opened = database.exists();
        if runs_and_catches_sigterm(child.id(), &exe) {
            break;
        }
        assert!(
            !opened,
            "the collector opened its database before it caught SIGTERM"
        );
        assert!(
            std::time::Instant::now() < deadline,
            "the collector never caught SIGTERM"
        );
        std::thread::yield_now();
    }
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs")
            .success()
    );
    let out = child.wait_with_output().expect("the server ends");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "killed, not stopped: {stderr}");
    assert!(stderr.contains("Shutdown requested."), "{stderr}");
}

#[test]
fn testserver_without_open_refuses_to_start_and_says_why() {
    let out = Command::new(env!("CARGO_BIN_EXE_fathom-collector"))
        .args(["testserver", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--open"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn testserver_needs_no_config_or_database() {
    let empty = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_fathom-collector"))
        .current_dir(empty.path())
        .args(["testserver", "--open", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let url = listening_url(&mut child);
    let ping = reqwest::get(format!("{url}/api/v1/ping")).await.unwrap();
    assert_eq!(ping.status(), 204);
    let body = reqwest::get(format!("{url}/api/v1/download?bytes=100000"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body.len(), 100_000);
    // No results endpoint here.
    let upload = reqwest::Client::new()
        .post(format!("{url}/api/v1/results"))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), 404);
    let wrong_method = reqwest::Client::new()
        .post(format!("{url}/api/v1/ping"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_method.status(), 405);
    let v: Value = wrong_method.json().await.unwrap();
    assert_eq!(v["error"], "POST is not allowed on /api/v1/ping");
    assert_eq!(terminate(&mut child), Some(0));
    assert!(
        std::fs::read_dir(empty.path()).unwrap().next().is_none(),
        "testserver wrote files"
    );
}

#[test]
fn an_unreachable_postgresql_fails_at_once_with_the_reason_and_no_password() {
    let c = Collector::new();
    // A port that was free a moment ago: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("postgres://fathom:s3cret@127.0.0.1:{port}/fathom");
    let started = std::time::Instant::now();
    let (code, out, err) = c.run(&["probe", "list", "--db", &url]);
    assert_eq!(code, Some(1), "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    let line = error_line(&err);
    assert!(
        line.starts_with(&format!(
            "error: cannot open database postgres://fathom:***@127.0.0.1:{port}/fathom: "
        )),
        "{err}"
    );
    assert!(line.to_lowercase().contains("refused"), "{err}");
    assert!(!err.contains("s3cret"), "{err}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the pool's retries were not waited out"
    );
}

/// Revocation sticks: a revoked probe gets no enrollment code and no rotation; `probe restore`
/// lifts it with a new token, once.
#[test]
fn only_probe_restore_lifts_a_revocation() {
    for c in Collector::each_backend() {
        c.add_probe("hosp-01", "county-hospital");
        let (code, _, err) = c.run(&["probe", "revoke", "--id", "hosp-01"]);
        assert_eq!(code, Some(0), "{err}");
        for refused in ["enroll-code", "rotate"] {
            let (code, out, err) = c.run(&["probe", refused, "--id", "hosp-01"]);
            assert_eq!(code, Some(2), "{refused}: {out}{err}");
            assert!(out.is_empty(), "{refused}: nothing printed: {out}");
            assert!(
                error_line(&err).contains("probe restore --id hosp-01"),
                "{refused}: {err}"
            );
        }
        let (code, out, err) = c.run(&["probe", "restore", "--id", "hosp-01"]);
        assert_eq!(code, Some(0), "{err}");
        assert!(
            out.trim().starts_with("fth_") && out.lines().count() == 1,
            "{out}"
        );
        let (_, list, _) = c.run(&["probe", "list"]);
        assert!(list.trim_end().ends_with("\tactive"), "{list}");
        let (code, _, err) = c.run(&["probe", "restore", "--id", "hosp-01"]);
        assert_eq!(code, Some(2), "not revoked: {err}");
        let (code, _, err) = c.run(&["probe", "restore", "--id", "nobody"]);
        assert_eq!(code, Some(2), "{err}");
        let (code, _, err) = c.run(&["probe", "enroll-code", "--id", "hosp-01"]);
        assert_eq!(code, Some(0), "restored: {err}");
    }
}
