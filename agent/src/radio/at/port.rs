//! The serial side of the AT backend: opens a modem's AT port, sends one command at a time and
//! reads until the answer's final result code, within a deadline.
//!
//! The port is opened for each sample and closed after it, so a modem that was unplugged and
//! plugged back (a new `/dev/ttyUSBn`, the same `/dev/serial/by-id/…` link) is found again
//! without restarting the daemon. While open, `serialport` holds it exclusively (`TIOCEXCL` and an
//! exclusive `flock`), so two programs never interleave their commands.

use super::parse;
use serialport::{ClearBuffer, SerialPort};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The most an answer may hold before it is taken for garbage: the longest real answers
/// (`AT+QENG="servingcell"` in EN-DC) are a few hundred bytes.
const MAX_ANSWER: usize = 16 * 1024;
/// How long one `read` waits before the deadline is checked again.
const READ_SLICE: Duration = Duration::from_millis(100);

/// Why a command got no answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PortError {
    /// The device does not exist: the modem is unplugged, or the path is wrong.
    #[error("modem not found: {path} does not exist (unplugged?)")]
    NotFound {
        /// The port's path.
        path: PathBuf,
    },
    /// Another program holds the port.
    #[error("port busy: another program holds {path} (ModemManager, minicom, a second agent?)")]
    Busy {
        /// The port's path.
        path: PathBuf,
    },
    /// The port could not be opened for another reason (permissions, not a tty, …).
    #[error("cannot open {path}: {message}")]
    Open {
        /// The port's path.
        path: PathBuf,
        /// What the system said.
        message: String,
    },
    /// No final result code within the deadline.
    #[error("no answer to {command} within {} s{}", .after.as_secs_f64(), last_line_note(.last_line))]
    Timeout {
        /// The command sent.
        command: String,
        /// How long it waited.
        after: Duration,
        /// The last line received, if any.
        last_line: String,
    },
    /// The answer grew past any real answer's size without a final result code.
    #[error(
        "answer to {command} exceeds {MAX_ANSWER} bytes without OK or ERROR (garbage on the line?)"
    )]
    TooLong {
        /// The command sent.
        command: String,
    },
    /// The port failed while in use: the modem was unplugged mid-command.
    #[error("modem went away during {command}: {message}")]
    Gone {
        /// The command sent.
        command: String,
        /// What the system said.
        message: String,
    },
}

fn last_line_note(last: &str) -> String {
    if last.is_empty() {
        String::new()
    } else {
        format!(" (last line: {last:?})")
    }
}

/// What the reading logic needs of a modem: one command in, its whole answer out.
pub trait AtLink {
    /// Sends `command` (without the trailing carriage return) and returns everything received up
    /// to and including the final result code, as text (invalid UTF-8 replaced).
    fn command(&mut self, command: &str) -> Result<String, PortError>;
}

/// An open AT port.
pub struct AtPort {
    port: Box<dyn SerialPort>,
    timeout: Duration,
}

impl std::fmt::Debug for AtPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AtPort")
            .field("port", &self.port.name())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl AtPort {
    /// Opens `path` (115200 8N1; USB modems ignore the rate) with `timeout` per command.
    pub fn open(path: &Path, timeout: Duration) -> Result<Self, PortError> {
        let port = serialport::new(path.to_string_lossy(), 115_200)
            .timeout(READ_SLICE)
            .open()
            .map_err(|e| open_error(path, e))?;
        Ok(Self { port, timeout })
    }
}

/// What an open failure means for the technician. `serialport` reports a port held by another
/// program (`TIOCEXCL` gives `EBUSY`, or its `flock` would block) as `NoDevice`; a pty or USB
/// device whose other end is gone answers `ENXIO` or `EIO`.
fn open_error(path: &Path, e: serialport::Error) -> PortError {
    let path = path.to_owned();
    match e.kind {
        serialport::ErrorKind::NoDevice => PortError::Busy { path },
        serialport::ErrorKind::Io(std::io::ErrorKind::NotFound) => PortError::NotFound { path },
        _ if e.description.starts_with("ENXIO") || e.description.starts_with("EIO") => {
            PortError::NotFound { path }
        }
        _ => PortError::Open {
            path,
            message: e.description,
        },
    }
}

impl AtLink for AtPort {
    fn command(&mut self, command: &str) -> Result<String, PortError> {
        let gone = |e: &dyn std::fmt::Display| PortError::Gone {
            command: command.to_owned(),
            message: e.to_string(),
        };
        // Unsolicited lines that arrived since the last command belong to no answer.
        self.port.clear(ClearBuffer::Input).map_err(|e| gone(&e))?;
        self.port
            .write_all(format!("{command}\r").as_bytes())
            .map_err(|e| gone(&e))?;
        self.port.flush().map_err(|e| gone(&e))?;
        let started = Instant::now();
        let mut received = Vec::new();
        let mut buf = [0u8; 512];
        loop {
            match self.port.read(&mut buf) {
                Ok(0) => return Err(gone(&"end of file")),
                Ok(n) => {
                    received.extend_from_slice(&buf[..n]);
                    let text = String::from_utf8_lossy(&received);
                    if parse::answer_complete(&text) {
                        return Ok(text.into_owned());
                    }
                    if received.len() > MAX_ANSWER {
                        return Err(PortError::TooLong {
                            command: command.to_owned(),
                        });
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(gone(&e)),
            }
            if started.elapsed() >= self.timeout {
                let text = String::from_utf8_lossy(&received);
                let last_line = text
                    .lines()
                    .map(str::trim)
                    .rfind(|l| !l.is_empty())
                    .unwrap_or("")
                    .chars()
                    .take(80)
                    .collect();
                return Err(PortError::Timeout {
                    command: command.to_owned(),
                    after: self.timeout,
                    last_line,
                });
            }
        }
    }
}
