//! Charts with plotters, each drawn once per backend: PNG for the report, SVG for the web.
//!
//! Text in PNGs is rendered from a font embedded in the binary (no system fonts needed on a fresh
//! machine). Labels are English for now: the embedded DejaVu Sans has no CJK glyphs; the report
//! issue swaps in a CJK font and Chinese labels through [`Labels`].

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The embedded font (DejaVu Sans; licence in `collector/assets/fonts/LICENSE-DejaVu.txt`).
const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FONT_FAMILY: &str = "sans-serif";
const SIZE: (u32, u32) = (1000, 560);

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("cannot draw {path}: {message}")]
pub struct ChartError {
    /// The file.
    pub path: PathBuf,
    /// What plotters said.
    pub message: String,
}

/// Every text a chart shows, in one place so a language can be swapped.
#[derive(Debug, Clone, Copy)]
pub struct Labels {
    /// I26 trend title.
    pub i26_trend: &'static str,
    /// I33 trend title.
    pub i33_trend: &'static str,
    /// I32 trend title.
    pub i32_trend: &'static str,
    /// I26 by carrier title.
    pub i26_by_carrier: &'static str,
    /// Y axis of speeds.
    pub mbps: &'static str,
    /// Y axis of rates.
    pub percent: &'static str,
    /// Legend of the overall line.
    pub overall: &'static str,
    /// Legend of the target line.
    pub target: &'static str,
    /// Shown on a chart without data.
    pub no_data: &'static str,
}

/// English labels.
pub const EN: Labels = Labels {
    i26_trend: "I26 mobile download speed, weekly",
    i33_trend: "I33 5G coverage of key public areas, weekly",
    i32_trend: "I32 IPv6 support of the main websites, weekly",
    i26_by_carrier: "I26 download speed by carrier, this week",
    mbps: "Mbit/s",
    percent: "%",
    overall: "overall",
    target: "target",
    no_data: "no data",
};

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

/// One line of a trend chart; `None` leaves a gap.
#[derive(Debug, Clone)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Colour.
    pub color: RGBColor,
    /// One value per week.
    pub values: Vec<Option<f64>>,
}

/// A trend chart: weeks on x, one line per series, the target as a dashed line.
#[derive(Debug, Clone)]
pub struct TrendChart {
    /// Title.
    pub title: String,
    /// Y axis text.
    pub y_label: String,
    /// One label per week.
    pub weeks: Vec<String>,
    /// The lines.
    pub series: Vec<Series>,
    /// The target.
    pub target: f64,
}

/// A bar chart: one bar per category, with the target line.
#[derive(Debug, Clone)]
pub struct BarChart {
    /// Title.
    pub title: String,
    /// Y axis text.
    pub y_label: String,
    /// (label, value, colour).
    pub bars: Vec<(String, f64, RGBColor)>,
    /// The target.
    pub target: f64,
}

fn register_font() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        if register_font_bytes().is_err() {
            tracing::warn!("The embedded chart font could not be loaded; PNG text may be missing.");
        }
    });
}

fn register_font_bytes() -> Result<(), ()> {
    plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).map_err(|_| ())
}

fn y_top(values: impl Iterator<Item = f64>, target: f64) -> f64 {
    let max = values.fold(target, f64::max);
    (max * 1.15).max(1.0)
}

type Drawn<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;
type Frame<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The frame both kinds share: title, a y axis from 0 to `top`, and one x position per name
/// (weeks or carriers) at 0, 1, 2, ….
fn frame<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
    y_label: &str,
    names: &[String],
    top: f64,
) -> Result<Frame<'a, DB>, DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let n = names.len().max(1);
    let mut chart = ChartBuilder::on(root)
        .caption(title, (FONT_FAMILY, 26))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5f64..(n as f64 - 0.5), 0f64..top)?;
    chart
        .configure_mesh()
        .x_labels(n.min(12))
        .x_label_formatter(&|x| {
            let i = x.round();
            if (x - i).abs() < 0.01 && i >= 0.0 {
                names.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .y_desc(y_label)
        .label_style((FONT_FAMILY, 14))
        .draw()?;
    Ok(chart)
}

/// The target as a dashed red line across the chart, in the legend with its value.
fn draw_target<'a, DB: DrawingBackend + 'a>(
    chart: &mut Frame<'a, DB>,
    target: f64,
    n: usize,
    labels: &Labels,
) -> Drawn<DB> {
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

/// The legend, and "no data" across an empty chart.
fn finish<'a, DB: DrawingBackend + 'a>(
    root: &'a DrawingArea<DB, Shift>,
    chart: &mut Frame<'a, DB>,
    empty: bool,
    position: SeriesLabelPosition,
    labels: &Labels,
) -> Drawn<DB> {
    if empty {
        root.draw(&Text::new(
            labels.no_data,
            (SIZE.0 as i32 / 2 - 40, SIZE.1 as i32 / 2),
            (FONT_FAMILY, 28),
        ))?;
    }
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FONT_FAMILY, 14))
        .draw()?;
    root.present()
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
    let mut chart = frame(root, &c.title, &c.y_label, &c.weeks, top)?;
    draw_target(&mut chart, c.target, c.weeks.len(), labels)?;
    let mut any = false;
    for s in &c.series {
        let color = s.color;
        let width = if s.label == labels.overall { 4 } else { 2 };
        let points: Vec<(f64, f64)> = s
            .values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| (i as f64, v)))
            .collect();
        any |= !points.is_empty();
        // Weeks without data break the line instead of bridging it.
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
        SeriesLabelPosition::LowerRight,
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
    let top = y_top(c.bars.iter().map(|b| b.1), c.target);
    let names: Vec<String> = c.bars.iter().map(|b| b.0.clone()).collect();
    let mut chart = frame(root, &c.title, &c.y_label, &names, top)?;
    chart.draw_series(c.bars.iter().enumerate().map(|(i, (_, v, color))| {
        let x = i as f64;
        Rectangle::new([(x - 0.3, 0.0), (x + 0.3, *v)], color.filled())
    }))?;
    chart.draw_series(c.bars.iter().enumerate().map(|(i, (_, v, _))| {
        Text::new(
            format!("{v:.1}"),
            (i as f64 - 0.1, *v + top * 0.02),
            (FONT_FAMILY, 16),
        )
    }))?;
    draw_target(&mut chart, c.target, names.len(), labels)?;
    finish(
        root,
        &mut chart,
        c.bars.is_empty(),
        SeriesLabelPosition::UpperRight,
        labels,
    )
}

/// A chart of either kind.
#[derive(Debug, Clone)]
pub enum Chart {
    /// Weekly trend.
    Trend(TrendChart),
    /// Bars.
    Bars(BarChart),
}

/// Draws `chart` to `dir/stem.png` and `dir/stem.svg`; returns the two paths.
pub fn write(
    chart: &Chart,
    labels: &Labels,
    dir: &Path,
    stem: &str,
) -> Result<Vec<PathBuf>, ChartError> {
    register_font();
    let png = dir.join(format!("{stem}.png"));
    let svg = dir.join(format!("{stem}.svg"));
    let err = |path: &Path, e: &dyn std::fmt::Display| ChartError {
        path: path.to_owned(),
        message: e.to_string(),
    };
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        match chart {
            Chart::Trend(c) => draw_trend(&root, c, labels),
            Chart::Bars(c) => draw_bars(&root, c, labels),
        }
        .map_err(|e| err(&png, &e))?;
    }
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        match chart {
            Chart::Trend(c) => draw_trend(&root, c, labels),
            Chart::Bars(c) => draw_bars(&root, c, labels),
        }
        .map_err(|e| err(&svg, &e))?;
    }
    Ok(vec![png, svg])
}
