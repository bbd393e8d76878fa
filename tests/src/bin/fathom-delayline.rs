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
//! sharing two cores with the test, kept the lab's rates at 200 Mbit/s and below.
//!
//! Run inside the router namespace: `ip netns exec R fathom-delayline --name dl0 --delay 20ms`.
//! Prints `ready` on stdout once the device is up; runs until killed.

use std::io::Write as _;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const USAGE: &str = "usage: fathom-delayline [--name dl0] [--delay 20ms]";

/// Room for the largest super-packet (64 KiB of IP packet) plus its virtio header, with margin.
const PACKET_BUFFER: usize = 128 * 1024;

/// A packet due within this much is written at once rather than slept for: a sleep this short
/// costs more CPU than it is worth (timer slack alone is 50 µs), and 0.2 ms on a 20 ms delay is
/// well inside what the lab's measurements can tell.
const EARLY_WRITE: Duration = Duration::from_micros(200);

/// The command line: the TUN device's name and the one-way delay.
fn args() -> Result<(String, Duration), String> {
    let mut name = "dl0".to_owned();
    let mut delay = Duration::from_millis(20);
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--name" => name = value,
            "--delay" => {
                let ms = value
                    .strip_suffix("ms")
                    .ok_or_else(|| format!("{value:?}: give milliseconds, like 20ms"))?;
                delay = Duration::from_millis(ms.parse().map_err(|e| format!("{value:?}: {e}"))?);
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok((name, delay))
}

fn main() -> std::process::ExitCode {
    let (name, delay) = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}\n{USAGE}");
            return std::process::ExitCode::from(2);
        }
    };
    let dev = match tun_rs::DeviceBuilder::new()
        .name(&name)
        .mtu(1500)
        .offload(true)
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
        // The delay is the same for every packet, so deadlines come in order: a FIFO suffices.
        for (due, packet) in rx {
            let now = Instant::now();
            if due > now + EARLY_WRITE {
                std::thread::sleep(due - now);
            }
            // A packet the kernel refuses (e.g. its route went down) is lost, as on a real link.
            let _ignored = writer.send(&packet);
        }
    });
    let mut out = std::io::stdout().lock();
    if writeln!(out, "ready").and_then(|()| out.flush()).is_err() {
        return std::process::ExitCode::FAILURE;
    }
    drop(out);
    let mut buf = vec![0u8; PACKET_BUFFER];
    loop {
        match dev.recv(&mut buf) {
            Ok(n) => {
                if tx
                    .send((Instant::now() + delay, buf[..n].to_vec()))
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
