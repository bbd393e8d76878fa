//! The uploader against the stand-in collector, with a real spool file: results leave the spool
//! only on a 200, a 503 is retried with backoff, a 422 naming a result quarantines that one.

use crate::collector::FakeCollector;
use fathom_agent::backoff::Backoff;
use fathom_agent::spool::Spool;
use fathom_agent::uploader::{UploadError, Uploader};
use fathom_shared::ResultRecord;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "fth_test_token";

fn record(n: u8) -> ResultRecord {
    let id = fathom_shared::ResultId::from_parts(1_764_000_000_000 + u64::from(n), &[n; 10]);
    ResultRecord::from_json_str(&format!(
        r#"{{"schema":1,"id":"{id}","probe_id":"p1","site_id":"s1","carrier":"cu",
        "interface":null,"measured_at":"2026-11-23T01:15:00Z","clock_synced":true,
        "kind":"radio","plmn":"46001","rat":"lte","rsrp_dbm":-99.0,"rsrq_db":-12.0,
        "sinr_db":4.0,"band":"B3","cell_id":"ABC","meets_5g":false}}"#
    ))
    .unwrap()
}

fn id(n: u8) -> String {
    record(n).header.id.to_string()
}

/// A spool in a fresh folder holding results 0..n.
async fn spool_with(n: u8) -> (tempfile::TempDir, Spool) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(&dir.path().join("spool.db")).await.unwrap();
    for i in 0..n {
        spool.push(&record(i), i64::from(i)).await.unwrap();
    }
    (dir, spool)
}

async fn pending_ids(spool: &Spool) -> Vec<String> {
    spool
        .oldest(100)
        .await
        .unwrap()
        .into_iter()
        .map(|p| p.id)
        .collect()
}

#[tokio::test]
async fn results_leave_the_spool_only_after_a_200() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(3).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 500).unwrap();

    collector.answer(503, &json!({"error": "database unavailable"}));
    let err = uploader.drain().await.unwrap_err();
    assert!(matches!(err, UploadError::Unreachable(_)), "{err}");
    assert_eq!(pending_ids(&spool).await, [id(0), id(1), id(2)]);

    collector.answer(401, &json!({"error": "unknown token"}));
    let err = uploader.drain().await.unwrap_err();
    assert!(matches!(err, UploadError::Unauthorized(_)), "{err}");
    assert_eq!(spool.counts().await.unwrap().pending, 3);

    assert_eq!(uploader.drain().await.unwrap(), 3);
    assert_eq!(spool.counts().await.unwrap().pending, 0);
    let posts = collector.posts();
    assert_eq!(posts.len(), 3);
    for p in &posts {
        assert_eq!(
            p.ids,
            [id(0), id(1), id(2)],
            "oldest first, same ids each time"
        );
        assert_eq!(p.auth.as_deref(), Some("Bearer fth_test_token"));
    }
}

#[tokio::test]
async fn a_200_deletes_only_the_batch_it_answers() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(3).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 2).unwrap();
    collector.answer(200, &json!({"accepted": 2, "duplicate": 0}));
    collector.answer(503, &json!({"error": "database unavailable"}));
    assert!(uploader.drain().await.is_err());
    assert_eq!(pending_ids(&spool).await, [id(2)]);
    let posts = collector.posts();
    assert_eq!(posts[0].ids, [id(0), id(1)]);
    assert_eq!(posts[1].ids, [id(2)]);
}

#[tokio::test]
async fn a_503_keeps_the_results_and_is_retried_with_backoff() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(2).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 500).unwrap();
    collector.answer(503, &json!({"error": "database unavailable"}));
    collector.answer(503, &json!({"error": "database unavailable"}));
    let floor = Duration::from_millis(150);
    let backoff = Backoff::try_new(floor, Duration::from_millis(600)).unwrap();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(uploader.run(backoff, Arc::new(Notify::new()), shutdown.clone()));

    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while spool.counts().await.unwrap().pending > 0 {
        assert!(tokio::time::Instant::now() < deadline, "never uploaded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .unwrap()
        .unwrap();

    let posts = collector.posts();
    assert_eq!(posts.len(), 3, "two refusals, then the accepted retry");
    for pair in posts.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= floor,
            "retried after {gap:?}, before the backoff floor"
        );
        assert_eq!(pair[0].ids, pair[1].ids);
    }
}

#[tokio::test]
async fn a_woken_uploader_sends_new_results_without_waiting() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(0).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 500).unwrap();
    let backoff = Backoff::try_new(Duration::from_secs(1), Duration::from_secs(1)).unwrap();
    let (wake, shutdown) = (Arc::new(Notify::new()), CancellationToken::new());
    let task = tokio::spawn(uploader.run(backoff, wake.clone(), shutdown.clone()));
    tokio::time::sleep(Duration::from_millis(100)).await;
    spool.push(&record(7), 0).await.unwrap();
    wake.notify_one();
    // Well under the 30 s idle check: only the wake-up can explain an upload this soon.
    tokio::time::timeout(Duration::from_secs(5), async {
        while collector.posts().is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .unwrap();
    shutdown.cancel();
    task.await.unwrap();
    assert_eq!(collector.posts()[0].ids, [id(7)]);
    assert_eq!(spool.counts().await.unwrap().pending, 0);
}

#[tokio::test]
async fn a_422_naming_a_result_quarantines_exactly_that_result() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(3).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 500).unwrap();
    let reason = "results[1].rsrp_dbm: -200 is outside -156..=-31";
    collector.answer(422, &json!({"error": reason, "index": 1, "id": id(1)}));

    assert_eq!(uploader.drain().await.unwrap(), 2);
    let quarantined = spool.quarantined().await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].id, id(1));
    assert_eq!(quarantined[0].reason, reason);
    let posts = collector.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(
        posts[1].ids,
        [id(0), id(2)],
        "the rest is sent again at once"
    );
    let counts = spool.counts().await.unwrap();
    assert_eq!((counts.pending, counts.quarantined), (0, 1));
}

#[tokio::test]
async fn a_403_naming_a_result_quarantines_it_too() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(2).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 500).unwrap();
    collector.answer(
        403,
        &json!({"error": "results[0].site_id: not this probe's site", "index": 0}),
    );
    assert_eq!(uploader.drain().await.unwrap(), 1);
    assert_eq!(spool.quarantined().await.unwrap()[0].id, id(0));
}

#[tokio::test]
async fn a_413_halves_the_batch() {
    let collector = FakeCollector::start().await;
    let (_dir, spool) = spool_with(4).await;
    let uploader = Uploader::new(&collector.url, TOKEN, spool.clone(), 500).unwrap();
    collector.answer(413, &json!({"error": "upload too large"}));
    assert_eq!(uploader.drain().await.unwrap(), 4);
    let sizes: Vec<usize> = collector.posts().iter().map(|p| p.ids.len()).collect();
    assert_eq!(sizes, [4, 2, 2]);
    assert_eq!(spool.counts().await.unwrap().quarantined, 0);
}
