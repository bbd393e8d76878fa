//! `index.html`: the week's report for the bureau, self-contained, in Chinese with English beside.

use super::Lang;
use crate::config::CollectorConfig;
use crate::indicators::WeekIndicators;
use crate::indicators::i32::Ipv6Status;
use crate::indicators::simulated;
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use fathom_shared::{Carrier, IsoWeek};
use std::fmt::Write as _;

/// Appends a line to a `String`, which cannot fail.
macro_rules! put {
    ($($arg:tt)*) => {
        writeln!($($arg)*).expect("writing to a String cannot fail")
    };
}

/// Escapes text for HTML.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A carrier as people name it (中国移动), not its id (cmcc).
pub fn carrier_name(id: &str) -> String {
    id.parse::<Carrier>()
        .map_or_else(|_| id.to_owned(), |c| c.name_zh().to_owned())
}

/// A site by its configured name; the id only for a site the configuration no longer has.
pub fn site_name(config: &CollectorConfig, id: &str) -> String {
    config
        .sites
        .iter()
        .find(|s| s.id.as_str() == id)
        .map_or_else(|| id.to_owned(), |s| s.name.clone())
}

/// The zone as the bureau says it: 北京时间 for Asia/Shanghai, else its IANA name.
pub fn zone_name(tz: Tz) -> String {
    if tz == chrono_tz::Asia::Shanghai {
        "北京时间".to_owned()
    } else {
        tz.name().to_owned()
    }
}

/// An instant as wall-clock time in `tz`, `2026-11-16 00:00`.
pub fn local_time(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string()
}

/// A stored RFC 3339 time (the API's UTC strings) as wall-clock time in `tz`; a string that
/// does not parse is shown as it is.
pub fn local_str(s: &str, tz: Tz) -> String {
    DateTime::parse_from_rfc3339(s)
        .map_or_else(|_| s.to_owned(), |t| local_time(t.with_timezone(&Utc), tz))
}

/// The week's window in the county's wall-clock time: a week starting Monday 00:00 in Beijing
/// shows as that, not as Sunday 16:00Z.
pub fn window_text(week: IsoWeek, tz: Tz) -> String {
    let (start, end) = week.window(tz);
    format!(
        "{} 至 {}（{}，周一 00:00 至下周一 00:00）",
        local_time(start, tz),
        local_time(end, tz),
        zone_name(tz)
    )
}

fn category_name(id: &str) -> String {
    fathom_shared::SiteCategory::ALL
        .iter()
        .find(|c| c.id() == id)
        .map_or_else(|| id.to_owned(), |c| c.name_zh().to_owned())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "无数据 no data".to_owned(), simulated::percent)
}

/// The verdict cell; on a week with simulated results it says so (see [`simulated::verdict`]).
fn met(m: bool, share: Option<f64>) -> String {
    let v = simulated::verdict(m, share);
    format!("<td class={}>{}</td>", v.class, esc(&v.text))
}

/// The banner at the top of a page whose numbers include simulated results; empty otherwise.
/// It sits above the indicators, where the eye lands, because a note at the bottom of a long
/// page was missed.
pub fn simulated_banner(w: &WeekIndicators) -> String {
    simulated::warning(simulated::share(w.completeness)).map_or_else(String::new, |text| {
        format!(
            "<p id=simulated-banner class=banner role=alert>⚠ {} <span class=note>{} of {} results this week are simulated (demo or backfill), not field measurements.</span></p>",
            esc(&text),
            w.completeness.simulated,
            w.completeness.results
        )
    })
}

/// The simulated-data note of a figure's caption, or nothing.
fn figure_note(note: Option<&str>) -> String {
    note.map_or_else(String::new, |n| {
        format!(" <strong class=simnote>{}</strong>", esc(n))
    })
}

/// A figure of the report: the PNG beside the page, with a link to its SVG; `note` says the
/// chart includes simulated data (the chart itself carries it too).
pub fn figure_img(stem: &str, caption: &str, note: Option<&str>) -> String {
    format!(
        "<figure><img src=\"{0}.png\" alt=\"{1}\"><figcaption>{1}{2} (<a href=\"{0}.svg\">SVG</a>)</figcaption></figure>\n",
        esc(stem),
        esc(caption),
        figure_note(note)
    )
}

/// A figure of the dashboard: the SVG inline, so the page needs no other request.
pub fn figure_inline(stem: &str, caption: &str, note: Option<&str>, svg: &str) -> String {
    // Drop the XML prolog, if any: inside HTML only the <svg> element belongs.
    let svg = svg.find("<svg").map_or(svg, |i| &svg[i..]);
    format!(
        "<figure class=chart id=\"chart-{0}\">{svg}<figcaption>{1}{2}</figcaption></figure>\n",
        esc(stem),
        esc(caption),
        figure_note(note)
    )
}

/// Every page's viewport: without it a phone lays the page out 980 px wide and shrinks it
/// to illegible text.
pub const VIEWPORT: &str =
    r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#;

/// What keeps a page within a phone's width (360–390 px): wide tables scroll inside their own
/// box (`.scroll`) so the page itself never scrolls sideways, charts shrink to the width, and
/// the indicator table turns into one card per indicator with each value labelled, because
/// the verdict is what a phone reader came for and must not sit off-screen.
pub const PHONE_CSS: &str = "\
.scroll{overflow-x:auto;max-width:100%}.scroll table{margin:0}.scroll{margin:1em 0}
td.formula{min-width:12em;max-width:36em;overflow-wrap:anywhere;font-size:90%}
figure{margin:1em 0}nav p a{display:inline-block;margin:.2em .6em .2em 0}
@media (max-width:640px){
body{margin:.6em}h1{font-size:1.35em}h1 small{display:block;font-size:.6em}td,th{padding:3px 6px}
#indicators,#indicators tbody,#indicators tr,#indicators td{display:block;width:auto;max-width:none;min-width:0}
#indicators tr:first-child{display:none}
#indicators tr{border:1px solid #bbb;margin:.6em 0;padding:.3em .5em}
#indicators td{border:0;padding:2px 0}
#indicators td:nth-child(1){font-weight:bold}
#indicators td:nth-child(3)::before{content:\"公式 formula：\";color:#666}
#indicators td:nth-child(4)::before{content:\"数值 value：\";color:#666}
#indicators td:nth-child(5)::before{content:\"目标 target：\";color:#666}
#indicators td:nth-child(6)::before{content:\"是否达标 met：\";color:#666;font-weight:normal}
}";

/// The page. `figures` is the charts' HTML (see [`figure_img`] and [`figure_inline`]), `nav`
/// HTML put under the heading (the dashboard's week picker and carrier filter), `font_url` a
/// URL of the embedded CJK font, for browsers without one (the dashboard serves it; the report
/// inlines a subset of the page's glyphs as a `data:` URL).
#[expect(
    clippy::too_many_lines,
    reason = "one table after another reads best in one place"
)]
pub fn page(
    w: &WeekIndicators,
    config: &CollectorConfig,
    figures: &str,
    nav: &str,
    lang: Lang,
    font_url: Option<&str>,
) -> String {
    let mut h = String::new();
    let font_css = font_url.map_or_else(String::new, |url| {
        format!(
            "@font-face{{font-family:FathomCJK;src:url(\"{}\")}}\nbody,select,button,svg text{{font-family:FathomCJK,sans-serif!important}}\n",
            esc(url)
        )
    });
    let share = simulated::share(w.completeness);
    let i26v = w
        .i26
        .value
        .map_or_else(|| "无数据 no data".to_owned(), |v| format!("{v:.1} Mbit/s"));
    put!(
        h,
        r#"<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">{VIEWPORT}
<title>{county} {week} 网络指标周报 · network indicators</title>
<style>
body{{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #bbb;padding:4px 10px;text-align:left}}
th{{background:#f0f0f0}}.ok{{color:#0a7a2f;font-weight:bold}}.no{{color:#b00020;font-weight:bold}}
.sim{{color:#777;background:#eee;font-weight:bold}}
.simnote{{color:#b00020}}.banner{{background:#fff3cd;border:2px solid #b00020;color:#7a0010;padding:.6em 1em;font-size:110%;font-weight:bold}}
{font_css}.note{{color:#666;font-size:90%}}img,svg{{max-width:100%;height:auto;border:1px solid #ddd;margin:.5em 0}}
nav a,nav select{{margin-right:.6em}}
{PHONE_CSS}
</style></head><body>
<h1>{county} 网络指标周报 <small>Network indicators, week {week}</small></h1>
{banner}{nav}
<p class=note>统计周期 Window: {window}</p>
<h2>指标 Indicators</h2>
<table id=indicators><tr><th>指标 id</th><th>名称 name</th><th>公式 formula</th><th>数值 value</th><th>目标 target</th><th>是否达标 met</th></tr>
<tr><td>I26</td><td>移动通信网络平均下载速率</td><td class=formula>{r26}</td><td>{i26v}</td><td>≥ {t26} Mbit/s</td>{m26}</tr>
<tr><td>I33</td><td>城区重点公共区域5G网络覆盖率</td><td class=formula>{r33}</td><td>{i33v}</td><td>≥ {t33:.0} %</td>{m33}</tr>
<tr><td>I32</td><td>IPv6网站支持率</td><td class=formula>{r32}</td><td>{i32v}</td><td>≥ {t32:.0} %</td>{m32}</tr>
</table>
"#,
        html_lang = if lang == Lang::En { "en" } else { "zh-CN" },
        county = esc(&w.county),
        week = w.week,
        window = esc(&window_text(w.week, config.timezone)),
        r26 = esc(w.i26.rule),
        r33 = esc(&w.i33.rule),
        r32 = esc(&w.i32.rule),
        t26 = w.i26.target,
        t33 = w.i33.target * 100.0,
        t32 = w.i32.target * 100.0,
        m26 = met(w.i26.met, share),
        m33 = met(w.i33.met, share),
        m32 = met(w.i32.met, share),
        banner = simulated_banner(w),
        i33v = pct(w.i33.value),
        i32v = pct(w.i32.value),
    );
    put!(
        h,
        "<h2>分运营商 By carrier</h2><div class=scroll><table><tr><th>运营商 carrier</th><th>I26 Mbit/s</th><th>I33</th></tr>"
    );
    let carriers = w.carriers();
    for c in carriers {
        let speed = w
            .i26
            .by_carrier
            .get(&c)
            .map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"));
        put!(
            h,
            "<tr><td>{}</td><td>{speed}</td><td>{}</td></tr>",
            esc(&carrier_name(&c)),
            pct(w.i33.by_carrier.get(&c).copied())
        );
    }
    put!(h, "</table></div>\n<h2>图表 Charts</h2>\n{figures}");
    put!(
        h,
        "<h2>I26 分站点 By site</h2><div class=scroll><table><tr><th>站点 site</th><th>类别 category</th><th>运营商 carrier</th><th>测试次数 tests</th><th>平均速率 mean Mbit/s</th></tr>"
    );
    for r in &w.i26.sites {
        put!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td></tr>",
            esc(&r.site_name),
            esc(&category_name(&r.category)),
            esc(&carrier_name(&r.carrier)),
            r.tests,
            r.mean_mbps
        );
    }
    put!(
        h,
        "</table></div><h2>I33 重点公共区域 Key public areas</h2><div class=scroll><table><tr><th>站点 site</th><th>类别 category</th><th>覆盖 covered</th><th>各运营商 5G达标样本/全部样本 carriers (5G samples / all)</th></tr>"
    );
    for r in &w.i33.sites {
        let cells: Vec<String> = r
            .carriers
            .iter()
            .map(|c| {
                format!(
                    "{}：{}/{}（{}）{}",
                    carrier_name(&c.carrier),
                    c.meeting,
                    c.samples,
                    simulated::percent(c.share),
                    if c.covered { " ✓" } else { "" }
                )
            })
            .collect();
        let state = if r.no_data {
            "<td class=no>无数据 no data</td>"
        } else if r.covered {
            "<td class=ok>是 yes</td>"
        } else {
            "<td class=no>否 no</td>"
        };
        put!(
            h,
            "<tr><td>{}</td><td>{}</td>{state}<td>{}</td></tr>",
            esc(&r.site_name),
            esc(&category_name(&r.category)),
            esc(&cells.join("; "))
        );
    }
    let zone = zone_name(config.timezone);
    put!(
        h,
        "</table></div><h2>I32 网站 Websites</h2><div class=scroll><table><tr><th>网站 website</th><th>状态 status</th><th>原因 reason</th><th>检测时间（{zone}） checked</th></tr>"
    );
    for r in &w.i32.sites {
        let status = match r.status {
            Ipv6Status::Supports => "<td class=ok>支持 supports</td>",
            Ipv6Status::No => "<td class=no>不支持 no</td>",
            Ipv6Status::Unknown => "<td class=no>未知 unknown</td>",
        };
        put!(
            h,
            "<tr><td>{} <span class=note>{}</span></td>{status}<td>{}</td><td>{}</td></tr>",
            esc(&r.name),
            esc(&r.url),
            esc(r.reason.as_deref().unwrap_or("")),
            esc(&r
                .checked_at
                .as_deref()
                .map_or_else(String::new, |t| local_str(t, config.timezone)))
        );
    }
    let c = w.completeness;
    put!(
        h,
        "</table></div><h2>数据完整性 Data completeness</h2><p>本周结果 results: {} · 模拟数据 simulated: {} · 时钟未同步 unsynchronised clocks: {} · 无数据重点区域 key areas without data: {} · 未知网站 websites unknown: {}</p>",
        c.results,
        c.simulated,
        c.clock_unsynced,
        w.i33.no_data_sites,
        w.i32.unknown
    );
    let probes: Vec<String> = w
        .silent_probes
        .iter()
        .map(|p| {
            format!(
                "{}（{}）",
                esc(&p.probe_id),
                esc(&site_name(config, &p.site_id))
            )
        })
        .collect();
    put!(
        h,
        "<div class=scroll><table id=completeness><tr><th>静默探针 silent probes ({})</th><td>{}</td></tr><tr><th>无数据站点 sites without data ({})</th><td>{}</td></tr><tr><th>时钟未同步、无法定时、未计入 unsynchronised clocks, not dated, left out</th><td>{}</td></tr><tr><th>按采集器接收时间校正 re-dated from the collector's receive time</th><td>{}</td></tr></table></div>",
        probes.len(),
        if probes.is_empty() {
            "—".to_owned()
        } else {
            probes.join(", ")
        },
        w.sites_without_data.len(),
        if w.sites_without_data.is_empty() {
            "—".to_owned()
        } else {
            esc(&w
                .sites_without_data
                .iter()
                .map(|id| site_name(config, id))
                .collect::<Vec<_>>()
                .join("、"))
        },
        c.clock_unsynced,
        c.time_corrected
    );
    h.push_str(&outliers_html(&w.outlier_probes));
    if let Some(text) = simulated::warning(share) {
        put!(h, "<p class=no>注意 {}</p>", esc(&text));
    }
    put!(
        h,
        "<p class=note>表格另存为 CSV（UTF-8 带 BOM，Excel 可直接打开）：indicators.csv、by_carrier.csv、i26_sites.csv、i33_sites.csv、i32_websites.csv、completeness.csv；全部数值：indicators.json。由 fathom-collector {} 生成。 Tables as CSV: indicators.csv, by_carrier.csv, i26_sites.csv, i33_sites.csv, i32_websites.csv, completeness.csv; all values: indicators.json.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// The probes whose speed results stand apart from the others' at their site and carrier
/// ([`crate::indicators::outliers`]); nothing when there are none.
fn outliers_html(outliers: &[crate::indicators::outliers::Outlier]) -> String {
    if outliers.is_empty() {
        return String::new();
    }
    let mut h = String::from(
        "<h2>离群探针 Outlier probes</h2><p class=note>该探针的平均速率与同一站点同一运营商各探针均值的中位数相差三倍以上：请核查该探针（调制解调器、天线位置或令牌是否被盗用）。其结果仍计入指标。 A probe whose mean speed is more than three times above or below the median of the probes' means at the same site and carrier (with two probes, the other's): check its modem, its antenna, or whether its token was stolen. Its results still count.</p><table id=outliers><tr><th>站点 site</th><th>运营商 carrier</th><th>探针 probe</th><th>有效测试 tests</th><th>均值 mean Mbit/s</th><th>参照：各探针均值的中位数 reference: median of the probes' means, Mbit/s (other probes)</th></tr>",
    );
    for o in outliers {
        put!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{:.1}</td><td>{:.1} ({})</td></tr>",
            esc(&o.site_id),
            esc(&carrier_name(&o.carrier)),
            esc(&o.probe_id),
            o.tests,
            o.mean_mbps,
            o.others_mbps,
            o.others
        );
    }
    h.push_str("</table>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicators::outliers::Outlier;

    #[test]
    fn outlier_probes_are_listed_escaped_and_nothing_shows_without_them() {
        assert_eq!(outliers_html(&[]), "");
        let h = outliers_html(&[Outlier {
            site_id: "county-hospital".into(),
            carrier: "cmcc".into(),
            probe_id: "<fake>".into(),
            tests: 4,
            mean_mbps: 1999.04,
            others_mbps: 87.5,
            others: 2,
        }]);
        assert!(h.contains("离群探针"), "{h}");
        assert!(h.contains("&lt;fake&gt;") && !h.contains("<fake>"), "{h}");
        assert!(h.contains("<td>1999.0</td><td>87.5 (2)</td>"), "{h}");
    }

    #[test]
    fn a_week_starting_at_midnight_in_beijing_shows_as_midnight() {
        let tz = chrono_tz::Asia::Shanghai;
        let w: IsoWeek = "2026-W48".parse().unwrap();
        assert_eq!(
            window_text(w, tz),
            "2026-11-23 00:00 至 2026-11-30 00:00（北京时间，周一 00:00 至下周一 00:00）"
        );
        assert_eq!(
            local_str("2026-11-22T16:00:00.000Z", tz),
            "2026-11-23 00:00"
        );
        assert_eq!(local_str("not a time", tz), "not a time");
        assert_eq!(zone_name(chrono_tz::Europe::Berlin), "Europe/Berlin");
    }

    #[test]
    fn carriers_by_their_names() {
        assert_eq!(carrier_name("cmcc"), "中国移动");
        assert_eq!(carrier_name("cu"), "中国联通");
        assert_eq!(carrier_name("ct"), "中国电信");
        assert_eq!(carrier_name("cbn"), "中国广电");
        assert_eq!(carrier_name("zz"), "zz");
    }
}
