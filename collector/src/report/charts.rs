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
    /// The week's carrier comparison per I26 scene.
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
    /// Key of the heat-map cells under target.
    pub below_target: &'static str,
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
    by_scene: "I26 本周各场景分运营商平均下载速率",
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
    below_target: "低于目标",
    weekdays: ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
};

/// English labels.
pub const EN: Labels = Labels {
    lang: Lang::En,
    i26_trend: "I26 mobile download speed, weekly",
    i33_trend: "I33 5G coverage of key public areas, weekly",
    i32_trend: "I32 IPv6 support of the main websites, weekly",
    i26_by_carrier: "I26 download speed by carrier, this week",
    by_scene: "I26 download speed by scene and carrier, this week",
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
    below_target: "below target",
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

/// The colour of a carrier in every chart: the Okabe–Ito palette, which readers with any of the
/// common colour-vision deficiencies tell apart; 移动 blue, 联通 orange, 电信 bluish green,
/// 广电 reddish purple. Anything else (the overall) is [`OVERALL_COLOR`].
pub fn carrier_color(carrier: &str) -> RGBColor {
    match carrier {
        "cmcc" => RGBColor(0, 114, 178),
        "cu" => RGBColor(230, 159, 0),
        "ct" => RGBColor(0, 158, 115),
        "cbn" => RGBColor(204, 121, 167),
        _ => OVERALL_COLOR,
    }
}

/// The overall (总体) line: neutral dark grey, no carrier's colour.
pub const OVERALL_COLOR: RGBColor = RGBColor(51, 51, 51);
/// Targets, and heat-map cells under target.
pub const TARGET_COLOR: RGBColor = RGBColor(200, 0, 0);

/// The shape of a series' points. Each carrier has its own, so a line stays identifiable where
/// it crosses or lies under another, in grey print and for readers who confuse colours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Marker {
    /// Filled circle (移动).
    Circle,
    /// Filled triangle (联通).
    Triangle,
    /// Filled square (电信).
    Square,
    /// Filled diamond (广电).
    Diamond,
    /// Hollow ring, larger than the others (总体): it circles a carrier's point that has the
    /// same value instead of covering it.
    Ring,
}

/// A carrier's marker; [`Marker::Ring`] for the overall.
pub fn carrier_marker(carrier: &str) -> Marker {
    match carrier {
        "cmcc" => Marker::Circle,
        "cu" => Marker::Triangle,
        "ct" => Marker::Square,
        "cbn" => Marker::Diamond,
        _ => Marker::Ring,
    }
}

/// One line (or one bar colour) of a chart; `None` leaves a gap.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// Shape of the points.
    pub marker: Marker,
    /// One value per x position.
    pub values: Vec<Option<f64>>,
    /// The overall line: drawn thin and dashed on top of the carriers' lines.
    pub overall: bool,
}

impl Series {
    /// A carrier's series, in the carrier's colour and marker.
    pub fn carrier(id: &str, labels: &Labels, values: Vec<Option<f64>>) -> Self {
        Series {
            label: labels.carrier(id),
            color: carrier_color(id),
            marker: carrier_marker(id),
            values,
            overall: false,
        }
    }

    /// The overall (总体) series.
    pub fn overall(labels: &Labels, values: Vec<Option<f64>>) -> Self {
        Series {
            label: labels.overall.to_owned(),
            color: OVERALL_COLOR,
            marker: Marker::Ring,
            values,
            overall: true,
        }
    }
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

/// A grouped bar chart: one group per name, one bar per series in each group. When no group
/// has more than one bar (one carrier per group), each bar stands centred in its group.
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

/// A heat map: rows × columns of values, darker is higher; empty cells are grey. A colour scale
/// stands beside it; cells under the target get a red frame and a red corner flag.
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
    /// Cells under this value are marked.
    pub target: Option<f64>,
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
type Area<DB> = DrawingArea<DB, Shift>;
type Split<DB> =
    Result<(Area<DB>, Area<DB>), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Width of the column right of the plot that holds the legend or the colour scale, pixels.
/// Legends stand outside the plot so they never cover the latest points.
pub const SIDE_WIDTH: u32 = 170;

/// The title across the top of `root`, then the plot area and, right of it, the side column.
fn layout<DB: DrawingBackend>(root: &Area<DB>, title: &str) -> Split<DB> {
    root.fill(&WHITE)?;
    let body = root.titled(title, (FONT_FAMILY, TITLE_SIZE))?;
    let width = body.dim_in_pixel().0;
    Ok(body.split_horizontally(width.saturating_sub(SIDE_WIDTH)))
}

/// The frame of line and bar charts: a y axis from 0 to `top`, and one x position per name at
/// 0, 1, 2, ….
fn frame<'a, DB: DrawingBackend>(
    plot: &'a Area<DB>,
    x_label: &str,
    y_label: &str,
    names: &[String],
    top: f64,
) -> Result<Frame<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    let n = names.len().max(1);
    let mut chart = ChartBuilder::on(plot)
        .margin(16)
        .margin_right(8)
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

fn target_style() -> ShapeStyle {
    TARGET_COLOR.stroke_width(2)
}

/// The target as a dashed red line across the chart.
fn draw_target<'a, DB: DrawingBackend + 'a>(
    chart: &mut Frame<'a, DB>,
    target: Option<f64>,
    n: usize,
) -> Drawn<DB> {
    if let Some(target) = target {
        chart.draw_series(DashedLineSeries::new(
            vec![(-0.5, target), (n.max(1) as f64 - 0.5, target)],
            8,
            6,
            target_style(),
        ))?;
    }
    Ok(())
}

fn no_data<DB: DrawingBackend>(plot: &Area<DB>, labels: &Labels) -> Drawn<DB> {
    let (w, h) = plot.dim_in_pixel();
    plot.draw(&Text::new(
        labels.no_data,
        (w as i32 / 2 - 40, h as i32 / 2),
        (FONT_FAMILY, 28),
    ))
}

/// A point marker of `shape` at `at`, sized in pixels whatever the coordinates.
fn marker<'a, DB: DrawingBackend + 'a, C: Clone + 'a>(
    shape: Marker,
    at: C,
    color: RGBColor,
) -> DynElement<'a, DB, C> {
    let fill = color.filled();
    let at = EmptyElement::at(at);
    match shape {
        Marker::Circle => (at + Circle::new((0, 0), 5, fill)).into_dyn(),
        Marker::Triangle => (at + TriangleMarker::new((0, 0), 7, fill)).into_dyn(),
        Marker::Square => (at + Rectangle::new([(-5, -5), (5, 5)], fill)).into_dyn(),
        Marker::Diamond => {
            (at + Polygon::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0)], fill)).into_dyn()
        }
        Marker::Ring => (at + Circle::new((0, 0), 9, color.stroke_width(2))).into_dyn(),
    }
}

/// [`marker`]s at `points` of a chart. (One `draw_series` per shape: plotters cannot draw
/// boxed elements on a chart whose backend borrows its output.)
fn draw_markers<'a, DB: DrawingBackend + 'a>(
    chart: &mut Frame<'a, DB>,
    shape: Marker,
    points: &[(f64, f64)],
    color: RGBColor,
) -> Drawn<DB> {
    let fill = color.filled();
    let at = |p: &(f64, f64)| EmptyElement::at(*p);
    match shape {
        Marker::Circle => {
            chart.draw_series(points.iter().map(|p| at(p) + Circle::new((0, 0), 5, fill)))
        }
        Marker::Triangle => chart.draw_series(
            points
                .iter()
                .map(|p| at(p) + TriangleMarker::new((0, 0), 7, fill)),
        ),
        Marker::Square => chart.draw_series(
            points
                .iter()
                .map(|p| at(p) + Rectangle::new([(-5, -5), (5, 5)], fill)),
        ),
        Marker::Diamond => chart.draw_series(
            points
                .iter()
                .map(|p| at(p) + Polygon::new(vec![(0, -7), (7, 0), (0, 7), (-7, 0)], fill)),
        ),
        Marker::Ring => chart.draw_series(
            points
                .iter()
                .map(|p| at(p) + Circle::new((0, 0), 9, color.stroke_width(2))),
        ),
    }?;
    Ok(())
}

/// What a legend entry shows beside its text.
enum Key {
    /// A line with its marker; dashed for the overall.
    Line(Series),
    /// A bar's colour.
    Bar(RGBColor),
    /// The dashed target line.
    Target,
}

/// The legend in the side column, outside the plot: one entry per line, top down.
fn draw_legend<DB: DrawingBackend>(side: &Area<DB>, entries: &[(String, Key)]) -> Drawn<DB> {
    for (i, (text, key)) in entries.iter().enumerate() {
        let y = 40 + 28 * i as i32;
        match key {
            Key::Line(s) if s.overall => {
                side.draw(&PathElement::new(
                    vec![(4, y), (12, y)],
                    s.color.stroke_width(2),
                ))?;
                side.draw(&PathElement::new(
                    vec![(28, y), (36, y)],
                    s.color.stroke_width(2),
                ))?;
                side.draw(&marker(s.marker, (20, y), s.color))?;
            }
            Key::Line(s) => {
                side.draw(&PathElement::new(
                    vec![(4, y), (36, y)],
                    s.color.stroke_width(3),
                ))?;
                side.draw(&marker(s.marker, (20, y), s.color))?;
            }
            Key::Bar(color) => {
                side.draw(&Rectangle::new([(12, y - 7), (28, y + 7)], color.filled()))?;
            }
            Key::Target => {
                side.draw(&PathElement::new(vec![(4, y), (14, y)], target_style()))?;
                side.draw(&PathElement::new(vec![(24, y), (36, y)], target_style()))?;
            }
        }
        side.draw(&Text::new(text.clone(), (44, y - 8), (FONT_FAMILY, 15)))?;
    }
    Ok(())
}

fn target_entry(target: Option<f64>, labels: &Labels) -> Option<(String, Key)> {
    target.map(|t| (format!("{} {}", labels.target, fmt_value(t)), Key::Target))
}

/// Coinciding lines stay visible: the carriers' lines are drawn first, solid and 3 px wide, each
/// with its own marker shape; the overall goes on top, 2 px, dashed and dark grey, with a hollow
/// ring larger than any carrier's marker. Where a carrier's line lies exactly under the overall
/// (one carrier, or one far ahead of the others), its colour shows through the dashes' gaps and
/// its filled marker inside the ring. Offsetting lines would move values off their true
/// positions, and small multiples would cost the comparison the chart is for.
fn draw_trend<DB: DrawingBackend>(root: &Area<DB>, c: &TrendChart, labels: &Labels) -> Drawn<DB> {
    let top = y_top(
        c.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        c.target,
    );
    let (plot, side) = layout(root, &c.title)?;
    let mut chart = frame(&plot, &c.x_label, &c.y_label, &c.weeks, top)?;
    draw_target(&mut chart, c.target, c.weeks.len())?;
    let mut any = false;
    let ordered = c
        .series
        .iter()
        .filter(|s| !s.overall)
        .chain(c.series.iter().filter(|s| s.overall));
    for s in ordered {
        let color = s.color;
        let line = color.stroke_width(if s.overall { 2 } else { 3 });
        // Positions without data break the line instead of bridging it.
        let mut segments: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (i, v) in s.values.iter().enumerate() {
            match (v, segments.last_mut()) {
                (Some(v), Some(seg)) => seg.push((i as f64, *v)),
                (None, Some(seg)) if !seg.is_empty() => segments.push(Vec::new()),
                _ => {}
            }
        }
        for seg in segments.into_iter().filter(|s| !s.is_empty()) {
            any = true;
            let points = seg.clone();
            if s.overall {
                chart.draw_series(DashedLineSeries::new(seg, 7, 5, line))?;
            } else {
                chart.draw_series(LineSeries::new(seg, line))?;
            }
            draw_markers(&mut chart, s.marker, &points, color)?;
        }
    }
    if !any {
        no_data(&plot, labels)?;
    }
    // The legend lists the lines in the palette's order, the overall last, then the target.
    let mut entries: Vec<(String, Key)> = c
        .series
        .iter()
        .map(|s| (s.label.clone(), Key::Line(s.clone())))
        .collect();
    entries.extend(target_entry(c.target, labels));
    draw_legend(&side, &entries)
}

fn fmt_value(v: f64) -> String {
    if v.fract().abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn draw_bars<DB: DrawingBackend>(root: &Area<DB>, c: &BarChart, labels: &Labels) -> Drawn<DB> {
    let top = y_top(
        c.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
        c.target,
    );
    let (plot, side) = layout(root, &c.title)?;
    let mut chart = frame(&plot, "", &c.y_label, &c.groups, top)?;
    // One bar per group (each carrier its own group): centre it, a fixed width.
    let single = (0..c.groups.len()).all(|g| {
        c.series
            .iter()
            .filter(|s| s.values.get(g).is_some_and(Option::is_some))
            .count()
            <= 1
    });
    let k = if single {
        1.0
    } else {
        c.series.len().max(1) as f64
    };
    let width = if single { 0.5 } else { 0.8 / k };
    let mut any = false;
    for (j, s) in c.series.iter().enumerate() {
        let color = s.color;
        let x0 = if single {
            -width / 2.0
        } else {
            -0.4 + width * j as f64
        };
        let bars: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64 + x0, v)))
            .collect();
        any |= !bars.is_empty();
        chart.draw_series(bars.iter().map(|&(x, v)| {
            Rectangle::new(
                [(x + width * 0.08, 0.0), (x + width * 0.92, v)],
                color.filled(),
            )
        }))?;
        chart.draw_series(bars.iter().map(|&(x, v)| {
            Text::new(
                format!("{v:.1}"),
                (x + width * 0.1, v + top * 0.03),
                (FONT_FAMILY, 13),
            )
        }))?;
    }
    draw_target(&mut chart, c.target, c.groups.len())?;
    if !any {
        no_data(&plot, labels)?;
    }
    let mut entries: Vec<(String, Key)> = c
        .series
        .iter()
        .map(|s| (s.label.clone(), Key::Bar(s.color)))
        .collect();
    entries.extend(target_entry(c.target, labels));
    draw_legend(&side, &entries)
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

/// Whether a heat-map cell is under the target.
pub fn under_target(value: Option<f64>, target: Option<f64>) -> bool {
    matches!((value, target), (Some(v), Some(t)) if v < t - 1e-9)
}

/// The colour scale of a heat map in the side column: a bar from 0 (bottom) to `max` (top) with
/// five values, the target as a red line across it, and the key of the marked cells below.
fn draw_scale<DB: DrawingBackend>(side: &Area<DB>, grid: &GridChart, labels: &Labels) -> Drawn<DB> {
    let (_, height) = side.dim_in_pixel();
    let (x0, x1, y0, y1) = (16, 40, 24, height as i32 - 110);
    let span = f64::from(y1 - y0);
    let y_of = |v: f64| y1 - ((v / grid.max.max(1e-9)).clamp(0.0, 1.0) * span).round() as i32;
    let steps = 48;
    for i in 0..steps {
        let (bottom, top) = (
            y1 - (span * f64::from(i) / f64::from(steps)) as i32,
            y1 - (span * f64::from(i + 1) / f64::from(steps)) as i32,
        );
        let v = grid.max * (f64::from(i) + 0.5) / f64::from(steps);
        side.draw(&Rectangle::new(
            [(x0, top), (x1, bottom)],
            heat(v, grid.max).filled(),
        ))?;
    }
    side.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK.stroke_width(1)))?;
    for i in 0..=4 {
        let v = grid.max * f64::from(i) / 4.0;
        let y = y_of(v);
        side.draw(&PathElement::new(
            vec![(x1, y), (x1 + 5, y)],
            BLACK.stroke_width(1),
        ))?;
        side.draw(&Text::new(fmt_value(v), (x1 + 8, y - 7), (FONT_FAMILY, 13)))?;
    }
    if let Some(t) = grid.target.filter(|t| *t <= grid.max) {
        let y = y_of(t);
        side.draw(&PathElement::new(
            vec![(x0 - 6, y), (x1 + 6, y)],
            TARGET_COLOR.stroke_width(3),
        ))?;
    }
    if let Some(t) = grid.target {
        let y = y1 + 30;
        side.draw(&Rectangle::new(
            [(x0, y), (x0 + 24, y + 20)],
            WHITE.filled(),
        ))?;
        cell_mark(side, (x0, y), (x0 + 24, y + 20))?;
        side.draw(&Text::new(
            format!("{} {}", labels.below_target, fmt_value(t)),
            (x0 + 32, y + 2),
            (FONT_FAMILY, 14),
        ))?;
    }
    Ok(())
}

/// The mark of a cell under target, in pixels: a red frame and a red flag in its top-left
/// corner, which stays visible on a light cell and on a dark one.
fn cell_mark<DB: DrawingBackend>(
    area: &Area<DB>,
    (x0, y0): (i32, i32),
    (x1, y1): (i32, i32),
) -> Drawn<DB> {
    area.draw(&Rectangle::new(
        [(x0 + 1, y0 + 1), (x1 - 1, y1 - 1)],
        TARGET_COLOR.stroke_width(3),
    ))?;
    let f = ((x1 - x0).min(y1 - y0) / 2).max(4);
    area.draw(&Polygon::new(
        vec![(x0, y0), (x0 + f, y0), (x0, y0 + f)],
        TARGET_COLOR.filled(),
    ))
}

fn draw_grid<DB: DrawingBackend>(root: &Area<DB>, c: &GridChart, labels: &Labels) -> Drawn<DB> {
    let (plot, side) = layout(root, &c.title)?;
    let (nr, nc) = (c.rows.len().max(1), c.cols.len().max(1));
    let rows = &c.rows;
    let cols = &c.cols;
    let longest = rows.iter().map(|r| r.chars().count()).max().unwrap_or(4);
    let mut chart = ChartBuilder::on(&plot)
        .margin(16)
        .margin_right(8)
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
            if under_target(*v, c.target) {
                let (left, upper) = (x - 0.47, y + 0.47);
                chart.draw_series([Rectangle::new(
                    [(left, upper), (x + 0.47, y - 0.47)],
                    TARGET_COLOR.stroke_width(3),
                )])?;
                chart.draw_series([Polygon::new(
                    vec![(left, upper), (left + 0.2, upper), (left, upper - 0.2)],
                    TARGET_COLOR.filled(),
                )])?;
            }
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
        no_data(&plot, labels)?;
    }
    draw_scale(&side, c, labels)
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

/// Draws `chart` as a PNG image of [`SIZE`]; `note` as for [`svg`].
pub fn png(chart: &Chart, labels: &Labels, note: Option<&str>) -> Result<Vec<u8>, ChartError> {
    register_font();
    let failed = |message: String| ChartError {
        path: PathBuf::from("(png)"),
        message,
    };
    let mut rgb = vec![0; SIZE.0 as usize * SIZE.1 as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw(&root, chart, labels, note).map_err(|e| failed(e.to_string()))?;
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, SIZE.0, SIZE.1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder
        .write_header()
        .and_then(|mut w| w.write_image_data(&rgb))
        .map_err(|e| failed(e.to_string()))?;
    Ok(out)
}

/// Draws `chart` to `dir/stem.png` and `dir/stem.svg`, with the simulated-data `note` if any;
/// returns the two paths and the SVG text (without the font, for the PDF, which sets its own).
/// The SVG file carries the subset of the CJK font its text needs
/// ([`super::font::embed_in_svg`]), so it shows Chinese opened on its own on any machine.
pub fn write(
    chart: &Chart,
    labels: &Labels,
    dir: &Path,
    stem: &str,
    note: Option<&str>,
) -> Result<(Vec<PathBuf>, String), ChartError> {
    let png_path = dir.join(format!("{stem}.png"));
    let svg_path = dir.join(format!("{stem}.svg"));
    let save = |path: &Path, bytes: &[u8]| {
        std::fs::write(path, bytes).map_err(|e| ChartError {
            path: path.to_owned(),
            message: e.to_string(),
        })
    };
    let image = png(chart, labels, note).map_err(|e| ChartError {
        path: png_path.clone(),
        message: e.message,
    })?;
    save(&png_path, &image)?;
    let text = svg(chart, labels, note).map_err(|e| ChartError {
        path: svg_path.clone(),
        message: e.message,
    })?;
    let embedded = super::font::embed_in_svg(&text).map_err(|e| ChartError {
        path: svg_path.clone(),
        message: e.to_string(),
    })?;
    save(&svg_path, embedded.as_bytes())?;
    Ok((vec![png_path, svg_path], text))
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
                labels.below_target,
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
            series: vec![Series::carrier("cmcc", &ZH, vec![Some(40.0)])],
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

    /// `(x, y)` of every `<tag …>` of `svg` whose attributes contain all of `attrs`.
    fn elements(svg: &str, tag: &str, attrs: &[&str]) -> usize {
        svg.split(&format!("<{tag} "))
            .skip(1)
            .map(|rest| &rest[..rest.find('>').unwrap_or(rest.len())])
            .filter(|el| attrs.iter().all(|a| el.contains(a)))
            .count()
    }

    /// Pixels of `color` (within 30 per channel) in the plot of a PNG, left of the side column.
    fn plot_pixels(path: &Path, color: RGBColor) -> usize {
        let bytes = std::fs::read(path).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let plot_width = (SIZE.0 - SIDE_WIDTH) as usize;
        buf[..info.buffer_size()]
            .chunks(info.line_size)
            .flat_map(|row| row[..plot_width * 3].chunks(3))
            .filter(|p| {
                p[0].abs_diff(color.0) < 30
                    && p[1].abs_diff(color.1) < 30
                    && p[2].abs_diff(color.2) < 30
            })
            .count()
    }

    /// A carrier whose line is exactly the overall (the only carrier, or one far ahead) stays
    /// visible: its own filled markers and the overall's rings are both drawn at every point,
    /// the overall is drawn last as a dashed line, and the carrier's colour still shows in
    /// the plot's pixels.
    #[test]
    fn a_carrier_line_under_the_overall_line_stays_visible() {
        let values = vec![Some(0.0), Some(40.0), Some(40.0), Some(100.0)];
        let chart = Chart::Trend(TrendChart {
            title: ZH.i33_trend.to_owned(),
            x_label: String::new(),
            y_label: ZH.percent.to_owned(),
            weeks: (1..=4).map(|w| format!("W{w:02}")).collect(),
            series: vec![
                Series::carrier("cmcc", &ZH, values.clone()),
                Series::overall(&ZH, values),
            ],
            target: Some(50.0),
        });
        let svg = svg(&chart, &ZH, None).unwrap();
        // Four points each, plus one marker each in the legend.
        assert_eq!(
            elements(&svg, "circle", &["fill=\"#0072B2\""]),
            4 + 1,
            "{svg}"
        );
        assert_eq!(
            elements(
                &svg,
                "circle",
                &["fill=\"none\"", "stroke=\"#333333\"", "r=\"9\""]
            ),
            4 + 1
        );
        let blue_line = svg.find("stroke=\"#0072B2\"").unwrap();
        let grey_line = svg.find("stroke=\"#333333\"").unwrap();
        assert!(blue_line < grey_line, "the overall is drawn on top");
        // Dashed: many short pieces of grey line, not one polyline over the carrier's.
        assert!(elements(&svg, "polyline", &["stroke=\"#333333\""]) > 10);

        let dir = tempfile::tempdir().unwrap();
        write(&chart, &ZH, dir.path(), "same", None).unwrap();
        let blue = plot_pixels(&dir.path().join("same.png"), carrier_color("cmcc"));
        assert!(
            blue > 800,
            "only {blue} pixels of the carrier's blue in the plot"
        );
    }

    /// Every legend stands in the side column, right of the plot, never over the data.
    #[test]
    fn legends_stand_outside_the_plot() {
        let trend = Chart::Trend(TrendChart {
            title: ZH.i26_trend.to_owned(),
            x_label: String::new(),
            y_label: ZH.mbps.to_owned(),
            weeks: vec!["W01".into(), "W02".into()],
            series: vec![
                Series::carrier("cu", &ZH, vec![Some(30.0), Some(90.0)]),
                Series::overall(&ZH, vec![Some(30.0), Some(90.0)]),
            ],
            target: Some(25.0),
        });
        let bars = Chart::Bars(BarChart {
            title: ZH.i26_by_carrier.to_owned(),
            y_label: ZH.mbps.to_owned(),
            groups: vec![ZH.carrier("cmcc"), ZH.carrier("cu")],
            series: vec![
                Series::carrier("cmcc", &ZH, vec![Some(40.0), None]),
                Series::carrier("cu", &ZH, vec![None, Some(20.0)]),
            ],
            target: Some(25.0),
        });
        let side = SIZE.0 - SIDE_WIDTH;
        for (chart, words) in [
            (trend, vec!["中国联通", "总体", "目标 25"]),
            (bars, vec!["中国移动", "中国联通", "目标 25"]),
        ] {
            let svg = svg(&chart, &ZH, None).unwrap();
            for word in words {
                let at = svg
                    .rfind(&format!(">\n{word}\n</text>"))
                    .unwrap_or_else(|| panic!("{word}: {svg}"));
                let tag = &svg[svg[..at].rfind("<text").unwrap()..at];
                let x: u32 = tag
                    .split("x=\"")
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .and_then(|x| x.parse().ok())
                    .unwrap();
                assert!(x > side, "{word} at x={x}, inside the plot (< {side})");
            }
            // The bars of the by-carrier chart: each in its carrier's colour.
            if chart.title() == ZH.i26_by_carrier {
                for id in ["cmcc", "cu"] {
                    let RGBColor(r, g, b) = carrier_color(id);
                    let fill = format!("fill=\"#{r:02X}{g:02X}{b:02X}\"");
                    assert_eq!(elements(&svg, "rect", &[&fill]), 2, "{id}: a bar and a key");
                }
            }
        }
    }

    /// A heat map has its colour scale (values from 0 to the max) and marks exactly the cells
    /// under target with a red frame and flag.
    #[test]
    fn heat_maps_have_a_scale_and_mark_cells_under_target() {
        let chart = Chart::Grid(GridChart {
            title: ZH.site_5g.to_owned(),
            rows: vec!["医院".into(), "车站".into()],
            cols: vec![ZH.carrier("cmcc"), ZH.carrier("cu")],
            values: vec![vec![Some(95.0), Some(89.0)], vec![None, Some(90.0)]],
            max: 100.0,
            show_values: true,
            target: Some(90.0),
        });
        let svg = svg(&chart, &ZH, None).unwrap();
        let red = "fill=\"#C80000\"";
        // One flag in the grid (89 < 90; 90 and the empty cell are not under), one in the key.
        assert_eq!(elements(&svg, "polygon", &[red]), 1 + 1, "{svg}");
        for v in ["0", "25", "50", "75", "100", "低于目标 90"] {
            assert!(
                svg.contains(&format!(">\n{v}\n</text>")),
                "scale value {v} missing"
            );
        }
        assert!(under_target(Some(89.9), Some(90.0)));
        assert!(!under_target(Some(90.0), Some(90.0)));
        assert!(!under_target(None, Some(90.0)));
        assert!(!under_target(Some(1.0), None));
    }

    #[test]
    fn every_carrier_has_its_own_colour_and_marker() {
        let ids = ["cmcc", "cu", "ct", "cbn", "overall"];
        for (i, a) in ids.iter().enumerate() {
            for b in &ids[i + 1..] {
                assert_ne!(carrier_color(a), carrier_color(b));
                assert_ne!(carrier_marker(a), carrier_marker(b));
            }
        }
        assert_eq!(carrier_color("overall"), OVERALL_COLOR);
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
