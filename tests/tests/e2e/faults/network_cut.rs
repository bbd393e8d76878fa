//! The network cut during uploads, after the collector stored a batch but before its answer
//! reached the probe: the probe sends the batch again, the collector counts it as duplicates, and
//! no result is stored twice or lost.

use fathom_e2e::{Agent, Collector, assert_stored_once, wait_for};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::Duration;

/// A TCP relay on loopback in front of the collector that, for its first `cuts` connections,
/// delivers the request but drops the connection when the answer starts coming back.
fn cutting_relay(upstream: String, cuts: u32) -> (String, Arc<AtomicU32>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("relay binds");
    let url = format!("http://{}", listener.local_addr().expect("relay address"));
    let cut_so_far = Arc::new(AtomicU32::new(0));
    let counter = cut_so_far.clone();
    thread::spawn(move || {
        for client in listener.incoming().map_while(Result::ok) {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let cut = counter.fetch_add(1, Ordering::SeqCst) < cuts;
            relay(client, server, cut);
        }
    });
    (url, cut_so_far)
}

fn relay(client: TcpStream, server: TcpStream, cut: bool) {
    let (Ok(mut c_read), Ok(mut s_write)) = (client.try_clone(), server.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = c_read.read(&mut buf) {
            if n == 0 || s_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        s_write.shutdown(Shutdown::Write).ok();
    });
    let (mut s_read, mut c_write) = (server, client);
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n) = s_read.read(&mut buf) {
            if n == 0 {
                break;
            }
            if cut {
                // The collector has answered, so it has stored the batch: the answer is lost.
                c_write.shutdown(Shutdown::Both).ok();
                s_read.shutdown(Shutdown::Both).ok();
                return;
            }
            if c_write.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        c_write.shutdown(Shutdown::Write).ok();
    });
}

#[test]
fn answers_lost_in_a_network_cut_cause_duplicates_not_double_results() {
    let mut collector = Collector::new();
    collector.start();
    let token = collector.add_probe("plaza-02", "central-plaza");
    let upstream = collector.url.trim_start_matches("http://").to_owned();
    let (relay_url, cut) = cutting_relay(upstream, 4);
    let mut agent = Agent::new(&relay_url, "plaza-02", "central-plaza", &token);

    let mut daemon = agent.start();
    wait_for(
        "four cut connections and a good one",
        Duration::from_secs(60),
        || (cut.load(Ordering::SeqCst) >= 5).then_some(()),
    );
    agent.drain_and_stop(&mut daemon);
    assert_stored_once(&collector, &agent.spooled_ids());
    // The collector saw the re-sent batches and said so.
    let resent = collector
        .proc()
        .log()
        .lines()
        .filter(|l| l.contains("Upload stored.") && !l.contains("duplicate=0"))
        .count();
    assert!(
        resent >= 1,
        "no upload was answered with duplicates:\n{}",
        collector.proc().log()
    );
}
