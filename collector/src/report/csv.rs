//! CSV files of the report's tables, made to open right in Excel on Chinese Windows: UTF-8
//! with a byte-order mark (without it Excel reads the bytes as GBK and garbles 沂源汽车站),
//! RFC 4180 quoting, CRLF line ends. Each header cell is the Chinese name, its unit in （）,
//! then the stable English key after a space (`平均下载速率（Mbit/s） mean_mbps`): people
//! read the Chinese, a program takes the last word. Every table starts with the week and ends
//! with the week's share of simulated results. No column mixes units: rates are percentages,
//! speeds Mbit/s, and `indicators.csv` names each row's unit.
//!
//! Cells are neutralised against formula injection (OWASP, "CSV Injection"): a text cell that
//! starts with `=`, `+`, `-`, `@`, a tab or a CR gets a leading `'`, so a probe-supplied
//! reason like `=HYPERLINK(…)` shows as text and never runs; a cell that is a number (`-3.5`)
//! is left as it is, so negative values stay numbers.

use crate::indicators::WeekIndicators;
use crate::indicators::simulated::{self, Outcome};
use fathom_shared::Carrier;

/// Excel takes UTF-8 only with this mark at the start of the file.
pub const BOM: &str = "\u{feff}";

/// The characters that make a spreadsheet read a cell as a formula.
pub(crate) const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// A cell as written: neutralised if it could start a formula, then quoted if needed.
pub(crate) fn field(s: &str) -> String {
    let s = if s.starts_with(FORMULA_START) && s.trim().parse::<f64>().is_err() {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn row(fields: &[String]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// A speed, Mbit/s, two decimals; empty without a value.
fn mbps(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.2}")).unwrap_or_default()
}

/// A fraction as a percentage, two decimals; empty without a value.
fn percent(v: Option<f64>) -> String {
    v.map(|v| format!("{:.2}", v * 100.0)).unwrap_or_default()
}

/// A carrier's name for the `运营商 carrier` column.
fn carrier(id: &str) -> String {
    id.parse::<Carrier>()
        .map_or_else(|_| id.to_owned(), |c| c.name_zh().to_owned())
}

fn headers(names: &[&str]) -> String {
    row(&names.iter().map(|&n| n.to_owned()).collect::<Vec<_>>())
}

/// The file names of [`tables`], in its order.
pub const TABLES: [&str; 6] = [
    "indicators.csv",
    "by_carrier.csv",
    "i26_sites.csv",
    "i33_sites.csv",
    "i32_websites.csv",
    "completeness.csv",
];

/// `(file name, contents)` of every table: each starts with a BOM, its first column is the
/// week and, but for `completeness.csv`, its last the week's share of simulated results, so a
/// table pasted elsewhere still says its numbers include simulated results;
/// `indicators.csv` adds the verdict in words, qualified the same way.
pub fn tables(w: &WeekIndicators) -> Vec<(&'static str, String)> {
    let share = simulated::share(w.completeness);
    let week = w.week.to_string();
    let sim = percent(share);
    let mut out = indicator_tables(w, share);
    for (_, table) in &mut out {
        *table = with_columns(
            table,
            ("周 week", &week),
            Some(("模拟数据占比（%） simulated_percent", &sim)),
        );
    }
    out.push((
        "completeness.csv",
        with_columns(&completeness(w), ("周 week", &week), None),
    ));
    for (_, table) in &mut out {
        table.insert_str(0, BOM);
    }
    out
}

/// `table` with a first column (`first.0` in the header, `first.1` in every row) and maybe a
/// last one. A CRLF inside a quoted field (a probe's text may hold one) is part of the field,
/// not a row's end.
fn with_columns(table: &str, first: (&str, &str), last: Option<(&str, &str)>) -> String {
    let mut out = String::with_capacity(table.len() + 32 * table.lines().count());
    let (mut quoted, mut header, mut at_start) = (false, true, true);
    let mut chars = table.chars().peekable();
    while let Some(c) = chars.next() {
        if at_start {
            out.push_str(&field(if header { first.0 } else { first.1 }));
            out.push(',');
            at_start = false;
        }
        if c == '"' {
            // An escaped quote ("") toggles twice and leaves the state as it was.
            quoted = !quoted;
        }
        if !quoted && c == '\r' && chars.peek() == Some(&'\n') {
            chars.next();
            if let Some((name, value)) = last {
                out.push(',');
                out.push_str(&field(if header { name } else { value }));
            }
            out.push_str("\r\n");
            (header, at_start) = (false, true);
            continue;
        }
        out.push(c);
    }
    out
}

#[expect(
    clippy::too_many_lines,
    reason = "one table after another reads best in one place"
)]
fn indicator_tables(w: &WeekIndicators, share: Option<f64>) -> Vec<(&'static str, String)> {
    let mut indicators = headers(&[
        "指标 id",
        "名称 name",
        "公式 formula",
        "数值 value",
        "目标 target",
        "单位 unit",
        "是否达标 met",
        "结论 verdict",
    ]);
    for (id, name, rule, value, target, unit, outcome) in [
        (
            "I26",
            "移动通信网络平均下载速率",
            w.i26.rule,
            mbps(w.i26.value),
            mbps(Some(w.i26.target)),
            "Mbit/s",
            Outcome::of(w.i26.value, w.i26.met),
        ),
        (
            "I33",
            "城区重点公共区域5G网络覆盖率",
            w.i33.rule.as_str(),
            percent(w.i33.value),
            percent(Some(w.i33.target)),
            "%",
            Outcome::of(w.i33.value, w.i33.met),
        ),
        (
            "I32",
            "IPv6网站支持率",
            w.i32.rule.as_str(),
            percent(w.i32.value),
            percent(Some(w.i32.target)),
            "%",
            Outcome::of(w.i32.value, w.i32.met),
        ),
    ] {
        indicators.push_str(&row(&[
            id.into(),
            name.into(),
            rule.into(),
            value,
            target,
            unit.into(),
            // Empty, not `false`, when there is nothing to judge.
            match outcome {
                Outcome::Met => "true".into(),
                Outcome::NotMet => "false".into(),
                Outcome::NoData => String::new(),
            },
            simulated::verdict(outcome, share).text,
        ]));
    }
    let mut i26 = headers(&[
        "站点编号 site_id",
        "站点 site_name",
        "类别 category",
        "运营商 carrier",
        "运营商编号 carrier_id",
        "测试次数 tests",
        "平均下载速率（Mbit/s） mean_mbps",
    ]);
    for r in &w.i26.sites {
        i26.push_str(&row(&[
            r.site_id.clone(),
            r.site_name.clone(),
            r.category.clone(),
            carrier(&r.carrier),
            r.carrier.clone(),
            r.tests.to_string(),
            format!("{:.2}", r.mean_mbps),
        ]));
    }
    let mut i33 = headers(&[
        "站点编号 site_id",
        "站点 site_name",
        "类别 category",
        "站点已覆盖 site_covered",
        "无数据 no_data",
        "运营商 carrier",
        "运营商编号 carrier_id",
        "样本数 samples",
        "5G达标样本数 meeting_5g",
        "5G达标样本占比（%） share_percent",
        "该运营商覆盖 carrier_covers",
    ]);
    for r in &w.i33.sites {
        let site = [
            r.site_id.clone(),
            r.site_name.clone(),
            r.category.clone(),
            r.covered.to_string(),
            r.no_data.to_string(),
        ];
        if r.carriers.is_empty() {
            i33.push_str(&row(&[
                &site[..],
                &[
                    String::new(),
                    String::new(),
                    "0".into(),
                    "0".into(),
                    String::new(),
                    "false".into(),
                ],
            ]
            .concat()));
        }
        for c in &r.carriers {
            let cell = [
                carrier(&c.carrier),
                c.carrier.clone(),
                c.samples.to_string(),
                c.meeting.to_string(),
                percent(Some(c.share)),
                c.covered.to_string(),
            ];
            i33.push_str(&row(&[&site[..], &cell[..]].concat()));
        }
    }
    let mut i32 = headers(&[
        "网址 url",
        "网站 name",
        "类型 kind",
        "状态 status",
        "原因 reason",
        "检测时间（UTC） checked_at",
    ]);
    for r in &w.i32.sites {
        let kind = serde_json::to_value(r.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let status = serde_json::to_value(r.status)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        i32.push_str(&row(&[
            r.url.clone(),
            r.name.clone(),
            kind,
            status,
            r.reason.clone().unwrap_or_default(),
            r.checked_at.clone().unwrap_or_default(),
        ]));
    }
    let mut carriers = headers(&[
        "运营商 carrier",
        "运营商编号 carrier_id",
        "I26 平均下载速率（Mbit/s） i26_mbps",
        "I33 5G覆盖率（%） i33_percent",
    ]);
    for c in w.carriers() {
        let speed = mbps(w.i26.by_carrier.get(&c).copied());
        let coverage = percent(w.i33.by_carrier.get(&c).copied());
        carriers.push_str(&row(&[carrier(&c), c, speed, coverage]));
    }
    vec![
        ("indicators.csv", indicators),
        ("by_carrier.csv", carriers),
        ("i26_sites.csv", i26),
        ("i33_sites.csv", i33),
        ("i32_websites.csv", i32),
    ]
}

fn completeness(w: &WeekIndicators) -> String {
    let c = w.completeness;
    let mut completeness = headers(&["项目 item", "编号 id", "详情 detail"]);
    for (item, n) in [
        ("本周结果数 results", c.results),
        ("模拟数据结果数 simulated_results", c.simulated),
        ("时钟未同步未计入 clock_unsynced_results", c.clock_unsynced),
        ("按接收时间校正 time_corrected_results", c.time_corrected),
    ] {
        completeness.push_str(&row(&[item.into(), String::new(), n.to_string()]));
    }
    for p in &w.silent_probes {
        completeness.push_str(&row(&[
            "静默探针 silent_probe".into(),
            p.probe_id.clone(),
            p.site_id.clone(),
        ]));
    }
    for s in &w.sites_without_data {
        completeness.push_str(&row(&[
            "无数据站点 site_without_data".into(),
            s.clone(),
            String::new(),
        ]));
    }
    completeness
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_with_commas_and_quotes_are_quoted() {
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("plain"), "plain");
        assert_eq!(row(&["x".into(), "y,z".into()]), "x,\"y,z\"\r\n");
    }

    #[test]
    fn added_columns_frame_every_record_even_with_line_breaks_in_fields() {
        let table = row(&["a".into(), "b".into()]) + &row(&["1".into(), "x\r\ny \"q\"".into()]);
        assert_eq!(
            with_columns(&table, ("周 week", "2026-W48"), Some(("sim", "99.60"))),
            "周 week,a,b,sim\r\n2026-W48,1,\"x\r\ny \"\"q\"\"\",99.60\r\n"
        );
        assert_eq!(
            with_columns(&table, ("w", "1"), None),
            "w,a,b\r\n1,1,\"x\r\ny \"\"q\"\"\"\r\n"
        );
    }

    /// OWASP's list: a text cell starting =, +, -, @, tab or CR is prefixed with a quote;
    /// numbers, negative ones included, stay numbers.
    #[test]
    fn formula_cells_are_neutralised_and_numbers_are_not() {
        assert_eq!(
            field("=HYPERLINK(\"http://x.test\",\"点我\")"),
            "\"'=HYPERLINK(\"\"http://x.test\"\",\"\"点我\"\")\""
        );
        assert_eq!(field("+cmd|' /C calc'!A0"), "'+cmd|' /C calc'!A0");
        assert_eq!(field("-2+3+cmd"), "'-2+3+cmd");
        assert_eq!(field("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(field("\t=1"), "'\t=1");
        assert_eq!(field("\r=1"), "\"'\r=1\"");
        assert_eq!(field("-3.5"), "-3.5");
        assert_eq!(field("-105"), "-105");
        assert_eq!(field("+8"), "+8");
        assert_eq!(field("a=b"), "a=b");
        assert_eq!(field(""), "");
    }
}
