//! The survey's state, pure: per modem the readings of the last minute, the speed test at the
//! current point, the marks made, and the label being typed. Events change it
//! ([`SurveyState::apply`]) and may ask the I/O loop for something ([`Action`]); time is an
//! argument (`now_ms`), never read here.

use fathom_shared::survey::{SurveyCarrier, SurveyMark};
use fathom_shared::{Carrier, Meets5gThresholds, RadioSample, ResultId, SpeedTest, UtcTime};
use std::collections::VecDeque;

/// Readings kept per modem: one a second, the last minute.
pub const WINDOW: usize = 60;

/// The screen's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Lang {
    /// Simplified Chinese.
    Zh,
    /// English.
    En,
}

/// A key, as the survey reads it (the terminal's events mapped by the I/O loop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// A printable character.
    Char(char),
    /// Enter.
    Enter,
    /// Escape.
    Esc,
    /// Backspace.
    Backspace,
    /// Arrow up.
    Up,
    /// Arrow down.
    Down,
    /// Ctrl-C.
    Interrupt,
}

/// Something that happened.
#[derive(Debug, Clone)]
pub enum Event {
    /// A key was pressed.
    Key(Key),
    /// Modem `modem` (index) gave a reading.
    Reading {
        /// The modem's index.
        modem: usize,
        /// What it read (the 5G rule not yet applied).
        reading: RadioSample,
    },
    /// A speed test through modem `modem` began.
    SpeedStarted(usize),
    /// A speed test through modem `modem` finished (its result, failed or not).
    SpeedFinished(usize, SpeedTest),
    /// A speed test through modem `modem` could not start (the budget is spent, …): why.
    SpeedRefused(usize, String),
    /// How many marks wait for the collector after an upload attempt, and what went wrong.
    Uploaded {
        /// Marks still waiting.
        pending: usize,
        /// The failure, if the attempt failed.
        error: Option<String>,
    },
}

/// What the I/O loop must do after an event.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Nothing.
    None,
    /// Restore the terminal and exit.
    Quit,
    /// Run a short speed test through modem `.0`.
    SpeedTest(usize),
    /// Keep this mark durably, then upload it.
    Keep(Box<SurveyMark>),
}

/// A speed test's state at the current point.
#[derive(Debug, Clone, PartialEq)]
pub enum Speed {
    /// None run here.
    None,
    /// Running.
    Running,
    /// Finished (rate or error in the result). Boxed: a test is large beside the other states.
    Done(Box<SpeedTest>),
    /// Could not start, and why.
    Refused(String),
}

/// One modem as the survey sees it.
#[derive(Debug, Clone)]
pub struct ModemView {
    /// Its carrier.
    pub carrier: Carrier,
    /// Its readings, oldest first, at most [`WINDOW`], each with the 5G rule applied.
    pub readings: VecDeque<RadioSample>,
    /// The speed test at the current point.
    pub speed: Speed,
}

impl ModemView {
    /// The latest reading.
    pub fn latest(&self) -> Option<&RadioSample> {
        self.readings.back()
    }

    /// Median RSRP and SINR of the readings that have one.
    pub fn medians(&self) -> (Option<f64>, Option<f64>) {
        let rsrp: Vec<f64> = self.readings.iter().filter_map(|r| r.rsrp_dbm).collect();
        let sinr: Vec<f64> = self.readings.iter().filter_map(|r| r.sinr_db).collect();
        (
            fathom_shared::stats::median(&rsrp),
            fathom_shared::stats::median(&sinr),
        )
    }
}

/// A mark as the screen lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkLine {
    /// The point's label.
    pub label: String,
    /// When it was marked.
    pub at: UtcTime,
    /// Carriers meeting the 5G rule there.
    pub meeting_5g: usize,
    /// Carriers read there.
    pub carriers: usize,
}

/// The whole survey screen's state.
#[derive(Debug, Clone)]
pub struct SurveyState {
    /// Screen language.
    pub lang: Lang,
    /// The probe's site.
    pub site: String,
    /// The 5G rule's thresholds.
    pub thresholds: Meets5gThresholds,
    /// The modems, in config order.
    pub modems: Vec<ModemView>,
    /// The modem the speed-test key acts on.
    pub selected: usize,
    /// The label being typed, while the mark prompt is open.
    pub prompt: Option<String>,
    /// The marks made in this run, oldest first.
    pub marks: Vec<MarkLine>,
    /// Marks waiting for the collector.
    pub pending_upload: usize,
    /// The last upload failure, shown until an upload succeeds.
    pub upload_error: Option<String>,
}

impl SurveyState {
    /// A survey of `carriers` (one modem each) at `site`.
    pub fn new(
        lang: Lang,
        site: &str,
        carriers: &[Carrier],
        thresholds: Meets5gThresholds,
    ) -> Self {
        Self {
            lang,
            site: site.to_owned(),
            thresholds,
            modems: carriers
                .iter()
                .map(|&carrier| ModemView {
                    carrier,
                    readings: VecDeque::with_capacity(WINDOW),
                    speed: Speed::None,
                })
                .collect(),
            selected: 0,
            prompt: None,
            marks: Vec::new(),
            pending_upload: 0,
            upload_error: None,
        }
    }

    /// Applies `event`. `now_ms` and `new_id` are used only when the event makes a mark.
    pub fn apply(
        &mut self,
        event: Event,
        now_ms: i64,
        new_id: impl FnOnce() -> ResultId,
    ) -> Action {
        match event {
            Event::Key(key) => self.key(key, now_ms, new_id),
            Event::Reading { modem, reading } => {
                if let Some(m) = self.modems.get_mut(modem) {
                    if m.readings.len() == WINDOW {
                        m.readings.pop_front();
                    }
                    m.readings.push_back(reading.to_sample(&self.thresholds));
                }
                Action::None
            }
            Event::SpeedStarted(i) => self.set_speed(i, Speed::Running),
            Event::SpeedFinished(i, test) => self.set_speed(i, Speed::Done(Box::new(test))),
            Event::SpeedRefused(i, why) => self.set_speed(i, Speed::Refused(why)),
            Event::Uploaded { pending, error } => {
                self.pending_upload = pending;
                self.upload_error = error;
                Action::None
            }
        }
    }

    fn set_speed(&mut self, modem: usize, speed: Speed) -> Action {
        if let Some(m) = self.modems.get_mut(modem) {
            m.speed = speed;
        }
        Action::None
    }

    fn key(&mut self, key: Key, now_ms: i64, new_id: impl FnOnce() -> ResultId) -> Action {
        if key == Key::Interrupt {
            return Action::Quit;
        }
        if let Some(label) = &mut self.prompt {
            match key {
                Key::Char(c)
                    if !c.is_control()
                        && label.chars().count() < fathom_shared::survey::MAX_LABEL_CHARS =>
                {
                    label.push(c);
                }
                Key::Backspace => {
                    label.pop();
                }
                Key::Esc => self.prompt = None,
                Key::Enter if !label.trim().is_empty() => {
                    let label = label.trim().to_owned();
                    self.prompt = None;
                    return self.mark(label, now_ms, new_id());
                }
                _ => {}
            }
            return Action::None;
        }
        match key {
            Key::Char('q' | 'Q') => Action::Quit,
            Key::Char('m' | 'M') => {
                self.prompt = Some(String::new());
                Action::None
            }
            Key::Char('s' | 'S') => match self.modems.get(self.selected) {
                Some(m) if m.speed != Speed::Running => Action::SpeedTest(self.selected),
                _ => Action::None,
            },
            Key::Up => {
                self.selected = self.selected.saturating_sub(1);
                Action::None
            }
            Key::Down => {
                self.selected = (self.selected + 1).min(self.modems.len().saturating_sub(1));
                Action::None
            }
            Key::Char(c @ '1'..='9') => {
                let i = c as usize - '1' as usize;
                if i < self.modems.len() {
                    self.selected = i;
                }
                Action::None
            }
            _ => Action::None,
        }
    }

    /// Records the point `label`: per modem its latest reading, the last minute's medians and
    /// the speed test finished here; then the next point starts without speed results.
    fn mark(&mut self, label: String, now_ms: i64, id: ResultId) -> Action {
        let carriers: Vec<SurveyCarrier> = self
            .modems
            .iter()
            .map(|m| {
                let (rsrp, sinr) = m.medians();
                SurveyCarrier {
                    carrier: m.carrier,
                    latest: m
                        .latest()
                        .cloned()
                        .unwrap_or_else(|| RadioSample::unavailable("no reading yet")),
                    rsrp_median_dbm: rsrp,
                    sinr_median_db: sinr,
                    readings: m.readings.len() as u32,
                    readings_5g: m.readings.iter().filter(|r| r.meets_5g).count() as u32,
                    speed: match &m.speed {
                        Speed::Done(t) => Some(SpeedTest::clone(t)),
                        _ => None,
                    },
                }
            })
            .collect();
        let Some(at) = chrono::DateTime::from_timestamp_millis(now_ms) else {
            return Action::None;
        };
        let mark = SurveyMark {
            id,
            label,
            marked_at: UtcTime::from_datetime(at),
            carriers,
        };
        self.marks.push(MarkLine {
            label: mark.label.clone(),
            at: mark.marked_at,
            meeting_5g: mark
                .carriers
                .iter()
                .filter(|c| c.meets_5g(&self.thresholds))
                .count(),
            carriers: mark.carriers.len(),
        });
        for m in &mut self.modems {
            if m.speed != Speed::Running {
                m.speed = Speed::None;
            }
        }
        self.pending_upload += 1;
        Action::Keep(Box::new(mark))
    }

    /// Whether the modem's point meets the 5G rule now: latest network type, last minute's
    /// medians (the same verdict a mark would record).
    pub fn meets_5g(&self, modem: usize) -> bool {
        self.modems.get(modem).is_some_and(|m| {
            let (rsrp, sinr) = m.medians();
            m.latest().is_some_and(|r| {
                fathom_shared::radio::meets_5g(r.rat, rsrp, sinr, &self.thresholds)
            })
        })
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use fathom_shared::Rat;

    pub(crate) fn reading(rat: Rat, rsrp: f64, sinr: f64) -> RadioSample {
        RadioSample {
            plmn: Some("46000".to_owned()),
            rat,
            rsrp_dbm: Some(rsrp),
            rsrq_db: Some(-10.0),
            sinr_db: Some(sinr),
            sinr_scale_uncertain: false,
            band: Some("n41".to_owned()),
            cell_id: None,
            meets_5g: false,
            reason: None,
        }
    }

    pub(crate) fn state(lang: Lang) -> SurveyState {
        let mut s = SurveyState::new(
            lang,
            "county-hospital",
            &[Carrier::Cmcc, Carrier::Cu, Carrier::Ct],
            Meets5gThresholds::default(),
        );
        for (i, r) in [
            reading(Rat::NrSa, -88.0, 15.0),
            reading(Rat::NrNsa, -97.0, 6.0),
            reading(Rat::Lte, -101.0, 3.0),
        ]
        .into_iter()
        .enumerate()
        {
            s.apply(
                Event::Reading {
                    modem: i,
                    reading: r,
                },
                0,
                ResultId::new,
            );
        }
        s
    }

    fn typed(s: &mut SurveyState, text: &str) -> Action {
        let mut last = Action::None;
        for c in text.chars() {
            last = s.apply(Event::Key(Key::Char(c)), 0, ResultId::new);
        }
        last
    }

    #[test]
    fn the_ring_keeps_the_last_minute_and_medians_come_from_it() {
        let mut s = state(Lang::Zh);
        for k in 0..100 {
            let r = reading(Rat::NrSa, -120.0 + f64::from(k), 1.0);
            s.apply(
                Event::Reading {
                    modem: 0,
                    reading: r,
                },
                0,
                ResultId::new,
            );
        }
        let m = &s.modems[0];
        assert_eq!(m.readings.len(), WINDOW);
        // The last 60 of -120..=-21: -80..=-21, median -50.5.
        assert_eq!(m.medians(), (Some(-50.5), Some(1.0)));
        assert!(
            m.latest().unwrap().meets_5g,
            "the 5G rule is applied to each reading"
        );
    }

    #[test]
    fn the_5g_verdict_uses_the_shared_rule_on_the_medians() {
        let mut s = state(Lang::Zh);
        assert!(s.meets_5g(0));
        assert!(s.meets_5g(1));
        assert!(!s.meets_5g(2), "LTE never meets 5G");
        // A minute of weak SINR drags China Mobile below the rule even if the last reading is good.
        for _ in 0..59 {
            s.apply(
                Event::Reading {
                    modem: 0,
                    reading: reading(Rat::NrSa, -88.0, -6.0),
                },
                0,
                ResultId::new,
            );
        }
        s.apply(
            Event::Reading {
                modem: 0,
                reading: reading(Rat::NrSa, -88.0, 15.0),
            },
            0,
            ResultId::new,
        );
        assert!(!s.meets_5g(0));
    }

    #[test]
    fn a_mark_records_label_time_medians_and_the_speed_test_made_there() {
        let mut s = state(Lang::En);
        let test = SpeedTest {
            download_mbps: Some(58.0),
            bytes_downloaded: 4_000_000,
            duration_ms: 550,
            latency_idle_ms: None,
            latency_loaded_ms: None,
            streams: 4,
            protocol: fathom_shared::SpeedProtocol::Http,
            server: "http://127.0.0.1:1".to_owned(),
            error: None,
            jitter_ms: None,
            stable: None,
            ramp_up_ms: None,
            samples_mbps: vec![],
            rat: None,
            direction: fathom_shared::SpeedDirection::Download,
            upload_mbps: None,
            bytes_uploaded: 0,
            latency_idle_p90_ms: None,
            latency_loaded_p90_ms: None,
            rpm: None,
        };
        s.apply(Event::SpeedFinished(0, test.clone()), 0, ResultId::new);
        assert_eq!(
            s.apply(Event::Key(Key::Char('m')), 0, ResultId::new),
            Action::None
        );
        assert_eq!(
            typed(&mut s, "A lobby"),
            Action::None,
            "typing is not a command"
        );
        s.apply(Event::Key(Key::Backspace), 0, ResultId::new);
        typed(&mut s, "y, west window ");
        let id = ResultId::at(1_765_000_000_000);
        let Action::Keep(mark) = s.apply(Event::Key(Key::Enter), 1_765_000_000_000, || id) else {
            panic!("Enter keeps the mark");
        };
        assert_eq!(mark.id, id);
        assert_eq!(mark.label, "A lobby, west window");
        assert_eq!(mark.marked_at.unix_ms(), 1_765_000_000_000);
        assert_eq!(mark.carriers.len(), 3);
        assert_eq!(mark.carriers[0].carrier, Carrier::Cmcc);
        assert_eq!(mark.carriers[0].rsrp_median_dbm, Some(-88.0));
        assert_eq!(mark.carriers[0].speed, Some(test));
        assert_eq!(mark.carriers[2].latest.rat, Rat::Lte);
        assert_eq!(mark.carriers[2].speed, None);
        assert!(mark.validate().is_ok());
        assert_eq!(s.prompt, None);
        assert_eq!(s.pending_upload, 1);
        assert_eq!(s.marks[0].meeting_5g, 2);
        // The next point starts without the last point's speed test.
        assert_eq!(s.modems[0].speed, Speed::None);
    }

    #[test]
    fn keys_quit_select_and_test_and_escape_cancels_a_mark() {
        let mut s = state(Lang::Zh);
        assert_eq!(
            s.apply(Event::Key(Key::Down), 0, ResultId::new),
            Action::None
        );
        assert_eq!(
            s.apply(Event::Key(Key::Char('s')), 0, ResultId::new),
            Action::SpeedTest(1)
        );
        s.apply(Event::SpeedStarted(1), 0, ResultId::new);
        assert_eq!(
            s.apply(Event::Key(Key::Char('s')), 0, ResultId::new),
            Action::None,
            "one test at a time per modem"
        );
        assert_eq!(
            s.apply(Event::Key(Key::Char('3')), 0, ResultId::new),
            Action::None
        );
        assert_eq!(s.selected, 2);
        s.apply(Event::Key(Key::Char('m')), 0, ResultId::new);
        assert_eq!(
            typed(&mut s, "q"),
            Action::None,
            "q is text while the prompt is open"
        );
        assert_eq!(s.prompt.as_deref(), Some("q"));
        s.apply(Event::Key(Key::Esc), 0, ResultId::new);
        assert_eq!(s.prompt, None);
        assert!(s.marks.is_empty());
        assert_eq!(
            s.apply(Event::Key(Key::Char('q')), 0, ResultId::new),
            Action::Quit
        );
        assert_eq!(
            s.apply(Event::Key(Key::Interrupt), 0, ResultId::new),
            Action::Quit
        );
    }

    #[test]
    fn an_empty_label_makes_no_mark() {
        let mut s = state(Lang::Zh);
        s.apply(Event::Key(Key::Char('m')), 0, ResultId::new);
        typed(&mut s, "   ");
        assert_eq!(
            s.apply(Event::Key(Key::Enter), 0, ResultId::new),
            Action::None
        );
        assert!(s.prompt.is_some(), "the prompt stays open");
    }
}
