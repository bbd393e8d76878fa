//! Alerts that reach people (`docs/alerts.md`): the real collector tells a local group-chat
//! robot (WeCom's format) once when a problem starts and once when it ends, retries a receiver
//! that fails, and keeps taking uploads while another receiver hangs.

use super::speed_result;
use fathom_e2e::{Collector, PgDatabase};
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What the robot received: each request's body, in order.
type Inbox = Arc<Mutex<Vec<Value>>>;

/// A WeCom-like robot on loopback: it answers the first request 500, then `errcode` 0.
async fn robot() -> (String, Inbox) {
    let inbox: Inbox = Arc::default();
    let seen = inbox.clone();
    let app = axum::Router::new().route(
        "/cgi-bin/webhook/send",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                let n = {
                    let mut inbox = seen.lock().expect("inbox");
                    inbox.push(body);
                    inbox.len()
                };
                if n == 1 {
                    (
                        axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                        axum::Json(json!({})),
                    )
                } else {
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"errcode": 0, "errmsg": "ok"})),
                    )
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!(
        "http://{}/cgi-bin/webhook/send?key=test",
        listener.local_addr().expect("address")
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, inbox)
}

/// A receiver that takes the request and never answers.
async fn hanging() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("address"));
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    url
}

fn contents(inbox: &Inbox) -> Vec<String> {
    inbox
        .lock()
        .expect("inbox")
        .iter()
        .map(|b| {
            b["markdown"]["content"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

/// The robot's messages once `n` of them contain `what`, or at `timeout`.
async fn wait_for(inbox: &Inbox, what: &str, n: usize, timeout: Duration) -> Vec<String> {
    let start = Instant::now();
    loop {
        let got = contents(inbox);
        if got.iter().filter(|c| c.contains(what)).count() >= n || start.elapsed() > timeout {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_robot_hears_when_a_problem_starts_and_ends_and_a_hung_one_blocks_nothing() {
    let (robot_url, inbox) = robot().await;
    let hang_url = hanging().await;
    let mut collector = Collector::new();
    collector.append_config(&format!(
        "[alerts]\ncheck_every = \"10s\"\nquiet_period = \"1m\"\n\n\
         [[alerts.webhook]]\nname = \"bureau\"\nformat = \"wecom\"\nurl = \"{robot_url}\"\nrules = [\"never_seen\", \"silent\"]\n\n\
         [[alerts.webhook]]\nname = \"stuck\"\nformat = \"json\"\nurl = \"{hang_url}\"\n"
    ));
    let token = collector.add_probe("hosp-alert", "county-hospital");
    collector.start();

    // The first check runs at start: the probe never reported. The robot's 500 is retried.
    let got = wait_for(&inbox, "【告警】", 2, Duration::from_secs(15)).await;
    let started: Vec<&String> = got.iter().filter(|c| c.contains("【告警】")).collect();
    assert_eq!(started.len(), 2, "one refused, one retried: {got:?}");
    assert!(
        started[1].starts_with("**【告警】测试县 · 县人民医院 · 探针 hosp-alert**")
            && started[1].contains("从未上报"),
        "{got:?}"
    );

    // The stuck receiver holds a request open; uploads are answered all the same.
    let client = reqwest::Client::new();
    let begun = Instant::now();
    let r = client
        .post(format!("{}/api/v1/results", collector.url))
        .bearer_auth(&token)
        .json(&json!({"results": [speed_result("0192b6e2-7c1a-7d3e-9f00-0000000a1e71", "hosp-alert", "county-hospital")]}))
        .send()
        .await
        .expect("answer");
    assert_eq!(r.status(), 200);
    assert!(
        begun.elapsed() < Duration::from_secs(2),
        "{:?}",
        begun.elapsed()
    );

    // The next check sees the probe report: one message that it is over, and nothing more.
    let got = wait_for(&inbox, "【恢复】", 1, Duration::from_secs(25)).await;
    let ended: Vec<&String> = got.iter().filter(|c| c.contains("【恢复】")).collect();
    assert_eq!(ended.len(), 1, "{got:?}");
    assert!(ended[0].contains("已恢复 resolved：从未上报"), "{got:?}");
    // Give a wrong second message time to come.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got = contents(&inbox);
    assert_eq!(got.len(), 3, "nothing else was sent: {got:?}");
}

/// Three collectors on one PostgreSQL database, all with the same webhook: one sends, and when
/// it dies another takes the lead and announces what is still wrong.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn of_three_collectors_on_one_database_one_sends_and_another_takes_over() {
    let Some(pg) = PgDatabase::new() else { return };
    let (robot_url, inbox) = robot().await;
    let alerts = format!(
        "[alerts]\ncheck_every = \"10s\"\n\n[[alerts.webhook]]\nname = \"bureau\"\nformat = \"wecom\"\nurl = \"{robot_url}\"\n"
    );
    let mut collectors: Vec<Collector> = (0..3).map(|_| Collector::on_database(&pg.url)).collect();
    for c in &collectors {
        c.append_config(&alerts);
    }
    collectors[0].add_probe("hosp-lead", "county-hospital");
    collectors[0].start();
    // The first robot answer is a 500, so the lead's message arrives twice.
    let got = wait_for(&inbox, "【告警】", 2, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 2, "{got:?}");
    collectors[1].start();
    collectors[2].start();
    // A check of each standing collector later: still only the lead's.
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(contents(&inbox).len(), 2, "{:?}", contents(&inbox));
    // The lead dies: PostgreSQL drops its lock with its connection, another takes over at its
    // next check and announces the probe that still never reported, once.
    collectors[0].kill9();
    let got = wait_for(&inbox, "【告警】", 3, Duration::from_secs(25)).await;
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[2].contains("探针 hosp-lead") && got[2].contains("从未上报"),
        "{got:?}"
    );
    tokio::time::sleep(Duration::from_secs(12)).await;
    assert_eq!(
        contents(&inbox).len(),
        3,
        "one new lead, not two: {:?}",
        contents(&inbox)
    );
}
