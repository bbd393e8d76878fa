//! The doctor's judgements, pure: from facts (a radio reading, an interface's state, the clock's
//! answer, spool counts, a speed check) to a [`Finding`] a technician can act on.

use crate::radio::RadioReading;
use chrono::{DateTime, Utc};
use fathom_shared::result::SpeedTest;
use fathom_shared::{Carrier, Meets5gThresholds, Rat, radio::meets_5g};
use std::net::{IpAddr, Ipv6Addr};

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Fine.
    Pass,
    /// Worth knowing; does not stop the probe from being ready.
    Warn,
    /// The probe is not ready until this is fixed.
    Fail,
}

/// One line of the doctor's report.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// How it came out.
    pub status: Status,
    /// What was checked, in Chinese.
    pub subject_zh: &'static str,
    /// What was checked, in English.
    pub subject_en: &'static str,
    /// What was seen.
    pub detail: String,
    /// What to do, in both languages, when it is not fine.
    pub advice: Option<String>,
}

impl Finding {
    /// A passed check.
    pub fn pass(zh: &'static str, en: &'static str, detail: String) -> Self {
        Self {
            status: Status::Pass,
            subject_zh: zh,
            subject_en: en,
            detail,
            advice: None,
        }
    }

    /// A warning, with advice.
    pub fn warn(zh: &'static str, en: &'static str, detail: String, advice: &str) -> Self {
        Self {
            status: Status::Warn,
            advice: Some(advice.to_owned()),
            ..Self::pass(zh, en, detail)
        }
    }

    /// A failure, with advice.
    pub fn fail(zh: &'static str, en: &'static str, detail: String, advice: &str) -> Self {
        Self {
            status: Status::Fail,
            advice: Some(advice.to_owned()),
            ..Self::pass(zh, en, detail)
        }
    }

    /// The report line: mark, subject in both languages, detail.
    pub fn line(&self) -> String {
        let mark = match self.status {
            Status::Pass => "[ OK ]",
            Status::Warn => "[WARN]",
            Status::Fail => "[FAIL]",
        };
        format!(
            "{mark} {} {}: {}",
            self.subject_zh, self.subject_en, self.detail
        )
    }
}

/// Signal quality in a technician's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalQuality {
    /// RSRP ≥ −90 dBm and SINR ≥ 10 dB.
    Good,
    /// Between good and poor.
    Fair,
    /// RSRP < −105 dBm or SINR < −3 dB: below the county's 5G thresholds.
    Poor,
}

impl SignalQuality {
    /// The words for it.
    pub fn words(self) -> &'static str {
        match self {
            SignalQuality::Good => "好 good",
            SignalQuality::Fair => "一般 fair",
            SignalQuality::Poor => "差 poor",
        }
    }
}

/// Classifies a signal; `None` when RSRP is unknown. A missing SINR judges by RSRP alone.
pub fn signal_quality(rsrp_dbm: Option<f64>, sinr_db: Option<f64>) -> Option<SignalQuality> {
    let rsrp = rsrp_dbm?;
    let poor = rsrp < -105.0 || sinr_db.is_some_and(|s| s < -3.0);
    let good = rsrp >= -90.0 && sinr_db.is_none_or(|s| s >= 10.0);
    Some(if poor {
        SignalQuality::Poor
    } else if good {
        SignalQuality::Good
    } else {
        SignalQuality::Fair
    })
}

fn value(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1} {unit}"))
}

/// A modem's reading: registered and on the expected carrier's network is a pass; 5G or not and
/// the signal are told; no registration is a failure with what to do about its reason.
pub fn modem(
    carrier: Carrier,
    backend: &str,
    reading: &RadioReading,
    thresholds: &Meets5gThresholds,
) -> Finding {
    const ZH: &str = "调制解调器";
    const EN: &str = "modem";
    let who = format!("{carrier} ({}, {backend})", carrier.name_en());
    if reading.rat == Rat::None {
        let why = reading.reason.as_deref().unwrap_or("not registered");
        let advice = modem_advice(why);
        return Finding::fail(ZH, EN, format!("{who}: {why}"), advice);
    }
    let network = match reading.plmn.as_deref() {
        Some(plmn) => match Carrier::from_plmn(plmn) {
            Some(c) if c == carrier => format!("registered on {plmn} ({})", c.name_zh()),
            Some(c) => format!(
                "registered on {plmn}, {}'s network (shared or roaming)",
                c.name_en()
            ),
            None => format!("registered on {plmn}, not a Chinese carrier's network"),
        },
        None => "registered (network code not reported)".to_owned(),
    };
    let fiveg = if meets_5g(reading.rat, reading.rsrp_dbm, reading.sinr_db, thresholds) {
        "5G 达标 meets 5G"
    } else if matches!(reading.rat, Rat::NrSa | Rat::NrNsa) {
        "5G 但信号不达标 on 5G but below the 5G thresholds"
    } else {
        "无 5G no 5G"
    };
    let quality = signal_quality(reading.rsrp_dbm, reading.sinr_db)
        .map_or("信号未知 signal unknown", SignalQuality::words);
    let detail = format!(
        "{who}: {network}, {}, {fiveg}; signal {quality} (RSRP {}, RSRQ {}, SINR {}{})",
        reading.rat,
        value(reading.rsrp_dbm, "dBm"),
        value(reading.rsrq_db, "dB"),
        value(reading.sinr_db, "dB"),
        reading
            .band
            .as_deref()
            .map(|b| format!(", band {b}"))
            .unwrap_or_default(),
    );
    match signal_quality(reading.rsrp_dbm, reading.sinr_db) {
        Some(SignalQuality::Poor) => Finding::warn(
            ZH,
            EN,
            detail,
            "信号差：调整天线位置或改用外置天线 / poor signal: move the antennas or use external ones",
        ),
        _ => Finding::pass(ZH, EN, detail),
    }
}

fn modem_advice(reason: &str) -> &'static str {
    let r = reason.to_ascii_lowercase();
    if r.contains("no sim") || r.contains("sim card") {
        "插入该运营商的 SIM 卡并重新运行 doctor / insert the carrier's SIM card and run doctor again"
    } else if r.contains("not found") || r.contains("went away") {
        "检查调制解调器 USB 连接与 backend 路径 / check the modem's USB cable and the backend path"
    } else if r.contains("busy") {
        "停止占用该端口的程序（如 ModemManager）/ stop the program holding the port (e.g. ModemManager), or use backend = \"mmcli\""
    } else if r.contains("stopped answering") || r.contains("unreadable") {
        "重新插拔调制解调器或重启探针 / re-plug the modem or reboot the probe"
    } else if r.contains("cannot run mmcli") {
        "安装并启动 ModemManager，或使用 at: 后端 / install and start ModemManager, or use an at: backend"
    } else {
        "检查 SIM 卡是否开通及现场覆盖 / check that the SIM is active and that the site has coverage"
    }
}

/// An interface's state: it must exist and be up, and should have an address.
pub fn interface(name: &str, operstate: Option<&str>, addresses: &[IpAddr]) -> Finding {
    const ZH: &str = "接口";
    const EN: &str = "interface";
    let Some(state) = operstate.map(str::trim) else {
        return Finding::fail(
            ZH,
            EN,
            format!("{name} does not exist"),
            "检查调制解调器是否连接、接口名是否正确 / check the modem is connected and `interface` is right",
        );
    };
    // Point-to-point modem interfaces often report "unknown" while carrying traffic.
    if state != "up" && state != "unknown" {
        return Finding::fail(
            ZH,
            EN,
            format!("{name} is {state}"),
            "检查数据连接（拨号/APN）/ check the data connection (dial-up, APN)",
        );
    }
    let v4: Vec<String> = addresses
        .iter()
        .filter(|a| a.is_ipv4())
        .map(ToString::to_string)
        .collect();
    let v6: Vec<String> = addresses
        .iter()
        .filter(|a| matches!(a, IpAddr::V6(v6) if !v6.is_unicast_link_local()))
        .map(ToString::to_string)
        .collect();
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_owned()
        } else {
            v.join(" ")
        }
    };
    let detail = format!("{name} up, IPv4 {}, IPv6 {}", list(&v4), list(&v6));
    if v4.is_empty() && v6.is_empty() {
        Finding::fail(
            ZH,
            EN,
            detail,
            "接口无地址：检查 APN 与拨号 / no address: check the APN and the data connection",
        )
    } else if v6.is_empty() {
        Finding::warn(
            ZH,
            EN,
            detail,
            "无 IPv6：IPv6 网站检查将无效 / no IPv6: the IPv6 website checks will be invalid; enable IPv4v6 in the APN",
        )
    } else {
        Finding::pass(ZH, EN, detail)
    }
}

/// The collector's name looked up through one carrier's interface (`via`), as its speed tests
/// will look up the test server: `found` is the addresses or why there are none.
pub fn dns(
    carrier: Carrier,
    host: &str,
    via: Option<&str>,
    found: &Result<Vec<IpAddr>, String>,
) -> Finding {
    const ZH: &str = "域名解析";
    const EN: &str = "DNS";
    let via = via.map_or_else(String::new, |i| format!(" via {i}"));
    match found {
        Ok(addrs) => {
            let shown: Vec<String> = addrs.iter().take(4).map(ToString::to_string).collect();
            Finding::pass(
                ZH,
                EN,
                format!("{carrier}: {host} is {}{via}", shown.join(" ")),
            )
        }
        Err(e) => Finding::fail(
            ZH,
            EN,
            format!("{carrier}: {host}{via}: {e}"),
            "检查运营商 DNS，或在 [[modem]] 中设置 dns / check the carrier's DNS, or set `dns` (its resolver's address) in the [[modem]]",
        ),
    }
}

/// What the doctor saw of one carrier link's IPv6.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv6Link {
    /// Its addresses of global scope (unique-local ones included: they route too).
    pub global: Vec<Ipv6Addr>,
    /// How many IPv6 routes lead beyond the link through it (a default route, or any route with
    /// a gateway); `None` when the routes could not be read.
    pub routes: Option<usize>,
    /// The one page loaded over IPv6 through it, as the IPv6 check loads its canary.
    pub path: Ipv6PathTry,
}

/// The doctor's one IPv6 page load through a link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ipv6PathTry {
    /// Nothing to load: neither a canary nor a website is configured.
    Untried,
    /// This page loaded over IPv6.
    Loaded(String),
    /// The page did not load; why, in one line.
    Failed(String),
}

/// One carrier link's IPv6: an address, a route, and a page loaded over it. A link without any
/// IPv6 is a warning, as on the interface line (speed and radio work without it; its IPv6
/// website checks will be unknown). A link with an address that cannot reach anything is a
/// failure: it is half set up, and every IPv6 check through it would say "unknown".
pub fn ipv6(carrier: Carrier, iface: &str, link: &Ipv6Link) -> Finding {
    const ZH: &str = "IPv6 通路";
    const EN: &str = "IPv6 path";
    let Some(first) = link.global.first() else {
        return Finding::warn(
            ZH,
            EN,
            format!("{carrier}: {iface} has no global IPv6 address"),
            "在 APN 中启用 IPv4v6 双栈并重新拨号 / enable IPv4v6 (dual stack) in the APN and reconnect; until then the IPv6 website checks through this link are unknown",
        );
    };
    let routes = match link.routes {
        Some(0) => {
            return Finding::fail(
                ZH,
                EN,
                format!("{carrier}: {iface} has {first} but no IPv6 route beyond the link"),
                &format!(
                    "让接口接受路由通告或添加默认路由 / let the link accept router advertisements (sysctl net.ipv6.conf.{iface}.accept_ra=2) or add a route: ip -6 route add default dev {iface}"
                ),
            );
        }
        Some(n) => format!("{n} route(s)"),
        None => "routes unreadable".to_owned(),
    };
    let seen = format!("{carrier}: {iface} has {first}, {routes}");
    match &link.path {
        Ipv6PathTry::Loaded(page) => {
            Finding::pass(ZH, EN, format!("{seen}; {page} loaded over IPv6"))
        }
        Ipv6PathTry::Failed(why) => Finding::fail(
            ZH,
            EN,
            format!("{seen}; but IPv6 does not work through it: {why}"),
            "检查运营商的 IPv6 服务与 DNS（AAAA 记录）及 [ipv6] canary 地址 / check the carrier's IPv6 service, its DNS (AAAA answers) and the [ipv6] canary URL",
        ),
        Ipv6PathTry::Untried => Finding::warn(
            ZH,
            EN,
            format!("{seen}; no page tried"),
            "在 [ipv6] 中设置 canary（仅 IPv6 可访问的页面）/ set `canary` in [ipv6]: a page that answers only over IPv6",
        ),
    }
}

/// The addresses of global scope in `ip -j addr show` output (link-local, host and tentative
/// ones left out).
pub fn global_ipv6(json: &str) -> Option<Vec<Ipv6Addr>> {
    addresses(json, |a| {
        a.get("scope").and_then(serde_json::Value::as_str) == Some("global")
            && a.get("tentative").is_none()
            && a.get("dadfailed").is_none()
    })
}

/// The `local` addresses of the `addr_info` entries `keep` accepts, in `ip -j addr show`
/// output; `None` when the output is not that JSON.
fn addresses<A: std::str::FromStr>(
    json: &str,
    keep: impl Fn(&serde_json::Value) -> bool,
) -> Option<Vec<A>> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(
        v.as_array()?
            .iter()
            .filter_map(|link| link.get("addr_info")?.as_array())
            .flatten()
            .filter(|a| keep(a))
            .filter_map(|a| a.get("local")?.as_str()?.parse().ok())
            .collect(),
    )
}

/// How many routes in `ip -j -6 route show table all dev IFACE` output lead beyond the link: a
/// default route (point-to-point modem links have no gateway) or any route via a gateway.
/// Local, multicast and on-link prefix routes do not.
pub fn ipv6_routes_beyond_link(json: &str) -> Option<usize> {
    let v: serde_json::Value = serde_json::from_str(json).ok()?;
    Some(
        v.as_array()?
            .iter()
            .filter(|r| {
                let unicast = r
                    .get("type")
                    .and_then(serde_json::Value::as_str)
                    .is_none_or(|t| t == "unicast");
                let dst = r.get("dst").and_then(serde_json::Value::as_str);
                unicast && (matches!(dst, Some("default" | "::/0")) || r.get("gateway").is_some())
            })
            .count(),
    )
}

/// The local addresses in `ip -j addr show` output.
pub fn ip_addresses(json: &str) -> Option<Vec<IpAddr>> {
    addresses(json, |_| true)
}

/// The clock, from `timedatectl show -p NTPSynchronized --value` (`None` when it could not run).
/// A Raspberry Pi has no real-time clock: before the first sync its time is the last shutdown's.
pub fn clock(ntp_synchronized: Option<&str>, now: DateTime<Utc>) -> Finding {
    const ZH: &str = "时钟";
    const EN: &str = "clock";
    let shown = now.format("%Y-%m-%d %H:%M:%S UTC");
    if now.timestamp() < 1_577_836_800 {
        return Finding::fail(
            ZH,
            EN,
            format!("{shown} is before 2020: never set"),
            "连接网络等待时间同步 / connect the network and wait for time sync (systemd-timesyncd or chrony)",
        );
    }
    match ntp_synchronized {
        Some("yes") => Finding::pass(ZH, EN, format!("{shown}, synchronised (NTP)")),
        Some(_) => Finding::fail(
            ZH,
            EN,
            format!("{shown}, not synchronised"),
            "启用 NTP 并等待同步 / enable NTP (`timedatectl set-ntp true`) and wait for sync",
        ),
        None => Finding::warn(
            ZH,
            EN,
            format!("{shown}, synchronisation unknown (no timedatectl)"),
            "确认 NTP 服务在运行 / make sure an NTP service runs",
        ),
    }
}

/// The spool: readable; a backlog or quarantined results are worth a look, not a failure.
pub fn spool(pending: u64, quarantined: u64) -> Finding {
    let detail = format!("{pending} pending, {quarantined} quarantined");
    if quarantined > 0 {
        Finding::warn(
            "缓存",
            "spool",
            detail,
            "有结果被服务器拒绝：查看 `fathom-agent spool` / some results were refused: see `fathom-agent spool`",
        )
    } else {
        Finding::pass("缓存", "spool", detail)
    }
}

/// The short speed check through one carrier's interface.
pub fn speed(carrier: Carrier, test: &SpeedTest) -> Finding {
    match (test.download_mbps, &test.error) {
        (Some(mbps), None) => Finding::pass(
            "速率",
            "speed",
            format!(
                "{carrier}: {mbps:.1} Mbit/s in a {:.1} s check ({} bytes)",
                test.duration_ms as f64 / 1000.0,
                test.bytes_downloaded
            ),
        ),
        (_, error) => Finding::fail(
            "速率",
            "speed",
            format!(
                "{carrier}: {}",
                error.as_deref().unwrap_or("no rate measured")
            ),
            "检查该运营商的数据连接与测速服务器 / check this carrier's data connection and the test server",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(rat: Rat, plmn: &str, rsrp: f64, sinr: f64) -> RadioReading {
        RadioReading {
            plmn: Some(plmn.to_owned()),
            rat,
            rsrp_dbm: Some(rsrp),
            rsrq_db: Some(-11.0),
            sinr_db: Some(sinr),
            sinr_scale_uncertain: false,
            band: Some("n78".to_owned()),
            cell_id: None,
            meets_5g: false,
            reason: None,
        }
    }

    #[test]
    fn dns_findings_name_the_carrier_the_host_and_the_link() {
        let ok = dns(
            Carrier::Cmcc,
            "collector.example.cn",
            Some("wwan0"),
            &Ok(vec!["198.18.0.1".parse().unwrap()]),
        );
        assert_eq!(ok.status, Status::Pass);
        assert!(
            ok.line()
                .contains("cmcc: collector.example.cn is 198.18.0.1 via wwan0"),
            "{}",
            ok.line()
        );
        let failed = dns(
            Carrier::Cu,
            "collector.example.cn",
            Some("wwan1"),
            &Err("cannot resolve collector.example.cn: timed out".to_owned()),
        );
        assert_eq!(failed.status, Status::Fail);
        assert!(failed.line().contains("wwan1"), "{}", failed.line());
        assert!(
            failed
                .advice
                .as_deref()
                .is_some_and(|a| a.contains("set `dns`")),
            "{failed:?}"
        );
    }

    #[test]
    fn signal_quality_edges() {
        use SignalQuality::{Fair, Good, Poor};
        assert_eq!(signal_quality(Some(-90.0), Some(10.0)), Some(Good));
        assert_eq!(signal_quality(Some(-90.1), Some(10.0)), Some(Fair));
        assert_eq!(signal_quality(Some(-80.0), Some(9.9)), Some(Fair));
        assert_eq!(signal_quality(Some(-105.0), Some(-3.0)), Some(Fair));
        assert_eq!(signal_quality(Some(-105.1), Some(20.0)), Some(Poor));
        assert_eq!(signal_quality(Some(-80.0), Some(-3.1)), Some(Poor));
        assert_eq!(signal_quality(Some(-85.0), None), Some(Good));
        assert_eq!(signal_quality(None, Some(20.0)), None);
    }

    #[test]
    fn modem_findings() {
        let t = Meets5gThresholds::default();
        let f = modem(
            Carrier::Cmcc,
            "at:/dev/ttyUSB2",
            &reading(Rat::NrSa, "46000", -88.0, 15.0),
            &t,
        );
        assert_eq!(f.status, Status::Pass);
        assert!(
            f.detail.contains("registered on 46000 (中国移动)"),
            "{}",
            f.detail
        );
        assert!(
            f.detail.contains("meets 5G") && f.detail.contains("good"),
            "{}",
            f.detail
        );

        // Shared network (CT SIM on CU's PLMN), NR but weak: a warning, told as such.
        let f = modem(
            Carrier::Ct,
            "mmcli",
            &reading(Rat::NrNsa, "46001", -110.0, 2.0),
            &t,
        );
        assert_eq!(f.status, Status::Warn);
        assert!(f.detail.contains("China Unicom's network"), "{}", f.detail);
        assert!(f.detail.contains("below the 5G thresholds"), "{}", f.detail);
        assert!(f.advice.as_deref().is_some_and(|a| a.contains("antenna")));

        let f = modem(
            Carrier::Cu,
            "at:/dev/ttyUSB5",
            &RadioReading::unavailable("no SIM card (SIM not inserted)"),
            &t,
        );
        assert_eq!(f.status, Status::Fail);
        assert!(
            f.advice
                .as_deref()
                .is_some_and(|a| a.contains("insert the carrier's SIM"))
        );
        let f = modem(
            Carrier::Cu,
            "at:/dev/x",
            &RadioReading::unavailable("port busy: another program holds /dev/x"),
            &t,
        );
        assert!(
            f.advice
                .as_deref()
                .is_some_and(|a| a.contains("ModemManager"))
        );
    }

    #[test]
    fn interface_findings() {
        let v4: IpAddr = "198.18.0.2".parse().unwrap();
        let v6: IpAddr = "fd00::2".parse().unwrap();
        let ll: IpAddr = "fe80::1".parse().unwrap();
        assert_eq!(interface("wwan0", None, &[]).status, Status::Fail);
        assert_eq!(
            interface("wwan0", Some("down\n"), &[v4]).status,
            Status::Fail
        );
        assert_eq!(interface("wwan0", Some("up\n"), &[]).status, Status::Fail);
        let f = interface("wwan0", Some("unknown"), &[v4, ll]);
        assert_eq!(
            f.status,
            Status::Warn,
            "a link-local address is no IPv6 path"
        );
        let f = interface("wwan0", Some("up"), &[v4, v6]);
        assert_eq!(f.status, Status::Pass);
        assert_eq!(f.detail, "wwan0 up, IPv4 198.18.0.2, IPv6 fd00::2");
    }

    fn link(global: &[&str], routes: Option<usize>, path: Ipv6PathTry) -> Ipv6Link {
        Ipv6Link {
            global: global
                .iter()
                .map(|a| a.parse().expect("an address"))
                .collect(),
            routes,
            path,
        }
    }

    #[test]
    fn ipv6_findings_say_what_is_missing_and_what_to_do() {
        let loaded = Ipv6PathTry::Loaded("http://canary.example/".to_owned());
        let ok = ipv6(
            Carrier::Cmcc,
            "wwan0",
            &link(&["2408:8000::1"], Some(1), loaded.clone()),
        );
        assert_eq!(ok.status, Status::Pass);
        assert_eq!(
            ok.line(),
            "[ OK ] IPv6 通路 IPv6 path: cmcc: wwan0 has 2408:8000::1, 1 route(s); http://canary.example/ loaded over IPv6"
        );

        // No address: the carrier or the APN gives none; a warning, as on the interface line.
        let none = ipv6(Carrier::Cu, "wwan1", &link(&[], None, loaded.clone()));
        assert_eq!(none.status, Status::Warn);
        assert!(none.detail.contains("no global IPv6 address"), "{none:?}");
        assert!(none.advice.as_deref().is_some_and(|a| a.contains("IPv4v6")));

        // An address and no route: half set up, a failure that names the fix.
        let stuck = ipv6(
            Carrier::Ct,
            "wwan2",
            &link(&["fd00:1::2"], Some(0), loaded.clone()),
        );
        assert_eq!(stuck.status, Status::Fail);
        assert!(stuck.detail.contains("no IPv6 route"), "{stuck:?}");
        assert!(
            stuck
                .advice
                .as_deref()
                .is_some_and(|a| a.contains("accept_ra") && a.contains("dev wwan2")),
            "{stuck:?}"
        );

        // Address and route, but the page does not load: a failure with the reason.
        let broken = ipv6(
            Carrier::Cmcc,
            "wwan0",
            &link(
                &["fd00:1::2"],
                Some(2),
                Ipv6PathTry::Failed("timed out connecting to [fd00:dead::1]:80".to_owned()),
            ),
        );
        assert_eq!(broken.status, Status::Fail);
        assert!(broken.detail.contains("timed out connecting"), "{broken:?}");
        assert!(broken.advice.as_deref().is_some_and(|a| a.contains("AAAA")));

        // Routes unreadable: the page decides.
        let unread = ipv6(Carrier::Cmcc, "wwan0", &link(&["fd00:1::2"], None, loaded));
        assert_eq!(unread.status, Status::Pass);
        assert!(unread.detail.contains("routes unreadable"), "{unread:?}");

        // Nothing to load: a warning asking for a canary.
        let untried = ipv6(
            Carrier::Cmcc,
            "wwan0",
            &link(&["fd00:1::2"], Some(1), Ipv6PathTry::Untried),
        );
        assert_eq!(untried.status, Status::Warn);
        assert!(
            untried
                .advice
                .as_deref()
                .is_some_and(|a| a.contains("canary"))
        );
    }

    #[test]
    fn global_ipv6_addresses_and_routes_beyond_the_link_are_read_from_ip_json() {
        let addrs = r#"[{"ifname":"wwan0","addr_info":[
            {"family":"inet","local":"198.18.1.2","prefixlen":24,"scope":"global"},
            {"family":"inet6","local":"fd00:1::2","prefixlen":64,"scope":"global"},
            {"family":"inet6","local":"2408:8000::9","prefixlen":64,"scope":"global","tentative":true},
            {"family":"inet6","local":"fe80::1","prefixlen":64,"scope":"link"}]}]"#;
        assert_eq!(
            global_ipv6(addrs),
            Some(vec!["fd00:1::2".parse().expect("an address")])
        );
        assert_eq!(global_ipv6("[]"), Some(Vec::new()));
        assert_eq!(global_ipv6("not json"), None);

        let routes = r#"[
            {"dst":"fd00:99::/64","gateway":"fd00:1::1","dev":"wwan0","metric":1024},
            {"dst":"fd00:1::/64","dev":"wwan0","protocol":"kernel","metric":256},
            {"dst":"fe80::/64","dev":"wwan0","protocol":"kernel","metric":256},
            {"type":"local","dst":"fd00:1::2","table":"local","dev":"wwan0"},
            {"type":"multicast","dst":"ff00::/8","table":"local","dev":"wwan0"}]"#;
        assert_eq!(ipv6_routes_beyond_link(routes), Some(1));
        let point_to_point = r#"[{"dst":"default","dev":"wwan0","metric":1024}]"#;
        assert_eq!(ipv6_routes_beyond_link(point_to_point), Some(1));
        let on_link_only = r#"[{"dst":"fd00:1::/64","dev":"wwan0","protocol":"kernel"}]"#;
        assert_eq!(ipv6_routes_beyond_link(on_link_only), Some(0));
        assert_eq!(ipv6_routes_beyond_link("{"), None);
    }

    #[test]
    fn ip_json_is_read() {
        let json = r#"[{"ifindex":3,"ifname":"wwan0","addr_info":[{"family":"inet","local":"10.1.2.3","prefixlen":30},{"family":"inet6","local":"2408:8000::1","prefixlen":64}]}]"#;
        let got = ip_addresses(json).unwrap();
        assert_eq!(
            got,
            vec![
                "10.1.2.3".parse::<IpAddr>().unwrap(),
                "2408:8000::1".parse().unwrap()
            ]
        );
        assert_eq!(ip_addresses("not json"), None);
    }

    #[test]
    fn clock_findings() {
        let now: DateTime<Utc> = "2026-11-29T04:00:00Z".parse().unwrap();
        assert_eq!(clock(Some("yes"), now).status, Status::Pass);
        assert_eq!(clock(Some("no"), now).status, Status::Fail);
        assert_eq!(clock(None, now).status, Status::Warn);
        let unset: DateTime<Utc> = "1970-01-01T00:01:00Z".parse().unwrap();
        assert_eq!(clock(Some("yes"), unset).status, Status::Fail);
    }
}
