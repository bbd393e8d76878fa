//! `index.html`: the week's report for the bureau, self-contained, in Chinese with English beside.

use super::Lang;
use super::change::{Unit, week_change};
use crate::config::CollectorConfig;
use crate::indicators::WeekIndicators;
use crate::indicators::i32::Ipv6Status;
use crate::indicators::i33::I33Cell;
use crate::indicators::radio_profile::RadioProfile;
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

/// One carrier at an I33 site, as the page and the PDF both write it: "中国移动：41/48（85.4%） ✓".
pub fn i33_cell_text(c: &I33Cell) -> String {
    format!(
        "{}：{}/{}（{}）{}",
        carrier_name(&c.carrier),
        c.meeting,
        c.samples,
        simulated::percent(c.share),
        if c.covered { " ✓" } else { "" }
    )
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

pub(crate) fn category_name(id: &str) -> String {
    fathom_shared::SiteCategory::ALL
        .iter()
        .find(|c| c.id() == id)
        .map_or_else(|| id.to_owned(), |c| c.name_zh().to_owned())
}

pub(crate) fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "无数据 no data".to_owned(), simulated::percent)
}

/// The verdict cell; on a week with simulated results it says so, on a week without a value it
/// says 无数据 (see [`simulated::verdict`]).
pub(crate) fn met(value: Option<f64>, m: bool, share: Option<f64>) -> String {
    let v = simulated::verdict(simulated::Outcome::of(value, m), share);
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
#indicators td:nth-child(4)::before{content:\"数值 value：\";color:#666}
#indicators td:nth-child(5)::before{content:\"较上周 vs last week：\";color:#666}
#indicators td:nth-child(6)::before{content:\"目标 target：\";color:#666}
#indicators td:nth-child(7)::before{content:\"是否达标 met：\";color:#666;font-weight:normal}
}";

/// The page on paper: A4 with margins, no navigation, forms or links list, charts as wide as
/// the paper and never cut, tables and figures kept whole where they fit, headings kept with
/// what follows, the banner and verdict colours printed.
pub const PRINT_CSS: &str = "\
@page{size:A4;margin:15mm 14mm 16mm}
@media print{
body{margin:0;font-size:10pt;-webkit-print-color-adjust:exact;print-color-adjust:exact}
nav,form,#downloads,.noprint{display:none!important}
h1{font-size:16pt}h2{font-size:12.5pt;break-after:avoid;page-break-after:avoid}
figure,figure.chart{break-inside:avoid;page-break-inside:avoid;margin:.4em 0}
img,svg{max-width:100%!important;width:100%;height:auto;border:0}
.scroll{overflow:visible!important}
table{width:100%;font-size:8.5pt}tr,td,th{break-inside:avoid;page-break-inside:avoid}
thead{display:table-header-group}
#indicators,.banner{break-inside:avoid;page-break-inside:avoid}
a{color:inherit;text-decoration:none}
}";

/// What a page shows besides the week's indicators.
#[derive(Debug, Clone, Copy)]
pub struct PageParts<'a> {
    /// The charts' HTML (see [`figure_img`] and [`figure_inline`]).
    pub figures: &'a str,
    /// HTML under the heading: the dashboard's week picker and carrier filter.
    pub nav: &'a str,
    /// The charts' language.
    pub lang: Lang,
    /// A URL of the embedded CJK font, for browsers without one (the dashboard serves it).
    pub font_url: Option<&'a str>,
    /// The week before, for the change of each indicator and carrier (▲/▼).
    pub previous: Option<&'a WeekIndicators>,
    /// Only this carrier in the tables (the headline stays the county's).
    pub carrier: Option<&'a str>,
    /// When the week is not over: the instant its data runs to.
    pub as_of: Option<DateTime<Utc>>,
    /// What each carrier's modems saw per site, to say why a site misses a target.
    pub profiles: &'a [RadioProfile],
    /// Whether site and probe names link to their dashboard pages (not in the static report).
    pub links: bool,
    /// Links to the week's files, as the HTML of a section; empty for none.
    pub downloads: &'a str,
}

impl<'a> PageParts<'a> {
    /// A page with no nav, no comparison and no links: the static report's defaults.
    pub fn plain(figures: &'a str, lang: Lang) -> Self {
        Self {
            figures,
            nav: "",
            lang,
            font_url: None,
            previous: None,
            carrier: None,
            as_of: None,
            profiles: &[],
            links: false,
            downloads: "",
        }
    }

    fn keeps(&self, carrier: &str) -> bool {
        self.carrier.is_none_or(|c| c == carrier)
    }
}

/// A site's name, linked to its page on the dashboard.
pub fn site_link(config: &CollectorConfig, id: &str, week: IsoWeek, links: bool) -> String {
    let name = esc(&site_name(config, id));
    if links {
        format!("<a href=\"/site/{}?week={week}\">{name}</a>", esc(id))
    } else {
        name
    }
}

/// A probe's id, linked to its page on the dashboard.
pub fn probe_link(id: &str, week: IsoWeek, links: bool) -> String {
    if links {
        format!("<a href=\"/probe/{0}?week={week}\">{0}</a>", esc(id))
    } else {
        esc(id)
    }
}

/// The change cell of a value against the week before.
pub(crate) fn change_cell(current: Option<f64>, previous: Option<f64>, unit: Unit) -> String {
    let c = week_change(current, previous, unit);
    format!("<td class=\"chg {}\">{}</td>", c.class, esc(&c.text))
}

/// The page's style: print view on A4 included, so a page printed from the browser keeps its
/// tables whole and its charts on the paper.
pub const PAGE_CSS: &str = "\
body{font-family:\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #bbb;padding:4px 10px;text-align:left}
th{background:#f0f0f0}.ok{color:#0a7a2f;font-weight:bold}.no{color:#b00020;font-weight:bold}
.best{background:#e3f4e8;outline:2px solid #0a7a2f}.nw{white-space:nowrap}
.sim{color:#777;background:#eee;font-weight:bold}.nodata{color:#666;background:#f2f2f2}
.chg.up{color:#0a7a2f}.chg.down{color:#b00020}.chg.flat,.chg.none{color:#666}
.simnote{color:#b00020}.banner{background:#fff3cd;border:2px solid #b00020;color:#7a0010;padding:.6em 1em;font-size:110%;font-weight:bold}
.info{background:#e8f0fe;border:1px solid #5b7fc7;padding:.5em 1em}
.note{color:#666;font-size:90%}img,svg{max-width:100%;height:auto;border:1px solid #ddd;margin:.5em 0}
nav a,nav select{margin-right:.6em}details summary{cursor:pointer;color:#1a4fa0}
";

/// The CSS that points text at the embedded CJK font, for browsers without one.
fn font_css(font_url: Option<&str>) -> String {
    font_url.map_or_else(String::new, |url| {
        format!(
            "@font-face{{font-family:FathomCJK;src:url(\"{}\")}}\nbody,select,button,svg text{{font-family:FathomCJK,sans-serif!important}}\n",
            esc(url)
        )
    })
}

/// A plain page in the dashboard's style (site, probe, map and error pages): `body` is HTML.
pub fn shell(title: &str, body: &str, font_url: Option<&str>) -> String {
    let font_css = font_css(font_url);
    format!(
        "<!doctype html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">{VIEWPORT}\n<title>{}</title>\n<style>\n{PAGE_CSS}{font_css}{PHONE_CSS}\n</style></head><body>\n{body}\n</body></html>\n",
        esc(title)
    )
}

/// The week's page. Chinese first, in the county's time, with what a reader needs beside each
/// number: how it is computed (one click), its change from the week before, whether the week is
/// complete and whether its data are simulated.
#[expect(
    clippy::too_many_lines,
    reason = "one table after another reads best in one place"
)]
pub fn page(w: &WeekIndicators, config: &CollectorConfig, parts: PageParts<'_>) -> String {
    let mut h = String::new();
    let font_css = font_css(parts.font_url);
    let share = simulated::share(w.completeness);
    let prev = parts.previous;
    let tz = config.timezone;
    let i26v = w
        .i26
        .value
        .map_or_else(|| "无数据 no data".to_owned(), |v| format!("{v:.1} Mbit/s"));
    let pairs = w.i26.sites.len();
    let how26 = format!(
        "本周有效下载测试 {} 次，{pairs} 个（站点×运营商）计入。",
        w.i26.tests
    );
    let how33 = format!(
        "本周 {} 个重点公共区域中 {} 个达到5G覆盖，{} 个无数据。",
        w.i33.key_sites, w.i33.covered_sites, w.i33.no_data_sites
    );
    let how32 = format!(
        "本周 {} 个网站中 {} 个支持IPv6，{} 个未能判定。",
        w.i32.sites.len(),
        w.i32.supporting,
        w.i32.unknown
    );
    put!(
        h,
        r#"<!doctype html>
<html lang="{html_lang}"><head><meta charset="utf-8">{VIEWPORT}
<title>{county} {week} 网络指标周报 · network indicators</title>
<style>
{PAGE_CSS}{font_css}{PHONE_CSS}
{PRINT_CSS}
</style></head><body>
<h1>{county} 网络指标周报 <small>Network indicators, week {week}</small></h1>
{banner}{nav}
<p class=note>统计周期 Window: {window}</p>
"#,
        html_lang = if parts.lang == Lang::En {
            "en"
        } else {
            "zh-CN"
        },
        county = esc(&w.county),
        week = w.week,
        window = esc(&window_text(w.week, tz)),
        banner = simulated_banner(w),
        nav = parts.nav,
    );
    if let Some(t) = parts.as_of {
        put!(
            h,
            "<p id=partial class=info>本周尚未结束：数据截至 {}（{}），以下为部分数据。 This week is not over: data up to that time.</p>",
            esc(&local_time(t, tz)),
            esc(&zone_name(tz))
        );
    }
    if let Some(c) = parts.carrier {
        let has = w.i26.by_carrier.contains_key(c) || w.i33.by_carrier.contains_key(c);
        if has {
            put!(
                h,
                "<p id=carrier-filter class=info>仅显示{}的数据；上方指标为全县总体。 Only {c}'s data below; the indicators are the county's.</p>",
                esc(&carrier_name(c))
            );
        } else {
            put!(
                h,
                "<p id=carrier-empty class=banner role=status>{}本周无数据：本周没有它的下载测试或5G采样结果，下表和图表中不含该运营商。 No data for this carrier this week.</p>",
                esc(&carrier_name(c))
            );
        }
    }
    put!(
        h,
        "<h2>指标 Indicators</h2>
<table id=indicators><tr><th>指标 id</th><th>名称 name</th><th>公式 formula</th><th>数值 value</th><th>较上周 vs last week</th><th>目标 target</th><th>是否达标 met</th></tr>
<tr><td>I26</td><td>移动通信网络平均下载速率</td><td class=formula><details id=how-I26><summary>怎么算 how</summary>{r26}<br>{how26}</details></td><td>{i26v}</td>{c26}<td>≥ {t26} Mbit/s</td>{m26}</tr>
<tr><td>I33</td><td>城区重点公共区域5G网络覆盖率</td><td class=formula><details id=how-I33><summary>怎么算 how</summary>{r33}<br>{how33}</details></td><td>{i33v}</td>{c33}<td>≥ {t33:.0} %</td>{m33}</tr>
<tr><td>I32</td><td>IPv6网站支持率</td><td class=formula><details id=how-I32><summary>怎么算 how</summary>{r32}<br>{how32}</details></td><td>{i32v}</td>{c32}<td>≥ {t32:.0} %</td>{m32}</tr>
</table>
",
        r26 = esc(w.i26.rule),
        r33 = esc(&w.i33.rule),
        r32 = esc(&w.i32.rule),
        how26 = esc(&how26),
        how33 = esc(&how33),
        how32 = esc(&how32),
        c26 = change_cell(w.i26.value, prev.and_then(|p| p.i26.value), Unit::Mbps),
        c33 = change_cell(w.i33.value, prev.and_then(|p| p.i33.value), Unit::Share),
        c32 = change_cell(w.i32.value, prev.and_then(|p| p.i32.value), Unit::Share),
        t26 = w.i26.target,
        t33 = w.i33.target * 100.0,
        t32 = w.i32.target * 100.0,
        m26 = met(w.i26.value, w.i26.met, share),
        m33 = met(w.i33.value, w.i33.met, share),
        m32 = met(w.i32.value, w.i32.met, share),
        i33v = pct(w.i33.value),
        i32v = pct(w.i32.value),
    );
    // What the numbers rest on, beside them: a reader who sees 达标 must also see that three
    // probes were silent.
    let c = w.completeness;
    put!(
        h,
        "<p id=headline-completeness class=note>数据完整性：本周结果 {} 条（模拟 {}）· 静默探针 {} 个 · 无数据站点 {} 个 · 按接收时间校正 {} 条 · 时钟未同步未计入 {} 条 · <a href=\"#completeness\">详情 details</a></p>",
        c.results,
        c.simulated,
        w.silent_probes.len(),
        w.sites_without_data.len(),
        c.time_corrected,
        c.clock_unsynced
    );
    put!(
        h,
        "<h2>分运营商 By carrier</h2><div class=scroll><table id=by-carrier><tr><th>运营商 carrier</th><th>I26 Mbit/s</th><th>较上周</th><th>I33</th><th>较上周</th></tr>"
    );
    for c in w.carriers().into_iter().filter(|c| parts.keeps(c)) {
        let speed = w.i26.by_carrier.get(&c).copied();
        let cov = w.i33.by_carrier.get(&c).copied();
        put!(
            h,
            "<tr><td>{}</td><td>{}</td>{}<td>{}</td>{}</tr>",
            esc(&carrier_name(&c)),
            speed.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}")),
            change_cell(
                speed,
                prev.and_then(|p| p.i26.by_carrier.get(&c).copied()),
                Unit::Mbps
            ),
            pct(cov),
            change_cell(
                cov,
                prev.and_then(|p| p.i33.by_carrier.get(&c).copied()),
                Unit::Share
            ),
        );
    }
    put!(h, "</table></div>");
    h.push_str(&weakest_sites_html(w, config, &parts));
    put!(h, "<h2>图表 Charts</h2>\n{}", parts.figures);
    put!(
        h,
        "<h2>I26 分站点 By site</h2><div class=scroll><table id=i26-sites><tr><th>站点 site</th><th>类别 category</th><th>运营商 carrier</th><th>测试次数 tests</th><th>平均速率 mean Mbit/s</th></tr>"
    );
    for r in w.i26.sites.iter().filter(|r| parts.keeps(&r.carrier)) {
        let below = if r.mean_mbps < w.i26.target {
            " class=no"
        } else {
            ""
        };
        put!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td{below}>{:.1}</td></tr>",
            site_link(config, &r.site_id, w.week, parts.links),
            esc(&category_name(&r.category)),
            esc(&carrier_name(&r.carrier)),
            r.tests,
            r.mean_mbps
        );
    }
    put!(
        h,
        "</table></div><h2>I33 重点公共区域 Key public areas</h2><div class=scroll><table id=i33-sites><tr><th>站点 site</th><th>类别 category</th><th>覆盖 covered</th><th>各运营商 5G达标样本/全部样本 carriers (5G samples / all)</th></tr>"
    );
    for r in &w.i33.sites {
        let cells: Vec<String> = r
            .carriers
            .iter()
            .filter(|c| parts.keeps(&c.carrier))
            .map(i33_cell_text)
            .collect();
        // With a carrier chosen, "covered" is that carrier's own verdict at the site.
        let (no_data, covered) = match parts.carrier {
            None => (r.no_data, r.covered),
            Some(k) => r
                .carriers
                .iter()
                .find(|c| c.carrier == k)
                .map_or((true, false), |c| (false, c.covered)),
        };
        let state = if no_data {
            "<td class=nodata>无数据 no data</td>"
        } else if covered {
            "<td class=ok>是 yes</td>"
        } else {
            "<td class=no>否 no</td>"
        };
        put!(
            h,
            "<tr><td>{}</td><td>{}</td>{state}<td>{}</td></tr>",
            site_link(config, &r.site_id, w.week, parts.links),
            esc(&category_name(&r.category)),
            esc(&cells.join("; "))
        );
    }
    let zone = zone_name(tz);
    put!(
        h,
        "</table></div><h2>I32 网站 Websites</h2>{}<div class=scroll><table id=i32-websites><tr><th>网站 website</th><th>状态 status</th><th>原因 reason</th><th>检测时间（{zone}） checked</th></tr>",
        if parts.carrier.is_some() {
            "<p class=note>I32 按网站判定，汇总各运营商的检测结果，不随运营商筛选。 I32 is judged per website over every carrier's checks.</p>"
        } else {
            ""
        }
    );
    for r in &w.i32.sites {
        let status = match r.status {
            Ipv6Status::Supports => "<td class=ok>支持 supports</td>",
            Ipv6Status::No => "<td class=no>不支持 no</td>",
            Ipv6Status::Unknown => "<td class=nodata>未知 unknown</td>",
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
                .map_or_else(String::new, |t| local_str(t, tz)))
        );
    }
    put!(
        h,
        "</table></div><h2 id=completeness>数据完整性 Data completeness</h2><p>本周结果 results: {} · 模拟数据 simulated: {} · 时钟未同步 unsynchronised clocks: {} · 无数据重点区域 key areas without data: {} · 未知网站 websites unknown: {}</p>",
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
                probe_link(&p.probe_id, w.week, parts.links),
                site_link(config, &p.site_id, w.week, parts.links)
            )
        })
        .collect();
    let without: Vec<String> = w
        .sites_without_data
        .iter()
        .map(|id| site_link(config, id, w.week, parts.links))
        .collect();
    put!(
        h,
        "<div class=scroll><table id=completeness-table><tr><th>静默探针 silent probes ({})</th><td>{}</td></tr><tr><th>无数据站点 sites without data ({})</th><td>{}</td></tr><tr><th>时钟未同步、无法定时、未计入 unsynchronised clocks, not dated, left out</th><td>{}</td></tr><tr><th>按采集器接收时间校正 re-dated from the collector's receive time</th><td>{}</td></tr></table></div>",
        probes.len(),
        if probes.is_empty() {
            "—".to_owned()
        } else {
            probes.join(", ")
        },
        without.len(),
        if without.is_empty() {
            "—".to_owned()
        } else {
            without.join("、")
        },
        c.clock_unsynced,
        c.time_corrected
    );
    h.push_str(&outliers_html(w, config, &parts));
    if let Some(text) = simulated::warning(share) {
        put!(h, "<p class=no>注意 {}</p>", esc(&text));
    }
    h.push_str(parts.downloads);
    put!(
        h,
        "<p class=note>由 fathom-collector {} 生成。 Made by fathom-collector.</p></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    h
}

/// Per carrier, the sites where it falls short this week and why: below the I26 target, or
/// not meeting the 5G rule at a key public area, with what its modems saw there (the share
/// of samples on 5G and the median signal). What an operator opens the page for.
fn weakest_sites_html(
    w: &WeekIndicators,
    config: &CollectorConfig,
    parts: &PageParts<'_>,
) -> String {
    let profile = |site: &str, carrier: &str| {
        parts
            .profiles
            .iter()
            .find(|p| p.site_id == site && p.carrier == carrier)
    };
    let why = |site: &str, carrier: &str| {
        profile(site, carrier).map_or_else(
            || "无5G采样 no radio samples".to_owned(),
            |p| {
                let dbm = |v: Option<f64>, unit: &str| {
                    v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0} {unit}"))
                };
                format!(
                    "5G样本 {}（SA {} · NSA {} · 4G {} · 无服务/其他 {}）；RSRP 中位数 {}，SINR 中位数 {}",
                    p.nr_share().map_or_else(|| "—".to_owned(), simulated::percent),
                    p.nr_sa,
                    p.nr_nsa,
                    p.lte,
                    p.other,
                    dbm(p.rsrp_median_dbm, "dBm"),
                    dbm(p.sinr_median_db, "dB")
                )
            },
        )
    };
    let mut rows = String::new();
    for carrier in w.carriers().into_iter().filter(|c| parts.keeps(c)) {
        let mut slow: Vec<_> = w
            .i26
            .sites
            .iter()
            .filter(|r| r.carrier == carrier && r.mean_mbps < w.i26.target)
            .collect();
        slow.sort_by(|a, b| a.mean_mbps.total_cmp(&b.mean_mbps));
        for r in slow {
            put!(
                rows,
                "<tr><td>{}</td><td>{}</td><td class=no>下载 {:.1} Mbit/s &lt; {} （{} 次测试）</td><td>{}</td></tr>",
                esc(&carrier_name(&carrier)),
                site_link(config, &r.site_id, w.week, parts.links),
                r.mean_mbps,
                w.i26.target,
                r.tests,
                esc(&why(&r.site_id, &carrier))
            );
        }
        for r in &w.i33.sites {
            let Some(cell) = r.carriers.iter().find(|c| c.carrier == carrier) else {
                continue;
            };
            if cell.covered {
                continue;
            }
            put!(
                rows,
                "<tr><td>{}</td><td>{}</td><td class=no>5G达标样本 {}/{}（{}）未达覆盖条件</td><td>{}</td></tr>",
                esc(&carrier_name(&carrier)),
                site_link(config, &r.site_id, w.week, parts.links),
                cell.meeting,
                cell.samples,
                simulated::percent(cell.share),
                esc(&why(&r.site_id, &carrier))
            );
        }
    }
    if rows.is_empty() {
        return String::new();
    }
    format!(
        "<h2 id=weakest>各运营商薄弱站点 Where each carrier falls short</h2><p class=note>本周低于 I26 目标（{} Mbit/s）或未满足 I33 5G 覆盖条件的站点，及其调制解调器所见：5G 样本占比、各网络制式样本数与信号中位数。</p><div class=scroll><table id=weakest-sites><tr><th>运营商 carrier</th><th>站点 site</th><th>问题 shortfall</th><th>原因线索 why (radio)</th></tr>{rows}</table></div>\n",
        w.i26.target
    )
}

/// The "下载 Downloads" section: a link to every file of the week, `href` giving each file
/// name's address (the file itself beside the report's `index.html`, an export route on the
/// dashboard).
pub fn downloads(href: &dyn Fn(&str) -> String) -> String {
    let link = |name: &str, label: &str| {
        format!(
            "<a class=download href=\"{}\" download>{}</a>",
            esc(&href(name)),
            esc(label)
        )
    };
    let mut h = String::from("<section id=downloads><h2>下载 Downloads</h2>\n<p>报告 report: ");
    h.push_str(&link(super::PDF_NAME, "PDF 打印版 report.pdf"));
    h.push_str(" · 全部数值 all values: ");
    h.push_str(&link("indicators.json", "indicators.json"));
    h.push_str("</p>\n<p>表格 tables（CSV，UTF-8 带 BOM，Excel 可直接打开）: ");
    let tables: Vec<String> = super::csv::TABLES.iter().map(|t| link(t, t)).collect();
    h.push_str(&tables.join(" · "));
    h.push_str("</p>\n<p>图表 charts: ");
    let charts: Vec<String> = super::CHART_STEMS
        .iter()
        .map(|stem| {
            format!(
                "{stem} ({} {})",
                link(&format!("{stem}.png"), "PNG"),
                link(&format!("{stem}.svg"), "SVG")
            )
        })
        .collect();
    h.push_str(&charts.join(" · "));
    h.push_str("</p></section>\n");
    h
}

/// The probes whose speed results stand apart from the others' at their site and carrier
/// ([`crate::indicators::outliers`]); nothing when there are none.
fn outliers_html(w: &WeekIndicators, config: &CollectorConfig, parts: &PageParts<'_>) -> String {
    let outliers = &w.outlier_probes;
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
            site_link(config, &o.site_id, w.week, parts.links),
            esc(&carrier_name(&o.carrier)),
            probe_link(&o.probe_id, w.week, parts.links),
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

    fn example_config() -> CollectorConfig {
        CollectorConfig::from_toml(
            include_str!("../../collector.example.toml"),
            std::path::Path::new("c.toml"),
            std::env::temp_dir(),
        )
        .unwrap()
    }

    /// A week computed from no results at all.
    fn empty_week(config: &CollectorConfig) -> WeekIndicators {
        let week: IsoWeek = "2026-W48".parse().unwrap();
        crate::indicators::compute_week(
            config,
            week,
            week.window(config.timezone),
            crate::indicators::WeekInputs::default(),
        )
    }

    #[test]
    fn outlier_probes_are_listed_escaped_and_linked_and_nothing_shows_without_them() {
        let config = example_config();
        let mut w = empty_week(&config);
        let parts = PageParts {
            links: true,
            ..PageParts::plain("", Lang::Zh)
        };
        assert_eq!(outliers_html(&w, &config, &parts), "");
        w.outlier_probes.push(Outlier {
            site_id: "county-hospital".into(),
            carrier: "cmcc".into(),
            probe_id: "<fake>".into(),
            tests: 4,
            mean_mbps: 1999.04,
            others_mbps: 87.5,
            others: 2,
        });
        let h = outliers_html(&w, &config, &parts);
        assert!(h.contains("离群探针"), "{h}");
        assert!(h.contains("&lt;fake&gt;") && !h.contains("<fake>"), "{h}");
        assert!(h.contains("<td>1999.0</td><td>87.5 (2)</td>"), "{h}");
        assert!(
            h.contains("<a href=\"/site/county-hospital?week=2026-W48\">沂源县人民医院</a>"),
            "{h}"
        );
        assert!(
            h.contains("<a href=\"/probe/&lt;fake&gt;?week=2026-W48\">"),
            "{h}"
        );
    }

    #[test]
    fn a_week_without_data_says_no_data_in_grey_never_a_red_not_met() {
        let config = example_config();
        let w = empty_week(&config);
        let page = page(&w, &config, PageParts::plain("", Lang::Zh));
        let table = &page[page.find("<table id=indicators>").unwrap()..];
        let table = &table[..table.find("</table>").unwrap()];
        assert_eq!(
            table
                .matches("<td class=nodata>无数据 no data</td>")
                .count(),
            3,
            "{table}"
        );
        assert!(!page.contains("未达标"), "{page}");
    }

    #[test]
    fn a_week_not_over_says_how_far_its_data_go() {
        let config = example_config();
        let w = empty_week(&config);
        let t = DateTime::parse_from_rfc3339("2026-11-25T06:30:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let page = page(
            &w,
            &config,
            PageParts {
                as_of: Some(t),
                ..PageParts::plain("", Lang::Zh)
            },
        );
        assert!(
            page.contains("本周尚未结束：数据截至 2026-11-25 14:30（北京时间）"),
            "{page}"
        );
        let done = super::page(&w, &config, PageParts::plain("", Lang::Zh));
        assert!(!done.contains("id=partial"));
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
