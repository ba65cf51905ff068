//! Cutting the work into tiles that fit the memory budget, shaped by cost ([`crate::cost`]), and
//! counting it.

use std::fmt;

use pstm_kernel::MigrationKernel;
use pstm_math::{ApertureMode, Tile};
use rayon::prelude::*;

use crate::cost::{CostInputs, ShapeCost};
use crate::error::{EngineError, Result};
use crate::executor::WRITE_QUEUE_TILES;
use crate::index::MidpointIndex;
use crate::job::MigrationJob;

/// Bytes of headers and index kept per trace.
const HEADER_BYTES_PER_TRACE: u64 = 11 * 8 + 16 + 4;
/// Default traces per block when the budget allows.
const DEFAULT_BLOCK_TRACES: usize = 4096;
/// Columns evaluated at most when counting a dip-mode aperture's contributions (more are sampled).
const DIP_COUNT_COLUMNS: usize = 4096;

/// One output tile and how much work it holds. Its trace list is found again when the tile runs
/// ([`Plan::traces`]), so the plan of a large survey does not hold every tile's list at once.
#[derive(Debug, Clone)]
pub struct TilePlan {
    pub tile: Tile,
    /// World bounding box of the tile's columns `(xmin, ymin, xmax, ymax)`.
    pub bounds: (f64, f64, f64, f64),
    /// Traces within the largest aperture of the tile's columns.
    pub n_traces: usize,
    /// In-aperture (trace, output sample) pairs: the work of this tile.
    pub contributions: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryEstimate {
    pub headers: u64,
    /// Trace samples held in memory (0 when streamed).
    pub traces: u64,
    /// One tile being migrated: outputs, kernel accumulators, velocities, its trace blocks.
    pub per_tile: u64,
    /// A finished tile waiting for the writer: image and fold.
    pub per_written_tile: u64,
    pub concurrent_tiles: usize,
    pub budget: u64,
}

impl MemoryEstimate {
    pub fn total(&self) -> u64 {
        self.headers
            + self.traces
            + self.per_tile * self.concurrent_tiles as u64
            + self.per_written_tile * WRITE_QUEUE_TILES as u64
    }
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// Midpoints of the selected traces, for each tile's trace query.
    pub index: std::sync::Arc<MidpointIndex>,
    /// Radius of the trace query around a tile: the largest aperture.
    pub reach: f64,
    pub kernel: String,
    /// The traveltime type and its medium, in words.
    pub traveltime: String,
    /// How traces are read: interpolation and antialiasing, in words.
    pub reading: String,
    pub tiles: Vec<TilePlan>,
    pub tile_shape: (usize, usize),
    pub block_traces: usize,
    pub traces_in_memory: bool,
    pub memory: MemoryEstimate,
    pub contributions: u64,
    /// False when a dip-mode aperture's count was extrapolated from a sample of columns.
    pub contributions_exact: bool,
    /// (trace, output sample) pairs a kernel visits: every trace that reaches a tile, for every
    /// output sample of the tile.
    pub visits: u64,
    /// The cost model's price of the chosen shape, when the planner chose it.
    pub shape_cost: Option<ShapeCost>,
    pub grid: pstm_math::OutputGrid,
    pub n_bins: usize,
}

impl Plan {
    /// Traces that can reach a tile (midpoint within the largest aperture of its columns),
    /// ascending: the same query the plan counted.
    pub fn traces(&self, tile: &TilePlan) -> Vec<u32> {
        self.index.near_rect(tile.bounds, self.reach)
    }

    /// This plan on another time axis of the same job (an adaptive-time run's coarse one, see
    /// `pstm_math::time_sampling`): the same tiles, blocks and memory, the work rescaled by the
    /// ratio of samples per column. Exact for a fixed aperture (every time of a column has the
    /// same traces), an estimate for a dip-mode one. Cheaper than planning again, and the tiles
    /// stay those an adaptive mask's cells were made for.
    pub fn on_time_axis(&self, time: pstm_math::TimeAxis, aperture: ApertureMode) -> Plan {
        let (from, to) = (self.grid.time.nt.max(1) as u64, time.nt as u64);
        let scale = |n: u64| (n as u128 * to as u128 / from as u128) as u64;
        let tiles: Vec<TilePlan> =
            self.tiles.iter().map(|t| TilePlan { contributions: scale(t.contributions), ..t.clone() }).collect();
        Plan {
            contributions: tiles.iter().map(|t| t.contributions).sum(),
            contributions_exact: self.contributions_exact && aperture == ApertureMode::Fixed,
            visits: scale(self.visits),
            tiles,
            grid: pstm_math::OutputGrid { time, ..self.grid },
            ..self.clone()
        }
    }

    /// Contributions per visited (trace, output sample) pair: 1 when every visit contributes.
    pub fn visit_efficiency(&self) -> f64 {
        self.contributions as f64 / self.visits.max(1) as f64
    }
}

fn gib(b: u64) -> f64 {
    b as f64 / (1u64 << 30) as f64
}

fn mib(b: u64) -> f64 {
    b as f64 / (1u64 << 20) as f64
}

/// Plan a job for a kernel: tile shape, block size, whether traces stay in memory, and the
/// traces and contributions of every tile.
pub fn plan(job: &MigrationJob, kernel: &dyn MigrationKernel) -> Result<Plan> {
    plan_sharing(job, kernel, None)
}

/// [`plan`], with the midpoint index of another plan of the same traces and aperture (an
/// adaptive run's coarse pass shares its fine pass's) instead of building it again.
pub fn plan_sharing(
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    index: Option<std::sync::Arc<MidpointIndex>>,
) -> Result<Plan> {
    let grid = &job.grid;
    let layout = job.dataset.layout();
    let ns = layout.n_samples;
    let nt = grid.time.nt;
    let n_sel = job.selected.len();
    let budget = (job.execution.max_memory_gb * (1u64 << 30) as f64) as u64;
    let headers = layout.n_traces as u64 * HEADER_BYTES_PER_TRACE;
    if headers >= budget {
        return Err(EngineError::Plan(format!(
            "execution.max_memory_gb = {} GiB is too small: the headers of {} traces alone need {:.2} MiB",
            job.execution.max_memory_gb,
            layout.n_traces,
            mib(headers)
        )));
    }
    let trace_bytes = n_sel as u64 * ns as u64 * 4;
    let traces_in_memory = trace_bytes <= (budget - headers) / 2;
    let rest = budget - headers - if traces_in_memory { trace_bytes } else { 0 };
    let n_bins = job.gathers.as_ref().map_or(1, |g| g.bins.len());
    // Per output sample: image f32, fold u32, velocity f32, the kernel's accumulators, and the
    // stack's running sum when gathers are written bin by bin.
    let per_sample = 12 + kernel.bytes_per_output_sample() as u64 + if n_bins > 1 { 8 } else { 0 };
    let max_block = kernel.max_block_traces(ns).max(1);
    let columns_total = grid.n_columns();
    let mut concurrent = kernel.concurrent_tiles().clamp(1, columns_total.max(1));
    // Each worker holds the block it migrates and the next one, read ahead; a streamed block
    // passes through a read buffer too.
    let copies: u64 = if traces_in_memory { 2 } else { 3 };
    let (block_traces, columns_fit) = loop {
        let share = rest / concurrent as u64;
        let wanted = job.execution.trace_block.unwrap_or(DEFAULT_BLOCK_TRACES);
        let afford = (share / 2 / (ns as u64 * 4 * copies)) as usize;
        let block = wanted
            .min(max_block)
            .min(n_sel)
            .min(if job.execution.trace_block.is_some() { usize::MAX } else { afford.max(1) })
            .max(1);
        let block_bytes = block as u64 * ns as u64 * 4 * copies;
        // Finished tiles wait for the writer beside those being migrated.
        let written = WRITE_QUEUE_TILES as u64 * 8;
        let cols = share.saturating_sub(block_bytes) / (nt as u64 * (per_sample + written / concurrent as u64 + 1));
        if cols >= 1 || concurrent == 1 {
            break (block, cols as usize);
        }
        concurrent = (concurrent / 2).max(1);
    };
    let min_tile = (nt as u64 * per_sample + block_traces as u64 * ns as u64 * 4) + headers;
    if columns_fit == 0 {
        return Err(EngineError::Plan(format!(
            "execution.max_memory_gb = {} GiB is too small for one tile: one output column of {nt} samples and a block of {block_traces} traces need {:.1} MiB beside {:.1} MiB of headers{}",
            job.execution.max_memory_gb,
            mib(min_tile - headers),
            mib(headers),
            if traces_in_memory { format!(" and {:.1} MiB of traces", mib(trace_bytes)) } else { String::new() }
        )));
    }
    let max_tile_columns = (kernel.max_tile_samples() / nt.max(1)).max(1).min(columns_fit);
    let aperture = job.operator.aperture.max_m;
    let index = index.unwrap_or_else(|| {
        std::sync::Arc::new(MidpointIndex::new(job.dataset.headers(), &job.selected, (aperture / 16.0).max(1.0)))
    });
    // The contributions' own time, for the balance of a kernel's lanes: every midpoint within
    // the aperture of every column, estimated from the grid's centre column.
    let centre = grid.column_xy(grid.nx / 2, grid.ny / 2);
    let per_column = index.count_within(centre.0, centre.1, aperture) as f64;
    let costs = CostInputs {
        grid,
        index: &index,
        reach: aperture,
        n_samples: ns,
        block_traces,
        traces_in_memory,
        prefilter: job.operator.prefilter,
        concurrent,
        n_bins,
        model: kernel.cost_model(),
        contributions: per_column * (columns_total * nt) as f64,
    };
    let mut shape_cost = None;
    let align = job.tile_alignment();
    let tile_shape = match job.execution.tile {
        Some([tx, ty]) => {
            let (tx, ty) = (tx.min(grid.nx), ty.min(grid.ny));
            if (tx < grid.nx && tx % align != 0) || (ty < grid.ny && ty % align != 0) {
                return Err(EngineError::Plan(format!(
                    "execution.tile = [{tx}, {ty}]: output.multiscale needs tiles whose sides are multiples of {align} (its coarsest block) or span the grid"
                )));
            }
            if tx * ty > max_tile_columns {
                return Err(EngineError::Plan(format!(
                    "execution.tile = [{tx}, {ty}] holds {} columns but the memory budget and kernel allow {max_tile_columns}; make it smaller or raise execution.max_memory_gb",
                    tx * ty
                )));
            }
            (tx, ty)
        }
        None => {
            let cost = costs.choose(max_tile_columns);
            shape_cost = Some(cost);
            // Whole multiscale blocks in every tile: sides rounded down to the block.
            let side = |t: usize, n: usize| if t >= n { n } else { (t / align * align).max(align).min(n) };
            (side(cost.shape.0, grid.nx), side(cost.shape.1, grid.ny))
        }
    };
    let tiles = grid.tiles(tile_shape.0, tile_shape.1);
    let concurrent = concurrent.min(tiles.len()).max(1);
    let dip = job.operator.aperture.mode == ApertureMode::Dip;
    let stride = if dip { (columns_total / DIP_COUNT_COLUMNS).max(1) } else { 1 };
    let tile_plans: Vec<TilePlan> = tiles
        .par_iter()
        .map(|tile| -> Result<TilePlan> {
            let bounds = grid.tile_bounds(tile);
            let traces = index.near_rect(bounds, aperture);
            let columns = grid.tile_columns(tile);
            let contributions = if dip {
                let velocity = job
                    .velocity
                    .sample(&columns, &grid.time)
                    .map_err(|e| EngineError::job("velocity", e.to_string()))?;
                count_dip(job, &index, &traces, &columns, &velocity, stride)
            } else {
                columns.iter().map(|&[x, y]| index.count_within(x, y, aperture)).sum::<u64>() * nt as u64
            };
            Ok(TilePlan { tile: *tile, bounds, n_traces: traces.len(), contributions })
        })
        .collect::<Result<_>>()?;
    let contributions: u64 = tile_plans.iter().map(|t| t.contributions).sum();
    if contributions == 0 {
        return Err(EngineError::job(
            "algorithm.aperture",
            format!(
                "no trace midpoint lies within the aperture of any output column ({} m{}); widen algorithm.aperture.max_m or move the grid",
                aperture,
                if dip { format!(", dip mode with min_m = {} m", job.operator.aperture.min_m) } else { String::new() }
            ),
        ));
    }
    let visits: u64 = tile_plans.iter().map(|t| (t.n_traces * t.tile.n_columns() * nt) as u64).sum();
    let tile_samples = (tile_shape.0 * tile_shape.1 * nt) as u64;
    let per_tile = tile_samples * per_sample + block_traces as u64 * ns as u64 * 4 * copies;
    Ok(Plan {
        index,
        reach: aperture,
        kernel: kernel.name().to_string(),
        traveltime: describe_traveltime(job),
        reading: describe_reading(&job.operator),
        tiles: tile_plans,
        tile_shape,
        block_traces,
        traces_in_memory,
        memory: MemoryEstimate {
            headers,
            traces: if traces_in_memory { trace_bytes } else { 0 },
            per_tile,
            // With gathers, a tile's running stack sum waits beside its finished bins.
            per_written_tile: tile_samples * 8 * if n_bins > 1 { 2 } else { 1 },
            concurrent_tiles: concurrent,
            budget,
        },
        contributions,
        contributions_exact: stride == 1,
        visits,
        shape_cost,
        grid: *grid,
        n_bins,
    })
}

/// Contributions of a dip-mode aperture: per column, the traces within the radius at each time.
/// On large grids every `stride`-th column of the tile (its first always) is counted and the
/// tile's total extrapolated from them.
fn count_dip(
    job: &MigrationJob,
    index: &MidpointIndex,
    traces: &[u32],
    columns: &[[f64; 2]],
    velocity: &pstm_math::TileVelocity,
    stride: usize,
) -> u64 {
    let grid = &job.grid;
    let mut total = 0u64;
    let mut counted = 0usize;
    let mut dist = Vec::with_capacity(traces.len());
    for (c, &[x, y]) in columns.iter().enumerate().step_by(stride) {
        counted += 1;
        dist.clear();
        dist.extend(traces.iter().map(|&t| {
            let [mx, my] = index.midpoint(t);
            ((mx - x) * (mx - x) + (my - y) * (my - y)).sqrt()
        }));
        dist.sort_unstable_by(f64::total_cmp);
        for (it, &v) in velocity.column(c).iter().enumerate() {
            let a = job.operator.aperture.radius(grid.time.time(it), v as f64);
            total += dist.partition_point(|&d| d <= a) as u64;
        }
    }
    if counted == 0 {
        return 0;
    }
    (total as f64 * columns.len() as f64 / counted as f64).round() as u64
}

/// `straight ray`, `curved ray, k = 0.600 1/s (fitted to the velocity function), v0 from the
/// RMS velocity`, `VTI, eta from velocity.eta`.
fn describe_traveltime(job: &MigrationJob) -> String {
    use pstm_math::Traveltime;
    match job.operator.traveltime {
        Traveltime::StraightRay => "straight ray".to_string(),
        Traveltime::Vti => "VTI (Alkhalifah-Tsvankin), eta from velocity.eta".to_string(),
        Traveltime::CurvedRay => {
            let g = job.operator.gradient.unwrap_or(pstm_math::Gradient { k: 0.0, v0: None });
            let fitted =
                if job.config.algorithm.curved_ray.is_none() { " (fitted to the velocity function)" } else { "" };
            let v0 = match g.v0 {
                Some(v0) => format!("v0 = {v0} m/s"),
                None => "v0 from the RMS velocity".to_string(),
            };
            format!("curved ray, k = {:.4} 1/s{fitted}, {v0}", g.k)
        }
    }
}

fn describe_reading(operator: &pstm_math::ImagingOperator) -> String {
    use pstm_math::{AntialiasMethod, Interpolation};
    let [e1, e2] = operator.antialiasing.steps;
    let steps = format!("{:.1} m inline, {:.1} m crossline", e1[0].hypot(e1[1]), e2[0].hypot(e2[1]));
    match operator.antialiasing.method {
        AntialiasMethod::Triangle => {
            format!(
                "triangle antialiasing (Lumley-Claerbout-Bevc) against output steps of {steps}, traces integrated twice"
            )
        }
        method => {
            let interpolation = match operator.interpolation {
                Interpolation::Linear => "linear interpolation",
                Interpolation::Cubic => "cubic interpolation (Keys)",
                Interpolation::Sinc8 => "sinc8 interpolation (Lanczos window)",
            };
            match method {
                AntialiasMethod::Weight => {
                    format!("{interpolation}, antialiasing by a scalar down-weight against output steps of {steps}")
                }
                _ => format!("{interpolation}, no antialiasing"),
            }
        }
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let traces: Vec<usize> = self.tiles.iter().map(|t| t.n_traces).collect();
        let (min, max) = (traces.iter().min().copied().unwrap_or(0), traces.iter().max().copied().unwrap_or(0));
        let mean = traces.iter().sum::<usize>() as f64 / traces.len().max(1) as f64;
        let m = &self.memory;
        let g = &self.grid;
        let (x0, y0, x1, y1) = g.tile_bounds(&g.full_tile());
        writeln!(f, "kernel            {}", self.kernel)?;
        writeln!(f, "traveltime        {}", self.traveltime)?;
        writeln!(f, "reading           {}", self.reading)?;
        writeln!(
            f,
            "grid              {} x {} columns of {} x {} m from ({}, {}){}, x {x0:.1}..{x1:.1} m, y {y0:.1}..{y1:.1} m",
            g.nx,
            g.ny,
            g.dx,
            g.dy,
            g.origin_x,
            g.origin_y,
            if g.rotation_deg != 0.0 { format!(" rotated {} deg", g.rotation_deg) } else { String::new() }
        )?;
        writeln!(
            f,
            "times             {} samples, {} to {} ms every {} ms",
            g.time.nt,
            g.time.t0_s * 1e3,
            g.time.last() * 1e3,
            g.time.dt_s * 1e3
        )?;
        writeln!(
            f,
            "tiles             {} of {} x {} columns, {} at a time{}",
            self.tiles.len(),
            self.tile_shape.0,
            self.tile_shape.1,
            m.concurrent_tiles,
            match &self.shape_cost {
                Some(c) => format!(" (chosen by cost: {:.2} s of visits and overheads estimated)", c.overhead_s),
                None => " (execution.tile)".to_string(),
            }
        )?;
        writeln!(f, "traces per tile   min {min}, mean {mean:.0}, max {max} (within the aperture of the tile)")?;
        writeln!(
            f,
            "trace blocks      {} traces, {}",
            self.block_traces,
            if self.traces_in_memory { "survey held in memory" } else { "streamed from disk" }
        )?;
        if self.n_bins > 1 {
            writeln!(f, "offset bins       {} (each migrated separately; the stack is their sum)", self.n_bins)?;
        }
        writeln!(
            f,
            "contributions     {:.4e}{} (in-aperture trace x output sample pairs)",
            self.contributions as f64,
            if self.contributions_exact { "" } else { " (estimated from a sample of columns)" }
        )?;
        writeln!(
            f,
            "visit efficiency  {:.1}% ({:.4e} trace x output sample pairs visited)",
            100.0 * self.visit_efficiency(),
            self.visits as f64
        )?;
        write!(
            f,
            "memory            {:.3} GiB of {:.3} GiB: headers {:.1} MiB, traces {:.1} MiB, {:.1} MiB per tile",
            gib(m.total()),
            gib(m.budget),
            mib(m.headers),
            mib(m.traces),
            mib(m.per_tile)
        )
    }
}
