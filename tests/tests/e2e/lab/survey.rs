//! `fathom-agent survey` in a real terminal: tmux (80×24) runs it against three fake AT modems on
//! pseudo-terminals (`fathom-fakemodem`: China Mobile on NR SA, China Unicom on NR NSA, China
//! Telecom on LTE) and a real collector. The test reads the screen (`capture-pane`) in Chinese
//! and in English, runs a speed test, marks a point, finds the mark on the collector's survey
//! page (SQLite, or PostgreSQL under `FATHOM_TEST_DB=postgres`), checks that the week's
//! indicators are the same with the mark as without, and that the terminal is given back after
//! `q` and after SIGTERM.
//!
//! Needs `tmux` (`scripts/test.sh` installs it); without it the test says so and passes, unless
//! `FATHOM_REQUIRE_NETLAB=1` (CI), which makes a missing tmux a failure.

use fathom_e2e::{Collector, Proc, bin, run, wait_for};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn tmux_available() -> bool {
    if Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return true;
    }
    assert!(
        std::env::var("FATHOM_REQUIRE_NETLAB").as_deref() != Ok("1"),
        "FATHOM_REQUIRE_NETLAB=1 but tmux is missing (apt-get install -y tmux)"
    );
    eprintln!("SKIP survey test: tmux is missing (apt-get install -y tmux)");
    false
}

/// A tmux server of the test's own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// A detached 80×24 session running a plain shell whose prompt is `shell$ `.
    fn new(dir: &Path) -> Self {
        let socket = dir.join("tmux.sock").display().to_string();
        let t = Self { socket };
        let (status, _, err) = run(t.cmd().args([
            "new-session",
            "-d",
            "-x",
            "80",
            "-y",
            "24",
            "-s",
            "survey",
            "env",
            "PS1=shell$ ",
            "LANG=C.UTF-8",
            "bash",
            "--norc",
            "--noprofile",
        ]));
        assert!(status.success(), "tmux new-session: {err}");
        wait_for("the shell prompt", Duration::from_secs(10), || {
            t.screen().contains("shell$").then_some(())
        });
        t
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        // UTF-8 whatever the test's locale: the screen holds Chinese.
        c.env("LC_ALL", "C.UTF-8")
            .arg("-u")
            .arg("-S")
            .arg(&self.socket);
        c
    }

    /// Types `text` literally.
    fn type_text(&self, text: &str) {
        let (status, _, err) = run(self.cmd().args(["send-keys", "-t", "survey", "-l", text]));
        assert!(status.success(), "send-keys: {err}");
    }

    /// Presses a named key (`Enter`, `C-c`, `Down`).
    fn key(&self, key: &str) {
        let (status, _, err) = run(self.cmd().args(["send-keys", "-t", "survey", key]));
        assert!(status.success(), "send-keys: {err}");
    }

    /// The visible screen.
    fn screen(&self) -> String {
        let (_, out, _) = run(self.cmd().args(["capture-pane", "-p", "-t", "survey"]));
        out
    }

    /// Whether the pane shows the alternate screen (a full-screen program holds it).
    fn alternate_on(&self) -> bool {
        let (_, out, _) =
            run(self
                .cmd()
                .args(["display", "-p", "-t", "survey", "#{alternate_on}"]));
        out.trim() == "1"
    }

    /// The shell's pid.
    fn shell_pid(&self) -> u32 {
        let (_, out, _) = run(self
            .cmd()
            .args(["display", "-p", "-t", "survey", "#{pane_pid}"]));
        out.trim().parse().expect("a pid")
    }

    /// Waits until the screen, spaces removed, holds every one of `texts`.
    fn wait_screen(&self, what: &str, texts: &[&str]) -> String {
        let mut last = String::new();
        for _ in 0..200 {
            last = self.screen();
            let flat = last.replace(' ', "");
            if texts.iter().all(|t| flat.contains(&t.replace(' ', ""))) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("{what}: {texts:?} never appeared; the screen:\n{last}");
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        run(self.cmd().arg("kill-server"));
    }
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../agent/tests/fixtures/modem")
        .join(name)
        .display()
        .to_string()
}

/// Plugs in a fake modem at `link` answering `AT+QENG` from `file`.
fn plug(link: &Path, file: &str, model: &str) -> Proc {
    let mut cmd = Command::new(bin("fathom-fakemodem"));
    cmd.arg("--link")
        .arg(link)
        .args(["--model", model, "--answer"])
        .arg(format!("AT+QENG=\"servingcell\"={}", fixture(file)));
    let (fake, ready) = Proc::start_ready("fathom-fakemodem", cmd, &link.with_extension("log"));
    assert!(ready.starts_with("ready /dev/pts/"), "{ready}");
    fake
}

/// The current week's three indicators (`indicators --json`), without the parts that follow
/// the clock (completeness grows as the week goes on).
fn indicators(collector: &Collector) -> Value {
    let (status, out, err) = run(collector.command().args(["indicators", "--json"]));
    assert!(status.success(), "indicators: {err}");
    let v: Value = serde_json::from_str(out.trim()).expect("indicators JSON");
    assert!(v["i33"]["sites"].is_array(), "{v}");
    json!([v["i26"], v["i33"], v["i32"], v["sites_without_data"]])
}

/// China Unicom radio samples at the hospital, measured now, that do not meet 5G: were a survey
/// mark (where China Unicom does) counted, the hospital's I33 would change.
fn weak_unicom_samples(collector: &Collector, token: &str) {
    let now = chrono::Utc::now();
    let results: Vec<Value> = (0..3)
        .map(|i| {
            json!({"schema": 1, "id": fathom_shared::ResultId::new().to_string(),
                "probe_id": "p-survey", "site_id": "county-hospital", "carrier": "cu",
                "interface": "wwan1",
                "measured_at": (now - chrono::Duration::seconds(60 * (i + 1))).to_rfc3339(),
                "clock_synced": true, "kind": "radio", "plmn": "46001", "rat": "nr_nsa",
                "rsrp_dbm": -112.0, "rsrq_db": -15.0, "sinr_db": -5.0, "band": "n78",
                "cell_id": "2B3C4D", "meets_5g": false, "reason": null})
        })
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{}/api/v1/results", collector.url))
            .bearer_auth(token)
            .json(&json!({"results": results}))
            .send()
            .await
            .expect("upload");
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    });
}

fn survey_page(collector: &Collector) -> String {
    get(collector, "/site/county-hospital/survey")
}

/// GETs a page of the collector's dashboard (200).
fn get(collector: &Collector, path: &str) -> String {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let r = reqwest::get(format!("{}{path}", collector.url))
            .await
            .expect("the page answers");
        assert_eq!(r.status(), 200, "{path}");
        r.text().await.expect("a body")
    })
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one session at the terminal, step after step, reads best in one place"
)]
fn survey_shows_each_carrier_marks_a_point_and_gives_the_terminal_back() {
    if !tmux_available() {
        return;
    }
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("p-survey", "county-hospital");
    weak_unicom_samples(&collector, &token);
    let before = indicators(&collector);

    let dir = tempfile::tempdir().unwrap();
    let links: Vec<PathBuf> = ["ttyUSB2", "ttyUSB5", "ttyUSB8"]
        .iter()
        .map(|n| dir.path().join(n))
        .collect();
    let _modems = [
        plug(&links[0], "quectel_sa_cmcc_n41_rm520n.txt", "RM520N-GL"),
        plug(&links[1], "quectel_nsa_doc.txt", "RM520N-GL"),
        plug(&links[2], "quectel_lte_ct.txt", "RM500U-CN"),
    ];
    let config = dir.path().join("probe.toml");
    std::fs::write(
        &config,
        format!(
            "collector = \"{}\"\nprobe_id = \"p-survey\"\nsite_id = \"county-hospital\"\n\
             token = \"{token}\"\nspool = \"spool.db\"\n\
             [speedtest]\nmax_duration = \"1s\"\nmax_bytes = 3000000\n\
             [[modem]]\ncarrier = \"cmcc\"\nbackend = \"at:{}\"\n\
             [[modem]]\ncarrier = \"cu\"\nbackend = \"at:{}\"\n\
             [[modem]]\ncarrier = \"ct\"\nbackend = \"at:{}\"\n",
            collector.url,
            links[0].display(),
            links[1].display(),
            links[2].display()
        ),
    )
    .unwrap();
    let agent = bin("fathom-agent").display().to_string();
    let log = dir.path().join("survey.log");
    let tmux = Tmux::new(dir.path());

    // In Chinese (the default): each carrier with its network type.
    tmux.type_text(&format!(
        "{agent} survey --config {} --log {}; echo SURVEY-EXIT=$?",
        config.display(),
        log.display()
    ));
    tmux.key("Enter");
    let screen = tmux.wait_screen(
        "the Chinese survey screen",
        &[
            "Fathom 选点勘测",
            "中国移动 NR SA",
            "中国联通 NR NSA",
            "中国电信 LTE",
            "达到5G标准",
            "未达5G标准",
        ],
    );
    assert!(
        tmux.alternate_on(),
        "the survey holds the alternate screen:\n{screen}"
    );

    // A short speed test through China Mobile's modem (the first, selected), then a mark.
    tmux.type_text("s");
    tmux.wait_screen("the speed test's rate", &["Mbit/s"]);
    tmux.type_text("m");
    tmux.wait_screen("the label prompt", &["点位名称："]);
    tmux.type_text("A 大厅西窗");
    tmux.key("Enter");
    let screen = tmux.wait_screen(
        "the mark on screen and uploaded",
        &["A 大厅西窗", "2/3 家达5G", "待上传 0"],
    );

    // The collector has it, with what each modem saw.
    let page = survey_page(&collector);
    assert!(page.contains("A 大厅西窗"), "{page}");
    assert!(
        page.contains("<th>中国移动</th><th>中国联通</th><th>中国电信</th>"),
        "{page}"
    );
    assert!(
        page.contains("下载 "),
        "the speed test is on the page: {page}"
    );
    assert!(page.contains("4G</b>"), "China Telecom on LTE: {page}");
    let site = get(&collector, "/site/county-hospital");
    assert!(
        site.contains("href=\"/site/county-hospital/survey\""),
        "the site page links to its survey: {site}"
    );
    // Nothing is left on the probe's disk once the collector has the mark.
    let kept = dir.path().join("spool.db.survey");
    let left = std::fs::read_dir(&kept).map_or(0, Iterator::count);
    assert_eq!(left, 0, "marks left in {}:\n{screen}", kept.display());
    // Survey marks are not results: the indicators are the same as before.
    assert_eq!(indicators(&collector), before);

    // q gives the terminal back: the shell and its prompt, no alternate screen.
    tmux.type_text("q");
    tmux.wait_screen("the shell after q", &["SURVEY-EXIT=0", "shell$"]);
    assert!(!tmux.alternate_on(), "{}", tmux.screen());

    // In English, ended by SIGTERM.
    tmux.type_text(&format!(
        "clear; {agent} survey --config {} --lang en; echo SURVEY-EXIT=$?",
        config.display()
    ));
    tmux.key("Enter");
    tmux.wait_screen(
        "the English survey screen",
        &[
            "Fathom survey",
            "China Mobile NR SA",
            "China Unicom NR NSA",
            "China Telecom LTE",
            "meets 5G",
            "not 5G",
            "no point marked yet",
        ],
    );
    let shell = tmux.shell_pid();
    let (status, out, _) =
        run(Command::new("pgrep").args(["-P", &shell.to_string(), "-x", "fathom-agent"]));
    assert!(status.success(), "the survey runs under the shell");
    let pid = out.trim().to_owned();
    let (status, _, err) = run(Command::new("kill").args(["-TERM", &pid]));
    assert!(status.success(), "kill: {err}");
    tmux.wait_screen("the shell after SIGTERM", &["SURVEY-EXIT=0", "shell$"]);
    assert!(!tmux.alternate_on(), "{}", tmux.screen());
}
