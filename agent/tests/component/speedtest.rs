//! `fathom-agent speedtest` as a process against the stand-in's download and ping endpoints.

use crate::collector::FakeCollector;
use crate::commands::agent;

#[tokio::test]
async fn a_40_mbps_limit_measures_40_mbps() {
    let collector = FakeCollector::start().await;
    let out = agent(&[
        "speedtest",
        "--server",
        &collector.url,
        "--limit-mbps",
        "40",
        "--max-duration",
        "3s",
        "--json",
    ])
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mbps = v["download_mbps"].as_f64().unwrap();
    // Loopback alone carries Gbit/s: only the limiter brings this near 40.
    assert!((36.0..=44.0).contains(&mbps), "measured {mbps} Mbit/s");
    // The rate is stable after about 2 s: the test stops before its 3 s cap.
    assert!(v["bytes_downloaded"].as_u64().unwrap() > 8_000_000);
    let ms = v["duration_ms"].as_u64().unwrap();
    assert!((1900..=3200).contains(&ms), "{ms} ms");
    assert_eq!(v["streams"], 1);
    assert_eq!(v["protocol"], "http");
    assert_eq!(v["interface"], serde_json::Value::Null);
    assert_eq!(v["error"], serde_json::Value::Null);
    assert!(v["latency_idle_ms"].as_f64().is_some());
    assert!(
        v["latency_loaded_ms"].as_f64().is_some(),
        "pings ran during the load"
    );
}

#[tokio::test]
async fn the_byte_cap_ends_the_download() {
    let collector = FakeCollector::start().await;
    let out = agent(&[
        "speedtest",
        "--server",
        &collector.url,
        "--max-bytes",
        "3000000",
        "--json",
    ])
    .await;
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["bytes_downloaded"], 3_000_000);
    assert!(v["download_mbps"].as_f64().unwrap() > 0.0);
}

#[tokio::test]
async fn a_refused_test_is_a_result_with_a_reason_and_exit_1() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let server = format!("http://127.0.0.1:{port}");
    let out = agent(&["speedtest", "--server", &server, "--json"]).await;
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["download_mbps"], serde_json::Value::Null);
    let error = v["error"].as_str().unwrap();
    assert!(!error.is_empty() && !error.contains('\n'), "{error}");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[tokio::test]
async fn bad_flag_values_exit_2_with_one_line() {
    for args in [
        &[
            "speedtest",
            "--server",
            "http://127.0.0.1:1",
            "--protocol",
            "quic",
        ][..],
        &[
            "speedtest",
            "--server",
            "http://127.0.0.1:1",
            "--limit-mbps",
            "0",
        ],
        &["speedtest", "--server", "ftp://x"],
        &[
            "speedtest",
            "--server",
            "http://127.0.0.1:1",
            "--max-duration",
            "soon",
        ],
    ] {
        let out = agent(args).await;
        assert_eq!(out.code, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("error"), "{args:?}: {}", out.stderr);
    }
    let quic = agent(&[
        "speedtest",
        "--server",
        "http://127.0.0.1:1",
        "--protocol",
        "quic",
    ])
    .await;
    assert_eq!(
        quic.stderr.trim(),
        "error: --protocol quic needs to know which certificate to trust: give --ca FILE or --cert-sha256 HEX"
    );
}
