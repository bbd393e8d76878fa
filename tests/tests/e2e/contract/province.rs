//! A province of two counties on one collector (`docs/province.md`), on SQLite or
//! (`FATHOM_TEST_DB=postgres`) PostgreSQL: the county files and a CSV site list, each county's
//! indicators from its own sites, the overview ranking them with their change from the week
//! before, the county's websites told to its probes, and accounts held to their county on
//! pages, APIs and exports.

use super::accounts::{PASSWORD, WEEK, client, get, login, user};
use fathom_e2e::{Collector, bin, run};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};

const PROVINCE: &str = r#"
[province]
name = "淄博市"
counties = ["counties/yiyuan.toml", "counties/zichuan.toml"]
"#;

const YIYUAN: &str = r#"
[county]
name = "沂源县"
id = "yiyuan"

[[site]]
id = "county-hospital"
name = "沂源县人民医院"
category = "hospital"

[[website]]
url = "https://www.yiyuan.gov.cn/"
kind = "gov_portal"
"#;

const ZICHUAN: &str = r#"
[county]
name = "淄川区"
id = "zichuan"
site_list = "zichuan-sites.csv"

[indicators]
i26_target_mbps = 12.0

[[website]]
url = "https://www.zichuan.gov.cn/"
kind = "gov_portal"
"#;

/// As a bureau saves it from Excel: the byte-order mark, Chinese headers and categories.
const ZICHUAN_SITES: &str = "\u{feff}编号,名称,类别,纬度,经度\r\nzc-hospital,淄川区医院,医院,36.64,117.97\r\nzc-park,般阳公园,公园广场,,\r\n";

fn province() -> Collector {
    Collector::with_files(
        PROVINCE,
        &[
            ("counties/yiyuan.toml", YIYUAN),
            ("counties/zichuan.toml", ZICHUAN),
            ("counties/zichuan-sites.csv", ZICHUAN_SITES),
        ],
    )
}

/// A download test of `carrier` at `site` by `probe` at `at`.
fn speed(n: u32, probe: &str, site: &str, carrier: &str, mbps: f64, at: &str) -> String {
    json!({"schema": 1, "id": format!("0192b6e2-7c1a-7d3e-9f00-3a5c1e2b{n:04x}"),
        "probe_id": probe, "site_id": site, "carrier": carrier,
        "interface": "wwan0", "measured_at": at, "clock_synced": true,
        "kind": "speed", "download_mbps": mbps, "bytes_downloaded": 26_000_000,
        "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0,
        "streams": 1, "protocol": "http", "server": "http://127.0.0.1/", "error": null})
    .to_string()
}

/// Yiyuan 40 then 50 Mbit/s, Zichuan 20 then 10 (of W46 then W47), both by cmcc; a cu test at
/// Yiyuan's hospital in W47.
fn with_results(collector: &Collector) {
    let lines = [
        speed(
            1,
            "yy-hosp-01",
            "county-hospital",
            "cmcc",
            40.0,
            "2026-11-10T02:00:00Z",
        ),
        speed(
            2,
            "yy-hosp-01",
            "county-hospital",
            "cmcc",
            50.0,
            "2026-11-17T02:00:00Z",
        ),
        speed(
            3,
            "yy-hosp-01",
            "county-hospital",
            "cu",
            30.0,
            "2026-11-17T03:00:00Z",
        ),
        speed(
            4,
            "zc-hosp-01",
            "zc-hospital",
            "cmcc",
            20.0,
            "2026-11-10T02:00:00Z",
        ),
        speed(
            5,
            "zc-hosp-01",
            "zc-hospital",
            "cmcc",
            10.0,
            "2026-11-17T02:00:00Z",
        ),
    ]
    .join("\n");
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(&file, lines + "\n").expect("results written");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");
}

/// `user add ARGS` with the accounts tests' password: its exit code and standard error.
fn user_add(collector: &Collector, args: &[&str]) -> (Option<i32>, String) {
    let mut all = vec!["add"];
    all.extend_from_slice(args);
    all.push("--password-stdin");
    let (code, _, err) = user(collector, &all, &format!("{PASSWORD}\n"));
    (code, err)
}

#[test]
fn the_command_line_reads_each_county_apart_and_ranks_them() {
    let collector = province();
    collector.add_probe("yy-hosp-01", "county-hospital");
    collector.add_probe("zc-hosp-01", "zc-hospital");
    // A site id of no county is refused, as in one county.
    let (status, _, err) = run(collector
        .command()
        .args(["probe", "add", "--id", "x-01", "--site", "nowhere"]));
    assert_eq!(status.code(), Some(2), "{err}");
    with_results(&collector);

    // Each county from its own sites, by its own target.
    let county = |id: &str| -> Value {
        let (status, out, err) =
            run(collector
                .command()
                .args(["indicators", "--week", WEEK, "--json", "--county", id]));
        assert!(status.success(), "{err}");
        serde_json::from_str(&out).expect("JSON")
    };
    let yy = county("yiyuan");
    assert_eq!(yy["county"], "沂源县");
    assert_eq!(yy["i26"]["value"], 40.0, "mean of cmcc 50 and cu 30: {yy}");
    let zc = county("zichuan");
    assert_eq!(zc["i26"]["value"], 10.0, "{zc}");
    assert_eq!(zc["i26"]["target"], 12.0, "its own target");
    assert_eq!(zc["i26"]["met"], false);
    assert_eq!(zc["i26"]["sites"].as_array().unwrap().len(), 1);

    // Without --county: the overview, ranked by I26, with the change from W46.
    let (status, out, err) =
        run(collector
            .command()
            .args(["indicators", "--week", WEEK, "--json"]));
    assert!(status.success(), "{err}");
    let o: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(o["province"], "淄博市");
    let ids: Vec<&str> = o["counties"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["yiyuan", "zichuan"]);
    assert_eq!(o["counties"][0]["i26"]["rank"], 1);
    assert_eq!(
        o["counties"][0]["i26"]["change"], 0.0,
        "40 in W46 (cmcc alone), 40 in W47"
    );
    assert_eq!(o["counties"][1]["i26"]["change"], -10.0);
    assert_eq!(o["missing"][0]["indicator"], "i26");
    assert_eq!(o["missing"][0]["below"], json!(["zichuan"]));
    let (_, text, _) = run(collector.command().args(["indicators", "--week", WEEK]));
    assert!(
        text.contains("淄博市 2026-W47") && text.contains("I26 below target: zichuan"),
        "{text}"
    );
    for args in [
        vec!["report", "--week", WEEK, "--out", "r"],
        vec!["indicators", "--from", "2026-W46", "--to", WEEK],
        vec!["indicators", "--county", "boshan"],
    ] {
        let (status, _, err) = run(collector.command().args(&args));
        assert_eq!(status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("yiyuan, zichuan"), "names the counties: {err}");
    }

    // The site list goes out as a spreadsheet and back in.
    let csv = collector.dir.path().join("zc.csv");
    let (status, _, err) = run(collector
        .command()
        .args(["sites", "export", "--county", "zichuan", "--out"])
        .arg(&csv));
    assert!(status.success(), "{err}");
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with('\u{feff}') && text.contains("zc-park,般阳公园,park"),
        "{text}"
    );
    // Checking a spreadsheet needs no configuration: the bureau checks it before anyone points
    // a county file at it.
    let (status, out, err) = run(std::process::Command::new(bin("fathom-collector"))
        .args(["--config", "/nonexistent/collector.toml", "sites", "check"])
        .arg(&csv));
    assert!(status.success(), "{err}");
    assert!(out.contains("2 sites (医院 1，公园广场 1)"), "{out}");
    std::fs::write(&csv, "id,name,category\nzc-x,某地,机场\n").unwrap();
    let (status, _, err) = run(collector.command().args(["sites", "check"]).arg(&csv));
    assert_eq!(status.code(), Some(2));
    assert!(err.contains("line 2: unknown category \"机场\""), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_account_sees_its_county_and_the_administrator_the_province() {
    let mut collector = province();
    collector.add_probe("yy-hosp-01", "county-hospital");
    let zc_token = collector.add_probe("zc-hosp-01", "zc-hospital");
    with_results(&collector);
    collector.start();
    let url = collector.url.clone();
    let c = client();

    // A probe is told its own county's websites.
    let upload = c
        .post(format!("{url}/api/v1/results"))
        .bearer_auth(&zc_token)
        .header("content-type", "application/json")
        .body(format!(
            "{{\"results\":[{}]}}",
            speed(
                9,
                "zc-hosp-01",
                "zc-hospital",
                "ct",
                5.0,
                "2026-11-18T02:00:00Z"
            )
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status(), StatusCode::OK);
    let answer: Value = upload.json().await.unwrap();
    assert_eq!(
        answer["settings"]["websites"],
        json!(["https://www.zichuan.gov.cn/"]),
        "{answer}"
    );

    // A county account needs its county in a province.
    let (code, err) = user_add(&collector, &["zc", "--role", "county"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--county") && err.contains("yiyuan, zichuan"),
        "{err}"
    );
    for args in [
        vec!["admin1", "--role", "admin"],
        vec!["zc", "--role", "county", "--county", "zichuan"],
        vec![
            "yy-cmcc",
            "--role",
            "operator",
            "--carrier",
            "cmcc",
            "--county",
            "yiyuan",
        ],
        vec!["zc-tech", "--role", "technician", "--county", "zichuan"],
    ] {
        let (code, err) = user_add(&collector, &args);
        assert_eq!(code, Some(0), "{args:?}: {err}");
    }

    administrator_sees_the_province(&c, &url).await;
    county_bureau_sees_its_county_only(&c, &url).await;
    technician_and_operator_see_their_part(&c, &url).await;
}

async fn administrator_sees_the_province(c: &reqwest::Client, url: &str) {
    // The administrator: the overview at /, ranked, with who misses what.
    let admin = login(c, url, "admin1").await;
    let page = get(c, url, &format!("/?week={WEEK}"), &admin).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.expect("a page body");
    assert!(
        page.contains("淄博市 各县（区）指标概览") && page.contains("id=province"),
        "{page}"
    );
    let (yy, zc) = (
        page.find(">沂源县</a>").expect("on the page"),
        page.find(">淄川区</a>").expect("on the page"),
    );
    assert!(yy < zc, "ranked by I26: Yiyuan first");
    assert!(page.contains("<li id=missing-i26><b>I26"), "{page}");
    let missing = &page[page.find("<li id=missing-i26>").expect("on the page")..];
    assert!(
        missing[..missing.find("</li>").expect("on the page")].contains("淄川区"),
        "{missing}"
    );
    // Ranked by I32 instead: no county has data, both listed as unknown.
    let by_i32 = get(c, url, &format!("/?week={WEEK}&sort=i32"), &admin).await;
    assert!(
        by_i32
            .text()
            .await
            .expect("a page body")
            .contains("无数据、无法判定 2 个")
    );
    // A county's page, its links keeping the county.
    let zc_page = get(c, url, &format!("/?week={WEEK}&county=zichuan"), &admin).await;
    let zc_page = zc_page.text().await.expect("a page body");
    assert!(zc_page.contains("淄川区") && zc_page.contains("county=zichuan"));
    assert!(
        !zc_page.contains("沂源县人民医院"),
        "no other county's site"
    );
    // A page of one county asked without one: which county?
    let map = get(c, url, "/map", &admin).await;
    assert_eq!(map.status(), StatusCode::BAD_REQUEST);
    assert!(
        map.text()
            .await
            .expect("a page body")
            .contains("/map?county=zichuan")
    );
    let none = get(c, url, "/?county=boshan", &admin).await;
    assert_eq!(none.status(), StatusCode::NOT_FOUND);
}

async fn county_bureau_sees_its_county_only(c: &reqwest::Client, url: &str) {
    // Zichuan's bureau: sent to its county, refused the other's page, API and export.
    let zc = login(c, url, "zc").await;
    let home = get(c, url, &format!("/?week={WEEK}"), &zc).await;
    assert_eq!(home.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        home.headers()[LOCATION],
        format!("/?week={WEEK}&county=zichuan")
    );
    let own = get(c, url, &format!("/?week={WEEK}&county=zichuan"), &zc).await;
    assert_eq!(own.status(), StatusCode::OK);
    for path in [
        format!("/?week={WEEK}&county=yiyuan"),
        "/site/county-hospital".to_owned(),
        format!("/dashboard/export/i26_sites.csv?week={WEEK}&county=yiyuan"),
        "/api/v1/fleet?county=yiyuan".to_owned(),
    ] {
        let resp = get(c, url, &path, &zc).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
    // Naming its own county does not open another county's site.
    let trick = get(c, url, "/site/county-hospital?county=zichuan", &zc).await;
    assert_eq!(trick.status(), StatusCode::NOT_FOUND);
    let export = get(
        c,
        url,
        &format!("/dashboard/export/i26_sites.csv?week={WEEK}&county=zichuan"),
        &zc,
    )
    .await;
    assert_eq!(export.status(), StatusCode::OK);
    assert!(
        export.headers()["content-disposition"]
            .to_str()
            .expect("a text header")
            .contains("fathom-zichuan-2026-W47-i26_sites.csv")
    );
    let csv = export.text().await.expect("a page body");
    assert!(
        csv.contains("zc-hospital") && !csv.contains("county-hospital"),
        "{csv}"
    );
    let site = get(c, url, &format!("/site/zc-hospital?week={WEEK}"), &zc).await;
    assert_eq!(site.status(), StatusCode::OK);
}

async fn technician_and_operator_see_their_part(c: &reqwest::Client, url: &str) {
    // Its technician: its county's fleet only, on the page and in the API.
    let tech = login(c, url, "zc-tech").await;
    let fleet = get(c, url, "/api/v1/fleet?county=zichuan", &tech).await;
    assert_eq!(fleet.status(), StatusCode::OK);
    let fleet: Value = fleet.json().await.expect("a JSON body");
    let probes: Vec<&str> = fleet["probes"]
        .as_array()
        .expect("probes is a list")
        .iter()
        .map(|p| p["probe_id"].as_str().expect("probe_id is text"))
        .collect();
    assert_eq!(probes, ["zc-hosp-01"]);
    let page = get(c, url, "/fleet?county=zichuan", &tech).await;
    let page = page.text().await.expect("a page body");
    assert!(page.contains("zc-hosp-01") && !page.contains("yy-hosp-01"));
    let other = get(c, url, "/probe/yy-hosp-01?county=zichuan", &tech).await;
    assert_eq!(
        other.status(),
        StatusCode::NOT_FOUND,
        "not its county's probe"
    );
    let all = get(c, url, "/fleet", &tech).await;
    assert_eq!(all.status(), StatusCode::TEMPORARY_REDIRECT);

    // Yiyuan's cmcc operator: its carrier, its county; never the other county.
    let op = login(c, url, "yy-cmcc").await;
    let resp = get(c, url, &format!("/?week={WEEK}&county=yiyuan"), &op).await;
    assert_eq!(resp.status(), StatusCode::TEMPORARY_REDIRECT);
    assert!(
        resp.headers()[LOCATION]
            .to_str()
            .expect("a text header")
            .ends_with("carrier=cmcc")
    );
    for path in [
        format!("/?week={WEEK}&county=yiyuan&carrier=cu"),
        format!("/?week={WEEK}&county=zichuan&carrier=cmcc"),
        "/site/zc-hospital?carrier=cmcc".to_owned(),
    ] {
        let resp = get(c, url, &path, &op).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
    }
}
