//! When to tell people: one message when a problem starts and one when it ends, and a problem
//! that comes back within the quiet period after it ended is not announced again (a probe on a
//! flaky uplink would otherwise page someone every few minutes). Pure: notices and `now` in,
//! events out.

use std::collections::HashMap;

/// A problem the collector sees now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// Stable identity across checks: rule, site, probe and carrier.
    pub key: String,
    /// The rule's id (`silent`, `modem_missing`, `site_below_target`, …).
    pub rule: String,
    /// The site it concerns.
    pub site_id: String,
    /// The probe, for probe rules.
    pub probe_id: Option<String>,
    /// The carrier, when it concerns one.
    pub carrier: Option<String>,
    /// What to tell people, Chinese first.
    pub text: String,
}

impl Notice {
    /// A notice whose key is made of its parts.
    pub fn new(
        rule: &str,
        site_id: &str,
        probe_id: Option<&str>,
        carrier: Option<&str>,
        text: String,
    ) -> Self {
        Self {
            key: format!(
                "{rule}/{site_id}/{}/{}",
                probe_id.unwrap_or("-"),
                carrier.unwrap_or("-")
            ),
            rule: rule.to_owned(),
            site_id: site_id.to_owned(),
            probe_id: probe_id.map(str::to_owned),
            carrier: carrier.map(str::to_owned),
            text,
        }
    }
}

/// What changed since the last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A problem began (announced).
    Started(Notice),
    /// An announced problem is over.
    Ended(Notice),
}

#[derive(Debug, Clone)]
struct Active {
    notice: Notice,
    /// Whether its start was announced (not when it came back within the quiet period).
    announced: bool,
}

/// The problems seen at the last check, and when recent ones ended.
#[derive(Debug, Clone)]
pub struct Tracker {
    active: HashMap<String, Active>,
    ended_at: HashMap<String, i64>,
    quiet_ms: i64,
}

impl Tracker {
    /// A tracker that does not announce a problem again within `quiet_ms` of its end.
    pub fn new(quiet_ms: i64) -> Self {
        Self {
            active: HashMap::new(),
            ended_at: HashMap::new(),
            quiet_ms,
        }
    }

    /// The problems active now, announced or not (for the daily digest).
    pub fn active(&self) -> impl Iterator<Item = &Notice> {
        self.active.values().map(|a| &a.notice)
    }

    /// Takes the problems seen at `now_ms` and says what started and what ended, in a stable
    /// order (by key).
    pub fn update(&mut self, current: Vec<Notice>, now_ms: i64) -> Vec<Event> {
        let quiet_ms = self.quiet_ms;
        self.ended_at.retain(|_, t| now_ms - *t < quiet_ms);
        let mut events = Vec::new();
        let mut seen = HashMap::with_capacity(current.len());
        for notice in current {
            let key = notice.key.clone();
            // An active problem keeps the text of its start, so the end message matches it.
            let entry = if let Some(a) = self.active.remove(&key) {
                a
            } else {
                let announced = !self.ended_at.contains_key(&key);
                if announced {
                    events.push(Event::Started(notice.clone()));
                }
                Active { notice, announced }
            };
            seen.insert(key, entry);
        }
        for (key, gone) in self.active.drain() {
            self.ended_at.insert(key, now_ms);
            if gone.announced {
                events.push(Event::Ended(gone.notice));
            }
        }
        self.active = seen;
        events.sort_by(|a, b| key_of(a).cmp(key_of(b)));
        events
    }
}

fn key_of(e: &Event) -> &str {
    match e {
        Event::Started(n) | Event::Ended(n) => &n.key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: i64 = 60_000;

    fn silent(probe: &str) -> Notice {
        Notice::new("silent", "h", Some(probe), None, format!("{probe} 已静默"))
    }

    fn started(events: &[Event]) -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Started(n) => Some(n.key.as_str()),
                Event::Ended(_) => None,
            })
            .collect()
    }

    fn ended(events: &[Event]) -> Vec<&str> {
        events
            .iter()
            .filter_map(|e| match e {
                Event::Ended(n) => Some(n.key.as_str()),
                Event::Started(_) => None,
            })
            .collect()
    }

    #[test]
    fn one_message_when_a_problem_starts_and_one_when_it_ends() {
        let mut t = Tracker::new(30 * MIN);
        let e = t.update(vec![silent("a")], 0);
        assert_eq!(started(&e), ["silent/h/a/-"]);
        // Still there: nothing new.
        assert!(t.update(vec![silent("a")], MIN).is_empty());
        assert!(t.update(vec![silent("a")], 2 * MIN).is_empty());
        let e = t.update(vec![], 3 * MIN);
        assert_eq!(ended(&e), ["silent/h/a/-"]);
        assert!(t.update(vec![], 4 * MIN).is_empty());
    }

    #[test]
    fn a_problem_back_within_the_quiet_period_is_not_announced_again() {
        let mut t = Tracker::new(30 * MIN);
        t.update(vec![silent("a")], 0);
        t.update(vec![], MIN);
        // Back after 5 min: quiet. Its end is not announced either (its start was not).
        assert!(t.update(vec![silent("a")], 6 * MIN).is_empty());
        assert!(t.update(vec![], 7 * MIN).is_empty());
        // Back after the quiet period: announced again.
        let e = t.update(vec![silent("a")], 7 * MIN + 30 * MIN);
        assert_eq!(started(&e), ["silent/h/a/-"]);
        // Other problems are independent.
        let e = t.update(vec![silent("a"), silent("b")], 40 * MIN);
        assert_eq!(started(&e), ["silent/h/b/-"]);
        assert_eq!(t.active().count(), 2);
    }
}
