//! Kernel-level benchmark and parity check of `gpu-v0`, for a machine with a GPU (run by
//! `scripts/device-bench.sh` on the lent H100).
//!
//! ```text
//! gpu_bench adapters                       list adapters; exit 1 when there is none
//! gpu_bench parity [--seeds N]             gpu-v0 vs cpu-ref on random cases, repeatability
//! gpu_bench medium [--reps R] [--tile N] [--aperture M] [--weights probe|full]
//!                  [--midpoints N] [--nt N] [--check-columns K]
//! ```
//!
//! `medium` builds the roadmap's `medium` survey in memory: 80 x 80 midpoints at 25 m (at UTM-
//! sized coordinates), 8 offsets 200..1600 m with azimuths alternating 0 and 90 degrees, 1501
//! samples at 2 ms, random samples; output 80 x 80 x 1501 at the midpoints; RMS velocity
//! 1800 + 600 t m/s; fixed aperture (1500 m unless `--aperture`). It times each tile (wall clock
//! from opening the tile to its image on the host: buffer creation, upload, dispatches,
//! readback) and the dispatches alone (timestamp queries, wall clock where the device has
//! none). A contribution is one in-aperture trace into one output sample, counted on the host as
//! in the wgpu-vs-CUDA probe behind docs/PERFORMANCE.md, so rates compare with its naive 531 G/s.
//! This survey is not the `medium` preset of `pstm bench` (random samples, UTM coordinates, a
//! velocity function): its figures are kernel-level, `pstm bench`'s are end to end.
//! `--weights probe` (default) weighs by obliquity only, as the probe did; `full` adds a 10%
//! cosine taper and spreading. `--check-columns K` (default 4, 0 to skip) runs `cpu-ref` on the
//! K x K columns at the centre, times it, and compares the GPU's image there.
//!
//! Precision note: these records are white noise (every frequency to Nyquist), the worst case
//! for float32 sample positions. Before positions were split into the output time's float64
//! position plus the float32 moveout, the centre-column check read 1.08e-4 relative L2 on the
//! H100 (1.19e-4 for the CPU twin); the split halves the position error.

use std::process::ExitCode;
use std::time::Instant;

use pstm_gpu::{CpuTwinV0Kernel, GpuContext, GpuOptions, GpuV0Kernel};
use pstm_kernel::parity::{ParityCase, borderline_mask, compare};
use pstm_kernel::{CpuRefKernel, MigrationKernel, TileImage, TileTask, TraceBlock, migrate_tile};
use pstm_math::rng::SplitMix64;
use pstm_math::{
    AmplitudeWeights, Aperture, ImagingOperator, Taper, TaperKind, TimeAxis, TraceGeometry, VelocityFunction,
    VelocityModel, VelocityType,
};

/// SFU-bound ceiling of the H100 for 2 sqrt + 1 reciprocal per contribution (docs/PERFORMANCE.md).
const H100_SFU_CEILING: f64 = 1.40e12;
use pstm_kernel::parity::REL_L2_TOLERANCE as REL_L2_TOL;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("adapters") => adapters(),
        Some("parity") => parity(&Args(&args[1..])),
        Some("medium") => medium(&Args(&args[1..])),
        _ => Err("usage: gpu_bench adapters | parity [--seeds N] | medium [--reps R] [--tile N] [--aperture M] \
                  [--weights probe|full] [--midpoints N] [--nt N] [--check-columns K]"
            .to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("gpu_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

struct Args<'a>(&'a [String]);

impl Args<'_> {
    fn value<T: std::str::FromStr>(&self, flag: &str, default: T) -> Result<T, String> {
        match self.0.iter().position(|a| a == flag) {
            None => Ok(default),
            Some(i) => self
                .0
                .get(i + 1)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("{flag} needs a value of the right type")),
        }
    }
}

fn open() -> Result<(std::sync::Arc<GpuContext>, GpuV0Kernel), String> {
    let ctx = GpuContext::new(&GpuOptions::from_env()).map_err(|e| e.to_string())?;
    println!("adapter: {}", ctx.summary());
    let s = ctx.summary();
    println!(
        "limits: max_storage_buffer_binding_size {} B, max_buffer_size {} B; timestamps {}; subgroup sizes {}..{}; \
         shader runtime checks {}",
        s.max_storage_buffer_binding_size,
        s.max_buffer_size,
        ctx.has_feature(wgpu_timestamp()),
        s.info.subgroup_min_size,
        s.info.subgroup_max_size,
        if ctx.runtime_checks() { "on" } else { "off" },
    );
    let kernel = GpuV0Kernel::new(ctx.clone()).map_err(|e| e.to_string())?;
    Ok((ctx, kernel))
}

fn wgpu_timestamp() -> pstm_gpu::wgpu::Features {
    pstm_gpu::wgpu::Features::TIMESTAMP_QUERY
}

fn adapters() -> Result<(), String> {
    let list = pstm_gpu::list_adapters(&GpuOptions::from_env());
    if list.is_empty() {
        return Err("no adapter".into());
    }
    for a in list {
        println!("{a}");
    }
    Ok(())
}

fn parity(args: &Args) -> Result<(), String> {
    let seeds: u64 = args.value("--seeds", 40)?;
    let (_ctx, gpu) = open()?;
    let (mut worst, mut worst_seed, mut worst_twin, mut failures) = (0.0f64, 0, 0.0f64, 0);
    let started = Instant::now();
    for seed in 0..seeds {
        let case = ParityCase::random(seed);
        let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).map_err(|e| e.to_string())?;
        let image = migrate_tile(&gpu, case.task(), &case.blocks).map_err(|e| e.to_string())?;
        let mask = borderline_mask(&case.task(), &case.blocks);
        let cmp = compare(&reference, &image, Some(&mask));
        if !cmp.passes(REL_L2_TOL) {
            failures += 1;
            println!("FAIL seed {seed}: {cmp}");
        }
        if cmp.rel_l2 > worst {
            (worst, worst_seed) = (cmp.rel_l2, seed);
        }
        if seed < 8 {
            let twin =
                migrate_tile(&CpuTwinV0Kernel::default(), case.task(), &case.blocks).map_err(|e| e.to_string())?;
            worst_twin = worst_twin.max(compare(&twin, &image, Some(&mask)).rel_l2);
        }
    }
    println!(
        "parity gpu-v0 vs cpu-ref: {seeds} cases, {failures} failures, worst relative L2 {worst:.3e} (seed {worst_seed}), \
         tolerance {REL_L2_TOL:e} ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    println!("parity gpu-v0 vs its CPU twin (8 cases): worst relative L2 {worst_twin:.3e}");

    let case = ParityCase::random(7);
    let bits = |img: &TileImage| (img.image.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), img.fold.clone());
    let first = bits(&migrate_tile(&gpu, case.task(), &case.blocks).map_err(|e| e.to_string())?);
    let mut identical = 0;
    for _ in 1..10 {
        identical +=
            (bits(&migrate_tile(&gpu, case.task(), &case.blocks).map_err(|e| e.to_string())?) == first) as usize;
    }
    println!("repeatability: {} of 9 repeated runs bit-identical to the first", identical);
    if failures > 0 || identical != 9 {
        return Err("parity check failed".into());
    }
    Ok(())
}

/// The `medium` survey and output grid.
struct Survey {
    geometry: Vec<TraceGeometry>,
    samples: Vec<f32>,
    n_samples: usize,
    dt_s: f64,
    /// Output columns, x-major (`c = ix * n + iy`), and their grid indices.
    grid_origin: [f64; 2],
    spacing: f64,
    n_grid: usize,
    time: TimeAxis,
    params: ImagingOperator,
}

impl Survey {
    fn medium(n_grid: usize, nt: usize, aperture_m: f64, full_weights: bool) -> Self {
        // UTM-sized coordinates, so the float32 kernel's local-origin handling is exercised.
        let grid_origin = [500_012.5, 6_000_012.5];
        let spacing = 25.0;
        let mut geometry = Vec::with_capacity(n_grid * n_grid * 8);
        for iy in 0..n_grid {
            for ix in 0..n_grid {
                for k in 0..8 {
                    let offset = 200.0 * (k + 1) as f64;
                    let azimuth = if k % 2 == 0 { 0.0 } else { 90.0 };
                    let (mx, my) = (grid_origin[0] + spacing * ix as f64, grid_origin[1] + spacing * iy as f64);
                    geometry.push(TraceGeometry::from_midpoint(mx, my, offset, azimuth));
                }
            }
        }
        let mut rng = SplitMix64::new(0x5EED);
        let samples = (0..geometry.len() * nt).map(|_| (2.0 * rng.uniform() - 1.0) as f32).collect();
        let params = ImagingOperator {
            aperture: Aperture::fixed(aperture_m),
            taper: if full_weights { Taper { kind: TaperKind::Cosine, fraction: 0.1 } } else { Taper::NONE },
            weights: AmplitudeWeights::new(full_weights, true),
            ..ImagingOperator::plain(0.0)
        };
        Self {
            geometry,
            samples,
            n_samples: nt,
            dt_s: 0.002,
            grid_origin,
            spacing,
            n_grid,
            time: TimeAxis { t0_s: 0.0, dt_s: 0.002, nt },
            params,
        }
    }

    fn column(&self, ix: usize, iy: usize) -> [f64; 2] {
        [self.grid_origin[0] + self.spacing * ix as f64, self.grid_origin[1] + self.spacing * iy as f64]
    }
}

/// One output tile: its columns' grid indices and positions, and the traces near it in blocks.
struct TilePlan {
    cells: Vec<(usize, usize)>,
    columns: Vec<[f64; 2]>,
    blocks: Vec<TraceBlock>,
    /// In-aperture (trace, column) pairs times nt: the host-counted contributions.
    contributions: u64,
}

fn plan_tiles(survey: &Survey, tile: usize, max_block_traces: usize) -> Vec<TilePlan> {
    let n = survey.n_grid;
    let aperture = survey.params.aperture.max_m;
    let mut plans = Vec::new();
    for ix0 in (0..n).step_by(tile) {
        for iy0 in (0..n).step_by(tile) {
            let cells: Vec<_> =
                (ix0..(ix0 + tile).min(n)).flat_map(|ix| (iy0..(iy0 + tile).min(n)).map(move |iy| (ix, iy))).collect();
            let columns: Vec<_> = cells.iter().map(|&(ix, iy)| survey.column(ix, iy)).collect();
            let (lo, hi) = (columns[0], columns[columns.len() - 1]);
            let near: Vec<usize> = (0..survey.geometry.len())
                .filter(|&i| {
                    let (mx, my) = survey.geometry[i].midpoint();
                    mx >= lo[0] - aperture && mx <= hi[0] + aperture && my >= lo[1] - aperture && my <= hi[1] + aperture
                })
                .collect();
            let mut pairs = 0u64;
            for &[x, y] in &columns {
                pairs +=
                    near.iter().filter(|&&i| survey.geometry[i].midpoint_distance_sq(x, y).sqrt() <= aperture).count()
                        as u64;
            }
            let ns = survey.n_samples;
            let blocks = near
                .chunks(max_block_traces)
                .map(|chunk| TraceBlock {
                    n_samples: ns,
                    dt_s: survey.dt_s,
                    t_start_s: 0.0,
                    samples: chunk.iter().flat_map(|&i| survey.samples[i * ns..(i + 1) * ns].iter().copied()).collect(),
                    geometry: chunk.iter().map(|&i| survey.geometry[i]).collect(),
                })
                .collect();
            plans.push(TilePlan { cells, columns, blocks, contributions: pairs * survey.time.nt as u64 });
        }
    }
    plans
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn medium(args: &Args) -> Result<(), String> {
    let reps: usize = args.value("--reps", 3)?;
    let n_grid: usize = args.value("--midpoints", 80)?;
    let tile: usize = args.value("--tile", n_grid)?;
    let nt: usize = args.value("--nt", 1501)?;
    let aperture: f64 = args.value("--aperture", 1500.0)?;
    let weights: String = args.value("--weights", "probe".to_string())?;
    let check: usize = args.value("--check-columns", 4)?;
    let (_ctx, gpu) = open()?;

    let started = Instant::now();
    let survey = Survey::medium(n_grid, nt, aperture, weights == "full");
    let velocity_model = VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 600.0 }, VelocityType::Rms)
        .map_err(|e| e.to_string())?;
    let plans = plan_tiles(&survey, tile.max(1), gpu.max_block_traces(nt));
    let contributions: u64 = plans.iter().map(|p| p.contributions).sum();
    println!(
        "survey: {} traces x {nt} samples at 2 ms, output {n_grid} x {n_grid} x {nt}, {} tiles of up to {tile} x {tile} \
         columns, blocks of up to {} traces, aperture {aperture} m, weights {weights} (built in {:.1} s)",
        survey.geometry.len(),
        plans.len(),
        gpu.max_block_traces(nt),
        started.elapsed().as_secs_f64()
    );
    println!("contributions (in-aperture trace x output sample, host count): {contributions} ({contributions:.4e})");

    let velocities: Vec<_> = plans
        .iter()
        .map(|p| velocity_model.sample(&p.columns, &survey.time))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut volume = TileImage::poisoned(n_grid * n_grid * nt);
    let (mut kernel_s, mut wall_s, mut tile_s) = (Vec::new(), Vec::new(), Vec::new());
    let mut wall_clock_dispatches = 0;
    for rep in 0..=reps {
        gpu.take_gpu_timings();
        let rep_started = Instant::now();
        for (plan, velocity) in plans.iter().zip(&velocities) {
            let task = TileTask { columns: &plan.columns, time: survey.time, velocity, operator: &survey.params };
            let tile_started = Instant::now();
            let image = migrate_tile(&gpu, task, &plan.blocks).map_err(|e| e.to_string())?;
            if rep > 0 {
                tile_s.push(tile_started.elapsed().as_secs_f64());
            } else {
                for (c, &(ix, iy)) in plan.cells.iter().enumerate() {
                    let at = (ix * n_grid + iy) * nt;
                    volume.image[at..at + nt].copy_from_slice(&image.image[c * nt..(c + 1) * nt]);
                    volume.fold[at..at + nt].copy_from_slice(&image.fold[c * nt..(c + 1) * nt]);
                }
            }
        }
        let timings = gpu.take_gpu_timings();
        let wall = rep_started.elapsed().as_secs_f64();
        println!(
            "{} {rep}: kernel {:.2} ms ({} dispatches, {} timed by wall clock), wall {:.2} ms",
            if rep == 0 { "warm-up" } else { "rep" },
            timings.kernel_s * 1e3,
            timings.dispatches,
            timings.wall_clock_dispatches,
            wall * 1e3
        );
        if rep > 0 {
            kernel_s.push(timings.kernel_s);
            wall_s.push(wall);
            wall_clock_dispatches += timings.wall_clock_dispatches;
        }
    }
    let non_finite =
        volume.image.iter().filter(|v| !v.is_finite()).count() + volume.fold.iter().filter(|&&f| f == u32::MAX).count();
    let fold_sum: u64 = volume.fold.iter().map(|&f| f as u64).sum();
    println!(
        "output: {non_finite} unwritten (poisoned) samples; fold sum (contributions inside the traces) {fold_sum:.4e}"
    );

    let (kernel, wall, per_tile) = (median(kernel_s), median(wall_s), median(tile_s));
    let rate = |s: f64| contributions as f64 / s;
    let clock = if wall_clock_dispatches > 0 { "wall clock (no usable timestamps)" } else { "timestamp queries" };
    println!(
        "RESULT gpu-v0 kernel-only: {:.2} ms ({clock}), {:.3} G contributions/s, {:.1}% of H100 SFU ceiling {H100_SFU_CEILING:.2e}/s",
        kernel * 1e3,
        rate(kernel) / 1e9,
        100.0 * rate(kernel) / H100_SFU_CEILING
    );
    println!(
        "RESULT gpu-v0 end-to-end (all tiles, wall): {:.2} ms, {:.3} G contributions/s, {:.1}% of H100 SFU ceiling",
        wall * 1e3,
        rate(wall) / 1e9,
        100.0 * rate(wall) / H100_SFU_CEILING
    );
    println!(
        "RESULT gpu-v0 wall per tile (buffers, upload, dispatches, readback): median {:.2} ms over {} tiles x {reps} reps",
        per_tile * 1e3,
        plans.len()
    );

    if check > 0 && non_finite == 0 {
        check_columns(&survey, &velocity_model, &volume, check)?;
    }
    if non_finite > 0 {
        return Err(format!("{non_finite} output samples were never written"));
    }
    Ok(())
}

/// `cpu-ref` on the `k x k` columns at the centre of the grid, timed, against the GPU's volume.
fn check_columns(survey: &Survey, velocity_model: &VelocityModel, volume: &TileImage, k: usize) -> Result<(), String> {
    let started = Instant::now();
    let (n, nt) = (survey.n_grid, survey.time.nt);
    let first = (n / 2).saturating_sub(k / 2);
    let cells: Vec<_> =
        (first..(first + k).min(n)).flat_map(|ix| (first..(first + k).min(n)).map(move |iy| (ix, iy))).collect();
    let plan = TilePlan {
        columns: cells.iter().map(|&(ix, iy)| survey.column(ix, iy)).collect(),
        cells,
        blocks: Vec::new(),
        contributions: 0,
    };
    let ns = survey.n_samples;
    let block = TraceBlock {
        n_samples: ns,
        dt_s: survey.dt_s,
        t_start_s: 0.0,
        samples: survey.samples.clone(),
        geometry: survey.geometry.clone(),
    };
    let velocity = velocity_model.sample(&plan.columns, &survey.time).map_err(|e| e.to_string())?;
    let task = TileTask { columns: &plan.columns, time: survey.time, velocity: &velocity, operator: &survey.params };
    let blocks = [block];
    let pairs: usize = plan
        .columns
        .iter()
        .map(|&[x, y]| {
            let aperture = survey.params.aperture.max_m;
            survey.geometry.iter().filter(|g| g.midpoint_distance_sq(x, y).sqrt() <= aperture).count()
        })
        .sum();
    let reference_started = Instant::now();
    let reference = migrate_tile(&CpuRefKernel, task, &blocks).map_err(|e| e.to_string())?;
    let reference_s = reference_started.elapsed().as_secs_f64();
    println!(
        "cpu-ref on the {} centre columns: {:.2} s, {:.3} G contributions/s ({}; one column per thread, so at most {} \
         threads busy)",
        plan.cells.len(),
        reference_s,
        (pairs * nt) as f64 / reference_s / 1e9,
        CpuRefKernel.device(),
        plan.cells.len()
    );
    let mut gpu = TileImage::poisoned(plan.cells.len() * nt);
    for (c, &(ix, iy)) in plan.cells.iter().enumerate() {
        let at = (ix * n + iy) * nt;
        gpu.image[c * nt..(c + 1) * nt].copy_from_slice(&volume.image[at..at + nt]);
        gpu.fold[c * nt..(c + 1) * nt].copy_from_slice(&volume.fold[at..at + nt]);
    }
    let cmp = compare(&reference, &gpu, Some(&borderline_mask(&task, &blocks)));
    println!(
        "check: {} centre columns of the medium survey, gpu-v0 vs cpu-ref: {cmp} ({:.1} s)",
        plan.cells.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
