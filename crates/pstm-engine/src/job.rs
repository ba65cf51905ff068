//! From a checked configuration to a migration job tied to its data.

use std::path::PathBuf;
use std::sync::Arc;

use pstm_config::JobConfig;
use pstm_config::job::{ExecutionConfig, SurveyMode};
use pstm_io::Dataset;
use pstm_io::segy_velocity::Quantity;
use pstm_math::adaptive::{AdaptiveSettings, coarse_grid};
use pstm_math::time_sampling::TimeSamplingSettings;
use pstm_math::velocity::{Eta, VelocityCube, VelocityFunction};
use pstm_math::{ImagingOperator, OutputGrid, TimeAxis, VelocityModel};

use crate::error::{EngineError, Result};

/// Most offset bins a job may ask for (each is a volume of the output grid).
pub const MAX_GATHER_BINS: usize = 1000;
/// Most output samples per column and output columns a grid may have.
pub const MAX_NT: usize = 1_000_000;
pub const MAX_COLUMNS: usize = 100_000_000;

/// Offset bins of the gathers and the bin of every trace.
#[derive(Debug, Clone)]
pub struct GatherBins {
    /// `[min, max)` in metres, ascending.
    pub bins: Vec<[f64; 2]>,
    /// Bin of each trace of the dataset (`u32::MAX` for traces in none or not selected).
    pub trace_bin: Vec<u32>,
}

/// A trace's source-receiver distance from its coordinates: the offset the traveltimes use,
/// whatever a header column says.
fn offset_of(dataset: &Dataset, trace: usize) -> f64 {
    dataset.headers().geometry(trace).offset()
}

/// What is done to every trace before the pre-filter (`input.datum`, `input.mute`).
#[derive(Debug, Clone, Default)]
pub struct Conditioning {
    pub datum: Option<pstm_math::conditioning::DatumStatic>,
    pub mute: Option<pstm_math::conditioning::Mute>,
}

impl Conditioning {
    fn of(config: &JobConfig, dataset: &Dataset) -> Result<Self> {
        let datum = match &config.input.datum {
            None => None,
            Some(d) => {
                let h = dataset.headers();
                if h.sou_elev.is_none() || h.rec_elev.is_none() {
                    return Err(EngineError::job(
                        "input.datum",
                        format!(
                            "{}: the headers have no SOU_ELEV and REC_ELEV columns to take the static from (pstm import segy keeps them from bytes 41-48)",
                            dataset.root().join(pstm_io::dataset::HEADERS).display()
                        ),
                    ));
                }
                Some(pstm_math::conditioning::DatumStatic {
                    datum_m: d.elevation_m,
                    replacement_velocity: d.replacement_velocity,
                })
            }
        };
        Ok(Self { datum, mute: config.input.mute.as_ref().map(|m| m.mute()) })
    }
}

/// Everything a migration needs, checked against the data.
#[derive(Debug)]
pub struct MigrationJob {
    pub config: JobConfig,
    /// Shared with the job's coarse pass ([`MigrationJob::coarse_pass`]).
    pub dataset: Arc<Dataset>,
    /// Traces to migrate, ascending ([`crate::selection`]).
    pub selected: Vec<u32>,
    /// How many traces were left out, and why.
    pub left_out: crate::selection::LeftOut,
    /// Datum static and mutes, applied to every trace as it is read.
    pub conditioning: Conditioning,
    pub velocity: VelocityModel,
    pub grid: OutputGrid,
    pub operator: ImagingOperator,
    /// Offset image gathers, if any; the stack is then their sum.
    pub gathers: Option<GatherBins>,
    pub output_dir: PathBuf,
    pub overwrite: bool,
    pub normalized_stack: bool,
    pub execution: ExecutionConfig,
    pub config_hash: String,
    /// Adaptive migration (`algorithm.adaptive`), if asked for.
    pub adaptive: Option<AdaptiveSettings>,
    /// Levels of the multiscale stack (`output.multiscale`), if asked for.
    pub multiscale_levels: Option<usize>,
    /// Adaptive time sampling (`algorithm.adaptive_time`), if asked for.
    pub adaptive_time: Option<TimeSamplingSettings>,
}

impl MigrationJob {
    /// Build a job from a configuration whose relative paths are already resolved.
    pub fn from_config(config: JobConfig) -> Result<Self> {
        let dataset =
            Dataset::open(&config.input.dataset).map_err(|e| EngineError::job("input.dataset", e.to_string()))?;
        check_output_apart_from_input(&config)?;
        Self::with_dataset(config, dataset)
    }

    /// Build a job around an already opened dataset.
    pub fn with_dataset(config: JobConfig, dataset: Dataset) -> Result<Self> {
        let (selected, left_out) = crate::selection::select(&config, &dataset)?;
        let conditioning = Conditioning::of(&config, &dataset)?;
        let (dataset, config) = match config.algorithm.mode {
            SurveyMode::ThreeD => (dataset, config),
            SurveyMode::TwoD => on_the_line(dataset, config, &selected)?,
        };
        if selected.is_empty() {
            let field = if left_out.offset > 0 && left_out.offset == left_out.total() {
                "input.offset_range_m"
            } else {
                "input"
            };
            return Err(EngineError::job(
                field,
                format!("no trace is left to migrate of {}: {left_out}", dataset.headers().len()),
            ));
        }
        let velocity = build_velocity(&config)?;
        let grid = resolve_grid(&config, &dataset, &selected)?;
        let mut operator = config.algorithm.operator();
        operator.antialiasing.steps =
            pstm_math::Antialiasing::grid_steps(grid.dx, grid.dy, grid.rotation_deg, grid.nx, grid.ny);
        if operator.traveltime == pstm_math::Traveltime::CurvedRay && operator.gradient.is_none() {
            operator.gradient = Some(fitted_gradient(&velocity, &grid));
        }
        let (x0, y0, x1, y1) = grid.tile_bounds(&grid.full_tile());
        velocity.check_covers((x0, y0, x1, y1), (grid.time.t0_s, grid.time.last())).map_err(|e| {
            let field = match e {
                pstm_math::VelocityError::CubeDoesNotCover { cube: "eta", .. } => "velocity.eta.cube",
                _ => "velocity.cube",
            };
            EngineError::job(field, e.to_string())
        })?;
        check_grid_reaches_traces(&grid, &dataset, &selected, operator.aperture.max_m)?;
        let gathers = gather_bins(&config, &dataset, &selected)?;
        // With gathers the stack is their sum: traces outside every bin are not migrated.
        let selected = match &gathers {
            Some(g) => selected.into_iter().filter(|&i| g.trace_bin[i as usize] != u32::MAX).collect(),
            None => selected,
        };
        if selected.is_empty() {
            return Err(EngineError::job("output.offset_gathers", "no selected trace falls in any offset bin"));
        }
        let config_hash = config.hash();
        let adaptive = config.algorithm.adaptive.map(|a| a.settings());
        Ok(Self {
            adaptive,
            adaptive_time: config.algorithm.adaptive_time.map(|a| a.settings()),
            multiscale_levels: config.output.multiscale.map(|m| m.levels),
            output_dir: config.output.directory.clone(),
            overwrite: config.output.overwrite,
            normalized_stack: config.output.normalized_stack,
            execution: config.execution.clone(),
            config,
            dataset: Arc::new(dataset),
            selected,
            left_out,
            conditioning,
            velocity,
            grid,
            operator,
            gathers,
            config_hash,
        })
    }
}

impl MigrationJob {
    /// Columns a tile's origin and size must be multiples of (but at the grid's far edge): the
    /// coarsest multiscale block, so each tile holds whole blocks; 1 without a multiscale stack.
    pub fn tile_alignment(&self) -> usize {
        self.multiscale_levels.map_or(1, |levels| pstm_math::multiscale::block(levels - 1))
    }

    /// A quick look at this job (`pstm migrate --preview`, the roadmap's coarse-first
    /// refinement): the same traces and operator migrated on a grid 2^level times coarser in x,
    /// y and t (`pstm_math::multiscale::preview_grid`), into `output_dir`, without the
    /// multiscale stack or adaptive migration. A sample of the full image, not a mean of it:
    /// about 1/8^level of the work.
    pub fn preview(&self, level: usize, output_dir: PathBuf) -> MigrationJob {
        MigrationJob { output_dir, ..self.on_grid(pstm_math::multiscale::preview_grid(&self.grid, level)) }
    }

    /// The coarse pass of an adaptive run: this job on the coarse grid of `settings`.
    pub fn coarse_pass(&self, settings: &AdaptiveSettings) -> MigrationJob {
        self.sparse(settings.factor)
    }

    /// The thinning in x and y (at least `min_factor`) that leaves at most about `max_columns`
    /// of this job's columns: the factor of a [`MigrationJob::sparse`] sample of its image.
    pub fn grid_thinning(&self, max_columns: usize, min_factor: usize) -> usize {
        let factor = (self.grid.n_columns() as f64 / max_columns.max(1) as f64).sqrt().ceil() as usize;
        factor.max(min_factor)
    }

    /// This job's traces, velocity and operator on a grid `factor` times sparser in x and y
    /// (`pstm_math::adaptive::coarse_grid`), the stack only: a sample of the image.
    pub fn sparse(&self, factor: usize) -> MigrationJob {
        MigrationJob {
            gathers: None,
            overwrite: false,
            normalized_stack: false,
            ..self.on_grid(coarse_grid(&self.grid, factor))
        }
    }

    /// What the kernels migrate when an adaptive-time run decimates this job's time axis
    /// (`pstm_math::time_sampling`): the same job on the coarse axis. It keeps the multiscale
    /// levels and adaptive settings, which shape its tiles as the job's own.
    pub fn on_time_axis(&self, time: TimeAxis) -> MigrationJob {
        MigrationJob {
            adaptive: self.adaptive,
            multiscale_levels: self.multiscale_levels,
            ..self.on_grid(OutputGrid { time, ..self.grid })
        }
    }

    /// This job on another grid, without adaptive migration, adaptive time sampling or a
    /// multiscale stack (whose passes and blocks belong to the job's own grid).
    fn on_grid(&self, grid: OutputGrid) -> MigrationJob {
        MigrationJob {
            config: self.config.clone(),
            dataset: self.dataset.clone(),
            selected: self.selected.clone(),
            left_out: self.left_out,
            conditioning: self.conditioning.clone(),
            velocity: self.velocity.clone(),
            grid,
            operator: self.operator,
            gathers: self.gathers.clone(),
            output_dir: self.output_dir.clone(),
            overwrite: self.overwrite,
            normalized_stack: self.normalized_stack,
            execution: self.execution.clone(),
            config_hash: self.config_hash.clone(),
            adaptive: None,
            multiscale_levels: None,
            adaptive_time: None,
        }
    }
}

/// A 2D line: the line fitted through the selected traces' midpoints (their principal axis),
/// every source and receiver projected onto it (so that offsets and distances are along the
/// line, as 2D processing takes them), and the grid turned to run along it, one column wide.
fn on_the_line(dataset: Dataset, mut config: JobConfig, selected: &[u32]) -> Result<(Dataset, JobConfig)> {
    let g = &config.output.grid;
    for (key, given) in [
        ("rotation_deg", g.rotation_deg != 0.0),
        ("origin_x", g.origin_x.is_some()),
        ("origin_y", g.origin_y.is_some()),
        ("ny", g.ny.is_some_and(|n| n != 1)),
    ] {
        if given {
            return Err(EngineError::job(
                format!("output.grid.{key}"),
                "a 2D line's grid is fitted along the line (algorithm.mode: 2d): leave it out",
            ));
        }
    }
    let h = dataset.headers();
    let points: Vec<(f64, f64)> = selected.iter().map(|&i| h.geometry(i as usize).midpoint()).collect();
    let n = points.len().max(1) as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |a, p| (a.0 + p.0 / n, a.1 + p.1 / n));
    let (sxx, syy, sxy) = points.iter().fold((0.0, 0.0, 0.0), |a, p| {
        let (dx, dy) = (p.0 - mx, p.1 - my);
        (a.0 + dx * dx, a.1 + dy * dy, a.2 + dx * dy)
    });
    let mut angle = 0.5 * (2.0 * sxy).atan2(sxx - syy);
    // Pointing from the first trace towards the last, as the line was shot.
    let (first, last) = (points.first().copied().unwrap_or_default(), points.last().copied().unwrap_or_default());
    if (last.0 - first.0) * angle.cos() + (last.1 - first.1) * angle.sin() < 0.0 {
        angle += std::f64::consts::PI;
    }
    let (uy, ux) = angle.sin_cos();
    let project = |x: f64, y: f64| {
        let s = (x - mx) * ux + (y - my) * uy;
        (mx + s * ux, my + s * uy)
    };
    let mut on_line = pstm_io::TraceHeaders {
        inline: h.inline.clone(),
        crossline: h.crossline.clone(),
        trace_id: h.trace_id.clone(),
        ffid: h.ffid.clone(),
        channel: h.channel.clone(),
        sou_elev: h.sou_elev.clone(),
        rec_elev: h.rec_elev.clone(),
        ..Default::default()
    };
    for i in 0..h.len() {
        let g = h.geometry(i);
        let (sx, sy) = project(g.sx, g.sy);
        let (rx, ry) = project(g.rx, g.ry);
        // Without line numbers: `push` leaves the copied columns as they are.
        on_line.push(i as u64, &pstm_math::TraceGeometry { sx, sy, rx, ry }, None);
    }
    let grid = &mut config.output.grid;
    grid.rotation_deg = angle.to_degrees();
    grid.dy = grid.dy.or(grid.dx);
    grid.ny = Some(1);
    let dataset = dataset.with_headers(on_line)?;
    Ok((dataset, config))
}

/// The output directory is replaced on success: it must neither be the input nor hold it.
fn check_output_apart_from_input(config: &JobConfig) -> Result<()> {
    let absolute = |p: &std::path::Path| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let input = absolute(&config.input.dataset.canonicalize().unwrap_or_else(|_| config.input.dataset.clone()));
    let output = absolute(&config.output.directory);
    let output = output.canonicalize().unwrap_or(output);
    if input.starts_with(&output) || output.starts_with(&input) {
        return Err(EngineError::job(
            "output.directory",
            format!("{} overlaps the input dataset {}: write the image elsewhere", output.display(), input.display()),
        ));
    }
    Ok(())
}

fn build_velocity(config: &JobConfig) -> Result<VelocityModel> {
    velocity_model(&config.velocity)
}

/// The velocity model a `velocity` section describes (tables in ms become seconds).
pub fn velocity_model(v: &pstm_config::job::VelocityConfig) -> Result<VelocityModel> {
    let (function, field) = if let Some(c) = v.constant {
        (VelocityFunction::Constant(c), "velocity.constant")
    } else if let Some(l) = v.linear {
        (VelocityFunction::Linear { v0: l.v0, k: l.k }, "velocity.linear")
    } else if let Some(t) = &v.table {
        let times = t.iter().map(|p| p[0] * 1e-3).collect();
        let velocities = t.iter().map(|p| p[1]).collect();
        (VelocityFunction::Table { times, velocities }, "velocity.table")
    } else if let Some(path) = &v.cube {
        let cube = read_cube(path, v.segy_map.as_deref(), Quantity::Velocity)?;
        (VelocityFunction::Cube(cube), "velocity.cube")
    } else {
        return Err(EngineError::job("velocity", "no velocity given"));
    };
    let model = VelocityModel::new(function, v.kind).map_err(|e| EngineError::job(field, e.to_string()))?;
    let Some(eta) = &v.eta else { return Ok(model) };
    let (eta, field) = if let Some(c) = eta.constant {
        (Eta::Constant(c), "velocity.eta.constant")
    } else if let Some(t) = &eta.table {
        let times = t.iter().map(|p| p[0] * 1e-3).collect();
        (Eta::Table { times, values: t.iter().map(|p| p[1]).collect() }, "velocity.eta.table")
    } else if let Some(path) = &eta.cube {
        (Eta::Cube(read_cube(path, eta.segy_map.as_deref(), Quantity::Eta)?), "velocity.eta.cube")
    } else {
        return Err(EngineError::job("velocity.eta", "no eta given"));
    };
    model.with_eta(eta).map_err(|e| EngineError::job(field, e.to_string()))
}

/// A velocity or eta cube (`velocity.cube`, `velocity.eta.cube`): zarr, or SEG-Y by its extension.
fn read_cube(path: &std::path::Path, segy_map: Option<&str>, quantity: Quantity) -> Result<VelocityCube> {
    let section = match quantity {
        Quantity::Velocity => "velocity",
        Quantity::Eta => "velocity.eta",
    };
    let is_segy = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("sgy") || e.eq_ignore_ascii_case("segy"));
    if is_segy {
        let map = match segy_map {
            Some(m) => pstm_segy::HeaderMap::parse(m)
                .map_err(|e| EngineError::job(format!("{section}.segy_map"), e.to_string()))?,
            None => pstm_segy::HeaderMap::default(),
        };
        Ok(pstm_io::segy_velocity::read_cube(path, &map, quantity)?)
    } else {
        if segy_map.is_some() {
            return Err(EngineError::job(
                format!("{section}.segy_map"),
                format!("{} is not a SEG-Y file (.sgy, .segy): the map applies only to SEG-Y cubes", path.display()),
            ));
        }
        Ok(pstm_io::velocity_cube::read(path)?)
    }
}

/// The curved ray's gradient where the job did not give one: `k` fitted to the RMS velocity
/// function averaged over the grid's corners and centre at up to 200 output times
/// ([`pstm_math::Gradient::fit`]); `v0` stays per output sample.
fn fitted_gradient(velocity: &VelocityModel, grid: &OutputGrid) -> pstm_math::Gradient {
    let (x0, y0, x1, y1) = grid.tile_bounds(&grid.full_tile());
    let points = [[x0, y0], [x0, y1], [x1, y0], [x1, y1], [0.5 * (x0 + x1), 0.5 * (y0 + y1)]];
    let step = grid.time.nt.div_ceil(200).max(1);
    let times: Vec<f64> = (0..grid.time.nt).step_by(step).map(|it| grid.time.time(it)).collect();
    let vrms: Vec<f64> = times
        .iter()
        .map(|&t| points.iter().map(|&[x, y]| velocity.vrms(x, y, t)).sum::<f64>() / points.len() as f64)
        .collect();
    pstm_math::Gradient::fit(&times, &vrms)
}

/// Fill in what the grid section left out from the data.
fn resolve_grid(config: &JobConfig, dataset: &Dataset, selected: &[u32]) -> Result<OutputGrid> {
    let g = &config.output.grid;
    let dx =
        g.dx.ok_or_else(|| EngineError::job("output.grid.dx", "required: the output bin size along x in metres"))?;
    let dy =
        g.dy.ok_or_else(|| EngineError::job("output.grid.dy", "required: the output bin size along y in metres"))?;
    let layout = dataset.layout();
    let dt_s = g.dt_ms.unwrap_or(layout.sample_rate_ms) * 1e-3;
    // Zero-offset times start at 0 at the earliest, even when the traces start earlier (a
    // negative SEG-Y delay).
    let t0_s = g.t_min_ms.map_or(layout.t_start_s().max(0.0), |t| t * 1e-3);
    let t_last = g.t_max_ms.map_or(layout.t_start_s() + (layout.n_samples - 1) as f64 * layout.dt_s(), |t| t * 1e-3);
    if t_last < t0_s {
        return Err(EngineError::job(
            "output.grid.t_max_ms",
            format!("{} ms is before the first output time {} ms", t_last * 1e3, t0_s * 1e3),
        ));
    }
    let steps = ((t_last - t0_s) / dt_s + 1e-9).floor();
    // NaN (from an absurd dt) fails too.
    if steps.is_nan() || steps >= MAX_NT as f64 {
        return Err(EngineError::job(
            "output.grid",
            format!("t_min_ms to t_max_ms every dt_ms makes {steps:.0} output times; at most {MAX_NT}"),
        ));
    }
    let time = TimeAxis { t0_s, dt_s, nt: steps as usize + 1 };
    let mut grid =
        OutputGrid { origin_x: 0.0, origin_y: 0.0, dx, dy, nx: 1, ny: 1, rotation_deg: g.rotation_deg, time };
    let h = dataset.headers();
    // Midpoint extent along the grid's own axes, for whatever the user left out.
    let probe = OutputGrid { origin_x: 0.0, origin_y: 0.0, dx: 1.0, dy: 1.0, ..grid };
    let (mut umin, mut vmin, mut umax, mut vmax) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &i in selected {
        let (mx, my) = h.geometry(i as usize).midpoint();
        let (u, v) = probe.grid_position(mx, my);
        umin = umin.min(u);
        vmin = vmin.min(v);
        umax = umax.max(u);
        vmax = vmax.max(v);
    }
    match (g.origin_x, g.origin_y) {
        (Some(x), Some(y)) => {
            grid.origin_x = x;
            grid.origin_y = y;
        }
        _ => {
            // The corner of the midpoints' extent, back in world coordinates.
            let (sin, cos) = g.rotation_deg.to_radians().sin_cos();
            grid.origin_x = umin * cos - vmin * sin;
            grid.origin_y = umin * sin + vmin * cos;
        }
    }
    let (ou, ov) = probe.grid_position(grid.origin_x, grid.origin_y);
    // Counts from the extent, as floats first, so that a tiny dx is an error, not an overflow.
    let count = |given: Option<usize>, extent: f64, d: f64| {
        given.map_or(((extent / d + 1e-6).floor().max(0.0)) + 1.0, |n| n as f64)
    };
    let (nx, ny) = (count(g.nx, umax - ou, dx), count(g.ny, vmax - ov, dy));
    if (nx * ny).is_nan() || nx * ny > MAX_COLUMNS as f64 {
        return Err(EngineError::job(
            "output.grid",
            format!("{nx:.0} x {ny:.0} output columns; at most {MAX_COLUMNS} (check dx, dy, nx, ny)"),
        ));
    }
    (grid.nx, grid.ny) = (nx as usize, ny as usize);
    Ok(grid)
}

/// A grid whose every column lies farther than the aperture from every midpoint images nothing.
fn check_grid_reaches_traces(grid: &OutputGrid, dataset: &Dataset, selected: &[u32], aperture: f64) -> Result<()> {
    let (x0, y0, x1, y1) = grid.tile_bounds(&grid.full_tile());
    let h = dataset.headers();
    let near = selected.iter().any(|&i| {
        let (mx, my) = h.geometry(i as usize).midpoint();
        let dx = (x0 - mx).max(mx - x1).max(0.0);
        let dy = (y0 - my).max(my - y1).max(0.0);
        dx * dx + dy * dy <= aperture * aperture
    });
    if near {
        return Ok(());
    }
    let (mut a, mut b, mut c, mut d) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for &i in selected {
        let (mx, my) = h.geometry(i as usize).midpoint();
        a = a.min(mx);
        b = b.min(my);
        c = c.max(mx);
        d = d.max(my);
    }
    Err(EngineError::job(
        "output.grid",
        format!(
            "the grid (x {x0:.1}..{x1:.1}, y {y0:.1}..{y1:.1}) misses the survey: every midpoint (x {a:.1}..{c:.1}, y {b:.1}..{d:.1}) lies farther than the aperture ({aperture} m) from it"
        ),
    ))
}

fn gather_bins(config: &JobConfig, dataset: &Dataset, selected: &[u32]) -> Result<Option<GatherBins>> {
    let Some(g) = &config.output.offset_gathers else { return Ok(None) };
    let bins = if let Some(bins) = &g.bins {
        let mut sorted = bins.clone();
        sorted.sort_by(|a, b| a[0].total_cmp(&b[0]));
        for w in sorted.windows(2) {
            if w[1][0] < w[0][1] {
                return Err(EngineError::job(
                    "output.offset_gathers.bins",
                    format!("bins [{}, {}) and [{}, {}) overlap", w[0][0], w[0][1], w[1][0], w[1][1]),
                ));
            }
        }
        sorted
    } else {
        let width = g.bin_width_m.expect("validated: bins or bin_width_m");
        let max_offset = selected.iter().map(|&i| offset_of(dataset, i as usize)).fold(0.0f64, f64::max);
        let n = (max_offset / width).floor() as usize + 1;
        if n > MAX_GATHER_BINS {
            return Err(EngineError::job(
                "output.offset_gathers.bin_width_m",
                format!(
                    "{width} m makes {n} bins up to the largest offset ({max_offset:.1} m); at most {MAX_GATHER_BINS}"
                ),
            ));
        }
        (0..n).map(|k| [k as f64 * width, (k + 1) as f64 * width]).collect()
    };
    if bins.len() > MAX_GATHER_BINS {
        return Err(EngineError::job(
            "output.offset_gathers.bins",
            format!("{} bins; at most {MAX_GATHER_BINS}", bins.len()),
        ));
    }
    let mut trace_bin = vec![u32::MAX; dataset.headers().len()];
    for &i in selected {
        if let Some(k) = bin_of(&bins, offset_of(dataset, i as usize)) {
            trace_bin[i as usize] = k as u32;
        }
    }
    Ok(Some(GatherBins { bins, trace_bin }))
}

/// The offset bin `[min, max)` holding `offset`, if any.
pub fn bin_of(bins: &[[f64; 2]], offset: f64) -> Option<usize> {
    bins.iter().position(|b| offset >= b[0] && offset < b[1])
}
