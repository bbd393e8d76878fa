//! `report.pdf`: the week's report on A4 pages, written by the collector itself with krilla
//! (typst's PDF writer): the embedded CJK font, subset, for every text, and the charts' SVGs
//! placed as vectors through krilla-svg. No browser is involved.
//!
//! [`blocks`] says what the report holds, in the order and words of `index.html`; [`layout`]
//! places it on pages (pure, unit-tested); `render` draws the pages.

pub mod layout;

use super::charts::{self, FONT};
use super::html::{
    carrier_name, category_name, i33_cell_text, local_str, pct, site_name, window_text,
};
use crate::config::CollectorConfig;
use crate::indicators::WeekIndicators;
use crate::indicators::i32::Ipv6Status;
use crate::indicators::simulated;
use ab_glyph::{Font as _, FontRef};
use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point, Rect, Size, Transform};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, FillRule, Stroke};
use krilla::text::{Font, TextDirection};
use krilla_svg::{SurfaceExt as _, SvgSettings};
use layout::{A4, Block, Cell, Ink, Item, Layout, Page};
use std::sync::{Arc, OnceLock};

/// Why the PDF could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PdfError {
    /// The embedded font did not load.
    #[error("the embedded CJK font cannot be used for the PDF")]
    Font,
    /// A chart's SVG did not parse.
    #[error("chart {chart} cannot be placed in the PDF: {message}")]
    Svg {
        /// The chart's file stem.
        chart: String,
        /// What the SVG parser said.
        message: String,
    },
    /// krilla refused the document.
    #[error("cannot write the PDF: {0}")]
    Write(String),
}

/// One chart of the report, as the page shows it.
#[derive(Debug, Clone)]
pub struct Figure {
    /// File stem, `i26_trend`.
    pub stem: String,
    /// Title, the caption under it.
    pub caption: String,
    /// The simulated-data note, if any.
    pub note: Option<String>,
    /// The chart as SVG ([`charts::svg`]).
    pub svg: String,
}

/// The font, parsed once, for measuring text.
fn metrics() -> Result<&'static FontRef<'static>, PdfError> {
    static METRICS: OnceLock<Option<FontRef<'static>>> = OnceLock::new();
    METRICS
        .get_or_init(|| FontRef::try_from_slice(FONT).ok())
        .as_ref()
        .ok_or(PdfError::Font)
}

/// A character's advance at size 1, in the embedded font.
fn advance(font: &FontRef<'_>, c: char) -> f32 {
    let units = font.units_per_em().unwrap_or(1000.0);
    font.h_advance_unscaled(font.glyph_id(c)) / units
}

/// Characters the page uses that the embedded font has no glyph for, as the PDF writes them.
fn printable(font: &FontRef<'_>, text: &str) -> String {
    text.chars()
        .map(|c| match c {
            _ if c.is_whitespace() || font.glyph_id(c).0 != 0 => c.to_string(),
            '⚠' => "！".to_owned(),
            '✓' => "√".to_owned(),
            '≥' => ">=".to_owned(),
            '—' | '–' => "-".to_owned(),
            '·' => "|".to_owned(),
            _ => "?".to_owned(),
        })
        .collect()
}

/// Everything the PDF says about `w`, in the order of `index.html`.
#[expect(
    clippy::too_many_lines,
    reason = "one table after another, like html::page, reads best in one place"
)]
pub fn blocks(w: &WeekIndicators, config: &CollectorConfig, figures: &[Figure]) -> Vec<Block> {
    let share = simulated::share(w.completeness);
    let verdict = |value: Option<f64>, met: bool| {
        let v = simulated::verdict(simulated::Outcome::of(value, met), share);
        Cell {
            text: v.text,
            ink: match v.class {
                "ok" => Ink::Ok,
                "sim" | "nodata" => Ink::Sim,
                _ => Ink::No,
            },
        }
    };
    let mut b = vec![Block::Title(format!(
        "{} 网络指标周报 Network indicators, week {}",
        w.county, w.week
    ))];
    b.push(Block::Para {
        text: format!("统计周期 Window: {}", window_text(w.week, config.timezone)),
        ink: Ink::Muted,
    });
    if let Some(text) = simulated::warning(share) {
        b.push(Block::Banner(format!(
            "⚠ {text} {} of {} results this week are simulated (demo or backfill), not field measurements.",
            w.completeness.simulated, w.completeness.results
        )));
    }
    b.push(Block::Heading("指标 Indicators".into()));
    let i26v = w
        .i26
        .value
        .map_or_else(|| "无数据 no data".to_owned(), |v| format!("{v:.1} Mbit/s"));
    b.push(Block::Table {
        widths: vec![0.6, 2.0, 1.3, 1.2, 2.0],
        header: [
            "指标 id",
            "名称 name",
            "数值 value",
            "目标 target",
            "是否达标 met",
        ]
        .map(String::from)
        .to_vec(),
        rows: vec![
            vec![
                Cell::text("I26"),
                Cell::text("移动通信网络平均下载速率"),
                Cell::text(i26v),
                Cell::text(format!("≥ {} Mbit/s", w.i26.target)),
                verdict(w.i26.value, w.i26.met),
            ],
            vec![
                Cell::text("I33"),
                Cell::text("城区重点公共区域5G网络覆盖率"),
                Cell::text(pct(w.i33.value)),
                Cell::text(format!("≥ {:.0} %", w.i33.target * 100.0)),
                verdict(w.i33.value, w.i33.met),
            ],
            vec![
                Cell::text("I32"),
                Cell::text("IPv6网站支持率"),
                Cell::text(pct(w.i32.value)),
                Cell::text(format!("≥ {:.0} %", w.i32.target * 100.0)),
                verdict(w.i32.value, w.i32.met),
            ],
        ],
    });
    b.push(Block::Heading("公式 Formulas".into()));
    for (id, rule) in [
        ("I26", w.i26.rule),
        ("I33", w.i33.rule.as_str()),
        ("I32", w.i32.rule.as_str()),
    ] {
        b.push(Block::Para {
            text: format!("{id}：{rule}"),
            ink: Ink::Muted,
        });
    }
    b.push(Block::Heading("分运营商 By carrier".into()));
    b.push(Block::Table {
        widths: vec![2.0, 1.5, 1.5],
        header: ["运营商 carrier", "I26 Mbit/s", "I33"]
            .map(String::from)
            .to_vec(),
        rows: w
            .carriers()
            .into_iter()
            .map(|c| {
                vec![
                    Cell::text(carrier_name(&c)),
                    Cell::text(
                        w.i26
                            .by_carrier
                            .get(&c)
                            .map_or_else(|| "—".to_owned(), |v| format!("{v:.1}")),
                    ),
                    Cell::text(pct(w.i33.by_carrier.get(&c).copied())),
                ]
            })
            .collect(),
    });
    b.push(Block::Heading("图表 Charts".into()));
    for (i, f) in figures.iter().enumerate() {
        b.push(Block::Figure {
            chart: i,
            aspect: charts::SIZE.1 as f32 / charts::SIZE.0 as f32,
            caption: f.caption.clone(),
            note: f.note.clone(),
        });
    }
    b.push(Block::Heading("I26 分站点 By site".into()));
    b.push(Block::Table {
        widths: vec![2.2, 1.2, 1.2, 1.0, 1.4],
        header: [
            "站点 site",
            "类别 category",
            "运营商 carrier",
            "测试次数 tests",
            "平均速率 mean Mbit/s",
        ]
        .map(String::from)
        .to_vec(),
        rows: w
            .i26
            .sites
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.site_name),
                    Cell::text(category_name(&r.category)),
                    Cell::text(carrier_name(&r.carrier)),
                    Cell::text(r.tests.to_string()),
                    Cell::text(format!("{:.1}", r.mean_mbps)),
                ]
            })
            .collect(),
    });
    b.push(Block::Heading("I33 重点公共区域 Key public areas".into()));
    b.push(Block::Table {
        widths: vec![1.8, 1.0, 1.0, 4.0],
        header: [
            "站点 site",
            "类别 category",
            "覆盖 covered",
            "各运营商 5G达标样本/全部样本 carriers (5G samples / all)",
        ]
        .map(String::from)
        .to_vec(),
        rows: w
            .i33
            .sites
            .iter()
            .map(|r| {
                let cells: Vec<String> = r.carriers.iter().map(i33_cell_text).collect();
                let state = if r.no_data {
                    Cell {
                        text: "无数据 no data".into(),
                        ink: Ink::No,
                    }
                } else if r.covered {
                    Cell {
                        text: "是 yes".into(),
                        ink: Ink::Ok,
                    }
                } else {
                    Cell {
                        text: "否 no".into(),
                        ink: Ink::No,
                    }
                };
                vec![
                    Cell::text(&r.site_name),
                    Cell::text(category_name(&r.category)),
                    state,
                    Cell::text(cells.join("; ")),
                ]
            })
            .collect(),
    });
    b.push(Block::Heading("I32 网站 Websites".into()));
    let zone = super::html::zone_name(config.timezone);
    b.push(Block::Table {
        widths: vec![2.4, 1.1, 2.4, 1.3],
        header: vec![
            "网站 website".into(),
            "状态 status".into(),
            "原因 reason".into(),
            format!("检测时间（{zone}） checked"),
        ],
        rows: w
            .i32
            .sites
            .iter()
            .map(|r| {
                let status = match r.status {
                    Ipv6Status::Supports => Cell {
                        text: "支持 supports".into(),
                        ink: Ink::Ok,
                    },
                    Ipv6Status::No => Cell {
                        text: "不支持 no".into(),
                        ink: Ink::No,
                    },
                    Ipv6Status::Unknown => Cell {
                        text: "未知 unknown".into(),
                        ink: Ink::No,
                    },
                };
                vec![
                    Cell::text(format!("{} {}", r.name, r.url)),
                    status,
                    Cell::text(r.reason.as_deref().unwrap_or("")),
                    Cell::text(
                        r.checked_at
                            .as_deref()
                            .map_or_else(String::new, |t| local_str(t, config.timezone)),
                    ),
                ]
            })
            .collect(),
    });
    let c = w.completeness;
    b.push(Block::Heading("数据完整性 Data completeness".into()));
    b.push(Block::Para {
        text: format!(
            "本周结果 results: {} · 模拟数据 simulated: {} · 时钟未同步 unsynchronised clocks: {} · 无数据重点区域 key areas without data: {} · 未知网站 websites unknown: {}",
            c.results, c.simulated, c.clock_unsynced, w.i33.no_data_sites, w.i32.unknown
        ),
        ink: Ink::Text,
    });
    let probes: Vec<String> = w
        .silent_probes
        .iter()
        .map(|p| format!("{}（{}）", p.probe_id, site_name(config, &p.site_id)))
        .collect();
    let or_dash = |v: Vec<String>, sep: &str| {
        if v.is_empty() {
            "—".to_owned()
        } else {
            v.join(sep)
        }
    };
    b.push(Block::Table {
        widths: vec![2.0, 3.0],
        header: vec!["项目 item".into(), "内容 details".into()],
        rows: vec![
            vec![
                Cell::text(format!("静默探针 silent probes ({})", probes.len())),
                Cell::text(or_dash(probes, ", ")),
            ],
            vec![
                Cell::text(format!(
                    "无数据站点 sites without data ({})",
                    w.sites_without_data.len()
                )),
                Cell::text(or_dash(
                    w.sites_without_data
                        .iter()
                        .map(|id| site_name(config, id))
                        .collect(),
                    "、",
                )),
            ],
            vec![
                Cell::text(
                    "时钟未同步、无法定时、未计入 unsynchronised clocks, not dated, left out",
                ),
                Cell::text(c.clock_unsynced.to_string()),
            ],
            vec![
                Cell::text("按采集器接收时间校正 re-dated from the collector's receive time"),
                Cell::text(c.time_corrected.to_string()),
            ],
        ],
    });
    if !w.outlier_probes.is_empty() {
        b.push(Block::Heading("离群探针 Outlier probes".into()));
        b.push(Block::Table {
            widths: vec![1.6, 1.2, 1.4, 1.0, 1.2, 1.6],
            header: [
                "站点 site",
                "运营商 carrier",
                "探针 probe",
                "有效测试 tests",
                "均值 mean Mbit/s",
                "参照 reference Mbit/s (probes)",
            ]
            .map(String::from)
            .to_vec(),
            rows: w
                .outlier_probes
                .iter()
                .map(|o| {
                    vec![
                        Cell::text(site_name(config, &o.site_id)),
                        Cell::text(carrier_name(&o.carrier)),
                        Cell::text(&o.probe_id),
                        Cell::text(o.tests.to_string()),
                        Cell::text(format!("{:.1}", o.mean_mbps)),
                        Cell::text(format!("{:.1} ({})", o.others_mbps, o.others)),
                    ]
                })
                .collect(),
        });
    }
    if let Some(text) = simulated::warning(share) {
        b.push(Block::Para {
            text: format!("注意 {text}"),
            ink: Ink::No,
        });
    }
    b.push(Block::Para {
        text: format!(
            "由 fathom-collector {} 生成。 Made by fathom-collector.",
            env!("CARGO_PKG_VERSION")
        ),
        ink: Ink::Muted,
    });
    b
}

/// The PDF of the week `w` with `figures` (the report's charts, in its order).
pub fn pdf(
    w: &WeekIndicators,
    config: &CollectorConfig,
    figures: &[Figure],
) -> Result<Vec<u8>, PdfError> {
    let metrics = metrics()?;
    let measure = |c: char| advance(metrics, c);
    let blocks = blocks(w, config, figures);
    let pages = Layout::new(&measure).run(&blocks, &format!("{} {}", w.county, w.week));
    render(
        &pages,
        figures,
        &format!("{} {} 网络指标周报", w.county, w.week),
    )
}

/// The SVG trees of the charts, text set in the embedded font.
fn svg_trees(figures: &[Figure]) -> Result<Vec<usvg::Tree>, PdfError> {
    let mut db = usvg::fontdb::Database::new();
    db.load_font_data(FONT.to_vec());
    let family = db
        .faces()
        .next()
        .and_then(|f| f.families.first())
        .map(|(name, _)| name.clone());
    if let Some(family) = family {
        db.set_sans_serif_family(family);
    }
    let options = usvg::Options {
        fontdb: Arc::new(db),
        ..usvg::Options::default()
    };
    figures
        .iter()
        .map(|f| {
            usvg::Tree::from_str(&f.svg, &options).map_err(|e| PdfError::Svg {
                chart: f.stem.clone(),
                message: e.to_string(),
            })
        })
        .collect()
}

fn color(ink: Ink) -> rgb::Color {
    match ink {
        Ink::Text => rgb::Color::new(34, 34, 34),
        Ink::Muted => rgb::Color::new(102, 102, 102),
        Ink::Ok => rgb::Color::new(10, 122, 47),
        Ink::No => rgb::Color::new(176, 0, 32),
        Ink::Sim => rgb::Color::new(119, 119, 119),
        Ink::Header => rgb::Color::new(240, 240, 240),
        Ink::Banner => rgb::Color::new(255, 243, 205),
        Ink::Rule => rgb::Color::new(187, 187, 187),
    }
}

fn fill(ink: Ink) -> Fill {
    Fill {
        paint: color(ink).into(),
        opacity: NormalizedF32::ONE,
        rule: FillRule::NonZero,
    }
}

/// Draws `pages` into a PDF titled `title`.
fn render(pages: &[Page], figures: &[Figure], title: &str) -> Result<Vec<u8>, PdfError> {
    let metrics = metrics()?;
    let font = Font::new(FONT.into(), 0).ok_or(PdfError::Font)?;
    let trees = svg_trees(figures)?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(title.to_owned())
            .language("zh-CN".to_owned())
            .creator(format!("fathom-collector {}", env!("CARGO_PKG_VERSION"))),
    );
    let settings = PageSettings::from_wh(A4.0, A4.1).ok_or(PdfError::Write("page size".into()))?;
    for items in pages {
        let mut page = doc.start_page_with(settings.clone());
        let mut surface = page.surface();
        for item in items {
            match item {
                Item::Text {
                    x,
                    y,
                    size,
                    ink,
                    text,
                } => {
                    surface.set_fill(Some(fill(*ink)));
                    surface.draw_text(
                        Point::from_xy(*x, *y),
                        font.clone(),
                        *size,
                        &printable(metrics, text),
                        false,
                        TextDirection::Auto,
                    );
                }
                Item::Rect {
                    x,
                    y,
                    w,
                    h,
                    fill: background,
                    stroke,
                } => {
                    let Some(rect) = Rect::from_xywh(*x, *y, *w, *h) else {
                        continue;
                    };
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    let Some(path) = pb.finish() else { continue };
                    surface.set_fill(background.map(fill));
                    surface.set_stroke(stroke.then(|| Stroke {
                        paint: color(Ink::Rule).into(),
                        width: 0.5,
                        ..Stroke::default()
                    }));
                    surface.draw_path(&path);
                    surface.set_stroke(None);
                }
                Item::Chart { index, x, y, w, h } => {
                    let (Some(tree), Some(size)) = (trees.get(*index), Size::from_wh(*w, *h))
                    else {
                        continue;
                    };
                    surface.push_transform(&Transform::from_translate(*x, *y));
                    surface.draw_svg(tree, size, SvgSettings::default());
                    surface.pop();
                }
            }
        }
        surface.finish();
        page.finish();
    }
    doc.finish().map_err(|e| PdfError::Write(format!("{e:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_character_the_report_prints_has_a_glyph() {
        let font = metrics().unwrap();
        let text = "沂源县 网络指标周报 ⚠ 本周数据全部为模拟数据 达标（模拟数据） 未达标 ≥ 25 Mbit/s — · ✓ 中国移动：3/4（75.0%） 北京时间 周一 00:00 至下周一 00:00 第 1 / 3 页";
        let printed = printable(font, text);
        assert!(!printed.contains('?'), "{printed}");
        for c in printed.chars() {
            assert!(c.is_whitespace() || font.glyph_id(c).0 != 0, "{c:?}");
        }
        assert!(printed.contains("网络指标周报") && printed.contains("达标（模拟数据）"));
    }

    #[test]
    fn chinese_is_wider_than_latin_in_the_font() {
        let font = metrics().unwrap();
        let (zh, en) = (advance(font, '网'), advance(font, 'i'));
        assert!(zh > 0.8 && zh <= 1.1, "{zh}");
        assert!(en > 0.1 && en < zh, "{en}");
    }
}
