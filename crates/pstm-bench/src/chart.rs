//! Grouped bar charts as SVG text, drawn with plotters' SVG backend.
//!
//! Text becomes SVG `<text>` elements that the browser renders with its own fonts; the embedded
//! DejaVu font is registered only so plotters can measure labels while laying out the chart.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::error::{BenchError, Result};

/// Series colours (the Tableau 10 palette): distinct, and readable by most colour-blind readers.
const COLOURS: [RGBColor; 8] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
];

pub fn colour(series: usize) -> RGBColor {
    COLOURS[series % COLOURS.len()]
}

/// One bar: `value` of `series` (a kernel) in `group` (a dataset), with an optional whisker.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub group: usize,
    pub series: usize,
    pub value: f64,
    /// Lowest and highest of the runs, drawn as a whisker.
    pub whisker: Option<(f64, f64)>,
    /// Printed above the bar.
    pub label: String,
}

/// A target range drawn as a hatched band just right of a bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub group: usize,
    pub series: usize,
    pub lo: f64,
    pub hi: f64,
}

/// A grouped bar chart on a logarithmic value axis (rates and ratios span decades).
pub struct BarChart<'a> {
    pub title: &'a str,
    pub y_label: &'a str,
    pub groups: &'a [String],
    pub series: &'a [String],
    pub bars: &'a [Bar],
    pub bands: &'a [Band],
    /// Legend text of the bands.
    pub band_label: &'a str,
    /// A horizontal line (speedup 1, a ceiling of 100%).
    pub reference_line: Option<(f64, &'a str)>,
}

static FONT: Once = Once::new();

fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

fn report_error<E: std::fmt::Debug>(e: E) -> BenchError {
    BenchError::Report(format!("{e:?}"))
}

/// Three significant digits without trailing zeros: 0.012, 1.5, 250, 1.2e+04.
pub fn short_number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let a = v.abs();
    if !(1e-3..1e4).contains(&a) {
        return format!("{v:.1e}");
    }
    let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
}

/// Powers of ten around every value drawn.
fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) =
        values.filter(|v| v.is_finite() && *v > 0.0).fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.1, 10.0);
    }
    let lo = 10f64.powf((lo * 0.8).log10().floor());
    let hi = 10f64.powf((hi * 1.5).log10().ceil());
    (lo, hi.max(lo * 10.0))
}

impl BarChart<'_> {
    /// The chart as an `<svg>` element of `size` pixels.
    pub fn svg(&self, size: (u32, u32)) -> Result<String> {
        register_font();
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
            root.fill(&WHITE).map_err(report_error)?;
            let values = self
                .bars
                .iter()
                .flat_map(|b| [Some(b.value), b.whisker.map(|w| w.0), b.whisker.map(|w| w.1)])
                .flatten()
                .chain(self.bands.iter().flat_map(|b| [b.lo, b.hi]))
                .chain(self.reference_line.map(|r| r.0));
            let (lo, mut hi) = log_range(values.clone());
            // Raise the top by decades until the tallest bar (and its label) clears the legend
            // in the upper left corner.
            let entries =
                self.series.len() + usize::from(!self.bands.is_empty()) + usize::from(self.reference_line.is_some());
            let plot_height = size.1.saturating_sub(110).max(50) as f64;
            let free = 1.0 - ((entries * 17 + 30) as f64 / plot_height).min(0.8);
            let top = values.filter(|v| v.is_finite() && *v > 0.0).fold(lo, f64::max);
            while top.log10() > lo.log10() + free * (hi.log10() - lo.log10()) {
                hi *= 10.0;
            }
            let n_groups = self.groups.len().max(1);
            let mut chart = ChartBuilder::on(&root)
                .caption(self.title, ("sans-serif", 18))
                .margin(12)
                .x_label_area_size(36)
                .y_label_area_size(64)
                .build_cartesian_2d(0f64..n_groups as f64, (lo..hi).log_scale())
                .map_err(report_error)?;
            chart
                .configure_mesh()
                .disable_x_mesh()
                .x_labels(0)
                .y_desc(self.y_label)
                .y_label_formatter(&|v| short_number(*v))
                .draw()
                .map_err(report_error)?;
            // Group names under the axis, centred on each group.
            let below = Pos::new(HPos::Center, VPos::Top);
            for (g, name) in self.groups.iter().enumerate() {
                let (x, y) = chart.backend_coord(&(g as f64 + 0.5, lo));
                root.draw(&Text::new(
                    name.clone(),
                    (x, y + 8),
                    ("sans-serif", 14).into_font().into_text_style(&root).pos(below),
                ))
                .map_err(report_error)?;
            }
            // Each group holds one slot per series; a bar fills the left of its slot and its
            // target band, if any, the right.
            let slot = 0.8 / self.series.len().max(1) as f64;
            let has_bands = !self.bands.is_empty();
            let bar_width = if has_bands { slot * 0.55 } else { slot * 0.85 };
            let left = |group: usize, series: usize| group as f64 + 0.1 + series as f64 * slot;
            for (s, name) in self.series.iter().enumerate() {
                let c = colour(s);
                let rects: Vec<_> = self
                    .bars
                    .iter()
                    .filter(|b| b.series == s && b.value > 0.0 && b.value.is_finite())
                    .map(|b| {
                        let x0 = left(b.group, s);
                        Rectangle::new([(x0, lo), (x0 + bar_width, b.value)], c.filled())
                    })
                    .collect();
                chart
                    .draw_series(rects)
                    .map_err(report_error)?
                    .label(name.as_str())
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], c.filled()));
            }
            for b in self.bars.iter().filter(|b| b.value > 0.0 && b.value.is_finite()) {
                let centre = left(b.group, b.series) + bar_width / 2.0;
                if let Some((w0, w1)) = b.whisker {
                    chart
                        .draw_series(std::iter::once(PathElement::new(
                            vec![(centre, w0), (centre, w1)],
                            BLACK.stroke_width(1),
                        )))
                        .map_err(report_error)?;
                }
                let top = b.whisker.map_or(b.value, |w| w.1.max(b.value));
                let (x, y) = chart.backend_coord(&(centre, top));
                let above = Pos::new(HPos::Center, VPos::Bottom);
                root.draw(&Text::new(
                    b.label.clone(),
                    (x, y - 3),
                    ("sans-serif", 11).into_font().into_text_style(&root).pos(above),
                ))
                .map_err(report_error)?;
            }
            if has_bands {
                let grey = RGBColor(90, 90, 90);
                let bands: Vec<_> = self
                    .bands
                    .iter()
                    .map(|b| {
                        let x0 = left(b.group, b.series) + bar_width + slot * 0.05;
                        Rectangle::new([(x0, b.lo), (x0 + slot * 0.3, b.hi)], grey.mix(0.35).filled())
                    })
                    .collect();
                chart
                    .draw_series(bands)
                    .map_err(report_error)?
                    .label(self.band_label)
                    .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 12, y + 5)], grey.mix(0.35).filled()));
            }
            if let Some((v, label)) = self.reference_line {
                let red = RGBColor(200, 30, 30);
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![(0.0, v), (n_groups as f64, v)],
                        red.stroke_width(1),
                    )))
                    .map_err(report_error)?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 12, y)], red.stroke_width(1)));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font(("sans-serif", 12))
                .draw()
                .map_err(report_error)?;
            root.present().map_err(report_error)?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers_keep_three_digits() {
        assert_eq!(short_number(1.0), "1");
        assert_eq!(short_number(1.5), "1.5");
        assert_eq!(short_number(0.0123456), "0.0123");
        assert_eq!(short_number(250.0), "250");
        assert_eq!(short_number(12345.0), "1.2e4");
    }

    #[test]
    fn ranges_are_decades_around_the_values() {
        assert_eq!(log_range([2.0, 30.0].into_iter()), (1.0, 100.0));
        assert_eq!(log_range(std::iter::empty()), (0.1, 10.0));
    }

    #[test]
    fn a_chart_is_one_svg_element_with_its_labels() {
        let groups = vec!["tiny".to_string(), "small".to_string()];
        let series = vec!["cpu-ref".to_string(), "gpu-v1".to_string()];
        let bars = vec![
            Bar { group: 0, series: 0, value: 1.0, whisker: None, label: "1".into() },
            Bar { group: 1, series: 1, value: 1.7, whisker: Some((1.6, 1.8)), label: "1.7".into() },
        ];
        let bands = vec![Band { group: 1, series: 1, lo: 1.5, hi: 2.0 }];
        let svg = BarChart {
            title: "speedup",
            y_label: "x",
            groups: &groups,
            series: &series,
            bars: &bars,
            bands: &bands,
            band_label: "target",
            reference_line: Some((1.0, "baseline")),
        }
        .svg((640, 360))
        .unwrap();
        assert!(svg.trim_start().starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{svg}");
        for text in ["tiny", "small", "gpu-v1", "target", "baseline", "1.7"] {
            assert!(svg.contains(&format!("\n{text}\n</text>")), "missing {text}");
        }
    }
}
