//! Week-over-week change of an indicator, as the weekly meeting reads it: "▲ 2.3 Mbit/s",
//! "▼ 4.0 个百分点" (percentage points, never a percent of a percent), "持平", or why there is
//! nothing to compare. Every indicator of the standard is better when higher, so ▲ is good.

/// What a value is measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A speed, Mbit/s, shown to 0.1.
    Mbps,
    /// A fraction, shown as percentage points to 0.1.
    Share,
}

/// A change and how to colour it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// `up`, `down`, `flat` or `none` (nothing to compare).
    pub class: &'static str,
    /// Chinese, with the sign as an arrow.
    pub text: String,
}

/// The change from `previous` to `current`, each `None` when its week had no value.
pub fn week_change(current: Option<f64>, previous: Option<f64>, unit: Unit) -> Change {
    let (Some(c), Some(p)) = (current, previous) else {
        return Change {
            class: "none",
            text: if current.is_some() {
                "上周无数据".to_owned()
            } else {
                "—".to_owned()
            },
        };
    };
    let (diff, suffix) = match unit {
        Unit::Mbps => (c - p, " Mbit/s"),
        Unit::Share => ((c - p) * 100.0, " 个百分点"),
    };
    // Compare what is shown: a change that rounds to 0.0 is no change to the reader.
    let shown = (diff * 10.0).round() / 10.0;
    if shown == 0.0 {
        return Change {
            class: "flat",
            text: "持平".to_owned(),
        };
    }
    let (class, arrow) = if shown > 0.0 {
        ("up", "▲")
    } else {
        ("down", "▼")
    };
    Change {
        class,
        text: format!("{arrow} {:.1}{suffix}", shown.abs()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_change_in_mbit_and_shares_in_percentage_points() {
        let c = week_change(Some(27.3), Some(25.0), Unit::Mbps);
        assert_eq!((c.class, c.text.as_str()), ("up", "▲ 2.3 Mbit/s"));
        let c = week_change(Some(0.46), Some(0.5), Unit::Share);
        assert_eq!((c.class, c.text.as_str()), ("down", "▼ 4.0 个百分点"));
    }

    #[test]
    fn a_change_that_rounds_away_is_flat_and_a_missing_week_says_so() {
        assert_eq!(
            week_change(Some(25.04), Some(25.0), Unit::Mbps).text,
            "持平"
        );
        assert_eq!(
            week_change(Some(0.5004), Some(0.5), Unit::Share).class,
            "flat"
        );
        assert_eq!(week_change(Some(30.0), None, Unit::Mbps).text, "上周无数据");
        assert_eq!(week_change(None, Some(30.0), Unit::Mbps).text, "—");
    }
}
