//! How much of a week is simulated, and how that is said where its numbers are shown.
//!
//! A demo or a backfilled history computes the same indicators as field results, so a week of
//! simulated data could show three green "达标" to the bureau. Every view of a number (page,
//! chart, CSV, JSON) takes its warning from here, so the wording and the threshold stay one.

use super::{WeekIndicators, WindowCounts};

/// From this share of simulated results on, a week is "mostly simulated": its verdicts are
/// greyed and say "（模拟数据）" instead of standing as a plain 达标/未达标.
pub const MOSTLY: f64 = 0.5;

/// The share of the window's results that are simulated; `None` without any result.
pub fn share(c: WindowCounts) -> Option<f64> {
    (c.results > 0).then(|| c.simulated as f64 / c.results as f64)
}

/// The share of simulated results over several weeks (a trend chart's), weighted by results.
pub fn share_over(weeks: &[WeekIndicators]) -> Option<f64> {
    let (results, simulated) = weeks.iter().fold((0, 0), |(r, s), w| {
        (r + w.completeness.results, s + w.completeness.simulated)
    });
    share(WindowCounts {
        results,
        simulated,
        ..WindowCounts::default()
    })
}

/// A fraction as a percentage with one decimal that never rounds to a misleading 100 % or
/// 0 %: 281/282 is "99.6%", 1999/2000 "99.9%" (not "100.0%"), 1/5000 "0.1%".
pub fn percent(v: f64) -> String {
    let shown = format!("{:.1}", v * 100.0);
    if shown == "100.0" && v < 1.0 {
        "99.9%".to_owned()
    } else if shown == "0.0" && v > 0.0 {
        "0.1%".to_owned()
    } else {
        format!("{shown}%")
    }
}

/// The banner at the top of a page, the line in `indicators.json` and the terminal table:
/// `None` when nothing is simulated.
pub fn warning(share: Option<f64>) -> Option<String> {
    let s = share.filter(|&s| s > 0.0)?;
    Some(if s >= 1.0 {
        "本周数据全部为模拟数据（演示或回填），不代表真实网络，指标结论仅供演示。".to_owned()
    } else if s >= MOSTLY {
        format!(
            "本周数据中 {} 为模拟数据（演示或回填），不代表真实网络，指标结论仅供演示。",
            percent(s)
        )
    } else {
        format!(
            "本周数据中 {} 为模拟数据（演示或回填），不代表真实网络；指标含模拟结果。",
            percent(s)
        )
    })
}

/// The caption drawn on a chart whose numbers include simulated results.
pub fn chart_note(share: Option<f64>) -> Option<String> {
    let s = share.filter(|&s| s > 0.0)?;
    Some(format!("含模拟数据 {}，不代表真实网络", percent(s)))
}

/// What a week says about one indicator: met, not met, or nothing to judge. A week without
/// data is not a failure of the network and must never show as a red "未达标".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The value reaches the target.
    Met,
    /// The value falls short of the target.
    NotMet,
    /// No value this week (no results, or none that count).
    NoData,
}

impl Outcome {
    /// The outcome of an indicator whose `value` (if any) `met` its target.
    pub fn of(value: Option<f64>, met: bool) -> Self {
        match (value, met) {
            (None, _) => Self::NoData,
            (Some(_), true) => Self::Met,
            (Some(_), false) => Self::NotMet,
        }
    }
}

/// How a verdict is shown: a CSS class (`ok`, `no`, `sim` for greyed, `nodata`) and its words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// `ok`, `no`, `sim` or `nodata`.
    pub class: &'static str,
    /// Chinese first, English beside.
    pub text: String,
}

/// The verdict of an indicator with this `outcome` on a week whose results are `share`
/// simulated: a mostly simulated week never shows a plain "达标", and a week without data
/// says "无数据" in grey whatever its share.
pub fn verdict(outcome: Outcome, share: Option<f64>) -> Verdict {
    let (zh, en) = match outcome {
        Outcome::Met => ("达标", "met"),
        Outcome::NotMet => ("未达标", "not met"),
        Outcome::NoData => {
            return Verdict {
                class: "nodata",
                text: "无数据 no data".to_owned(),
            };
        }
    };
    let class = if outcome == Outcome::Met { "ok" } else { "no" };
    match share.filter(|&s| s > 0.0) {
        Some(s) if s >= MOSTLY => Verdict {
            class: "sim",
            text: format!("{zh}（模拟数据） {en} (simulated)"),
        },
        Some(s) => Verdict {
            class,
            text: format!("{zh}（含模拟数据 {}） {en}", percent(s)),
        },
        None => Verdict {
            class,
            text: format!("{zh} {en}"),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(results: u64, simulated: u64) -> WindowCounts {
        WindowCounts {
            results,
            simulated,
            ..WindowCounts::default()
        }
    }

    #[test]
    fn percentages_never_round_to_a_misleading_whole() {
        assert_eq!(percent(281.0 / 282.0), "99.6%");
        assert_eq!(percent(1999.0 / 2000.0), "99.9%");
        assert_eq!(percent(1.0), "100.0%");
        assert_eq!(percent(1.0 / 5000.0), "0.1%");
        assert_eq!(percent(0.0), "0.0%");
        assert_eq!(percent(0.5), "50.0%");
    }

    #[test]
    fn the_share_is_of_the_window_and_absent_without_results() {
        assert_eq!(share(counts(0, 0)), None);
        assert_eq!(share(counts(4, 1)), Some(0.25));
    }

    #[test]
    fn a_mostly_simulated_week_is_never_a_plain_met() {
        let v = verdict(Outcome::Met, share(counts(282, 281)));
        assert_eq!(v.class, "sim");
        assert!(v.text.starts_with("达标（模拟数据）"), "{}", v.text);
        let v = verdict(Outcome::NotMet, Some(0.9));
        assert_eq!(v.class, "sim");
        assert!(v.text.starts_with("未达标（模拟数据）"));
        let v = verdict(Outcome::Met, Some(0.1));
        assert_eq!(v.class, "ok");
        assert!(v.text.starts_with("达标（含模拟数据 10.0%）"), "{}", v.text);
        assert_eq!(verdict(Outcome::Met, Some(0.0)).text, "达标 met");
        assert_eq!(verdict(Outcome::NotMet, None).text, "未达标 not met");
    }

    #[test]
    fn a_week_without_data_is_grey_no_data_never_a_red_not_met() {
        // The rules leave `met` false when there is no value; that is not a failure.
        assert_eq!(Outcome::of(None, false), Outcome::NoData);
        assert_eq!(Outcome::of(Some(0.2), false), Outcome::NotMet);
        assert_eq!(Outcome::of(Some(30.0), true), Outcome::Met);
        for share in [None, Some(0.0), Some(0.9)] {
            let v = verdict(Outcome::NoData, share);
            assert_eq!(v.class, "nodata");
            assert_eq!(v.text, "无数据 no data");
        }
    }

    #[test]
    fn warnings_say_how_much_is_simulated_in_chinese() {
        assert_eq!(warning(None), None);
        assert_eq!(warning(Some(0.0)), None);
        let w = warning(share(counts(282, 281))).unwrap();
        assert!(
            w.starts_with("本周数据中 99.6% 为模拟数据") && w.contains("不代表真实网络"),
            "{w}"
        );
        assert!(
            warning(Some(1.0))
                .unwrap()
                .starts_with("本周数据全部为模拟数据")
        );
        assert_eq!(
            chart_note(Some(0.25)).unwrap(),
            "含模拟数据 25.0%，不代表真实网络"
        );
        assert_eq!(chart_note(Some(0.0)), None);
    }
}
