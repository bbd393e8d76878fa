//! A fake AT modem on a pseudo-terminal, for end-to-end tests of `fathom-agent`'s `at:` backend.
//!
//! It stands at the true edge of the machine: the agent opens the pty's slave side through a
//! symlink (as it would open `/dev/serial/by-id/usb-Quectel_…-if02-port0`) and talks to it exactly
//! as to a USB modem. Answers come from fixture files of real module answers; the fake adds what
//! real modules do around them: echo (on by default, `ATE0`/`ATE1` switch it), `OK` and `ERROR`,
//! unsolicited lines interleaved, line noise, a missing SIM, going silent, holding the port locked.
//!
//! Killing the process unplugs the modem (the pty vanishes, the link dangles); starting another
//! with the same `--link` plugs it back.

use clap::Parser;
use nix::fcntl::{Flock, FlockArg};
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::path::PathBuf;

/// A fake AT modem on a pseudo-terminal.
#[derive(Debug, Parser)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "one switch per modem behaviour"
)]
struct Args {
    /// Symlink to create to the pty's slave side (replaced if it exists).
    #[arg(long)]
    link: PathBuf,
    /// `AT+CGMI` answer.
    #[arg(long, default_value = "Quectel")]
    manufacturer: String,
    /// `AT+CGMM` answer.
    #[arg(long, default_value = "RM520N-GL")]
    model: String,
    /// `COMMAND=FILE`: answer COMMAND with FILE, a fixture of a real answer (lines starting with
    /// `#` and the echoed command are dropped; the echo is the fake's own business).
    #[arg(long, value_parser = parse_answer)]
    answer: Vec<(String, String)>,
    /// Start with echo off (real modules start with it on).
    #[arg(long)]
    no_echo: bool,
    /// Send an unsolicited result code before every answer.
    #[arg(long)]
    urc: bool,
    /// Send a line of binary noise before every answer.
    #[arg(long)]
    noise: bool,
    /// No SIM card: `AT+CPIN?` answers `+CME ERROR: 10`.
    #[arg(long)]
    no_sim: bool,
    /// Stop answering after this many commands (the modem hangs).
    #[arg(long)]
    mute_after: Option<u64>,
    /// Hold an exclusive flock on the port, as another program using it would.
    #[arg(long)]
    hold_lock: bool,
}

fn parse_answer(s: &str) -> Result<(String, String), String> {
    // The command itself may contain '=' (AT+QENG="servingcell"): split at the last one.
    let (cmd, file) = s.rsplit_once('=').ok_or("expected COMMAND=FILE")?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{file}: {e}"))?;
    let body: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && l.trim() != cmd)
        .collect();
    Ok((cmd.to_owned(), body.join("\r\n") + "\r\n"))
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match serve(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fathom-fakemodem: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn serve(args: &Args) -> Result<(), String> {
    let pty = openpty(None, None).map_err(|e| format!("openpty: {e}"))?;
    let mut termios = tcgetattr(&pty.slave).map_err(|e| format!("tcgetattr: {e}"))?;
    cfmakeraw(&mut termios);
    tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(|e| format!("tcsetattr: {e}"))?;
    let slave_path =
        nix::unistd::ttyname(pty.slave.as_fd()).map_err(|e| format!("ttyname: {e}"))?;
    // Keep the slave open: with no slave open, reads on the master fail with EIO between the
    // agent's samples.
    let _slave: SlaveHold = if args.hold_lock {
        SlaveHold::Locked(
            Flock::lock(pty.slave, FlockArg::LockExclusiveNonblock)
                .map_err(|(_, e)| format!("flock: {e}"))?,
        )
    } else {
        SlaveHold::Open(pty.slave)
    };
    let tmp = args.link.with_extension("new");
    // A leftover from an earlier run; absent is the usual case.
    std::fs::remove_file(&tmp).ok();
    std::os::unix::fs::symlink(&slave_path, &tmp).map_err(|e| format!("symlink: {e}"))?;
    std::fs::rename(&tmp, &args.link).map_err(|e| format!("rename link: {e}"))?;
    println!("ready {}", slave_path.display());
    std::io::stdout().flush().map_err(|e| e.to_string())?;

    let answers: HashMap<&str, &str> = args
        .answer
        .iter()
        .map(|(c, a)| (c.as_str(), a.as_str()))
        .collect();
    let mut master = File::from(pty.master);
    let mut echo = !args.no_echo;
    let mut served = 0u64;
    let mut line = Vec::new();
    let mut buf = [0u8; 256];
    loop {
        let n = match master.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(format!("read: {e}")),
        };
        for &b in &buf[..n] {
            if b != b'\r' && b != b'\n' {
                line.push(b);
                continue;
            }
            if line.is_empty() {
                continue;
            }
            let command = String::from_utf8_lossy(&line).trim().to_owned();
            line.clear();
            served += 1;
            eprintln!("fakemodem got {command:?}");
            if args.mute_after.is_some_and(|m| served > m) {
                continue;
            }
            let mut out = String::new();
            if echo {
                out.push_str(&command);
                out.push_str("\r\r\n");
            }
            let reply = match command.to_ascii_uppercase().as_str() {
                "ATE0" => {
                    echo = false;
                    "OK\r\n".to_owned()
                }
                "ATE1" => {
                    echo = true;
                    "OK\r\n".to_owned()
                }
                _ if answers.contains_key(command.as_str()) => answers[command.as_str()].to_owned(),
                "AT" | "AT+COPS=3,2" => "OK\r\n".to_owned(),
                "ATI" => format!(
                    "{}\r\n{}\r\nRevision: FAKE01\r\n\r\nOK\r\n",
                    args.manufacturer, args.model
                ),
                "AT+CGMI" => format!("{}\r\n\r\nOK\r\n", args.manufacturer),
                "AT+CGMM" => format!("{}\r\n\r\nOK\r\n", args.model),
                "AT+CPIN?" if args.no_sim => "+CME ERROR: 10\r\n".to_owned(),
                "AT+CPIN?" => "+CPIN: READY\r\n\r\nOK\r\n".to_owned(),
                _ => "ERROR\r\n".to_owned(),
            };
            if args.urc {
                out.push_str("\r\n+QIURC: \"pdpdeact\",1\r\n");
            }
            let mut bytes = out.into_bytes();
            if args.noise {
                bytes.extend_from_slice(b"\xff\xfe\x00\x1b[0m~~\r\n");
            }
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(reply.as_bytes());
            master
                .write_all(&bytes)
                .map_err(|e| format!("write: {e}"))?;
        }
    }
}

/// The slave side, kept open for the process's life, locked or not.
enum SlaveHold {
    Open(#[expect(dead_code, reason = "held only to keep the pty's slave open")] OwnedFd),
    Locked(#[expect(dead_code, reason = "held only for its lock")] Flock<OwnedFd>),
}
