//! Charts with plotters, each drawn once per backend: PNG for the report, SVG for the web.
//!
//! Text in PNGs is rendered from a CJK font embedded in the binary (`WenQuanYi Micro Hei`, which
//! also carries Latin glyphs), so Chinese titles draw on a fresh machine without system fonts.
//! Every text a chart shows comes from [`Labels`]: Chinese ([`ZH`]) by default, English ([`EN`])
//! on request.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The embedded font: `WenQuanYi Micro Hei` (文泉驿微米黑), Apache-2.0; licence in
/// `collector/assets/fonts/LICENSE-WenQuanYi-MicroHei.txt`; the regular face of the
/// Debian package's TrueType collection, as a standalone file (see the folder's README).
pub const FONT: &[u8] = include_bytes!("../../assets/fonts/wqy-microhei.ttf");
const FONT_FAMILY: &str = "sans-serif";
/// Pixel size of every chart.
pub const SIZE: (u32, u32) = (1000, 560);
/// Where the title is drawn: the top band of the chart, in pixels (x0, y0, x1, y1).
pub const TITLE_BAND: (u32, u32, u32, u32) = (0, 0, SIZE.0, 48);
/// Title font size, pixels.
pub const TITLE_SIZE: f64 = 26.0;

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct ChartError {
    /// The file.
    pub path: PathBuf,
    /// What plotters said.
    pub message: String,
}

/// The language of the charts' texts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lang {
    /// Chinese, the default: the bureau reads the report in Chinese.
    #[default]
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The language's texts.
    pub const fn labels(self) -> &'static Labels {
        match self {
            Lang::Zh => &ZH,
            Lang::En => &EN,
        }
    }

    /// `zh` or `en`.
    pub const fn id(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "zh" | "zh-CN" => Ok(Lang::Zh),
            "en" => Ok(Lang::En),
            other => Err(format!("unknown language {other:?}; use zh or en")),
        }
    }
}

/// Every text a chart shows, in one place so a language can be swapped.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    /// The language.
    pub lang: Lang,
    /// I26 trend title.
    pub i26_trend: &'static str,
    /// I33 trend title.
    pub i33_trend: &'static str,
    /// I32 trend title.
    pub i32_trend: &'static str,
    /// I26 by carrier title.
    pub i26_by_carrier: &'static str,
    /// The week's carrier comparison per scene category.
    pub by_scene: &'static str,
    /// Site × carrier grid of mean download speed.
    pub site_speed: &'static str,
    /// Site × carrier grid of the share of radio samples meeting 5G.
    pub site_5g: &'static str,
    /// Distribution of download speeds per carrier.
    pub speed_distribution: &'static str,
    /// Hour-of-day × weekday heat map of download speed.
    pub busy_hours: &'static str,
    /// Y axis of speeds.
    pub mbps: &'static str,
    /// Y axis of rates.
    pub percent: &'static str,
    /// Y axis of the distribution.
    pub share_of_tests: &'static str,
    /// X axis of the distribution.
    pub speed_bin: &'static str,
    /// X axis of the busy hours.
    pub hour: &'static str,
    /// Legend of the overall line.
    pub overall: &'static str,
    /// Legend of the target line.
    pub target: &'static str,
    /// Shown on a chart without data.
    pub no_data: &'static str,
    /// Monday to Sunday.
    pub weekdays: [&'static str; 7],
}

/// Chinese labels, the default.
pub const ZH: Labels = Labels {
    lang: Lang::Zh,
    i26_trend: "I26 移动通信网络平均下载速率 (周趋势)",
    i33_trend: "I33 城区重点公共区域5G网络覆盖率 (周趋势)",
    i32_trend: "I32 IPv6网站支持率 (周趋势)",
    i26_by_carrier: "I26 本周各运营商平均下载速率",
    by_scene: "本周各场景类别分运营商平均下载速率",
    site_speed: "站点 × 运营商 平均下载速率 (Mbit/s)",
    site_5g: "站点 × 运营商 5G达标样本占比 (%)",
    speed_distribution: "本周各运营商下载速率分布",
    busy_hours: "下载速率 星期 × 小时 (北京时间)",
    mbps: "下载速率 Mbit/s",
    percent: "百分比 %",
    share_of_tests: "测试占比 %",
    speed_bin: "下载速率 Mbit/s",
    hour: "小时",
    overall: "总体",
    target: "目标",
    no_data: "无数据",
    weekdays: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
};

/// English labels.
pub const EN: Labels = Labels {
    lang: Lang::En,
    i26_trend: "I26 mobile download speed, weekly",
    i33_trend: "I33 5G coverage of key public areas, weekly",
    i32_trend: "I32 IPv6 support of the main websites, weekly",
    i26_by_carrier: "I26 download speed by carrier, this week",
    by_scene: "Download speed by scene category and carrier, this week",
    site_speed: "Site × carrier mean download speed (Mbit/s)",
    site_5g: "Site × carrier share of radio samples meeting 5G (%)",
    speed_distribution: "Distribution of download speeds per carrier, this week",
    busy_hours: "Download speed by weekday and hour (Asia/Shanghai)",
    mbps: "Mbit/s",
    percent: "%",
    share_of_tests: "% of tests",
    speed_bin: "Mbit/s",
    hour: "hour",
    overall: "overall",
    target: "target",
    no_data: "no data",
    weekdays: ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
};

impl Labels {
    /// A carrier's name: Chinese name in Chinese, the id in English.
    pub fn carrier(&self, id: &str) -> String {
        match (self.lang, id.parse::<fathom_shared::Carrier>()) {
            (Lang::Zh, Ok(c)) => c.name_zh().to_owned(),
            _ => id.to_owned(),
        }
    }

    /// A site category's name.
    pub fn category(&self, id: &str) -> String {
        let found = fathom_shared::SiteCategory::ALL
            .iter()
            .find(|c| c.id() == id);
        match (self.lang, found) {
            (Lang::Zh, Some(c)) => c.name_zh().to_owned(),
            _ => id.to_owned(),
        }
    }
}

/// The colour of a carrier's line (colour-blind safe palette), black for the overall.
pub fn carrier_color(carrier: &str) -> RGBColor {
    match carrier {
        "cmcc" => RGBColor(0, 114, 178),
        "cu" => RGBColor(230, 159, 0),
        "ct" => RGBColor(0, 158, 115),
        "cbn" => RGBColor(204, 121, 167),
        _ => RGBColor(0, 0, 0),
    }
}

/// One line (or one bar colour) of a chart; `None` leaves a gap.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// One value per x position.
    pub values: Vec<Option<f64>>,
    /// Drawn thicker (the overall line).
    pub bold: bool,
}

/// A line chart: named x positions (weeks, speed bins), one line per series, the target as a
/// dashed line.
#[derive(Debug, Clone)]
pub struct TrendChart {
    /// Title.
    pub title: String,
    /// X axis text (may be empty).
    pub x_label: String,
    /// Y axis text.
    pub y_label: String,
    /// One label per x position.
    pub weeks: Vec<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// The target, if the chart has one.
    pub target: Option<f64>,
}

/// A grouped bar chart: one group per name, one bar per series in each group.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis text.
    pub y_label: String,
    /// Group names.
    pub groups: Vec<String>,
    /// One bar colour per series; `values` has one entry per group.
    pub series: Vec<Series>,
    /// The target, if the chart has one.
    pub target: Option<f64>,
}

/// A heat map: rows × columns of values, darker is higher; empty cells are grey.
#[derive(Debug, Clone)]
pub struct GridChart {
    /// Title.
    pub title: String,
    /// Row names, top to bottom.
    pub rows: Vec<String>,
    /// Column names, left to right.
    pub cols: Vec<String>,
    /// `values[row][col]`.
    pub values: Vec<Vec<Option<f64>>>,
    /// The value drawn darkest; 0 is lightest.
    pub max: f64,
    /// Print each cell's value in it.
    pub show_values: bool,
}

/// A chart of any kind.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Lines over named x positions.
    Trend(TrendChart),
    /// Grouped bars.
    Bars(BarChart),
    /// Heat map.
    Grid(GridChart),
}

impl Chart {
    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            Chart::Trend(c) => &c.title,
            Chart::Bars(c) => &c.title,
            Chart::Grid(c) => &c.title,
        }
    }
}

fn register_font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_err() {
            tracing::warn!("The embedded chart font could not be loaded; PNG text may be missing.");
        }
    });
}

fn y_top(values: impl Iterator<Item = f64>, target: Option<f64>) -> f64 {
    let max = values.fold(target.unwrap_or(0.0), f64::max);
    (max * 1.15).max(1.0)
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
type Frame<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame of line and bar charts: title, a y axis from 0 to `top`, and one x position per
/// name at 0, 1, 2, ….
fn frame<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    x_label: &str,
    y_label: &str,
    names: &[String],
    top: f64,
) -> Result<Frame<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let n = names.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT_FAMILY, TITLE_SIZE))
        .margin(16)
        .x_label_area_size(if x_label.is_empty() { 44 } else { 60 })
        .y_label_area_size(72)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    chart
        .configure_mesh()
        .x_labels(n.min(24))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style((FONT_FAMILY, 14))
        .axis_desc_style((FONT_FAMILY, 15))
        .draw()?;
    Ok(chart)
}

/// The target as a dashed red line across the chart, in the legend with its value.
fn draw_target<'a, DB: DrawingBackend + 'a>(
    chart: &mut Frame<'a, DB>,
    target: Option<f64>,
    n: usize,
    labels: &Labels,
) -> Drawn<DB> {
    let Some(target) = target else {
        return Ok(());
    };
    let style = ShapeStyle {
        color: RGBColor(200, 0, 0).to_rgba(),
        filled: false,
        stroke_width: 2,
    };
    chart
        .draw_series(DashedLineSeries::new(
            vec![(-0.5, target), (n.max(1) as f64 - 0.5, target)],
            8,
            6,
            style,
        ))?
        .label(format!("{} {}", labels.target, fmt_value(target)))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    Ok(())
}

fn no_data<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, labels: &Labels) -> Drawn<DB> {
    root.draw(&Text::new(
        labels.no_data,
        (SIZE.0 as i32 / 2 - 40, SIZE.1 as i32 / 2),
        (FONT_FAMILY, 28),
    ))
}

/// The legend, and "no data" across an empty chart.
fn finish<'a, DB: DrawingBackend + 'a>(
    root: &'a DrawingArea<DB, Shift>,
    chart: &mut Frame<'a, DB>,
    empty: bool,
    position: SeriesLabelPosition,
    labels: &Labels,
) -> Drawn<DB> {
    if empty {
        no_data(root, labels)?;
    }
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 14))
        .draw()?;
    Ok(())
}

fn draw_trend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &TrendChart,
    labels: &Labels,
) -> Drawn<DB> {
    let top = y_top(
        c.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        c.target,
    );
    let mut chart = frame(root, &c.title, &c.x_label, &c.y_label, &c.weeks, top)?;
    draw_target(&mut chart, c.target, c.weeks.len(), labels)?;
    let mut any = false;
    for s in &c.series {
        let color = s.color;
        let width = if s.bold { 4 } else { 2 };
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
            .collect();
        any |= !points.is_empty();
        // Positions without data break the line instead of bridging it.
        let mut segment: Vec<(f64, f64)> = Vec::new();
        for (i, v) in s.values.iter().enumerate() {
            match v {
                Some(v) => segment.push((i as f64, *v)),
                None if !segment.is_empty() => {
                    chart.draw_series(LineSeries::new(
                        std::mem::take(&mut segment),
                        color.stroke_width(width),
                    ))?;
                }
                None => {}
            }
        }
        chart.draw_series(LineSeries::new(segment, color.stroke_width(width)))?;
        chart
            .draw_series(points.iter().map(|p| Circle::new(*p, 4, color.filled())))?
            .label(s.label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(width))
            });
    }
    finish(
        root,
        &mut chart,
        !any,
        SeriesLabelPosition::UpperRight,
        labels,
    )
}

fn fmt_value(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn draw_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &BarChart,
    labels: &Labels,
) -> Drawn<DB> {
    let top = y_top(
        c.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        c.target,
    );
    let mut chart = frame(root, &c.title, "", &c.y_label, &c.groups, top)?;
    let k = c.series.len().max(1) as f64;
    let width = 0.8 / k;
    let mut any = false;
    for (j, s) in c.series.iter().enumerate() {
        let color = s.color;
        let x0 = -0.4 + width * j as f64;
        let bars: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64 + x0, v)))
            .collect();
        any |= !bars.is_empty();
        chart
            .draw_series(bars.iter().map(|&(x, v)| {
                Rectangle::new(
                    [(x + width * 0.08, 0.0), (x + width * 0.92, v)],
                    color.filled(),
                )
            }))?
            .label(s.label.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], color.filled()));
        chart.draw_series(bars.iter().map(|&(x, v)| {
            Text::new(
                format!("{v:.1}"),
                (x + width * 0.1, v + top * 0.03),
                (FONT_FAMILY, 13),
            )
        }))?;
    }
    draw_target(&mut chart, c.target, c.groups.len(), labels)?;
    finish(
        root,
        &mut chart,
        !any,
        SeriesLabelPosition::UpperRight,
        labels,
    )
}

/// Light (0) to dark blue (max), a sequential scale readable by colour-blind readers.
fn heat(v: f64, max: f64) -> RGBColor {
    let t = if max > 0.0 {
        (v / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let lerp = |a: u8, b: u8| (f64::from(a) + (f64::from(b) - f64::from(a)) * t).round() as u8;
    RGBColor(lerp(239, 8), lerp(243, 48), lerp(255, 107))
}

fn draw_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    c: &GridChart,
    labels: &Labels,
) -> Drawn<DB> {
    root.fill(&WHITE)?;
    let (nr, nc) = (c.rows.len().max(1), c.cols.len().max(1));
    let rows = &c.rows;
    let cols = &c.cols;
    let longest = rows.iter().map(|r| r.chars().count()).max().unwrap_or(4);
    let mut chart = ChartBuilder::on(root)
        .caption(&c.title, (FONT_FAMILY, TITLE_SIZE))
        .margin(16)
        .x_label_area_size(36)
        .y_label_area_size(u32::try_from(longest.clamp(4, 16) * 15 + 16).unwrap_or(200))
        .build_cartesian_2d(-0.5f64..(nc as f64 - 0.5), -0.5f64..(nr as f64 - 0.5))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(nc.min(24))
        .y_labels(nr.min(30))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                cols.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| {
            let i = y.round();
            if (y - i).abs() < 0.01 && i >= 0.0 {
                // Row 0 is drawn at the top.
                (nr as i64 - 1 - i as i64)
                    .try_into()
                    .ok()
                    .and_then(|r: usize| rows.get(r).cloned())
                    .unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style((FONT_FAMILY, 14))
        .draw()?;
    let mut any = false;
    for (r, row) in c.values.iter().enumerate() {
        let y = (nr - 1 - r) as f64;
        for (k, v) in row.iter().enumerate() {
            let x = k as f64;
            let fill = v.map_or(RGBColor(225, 225, 225), |v| heat(v, c.max));
            any |= v.is_some();
            chart.draw_series(std::iter::once(Rectangle::new(
                [(x - 0.48, y - 0.48), (x + 0.48, y + 0.48)],
                fill.filled(),
            )))?;
            if c.show_values {
                let text = v.map_or_else(|| "—".to_owned(), |v| format!("{v:.0}"));
                let dark = v.is_some_and(|v| c.max > 0.0 && v / c.max > 0.55);
                let color = if dark { WHITE } else { BLACK };
                chart.draw_series(std::iter::once(Text::new(
                    text,
                    (x - 0.15, y + 0.1),
                    (FONT_FAMILY, 14).into_font().color(&color),
                )))?;
            }
        }
    }
    if !any {
        no_data(root, labels)?;
    }
    Ok(())
}

/// Height of the band under a chart that carries its simulated-data caption, pixels.
pub const NOTE_BAND: u32 = 30;
/// The word drawn faintly across the plot of a chart with simulated data.
pub const WATERMARK: &str = "模拟数据";

/// Draws `chart`; with a `note` (see [`crate::indicators::simulated::chart_note`]) the chart
/// keeps a red caption band at its foot and a faint watermark across it, because charts are
/// cut out of the page into slides where no banner follows them.
fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    chart: &Chart,
    labels: &Labels,
    note: Option<&str>,
) -> Drawn<DB> {
    let draw_chart = |area: &DrawingArea<DB, Shift>| match chart {
        Chart::Trend(c) => draw_trend(area, c, labels),
        Chart::Bars(c) => draw_bars(area, c, labels),
        Chart::Grid(c) => draw_grid(area, c, labels),
    };
    // Presented once, at the very end: the SVG backend closes its document when presented,
    // and anything drawn after that would land outside the <svg> element.
    let Some(note) = note else {
        draw_chart(root)?;
        return root.present();
    };
    root.fill(&WHITE)?;
    let (plot, band) = root.split_vertically(SIZE.1 - NOTE_BAND);
    draw_chart(&plot)?;
    let red = RGBColor(176, 0, 32);
    plot.draw(&Text::new(
        WATERMARK,
        (
            SIZE.0 as i32 / 2 - 190,
            (SIZE.1 - NOTE_BAND) as i32 / 2 - 40,
        ),
        (FONT_FAMILY, 96).into_font().color(&red.mix(0.12)),
    ))?;
    band.fill(&RGBColor(255, 243, 205))?;
    let text = if labels.lang == Lang::En {
        format!("{note} (includes simulated data, not the real network)")
    } else {
        note.to_owned()
    };
    band.draw(&Text::new(
        text,
        (12, 5),
        (FONT_FAMILY, 18).into_font().color(&red),
    ))?;
    root.present()
}

/// Draws `chart` as an SVG document; `note` marks simulated data: a red caption band at its
/// foot and a faint [`WATERMARK`] across the plot.
pub fn svg(chart: &Chart, labels: &Labels, note: Option<&str>) -> Result<String, ChartError> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw(&root, chart, labels, note).map_err(|e| ChartError {
            path: PathBuf::from("(svg)"),
            message: e.to_string(),
        })?;
    }
    Ok(out)
}

/// Draws `chart` to `dir/stem.png` and `dir/stem.svg`, with the simulated-data `note` if any;
/// returns the two paths. The SVG file carries the subset of the CJK font its text needs
/// ([`super::font::embed_in_svg`]), so it shows Chinese opened on its own on any machine.
pub fn write(
    chart: &Chart,
    labels: &Labels,
    dir: &Path,
    stem: &str,
    note: Option<&str>,
) -> Result<Vec<PathBuf>, ChartError> {
    register_font();
    let png = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        draw(&root, chart, labels, note).map_err(|e| ChartError {
            path: png.clone(),
            message: e.to_string(),
        })?;
    }
    let text = svg(chart, labels, note)
        .map_err(|e| e.message)
        .and_then(|text| super::font::embed_in_svg(&text).map_err(|e| e.to_string()))
        .map_err(|message| ChartError {
            path: svg_path.clone(),
            message,
        })?;
    std::fs::write(&svg_path, text).map_err(|e| ChartError {
        path: svg_path.clone(),
        message: e.to_string(),
    })?;
    Ok(vec![png, svg_path])
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::{Font as _, FontRef};

    /// The title band of a chart titled `title`, drawn to PNG, as RGB bytes.
    fn title_band(title: &str, dir: &Path, stem: &str) -> Vec<u8> {
        let chart = Chart::Trend(TrendChart {
            title: title.to_owned(),
            x_label: String::new(),
            y_label: ZH.mbps.to_owned(),
            weeks: vec!["W01".into(), "W02".into()],
            series: Vec::new(),
            target: Some(25.0),
        });
        write(&chart, &ZH, dir, stem, None).unwrap();
        let bytes = std::fs::read(dir.join(format!("{stem}.png"))).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), SIZE);
        let row = info.line_size;
        buf[..row * TITLE_BAND.3 as usize].to_vec()
    }

    fn ink(band: &[u8]) -> usize {
        band.chunks(3)
            .filter(|p| p.iter().all(|&c| c < 128))
            .count()
    }

    #[test]
    fn the_font_has_a_glyph_for_every_character_of_every_label() {
        let font = FontRef::try_from_slice(FONT).unwrap();
        for labels in [ZH, EN] {
            let mut texts = vec![
                labels.i26_trend,
                labels.i33_trend,
                labels.i32_trend,
                labels.i26_by_carrier,
                labels.by_scene,
                labels.site_speed,
                labels.site_5g,
                labels.speed_distribution,
                labels.busy_hours,
                labels.mbps,
                labels.share_of_tests,
                labels.overall,
                labels.target,
                labels.no_data,
            ];
            texts.extend(labels.weekdays);
            for text in texts {
                for c in text.chars().filter(|c| !c.is_whitespace()) {
                    assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?} in {text:?}");
                }
            }
        }
        for c in fathom_shared::Carrier::ALL {
            assert!(c.name_zh().chars().all(|ch| font.glyph_id(ch).0 != 0));
        }
        let note = crate::indicators::simulated::chart_note(Some(0.996)).unwrap();
        for c in note.chars().chain(WATERMARK.chars()) {
            assert!(c == ' ' || font.glyph_id(c).0 != 0, "no glyph for {c:?}");
        }
    }

    /// A chart with simulated data carries its caption and watermark in the SVG and in the
    /// PNG (red ink in the caption band), so it stays marked when cut into a slide.
    #[test]
    fn charts_with_simulated_data_carry_a_caption_and_a_watermark() {
        let chart = Chart::Bars(BarChart {
            title: ZH.i26_by_carrier.to_owned(),
            y_label: ZH.mbps.to_owned(),
            groups: vec![ZH.carrier("cmcc")],
            series: vec![Series {
                label: ZH.carrier("cmcc"),
                color: carrier_color("cmcc"),
                values: vec![Some(40.0)],
                bold: false,
            }],
            target: Some(25.0),
        });
        let note = "含模拟数据 99.6%，不代表真实网络";
        let marked = svg(&chart, &ZH, Some(note)).unwrap();
        let end = marked.find("</svg>").unwrap();
        assert_eq!(marked.matches("</svg>").count(), 1, "{marked}");
        assert!(
            marked.find(note).is_some_and(|i| i < end)
                && marked.find(WATERMARK).is_some_and(|i| i < end),
            "the caption is inside the SVG"
        );
        let plain = svg(&chart, &ZH, None).unwrap();
        assert!(!plain.contains("模拟"));
        let dir = tempfile::tempdir().unwrap();
        let band_red = |note: Option<&str>, stem: &str| {
            write(&chart, &ZH, dir.path(), stem, note).unwrap();
            let bytes = std::fs::read(dir.path().join(format!("{stem}.png"))).unwrap();
            let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
                .read_info()
                .unwrap();
            let mut buf = vec![0; reader.output_buffer_size()];
            let info = reader.next_frame(&mut buf).unwrap();
            let from = info.line_size * (SIZE.1 - NOTE_BAND) as usize;
            buf[from..info.buffer_size()]
                .chunks(3)
                .filter(|p| p[0] > 120 && p[1] < 60 && p[2] < 80)
                .count()
        };
        assert!(band_red(Some(note), "marked") > 200);
        assert_eq!(band_red(None, "plain"), 0);
    }

    /// Without CJK glyphs every Chinese character becomes the same .notdef box, so two titles of
    /// different characters would give identical pixels. They differ here, differ from a title
    /// of characters the font lacks, and put ink in the title band.
    #[test]
    fn chinese_titles_are_drawn_as_glyphs_not_boxes() {
        let dir = tempfile::tempdir().unwrap();
        let zh = title_band(ZH.i26_trend, dir.path(), "a");
        let other = title_band("I33 城区重点公共区域网络覆盖率周趋", dir.path(), "b");
        // Private-use code points: the font has no glyph for them.
        let tofu: String = ZH.i26_trend.chars().map(|_| '\u{e000}').collect();
        let boxes = title_band(&tofu, dir.path(), "c");
        let font = FontRef::try_from_slice(FONT).unwrap();
        assert_eq!(font.glyph_id('\u{e000}').0, 0);
        assert!(
            ink(&zh) > 500,
            "the title band is nearly empty: {}",
            ink(&zh)
        );
        assert_ne!(zh, other, "different Chinese titles drew the same pixels");
        assert_ne!(
            zh, boxes,
            "the Chinese title looks like a row of missing glyphs"
        );

        // Each Chinese glyph of the title leaves its own shape: drawing one character at a
        // time gives different pixels for different characters.
        let a = title_band("医", dir.path(), "d");
        let b = title_band("院", dir.path(), "e");
        assert!(ink(&a) > 20 && ink(&b) > 20);
        assert_ne!(a, b);
    }

    #[test]
    fn languages_parse_and_default_to_chinese() {
        assert_eq!(Lang::default(), Lang::Zh);
        assert_eq!("en".parse::<Lang>().unwrap(), Lang::En);
        assert_eq!("zh".parse::<Lang>().unwrap().labels().overall, "总体");
        assert!("fr".parse::<Lang>().is_err());
        assert_eq!(ZH.carrier("cmcc"), "中国移动");
        assert_eq!(EN.carrier("cmcc"), "cmcc");
        assert_eq!(ZH.category("hospital"), "医院");
    }
}
