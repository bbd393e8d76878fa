//! The province overview: each county's I26, I33 and I32 of a week beside the week before,
//! ranked, and the counties that miss each target. Pure: the counties' weeks come computed by
//! the rules ([`super::compute_week`]), one county at a time.

use super::WeekIndicators;
use serde::Serialize;

/// One of the three indicators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Indicator {
    /// Mobile download speed at I26 scenes, Mbit/s.
    I26,
    /// 5G coverage of key public areas, a share.
    I33,
    /// IPv6 support of the main websites, a share.
    I32,
}

impl Indicator {
    /// The three, in the order pages list them.
    pub const ALL: [Indicator; 3] = [Indicator::I26, Indicator::I33, Indicator::I32];

    /// Its id in URLs (`sort=i33`).
    pub fn id(self) -> &'static str {
        match self {
            Indicator::I26 => "i26",
            Indicator::I33 => "i33",
            Indicator::I32 => "i32",
        }
    }

    /// Its name in the bureau's words.
    pub fn name_zh(self) -> &'static str {
        match self {
            Indicator::I26 => "重点场所移动网络下载速率",
            Indicator::I33 => "重点公共区域5G网络覆盖率",
            Indicator::I32 => "主要网站IPv6支持率",
        }
    }

    fn of(self, w: &WeekIndicators) -> (Option<f64>, f64, bool) {
        match self {
            Indicator::I26 => (w.i26.value, w.i26.target, w.i26.met),
            Indicator::I33 => (w.i33.value, w.i33.target, w.i33.met),
            Indicator::I32 => (w.i32.value, w.i32.target, w.i32.met),
        }
    }
}

impl std::str::FromStr for Indicator {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Indicator::ALL
            .into_iter()
            .find(|i| i.id() == s)
            .ok_or_else(|| format!("unknown indicator {s:?}: use i26, i33 or i32"))
    }
}

/// One indicator of one county in the week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// This week's value (`None`: no data to judge).
    pub value: Option<f64>,
    /// The week before's.
    pub previous: Option<f64>,
    /// `value − previous`, when both are known.
    pub change: Option<f64>,
    /// The county's target.
    pub target: f64,
    /// Whether this week meets it.
    pub met: bool,
    /// Rank among the counties with a value (1 = best; equal values share a rank).
    pub rank: Option<usize>,
}

/// One county's line of the overview.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CountyLine {
    /// Its id (`county=`).
    pub id: String,
    /// Its name.
    pub name: String,
    /// I26, I33, I32.
    pub i26: Figure,
    /// I33.
    pub i33: Figure,
    /// I32.
    pub i32: Figure,
}

impl CountyLine {
    /// Its figure of `indicator`.
    pub fn figure(&self, indicator: Indicator) -> &Figure {
        match indicator {
            Indicator::I26 => &self.i26,
            Indicator::I33 => &self.i33,
            Indicator::I32 => &self.i32,
        }
    }
}

/// The counties that miss one indicator's target this week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Missing {
    /// Which indicator.
    pub indicator: Indicator,
    /// Counties with a value below their target, worst first.
    pub below: Vec<String>,
    /// Counties without the data to judge it.
    pub unknown: Vec<String>,
}

/// The overview of a week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    /// The counties, ordered by the chosen indicator's rank (unranked last, then by id).
    pub counties: Vec<CountyLine>,
    /// Per indicator, who misses it.
    pub missing: Vec<Missing>,
}

/// A county's week and the week before, as the rules computed them.
#[derive(Debug, Clone, Copy)]
pub struct CountyWeeks<'a> {
    /// Its id.
    pub id: &'a str,
    /// This week.
    pub this: &'a WeekIndicators,
    /// The week before.
    pub previous: &'a WeekIndicators,
}

/// The overview of the counties' weeks, ordered by `sort`.
pub fn overview(counties: &[CountyWeeks<'_>], sort: Indicator) -> Overview {
    let figure = |c: &CountyWeeks<'_>, i: Indicator| {
        let (value, target, met) = i.of(c.this);
        let (previous, _, _) = i.of(c.previous);
        Figure {
            value,
            previous,
            change: value.zip(previous).map(|(v, p)| v - p),
            target,
            met,
            rank: None,
        }
    };
    let mut lines: Vec<CountyLine> = counties
        .iter()
        .map(|c| CountyLine {
            id: c.id.to_owned(),
            name: c.this.county.clone(),
            i26: figure(c, Indicator::I26),
            i33: figure(c, Indicator::I33),
            i32: figure(c, Indicator::I32),
        })
        .collect();
    for i in Indicator::ALL {
        let values: Vec<f64> = lines.iter().filter_map(|l| l.figure(i).value).collect();
        for line in &mut lines {
            let f = match i {
                Indicator::I26 => &mut line.i26,
                Indicator::I33 => &mut line.i33,
                Indicator::I32 => &mut line.i32,
            };
            // Higher is better for all three; a rank is one plus the counties strictly ahead.
            f.rank = f
                .value
                .map(|v| 1 + values.iter().filter(|&&other| other > v).count());
        }
    }
    let missing = Indicator::ALL
        .into_iter()
        .map(|i| {
            let mut below: Vec<&CountyLine> = lines
                .iter()
                .filter(|l| l.figure(i).value.is_some() && !l.figure(i).met)
                .collect();
            below.sort_by(|a, b| {
                let (x, y) = (a.figure(i), b.figure(i));
                y.rank.cmp(&x.rank).then_with(|| a.id.cmp(&b.id))
            });
            Missing {
                indicator: i,
                below: below.into_iter().map(|l| l.id.clone()).collect(),
                unknown: lines
                    .iter()
                    .filter(|l| l.figure(i).value.is_none())
                    .map(|l| l.id.clone())
                    .collect(),
            }
        })
        .collect();
    lines.sort_by(|a, b| {
        let (x, y) = (a.figure(sort).rank, b.figure(sort).rank);
        match (x, y) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then_with(|| a.id.cmp(&b.id))
    });
    Overview {
        counties: lines,
        missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A county's week with these values (targets 25 Mbit/s, 50 %, 30 %).
    fn week(county: &str, i26: Option<f64>, i33: Option<f64>, i32: Option<f64>) -> WeekIndicators {
        let mut w = super::super::tests::empty_week(county);
        w.i26.value = i26;
        w.i26.met = i26.is_some_and(|v| v >= w.i26.target);
        w.i33.value = i33;
        w.i33.met = i33.is_some_and(|v| v >= w.i33.target);
        w.i32.value = i32;
        w.i32.met = i32.is_some_and(|v| v >= w.i32.target);
        w
    }

    #[test]
    fn counties_rank_by_the_chosen_indicator_with_their_change_and_who_misses() {
        let a = (
            week("甲县", Some(30.0), Some(0.6), Some(0.2)),
            week("甲县", Some(28.0), Some(0.6), None),
        );
        let b = (
            week("乙县", Some(20.0), Some(0.7), Some(0.4)),
            week("乙县", Some(26.0), Some(0.5), Some(0.4)),
        );
        let c = (
            week("丙县", None, Some(0.4), Some(0.4)),
            week("丙县", Some(10.0), None, None),
        );
        let weeks = [("a", &a), ("b", &b), ("c", &c)].map(|(id, (this, previous))| CountyWeeks {
            id,
            this,
            previous,
        });
        let o = overview(&weeks, Indicator::I26);
        let ids: Vec<&str> = o.counties.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(
            ids,
            ["a", "b", "c"],
            "by I26, the county without a value last"
        );
        assert_eq!(o.counties[0].i26.rank, Some(1));
        assert_eq!(o.counties[1].i26.change, Some(-6.0));
        assert_eq!(o.counties[0].i32.change, None, "no value the week before");
        assert_eq!(o.counties[2].i26.rank, None);
        // I32: b and c tie at 0.4, both first.
        assert_eq!(o.counties[1].i32.rank, Some(1));
        assert_eq!(o.counties[2].i32.rank, Some(1));
        assert_eq!(o.counties[0].i32.rank, Some(3));
        let by_i33 = overview(&weeks, Indicator::I33);
        let ids: Vec<&str> = by_i33.counties.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, ["b", "a", "c"]);
        let missing = |i: Indicator| o.missing.iter().find(|m| m.indicator == i).unwrap();
        assert_eq!(missing(Indicator::I26).below, ["b"]);
        assert_eq!(missing(Indicator::I26).unknown, ["c"]);
        assert_eq!(missing(Indicator::I33).below, ["c"]);
        assert_eq!(missing(Indicator::I32).below, ["a"]);
        assert!(missing(Indicator::I32).unknown.is_empty());
    }
}
