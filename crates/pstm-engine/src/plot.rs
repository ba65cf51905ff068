//! PNG images of volume slices: inline, crossline and time slice, red-white-blue, with axes.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;

use crate::error::{EngineError, Result};

/// One axis of a slice: first value, step, label.
#[derive(Debug, Clone)]
pub struct Axis {
    pub start: f64,
    pub step: f64,
    pub label: String,
}

impl Axis {
    pub fn new(start: f64, step: f64, label: impl Into<String>) -> Self {
        Self { start, step, label: label.into() }
    }

    fn end(&self, n: usize) -> f64 {
        self.start + self.step * n as f64
    }
}

static FONT: Once = Once::new();

/// The embedded font, so images have labels on machines without system fonts.
fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Red (positive) - white - blue (negative), clipped at `clip`.
fn colour(v: f32, clip: f32) -> RGBColor {
    let x = (v / clip).clamp(-1.0, 1.0);
    let fade = |c: f32| (255.0 * (1.0 - c.abs())) as u8;
    if x >= 0.0 { RGBColor(255, fade(x), fade(x)) } else { RGBColor(fade(x), fade(x), 255) }
}

/// A symmetric clip at the 99th percentile of |amplitude|, so one spike does not wash out the rest.
fn clip_level(data: &[f32]) -> f32 {
    let mut a: Vec<f32> = data.iter().map(|v| v.abs()).filter(|v| v.is_finite()).collect();
    if a.is_empty() {
        return 1.0;
    }
    let k = ((a.len() as f64 * 0.99) as usize).min(a.len() - 1);
    let (_, v, _) = a.select_nth_unstable_by(k, f32::total_cmp);
    if *v > 0.0 { *v } else { 1.0 }
}

/// Draw `data[i * n_down + j]` (i along `across`, j along `down`) as an image with the `down`
/// axis increasing downwards (time in sections) and write a PNG.
pub fn slice_png(path: &Path, title: &str, data: &[f32], across: (&Axis, usize), down: (&Axis, usize)) -> Result<()> {
    register_font();
    let (ax, n_across) = across;
    let (dy, n_down) = down;
    let err = |e: &dyn std::fmt::Display| EngineError::Other(format!("{}: cannot draw image: {e}", path.display()));
    // Drawn under a temporary name (same extension: the encoder goes by it), then renamed.
    let staged = pstm_io::Staged::new(path, true)?;
    let root = BitMapBackend::new(staged.path(), (900, 700)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let (x0, x1) = (ax.start - 0.5 * ax.step, ax.end(n_across) - 0.5 * ax.step);
    let (y0, y1) = (dy.start - 0.5 * dy.step, dy.end(n_down) - 0.5 * dy.step);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(x0..x1, y1..y0)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(ax.label.as_str())
        .y_desc(dy.label.as_str())
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 17))
        .draw()
        .map_err(|e| err(&e))?;
    let clip = clip_level(data);
    chart
        .draw_series((0..n_across).flat_map(|i| {
            (0..n_down).map(move |j| {
                let xa = ax.start + (i as f64 - 0.5) * ax.step;
                let ya = dy.start + (j as f64 - 0.5) * dy.step;
                Rectangle::new([(xa, ya), (xa + ax.step, ya + dy.step)], colour(data[i * n_down + j], clip).filled())
            })
        }))
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    drop(chart);
    drop(root);
    staged.commit()?;
    Ok(())
}

/// Three slices of a `(nx, ny, nt)` volume through `(ix, iy, it)`: inline (x-t at iy),
/// crossline (y-t at ix) and the time slice (x-y at it). Returns the files written.
pub fn volume_slices(
    dir: &Path,
    volume: &[f32],
    grid: &pstm_math::OutputGrid,
    at: (usize, usize, usize),
    name: &str,
) -> Result<Vec<std::path::PathBuf>> {
    let (nx, ny, nt) = (grid.nx, grid.ny, grid.time.nt);
    let (ix, iy, it) = at;
    let idx = |x: usize, y: usize, t: usize| (x * ny + y) * nt + t;
    let x_axis = Axis::new(grid.origin_x, grid.dx, "x along the grid (m)");
    let y_axis = Axis::new(grid.origin_y, grid.dy, "y along the grid (m)");
    let t_axis = Axis::new(grid.time.t0_s * 1e3, grid.time.dt_s * 1e3, "two-way time (ms)");
    let inline: Vec<f32> = (0..nx).flat_map(|x| (0..nt).map(move |t| volume[idx(x, iy, t)])).collect();
    let crossline: Vec<f32> = (0..ny).flat_map(|y| (0..nt).map(move |t| volume[idx(ix, y, t)])).collect();
    // Time slice: x across, y down (y increasing downwards, as maps of bins are often shown).
    let slice: Vec<f32> = (0..nx).flat_map(|x| (0..ny).map(move |y| volume[idx(x, y, it)])).collect();
    let files = [
        (
            format!("{name}_inline.png"),
            format!("{name}: inline at y index {iy} (x, t)"),
            inline,
            (&x_axis, nx),
            (&t_axis, nt),
        ),
        (
            format!("{name}_crossline.png"),
            format!("{name}: crossline at x index {ix} (y, t)"),
            crossline,
            (&y_axis, ny),
            (&t_axis, nt),
        ),
        (
            format!("{name}_timeslice.png"),
            format!("{name}: time slice at {:.0} ms (x, y)", grid.time.time(it) * 1e3),
            slice,
            (&x_axis, nx),
            (&y_axis, ny),
        ),
    ];
    let mut written = Vec::new();
    for (file, title, data, across, down) in files {
        let p = dir.join(file);
        slice_png(&p, &title, &data, across, down)?;
        written.push(p);
    }
    Ok(written)
}
