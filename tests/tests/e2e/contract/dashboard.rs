//! The dashboard at `/` of a real collector, loaded by headless Chromium: indicator table,
//! inline SVG charts with content, week and carrier filters, and a screenshot kept under
//! `target/test-artifacts/dashboard.png`.
//!
//! Needs `/usr/bin/chromium` (Debian package `chromium`); without it the test says so and
//! passes, unless `FATHOM_REQUIRE_CHROMIUM=1`, which makes a missing browser a failure.

use fathom_e2e::picture::{PngStats, artifacts, png_stats};
use fathom_e2e::{Collector, run};
use serde_json::json;
use std::path::Path;
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";

fn chromium_available() -> bool {
    if Path::new(CHROMIUM).exists() {
        return true;
    }
    assert!(
        std::env::var("FATHOM_REQUIRE_CHROMIUM").as_deref() != Ok("1"),
        "FATHOM_REQUIRE_CHROMIUM=1 but {CHROMIUM} is missing (apt-get install -y chromium)"
    );
    eprintln!("SKIP dashboard test: {CHROMIUM} is missing (apt-get install -y chromium)");
    false
}

/// Runs headless Chromium with `args` then `url`, for at most two minutes; returns stdout.
fn chromium(profile: &Path, args: &[&str], url: &str) -> String {
    let mut cmd = Command::new("timeout");
    cmd.arg("120")
        .arg(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(url);
    let (status, out, err) = run(&mut cmd);
    assert!(status.success(), "chromium {args:?} {url} failed: {err}");
    out
}

/// Two speed tests (hospital: cmcc 50, cu 30) and ten radio samples meeting 5G at the bus
/// station, all in 2026-W47 (Tuesday 10:00 Asia/Shanghai).
fn results() -> String {
    let mut lines = Vec::new();
    let mut id = 0;
    let mut next_id = || {
        id += 1;
        format!("0192b6e2-7c1a-7d3e-9f00-3a5c1e2b{id:04x}")
    };
    for (carrier, mbps) in [("cmcc", 50.0), ("cu", 30.0)] {
        lines.push(json!({"schema": 1, "id": next_id(), "probe_id": "hosp-01",
            "site_id": "county-hospital", "carrier": carrier, "interface": "wwan0",
            "measured_at": "2026-11-17T02:00:00Z", "clock_synced": true, "kind": "speed",
            "download_mbps": mbps, "bytes_downloaded": 26_000_000, "duration_ms": 4900,
            "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0, "streams": 1,
            "protocol": "http", "server": "http://127.0.0.1/", "error": null}));
    }
    for i in 0..10 {
        lines.push(json!({"schema": 1, "id": next_id(), "probe_id": "bus-01",
            "site_id": "bus-station", "carrier": "ct", "interface": "wwan1",
            "measured_at": format!("2026-11-17T02:{i:02}:00Z"), "clock_synced": true,
            "kind": "radio", "plmn": "46011", "rat": "nr_sa", "rsrp_dbm": -90.0,
            "rsrq_db": -10.0, "sinr_db": 12.0, "band": "n78", "cell_id": "1",
            "meets_5g": true}));
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

/// The texts of the SVG `<text>` elements of one chart of the page.
fn svg_texts(dom: &str, chart: &str) -> Vec<String> {
    let start = dom
        .find(&format!(r#"id="chart-{chart}""#))
        .unwrap_or_else(|| panic!("chart {chart} missing"));
    let figure = &dom[start..start + dom[start..].find("</figure>").expect("closed")];
    figure
        .split("</text>")
        .filter_map(|part| {
            let open = part.rfind("<text")?;
            let body = &part[open..];
            Some(body[body.find('>')? + 1..].trim().to_owned())
        })
        .collect()
}

#[test]
#[expect(
    clippy::too_many_lines,
    reason = "one browser session, checked page by page, reads best in one place"
)]
fn the_dashboard_shows_indicators_and_charts_in_a_real_browser() {
    if !chromium_available() {
        return;
    }
    let mut collector = Collector::new();
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(&file, results()).expect("results written");
    collector.add_probe("hosp-01", "county-hospital");
    collector.add_probe("bus-01", "bus-station");
    collector.add_probe("plaza-01", "central-plaza");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");
    collector.start();
    let profile = collector.dir.path().join("chromium");

    // The chosen week, Chinese by default.
    let url = format!("{}/?week=2026-W47", collector.url);
    let dom = chromium(&profile, &["--dump-dom"], &url);
    assert!(dom.contains(r#"<html lang="zh-CN">"#), "{dom}");
    for text in [
        r#"<table id="indicators">"#,
        "移动通信网络平均下载速率",
        "城区重点公共区域5G网络覆盖率",
        "IPv6网站支持率",
        // (50 + 30) / 2 over the two (site, carrier) pairs.
        "40.0 Mbit/s",
        // I26 by site, with the carrier in Chinese.
        "县人民医院",
        "中国移动",
        // Completeness: plaza-01 sent nothing this week, the plaza has no data; sites by name,
        // each linked to its page.
        r#"<a href="/probe/plaza-01?week=2026-W47">plaza-01</a>（<a href="/site/central-plaza?week=2026-W47">商业中心</a>）"#,
        // The week before had no results: nothing to compare.
        r#"<td class="chg none">上周无数据</td>"#,
        // How the number is computed, one click away.
        r#"<details id="how-I26"><summary>怎么算 how</summary>"#,
        "本周有效下载测试",
        // The week in Beijing time: Monday 00:00, not Sunday 16:00Z.
        "2026-11-16 00:00 至 2026-11-23 00:00（北京时间",
        // I32 reasons in Chinese first.
        "本周未检测",
        // Chart titles in Chinese, drawn in the SVGs.
        "I26 移动通信网络平均下载速率 (周趋势)",
        "下载速率 星期 × 小时 (北京时间)",
        r#"<option value="2026-W47" selected="">2026-W47 11月16日起</option>"#,
        // The way to the fleet page (followed in fleet.rs).
        r#"<a id="nav-fleet" href="/fleet">探针状态 fleet</a>"#,
    ] {
        assert!(dom.contains(text), "{text:?} not on the page");
    }
    let svgs = dom.matches("<svg").count();
    // Nine indicator charts, and the supporting figures' round-trip chart (not an indicator).
    assert_eq!(svgs, 10, "one inline SVG per chart");
    assert!(
        dom.contains(r#"id="chart-by-carrier-supporting-latency""#),
        "the supporting figures' round-trip chart"
    );
    for chart in [
        "i26_trend",
        "i33_trend",
        "i32_trend",
        "by_scene",
        "site_speed",
        "site_5g",
        "speed_distribution",
        "busy_hours",
    ] {
        let start = dom
            .find(&format!(r#"id="chart-{chart}""#))
            .unwrap_or_else(|| panic!("chart {chart} missing"));
        let figure = &dom[start..start + dom[start..].find("</figure>").expect("closed")];
        assert!(
            figure.matches("<rect").count() + figure.matches("<polyline").count() > 3
                && figure.contains("<text"),
            "chart {chart} is empty"
        );
    }
    // The busy-hour cell of Tuesday 10:00 (+08) holds the mean of the two tests.
    let busy = svg_texts(&dom, "busy_hours");
    assert!(
        busy.iter().any(|t| t == "40"),
        "the Tuesday 10:00 cell shows 40: {busy:?}"
    );

    // Screenshot kept as an artifact; it is a rendered page, not a blank one.
    let shot = artifacts("").join("dashboard.png");
    if shot.exists() {
        std::fs::remove_file(&shot).expect("old screenshot removed");
    }
    chromium(
        &profile,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,2000",
            // Lets the page's web font (the embedded CJK font) load before the shot.
            "--virtual-time-budget=10000",
        ],
        &url,
    );
    let PngStats {
        colours,
        inked,
        width,
        height,
    } = png_stats(&shot);
    let size = (width, height);
    assert_eq!(size, (1280, 2000));
    assert!(colours > 50, "the screenshot has only {colours} colours");
    assert!(inked > 0.05, "the screenshot is nearly blank ({inked:.3})");

    // English and one carrier: the charts keep only that carrier.
    let dom = chromium(
        &profile,
        &["--dump-dom"],
        &format!("{}/?week=2026-W47&carrier=cu&lang=en", collector.url),
    );
    assert!(dom.contains(r#"<html lang="en">"#));
    assert!(dom.contains("I26 mobile download speed, weekly"));
    let scene = svg_texts(&dom, "by_scene");
    assert!(
        scene.iter().any(|t| t == "cu") && !scene.iter().any(|t| t == "cmcc"),
        "{scene:?}"
    );

    // The default is the current week; bad parameters are refused; the API still answers.
    let dom = chromium(&profile, &["--dump-dom"], &format!("{}/", collector.url));
    assert!(dom.contains(r#"<table id="indicators">"#) && dom.contains("无数据"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let get = |path: &str| reqwest::get(format!("{}{path}", collector.url));
        // A person's typo gets a page in Chinese that says what to write, not JSON.
        for (path, says) in [
            ("/?week=2026-W99", "不是一个周"),
            ("/?carrier=xx", "没有“xx”这个运营商"),
            ("/site/nowhere", "没有编号为“nowhere”的站点"),
        ] {
            let r = get(path).await.expect("answer");
            assert!(r.status().is_client_error(), "{path}: {}", r.status());
            let html = r.headers()[reqwest::header::CONTENT_TYPE]
                .to_str()
                .expect("ascii")
                .starts_with("text/html");
            let body = r.text().await.expect("body");
            assert!(html && body.contains(says), "{path}: {body}");
        }
        // Every link of the week's page resolves: site, probe and map pages, the fleet.
        let page = get("/?week=2026-W47").await.expect("answer");
        let page = page.text().await.expect("body");
        let mut links: Vec<&str> = page
            .split("href=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next())
            .filter(|l| l.starts_with('/'))
            .collect();
        links.sort_unstable();
        links.dedup();
        for link in [
            "/site/county-hospital?week=2026-W47",
            "/probe/plaza-01?week=2026-W47",
            "/map?week=2026-W47",
        ] {
            assert!(links.contains(&link), "{link} not linked: {links:?}");
        }
        for link in &links {
            let link = link.replace("&amp;", "&");
            let r = get(&link).await.expect("answer");
            assert_eq!(r.status(), 200, "{link}");
        }
        // The site page: the hospital's carriers, their speed and the trend chart.
        let hospital = get("/site/county-hospital?week=2026-W47")
            .await
            .expect("answer");
        let hospital = hospital.text().await.expect("body");
        assert!(
            hospital.contains("县人民医院")
                && hospital.contains("<table id=site-carriers>")
                && hospital.contains("id=\"chart-site_trend\""),
            "{hospital}"
        );
        // The map draws every site of the configuration that has coordinates.
        let map = get("/map?week=2026-W47").await.expect("answer");
        let map = map.text().await.expect("body");
        assert!(
            map.contains("<svg id=site-map")
                && map.contains("data-site=\"county-hospital\" data-i26=\"达标\""),
            "{map}"
        );
        // The plaza has no coordinates: listed under the map, not dropped.
        assert!(
            map.contains("未设置坐标的站点") && map.contains("商业中心"),
            "{map}"
        );
        // Weeks without results are not offered (the week before W47 has none).
        assert!(
            !page.contains("<option value=\"2026-W46\""),
            "an empty week offered"
        );
        let r = get("/dashboard/chart/busy_hours.svg?week=2026-W47")
            .await
            .expect("answer");
        assert_eq!(r.status(), 200);
        let svg = r.text().await.expect("body");
        assert!(svg.contains("<svg"));
        // Served alone, the chart carries the glyphs it draws.
        assert!(
            svg.contains("<style>@font-face{font-family:FathomCJK;src:url(data:font/ttf;base64,")
        );
        // The dashboard's font: compressed, cached for good.
        let page = get("/?week=2026-W47")
            .await
            .expect("answer")
            .text()
            .await
            .expect("page");
        let font = page
            .split("src:url(\"")
            .skip(1)
            .find_map(|rest| {
                rest.split(['"', '&'])
                    .next()
                    .filter(|u| u.starts_with("/dashboard/font/"))
            })
            .expect("the page names its font")
            .to_owned();
        let r = reqwest::Client::new()
            .get(format!("{}{font}", collector.url))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-encoding"], "gzip");
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .expect("ascii")
                .contains("immutable")
        );
        let size = r.bytes().await.expect("font").len();
        assert!(size < 2_500_000, "the font is {size} bytes on the wire");
        let r = get("/api/v1/health").await.expect("answer");
        assert_eq!(r.status(), 200);
        let r = get("/no/such/page").await.expect("answer");
        assert_eq!(r.status(), 404);
        // A site id the configuration lacks: the site page and its survey page say so alike.
        for path in ["/site/no-such-site", "/site/no-such-site/survey"] {
            let r = get(path).await.expect("answer");
            assert_eq!(r.status(), 404, "{path}");
            let page = r.text().await.expect("page");
            assert!(
                page.contains("没有编号为“no-such-site”的站点"),
                "{path}: {page}"
            );
        }
    });
}

/// What a page looks like at one window width, measured inside the browser.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Layout {
    /// `document.documentElement.scrollWidth`.
    scroll_width: u32,
    /// `window.innerWidth`.
    inner_width: u32,
    /// The simulated-data banner is there, drawn, and starts on the first screen.
    banner_visible: bool,
    /// The page sets `<meta name="viewport" content="width=device-width, …">`.
    viewport: bool,
    /// Elements sticking out to the right of the window (at most five), for the message.
    overflowing: Vec<String>,
}

/// A page of the collector saved as a file beside the measuring harness (a frame's document is
/// readable only from its own origin), with a `<base>` so its font and links still come from
/// the collector.
fn saved_page(dir: &Path, url: &str) -> String {
    let Some(rest) = url.strip_prefix("http://") else {
        return url.to_owned();
    };
    let origin = format!("http://{}/", rest.split('/').next().expect("a host"));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let body = rt.block_on(async {
        let r = reqwest::get(url).await.expect("the page answers");
        // An error page (a mistyped week) must fit a phone too; statuses are checked by
        // the_dashboard_shows_indicators_and_charts_in_a_real_browser.
        let html = r.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .is_ok_and(|t| t.starts_with("text/html"));
        assert!(html, "{url} answers {} without a page", r.status());
        r.text().await.expect("a body")
    });
    let body = body.replacen("<head>", &format!("<head><base href=\"{origin}\">"), 1);
    let file = dir.join(format!(
        "page-{}.html",
        url.bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
    ));
    std::fs::write(&file, body).expect("page saved");
    format!("file://{}", file.display())
}

/// Loads `url` in an iframe `width` px wide, in a local page whose script measures the framed
/// page once it has loaded. The pages carry no script of their own; the frame gives the measure
/// the exact width without depending on the smallest window Chromium allows.
fn layout(profile: &Path, dir: &Path, url: &str, width: u32) -> Layout {
    let url = &saved_page(dir, url);
    let harness = dir.join(format!("layout-{width}.html"));
    std::fs::write(
        &harness,
        format!(
            r#"<!doctype html><html><body style="margin:0">
<iframe id=f style="width:{width}px;height:800px;border:0" src="{url}"></iframe>
<pre id=out>pending</pre>
<script>
document.getElementById('f').addEventListener('load', function () {{
  var d = this.contentDocument, w = this.contentWindow;
  var b = d.getElementById('simulated-banner');
  var r = b ? b.getBoundingClientRect() : null;
  var out = [];
  d.querySelectorAll('body *').forEach(function (e) {{
    if (e.getBoundingClientRect().right > w.innerWidth + 1 && !e.closest('.scroll')) {{
      out.push(e.tagName + (e.id ? '#' + e.id : '') + (e.className && e.className.baseVal === undefined ? '.' + e.className : ''));
    }}
  }});
  document.getElementById('out').textContent = JSON.stringify({{
    scrollWidth: d.documentElement.scrollWidth,
    innerWidth: w.innerWidth,
    bannerVisible: !!(r && r.width > 0 && r.height > 0 && r.top < w.innerHeight),
    viewport: !!d.querySelector('meta[name=viewport][content*="width=device-width"]'),
    overflowing: out.slice(0, 5)
  }});
}});
</script></body></html>"#
        ),
    )
    .expect("harness written");
    let dom = chromium(
        profile,
        &[
            // The harness (a file) reads the framed page (loopback HTTP or another file).
            "--disable-web-security",
            "--allow-file-access-from-files",
            "--disable-site-isolation-trials",
            "--disable-features=IsolateOrigins,site-per-process",
            "--virtual-time-budget=15000",
            "--dump-dom",
        ],
        &format!("file://{}", harness.display()),
    );
    let start = dom.find("<pre id=\"out\">").expect("the harness ran") + 14;
    let end = start + dom[start..].find("</pre>").expect("closed");
    let json = dom[start..end]
        .replace("&quot;", "\"")
        .replace("&amp;", "&");
    serde_json::from_str(&json).unwrap_or_else(|e| panic!("{url} at {width} px: {e}: {json}"))
}

/// Every page at desktop (1400 px) and phone (390 px) width, on a week whose results are
/// all simulated, like the demo's, and on an empty database: nothing makes the page scroll
/// sideways (wide tables scroll inside their own box), every page sets a viewport, every page
/// showing a simulated week's numbers shows the simulated-data banner on its first screen, and
/// no other page shows it. Screenshots of each are kept
/// under `target/test-artifacts/pages/`.
#[test]
fn every_page_fits_a_phone_and_says_when_its_data_is_simulated() {
    if !chromium_available() {
        return;
    }
    let mut collector = Collector::new();
    let file = collector.dir.path().join("results.jsonl");
    let simulated: String = results()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).expect("a result");
            v["simulated"] = json!(true);
            v.to_string() + "\n"
        })
        .collect();
    std::fs::write(&file, simulated).expect("results written");
    let hosp_token = collector.add_probe("hosp-01", "county-hospital");
    collector.add_probe("bus-01", "bus-station");
    collector.add_probe("plaza-01", "central-plaza");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");
    let report = collector.dir.path().join("report");
    let (status, out, err) = run(collector.command().args([
        "report",
        "--week",
        "2026-W47",
        "--out",
        report.to_str().expect("a UTF-8 path"),
    ]));
    assert!(status.success(), "report failed: {out}{err}");
    collector.start();
    post_survey_marks(&collector.url, &hosp_token);
    let profile = collector.dir.path().join("chromium");
    let shots = artifacts("pages");
    std::fs::create_dir_all(&shots).expect("screenshot folder");

    // A collector with an empty database: its pages must fit too, and show no banner.
    let mut empty = Collector::new();
    empty.start();
    let pages = pages_to_check(&collector.url, &empty.url, &report);
    let mut failures = Vec::new();
    for (name, url, banner) in &pages {
        for width in [1400, 390] {
            let l = layout(&profile, collector.dir.path(), url, width);
            if l.scroll_width > l.inner_width {
                failures.push(format!(
                    "{name} at {width} px scrolls sideways: {} > {}, {:?}",
                    l.scroll_width, l.inner_width, l.overflowing
                ));
            }
            if !l.viewport {
                failures.push(format!("{name} sets no viewport"));
            }
            if *banner && !l.banner_visible {
                failures.push(format!(
                    "{name} at {width} px shows no simulated-data banner on its first screen"
                ));
            }
            if !*banner && l.banner_visible {
                failures.push(format!(
                    "{name} shows the simulated-data banner without simulated data"
                ));
            }
            let shot = shots.join(format!("{name}-{width}.png"));
            chromium(
                &profile,
                &[
                    &format!("--screenshot={}", shot.display()),
                    &format!("--window-size={width},2400"),
                    "--virtual-time-budget=10000",
                ],
                url,
            );
            let PngStats { colours, inked, .. } = png_stats(&shot);
            // The fleet page is short: little ink on a tall window, but never none.
            assert!(
                colours > 5 && inked > 0.001,
                "{} is blank ({colours} colours, {inked:.4} inked)",
                shot.display()
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Three candidate mounting points surveyed at the hospital, through the probe API: the survey
/// page compares them (China Mobile best at B, China Unicom at A, China Telecom nowhere on 5G).
fn post_survey_marks(base: &str, token: &str) {
    let carrier = |c: &str, rat: &str, rsrp: f64, sinr: f64, mbps: Option<f64>| {
        let mut v = json!({"carrier": c, "latest": {"plmn": null, "rat": rat, "rsrp_dbm": rsrp,
            "rsrq_db": -11.0, "sinr_db": sinr, "band": null, "cell_id": null, "meets_5g": false,
            "reason": null}, "rsrp_median_dbm": rsrp, "sinr_median_db": sinr, "readings": 60,
            "readings_5g": 0});
        if let Some(m) = mbps {
            v["speed"] = json!({"download_mbps": m, "bytes_downloaded": 20_000_000,
                "duration_ms": 5000, "latency_idle_ms": 30.0, "latency_loaded_ms": 70.0,
                "streams": 4, "protocol": "http", "server": "http://127.0.0.1/", "error": null});
        }
        v
    };
    let marks = json!({"marks": [
        {"id": "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b0a01", "label": "A 门诊大厅西窗",
         "marked_at": "2026-11-17T02:00:00Z", "carriers": [
            carrier("cmcc", "nr_sa", -98.0, 4.0, Some(61.3)),
            carrier("cu", "nr_nsa", -92.0, 8.0, None),
            carrier("ct", "lte", -101.0, 3.0, None)]},
        {"id": "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b0a02", "label": "B 二楼护士站",
         "marked_at": "2026-11-17T02:10:00Z", "carriers": [
            carrier("cmcc", "nr_sa", -86.0, 14.0, Some(88.0)),
            carrier("cu", "lte", -95.0, 6.0, None),
            carrier("ct", "lte", -99.0, 5.0, Some(23.5))]},
        {"id": "0192b6e2-7c1a-7d3e-9f00-3a5c1e2b0a03", "label": "C 地下一层设备间",
         "marked_at": "2026-11-17T02:25:00Z", "carriers": [
            carrier("cmcc", "lte", -112.0, -4.0, None),
            carrier("cu", "none", -140.0, -20.0, None),
            carrier("ct", "lte", -115.0, -6.0, None)]}]});
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(format!("{base}/api/v1/survey"))
            .bearer_auth(token)
            .json(&marks)
            .send()
            .await
            .expect("the survey upload answers");
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    });
}

/// The pages the phone test opens: (name, URL, whether the simulated-data banner must show,
/// as on numbers of a simulated week).
fn pages_to_check(base: &str, empty: &str, report: &Path) -> Vec<(&'static str, String, bool)> {
    vec![
        ("dashboard", format!("{base}/?week=2026-W47"), true),
        (
            "dashboard-cu-en",
            format!("{base}/?week=2026-W47&carrier=cu&lang=en"),
            true,
        ),
        (
            "dashboard-empty-week",
            format!("{base}/?week=2026-W40"),
            false,
        ),
        ("fleet", format!("{base}/fleet"), false),
        (
            "site",
            format!("{base}/site/county-hospital?week=2026-W47"),
            true,
        ),
        ("map", format!("{base}/map?week=2026-W47"), true),
        (
            "survey",
            format!("{base}/site/county-hospital/survey"),
            false,
        ),
        (
            "probe",
            format!("{base}/probe/hosp-01?week=2026-W47"),
            false,
        ),
        ("bad-week", format!("{base}/?week=2026-W99"), false),
        (
            "report",
            format!("file://{}", report.join("index.html").display()),
            true,
        ),
        ("empty-db-dashboard", format!("{empty}/"), false),
        ("empty-db-fleet", format!("{empty}/fleet"), false),
        ("empty-db-map", format!("{empty}/map"), false),
        (
            "empty-db-survey",
            format!("{empty}/site/county-hospital/survey"),
            false,
        ),
    ]
}

/// `indicators --week W --json` keeps DESIGN's contract; `--from W --to W` gives one object per
/// week, oldest first; a backwards range is bad usage (exit 2, one line on stderr).
#[test]
fn indicators_json_follows_the_contract_and_trends_span_weeks() {
    let collector = Collector::new();
    for (id, site) in [("hosp-01", "county-hospital"), ("bus-01", "bus-station")] {
        collector.add_probe(id, site);
    }
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(&file, results()).expect("results written");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");

    let (status, out, err) =
        run(collector
            .command()
            .args(["indicators", "--week", "2026-W47", "--json"]));
    assert!(status.success(), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["week"], "2026-W47");
    for k in ["i26", "i33", "i32"] {
        for field in ["value", "target", "met", "sites"] {
            assert!(!v[k][field].is_null() || field == "value", "{k}.{field}");
        }
    }
    assert_eq!(v["i26"]["value"], 40.0);
    assert_eq!(v["i26"]["by_carrier"]["cu"], 30.0);
    // One of the two key public areas (the bus station) is covered by ct.
    assert_eq!(v["i33"]["value"], 0.5);
    assert_eq!(v["i33"]["by_carrier"]["ct"], 0.5);
    assert!(v["i32"]["value"].is_null(), "no IPv6 check, no value");
    assert_eq!(v["sites_without_data"], json!(["central-plaza"]));

    let (status, out, err) = run(collector.command().args([
        "indicators",
        "--from",
        "2026-W46",
        "--to",
        "2026-W48",
        "--json",
    ]));
    assert!(status.success(), "{err}");
    let trend: Vec<serde_json::Value> = serde_json::from_str(&out).expect("a JSON array");
    let weeks: Vec<&str> = trend.iter().map(|w| w["week"].as_str().unwrap()).collect();
    assert_eq!(weeks, ["2026-W46", "2026-W47", "2026-W48"]);
    assert!(trend[0]["i26"]["value"].is_null() && trend[1]["i26"]["value"] == 40.0);

    let (status, out, _) =
        run(collector
            .command()
            .args(["indicators", "--from", "2026-W46", "--to", "2026-W48"]));
    assert!(status.success());
    assert_eq!(
        out.lines().count(),
        4,
        "a header and one line per week:\n{out}"
    );

    let (status, _, err) =
        run(collector
            .command()
            .args(["indicators", "--from", "2026-W48", "--to", "2026-W46"]));
    assert_eq!(status.code(), Some(2));
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let (status, _, _) = run(collector
        .command()
        .args(["report", "--out", "x", "--lang", "fr"]));
    assert_eq!(status.code(), Some(2));
}

/// The report stands alone: on a browser whose only fonts are Latin (a fontconfig that lists
/// DejaVu alone), a report SVG draws its Chinese title with the font it carries. The same SVG
/// without its `<style>` draws different pixels there (missing-glyph boxes). The report and
/// both screenshots are kept in `target/test-artifacts/report-fonts/` to look at.
#[test]
fn the_report_svgs_show_chinese_without_system_fonts() {
    if !chromium_available() {
        return;
    }
    let collector = Collector::new();
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(&file, results()).expect("results written");
    collector.add_probe("hosp-01", "county-hospital");
    collector.add_probe("bus-01", "bus-station");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");
    let dir = artifacts("report-fonts");
    let report = dir.join("report");
    if report.exists() {
        std::fs::remove_dir_all(&report).expect("old report removed");
    }
    let (status, out, err) = run(collector.command().args([
        "report",
        "--week",
        "2026-W47",
        "--out",
        report.to_str().expect("a UTF-8 path"),
    ]));
    assert!(status.success(), "report failed: {out}{err}");
    let svg = std::fs::read_to_string(report.join("i26_trend.svg")).expect("the chart");
    let start = svg.find("<style>").expect("the SVG carries a style sheet");
    let end = svg.find("</style>").expect("closed") + "</style>".len();
    assert!(svg[start..end].contains("data:font/ttf;base64,"));
    let bare = format!("{}{}", &svg[..start], &svg[end..]);

    let conf = collector.dir.path().join("fonts.conf");
    std::fs::write(
        &conf,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"fonts.dtd\">\n<fontconfig>\
             <dir>/usr/share/fonts/truetype/dejavu</dir><cachedir>{}</cachedir></fontconfig>\n",
            collector.dir.path().join("fc-cache").display()
        ),
    )
    .expect("fontconfig written");
    let mut shots = Vec::new();
    for (name, text) in [("embedded", &svg), ("bare", &bare)] {
        let file = dir.join(format!("{name}.svg"));
        std::fs::write(&file, text).expect("svg copied");
        let shot = dir.join(format!("{name}.png"));
        if shot.exists() {
            std::fs::remove_file(&shot).expect("old screenshot removed");
        }
        let profile = collector.dir.path().join(format!("chromium-{name}"));
        let mut cmd = Command::new("timeout");
        cmd.arg("120")
            .arg(CHROMIUM)
            .args([
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                "--window-size=1000,560",
            ])
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg(format!("--screenshot={}", shot.display()))
            .arg(format!("file://{}", file.display()))
            .env("FONTCONFIG_FILE", &conf);
        let (status, _, err) = run(&mut cmd);
        assert!(status.success(), "chromium failed: {err}");
        shots.push(title_band(&shot));
    }
    let inked = |band: &[u8]| band.iter().filter(|&&c| c < 128).count();
    assert!(inked(&shots[0]) > 500, "the title band is nearly empty");
    assert_ne!(
        shots[0], shots[1],
        "the embedded font changed nothing: the title draws the same without it"
    );
}

/// The top 40 rows of a screenshot, as bytes.
fn title_band(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).expect("screenshot written");
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).expect("one frame");
    buf[..info.line_size * 40].to_vec()
}
