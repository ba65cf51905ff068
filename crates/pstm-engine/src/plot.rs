//! `pstm plot`: PNG pictures of any volume or output directory: inline and crossline sections,
//! time slices (north up, in world coordinates) and offset gathers, red-white-blue with a colour
//! bar that states its clip, optional AGC for display, and a synthetic survey's truth marked.
//!
//! Lines are numbered as `pstm export` numbers them: inline `first_inline + ix` (a section at
//! constant x index, running along y) and crossline `first_crossline + iy`. Volumes are read a
//! line or a block of columns at a time, never whole.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use pstm_io::{Dataset, VolumeReader};
use pstm_math::{OutputGrid, Tile};

use crate::error::{EngineError, Result};
use crate::output;

/// Picture size in pixels.
pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 720;
/// Width of the colour bar's panel on the right.
const BAR_PANEL: u32 = 130;
/// Columns read at once while scanning a volume (peak, time slice).
const SCAN_BLOCK: usize = 64;

/// Which pictures to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotKind {
    /// Constant inline (x index): crosslines across, time down.
    Inline,
    /// Constant crossline (y index): inlines across, time down.
    Crossline,
    /// Constant time: the grid in world coordinates, north up.
    Time,
    /// An output directory's offset gathers at one column: offset bins across, time down.
    Gather,
}

impl PlotKind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "inline" => Some(Self::Inline),
            "crossline" => Some(Self::Crossline),
            "time" => Some(Self::Time),
            "gather" => Some(Self::Gather),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Inline => "inline",
            Self::Crossline => "crossline",
            Self::Time => "time",
            Self::Gather => "gather",
        }
    }
}

/// What `pstm plot` draws and where it cuts the volume (`None`: through its peak |amplitude|).
#[derive(Debug, Clone)]
pub struct PlotOptions {
    pub kinds: Vec<PlotKind>,
    pub inline: Option<i64>,
    pub crossline: Option<i64>,
    pub time_ms: Option<f64>,
    /// Percentile of |amplitude| the colours saturate at.
    pub clip_percentile: f64,
    /// Automatic gain control for display: each trace divided by its RMS over this window.
    pub agc_ms: Option<f64>,
    pub first_inline: i64,
    pub first_crossline: i64,
}

impl Default for PlotOptions {
    fn default() -> Self {
        Self {
            kinds: vec![PlotKind::Inline, PlotKind::Crossline, PlotKind::Time],
            inline: None,
            crossline: None,
            time_ms: None,
            clip_percentile: 99.0,
            agc_ms: None,
            first_inline: 1,
            first_crossline: 1,
        }
    }
}

/// One picture written, with where things landed on it (for checking it).
#[derive(Debug, Clone)]
pub struct Picture {
    pub path: PathBuf,
    pub kind: PlotKind,
    /// Pixels of the truth's markers.
    pub markers: Vec<(i32, i32)>,
    /// The colour bar's pixels `(x0, y0, x1, y1)`: +clip (red) at the top, -clip (blue) at the
    /// bottom.
    pub colour_bar: PixelRect,
    pub clip: f32,
}

static FONT: Once = Once::new();

/// The embedded font, so pictures have labels on machines without system fonts.
fn register_font() {
    FONT.call_once(|| {
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
    });
}

/// Red (positive) - white - blue (negative), saturating at `clip`.
pub fn colour(v: f32, clip: f32) -> RGBColor {
    let x = (v / clip).clamp(-1.0, 1.0);
    let x = if x.is_nan() { 0.0 } else { x };
    let fade = |c: f32| (255.0 * (1.0 - c.abs())) as u8;
    if x >= 0.0 { RGBColor(255, fade(x), fade(x)) } else { RGBColor(fade(x), fade(x), 255) }
}

/// The `percentile` of |amplitude| (finite values), so that one spike does not wash out the rest.
pub fn clip_level(data: &[f32], percentile: f64) -> f32 {
    let mut a: Vec<f32> = data.iter().map(|v| v.abs()).filter(|v| v.is_finite()).collect();
    if a.is_empty() {
        return 1.0;
    }
    let k = ((a.len() as f64 * percentile / 100.0) as usize).min(a.len() - 1);
    let (_, v, _) = a.select_nth_unstable_by(k, f32::total_cmp);
    if *v > 0.0 { *v } else { 1.0 }
}

/// Divide a trace by its RMS over a window of `half` samples each side (display only).
fn agc(trace: &mut [f32], half: usize) {
    let n = trace.len();
    let mut prefix = vec![0.0f64; n + 1];
    for (i, v) in trace.iter().enumerate() {
        prefix[i + 1] = prefix[i] + (*v as f64) * (*v as f64);
    }
    let peak = trace.iter().fold(0.0f32, |m, v| m.max(v.abs())) as f64;
    let gains: Vec<f64> = (0..n)
        .map(|i| {
            let (a, b) = (i.saturating_sub(half), (i + half + 1).min(n));
            let rms = ((prefix[b] - prefix[a]) / (b - a) as f64).sqrt();
            // A floor keeps silent stretches from blowing up to noise.
            1.0 / rms.max(1e-6 * peak).max(f64::MIN_POSITIVE)
        })
        .collect();
    for (v, g) in trace.iter_mut().zip(gains) {
        *v = (*v as f64 * g) as f32;
    }
}

/// What a path holds for plotting.
struct Source {
    name: String,
    stack: VolumeReader,
    /// Offset gather volumes (an output directory's), in bin order.
    gathers: Vec<VolumeReader>,
    /// Diffractors of a synthetic survey: world x, y and zero-offset time (s).
    truth: Vec<[f64; 3]>,
}

impl Source {
    fn open(path: &Path) -> Result<Self> {
        let name = path.file_name().map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into());
        let name = name.trim_end_matches(".zarr").to_string();
        if !path.join(output::STACK).exists() {
            if path.join("zarr.json").exists() || path.join(".zarray").exists() {
                return Ok(Self { name, stack: VolumeReader::open(path)?, gathers: vec![], truth: vec![] });
            }
            return Err(EngineError::Other(format!(
                "{}: not a volume (zarr) or a pstm output directory; pstm plot draws those",
                path.display()
            )));
        }
        let stack = VolumeReader::open(&path.join(output::STACK))?;
        let mut gathers = Vec::new();
        for k in 0.. {
            let p = path.join(output::GATHERS).join(output::gather_name(k));
            if !p.exists() {
                break;
            }
            gathers.push(VolumeReader::open(&p)?);
        }
        Ok(Self { name, stack, gathers, truth: truth_of(path) })
    }
}

/// A synthetic survey's diffractors, found through the output's run record (its job's input).
fn truth_of(output_dir: &Path) -> Vec<[f64; 3]> {
    let dataset = std::fs::read_to_string(output_dir.join(output::RUN_RECORD))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|run| run["config"]["input"]["dataset"].as_str().map(PathBuf::from));
    let Some(meta) = dataset.and_then(|d| Dataset::open(&d).ok()).and_then(|d| d.metadata().ok().flatten()) else {
        return vec![];
    };
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    meta["diffractors"]
        .as_array()
        .map(|ds| ds.iter().map(|d| [num(&d["x"]), num(&d["y"]), num(&d["t0_s"])]).collect())
        .unwrap_or_default()
}

/// Index `(ix, iy, it)` of the volume's largest |amplitude|, read a block of columns at a time.
fn peak(reader: &VolumeReader) -> Result<(usize, usize, usize)> {
    let grid = reader.info().grid;
    let nt = grid.time.nt;
    let (mut best, mut at) = (-1.0f32, (0, 0, 0));
    for tile in grid.tiles(SCAN_BLOCK, SCAN_BLOCK) {
        let data = reader.read_f32(&tile)?;
        for (k, v) in data.iter().enumerate() {
            if v.abs() > best {
                best = v.abs();
                let c = k / nt.max(1);
                at = (tile.ix0 + c / tile.ny, tile.iy0 + c % tile.ny, k % nt.max(1));
            }
        }
    }
    Ok(at)
}

/// Where the pictures cut the volume, as grid indices.
struct Cut {
    ix: usize,
    iy: usize,
    it: usize,
}

fn cut(grid: &OutputGrid, reader: &VolumeReader, o: &PlotOptions) -> Result<Cut> {
    let peak =
        if o.inline.is_none() || o.crossline.is_none() || o.time_ms.is_none() { Some(peak(reader)?) } else { None };
    let line = |given: Option<i64>, first: i64, n: usize, what: &str, from_peak: usize| -> Result<usize> {
        match given {
            None => Ok(from_peak),
            Some(l) if (first..first + n as i64).contains(&l) => Ok((l - first) as usize),
            Some(l) => Err(EngineError::Other(format!(
                "--{what} {l} is outside the volume's {what}s {first}..{}",
                first + n as i64 - 1
            ))),
        }
    };
    let p = peak.unwrap_or((0, 0, 0));
    let ix = line(o.inline, o.first_inline, grid.nx, "inline", p.0)?;
    let iy = line(o.crossline, o.first_crossline, grid.ny, "crossline", p.1)?;
    let it = match o.time_ms {
        None => p.2,
        Some(t) => {
            let i = ((t * 1e-3 - grid.time.t0_s) / grid.time.dt_s).round();
            if !(0.0..grid.time.nt as f64).contains(&i) {
                return Err(EngineError::Other(format!(
                    "--time-ms {t} is outside the volume's times {}..{} ms",
                    grid.time.t0_s * 1e3,
                    grid.time.last() * 1e3
                )));
            }
            i as usize
        }
    };
    Ok(Cut { ix, iy, it })
}

/// Draw the pictures `options` asks for of `path` (a volume or an output directory) into
/// `out_dir`, named `<name>_<kind>.png`.
pub fn plot(path: &Path, out_dir: &Path, options: &PlotOptions) -> Result<Vec<Picture>> {
    register_font();
    let source = Source::open(path)?;
    let grid = source.stack.info().grid;
    let c = cut(&grid, &source.stack, options)?;
    std::fs::create_dir_all(out_dir).map_err(|e| pstm_io::IoError::fs(out_dir, e))?;
    let half = options.agc_ms.map(|ms| ((ms * 1e-3 / grid.time.dt_s / 2.0).round() as usize).max(1));
    let gain = |trace: &mut [f32]| {
        if let Some(h) = half {
            agc(trace, h);
        }
    };
    let (il, xl) = (options.first_inline + c.ix as i64, options.first_crossline + c.iy as i64);
    let t_ms = grid.time.time(c.it) * 1e3;
    let shown = if half.is_some() { format!(", AGC {} ms", options.agc_ms.unwrap_or(0.0)) } else { String::new() };
    let mut pictures = Vec::new();
    for &kind in &options.kinds {
        let file = out_dir.join(format!("{}_{}.png", source.name, kind.name()));
        let picture = match kind {
            PlotKind::Inline | PlotKind::Crossline => {
                let inline = kind == PlotKind::Inline;
                let tile = if inline {
                    Tile { ix0: c.ix, iy0: 0, nx: 1, ny: grid.ny }
                } else {
                    Tile { ix0: 0, iy0: c.iy, nx: grid.nx, ny: 1 }
                };
                let mut data = source.stack.read_f32(&tile)?;
                data.chunks_mut(grid.time.nt.max(1)).for_each(gain);
                let (first, across_name) =
                    if inline { (options.first_crossline, "crossline") } else { (options.first_inline, "inline") };
                let (a, b) = if inline { ((c.ix, 0), (c.ix, grid.ny - 1)) } else { ((0, c.iy), (grid.nx - 1, c.iy)) };
                let (ax, ay) = grid.column_xy(a.0, a.1);
                let (bx, by) = grid.column_xy(b.0, b.1);
                let title = format!(
                    "{}: {} {}, from ({ax:.0}, {ay:.0}) to ({bx:.0}, {by:.0}) m{shown}",
                    source.name,
                    kind.name(),
                    if inline { il } else { xl }
                );
                // Truth within one bin of the section's line.
                let markers: Vec<(f64, f64)> = source
                    .truth
                    .iter()
                    .filter_map(|&[x, y, t0]| {
                        let (fx, fy) = grid.grid_position(x, y);
                        let (off, along) = if inline { (fx - c.ix as f64, fy) } else { (fy - c.iy as f64, fx) };
                        (off.abs() <= 1.0).then_some((first as f64 + along, t0 * 1e3))
                    })
                    .collect();
                let section = Section {
                    data: &data,
                    n_across: tile.nx.max(tile.ny),
                    across: (first as f64, 1.0, across_name.to_string()),
                    grid: &grid,
                };
                draw_section(&file, kind, &title, &section, &markers, options.clip_percentile)?
            }
            PlotKind::Gather => {
                if source.gathers.is_empty() {
                    return Err(EngineError::Other(format!(
                        "{}: no offset gathers to plot (output.offset_gathers)",
                        path.display()
                    )));
                }
                let tile = Tile { ix0: c.ix, iy0: c.iy, nx: 1, ny: 1 };
                let mut data = Vec::new();
                for g in &source.gathers {
                    let mut trace = g.read_f32(&tile)?;
                    gain(&mut trace);
                    data.extend(trace);
                }
                let title = format!("{}: offset gather at inline {il}, crossline {xl}{shown}", source.name);
                // Bins of one width from the first's range (output.offset_gathers), by their centres.
                let attr = |k: &str| source.gathers[0].info().attributes.get(k).and_then(|v| v.as_f64());
                let across = match (attr("offset_min_m"), attr("offset_max_m")) {
                    (Some(lo), Some(hi)) if hi > lo => (0.5 * (lo + hi), hi - lo, "offset, bin centre (m)".to_string()),
                    _ => (0.0, 1.0, "offset bin".to_string()),
                };
                let section = Section { data: &data, n_across: source.gathers.len(), across, grid: &grid };
                draw_section(&file, kind, &title, &section, &[], options.clip_percentile)?
            }
            PlotKind::Time => {
                let values = time_slice(&source.stack, c.it, half)?;
                let title = format!("{}: time slice at {t_ms:.0} ms{shown}", source.name);
                // Truth within a wavelet's reach of the slice.
                let markers: Vec<(f64, f64)> =
                    source.truth.iter().filter(|d| (d[2] * 1e3 - t_ms).abs() <= 20.0).map(|d| (d[0], d[1])).collect();
                let slice =
                    Slice { values: &values, grid: &grid, first: (options.first_inline, options.first_crossline) };
                draw_time_slice(&file, &title, &slice, &markers, options.clip_percentile)?
            }
        };
        pictures.push(picture);
    }
    Ok(pictures)
}

/// Sample `it` of every column (`[ix * ny + iy]`), with AGC over `half` samples each side.
fn time_slice(reader: &VolumeReader, it: usize, half: Option<usize>) -> Result<Vec<f32>> {
    let grid = reader.info().grid;
    let nt = grid.time.nt;
    let mut values = vec![0.0f32; grid.n_columns()];
    for tile in grid.tiles(SCAN_BLOCK, SCAN_BLOCK) {
        let mut data = reader.read_f32(&tile)?;
        for (c, trace) in data.chunks_mut(nt.max(1)).enumerate() {
            if let Some(h) = half {
                agc(trace, h);
            }
            let (ix, iy) = (tile.ix0 + c / tile.ny, tile.iy0 + c % tile.ny);
            values[ix * grid.ny + iy] = trace[it];
        }
    }
    Ok(values)
}

/// A section to draw: `data[i * nt + j]`, trace `i` across (numbered `across.0 + i * across.1`).
struct Section<'a> {
    data: &'a [f32],
    n_across: usize,
    across: (f64, f64, String),
    grid: &'a OutputGrid,
}

/// A time slice to draw: `values[ix * ny + iy]` of `grid`, lines numbered from `first`.
struct Slice<'a> {
    values: &'a [f32],
    grid: &'a OutputGrid,
    first: (i64, i64),
}

/// Turns a drawing library's error into ours, naming the picture.
type DrawError<'p> = Box<dyn Fn(&dyn std::fmt::Display) -> EngineError + 'p>;

fn draw_error(path: &Path) -> DrawError<'_> {
    Box::new(move |e| EngineError::Other(format!("{}: cannot draw the picture: {e}", path.display())))
}

/// The picture's root, split into the plot and the colour bar's panel.
fn canvas(path: &Path) -> (DrawingArea<BitMapBackend<'_>, Shift>, DrawingArea<BitMapBackend<'_>, Shift>) {
    let root = BitMapBackend::new(path, (WIDTH, HEIGHT)).into_drawing_area();
    let _ = root.fill(&WHITE);
    root.split_horizontally(WIDTH - BAR_PANEL)
}

fn draw_section(
    path: &Path,
    kind: PlotKind,
    title: &str,
    s: &Section<'_>,
    markers: &[(f64, f64)],
    percentile: f64,
) -> Result<Picture> {
    // Drawn under a temporary name (same extension: the encoder goes by it), then renamed.
    let staged = pstm_io::Staged::new(path, true)?;
    let err = draw_error(path);
    let clip = clip_level(s.data, percentile);
    let (nt, t) = (s.grid.time.nt, &s.grid.time);
    let (a0, da) = (s.across.0, s.across.1);
    let (x0, x1) = (a0 - 0.5 * da, a0 + (s.n_across as f64 - 0.5) * da);
    let (y0, y1) = ((t.t0_s - 0.5 * t.dt_s) * 1e3, (t.last() + 0.5 * t.dt_s) * 1e3);
    let (main, panel) = canvas(staged.path());
    let mut chart = axes(&main, title, (x0..x1, y1..y0), (s.across.2.as_str(), "two-way time (ms)"), &err)?;
    chart
        .draw_series((0..s.n_across).flat_map(|i| {
            (0..nt).map(move |j| {
                let xa = a0 + (i as f64 - 0.5) * da;
                let ya = (t.time(j) - 0.5 * t.dt_s) * 1e3;
                Rectangle::new([(xa, ya), (xa + da, ya + t.dt_s * 1e3)], colour(s.data[i * nt + j], clip).filled())
            })
        }))
        .map_err(|e| err(&e))?;
    let (markers, colour_bar) = finish(chart, &panel, markers, (clip, percentile), &err)?;
    drop((main, panel));
    staged.commit()?;
    Ok(Picture { path: path.to_path_buf(), kind, markers, colour_bar, clip })
}

fn draw_time_slice(
    path: &Path,
    title: &str,
    s: &Slice<'_>,
    markers: &[(f64, f64)],
    percentile: f64,
) -> Result<Picture> {
    let staged = pstm_io::Staged::new(path, true)?;
    let err = draw_error(path);
    let g = s.grid;
    let clip = clip_level(s.values, percentile);
    // The grid's outline in world coordinates, with room for a cell at each edge.
    let corners =
        [(-0.5, -0.5), (g.nx as f64 - 0.5, -0.5), (-0.5, g.ny as f64 - 0.5), (g.nx as f64 - 0.5, g.ny as f64 - 0.5)];
    let world: Vec<(f64, f64)> = corners.iter().map(|&(fx, fy)| g.world_position(fx, fy)).collect();
    let (mut xmin, mut ymin, mut xmax, mut ymax) = world
        .iter()
        .fold((f64::MAX, f64::MAX, f64::MIN, f64::MIN), |b, &(x, y)| (b.0.min(x), b.1.min(y), b.2.max(x), b.3.max(y)));
    // Equal scales in x and y: the map is not stretched.
    let (main, panel) = canvas(staged.path());
    let (w, h) = main.dim_in_pixel();
    let aspect = (w as f64 - 110.0) / (h as f64 - 100.0);
    let (cx, cy, sx, sy) = (0.5 * (xmin + xmax), 0.5 * (ymin + ymax), xmax - xmin, ymax - ymin);
    if sx / sy < aspect {
        (xmin, xmax) = (cx - 0.5 * sy * aspect, cx + 0.5 * sy * aspect);
    } else {
        (ymin, ymax) = (cy - 0.5 * sx / aspect, cy + 0.5 * sx / aspect);
    }
    let mut chart = axes(&main, title, (xmin..xmax, ymin..ymax), ("x, east (m)", "y, north (m)"), &err)?;
    chart
        .draw_series((0..g.nx).flat_map(|ix| {
            (0..g.ny).map(move |iy| {
                let cell: Vec<(f64, f64)> = [(-0.5, -0.5), (0.5, -0.5), (0.5, 0.5), (-0.5, 0.5)]
                    .iter()
                    .map(|&(dx, dy)| g.world_position(ix as f64 + dx, iy as f64 + dy))
                    .collect();
                Polygon::new(cell, colour(s.values[ix * g.ny + iy], clip).filled())
            })
        }))
        .map_err(|e| err(&e))?;
    // The corners' line numbers, so the map reads against the sections.
    let (il0, xl0) = s.first;
    for (ix, iy) in [(0, 0), (g.nx - 1, 0), (0, g.ny - 1), (g.nx - 1, g.ny - 1)] {
        let (x, y) = g.column_xy(ix, iy);
        let label = format!("IL {} XL {}", il0 + ix as i64, xl0 + iy as i64);
        chart
            .draw_series(std::iter::once(Text::new(label, (x, y), ("sans-serif", 13).into_font().color(&BLACK))))
            .map_err(|e| err(&e))?;
    }
    let (markers, colour_bar) = finish(chart, &panel, markers, (clip, percentile), &err)?;
    drop((main, panel));
    staged.commit()?;
    Ok(Picture { path: path.to_path_buf(), kind: PlotKind::Time, markers, colour_bar, clip })
}

type Chart<'a, 'b> = ChartContext<
    'a,
    BitMapBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// The chart of a picture: its title, the `x` and `y` ranges (a reversed `y` puts time down),
/// the axes described and labelled in whole numbers.
fn axes<'a, 'b>(
    main: &'a DrawingArea<BitMapBackend<'b>, Shift>,
    title: &str,
    (x, y): (std::ops::Range<f64>, std::ops::Range<f64>),
    (x_desc, y_desc): (&str, &str),
    err: &DrawError<'_>,
) -> Result<Chart<'a, 'b>> {
    let mut chart = ChartBuilder::on(main)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(80)
        .build_cartesian_2d(x, y)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| format!("{v:.0}"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 15))
        .axis_desc_style(("sans-serif", 16))
        .draw()
        .map_err(|e| err(&e))?;
    Ok(chart)
}

/// Pixels `(x0, y0, x1, y1)` of a rectangle.
pub type PixelRect = (i32, i32, i32, i32);

/// Ring the truth, draw the colour bar, and write the pixels out: the rings' and the bar's.
fn finish<'a, 'b: 'a>(
    mut chart: Chart<'a, 'b>,
    panel: &DrawingArea<BitMapBackend<'b>, Shift>,
    markers: &[(f64, f64)],
    (clip, percentile): (f32, f64),
    err: &DrawError<'_>,
) -> Result<(Vec<(i32, i32)>, PixelRect)> {
    let pixels = mark(&mut chart, markers).map_err(|e| err(&e))?;
    let bar = colour_bar(panel, clip, percentile).map_err(|e| err(&e))?;
    drop(chart);
    // One backend under both areas: presenting either writes the whole picture.
    panel.present().map_err(|e| err(&e))?;
    Ok((pixels, bar))
}

/// Black rings where the truth says; their pixels.
fn mark<'a, DB: DrawingBackend + 'a>(
    chart: &mut ChartContext<
        'a,
        DB,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    at: &[(f64, f64)],
) -> std::result::Result<Vec<(i32, i32)>, DrawingAreaErrorKind<DB::ErrorType>> {
    chart.draw_series(at.iter().map(|&p| Circle::new(p, 12, BLACK.stroke_width(2))))?;
    Ok(at.iter().map(|p| chart.backend_coord(p)).collect())
}

/// A vertical colour bar from +clip (top) to -clip (bottom), labelled; its pixels.
fn colour_bar<DB: DrawingBackend>(
    panel: &DrawingArea<DB, Shift>,
    clip: f32,
    percentile: f64,
) -> std::result::Result<PixelRect, DrawingAreaErrorKind<DB::ErrorType>> {
    let (x0, y0, x1, y1) = (20, 90, 50, HEIGHT as i32 - 90);
    for y in y0..=y1 {
        let v = clip * (1.0 - 2.0 * (y - y0) as f32 / (y1 - y0) as f32);
        panel.draw(&PathElement::new(vec![(x0, y), (x1, y)], colour(v, clip)))?;
    }
    panel.draw(&Rectangle::new([(x0, y0), (x1, y1)], BLACK))?;
    let font = ("sans-serif", 14).into_font().color(&BLACK);
    panel.draw(&Text::new(format!("{clip:+.3e}"), (x0 - 8, y0 - 22), font.clone()))?;
    panel.draw(&Text::new("0".to_string(), (x1 + 6, (y0 + y1) / 2 - 7), font.clone()))?;
    panel.draw(&Text::new(format!("{:+.3e}", -clip), (x0 - 8, y1 + 8), font.clone()))?;
    panel.draw(&Text::new(format!("clip: {percentile}th"), (4, y1 + 32), font.clone()))?;
    panel.draw(&Text::new("percentile of |a|".to_string(), (4, y1 + 50), font))?;
    let (ox, oy) = panel.get_base_pixel();
    Ok((ox + x0, oy + y0, ox + x1, oy + y1))
}
