//! Contributions per second of the CPU kernels on the roadmap's `small` and `medium` survey
//! geometries, built in memory: one tile of output columns at the survey centre, the traces
//! within the aperture of it, fixed aperture with a cosine taper, spreading and obliquity on.
//!
//! `cargo bench -p pstm-kernel --bench cpu_kernel [-- REGEX]`; divan prints items/s, where an
//! item is one contribution (one in-aperture trace into one output sample whose traveltime falls
//! inside the trace), counted on the host in float64. The reference kernel runs a smaller tile of
//! the same survey so that it finishes in reasonable time; the rate is comparable, the time is
//! not. `PSTM_BENCH_CASES="small 1t,medium 2t"` runs only those cases (divan cannot filter
//! arguments). `PSTM_BENCH_TRAVELTIME=curved_ray` (a gradient of 0.6 1/s, v0 from the velocity)
//! or `vti` (eta 0.1) measures that traveltime instead of the straight ray.
//!
//! The `*_reading` benches run `small 1t` with each way of reading traces against the plain
//! linear one: `triangle` (on doubly integrated traces), `weight` (linear, down-weighted),
//! `cubic`, `sinc8`, antialiasing measured against the tile's 25 m grid. Their items are the
//! same contributions (a triangle leaves out the few near the trace ends, but computes them).

use std::fmt;
use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::ItemsCount;
use pstm_kernel::cpu::{CpuIsa, CpuKernel};
use pstm_kernel::{CpuRefKernel, MigrationKernel, TileTask, TraceBlock, migrate_tile};
use pstm_math::rng::SplitMix64;
use pstm_math::{
    AmplitudeWeights, AntialiasMethod, Antialiasing, Aperture, Eta, Gradient, ImagingOperator, Interpolation, Taper,
    TaperKind, TileVelocity, TimeAxis, TraceGeometry, Traveltime, VelocityModel,
};
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const SPACING_M: f64 = 25.0;
const APERTURE_M: f64 = 1000.0;
const VELOCITY: f64 = 2500.0;
/// A UTM-like origin, so that the kernels deal with real coordinate magnitudes.
const ORIGIN: [f64; 2] = [512_000.0, 6_170_000.0];

/// A survey in memory and one tile to migrate from it.
struct Bench {
    columns: Vec<[f64; 2]>,
    time: TimeAxis,
    velocity: TileVelocity,
    params: ImagingOperator,
    block: TraceBlock,
    contributions: u64,
}

impl Bench {
    fn task(&self) -> TileTask<'_> {
        TileTask { columns: &self.columns, time: self.time, velocity: &self.velocity, operator: &self.params }
    }
}

/// The survey: `n_mid` x `n_mid` midpoints at 25 m, each with every offset, azimuths 0 and 90
/// alternating over the offsets; `n_samples` at 2 ms. The tile: `tile` x `tile` columns on the
/// midpoint grid at its centre, and the traces whose midpoints are within the aperture of it.
fn bench(n_mid: usize, offsets: &[f64], n_samples: usize, tile: usize) -> Bench {
    let dt = 0.002;
    let centre = (n_mid / 2) as f64 * SPACING_M;
    let first = centre - (tile / 2) as f64 * SPACING_M;
    let columns: Vec<[f64; 2]> = (0..tile * tile)
        .map(|c| {
            let (ix, iy) = ((c / tile) as f64, (c % tile) as f64);
            [ORIGIN[0] + first + ix * SPACING_M, ORIGIN[1] + first + iy * SPACING_M]
        })
        .collect();
    let (lo, hi) = (first - APERTURE_M, first + (tile - 1) as f64 * SPACING_M + APERTURE_M);
    let mut geometry = Vec::new();
    for ix in 0..n_mid {
        for iy in 0..n_mid {
            let (x, y) = (ix as f64 * SPACING_M, iy as f64 * SPACING_M);
            if x < lo || x > hi || y < lo || y > hi {
                continue;
            }
            for (k, &offset) in offsets.iter().enumerate() {
                let azimuth = if k % 2 == 0 { 0.0 } else { 90.0 };
                geometry.push(TraceGeometry::from_midpoint(ORIGIN[0] + x, ORIGIN[1] + y, offset, azimuth));
            }
        }
    }
    let mut rng = SplitMix64::new(n_mid as u64);
    let samples = (0..geometry.len() * n_samples).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
    let block = TraceBlock { n_samples, dt_s: dt, t_start_s: 0.0, samples, geometry };
    let time = TimeAxis { t0_s: 0.0, dt_s: dt, nt: n_samples };
    let (traveltime, gradient, eta) = match std::env::var("PSTM_BENCH_TRAVELTIME").as_deref() {
        Ok("curved_ray") => (Traveltime::CurvedRay, Some(Gradient { k: 0.6, v0: None }), None),
        Ok("vti") => (Traveltime::Vti, None, Some(Eta::Constant(0.1))),
        _ => (Traveltime::StraightRay, None, None),
    };
    let mut model = VelocityModel::constant(VELOCITY);
    if let Some(eta) = eta {
        model = model.with_eta(eta).unwrap();
    }
    let velocity = model.sample(&columns, &time).unwrap();
    let params = ImagingOperator {
        traveltime,
        gradient,
        aperture: Aperture::fixed(APERTURE_M),
        taper: Taper { kind: TaperKind::Cosine, fraction: 0.1 },
        weights: AmplitudeWeights::new(true, true),
        ..ImagingOperator::plain(0.0)
    };
    let mut b = Bench { columns, time, velocity, params, block, contributions: 0 };
    b.contributions = count_fold(&b);
    b
}

/// Contributions of a tile, in float64. The velocity (and eta) is constant, so the traveltime
/// grows with `t0`: the samples before the trace start, and those before its end, are prefixes of the time
/// axis, found by bisection. Sample positions as in `pstm_math::interp::sample_position`.
fn count_fold(b: &Bench) -> u64 {
    let block = &b.block;
    let (inv_dt, last) = (1.0 / block.dt_s, (block.n_samples - 1) as f64);
    let mut total = 0u64;
    for &[x, y] in &b.columns {
        for g in &block.geometry {
            if g.midpoint_distance_sq(x, y).sqrt() > APERTURE_M {
                continue;
            }
            let (ds2, dr2) = g.leg_distances_sq(x, y);
            let eta = b.velocity.eta_column(0).map_or(0.0, |e| e[0] as f64);
            let t = |it: usize| b.params.leg_law(b.time.time(it), VELOCITY, eta).two_way(ds2, dr2);
            let u = |it: usize| (t(it) - block.t_start_s) * inv_dt;
            let before_end = prefix(b.time.nt, |it| u(it) < last);
            let before_start = prefix(b.time.nt, |it| u(it) < 0.0);
            total += before_end.saturating_sub(before_start) as u64;
        }
    }
    total
}

/// Length of the prefix of `0..n` where `pred` holds (`pred` true then false).
fn prefix(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) { lo = mid + 1 } else { hi = mid }
    }
    lo
}

static SMALL: LazyLock<Bench> = LazyLock::new(|| bench(40, &[200.0, 400.0, 600.0, 800.0], 1001, 8));
static MEDIUM: LazyLock<Bench> = LazyLock::new(|| bench(80, &offsets_medium(), 1501, 8));
static SMALL_REF: LazyLock<Bench> = LazyLock::new(|| bench(40, &[200.0, 400.0, 600.0, 800.0], 1001, 2));
static MEDIUM_REF: LazyLock<Bench> = LazyLock::new(|| bench(80, &offsets_medium(), 1501, 2));

fn offsets_medium() -> Vec<f64> {
    (1..=8).map(|k| 200.0 * k as f64).collect()
}

#[derive(Clone, Copy)]
struct Case {
    dataset: &'static str,
    threads: usize,
}

impl fmt::Display for Case {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}t", self.dataset, self.threads)
    }
}

const CASES: [Case; 4] = [
    Case { dataset: "small", threads: 1 },
    Case { dataset: "small", threads: 2 },
    Case { dataset: "medium", threads: 1 },
    Case { dataset: "medium", threads: 2 },
];

/// Whether `PSTM_BENCH_CASES` (a comma-separated list like `small 1t,medium 2t`) selects the case;
/// unset selects every case.
fn selected(case: Case) -> bool {
    std::env::var("PSTM_BENCH_CASES").map_or(true, |list| list.split(',').any(|c| c.trim() == case.to_string()))
}

fn run(bencher: Bencher, kernel: &dyn MigrationKernel, b: &Bench, threads: usize) {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let blocks = std::slice::from_ref(&b.block);
    bencher
        .counter(ItemsCount::new(b.contributions))
        .bench_local(|| pool.install(|| migrate_tile(kernel, b.task(), blocks).unwrap()));
}

fn dataset(case: Case, reference: bool) -> Option<&'static Bench> {
    if !selected(case) {
        return None;
    }
    Some(match (case.dataset, reference) {
        ("small", false) => &SMALL,
        ("medium", false) => &MEDIUM,
        ("small", true) => &SMALL_REF,
        _ => &MEDIUM_REF,
    })
}

#[divan::bench(args = CASES, sample_count = 5, sample_size = 1)]
fn cpu_avx512(bencher: Bencher, case: Case) {
    let Ok(kernel) = CpuKernel::with_isa(CpuIsa::Avx512) else { return };
    let Some(b) = dataset(case, false) else { return };
    run(bencher, &kernel, b, case.threads);
}

#[divan::bench(args = CASES, sample_count = 5, sample_size = 1)]
fn cpu_avx2(bencher: Bencher, case: Case) {
    let Ok(kernel) = CpuKernel::with_isa(CpuIsa::Avx2) else { return };
    let Some(b) = dataset(case, false) else { return };
    run(bencher, &kernel, b, case.threads);
}

#[divan::bench(args = CASES, sample_count = 2, sample_size = 1)]
fn cpu_portable(bencher: Bencher, case: Case) {
    let Some(b) = dataset(case, false) else { return };
    run(bencher, &CpuKernel::portable(), b, case.threads);
}

#[divan::bench(args = CASES, sample_count = 2, sample_size = 1)]
fn cpu_ref(bencher: Bencher, case: Case) {
    let Some(b) = dataset(case, true) else { return };
    run(bencher, &CpuRefKernel, b, case.threads);
}

/// A way of reading traces, for the `*_reading` benches.
#[derive(Clone, Copy)]
struct Reading {
    name: &'static str,
    interpolation: Interpolation,
    method: AntialiasMethod,
}

impl fmt::Display for Reading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "small 1t {}", self.name)
    }
}

const READINGS: [Reading; 5] = [
    Reading { name: "linear", interpolation: Interpolation::Linear, method: AntialiasMethod::None },
    Reading { name: "triangle", interpolation: Interpolation::Linear, method: AntialiasMethod::Triangle },
    Reading { name: "weight", interpolation: Interpolation::Linear, method: AntialiasMethod::Weight },
    Reading { name: "cubic", interpolation: Interpolation::Cubic, method: AntialiasMethod::None },
    Reading { name: "sinc8", interpolation: Interpolation::Sinc8, method: AntialiasMethod::None },
];

static READING_BENCHES: [OnceLock<Bench>; READINGS.len()] = [const { OnceLock::new() }; READINGS.len()];

/// The `small` tile read the way `READINGS[i]` says, its traces integrated for the triangle.
fn reading_bench(i: usize) -> Option<&'static Bench> {
    if !selected(Case { dataset: "small", threads: 1 }) {
        return None;
    }
    Some(READING_BENCHES[i].get_or_init(|| {
        let tile = 8;
        let mut b = bench(40, &[200.0, 400.0, 600.0, 800.0], 1001, tile);
        let r = READINGS[i];
        b.params.interpolation = r.interpolation;
        b.params.antialiasing =
            Antialiasing { method: r.method, steps: Antialiasing::grid_steps(SPACING_M, SPACING_M, 0.0, tile, tile) };
        let n = b.block.n_samples;
        pstm_math::antialias::prepare_traces(&b.params.antialiasing, &mut b.block.samples, n);
        b
    }))
}

fn reading_index(r: Reading) -> usize {
    READINGS.iter().position(|x| x.name == r.name).unwrap()
}

#[divan::bench(args = READINGS, sample_count = 5, sample_size = 1)]
fn cpu_avx512_reading(bencher: Bencher, r: Reading) {
    let Ok(kernel) = CpuKernel::with_isa(CpuIsa::Avx512) else { return };
    let Some(b) = reading_bench(reading_index(r)) else { return };
    run(bencher, &kernel, b, 1);
}

#[divan::bench(args = READINGS, sample_count = 5, sample_size = 1)]
fn cpu_avx2_reading(bencher: Bencher, r: Reading) {
    let Ok(kernel) = CpuKernel::with_isa(CpuIsa::Avx2) else { return };
    let Some(b) = reading_bench(reading_index(r)) else { return };
    run(bencher, &kernel, b, 1);
}

#[divan::bench(args = READINGS, sample_count = 2, sample_size = 1)]
fn cpu_portable_reading(bencher: Bencher, r: Reading) {
    let Some(b) = reading_bench(reading_index(r)) else { return };
    run(bencher, &CpuKernel::portable(), b, 1);
}
