//! Accounts and roles (`docs/access.md`) against real `fathom-collector serve` processes, on
//! SQLite or (`FATHOM_TEST_DB=postgres`) PostgreSQL: open with a banner until the first
//! account, then logins with CSRF-checked forms, sessions, each role's scope (a county account
//! of another county, an operator of one carrier, a technician), the login rate limit, the audit
//! log, the read token for machines and the reverse proxy's user header.

use fathom_e2e::{Collector, bin, run};
use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, ORIGIN, SET_COOKIE};
use serde_json::json;
use std::io::Write as _;
use std::process::{Command, Stdio};

pub(super) const PASSWORD: &str = "correct horse 42";
pub(super) const WEEK: &str = "2026-W47";

/// Runs `fathom-collector user …` with `stdin` on its standard input.
pub(super) fn user(
    collector: &Collector,
    args: &[&str],
    stdin: &str,
) -> (Option<i32>, String, String) {
    let mut child = Command::new(bin("fathom-collector"))
        .arg("--config")
        .arg(collector.config())
        .arg("user")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("fathom-collector starts");
    child
        .stdin
        .take()
        .expect("stdin piped")
        .write_all(stdin.as_bytes())
        .expect("password written");
    let out = child.wait_with_output().expect("user command ends");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Adds an account with [`PASSWORD`]; `extra` are its flags after `--role`.
fn add(collector: &Collector, name: &str, role: &str, extra: &[&str]) {
    let mut args = vec!["add", name, "--role", role, "--password-stdin"];
    args.extend_from_slice(extra);
    let (code, out, err) = user(collector, &args, &format!("{PASSWORD}\n"));
    assert_eq!(code, Some(0), "user add {name}: {out}{err}");
}

/// Speed tests at the hospital (cmcc 50, cu 30 Mbit/s) in [`WEEK`].
fn with_results(collector: &Collector) {
    let lines: String = [("cmcc", 50.0, 1), ("cu", 30.0, 2)]
        .iter()
        .map(|(carrier, mbps, n)| {
            json!({"schema": 1, "id": format!("0192b6e2-7c1a-7d3e-9f00-3a5c1e2b{n:04x}"),
                "probe_id": "hosp-01", "site_id": "county-hospital", "carrier": carrier,
                "interface": "wwan0", "measured_at": "2026-11-17T02:00:00Z", "clock_synced": true,
                "kind": "speed", "download_mbps": mbps, "bytes_downloaded": 26_000_000,
                "duration_ms": 4900, "latency_idle_ms": 31.0, "latency_loaded_ms": 80.0,
                "streams": 1, "protocol": "http", "server": "http://127.0.0.1/", "error": null})
            .to_string()
                + "\n"
        })
        .collect();
    let file = collector.dir.path().join("results.jsonl");
    std::fs::write(&file, lines).expect("results written");
    collector.add_probe("hosp-01", "county-hospital");
    let (status, out, err) = run(collector.command().arg("import").arg(&file));
    assert!(status.success(), "import failed: {out}{err}");
}

pub(super) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client")
}

/// The value of cookie `name` among a response's `Set-Cookie` headers, and the whole header.
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<(String, String)> {
    resp.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let line = v.to_str().ok()?;
        let value = line.strip_prefix(&format!("{name}="))?.split(';').next()?;
        Some((value.to_owned(), line.to_owned()))
    })
}

/// The value of the hidden input `name` of a form in `page`.
fn hidden(page: &str, name: &str) -> String {
    let at = page
        .find(&format!("name={name} value=\""))
        .unwrap_or_else(|| panic!("no hidden {name} in {page}"));
    let rest = &page[at + name.len() + 13..];
    rest[..rest.find('"').expect("closed value")].to_owned()
}

/// The login form: (its CSRF token, the cookie carrying the same).
async fn login_form(c: &reqwest::Client, url: &str) -> (String, String) {
    let resp = c
        .get(format!("{url}/login"))
        .send()
        .await
        .expect("GET /login");
    assert_eq!(resp.status(), StatusCode::OK);
    let (cookie, _) = set_cookie(&resp, "fathom_login").expect("the form sets its cookie");
    let page = resp.text().await.expect("the login page");
    (hidden(&page, "csrf"), cookie)
}

/// Posts the login form as a browser would (its token, its cookie, our own Origin).
async fn post_login(
    c: &reqwest::Client,
    url: &str,
    name: &str,
    password: &str,
) -> reqwest::Response {
    let (csrf, cookie) = login_form(c, url).await;
    c.post(format!("{url}/login"))
        .header(ORIGIN, url)
        .header(COOKIE, format!("fathom_login={cookie}"))
        .form(&[
            ("name", name),
            ("password", password),
            ("csrf", &csrf),
            ("next", ""),
        ])
        .send()
        .await
        .expect("POST /login")
}

/// Logs in and returns the `Cookie` header of the session.
pub(super) async fn login(c: &reqwest::Client, url: &str, name: &str) -> String {
    let resp = post_login(c, url, name, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER, "login of {name}");
    let (id, _) = set_cookie(&resp, "fathom_session").expect("a session cookie");
    format!("fathom_session={id}")
}

pub(super) async fn get(
    c: &reqwest::Client,
    url: &str,
    path: &str,
    cookie: &str,
) -> reqwest::Response {
    c.get(format!("{url}{path}"))
        .header(COOKIE, cookie)
        .send()
        .await
        .expect("GET")
}

/// The audit log as `user audit` prints it.
fn audit(collector: &Collector) -> String {
    let (status, out, err) = run(collector.command().args(["user", "audit", "--since", "1h"]));
    assert!(status.success(), "{err}");
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_accounts_the_pages_are_open_with_a_banner_until_the_first_account() {
    let mut collector = Collector::new();
    collector.start();
    let url = collector.url.clone();
    let c = client();
    // No account: open as before, and every page says so.
    for path in ["/", "/fleet"] {
        let resp = get(&c, &url, path, "").await;
        assert_eq!(resp.status(), StatusCode::OK, "{path}");
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("id=access-open") && page.contains("未启用登录"),
            "{path}"
        );
    }
    assert_eq!(
        get(&c, &url, "/api/v1/fleet", "").await.status(),
        StatusCode::OK
    );
    assert!(collector.proc().log().contains("No account exists"));

    // Bad usage exits 2 with a reason.
    for (args, stdin, why) in [
        (
            vec!["add", "x", "--role", "operator", "--password-stdin"],
            "long enough pw\n",
            "--carrier",
        ),
        (
            vec!["add", "x", "--role", "admin", "--password-stdin"],
            "short\n",
            "at least 10",
        ),
        (vec!["add", "x", "--role", "admin"], "", "--password-stdin"),
        (
            vec!["add", "x y", "--role", "admin", "--password-stdin"],
            "long enough pw\n",
            "account name",
        ),
        (
            vec![
                "add",
                "x",
                "--role",
                "admin",
                "--county",
                "a",
                "--password-stdin",
            ],
            "long enough pw\n",
            "--county",
        ),
        (vec!["remove", "nobody"], "", "no account"),
        (vec!["audit", "--since", "yesterday"], "", "--since"),
    ] {
        let (code, _, err) = user(&collector, &args, stdin);
        assert_eq!(code, Some(2), "{args:?}: {err}");
        assert!(err.contains(why), "{args:?}: {err}");
    }
    let (code, _, err) = user(&collector, &["add", "x", "--role", "root"], "");
    assert_eq!(code, Some(2), "{err}");

    // The first account closes the pages of the running collector.
    add(&collector, "admin1", "admin", &[]);
    let (_, list, _) = run(collector.command().args(["user", "list"]));
    assert!(list.starts_with("admin1\tadmin\t-\t-\t"), "{list}");
    let resp = get(&c, &url, "/?week=2026-W47", "").await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()[LOCATION],
        "/login?next=%2F%3Fweek%3D2026-W47"
    );
    let export = get(&c, &url, "/dashboard/export/indicators.csv", "").await;
    assert_eq!(export.status(), StatusCode::SEE_OTHER);
    let api = get(&c, &url, "/api/v1/fleet", "").await;
    assert_eq!(api.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = api.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("login required"));
    // What probes and monitoring use stays as it was.
    for path in ["/api/v1/health", "/metrics", "/api/v1/openapi.json"] {
        assert_eq!(
            get(&c, &url, path, "").await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
}

/// A login POST without the form's token, with a wrong one, without its cookie, or from
/// another site: 403 and no session.
async fn forged_logins_are_refused(c: &reqwest::Client, url: &str) {
    // A login POST without the form's token, with a wrong one, or from another site: refused.
    let (csrf, cookie) = login_form(c, url).await;
    let attempts = [
        (None, Some(cookie.as_str()), url),
        (Some("0000"), Some(cookie.as_str()), url),
        (Some(csrf.as_str()), None, url),
        (
            Some(csrf.as_str()),
            Some(cookie.as_str()),
            "http://evil.example",
        ),
    ];
    for (token, cookie, origin) in attempts {
        let mut form = vec![("name", "admin1"), ("password", PASSWORD)];
        if let Some(t) = token {
            form.push(("csrf", t));
        }
        let mut req = c
            .post(format!("{url}/login"))
            .header(ORIGIN, origin)
            .form(&form);
        if let Some(v) = cookie {
            req = req.header(COOKIE, format!("fathom_login={v}"));
        }
        let resp = req.send().await.expect("POST /login");
        assert_eq!(
            resp.status(),
            StatusCode::FORBIDDEN,
            "{token:?} {cookie:?} {origin}"
        );
        assert!(set_cookie(&resp, "fathom_session").is_none());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_take_checked_forms_and_a_session_ends_at_logout() {
    let mut collector = Collector::new();
    add(&collector, "admin1", "admin", &[]);
    collector.start();
    let url = collector.url.clone();
    let c = client();
    forged_logins_are_refused(&c, &url).await;

    // The real form logs in: a session cookie with the flags, and the page names the account.
    let resp = post_login(&c, &url, "admin1", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(resp.headers()[LOCATION], "/");
    let (id, line) = set_cookie(&resp, "fathom_session").expect("session cookie");
    assert_eq!(id.len(), 64);
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict") && line.contains("Path=/"),
        "{line}"
    );
    assert!(
        !line.contains("Secure"),
        "plain HTTP without secure_cookies: {line}"
    );
    let session = format!("fathom_session={id}");
    let page = get(&c, &url, "/?week=2026-W47", &session).await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    assert!(page.contains("已登录：admin1") && !page.contains("id=access-open"));
    assert_eq!(
        get(&c, &url, "/api/v1/fleet", &session).await.status(),
        StatusCode::OK
    );
    let csv = get(
        &c,
        &url,
        "/dashboard/export/indicators.csv?week=2026-W47",
        &session,
    )
    .await;
    assert_eq!(csv.status(), StatusCode::OK);

    // Logout is a form too: without the session's token it is refused.
    let logout = hidden(&page, "csrf");
    let refused = c
        .post(format!("{url}/logout"))
        .header(COOKIE, &session)
        .header(ORIGIN, &url)
        .form(&[("csrf", "wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(get(&c, &url, "/", &session).await.status(), StatusCode::OK);
    let out = c
        .post(format!("{url}/logout"))
        .header(COOKIE, &session)
        .header(ORIGIN, &url)
        .form(&[("csrf", logout.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        get(&c, &url, "/", &session).await.status(),
        StatusCode::SEE_OTHER
    );

    // Who saw and changed what, from where.
    let log = audit(&collector);
    for needle in [
        "\tcli\tuser add\tadmin1 (admin)\tcli\tok",
        "\tadmin1\tlogin\t/login\t127.0.0.1\tok",
        "\tadmin1\tview\t/?week=2026-W47\t127.0.0.1\t200",
        "\tadmin1\texport\t/dashboard/export/indicators.csv?week=2026-W47\t127.0.0.1\t200",
        "\tadmin1\tapi\t/api/v1/fleet\t127.0.0.1\t200",
        "\tadmin1\tlogin\t/login\t127.0.0.1\tcsrf refused",
        "\tadmin1\tlogout\t/logout\t127.0.0.1\tok",
    ] {
        assert!(log.contains(needle), "{needle:?} missing from\n{log}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_account_of_another_county_reads_nothing_and_a_technician_only_the_fleet() {
    const TOKEN: &str = "fleet-read-token-0123456789";
    let mut collector = Collector::new();
    with_results(&collector);
    collector.append_config(&format!("[server]\nread_token = \"{TOKEN}\"\n"));
    add(&collector, "bureau", "county", &[]);
    add(
        &collector,
        "other-bureau",
        "county",
        &["--county", "另一个县"],
    );
    add(&collector, "tech", "technician", &[]);
    collector.start();
    let (url, c) = (collector.url.clone(), client());
    let week = format!("?week={WEEK}");
    let pages = [
        format!("/{week}"),
        format!("/site/county-hospital{week}"),
        format!("/map{week}"),
        "/fleet".to_owned(),
        "/probe/hosp-01".to_owned(),
        format!("/dashboard/chart/i26_trend.svg{week}"),
    ];
    let exports = [
        format!("/dashboard/export/indicators.csv{week}"),
        format!("/dashboard/export/report.pdf{week}"),
        format!("/indicators.csv{week}"),
    ];

    // The county's own bureau reads everything of its county.
    let bureau = login(&c, &url, "bureau").await;
    for path in pages.iter().chain(&exports[..2]) {
        assert_eq!(
            get(&c, &url, path, &bureau).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    assert_eq!(
        get(&c, &url, "/api/v1/fleet", &bureau).await.status(),
        StatusCode::OK
    );

    // A bureau of another county: 403 on every page, export and API.
    let other = login(&c, &url, "other-bureau").await;
    for path in pages.iter().chain(&exports[..2]) {
        let resp = get(&c, &url, path, &other).await;
        assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{path}");
        let page = resp.text().await.unwrap();
        assert!(
            page.contains("无权查看") && page.contains("other-bureau"),
            "{path}"
        );
        assert!(
            !page.contains("county-hospital") && !page.contains("县人民医院"),
            "{path}"
        );
    }
    // A report file asked at the root is sent on to its export, and refused there.
    let moved = get(&c, &url, &exports[2], &other).await;
    assert_eq!(moved.status(), StatusCode::FORBIDDEN);
    let api = get(&c, &url, "/api/v1/fleet", &other).await;
    assert_eq!(api.status(), StatusCode::FORBIDDEN);
    assert!(
        api.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );

    // A technician: the fleet and probe pages and the fleet API, nothing of the indicators.
    let tech = post_login(&c, &url, "tech", PASSWORD).await;
    assert_eq!(
        tech.headers()[LOCATION],
        "/fleet",
        "a technician starts at the fleet"
    );
    let (id, _) = set_cookie(&tech, "fathom_session").unwrap();
    let tech = format!("fathom_session={id}");
    for path in ["/fleet", "/probe/hosp-01", "/api/v1/fleet"] {
        assert_eq!(
            get(&c, &url, path, &tech).await.status(),
            StatusCode::OK,
            "{path}"
        );
    }
    for path in [&pages[0], &pages[1], &exports[0]] {
        assert_eq!(
            get(&c, &url, path, &tech).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }

    // Machines keep the read token for the fleet, without an account.
    let machine = c
        .get(format!("{url}/api/v1/fleet"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(machine.status(), StatusCode::OK);
    let log = audit(&collector);
    assert!(
        log.contains(&format!("\tother-bureau\tview\t/{week}\t127.0.0.1\tdenied")),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_password_or_removing_the_account_ends_its_sessions() {
    let mut collector = Collector::new();
    add(&collector, "admin1", "admin", &[]);
    collector.start();
    let url = collector.url.clone();
    let c = client();
    // A new password, or removing the account, ends its sessions at once.
    let session = login(&c, &url, "admin1").await;
    let (code, _, err) = user(
        &collector,
        &["passwd", "admin1", "--password-stdin"],
        "another horse 43\n",
    );
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(
        get(&c, &url, "/", &session).await.status(),
        StatusCode::SEE_OTHER
    );
    let resp = post_login(&c, &url, "admin1", "another horse 43").await;
    let (id, _) = set_cookie(&resp, "fathom_session").expect("the new password logs in");
    let session = format!("fathom_session={id}");
    add(&collector, "admin2", "admin", &[]);
    let (code, out, err) = user(&collector, &["remove", "admin1"], "");
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(out.trim(), "removed admin1");
    assert_eq!(
        get(&c, &url, "/", &session).await.status(),
        StatusCode::SEE_OTHER
    );

    let log = audit(&collector);
    assert!(log.contains("\tcli\tuser passwd\tadmin1\tcli\tok"), "{log}");
    assert!(log.contains("\tcli\tuser remove\tadmin1\tcli\tok"), "{log}");
}

/// The `<table id=NAME …>…</table>` of a page.
fn table<'p>(page: &'p str, id: &str) -> &'p str {
    let start = page
        .find(&format!("<table id={id}"))
        .unwrap_or_else(|| panic!("no table {id}"));
    let end = page[start..].find("</table>").expect("closed table");
    &page[start..start + end]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_sees_its_own_carrier_per_site_and_no_other_carriers_rows() {
    let mut collector = Collector::new();
    with_results(&collector);
    add(&collector, "bureau", "county", &[]);
    add(&collector, "cmcc-ops", "operator", &["--carrier", "移动"]);
    collector.start();
    let (url, c) = (collector.url.clone(), client());
    let site = format!("/site/county-hospital?week={WEEK}");

    // The bureau sees both carriers at the hospital.
    let bureau = login(&c, &url, "bureau").await;
    let page = get(&c, &url, &site, &bureau).await.text().await.unwrap();
    let rows = table(&page, "site-carriers");
    assert!(
        rows.contains("中国移动") && rows.contains("中国联通"),
        "{rows}"
    );

    // The operator is sent to its own carrier's view, which holds no row of another carrier.
    let op = login(&c, &url, "cmcc-ops").await;
    let resp = get(&c, &url, &site, &op).await;
    assert_eq!(resp.status(), StatusCode::TEMPORARY_REDIRECT);
    let to = resp.headers()[LOCATION].to_str().unwrap().to_owned();
    assert_eq!(
        to,
        format!("/site/county-hospital?week={WEEK}&carrier=cmcc")
    );
    let page = get(&c, &url, &to, &op).await.text().await.unwrap();
    let rows = table(&page, "site-carriers");
    assert!(
        rows.contains("中国移动") && !rows.contains("中国联通"),
        "{rows}"
    );
    assert!(page.contains("已登录：cmcc-ops（运营商）"));
    let index = get(&c, &url, &format!("/?week={WEEK}"), &op).await;
    assert_eq!(
        index.headers()[LOCATION],
        format!("/?week={WEEK}&carrier=cmcc")
    );

    // Another carrier's view, the per-site exports and the fleet are refused.
    for path in [
        format!("/site/county-hospital?week={WEEK}&carrier=cu"),
        format!("/?week={WEEK}&carrier=cu"),
        format!("/dashboard/export/i26_sites.csv?week={WEEK}"),
        format!("/dashboard/export/indicators.json?week={WEEK}"),
        format!("/dashboard/export/report.pdf?week={WEEK}&carrier=cmcc"),
        "/fleet".to_owned(),
    ] {
        assert_eq!(
            get(&c, &url, &path, &op).await.status(),
            StatusCode::FORBIDDEN,
            "{path}"
        );
    }
    // Other carriers as the report publishes them: county-level figures per carrier.
    let by_carrier = get(
        &c,
        &url,
        &format!("/dashboard/export/by_carrier.csv?week={WEEK}"),
        &op,
    )
    .await;
    assert_eq!(by_carrier.status(), StatusCode::OK);
    let csv = by_carrier.text().await.unwrap();
    assert!(csv.contains("cu") || csv.contains("联通"), "{csv}");
    assert!(!csv.contains("county-hospital"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_wrong_passwords_hold_back_even_the_right_one() {
    let mut collector = Collector::new();
    add(&collector, "admin1", "admin", &[]);
    collector.start();
    let (url, c) = (collector.url.clone(), client());
    for i in 0..5 {
        let resp = post_login(&c, &url, "admin1", "wrong password").await;
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "try {i}");
        assert!(resp.text().await.unwrap().contains("用户名或密码不正确"));
    }
    let resp = post_login(&c, &url, "admin1", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(resp.headers().contains_key("retry-after"));
    assert!(set_cookie(&resp, "fathom_session").is_none());
    assert!(resp.text().await.unwrap().contains("登录尝试次数过多"));
    // An unknown name is counted like a known one, and tells nothing more.
    let resp = post_login(&c, &url, "nobody", PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let log = audit(&collector);
    assert_eq!(
        log.matches("\tadmin1\tlogin\t/login\t127.0.0.1\tbad password")
            .count(),
        5,
        "{log}"
    );
    assert!(
        log.contains("\tadmin1\tlogin\t/login\t127.0.0.1\trate limited"),
        "{log}"
    );
    assert!(
        log.contains("\tnobody\tlogin\t/login\t127.0.0.1\tbad password"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_proxy_user_header_counts_only_when_switched_on_and_from_a_trusted_proxy() {
    let mut collector = Collector::new();
    add(&collector, "admin1", "admin", &[]);
    let c = client();
    let as_proxy = |url: &str, user: &str| {
        c.get(format!("{url}/fleet"))
            .header("X-Remote-User", user)
            .send()
    };
    // Off by default: the header is a client's word like any other.
    collector.start();
    let resp = as_proxy(&collector.url, "admin1").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // On, but the loopback is not the trusted proxy: still ignored.
    collector.kill9();
    collector.append_config(
        "[access]\ntrusted_user_header = \"X-Remote-User\"\ntrusted_proxies = [\"198.18.0.0/15\"]\n",
    );
    collector.start();
    let resp = as_proxy(&collector.url, "admin1").await.unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);

    // From the trusted proxy: the named account, with its role; a name without one is refused.
    collector.kill9();
    let config = std::fs::read_to_string(collector.config()).unwrap();
    std::fs::write(
        collector.config(),
        config.replace("198.18.0.0/15", "127.0.0.1/32"),
    )
    .unwrap();
    collector.start();
    let resp = as_proxy(&collector.url, "admin1").await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(resp.text().await.unwrap().contains("已登录：admin1"));
    let resp = as_proxy(&collector.url, "mallory").await.unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert!(audit(&collector).contains("\tadmin1\tview\t/fleet\t127.0.0.1\t200"));
}
