//! CSV files of the report's tables (RFC 4180 quoting).

use crate::indicators::{WeekIndicators, simulated};

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
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

fn opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.4}")).unwrap_or_default()
}

/// `(file name, contents)` of every table. Every row of the indicator tables ends with the
/// week's `simulated_share`, so a table pasted elsewhere still says its numbers include
/// simulated results; `indicators.csv` adds the verdict in words, qualified the same way.
pub fn tables(w: &WeekIndicators) -> Vec<(&'static str, String)> {
    let share = simulated::share(w.completeness);
    let sim = opt(share);
    let mut out = indicator_tables(w, share);
    for (_, table) in &mut out {
        *table = with_column(table, "simulated_share", &sim);
    }
    out.push(("completeness.csv", completeness(w)));
    out
}

/// `table` with one more column, `name` in the header and `value` in every row. A CRLF inside
/// a quoted field (a probe's text may hold one) is part of the field, not a row's end.
fn with_column(table: &str, name: &str, value: &str) -> String {
    let mut out = String::with_capacity(table.len() + 16 * table.lines().count());
    let (mut quoted, mut header) = (false, true);
    let mut chars = table.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            // An escaped quote ("") toggles twice and leaves the state as it was.
            quoted = !quoted;
        }
        if !quoted && c == '\r' && chars.peek() == Some(&'\n') {
            chars.next();
            out.push(',');
            out.push_str(&field(if header { name } else { value }));
            out.push_str("\r\n");
            header = false;
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
    let mut indicators =
        row(&["id", "name", "formula", "value", "target", "met", "verdict"].map(String::from));
    for (id, name, rule, value, target, met) in [
        (
            "I26",
            "移动通信网络平均下载速率 (Mbit/s)",
            w.i26.rule,
            w.i26.value,
            w.i26.target,
            w.i26.met,
        ),
        (
            "I33",
            "城区重点公共区域5G网络覆盖率",
            w.i33.rule.as_str(),
            w.i33.value,
            w.i33.target,
            w.i33.met,
        ),
        (
            "I32",
            "IPv6网站支持率",
            w.i32.rule.as_str(),
            w.i32.value,
            w.i32.target,
            w.i32.met,
        ),
    ] {
        indicators.push_str(&row(&[
            id.into(),
            name.into(),
            rule.into(),
            opt(value),
            format!("{target}"),
            met.to_string(),
            simulated::verdict(met, share).text,
        ]));
    }
    let mut i26 = row(&[
        "site_id",
        "site_name",
        "category",
        "carrier",
        "tests",
        "mean_mbps",
    ]
    .map(String::from));
    for r in &w.i26.sites {
        i26.push_str(&row(&[
            r.site_id.clone(),
            r.site_name.clone(),
            r.category.clone(),
            r.carrier.clone(),
            r.tests.to_string(),
            format!("{:.2}", r.mean_mbps),
        ]));
    }
    let mut i33 = row(&[
        "site_id",
        "site_name",
        "category",
        "site_covered",
        "no_data",
        "carrier",
        "samples",
        "meeting_5g",
        "share",
        "carrier_covers",
    ]
    .map(String::from));
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
                c.carrier.clone(),
                c.samples.to_string(),
                c.meeting.to_string(),
                format!("{:.4}", c.share),
                c.covered.to_string(),
            ];
            i33.push_str(&row(&[&site[..], &cell[..]].concat()));
        }
    }
    let mut i32 = row(&["url", "name", "kind", "status", "reason", "checked_at"].map(String::from));
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
    let mut carriers = row(&["carrier", "i26_mbps", "i33_share"].map(String::from));
    for c in w.carriers() {
        let speed = opt(w.i26.by_carrier.get(&c).copied());
        let coverage = opt(w.i33.by_carrier.get(&c).copied());
        carriers.push_str(&row(&[c, speed, coverage]));
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
    let mut completeness = row(&["item", "id", "detail"].map(String::from));
    for (item, n) in [
        ("results", c.results),
        ("simulated_results", c.simulated),
        ("clock_unsynced_results", c.clock_unsynced),
        ("time_corrected_results", c.time_corrected),
    ] {
        completeness.push_str(&row(&[item.into(), String::new(), n.to_string()]));
    }
    for p in &w.silent_probes {
        completeness.push_str(&row(&[
            "silent_probe".into(),
            p.probe_id.clone(),
            p.site_id.clone(),
        ]));
    }
    for s in &w.sites_without_data {
        completeness.push_str(&row(&[
            "site_without_data".into(),
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
    fn an_added_column_ends_every_record_even_with_line_breaks_in_fields() {
        let table = row(&["a".into(), "b".into()]) + &row(&["1".into(), "x\r\ny \"q\"".into()]);
        assert_eq!(
            with_column(&table, "simulated_share", "0.9960"),
            "a,b,simulated_share\r\n1,\"x\r\ny \"\"q\"\"\",0.9960\r\n"
        );
    }
}
