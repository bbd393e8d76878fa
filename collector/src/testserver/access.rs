//! Who may use the speed-test endpoints, and how much.
//!
//! The endpoints hand out bandwidth: unguarded, anyone who reaches the port can pull gigabytes
//! (eight clients took 15.7 GB in 5 s and both cores). Under `serve` they are for the county's
//! probes only ([`SpeedAccess::Probes`]): a request carries the probe's token (HTTP:
//! `Authorization: Bearer`; QUIC: after the size in the request), and each probe has at most
//! [`SpeedLimits::streams_per_probe`] downloads at once and [`SpeedLimits::bytes_per_hour`] in
//! any hour. `testserver`, a test server placed elsewhere without the probes' tokens, serves
//! anyone, and only when started with `--open` ([`SpeedAccess::Open`]).
//!
//! A verified token is remembered for [`TOKEN_MEMORY`], so a ping's round trip carries no
//! database lookup; a revocation therefore takes up to that long to reach the speed endpoints
//! (uploads see it at once). The bookkeeping ([`Usage`]) is pure and takes the time as an
//! argument.

use crate::http::ApiError;
use crate::probes::token_sha256;
use crate::store::Store;
use fathom_shared::ByteSize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long a verified token is trusted without asking the database again.
pub const TOKEN_MEMORY: Duration = Duration::from_secs(60);
/// The window of [`SpeedLimits::bytes_per_hour`].
const HOUR: Duration = Duration::from_secs(3600);
/// Tokens remembered at most (a probe has one; the bound only matters under a flood of
/// different valid tokens, which cannot happen without that many probes).
const MAX_REMEMBERED: usize = 100_000;

/// Default [`SpeedLimits::streams_per_probe`]: a test opens up to eight downloads, and a probe
/// tests one modem at a time; twice that leaves room for a test's streams closing late.
pub const DEFAULT_STREAMS_PER_PROBE: usize = 16;
/// Default [`SpeedLimits::bytes_per_hour`]: four modems each tested every 15 minutes (the
/// shortest cadence a collector may set) at the 400 MB cap is 6.4 GB; 8 GB leaves margin.
pub const DEFAULT_BYTES_PER_HOUR: u64 = 8_000_000_000;

/// Per-probe limits on the speed-test endpoints (`[limits]` in `collector.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpeedLimits {
    /// Downloads a probe may have open at once.
    pub streams_per_probe: usize,
    /// Bytes a probe may ask for in any hour.
    pub bytes_per_hour: u64,
}

impl Default for SpeedLimits {
    fn default() -> Self {
        Self {
            streams_per_probe: DEFAULT_STREAMS_PER_PROBE,
            bytes_per_hour: DEFAULT_BYTES_PER_HOUR,
        }
    }
}

/// Why a download was refused by the limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// The probe has [`SpeedLimits::streams_per_probe`] downloads open.
    Streams,
    /// The download would take the probe's hour past [`SpeedLimits::bytes_per_hour`]; the
    /// hour's window ends after the duration given.
    Bytes(Duration),
}

/// One probe's use of the endpoints.
#[derive(Debug, Clone)]
struct ProbeUsage {
    open: usize,
    window_start: Instant,
    bytes: u64,
}

/// Every probe's use of the endpoints: pure, the time is an argument.
#[derive(Debug, Default)]
pub struct Usage {
    probes: HashMap<String, ProbeUsage>,
}

impl Usage {
    /// Takes a place for a download of `bytes` by `probe` at `now`, or says why not.
    pub fn admit(
        &mut self,
        limits: SpeedLimits,
        probe: &str,
        bytes: u64,
        now: Instant,
    ) -> Result<(), OverLimit> {
        let usage = self
            .probes
            .entry(probe.to_owned())
            .or_insert_with(|| ProbeUsage {
                open: 0,
                window_start: now,
                bytes: 0,
            });
        if now.saturating_duration_since(usage.window_start) >= HOUR {
            usage.window_start = now;
            usage.bytes = 0;
        }
        if usage.open >= limits.streams_per_probe {
            return Err(OverLimit::Streams);
        }
        if usage.bytes.saturating_add(bytes) > limits.bytes_per_hour {
            let ends = (usage.window_start + HOUR).saturating_duration_since(now);
            return Err(OverLimit::Bytes(ends));
        }
        usage.open += 1;
        usage.bytes += bytes;
        Ok(())
    }

    /// A download of `probe` ended.
    pub fn release(&mut self, probe: &str) {
        if let Some(u) = self.probes.get_mut(probe) {
            u.open = u.open.saturating_sub(1);
        }
    }
}

/// Who may use the endpoints.
#[derive(Debug)]
pub enum SpeedAccess {
    /// Anyone (`testserver --open`).
    Open,
    /// The probes registered in the store, within their limits (`serve`).
    Probes(ProbeGate),
}

/// The probes' gate: token checks and limits.
#[derive(Debug)]
pub struct ProbeGate {
    store: Store,
    limits: SpeedLimits,
    // std mutexes: held for a map lookup and some arithmetic, never across an await.
    remembered: Mutex<HashMap<String, (String, Instant)>>,
    usage: Arc<Mutex<Usage>>,
}

/// A download's place under its probe's limits; dropping it gives the place back.
#[derive(Debug)]
pub struct Permit {
    release: Option<(Arc<Mutex<Usage>>, String)>,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some((usage, probe)) = self.release.take() {
            usage
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .release(&probe);
        }
    }
}

impl SpeedAccess {
    /// The probes of `store`, within `limits`.
    pub fn probes(store: Store, limits: SpeedLimits) -> Self {
        Self::Probes(ProbeGate {
            store,
            limits,
            remembered: Mutex::new(HashMap::new()),
            usage: Arc::default(),
        })
    }

    /// Checks `token` (the bearer token, if any); the probe it belongs to (`None` when open).
    pub async fn authorize(&self, token: Option<&str>) -> Result<Option<String>, ApiError> {
        let Self::Probes(gate) = self else {
            return Ok(None);
        };
        let token = token.map(str::trim).filter(|t| !t.is_empty()).ok_or(
            ApiError::Unauthorized(
                "the speed-test endpoints are for registered probes: send the probe's token (Authorization: Bearer <token>)",
            ),
        )?;
        let hash = token_sha256(token);
        let now = Instant::now();
        {
            let remembered = gate
                .remembered
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some((probe, at)) = remembered.get(&hash)
                && now.saturating_duration_since(*at) < TOKEN_MEMORY
            {
                return Ok(Some(probe.clone()));
            }
        }
        let probe = gate
            .store
            .probe_by_token(&hash)
            .await?
            .filter(|p| p.revoked_at_ms.is_none())
            .ok_or(ApiError::Unauthorized(
                "unknown or revoked token: no registered probe holds it",
            ))?;
        let mut remembered = gate
            .remembered
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if remembered.len() >= MAX_REMEMBERED {
            remembered.retain(|_, (_, at)| now.saturating_duration_since(*at) < TOKEN_MEMORY);
        }
        if remembered.len() < MAX_REMEMBERED {
            remembered.insert(hash, (probe.id.clone(), now));
        }
        Ok(Some(probe.id))
    }

    /// Takes a place for a download of `bytes` by `probe` (from [`SpeedAccess::authorize`]).
    pub fn admit(&self, probe: Option<&str>, bytes: u64) -> Result<Permit, ApiError> {
        let (Self::Probes(gate), Some(probe)) = (self, probe) else {
            return Ok(Permit { release: None });
        };
        let admitted = gate
            .usage
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .admit(gate.limits, probe, bytes, Instant::now());
        match admitted {
            Ok(()) => Ok(Permit {
                release: Some((gate.usage.clone(), probe.to_owned())),
            }),
            Err(OverLimit::Streams) => Err(ApiError::RateLimited {
                message: format!(
                    "probe {probe} already has {} downloads open",
                    gate.limits.streams_per_probe
                ),
                retry_after_s: 5,
            }),
            Err(OverLimit::Bytes(ends)) => Err(ApiError::RateLimited {
                message: format!(
                    "probe {probe} asked for more than {} of downloads in an hour",
                    ByteSize::from_bytes(gate.limits.bytes_per_hour)
                        .map_or_else(|| "0 bytes".to_owned(), |b| b.to_string())
                ),
                retry_after_s: ends.as_secs().max(1),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: SpeedLimits = SpeedLimits {
        streams_per_probe: 2,
        bytes_per_hour: 1_000,
    };

    #[test]
    fn a_probe_has_at_most_its_streams_open_and_each_probe_its_own() {
        let t0 = Instant::now();
        let mut u = Usage::default();
        assert_eq!(u.admit(LIMITS, "hosp-01", 10, t0), Ok(()));
        assert_eq!(u.admit(LIMITS, "hosp-01", 10, t0), Ok(()));
        assert_eq!(u.admit(LIMITS, "hosp-01", 10, t0), Err(OverLimit::Streams));
        assert_eq!(u.admit(LIMITS, "hub-01", 10, t0), Ok(()));
        u.release("hosp-01");
        assert_eq!(u.admit(LIMITS, "hosp-01", 10, t0), Ok(()));
    }

    #[test]
    fn a_probes_bytes_in_an_hour_are_capped_and_the_next_hour_starts_afresh() {
        let t0 = Instant::now();
        let mut u = Usage::default();
        assert_eq!(u.admit(LIMITS, "hosp-01", 600, t0), Ok(()));
        u.release("hosp-01");
        let later = t0 + Duration::from_secs(600);
        assert_eq!(
            u.admit(LIMITS, "hosp-01", 500, later),
            Err(OverLimit::Bytes(Duration::from_secs(3000)))
        );
        assert_eq!(u.admit(LIMITS, "hosp-01", 400, later), Ok(()));
        u.release("hosp-01");
        assert_eq!(u.admit(LIMITS, "hosp-01", 500, t0 + HOUR), Ok(()));
    }
}
