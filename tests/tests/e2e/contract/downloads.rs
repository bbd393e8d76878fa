//! What the weekly meeting takes away: the week's report as a PDF made by the collector itself,
//! rendered back to images and text with poppler (`pdfinfo`, `pdftotext`, `pdftoppm`, Debian
//! package `poppler-utils`, which `scripts/test.sh` installs), and every download link of the
//! dashboard and of the written report answering with its file.

use fathom_e2e::picture::{PngStats, artifacts, png_stats};
use fathom_e2e::{Collector, run};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs a poppler tool; a missing tool is a failure with the way to install it.
fn poppler(tool: &str, args: &[&str]) -> String {
    let mut cmd = Command::new(tool);
    cmd.args(args);
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("{tool} cannot run ({e}): apt-get install -y poppler-utils (scripts/test.sh does)")
    });
    assert!(
        out.status.success(),
        "{tool} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Two speed tests (hospital: cmcc 50, cu 30) and ten radio samples meeting 5G at the bus
/// station, in 2026-W47; `simulated` marks them all as simulated.
fn results(simulated: bool) -> String {
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
            "protocol": "http", "server": "http://127.0.0.1/", "error": null,
            "simulated": simulated}));
    }
    for i in 0..10 {
        lines.push(json!({"schema": 1, "id": next_id(), "probe_id": "bus-01",
            "site_id": "bus-station", "carrier": "ct", "interface": "wwan1",
            "measured_at": format!("2026-11-17T02:{i:02}:00Z"), "clock_synced": true,
            "kind": "radio", "plmn": "46011", "rat": "nr_sa", "rsrp_dbm": -90.0,
            "rsrq_db": -10.0, "sinr_db": 12.0, "band": "n78", "cell_id": "1",
            "meets_5g": true, "simulated": simulated}));
    }
    lines.iter().map(|l| l.to_string() + "\n").collect()
}

/// A collector holding the week's results, not started.
fn collector_with(simulated: bool) -> Collector {
    let collector = Collector::new();
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(&file, results(simulated)).expect("results written");
    collector.add_probe("hosp-01", "county-hospital");
    collector.add_probe("bus-01", "bus-station");
    collector.add_probe("plaza-01", "central-plaza");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");
    collector
}

/// Checks a report PDF as a reader would: A4 pages, Chinese text with the county and the
/// verdicts, pages that render to images with ink on them. Returns the text.
fn check_pdf(pdf: &Path, name: &str) -> String {
    let path = pdf.to_str().expect("a UTF-8 path");
    let head = std::fs::read(pdf).expect("the PDF is written");
    assert!(head.starts_with(b"%PDF-"), "{name}: not a PDF");
    let info = poppler("pdfinfo", &[path]);
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name}: no page count in {info}"));
    assert!(
        pages >= 2,
        "{name}: {pages} pages; charts and tables need more"
    );
    assert!(
        info.contains("Page size:") && info.contains("595.") && info.contains("841."),
        "{name}: not A4: {info}"
    );
    // Every page A4, not only the first.
    let sizes = poppler("pdfinfo", &["-f", "1", "-l", &pages.to_string(), path]);
    assert_eq!(
        sizes
            .lines()
            .filter(|l| l.starts_with("Page") && l.contains("size:") && l.contains("(A4)"))
            .count(),
        pages,
        "{name}: {sizes}"
    );
    let text = poppler("pdftotext", &["-layout", path, "-"]);
    for want in [
        "网络指标周报",
        "测试县",
        "2026-W47",
        "北京时间",
        "县人民医院",
        "中国移动",
    ] {
        assert!(
            text.contains(want),
            "{name}: {want:?} not in the PDF's text:\n{text}"
        );
    }
    assert!(
        text.contains("达标"),
        "{name}: no verdict in the PDF's text:\n{text}"
    );
    let prefix = artifacts("pdf").join(name);
    let prefix = prefix.to_str().expect("a UTF-8 path");
    poppler("pdftoppm", &["-r", "40", "-png", path, prefix]);
    let images: Vec<PathBuf> = std::fs::read_dir(artifacts("pdf"))
        .expect("artifacts")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "png")
                && p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.starts_with(&format!("{name}-")))
        })
        .collect();
    assert_eq!(images.len(), pages, "{name}: one image per page");
    for image in &images {
        let PngStats { colours, inked, .. } = png_stats(image);
        assert!(
            colours > 8 && inked > 0.01,
            "{}: a blank page ({colours} colours, {:.2}% inked)",
            image.display(),
            inked * 100.0
        );
    }
    text
}

#[test]
fn the_report_pdf_renders_to_a4_pages_in_chinese_with_its_verdicts() {
    // A week of field results: `report --format pdf` writes the PDF alone.
    let collector = collector_with(false);
    let pdf = collector.dir.path().join("out").join("W47.pdf");
    let (status, out, err) = run(collector.command().args([
        "report",
        "--week",
        "2026-W47",
        "--format",
        "pdf",
        "--out",
        pdf.to_str().expect("a UTF-8 path"),
    ]));
    assert!(status.success(), "report --format pdf failed: {out}{err}");
    let text = check_pdf(&pdf, "field");
    // I26 is 40.0 Mbit/s against 25: met; I32 has no check this week: no data, never a red
    // 未达标.
    assert!(text.contains("40.0 Mbit/s"), "{text}");
    assert!(
        text.contains("无数据 no data") && !text.contains("未达标"),
        "{text}"
    );
    assert!(
        !text.contains("为模拟数据")
            && !text.contains("（模拟数据）")
            && !text.contains("含模拟数据"),
        "a field week says nothing of simulation: {text}"
    );
    let size = std::fs::metadata(&pdf).expect("written").len();
    assert!(
        size < 2_000_000,
        "{size} bytes: the font is meant to be subset"
    );

    // A simulated week: the PDF carries the banner and the qualified verdicts.
    let sim = collector_with(true);
    let dir = sim.dir.path().join("report");
    let (status, out, err) = run(sim.command().args([
        "report",
        "--week",
        "2026-W47",
        "--out",
        dir.to_str().expect("a UTF-8 path"),
    ]));
    assert!(status.success(), "report failed: {out}{err}");
    let text = check_pdf(&dir.join("report.pdf"), "simulated");
    assert!(text.contains("本周数据全部为模拟数据"), "{text}");
    assert!(text.contains("（模拟数据）"), "{text}");
    // The folder's page links every file of the week, and each is there.
    let index = std::fs::read_to_string(dir.join("index.html")).expect("index.html");
    let links = download_links(&index);
    assert_eq!(links.len(), 26, "{links:?}");
    for link in &links {
        assert!(dir.join(link).is_file(), "{link} is linked but not written");
    }
}

/// The `href`s of the page's download links.
fn download_links(page: &str) -> Vec<String> {
    page.split("<a class=download href=\"")
        .skip(1)
        .map(|rest| rest[..rest.find('"').expect("closed")].replace("&amp;", "&"))
        .collect()
}

#[test]
fn every_download_link_of_the_dashboard_answers_with_its_file() {
    let mut collector = collector_with(false);
    collector.start();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::new();
        let get = |path: &str| client.get(format!("{}{path}", collector.url)).send();
        let page = get("/?week=2026-W47&carrier=cu")
            .await
            .expect("the page answers")
            .text()
            .await
            .expect("a body");
        assert!(page.contains("下载 Downloads"), "no downloads section");
        assert!(page.contains("@page{size:A4"), "no print style");
        let links = download_links(&page);
        assert_eq!(links.len(), 26, "{links:?}");
        for link in &links {
            assert!(
                link.starts_with("/dashboard/export/") && link.contains("week=2026-W47"),
                "{link}"
            );
            let r = get(link).await.expect("answer");
            assert_eq!(r.status(), 200, "{link}");
            let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
            let disposition = r.headers()["content-disposition"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                disposition.starts_with("attachment; filename=\"fathom-2026-W47-"),
                "{link}: {disposition}"
            );
            let body = r.bytes().await.expect("a body");
            let name = link
                .trim_start_matches("/dashboard/export/")
                .split('?')
                .next()
                .unwrap();
            match Path::new(name).extension().and_then(|e| e.to_str()) {
                Some("csv") => {
                    assert_eq!(kind, "text/csv; charset=utf-8", "{link}");
                    assert!(body.starts_with("\u{feff}周 week".as_bytes()), "{link}");
                }
                Some("json") => {
                    assert_eq!(kind, "application/json", "{link}");
                    let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
                    assert_eq!(v["week"], "2026-W47");
                    assert_eq!(v["i26"]["value"], 40.0);
                }
                Some("svg") => {
                    assert!(kind.starts_with("image/svg+xml"), "{link}: {kind}");
                    assert!(String::from_utf8_lossy(&body).contains("<svg"), "{link}");
                    assert!(disposition.contains("-cu-"), "{link}: {disposition}");
                }
                Some("png") => {
                    assert_eq!(kind, "image/png", "{link}");
                    assert!(body.starts_with(b"\x89PNG\r\n\x1a\n"), "{link}");
                    assert!(body.len() > 5_000, "{link}: {} bytes", body.len());
                }
                Some("pdf") => {
                    assert_eq!(kind, "application/pdf", "{link}");
                    let file = collector.dir.path().join("dashboard.pdf");
                    std::fs::write(&file, &body).expect("saved");
                    let text = poppler("pdftotext", &[file.to_str().unwrap(), "-"]);
                    assert!(text.contains("网络指标周报") && text.contains("测试县"));
                }
                other => panic!("{link}: unexpected file type {other:?}"),
            }
        }

        // A report file name at the root goes to its export; other unknown pages asked by a
        // browser get an HTML page, API clients their JSON error.
        let r = get("/indicators.csv?week=2026-W47").await.expect("answer");
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "text/csv; charset=utf-8");
        let r = client
            .get(format!("{}/no/such/page", collector.url))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
            .send()
            .await
            .expect("answer");
        assert_eq!(r.status(), 404);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(r.text().await.unwrap().contains("返回指标页"));
        let r = get("/api/v1/nothing").await.expect("answer");
        assert_eq!(r.status(), 404);
        assert!(
            r.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let r = get("/dashboard/export/nothing.csv?week=2026-W47")
            .await
            .expect("answer");
        assert_eq!(r.status(), 404);
    });
}
