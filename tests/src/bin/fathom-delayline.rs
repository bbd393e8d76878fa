//! `fathom-delayline`: the network lab's delay line (`docs/lab.md`). It makes a TUN
//! device and writes every packet read from it back after a fixed delay, so traffic that policy
//! routing sends through the TUN (in both directions) gains a round trip of twice the delay.
//! netem is not compiled into the lab's kernels; this stands in for it.
//!
//! The device is opened with segmentation offload (`IFF_VNET_HDR` and TSO/USO, as a virtio NIC
//! has): the kernel hands over a TCP or UDP burst as one super-packet of up to 64 KiB with a
//! 10-byte virtio header, and takes it back the same way. The packets are passed through
//! untouched, header included, and are cut into wire-size segments later, by the shaped link's
//! qdisc. Without it every 1500-byte segment costs a read, a write and a wake-up, and the line,
//! sharing two cores with the test, would hold the lab's rates to about 200 Mbit/s.
//!
//! With `--trace FILE` it is also a trace-driven link, as Mahimahi's link shell: packets towards
//! the probe side (`--downlink-to`, 198.18.0.0/16 by default) wait in a drop-tail queue of
//! `--queue` bytes and leave only at the trace's delivery opportunities, one 1500-byte packet's
//! worth per trace line (a line is a millisecond; the trace loops with the period of its last
//! line). An opportunity that finds the queue empty is lost, as on the real link. The trace's
//! clock starts at `--trace-start` milliseconds into it when the first downlink packet arrives,
//! so tests started at the same moment see the same link. Offload is off in this mode: the
//! queue holds wire-size packets. `--stats FILE` is rewritten every 100 ms with
//! `delivered_bytes dropped_packets dropped_bytes offered_bytes` (offered: the opportunities
//! since the clock started, in bytes).
//!
//! Run inside the router namespace: `ip netns exec R fathom-delayline --name dl0 --delay 20ms`.
//! Prints `ready` on stdout once the device is up; runs until killed.

use std::collections::VecDeque;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

const USAGE: &str = "usage: fathom-delayline [--name dl0] [--delay 20ms] [--trace FILE \
[--trace-start MS] [--queue BYTES] [--downlink-to 198.18.0.0/16] [--stats FILE]]";

/// Room for the largest super-packet (64 KiB of IP packet) plus its virtio header, with margin.
const PACKET_BUFFER: usize = 128 * 1024;

/// A packet due within this much is written at once rather than slept for: a sleep this short
/// costs more CPU than it is worth (timer slack alone is 50 µs), and 0.2 ms on a 20 ms delay is
/// well inside what the lab's measurements can tell.
const EARLY_WRITE: Duration = Duration::from_micros(200);

/// Bytes one trace line lets leave: one MTU-sized packet.
const OPPORTUNITY_BYTES: usize = 1500;

/// How often the stats file is rewritten.
const STATS_EVERY: Duration = Duration::from_millis(100);

/// The trace-driven link's settings.
struct TraceLink {
    /// Delivery opportunities, ms from the trace's start, ascending.
    opportunities: Vec<u64>,
    /// Where in the trace the clock starts, ms.
    start_ms: u64,
    /// The drop-tail queue's limit, bytes.
    queue_bytes: usize,
    /// Packets to this IPv4 prefix take the trace's link.
    downlink: (Ipv4Addr, u8),
    /// Where counts are written.
    stats: Option<PathBuf>,
}

/// The command line.
struct Args {
    name: String,
    delay: Duration,
    trace: Option<TraceLink>,
}

fn parse_prefix(text: &str) -> Result<(Ipv4Addr, u8), String> {
    let (addr, len) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: give a prefix, like 198.18.0.0/16"))?;
    let addr: Ipv4Addr = addr.parse().map_err(|e| format!("{text:?}: {e}"))?;
    let len: u8 = len.parse().map_err(|e| format!("{text:?}: {e}"))?;
    if len > 32 {
        return Err(format!("{text:?}: a prefix length is at most 32"));
    }
    Ok((addr, len))
}

/// Reads a Mahimahi trace: one millisecond per line, ascending; at least one line, and a last
/// line above zero (the period).
fn read_trace(path: &str) -> Result<Vec<u64>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let ms: u64 = line
            .parse()
            .map_err(|e| format!("{path}:{}: {line:?}: {e}", i + 1))?;
        if out.last().is_some_and(|last| ms < *last) {
            return Err(format!("{path}:{}: the times must not go back", i + 1));
        }
        out.push(ms);
    }
    if out.last().is_none_or(|last| *last == 0) {
        return Err(format!("{path}: no delivery opportunities over a period"));
    }
    Ok(out)
}

fn args() -> Result<Args, String> {
    let mut name = "dl0".to_owned();
    let mut delay = Duration::from_millis(20);
    let mut trace = None;
    let mut start_ms = 0;
    let mut queue_bytes = 250_000;
    let mut downlink = (Ipv4Addr::new(198, 18, 0, 0), 16);
    let mut stats = None;
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let number = |v: &str| v.parse::<u64>().map_err(|e| format!("{flag} {v:?}: {e}"));
        match flag.as_str() {
            "--name" => name = value,
            "--delay" => {
                let ms = value
                    .strip_suffix("ms")
                    .ok_or_else(|| format!("{value:?}: give milliseconds, like 20ms"))?;
                delay = Duration::from_millis(number(ms)?);
            }
            "--trace" => trace = Some(read_trace(&value)?),
            "--trace-start" => start_ms = number(&value)?,
            "--queue" => {
                queue_bytes = usize::try_from(number(&value)?).map_err(|e| e.to_string())?;
                if queue_bytes < OPPORTUNITY_BYTES {
                    return Err(format!("--queue {value}: hold at least one packet"));
                }
            }
            "--downlink-to" => downlink = parse_prefix(&value)?,
            "--stats" => stats = Some(PathBuf::from(value)),
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(Args {
        name,
        delay,
        trace: trace.map(|opportunities| TraceLink {
            opportunities,
            start_ms,
            queue_bytes,
            downlink,
            stats,
        }),
    })
}

/// Whether `packet` (a plain IP packet) is IPv4 to `prefix`.
fn is_to(packet: &[u8], (net, len): (Ipv4Addr, u8)) -> bool {
    if packet.len() < 20 || packet[0] >> 4 != 4 {
        return false;
    }
    let dst = u32::from_be_bytes([packet[16], packet[17], packet[18], packet[19]]);
    let mask = if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len))
    };
    dst & mask == u32::from(net) & mask
}

/// The drop-tail queue in front of the trace's link, and its counts.
#[derive(Default)]
struct Queue {
    packets: VecDeque<Vec<u8>>,
    bytes: usize,
    dropped_packets: u64,
    dropped_bytes: u64,
    /// When the first packet arrived: the trace's clock starts then.
    started: Option<Instant>,
}

/// Drains `queue` at the trace's opportunities into `out` (each packet due after `delay`).
fn run_trace_link(
    link: &TraceLink,
    queue: &(Mutex<Queue>, Condvar),
    out: &mpsc::Sender<(Instant, Vec<u8>)>,
    delay: Duration,
) {
    let (lock, arrived) = queue;
    let t0 = {
        let mut q = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        while q.started.is_none() {
            q = arrived
                .wait(q)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
        q.started.unwrap_or_else(Instant::now)
    };
    let period = *link.opportunities.last().unwrap_or(&1);
    let start = link.start_ms % period;
    // Trace-relative times of the opportunities from `start` on, lap after lap.
    let first = link.opportunities.partition_point(|t| *t < start);
    let mut index = first;
    let mut lap: u64 = 0;
    let mut credit = 0usize;
    let mut delivered: u64 = 0;
    let mut offered_bytes: u64 = 0;
    let mut next_stats = Instant::now();
    loop {
        if index == link.opportunities.len() {
            index = 0;
            lap += 1;
        }
        let at_ms = lap * period + link.opportunities[index] - start;
        let due = t0 + Duration::from_millis(at_ms);
        let now = Instant::now();
        if due > now {
            std::thread::sleep(due - now);
        }
        index += 1;
        offered_bytes += OPPORTUNITY_BYTES as u64;
        let mut q = lock
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        credit += OPPORTUNITY_BYTES;
        while let Some(len) = q.packets.front().map(Vec::len) {
            if len > credit {
                break;
            }
            credit -= len;
            q.bytes -= len;
            delivered += len as u64;
            if let Some(p) = q.packets.pop_front()
                && out.send((Instant::now() + delay, p)).is_err()
            {
                return;
            }
        }
        if q.packets.is_empty() {
            // An opportunity nobody used is gone.
            credit = 0;
        }
        let counts = (q.dropped_packets, q.dropped_bytes);
        drop(q);
        if let Some(path) = &link.stats
            && Instant::now() >= next_stats
        {
            next_stats = Instant::now() + STATS_EVERY;
            let tmp = path.with_extension("tmp");
            let record = format!("{delivered} {} {} {offered_bytes}\n", counts.0, counts.1);
            if std::fs::write(&tmp, record).is_ok() {
                let _ignored = std::fs::rename(&tmp, path);
            }
        }
    }
}

fn main() -> std::process::ExitCode {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let name = args.name.clone();
    let offload = args.trace.is_none();
    let dev = match tun_rs::DeviceBuilder::new()
        .name(&name)
        .mtu(1500)
        .offload(offload)
        .build_sync()
    {
        Ok(d) => Arc::new(d),
        Err(e) => {
            eprintln!("error: cannot make TUN device {name}: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let (tx, rx) = mpsc::channel::<(Instant, Vec<u8>)>();
    let writer = dev.clone();
    std::thread::spawn(move || {
        // Every packet waits the same delay from when it is handed over, so deadlines come in
        // order: a FIFO suffices.
        for (due, packet) in rx {
            let now = Instant::now();
            if due > now + EARLY_WRITE {
                std::thread::sleep(due - now);
            }
            // A packet the kernel refuses (e.g. its route went down) is lost, as on a real link.
            let _ignored = writer.send(&packet);
        }
    });
    let queue = Arc::new((Mutex::new(Queue::default()), Condvar::new()));
    let trace = args.trace.map(Arc::new);
    if let Some(link) = &trace {
        let (link, queue, out, delay) = (link.clone(), queue.clone(), tx.clone(), args.delay);
        std::thread::spawn(move || run_trace_link(&link, &queue, &out, delay));
    }
    let mut out = std::io::stdout().lock();
    if writeln!(out, "ready").and_then(|()| out.flush()).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    drop(out);
    let mut buf = vec![0u8; PACKET_BUFFER];
    loop {
        match dev.recv(&mut buf) {
            Ok(n) => {
                let packet = &buf[..n];
                if let Some(link) = trace.as_deref()
                    && is_to(packet, link.downlink)
                {
                    let (lock, arrived) = &*queue;
                    let mut q = lock
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if q.started.is_none() {
                        q.started = Some(Instant::now());
                        arrived.notify_all();
                    }
                    if q.bytes + n > link.queue_bytes {
                        q.dropped_packets += 1;
                        q.dropped_bytes += n as u64;
                    } else {
                        q.bytes += n;
                        q.packets.push_back(packet.to_vec());
                    }
                    continue;
                }
                if tx
                    .send((Instant::now() + args.delay, packet.to_vec()))
                    .is_err()
                {
                    return std::process::ExitCode::FAILURE;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!("error: reading {name}: {e}");
                return std::process::ExitCode::FAILURE;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal IPv4 header to `dst`.
    fn ipv4_to(dst: [u8; 4]) -> Vec<u8> {
        let mut p = vec![0u8; 20];
        p[0] = 0x45;
        p[16..20].copy_from_slice(&dst);
        p
    }

    #[test]
    fn only_ipv4_packets_to_the_downlink_prefix_take_the_trace() {
        let probe_side = parse_prefix("198.18.0.0/16").expect("a prefix");
        assert!(is_to(&ipv4_to([198, 18, 7, 2]), probe_side));
        assert!(!is_to(&ipv4_to([198, 19, 7, 1]), probe_side));
        let mut v6 = ipv4_to([198, 18, 7, 2]);
        v6[0] = 0x60;
        assert!(!is_to(&v6, probe_side));
        assert!(!is_to(&[0x45, 0, 0], probe_side));
        assert!(is_to(
            &ipv4_to([1, 2, 3, 4]),
            parse_prefix("0.0.0.0/0").expect("all")
        ));
        assert!(parse_prefix("198.18.0.0/33").is_err());
        assert!(parse_prefix("198.18.0.0").is_err());
    }

    #[test]
    fn a_trace_is_ascending_milliseconds_over_a_period() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).expect("written");
            path.display().to_string()
        };
        assert_eq!(
            read_trace(&file("ok", "1\n1\n5\n\n9\n")),
            Ok(vec![1, 1, 5, 9])
        );
        assert!(read_trace(&file("back", "5\n3\n")).is_err());
        assert!(read_trace(&file("zero", "0\n0\n")).is_err());
        assert!(read_trace(&file("text", "1\nx\n")).is_err());
        assert!(read_trace(&file("empty", "")).is_err());
    }
}
