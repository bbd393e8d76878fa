//! Harness for Fathom's end-to-end tests: starts the real `fathom-collector` and `fathom-agent`
//! binaries as child processes in a temporary folder, talks to them over real sockets on loopback,
//! and kills them when dropped (echoing their logs when the test failed).
//!
//! The binaries are looked up beside the test executable (`target/<profile>/`), so build them
//! first: `cargo build --workspace --bins` (`./scripts/test.sh` does).
//!
//! `FATHOM_TEST_DB=postgres` puts every [`Collector`] on a fresh PostgreSQL database of the
//! server at [`PG_SERVER`] (dropped afterwards) instead of a SQLite file, so that the tests of
//! the store's behaviour run on both backends.

pub mod load;
pub mod netlab;
pub mod picture;

use serde_json::Value;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// Path of one of the workspace's binaries, built in the same profile as this test.
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    // target/<profile>/deps/e2e-<hash> → target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executables live in target/<profile>/deps");
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the binaries first with `cargo build --workspace --bins`",
        path.display()
    );
    path
}

/// Polls `check` every 50 ms until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

/// A child process that is killed when dropped; its stderr goes to a log file that is printed
/// when the test is failing.
pub struct Proc {
    name: String,
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(name: &str, mut cmd: Command, log: &Path) -> (Self, Option<mpsc::Receiver<String>>) {
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("log file opens");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        (
            Self {
                name: name.to_owned(),
                child: Some(child),
                log: log.to_owned(),
            },
            Some(rx),
        )
    }

    /// Starts `cmd` and waits up to 30 s for its first stdout line (a readiness line such as
    /// `listening on http://…`), which it returns.
    pub fn start_ready(name: &str, cmd: Command, log: &Path) -> (Self, String) {
        let (proc, rx) = Self::spawn(name, cmd, log);
        let line = rx
            .expect("stdout read")
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} printed no readiness line; log:\n{}", proc.log()));
        (proc, line)
    }

    /// Starts `cmd` with its stderr in `log`, without waiting for anything.
    pub fn start(name: &str, cmd: Command, log: &Path) -> Self {
        Self::spawn(name, cmd, log).0
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    /// Sends SIGKILL and reaps the process: no chance to clean up, as on power loss.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            // Already gone is fine: we only need it not to outlive the test.
            if c.kill().is_ok() {
                c.wait().ok();
            }
        }
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit.
    pub fn terminate(&mut self, timeout: Duration) -> ExitStatus {
        let mut c = self.child.take().expect("running");
        let sent = Command::new("kill")
            .arg("-TERM")
            .arg(c.id().to_string())
            .status();
        assert!(
            sent.is_ok_and(|s| s.success()),
            "cannot send SIGTERM to {}",
            self.name
        );
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = c.try_wait().expect("wait works") {
                return status;
            }
            if Instant::now() > deadline {
                c.kill().ok();
                panic!("{} did not stop within {timeout:?} of SIGTERM", self.name);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The process's log (stderr) so far.
    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill9();
        if thread::panicking() {
            eprintln!(
                "----- {} log ({}) -----\n{}",
                self.name,
                self.log.display(),
                self.log()
            );
        }
    }
}

/// Runs a command to completion and returns (status, stdout, stderr).
pub fn run(cmd: &mut Command) -> (ExitStatus, String, String) {
    let out = cmd.stdin(Stdio::null()).output().expect("command starts");
    (
        out.status,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The sites of the test county: one of each I26 scene and two key public areas.
pub const COLLECTOR_TOML: &str = r#"
[county]
name = "测试县"
timezone = "Asia/Shanghai"

[[site]]
id = "county-hospital"
name = "县人民医院"
category = "hospital"
lat = 36.1853
lon = 118.1712

[[site]]
id = "bus-station"
name = "汽车站"
category = "transit_hub"
lat = 36.1902
lon = 118.1598

[[site]]
id = "central-plaza"
name = "商业中心"
category = "commercial"

[[website]]
url = "https://www.gov.example/"
kind = "gov_portal"
"#;

// The scratch databases of the collector's own tests, shared so that there is one helper.
#[path = "../../collector/src/store/scratch.rs"]
#[expect(dead_code, reason = "only its PostgreSQL half is used here")]
mod scratch;

/// The PostgreSQL server of the tests: trust authentication for `postgres` on loopback, as
/// `scripts/test.sh` sets it up.
pub const PG_SERVER: &str = scratch::PG_SERVER;

/// A fresh PostgreSQL database (`fathom_test_<random>`) on [`PG_SERVER`], dropped with this
/// value. The collector creates it on first use.
pub struct PgDatabase {
    /// `postgres://…/NAME`, for `--db` or `[database] url`.
    pub url: String,
    _db: scratch::ScratchDb,
}

impl PgDatabase {
    /// A new database name, or `None` (with a message on stderr) when PostgreSQL does not
    /// answer; with `FATHOM_REQUIRE_POSTGRES=1` (CI) an unreachable server fails the test.
    pub fn new() -> Option<Self> {
        scratch::postgres().map(|db| Self {
            url: db.url.clone(),
            _db: db,
        })
    }
}

/// A collector with its own folder, config and database: a SQLite file in the folder, or a
/// fresh PostgreSQL database under `FATHOM_TEST_DB=postgres`.
pub struct Collector {
    /// The folder holding config, database and logs.
    pub dir: tempfile::TempDir,
    proc: Option<Proc>,
    /// `http://127.0.0.1:PORT` once started.
    pub url: String,
    port: u16,
    /// Dropped after `proc` (fields drop in order), so the server is gone first.
    _pg: Option<PgDatabase>,
}

impl Collector {
    /// A collector folder with the test county's config; not started yet.
    pub fn new() -> Self {
        match std::env::var("FATHOM_TEST_DB").as_deref() {
            Ok("postgres") => {
                let pg = PgDatabase::new()
                    .unwrap_or_else(|| panic!("FATHOM_TEST_DB=postgres needs {PG_SERVER}"));
                let c = Self::on_database(&pg.url);
                Self { _pg: Some(pg), ..c }
            }
            Ok("sqlite") | Err(_) => Self::with_config(COLLECTOR_TOML.to_owned()),
            Ok(other) => panic!("FATHOM_TEST_DB={other:?}: expected sqlite or postgres"),
        }
    }

    /// A collector folder with `config` as its `collector.toml` and `files` (path relative to
    /// the folder, text) beside it, on the test's database like [`Collector::new`]: a province's
    /// config with its county files.
    pub fn with_files(config: &str, files: &[(&str, &str)]) -> Self {
        let pg = match std::env::var("FATHOM_TEST_DB").as_deref() {
            Ok("postgres") => Some(
                PgDatabase::new()
                    .unwrap_or_else(|| panic!("FATHOM_TEST_DB=postgres needs {PG_SERVER}")),
            ),
            _ => None,
        };
        let config = match &pg {
            Some(pg) => format!("{config}\n[database]\nurl = \"{}\"\n", pg.url),
            None => config.to_owned(),
        };
        let c = Self::with_config(config);
        for (path, text) in files {
            let path = c.dir.path().join(path);
            fs::create_dir_all(path.parent().expect("a file in a folder")).expect("folder made");
            fs::write(path, text).expect("file written");
        }
        Self { _pg: pg, ..c }
    }

    /// A collector on the database at `url` (which it does not own: several collectors may
    /// share one PostgreSQL database).
    pub fn on_database(url: &str) -> Self {
        Self::with_config(format!("{COLLECTOR_TOML}\n[database]\nurl = \"{url}\"\n"))
    }

    fn with_config(config: String) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("collector.toml"), config).expect("config written");
        Self {
            dir,
            proc: None,
            url: String::new(),
            port: 0,
            _pg: None,
        }
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("collector.toml")
    }

    /// Appends `toml` (whole tables, e.g. a `[limits]` of the test's own) to the config file;
    /// takes effect at the next start.
    pub fn append_config(&self, toml: &str) {
        use std::io::Write as _;
        fs::OpenOptions::new()
            .append(true)
            .open(self.config())
            .and_then(|mut f| f.write_all(format!("\n{toml}").as_bytes()))
            .expect("collector.toml appended to");
    }

    /// A `fathom-collector` command with `--config` set.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(bin("fathom-collector"));
        cmd.arg("--config").arg(self.config());
        cmd
    }

    /// Starts `serve` on `127.0.0.1:0` the first time, then again on the same port.
    pub fn start(&mut self) {
        self.start_under(&[]);
    }

    /// [`Collector::start`] under a wrapper command (`["prlimit", "--nofile=1024:8192", "--"]`
    /// starts it as systemd would without `LimitNOFILE`); no wrapper is a plain start.
    pub fn start_under(&mut self, wrapper: &[&str]) {
        assert!(self.proc.is_none(), "collector already running");
        let mut cmd = match wrapper.split_first() {
            Some((program, args)) => {
                let mut cmd = Command::new(program);
                cmd.args(args)
                    .arg(bin("fathom-collector"))
                    .arg("--config")
                    .arg(self.config());
                cmd
            }
            None => self.command(),
        };
        cmd.args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)]);
        let log = self.dir.path().join("collector.log");
        let (proc, line) = Proc::start_ready("fathom-collector", cmd, &log);
        let url = line
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("unexpected readiness line {line:?}"))
            .trim()
            .to_owned();
        self.port = url
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .expect("port in URL");
        self.url = url;
        self.proc = Some(proc);
    }

    /// Stops the server with SIGKILL (the port stays reserved for [`Collector::start`]).
    pub fn kill9(&mut self) {
        if let Some(mut p) = self.proc.take() {
            p.kill9();
        }
    }

    /// The running server process.
    pub fn proc(&self) -> &Proc {
        self.proc.as_ref().expect("collector running")
    }

    /// Registers a probe and returns its token.
    pub fn add_probe(&self, id: &str, site: &str) -> String {
        let (status, out, err) = run(self
            .command()
            .args(["probe", "add", "--id", id, "--site", site]));
        assert!(status.success(), "probe add failed: {err}");
        let token = out.trim().to_owned();
        assert_eq!(out.lines().count(), 1, "probe add prints one line: {out:?}");
        token
    }

    /// Every stored result, as `fathom-collector export` prints them.
    pub fn export(&self) -> Vec<Value> {
        let (status, out, err) = run(self.command().arg("export"));
        assert!(status.success(), "export failed: {err}");
        out.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("export prints JSON lines"))
            .collect()
    }

    /// The ids of every stored result.
    pub fn stored_ids(&self) -> Vec<String> {
        self.export()
            .iter()
            .map(|r| r["id"].as_str().expect("id is a string").to_owned())
            .collect()
    }
}

impl Default for Collector {
    fn default() -> Self {
        Self::new()
    }
}

/// Three simulated modems: 5G SA, 5G NSA and LTE, on links of different speeds.
pub const SIM_MODEMS: &str = r#"
[[modem]]
carrier = "cmcc"
link_mbps = 60.0
[[modem.state]]
rat = "nr_sa"
rsrp_dbm = -88.0
rsrq_db = -10.0
sinr_db = 15.0
band = "n41"
cell_id = "1A2B3C"

[[modem]]
carrier = "cu"
link_mbps = 40.0
[[modem.state]]
rat = "nr_nsa"
rsrp_dbm = -97.0
rsrq_db = -12.0
sinr_db = 6.0
band = "n78"
cell_id = "2B3C4D"

[[modem]]
carrier = "ct"
link_mbps = 25.0
[[modem.state]]
rat = "lte"
rsrp_dbm = -101.0
rsrq_db = -13.0
sinr_db = 3.0
band = "B3"
cell_id = "3C4D5E"
"#;

/// A probe: its folder, config, simulated modems and spool.
pub struct Agent {
    /// The folder holding config, sim file, spool and logs.
    pub dir: tempfile::TempDir,
    runs: u32,
}

impl Agent {
    /// A probe of `probe_id` at `site_id` uploading to `collector_url` with fast test cadences.
    pub fn new(collector_url: &str, probe_id: &str, site_id: &str, token: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::write(dir.path().join("modems.toml"), SIM_MODEMS).expect("sim file written");
        let mut config = format!(
            r#"collector = "{collector_url}"
probe_id = "{probe_id}"
site_id = "{site_id}"
token = "{token}"
spool = "spool.db"

[schedule]
speed_every = "2s"
radio_every = "500ms"
ipv6_every = "24h"

[upload]
batch = 5
retry_min = "100ms"
retry_max = "1s"

[speedtest]
max_duration = "400ms"
max_bytes = 4000000
"#
        );
        for carrier in ["cmcc", "cu", "ct"] {
            writeln!(
                config,
                "\n[[modem]]\ncarrier = \"{carrier}\"\nbackend = \"sim:modems.toml\"\n"
            )
            .expect("writing to a String cannot fail");
        }
        fs::write(dir.path().join("probe.toml"), config).expect("probe config written");
        Self { dir, runs: 0 }
    }

    /// The config file.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("probe.toml")
    }

    /// A `fathom-agent` command.
    pub fn command(&self) -> Command {
        Command::new(bin("fathom-agent"))
    }

    fn next_log(&mut self) -> PathBuf {
        self.runs += 1;
        self.dir.path().join(format!("agent-{}.log", self.runs))
    }

    /// Starts the daemon (`run --config`).
    pub fn start(&mut self) -> Proc {
        let mut cmd = self.command();
        cmd.arg("run").arg("--config").arg(self.config());
        let log = self.next_log();
        Proc::spawn("fathom-agent", cmd, &log).0
    }

    /// Runs `run --once` to completion; returns its exit status and log.
    pub fn run_once(&mut self) -> (ExitStatus, String) {
        let log = self.next_log();
        let log_file = fs::File::create(&log).expect("log file");
        let status = self
            .command()
            .arg("run")
            .arg("--config")
            .arg(self.config())
            .arg("--once")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .status()
            .expect("agent starts");
        (status, fs::read_to_string(&log).unwrap_or_default())
    }

    /// Waits for the running `daemon` to empty the spool, stops it with SIGTERM (exit 0), then
    /// sends with one `run --once` what was measured while it stopped.
    pub fn drain_and_stop(&mut self, daemon: &mut Proc) {
        wait_for("the spool to drain", Duration::from_secs(90), || {
            (self.spool_counts().0 == 0).then_some(())
        });
        let status = daemon.terminate(Duration::from_secs(20));
        assert!(
            status.success(),
            "daemon exit after SIGTERM: {status}\n{}",
            daemon.log()
        );
        let (status, log) = self.run_once();
        assert!(status.success(), "{log}");
    }

    /// `spool --json`: (pending, quarantined).
    pub fn spool_counts(&self) -> (u64, u64) {
        let (status, out, err) = run(self
            .command()
            .arg("spool")
            .arg("--config")
            .arg(self.config())
            .arg("--json"));
        assert!(status.success(), "spool --json failed: {err}");
        let v: Value = serde_json::from_str(out.trim()).expect("spool --json prints JSON");
        (
            v["pending"].as_u64().expect("pending"),
            v["quarantined"].as_u64().expect("quarantined"),
        )
    }

    /// Ids of every result any run of this agent logged as spooled (`Result spooled. id=…`).
    pub fn spooled_ids(&self) -> BTreeSet<String> {
        let mut ids = BTreeSet::new();
        for n in 1..=self.runs {
            let log = fs::read_to_string(self.dir.path().join(format!("agent-{n}.log")))
                .unwrap_or_default();
            ids.extend(parse_spooled_ids(&log));
        }
        ids
    }
}

/// The ids in `Result spooled.` log lines.
pub fn parse_spooled_ids(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("Result spooled."))
        .filter_map(|l| {
            let start = l.find("id=")? + 3;
            let id: String = l[start..]
                .chars()
                .take_while(|c| c.is_ascii_hexdigit() || *c == '-')
                .collect();
            (id.len() == 36).then_some(id)
        })
        .collect()
}

/// Asserts that every id of `spooled` is stored and that no result is stored twice; returns the
/// stored ids.
pub fn assert_stored_once(collector: &Collector, spooled: &BTreeSet<String>) -> BTreeSet<String> {
    let stored = collector.stored_ids();
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "no result is stored twice");
    let lost: Vec<_> = spooled.difference(&stored_set).collect();
    assert!(lost.is_empty(), "spooled but never stored: {lost:?}");
    stored_set
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spooled_ids_are_read_from_log_lines() {
        let log = "2026-11-29T00:00:00Z  INFO fathom_agent::spool: Result spooled. id=0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f kind=speed carrier=cmcc\n\
                   2026-11-29T00:00:01Z  INFO fathom_agent::uploader: Uploaded. accepted=1\n";
        assert_eq!(
            parse_spooled_ids(log),
            ["0192b6e2-7c1a-7d3e-9f00-3a5c1e2b4d6f"]
        );
    }
}
