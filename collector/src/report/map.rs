//! The site map: every site with coordinates in `collector.toml`, drawn as SVG from the
//! coordinates alone (no tile service: the dashboard runs on a county network that may not
//! reach one, and the bureau's pages must not call out to third parties). Each site is a disc
//! whose left half says whether it meets I26 this week and whose right half says I33.

use super::html::esc;
use crate::config::CollectorConfig;
use crate::indicators::WeekIndicators;
use fathom_shared::IsoWeek;
use std::fmt::Write as _;

/// Appends to a `String`, which cannot fail.
macro_rules! put {
    ($($arg:tt)*) => {
        write!($($arg)*).expect("writing to a String cannot fail")
    };
}

/// A site's state for one indicator on the map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Meets the target this week.
    Met,
    /// Falls short this week.
    NotMet,
    /// Counts for the indicator but has no data this week.
    NoData,
    /// Its category does not count for the indicator.
    NotCounted,
}

impl Mark {
    /// Fill colour: Okabe–Ito green and vermillion tell met from not met for colour-blind
    /// readers too; no data is grey, not counted is white.
    fn fill(self) -> &'static str {
        match self {
            Mark::Met => "#009E73",
            Mark::NotMet => "#D55E00",
            Mark::NoData => "#999999",
            Mark::NotCounted => "#ffffff",
        }
    }

    /// In words.
    pub fn zh(self) -> &'static str {
        match self {
            Mark::Met => "达标",
            Mark::NotMet => "未达标",
            Mark::NoData => "无数据",
            Mark::NotCounted => "不计入",
        }
    }
}

/// A site as the map draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct MapSite {
    /// Id, for the link to its page.
    pub id: String,
    /// Name.
    pub name: String,
    /// Degrees north and east; `None` when the configuration gives none.
    pub location: Option<(f64, f64)>,
    /// I26: the mean of its carriers' means against the target.
    pub i26: Mark,
    /// I33: whether it is covered, for a key public area.
    pub i33: Mark,
}

/// The map's sites for week `w`, each judged on `carrier` alone when one is given.
pub fn map_sites(
    w: &WeekIndicators,
    config: &CollectorConfig,
    carrier: Option<&str>,
) -> Vec<MapSite> {
    let keeps = |c: &str| carrier.is_none_or(|k| k == c);
    config
        .sites
        .iter()
        .map(|site| {
            let id = site.id.as_str();
            let means: Vec<f64> = w
                .i26
                .sites
                .iter()
                .filter(|r| r.site_id == id && keeps(&r.carrier))
                .map(|r| r.mean_mbps)
                .collect();
            let i26 = if !site.category.is_i26_scene() {
                Mark::NotCounted
            } else if means.is_empty() {
                Mark::NoData
            } else if means.iter().sum::<f64>() / means.len() as f64 >= w.i26.target {
                Mark::Met
            } else {
                Mark::NotMet
            };
            let i33 = match w.i33.sites.iter().find(|r| r.site_id == id) {
                None => Mark::NotCounted,
                Some(r) => match carrier {
                    None if r.no_data => Mark::NoData,
                    None => {
                        if r.covered {
                            Mark::Met
                        } else {
                            Mark::NotMet
                        }
                    }
                    Some(k) => {
                        r.carriers
                            .iter()
                            .find(|c| c.carrier == k)
                            .map_or(Mark::NoData, |c| {
                                if c.covered { Mark::Met } else { Mark::NotMet }
                            })
                    }
                },
            };
            MapSite {
                id: id.to_owned(),
                name: site.name.clone(),
                location: site.location,
                i26,
                i33,
            }
        })
        .collect()
}

/// Drawing area, px.
const WIDTH: f64 = 800.0;
const HEIGHT: f64 = 560.0;
const MARGIN: f64 = 70.0;

/// Places `(lat, lon)` points in the drawing: north up, east right, one scale on both axes
/// (a degree of longitude shrunk by the cosine of the latitude, which is exact enough across
/// a county), centred. Returns the points and the pixels per kilometre.
pub fn project(points: &[(f64, f64)]) -> (Vec<(f64, f64)>, f64) {
    if points.is_empty() {
        return (Vec::new(), 0.0);
    }
    let lat0 = points.iter().map(|p| p.0).sum::<f64>() / points.len() as f64;
    let k = lat0.to_radians().cos();
    // Kilometres east and north of the first point.
    let km: Vec<(f64, f64)> = points
        .iter()
        .map(|&(lat, lon)| {
            (
                (lon - points[0].1) * 111.32 * k,
                (lat - points[0].0) * 110.57,
            )
        })
        .collect();
    let (min_x, max_x) = km
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (min_y, max_y) = km
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let span_x = (max_x - min_x).max(0.5);
    let span_y = (max_y - min_y).max(0.5);
    let scale = ((WIDTH - 2.0 * MARGIN) / span_x).min((HEIGHT - 2.0 * MARGIN) / span_y);
    let (cx, cy) = (f64::midpoint(min_x, max_x), f64::midpoint(min_y, max_y));
    let placed = km
        .iter()
        .map(|&(x, y)| {
            (
                WIDTH / 2.0 + (x - cx) * scale,
                HEIGHT / 2.0 - (y - cy) * scale,
            )
        })
        .collect();
    (placed, scale)
}

/// A scale bar length that reads well (1, 2 or 5 × 10ⁿ km) near 120 px.
fn scale_km(px_per_km: f64) -> f64 {
    let raw = 120.0 / px_per_km;
    let p = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * p)
        .rfind(|&v| v <= raw)
        .unwrap_or(p)
}

/// The map as an SVG element; site names link to their pages for `week` when `links`.
pub fn svg(sites: &[MapSite], week: IsoWeek, links: bool) -> String {
    let located: Vec<&MapSite> = sites.iter().filter(|s| s.location.is_some()).collect();
    let points: Vec<(f64, f64)> = located.iter().filter_map(|s| s.location).collect();
    let (xy, px_per_km) = project(&points);
    let mut h = format!(
        "<svg id=site-map xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {}\" width=\"{WIDTH}\" height=\"{}\" role=img aria-label=\"站点地图\" font-size=\"14\">",
        HEIGHT + 60.0,
        HEIGHT + 60.0
    );
    h.push_str("<rect width=\"100%\" height=\"100%\" fill=\"#f7f9fb\"/>");
    for (s, &(x, y)) in located.iter().zip(&xy) {
        let title = format!("{}：I26 {}，I33 {}", s.name, s.i26.zh(), s.i33.zh());
        let name = esc(&s.name);
        // Names of sites in the right part of the map go to the left of their disc, so they
        // are never cut at the edge.
        let (lx, anchor) = if x > WIDTH * 0.6 {
            (x - 14.0, "end")
        } else {
            (x + 14.0, "start")
        };
        let text = format!(
            "<text x=\"{lx:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{name}</text>",
            y + 5.0
        );
        let label = if links {
            format!(
                "<a href=\"/site/{}?week={week}\" fill=\"#1a4fa0\">{text}</a>",
                esc(&s.id)
            )
        } else {
            text
        };
        put!(
            h,
            "<g class=site data-site=\"{id}\" data-i26=\"{a}\" data-i33=\"{b}\"><title>{t}</title>\
             <path d=\"M{x:.1},{top:.1} A10,10 0 0 0 {x:.1},{bot:.1} Z\" fill=\"{fa}\" stroke=\"#333\"/>\
             <path d=\"M{x:.1},{top:.1} A10,10 0 0 1 {x:.1},{bot:.1} Z\" fill=\"{fb}\" stroke=\"#333\"/>{label}</g>",
            id = esc(&s.id),
            a = s.i26.zh(),
            b = s.i33.zh(),
            t = esc(&title),
            top = y - 10.0,
            bot = y + 10.0,
            fa = s.i26.fill(),
            fb = s.i33.fill(),
        );
    }
    if located.is_empty() {
        put!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=middle fill=\"#666\">没有站点设置坐标（collector.toml 中 [[site]] 的 lat/lon）</text>",
            WIDTH / 2.0,
            HEIGHT / 2.0
        );
    } else {
        let km = scale_km(px_per_km);
        let len = km * px_per_km;
        let y = HEIGHT - 20.0;
        put!(
            h,
            "<line x1=\"20\" y1=\"{y}\" x2=\"{:.1}\" y2=\"{y}\" stroke=\"#333\" stroke-width=\"3\"/><text x=\"20\" y=\"{:.1}\">{} km</text>\
             <text x=\"{:.1}\" y=\"30\" font-weight=bold>北 ↑</text>",
            20.0 + len,
            y - 8.0,
            km,
            WIDTH - 50.0
        );
    }
    // The legend under the map: left half I26, right half I33.
    let ly = HEIGHT + 30.0;
    put!(
        h,
        "<text x=\"20\" y=\"{ly}\">左半：I26 下载速率　右半：I33 5G覆盖</text>"
    );
    for (i, m) in [Mark::Met, Mark::NotMet, Mark::NoData, Mark::NotCounted]
        .into_iter()
        .enumerate()
    {
        let x = 360.0 + i as f64 * 105.0;
        put!(
            h,
            "<rect x=\"{x}\" y=\"{:.1}\" width=\"14\" height=\"14\" fill=\"{}\" stroke=\"#333\"/><text x=\"{:.1}\" y=\"{ly}\">{}</text>",
            ly - 12.0,
            m.fill(),
            x + 20.0,
            m.zh()
        );
    }
    h.push_str("</svg>");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn north_is_up_east_is_right_and_both_axes_share_a_scale() {
        // A square 1 km on a side at 36° N: as wide as it is tall on the map.
        let d_lat = 1.0 / 110.57;
        let d_lon = 1.0 / (111.32 * 36f64.to_radians().cos());
        let (p, px_per_km) =
            project(&[(36.0, 118.0), (36.0 + d_lat, 118.0), (36.0, 118.0 + d_lon)]);
        assert!(p[1].1 < p[0].1, "north is up: {p:?}");
        assert!(p[2].0 > p[0].0, "east is right: {p:?}");
        let north = p[0].1 - p[1].1;
        let east = p[2].0 - p[0].0;
        assert!((north - east).abs() < 0.02 * north, "{north} vs {east}");
        assert!((north - px_per_km).abs() < 0.02 * north);
        for (x, y) in p {
            assert!((0.0..=WIDTH).contains(&x) && (0.0..=HEIGHT).contains(&y));
        }
    }

    #[test]
    fn one_site_sits_in_the_middle_and_none_give_an_empty_map() {
        let (p, _) = project(&[(36.2, 118.1)]);
        assert_eq!(p, [(WIDTH / 2.0, HEIGHT / 2.0)]);
        assert_eq!(project(&[]).0, []);
        let svg = svg(&[], "2026-W47".parse().unwrap(), true);
        assert!(svg.contains("没有站点设置坐标"), "{svg}");
    }

    #[test]
    fn scale_bars_are_round_numbers() {
        for (px_per_km, km) in [(100.0, 1.0), (40.0, 2.0), (10.0, 10.0), (1000.0, 0.1)] {
            let got = scale_km(px_per_km);
            assert!((got - km).abs() < 1e-9, "{px_per_km} px/km: {got} km");
        }
    }

    #[test]
    fn each_half_of_a_disc_says_one_indicator() {
        let site = MapSite {
            id: "h".into(),
            name: "医院<1>".into(),
            location: Some((36.2, 118.1)),
            i26: Mark::NotMet,
            i33: Mark::Met,
        };
        let svg = svg(&[site], "2026-W47".parse().unwrap(), true);
        assert!(
            svg.contains("data-i26=\"未达标\" data-i33=\"达标\""),
            "{svg}"
        );
        assert!(svg.contains("fill=\"#D55E00\"") && svg.contains("fill=\"#009E73\""));
        assert!(svg.contains("href=\"/site/h?week=2026-W47\""));
        assert!(svg.contains("医院&lt;1&gt;"), "names are escaped: {svg}");
    }
}
