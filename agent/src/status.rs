//! The probe's health as it sends each upload ([`fathom_shared::api::ProbeStatus`]): agent
//! version, each modem by its last radio reading, spool backlog, clock state, data used per SIM.
//! The collector keeps the latest per probe and raises the fleet's alerts from it.

use crate::budget::{self, Ledger};
use crate::config::ModemConfig;
use crate::radio::RadioReading;
use crate::spool::Spool;
use fathom_shared::api::{BudgetStatus, ModemStatus, ProbeStatus};
use fathom_shared::{Carrier, Rat};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A modem's state from one reading: present when registered on a network.
pub fn modem_status(carrier: Carrier, reading: &RadioReading) -> ModemStatus {
    let present = reading.rat != Rat::None;
    ModemStatus {
        carrier,
        present,
        rat: Some(reading.rat),
        reason: if present {
            None
        } else {
            Some(one_line(
                reading.reason.as_deref().unwrap_or("not registered"),
            ))
        },
    }
}

/// A modem's reason as the collector accepts it in a status (one line, no control or
/// bidirectional control characters, at most 500 characters): the collector refuses a whole
/// upload whose status breaks that, so text read from a modem must never reach it as it is.
fn one_line(reason: &str) -> String {
    let clean: String = reason
        .chars()
        .map(|c| {
            if c.is_control() || fathom_shared::result::is_bidi_control(c) {
                ' '
            } else {
                c
            }
        })
        .take(fathom_shared::api::status_limits::MAX_REASON_LEN)
        .collect();
    if clean.trim().is_empty() {
        "not registered".to_owned()
    } else {
        clean
    }
}

/// What the measurement jobs last saw, shared with the uploader. The lock is never held across
/// an `.await`.
#[derive(Debug, Clone, Default)]
pub struct StatusBoard {
    modems: Arc<Mutex<BTreeMap<Carrier, ModemStatus>>>,
    clock_synced: Arc<AtomicBool>,
}

impl StatusBoard {
    /// Records a modem's latest reading.
    pub fn radio(&self, carrier: Carrier, reading: &RadioReading) {
        if let Ok(mut m) = self.modems.lock() {
            m.insert(carrier, modem_status(carrier, reading));
        }
    }

    /// The network type of `carrier`'s modem at its latest reading, if it was read.
    pub fn rat(&self, carrier: Carrier) -> Option<Rat> {
        self.modems
            .lock()
            .ok()
            .and_then(|m| m.get(&carrier).and_then(|s| s.rat))
    }

    /// Records the clock state of the latest measurement.
    pub fn clock(&self, synced: bool) {
        self.clock_synced.store(synced, Ordering::Relaxed);
    }

    /// The status to send now: each configured modem (one never read yet is not present), the
    /// spool backlog and this month's data per SIM, against the budget the jobs keep to (the
    /// modem's, else `fleet_budget` from the collector, else the default).
    pub async fn snapshot(
        &self,
        modems: &[ModemConfig],
        spool: &Spool,
        ledger: &Ledger,
        fleet_budget: Option<u64>,
    ) -> ProbeStatus {
        let seen = self.modems.lock().map(|m| m.clone()).unwrap_or_default();
        let month = budget::month(chrono::Utc::now());
        let mut budgets = Vec::with_capacity(modems.len());
        for m in modems {
            budgets.push(BudgetStatus {
                carrier: m.carrier,
                used_bytes: ledger.used(m.carrier, &month).await.unwrap_or(0),
                budget_bytes: Some(budget::monthly_budget(m.monthly_budget, fleet_budget)),
            });
        }
        ProbeStatus {
            agent_version: env!("CARGO_PKG_VERSION").to_owned(),
            modems: modems
                .iter()
                .map(|m| {
                    seen.get(&m.carrier).cloned().unwrap_or(ModemStatus {
                        carrier: m.carrier,
                        present: false,
                        rat: None,
                        reason: Some("not read yet".to_owned()),
                    })
                })
                .collect(),
            spool_pending: spool.counts().await.map_or(0, |c| c.pending),
            clock_synced: self.clock_synced.load(Ordering::Relaxed),
            budgets,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_modem_is_present_when_registered() {
        let mut r = RadioReading::unavailable("no modem at /dev/ttyUSB2");
        let s = modem_status(Carrier::Cu, &r);
        assert!(!s.present);
        assert_eq!(s.reason.as_deref(), Some("no modem at /dev/ttyUSB2"));
        r.rat = Rat::Lte;
        r.reason = None;
        let s = modem_status(Carrier::Cu, &r);
        assert!(s.present);
        assert_eq!((s.rat, s.reason), (Some(Rat::Lte), None));
    }

    #[test]
    fn a_modems_reason_is_made_one_line_the_collector_accepts() {
        let long = format!("ERROR\r\n+CME: \u{202E}{}", "x".repeat(2000));
        let s = modem_status(Carrier::Cu, &RadioReading::unavailable(long));
        let reason = s.reason.as_deref().unwrap();
        assert!(reason.starts_with("ERROR  +CME:  x"), "{reason:?}");
        let status = ProbeStatus {
            agent_version: "0.1.0".to_owned(),
            modems: vec![s.clone()],
            spool_pending: 0,
            clock_synced: true,
            budgets: Vec::new(),
        };
        status.validate().expect("the collector accepts it");
        let blank = modem_status(Carrier::Cu, &RadioReading::unavailable("\n"));
        assert_eq!(blank.reason.as_deref(), Some("not registered"));
    }
}
