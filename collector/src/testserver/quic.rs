//! The QUIC speed-test endpoint, on the same port number as the HTTP one, over UDP.
//!
//! Protocol (ALPN `fathom-speed/1`): the client opens a bidirectional stream, sends the number of
//! bytes it wants as a big-endian `u64`, then the probe's token (UTF-8, at most
//! [`MAX_TOKEN_BYTES`]; nothing for an open server), and finishes its side; the server answers
//! with that many incompressible bytes and finishes. Zero bytes is a ping: the answer is the
//! finish alone. A request above the cap is refused by resetting the stream with [`REFUSED`], one
//! without a valid token (under `serve`) with [`UNAUTHORIZED`], one past the probe's limits with
//! [`OVER_LIMIT`] ([`super::access`]). Every connection and stream is served on its own task, so
//! many probes can test at once.
//!
//! An upload sets the size's top bit ([`UPLOAD`]) and follows it with the token's length
//! (big-endian `u16`), the token and the bytes, without waiting; the server discards them,
//! answers with its running totals of bytes received (big-endian `u64`s, every
//! [`super::CONFIRM_EVERY`] and at the end) and finishes. A refusal resets the answer and stops
//! the upload with the same codes. A server that predates uploads refuses such a size as beyond
//! its cap ([`REFUSED`]).

use super::SpeedAccess;
use super::tls::Identity;
use bytes::Bytes;
use fathom_shared::api::{MAX_DOWNLOAD_BYTES, MAX_SPEED_UPLOAD_BYTES};
use rand::rngs::SmallRng;
use rand::{RngCore as _, SeedableRng as _};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The application protocol name.
pub const ALPN: &[u8] = b"fathom-speed/1";
/// Error code of a refused request.
pub const REFUSED: u32 = 1;
/// Error code of a request without a valid probe token.
pub const UNAUTHORIZED: u32 = 2;
/// Error code of a request past the probe's limits.
pub const OVER_LIMIT: u32 = 3;
/// The size's top bit in an upload's request.
pub const UPLOAD: u64 = 1 << 63;
/// Longest token a request may carry (a probe's is 68 characters).
pub const MAX_TOKEN_BYTES: usize = 256;
/// Size of each generated chunk.
const CHUNK: usize = 64 * 1024;

/// Why the endpoint cannot start.
#[derive(Debug, thiserror::Error)]
pub enum QuicError {
    /// TLS set-up failed.
    #[error("QUIC TLS: {0}")]
    Tls(String),
    /// The UDP port cannot be bound.
    #[error("cannot listen for QUIC on udp {0}: {1}")]
    Bind(SocketAddr, std::io::Error),
}

/// Transport settings for fast links: windows large enough for 1 Gbit/s at 100 ms, and the
/// congestion controller chosen for the load.
pub fn transport() -> quinn::TransportConfig {
    let mut t = quinn::TransportConfig::default();
    t.stream_receive_window(quinn::VarInt::from_u32(16 * 1024 * 1024))
        .receive_window(quinn::VarInt::from_u32(32 * 1024 * 1024))
        .send_window(32 * 1024 * 1024)
        .max_idle_timeout(Some(quinn::VarInt::from_u32(10_000).into()))
        .keep_alive_interval(Some(Duration::from_secs(3)));
    // The sender's congestion controller decides how the load fills the bottleneck. Cubic, as
    // the host's TCP does for the HTTP test, so both protocols load a link alike. Measured in the
    // lab (BENCHMARKS.md, speed section): on the replayed LTE traces Cubic dropped 490-850
    // packets per test at the 250 kB bottleneck where HTTP's TCP dropped 790-6600, and on 5-10
    // Mbit/s links at a 120 ms round trip 37-59 where HTTP dropped 280-690; NewReno dropped
    // 20-40 % fewer but ramped slower (its first second at 100-200 Mbit/s carried half of
    // Cubic's); quinn's BBR, marked experimental, dropped 7900-22000 on the traces.
    t.congestion_controller_factory(Arc::new(quinn::congestion::CubicConfig::default()));
    t
}

/// Binds the QUIC endpoint on `addr` (UDP).
pub fn bind(addr: SocketAddr, id: &Identity) -> Result<quinn::Endpoint, QuicError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| QuicError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(id.chain.clone(), id.key.clone_key())
        .map_err(|e| QuicError::Tls(e.to_string()))?;
    tls.alpn_protocols = vec![ALPN.to_vec()];
    tls.max_early_data_size = 0;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| QuicError::Tls(e.to_string()))?;
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    config.transport_config(Arc::new(transport()));
    quinn::Endpoint::server(config, addr).map_err(|e| QuicError::Bind(addr, e))
}

/// Serves under `access` until `shutdown`.
pub async fn serve(
    endpoint: quinn::Endpoint,
    access: Arc<SpeedAccess>,
    shutdown: CancellationToken,
) {
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let incoming = tokio::select! {
            () = shutdown.cancelled() => break,
            i = endpoint.accept() => i,
        };
        let Some(incoming) = incoming else { break };
        let (stop, access) = (shutdown.clone(), access.clone());
        tasks.spawn(async move {
            match incoming.await {
                Ok(conn) => connection(conn, access, stop).await,
                Err(e) => tracing::debug!(error = %e, "QUIC handshake failed."),
            }
        });
        while tasks.try_join_next().is_some() {}
    }
    endpoint.close(0u32.into(), b"shutting down");
    tasks.abort_all();
}

async fn connection(
    conn: quinn::Connection,
    access: Arc<SpeedAccess>,
    shutdown: CancellationToken,
) {
    loop {
        let stream = tokio::select! {
            () = shutdown.cancelled() => return,
            s = conn.accept_bi() => s,
        };
        let Ok((send, recv)) = stream else { return };
        let access = access.clone();
        tokio::spawn(async move {
            if let Err(e) = answer(send, recv, &access).await {
                tracing::debug!(error = %e, "QUIC speed stream ended early.");
            }
        });
    }
}

/// Reads a request: the requested size when it is within the cap, and the token (empty when
/// none was sent).
fn requested(buf: &[u8]) -> Option<(u64, &str)> {
    let (size, token) = buf.split_first_chunk::<8>()?;
    let n = u64::from_be_bytes(*size);
    let token = std::str::from_utf8(token).ok()?;
    (n <= MAX_DOWNLOAD_BYTES).then_some((n, token))
}

async fn answer(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    access: &SpeedAccess,
) -> Result<(), String> {
    let refuse = |send: &mut quinn::SendStream, code: u32| {
        send.reset(quinn::VarInt::from_u32(code)).ok();
    };
    let mut head = [0u8; 8];
    recv.read_exact(&mut head)
        .await
        .map_err(|e| e.to_string())?;
    if u64::from_be_bytes(head) & UPLOAD != 0 {
        return sink(send, recv, u64::from_be_bytes(head) & !UPLOAD, access).await;
    }
    let mut buf = head.to_vec();
    buf.extend(
        recv.read_to_end(MAX_TOKEN_BYTES)
            .await
            .map_err(|e| e.to_string())?,
    );
    let Some((mut left, token)) = requested(&buf) else {
        refuse(&mut send, REFUSED);
        return Err(format!("refused a request of {} bytes", buf.len()));
    };
    let probe = match access.authorize(Some(token)).await {
        Ok(probe) => probe,
        Err(e) => {
            refuse(&mut send, UNAUTHORIZED);
            return Err(e.to_string());
        }
    };
    // Pings (0 bytes) take no place; a download holds one until its stream is done.
    let _permit = if left > 0 {
        match access.admit(probe.as_deref(), left) {
            Ok(permit) => Some(permit),
            Err(e) => {
                refuse(&mut send, OVER_LIMIT);
                return Err(e.to_string());
            }
        }
    } else {
        None
    };
    let mut rng = SmallRng::from_rng(&mut rand::rng());
    while left > 0 {
        let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
        let mut chunk = vec![0u8; n];
        rng.fill_bytes(&mut chunk);
        send.write_chunk(Bytes::from(chunk))
            .await
            .map_err(|e| e.to_string())?;
        left -= n as u64;
    }
    send.finish().map_err(|e| e.to_string())?;
    // Wait until the client has it all (or gives up), so the stream is not cut short.
    let _ignored = send.stopped().await;
    Ok(())
}

/// An upload of `size` bytes: its token, then the bytes, counted and discarded, with running
/// totals sent back.
async fn sink(
    mut send: quinn::SendStream,
    mut recv: quinn::RecvStream,
    size: u64,
    access: &SpeedAccess,
) -> Result<(), String> {
    let refuse = |send: &mut quinn::SendStream, recv: &mut quinn::RecvStream, code: u32| {
        send.reset(quinn::VarInt::from_u32(code)).ok();
        recv.stop(quinn::VarInt::from_u32(code)).ok();
    };
    let mut len = [0u8; 2];
    recv.read_exact(&mut len).await.map_err(|e| e.to_string())?;
    let len = usize::from(u16::from_be_bytes(len));
    if size == 0 || size > MAX_SPEED_UPLOAD_BYTES || len > MAX_TOKEN_BYTES {
        refuse(&mut send, &mut recv, REFUSED);
        return Err(format!("refused an upload of {size} bytes"));
    }
    let mut token = vec![0u8; len];
    recv.read_exact(&mut token)
        .await
        .map_err(|e| e.to_string())?;
    let probe = match access
        .authorize(Some(std::str::from_utf8(&token).unwrap_or_default()))
        .await
    {
        Ok(probe) => probe,
        Err(e) => {
            refuse(&mut send, &mut recv, UNAUTHORIZED);
            return Err(e.to_string());
        }
    };
    let _permit = match access.admit(probe.as_deref(), size) {
        Ok(permit) => permit,
        Err(e) => {
            refuse(&mut send, &mut recv, OVER_LIMIT);
            return Err(e.to_string());
        }
    };
    let mut count = super::UploadCount::new(size);
    // Unordered: the bytes are only counted, so each packet's data is taken as it arrives.
    while let Some(chunk) = recv
        .read_chunk(usize::MAX, false)
        .await
        .map_err(|e| e.to_string())?
    {
        match count.add(chunk.bytes.len() as u64) {
            Ok(Some(total)) => send
                .write_all(&total.to_be_bytes())
                .await
                .map_err(|e| e.to_string())?,
            Ok(None) => {}
            Err(e) => {
                refuse(&mut send, &mut recv, REFUSED);
                return Err(e.to_string());
            }
        }
    }
    if let Some(total) = count.finish() {
        send.write_all(&total.to_be_bytes())
            .await
            .map_err(|e| e.to_string())?;
    }
    send.finish().map_err(|e| e.to_string())?;
    let _ignored = send.stopped().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_a_big_endian_size_within_the_cap_then_the_token() {
        assert_eq!(requested(&1000u64.to_be_bytes()), Some((1000, "")));
        assert_eq!(requested(&0u64.to_be_bytes()), Some((0, "")));
        assert_eq!(requested(&(MAX_DOWNLOAD_BYTES + 1).to_be_bytes()), None);
        assert_eq!(requested(b"abc"), None);
        let mut with_token = 5u64.to_be_bytes().to_vec();
        with_token.extend_from_slice(b"fth_abc");
        assert_eq!(requested(&with_token), Some((5, "fth_abc")));
        with_token.push(0xff);
        assert_eq!(requested(&with_token), None, "a token that is not UTF-8");
    }
}
