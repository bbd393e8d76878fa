//! What the upload direction shares between transports: the payload the agent sends and the
//! server's confirmations, which are what the engine counts.
//!
//! Why confirmations: bytes handed to a socket are not bytes delivered. A TCP socket takes up to
//! its send buffer (megabytes with Linux's autotuning) at once, and a QUIC stream up to its send
//! window, so counting writes would show the first second's rate several times too high and
//! count bytes still queued at the end. The server instead answers each upload with its running
//! total of bytes received (`Confirmations`); the engine's estimator sees those, so every rate
//! is what reached the server, as a download's is what reached the probe. Pure: no I/O here.

use bytes::Bytes;
use rand::RngCore as _;
use std::sync::OnceLock;

/// Size of each piece handed to the transport.
pub(crate) const PIECE: usize = 64 * 1024;
/// The random pool pieces are cut from.
const POOL: usize = 1024 * 1024;

/// The payload's bytes: random, so no compressing proxy on the path shrinks them, and made once:
/// the pool is cut into pieces that share its buffer, so a fast upload costs no generator time.
fn pool() -> &'static Bytes {
    static POOL_BYTES: OnceLock<Bytes> = OnceLock::new();
    POOL_BYTES.get_or_init(|| {
        let mut buf = vec![0u8; POOL];
        rand::rng().fill_bytes(&mut buf);
        Bytes::from(buf)
    })
}

/// The pieces of an upload of `total` bytes, in order.
pub(crate) fn pieces(total: u64) -> impl Iterator<Item = Bytes> + Send + 'static {
    let pool = pool().clone();
    let mut left = total;
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        let n = usize::try_from(left)
            .unwrap_or(PIECE)
            .min(PIECE)
            .min(POOL - at);
        let piece = pool.slice(at..at + n);
        at = (at + n) % POOL;
        left -= n as u64;
        Some(piece)
    })
}

/// Reads the server's confirmations: a stream of big-endian `u64` running totals of the bytes
/// it received, cut anywhere by the transport.
#[derive(Debug, Default)]
pub(crate) struct Confirmations {
    partial: Vec<u8>,
    total: u64,
}

/// A confirmation that makes no sense: the total went down, or past what was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the server confirmed {confirmed} bytes after {before} of an upload of {sent}")]
pub struct BadConfirmation {
    /// The total confirmed before.
    pub before: u64,
    /// The total now confirmed.
    pub confirmed: u64,
    /// What the upload sends in all.
    pub sent: u64,
}

impl Confirmations {
    /// Takes `data` from the server; returns the bytes newly confirmed (of an upload of `sent`).
    pub(crate) fn push(&mut self, data: &[u8], sent: u64) -> Result<u64, BadConfirmation> {
        let before = self.total;
        self.partial.extend_from_slice(data);
        let whole = self.partial.len() / 8 * 8;
        for word in self.partial[..whole].chunks_exact(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(word);
            let confirmed = u64::from_be_bytes(b);
            if confirmed < self.total || confirmed > sent {
                return Err(BadConfirmation {
                    before: self.total,
                    confirmed,
                    sent,
                });
            }
            self.total = confirmed;
        }
        self.partial.drain(..whole);
        Ok(self.total - before)
    }

    /// Everything confirmed so far.
    pub(crate) fn total(&self) -> u64 {
        self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_add_up_to_the_upload_and_wrap_around_the_pool() {
        let total = 3 * POOL as u64 + 12_345;
        let sizes: Vec<usize> = pieces(total).map(|p| p.len()).collect();
        assert_eq!(sizes.iter().sum::<usize>() as u64, total);
        assert!(sizes.iter().all(|&n| n > 0 && n <= PIECE));
        assert_eq!(pieces(0).count(), 0);
        // Not zeros: a compressing proxy would shrink those.
        let first = pieces(64).next().unwrap();
        assert!(first.iter().any(|&b| b != 0));
    }

    #[test]
    fn confirmations_cut_anywhere_give_the_new_bytes() {
        let mut wire = Vec::new();
        for total in [1000u64, 70_000, 70_000, 100_000] {
            wire.extend_from_slice(&total.to_be_bytes());
        }
        let mut c = Confirmations::default();
        let mut got = Vec::new();
        // Cut into pieces of 5 bytes: confirmations straddle them.
        for piece in wire.chunks(5) {
            got.push(c.push(piece, 100_000).unwrap());
        }
        assert_eq!(got.iter().sum::<u64>(), 100_000);
        assert_eq!(c.total(), 100_000);
        assert_eq!(got[0], 0, "nothing whole in the first 5 bytes");
    }

    #[test]
    fn a_total_that_falls_or_exceeds_what_was_sent_is_refused() {
        let mut c = Confirmations::default();
        c.push(&500u64.to_be_bytes(), 1000).unwrap();
        let err = c.push(&400u64.to_be_bytes(), 1000).unwrap_err();
        assert_eq!(err.confirmed, 400);
        let mut c = Confirmations::default();
        assert!(c.push(&1001u64.to_be_bytes(), 1000).is_err());
    }
}
