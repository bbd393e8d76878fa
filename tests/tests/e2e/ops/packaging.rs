//! The systemd units in `packaging/systemd/`: systemd itself checks them (`systemd-analyze
//! verify`) and scores their sandboxing (`systemd-analyze security --offline`), with the unit's
//! `ExecStart` pointed at the binaries this build made. The `.deb` packages ([`deb`]): built with
//! cargo-deb and installed with dpkg in a throwaway root.

use fathom_e2e::{bin, run};
use std::path::Path;
use std::process::Command;

fn systemd_analyze_available() -> bool {
    let found = Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("SKIPPED: systemd-analyze is not installed (Debian package systemd)");
    }
    found
}

/// Verifies the unit and returns its exposure score (0 = fully sandboxed, 10 = not at all).
fn check_unit(name: &str, binary: &str) -> f64 {
    let unit = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../packaging/systemd")
        .join(name);
    let text = std::fs::read_to_string(&unit).expect("unit readable");
    let dir = tempfile::tempdir().expect("temp dir");
    let local = dir.path().join(name);
    let exec = bin(binary).display().to_string();
    std::fs::write(&local, text.replace(&format!("/usr/bin/{binary}"), &exec))
        .expect("unit copied");
    let (status, out, err) = run(Command::new("systemd-analyze")
        .args(["verify", "--man=no"])
        .arg(&local));
    assert!(
        status.success() && err.trim().is_empty(),
        "{name}: {out}{err}"
    );
    let (status, out, err) = run(Command::new("systemd-analyze")
        .args(["security", "--offline=true", "--no-pager"])
        .arg(&local));
    assert!(status.success(), "{name}: {err}");
    out.lines()
        .find_map(|l| {
            l.split_once("Overall exposure level for ")?
                .1
                .split_once(": ")?
                .1
                .split_whitespace()
                .next()?
                .parse::<f64>()
                .ok()
        })
        .unwrap_or_else(|| panic!("{name}: no overall exposure level in:\n{out}"))
}

#[test]
fn the_agent_unit_is_valid_and_sandboxed() {
    if !systemd_analyze_available() {
        return;
    }
    let exposure = check_unit("fathom-agent.service", "fathom-agent");
    // Only CAP_NET_RAW (binding to a modem's interface) and the modems' serial ports are allowed.
    assert!(
        exposure <= 2.0,
        "fathom-agent.service exposure {exposure} > 2.0"
    );
}

#[test]
fn the_collector_unit_is_valid_and_sandboxed() {
    if !systemd_analyze_available() {
        return;
    }
    let exposure = check_unit("fathom-collector.service", "fathom-collector");
    assert!(
        exposure <= 1.5,
        "fathom-collector.service exposure {exposure} > 1.5"
    );
}

/// The `.deb` packages, made by cargo-deb from the binaries this build made (`--no-build`, so a
/// debug build packages its debug binaries), installed for real with `dpkg -i` into a throwaway
/// root: an overlay of `/` whose upper layer is a tmpfs in a private mount namespace, so the
/// maintainer scripts run for real (system user, state folder, conffile modes, unit enabled) and
/// the machine is left as it was. Needs root, dpkg, cargo-deb and overlayfs; without them the
/// tests skip, or fail under `FATHOM_REQUIRE_NETLAB=1` like the other root tests.
mod deb {
    use fathom_e2e::{bin, netlab, run};
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Runs in a private mount namespace: mounts the throwaway root at `$2/root`, copies the
    /// package (`$1`) into it, installs it, then runs the checks (`$3`) inside it.
    const THROWAWAY_ROOT: &str = r#"
set -eu
deb=$1; t=$2; checks=$3
mount --make-rprivate /
mount -t tmpfs tmpfs "$t"
mkdir -p "$t/up" "$t/work" "$t/root"
mount -t overlay overlay -o "lowerdir=/,upperdir=$t/up,workdir=$t/work" "$t/root"
mount -t proc proc "$t/root/proc"
mount --rbind /dev "$t/root/dev"
# An empty /run: no systemd to reach from inside, so the scripts only touch files.
mount -t tmpfs tmpfs "$t/root/run"
mount -t tmpfs tmpfs "$t/root/tmp"
cp "$deb" "$t/root/tmp/package.deb"
chroot "$t/root" dpkg -i /tmp/package.deb >"$t/root/tmp/dpkg.log" 2>&1 || {
  cat "$t/root/tmp/dpkg.log" >&2; exit 1; }
chroot "$t/root" sh -eu -c "$checks"
"#;

    /// What a test needs that a machine may lack; `Err` says what.
    fn prerequisites() -> Result<(), String> {
        netlab::available()?;
        for program in ["dpkg", "unshare", "chroot"] {
            if !netlab::have(program) {
                return Err(format!("{program} is missing"));
            }
        }
        let cargo_deb = Command::new(cargo())
            .args(["deb", "--version"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !cargo_deb {
            return Err("cargo-deb is missing (cargo install cargo-deb --locked)".to_owned());
        }
        Ok(())
    }

    fn require(test: &str) -> bool {
        netlab::require_met(test, prerequisites())
    }

    fn cargo() -> String {
        std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned())
    }

    /// Builds the package of `crate_name` from this build's binary; returns its path.
    fn build_deb(crate_name: &str, binary: &str, out: &Path) -> PathBuf {
        let exe = bin(binary);
        let profile_dir = exe.parent().expect("target/<profile>");
        let target_dir = profile_dir.parent().expect("target");
        // cargo-deb maps the assets' target/release/ to the profile's folder.
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => panic!("no profile folder in {}", exe.display()),
        };
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (status, stdout, err) = run(Command::new(cargo())
            .current_dir(&workspace)
            .env("CARGO_TARGET_DIR", target_dir)
            // Stripped and gzip'd by the system's tools: about a second per package, where
            // cargo-deb's own compressor takes minutes on a debug binary.
            .args(["deb", "-p", crate_name, "--no-build", "--profile", profile])
            .args(["--strip", "--no-separate-debug-symbols", "--no-dbgsym"])
            .args(["--fast", "--compress-type", "gz", "--compress-system"])
            .arg("--output")
            .arg(out));
        assert!(
            status.success(),
            "cargo deb -p {crate_name} failed: {stdout}{err}"
        );
        std::fs::read_dir(out)
            .expect("output folder")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "deb")
                    && p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(&format!("{crate_name}_")))
            })
            .unwrap_or_else(|| panic!("no {crate_name} .deb in {}", out.display()))
    }

    /// Installs `deb` in a throwaway root and runs `checks` (sh) there; returns their output.
    fn install_and_check(deb: &Path, checks: &str) -> String {
        let scratch = tempfile::tempdir().expect("temp dir");
        let (status, out, err) = run(Command::new("unshare")
            .args([
                "--mount",
                "--fork",
                "sh",
                "-c",
                THROWAWAY_ROOT,
                "throwaway-root",
            ])
            .arg(deb)
            .arg(scratch.path())
            .arg(checks));
        assert!(status.success(), "install or checks failed:\n{out}\n{err}");
        out
    }

    /// The value of `key=` in the checks' output.
    fn value<'a>(out: &'a str, key: &str) -> &'a str {
        out.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("{key} missing from:\n{out}"))
    }

    /// What the host has of `user` and `path`, to show the install left it unchanged.
    fn host_state(user: &str, path: &str) -> (bool, bool) {
        let user_exists = Command::new("getent")
            .args(["passwd", user])
            .output()
            .is_ok_and(|o| o.status.success());
        (user_exists, Path::new(path).exists())
    }

    #[test]
    fn the_agent_deb_installs_its_files_user_and_state_folder() {
        if !require("the_agent_deb_installs_its_files_user_and_state_folder") {
            return;
        }
        let out_dir = tempfile::tempdir().expect("temp dir");
        let deb = build_deb("fathom-agent", "fathom-agent", out_dir.path());
        let before = host_state("fathom", "/etc/fathom/agent.toml");
        let out = install_and_check(
            &deb,
            r#"
echo "version=$(/usr/bin/fathom-agent --version)"
echo "binary=$(stat -c %a /usr/bin/fathom-agent)"
echo "config=$(stat -c %U:%G:%a /etc/fathom/agent.toml)"
echo "conffiles=$(dpkg-query -W -f '${Conffiles}' fathom-agent | awk '{print $1}' | tr '\n' ' ')"
echo "unit=$(test -f /lib/systemd/system/fathom-agent.service && echo present)"
echo "enabled=$(test -L /etc/systemd/system/multi-user.target.wants/fathom-agent.service && echo yes)"
echo "user=$(getent passwd fathom | cut -d: -f1,6,7)"
echo "groups=$(id -nG fathom)"
echo "state=$(stat -c %U:%G:%a /var/lib/fathom)"
# The shipped config is valid for the agent that ships it.
echo "config_reads=$(/usr/bin/fathom-agent spool --config /etc/fathom/agent.toml >/dev/null 2>&1; echo $?)"
dpkg -r fathom-agent >/dev/null
echo "after_remove_binary=$(test -e /usr/bin/fathom-agent && echo present || echo gone)"
echo "after_remove_config=$(test -e /etc/fathom/agent.toml && echo kept || echo gone)"
dpkg -P fathom-agent >/dev/null
echo "after_purge_config=$(test -e /etc/fathom/agent.toml && echo kept || echo gone)"
"#,
        );
        assert!(value(&out, "version").starts_with("fathom-agent "), "{out}");
        assert_eq!(value(&out, "binary"), "755", "{out}");
        // The config holds the probe's token: the agent's alone.
        assert_eq!(value(&out, "config"), "fathom:fathom:600", "{out}");
        assert_eq!(
            value(&out, "conffiles").trim(),
            "/etc/fathom/agent.toml",
            "{out}"
        );
        assert_eq!(value(&out, "unit"), "present", "{out}");
        assert_eq!(value(&out, "enabled"), "yes", "{out}");
        assert_eq!(
            value(&out, "user"),
            "fathom:/var/lib/fathom:/usr/sbin/nologin",
            "{out}"
        );
        assert!(
            value(&out, "groups").split(' ').any(|g| g == "dialout"),
            "the agent reads the modems' AT ports: {out}"
        );
        assert_eq!(value(&out, "state"), "fathom:fathom:750", "{out}");
        assert_eq!(value(&out, "config_reads"), "0", "{out}");
        assert_eq!(value(&out, "after_remove_binary"), "gone", "{out}");
        assert_eq!(
            value(&out, "after_remove_config"),
            "kept",
            "a conffile stays until purge: {out}"
        );
        assert_eq!(value(&out, "after_purge_config"), "gone", "{out}");
        assert_eq!(
            host_state("fathom", "/etc/fathom/agent.toml"),
            before,
            "the machine itself is unchanged"
        );
    }

    #[test]
    fn the_collector_deb_installs_its_files_user_and_state_folder() {
        if !require("the_collector_deb_installs_its_files_user_and_state_folder") {
            return;
        }
        let out_dir = tempfile::tempdir().expect("temp dir");
        let deb = build_deb("fathom-collector", "fathom-collector", out_dir.path());
        let before = host_state("fathom-collector", "/etc/fathom/collector.toml");
        let out = install_and_check(
            &deb,
            r#"
echo "version=$(/usr/bin/fathom-collector --version)"
echo "config=$(stat -c %U:%G:%a /etc/fathom/collector.toml)"
echo "conffiles=$(dpkg-query -W -f '${Conffiles}' fathom-collector | awk '{print $1}' | tr '\n' ' ')"
echo "unit=$(test -f /lib/systemd/system/fathom-collector.service && echo present)"
echo "enabled=$(test -L /etc/systemd/system/multi-user.target.wants/fathom-collector.service && echo yes)"
echo "user=$(getent passwd fathom-collector | cut -d: -f1,6,7)"
echo "state=$(stat -c %U:%G:%a /var/lib/fathom-collector)"
# The shipped config is valid for the collector that ships it.
echo "indicators=$(/usr/bin/fathom-collector --config /etc/fathom/collector.toml --db sqlite:///tmp/f.db indicators --week 2026-W47 --json >/dev/null 2>&1; echo $?)"
"#,
        );
        assert!(
            value(&out, "version").starts_with("fathom-collector "),
            "{out}"
        );
        assert_eq!(value(&out, "config"), "root:fathom-collector:640", "{out}");
        assert_eq!(
            value(&out, "conffiles").trim(),
            "/etc/fathom/collector.toml",
            "{out}"
        );
        assert_eq!(value(&out, "unit"), "present", "{out}");
        assert_eq!(value(&out, "enabled"), "yes", "{out}");
        assert_eq!(
            value(&out, "user"),
            "fathom-collector:/var/lib/fathom-collector:/usr/sbin/nologin",
            "{out}"
        );
        assert_eq!(
            value(&out, "state"),
            "fathom-collector:fathom-collector:750",
            "{out}"
        );
        assert_eq!(value(&out, "indicators"), "0", "{out}");
        assert_eq!(
            host_state("fathom-collector", "/etc/fathom/collector.toml"),
            before,
            "the machine itself is unchanged"
        );
    }
}
