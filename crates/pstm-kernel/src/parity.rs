//! Checking a kernel against the reference: random cases, masks and error measures.
//!
//! Every fast kernel is compared with `cpu-ref` on fresh random inputs: random trace positions
//! far from the coordinate origin (as real UTM coordinates are), random samples, time axes,
//! velocities (constant, v(t), laterally varying), traveltime types (straight, curved with a
//! random gradient, VTI with a random eta), interpolations, antialiasing methods, apertures,
//! tapers and weights. The measure is
//! the relative L2 error `|cand - ref| / |ref|` over all output samples, except those where
//! float32 and float64 may rightly take different branches:
//!
//! - a traveltime within `1e-3` samples of either end of a trace (one precision reads the last
//!   sample, the other finds the time outside the trace), or, with triangle antialiasing, a
//!   triangle end within `1e-3` samples of one;
//! - a midpoint distance within `1e-5` (relative) of the aperture radius (one precision counts the
//!   trace in, the other out);
//! - a traveltime within `1e-5` (relative) of the stretch mute's limit.
//!
//! [`borderline_mask`] finds those samples in float64; nothing else is excused.

use pstm_math::interp::sample_position;
use pstm_math::rng::SplitMix64;
use pstm_math::{
    AmplitudeWeights, AntialiasMethod, Antialiasing, Aperture, ApertureMode, ImagingOperator, Interpolation, Taper,
    TaperKind, TileVelocity, TimeAxis, TraceGeometry,
};

use crate::{TileImage, TileTask, TraceBlock};

/// The relative L2 error every float32 kernel must stay below against `cpu-ref`: the one
/// tolerance of the parity tests, `pstm compare` and the benchmarks' accuracy check.
pub const REL_L2_TOLERANCE: f64 = 1e-4;
/// Trace-end distance (in samples) inside which a sample is excused.
pub const TRACE_END_EPS_SAMPLES: f64 = 1e-3;
/// Relative distance to the aperture edge inside which a sample is excused.
pub const APERTURE_EDGE_EPS: f64 = 1e-5;
/// Relative distance of a traveltime to the stretch mute's limit inside which a sample is excused.
pub const STRETCH_EDGE_EPS: f64 = 1e-5;

/// Every reading a kernel implements: each interpolation without antialiasing and with
/// `weight`, and the triangle (which reads its integrated traces linearly).
pub const READINGS: [(Interpolation, AntialiasMethod); 7] = [
    (Interpolation::Linear, AntialiasMethod::None),
    (Interpolation::Cubic, AntialiasMethod::None),
    (Interpolation::Sinc8, AntialiasMethod::None),
    (Interpolation::Linear, AntialiasMethod::Weight),
    (Interpolation::Cubic, AntialiasMethod::Weight),
    (Interpolation::Sinc8, AntialiasMethod::Weight),
    (Interpolation::Linear, AntialiasMethod::Triangle),
];

/// A self-contained migration problem for one tile.
#[derive(Debug, Clone)]
pub struct ParityCase {
    pub seed: u64,
    pub columns: Vec<[f64; 2]>,
    pub time: TimeAxis,
    pub velocity: TileVelocity,
    pub operator: ImagingOperator,
    pub blocks: Vec<TraceBlock>,
}

impl ParityCase {
    pub fn task(&self) -> TileTask<'_> {
        TileTask { columns: &self.columns, time: self.time, velocity: &self.velocity, operator: &self.operator }
    }

    /// A random case. Sizes stay small enough for the reference kernel to run in well under a
    /// second in a debug build.
    pub fn random(seed: u64) -> Self {
        Self::generate(seed, false)
    }

    /// A random case with long records: traces of 4000-6000 samples at 1 ms holding 30 Hz
    /// wavelets, and output times of 2-5 s, where a float32 sample position (about 5000) keeps
    /// only 2.4e-4 samples of fraction. White-noise traces (every frequency to Nyquist) turn that
    /// into about 2e-4 of relative L2 error in a float32 kernel; seismic-like ones do not.
    pub fn random_long(seed: u64) -> Self {
        Self::generate(seed, true)
    }

    fn generate(seed: u64, long: bool) -> Self {
        let mut rng = SplitMix64::new(seed.wrapping_mul(0x2545_F491_4F6C_DD1D) ^ 0xC0FFEE);
        let mut uni = |lo: f64, hi: f64| lo + (hi - lo) * rng.uniform();
        // A survey patch far from the origin, like UTM coordinates.
        let (x0, y0) = (uni(3.0e5, 7.0e5), uni(5.9e6, 6.9e6));
        let extent = uni(1500.0, 3000.0);
        let n_columns = 4 + (uni(0.0, 1.0) * 20.0) as usize;
        let columns: Vec<[f64; 2]> =
            (0..n_columns).map(|_| [x0 + uni(0.2, 0.8) * extent, y0 + uni(0.2, 0.8) * extent]).collect();
        let dt_in = if long {
            0.001
        } else if uni(0.0, 1.0) < 0.5 {
            0.002
        } else {
            0.004
        };
        let n_samples =
            if long { 4000 + (uni(0.0, 1.0) * 2000.0) as usize } else { 150 + (uni(0.0, 1.0) * 400.0) as usize };
        let t_start_s = if uni(0.0, 1.0) < 0.3 { (uni(0.0, 25.0) as usize) as f64 * dt_in } else { 0.0 };
        let time = if long {
            TimeAxis { t0_s: uni(2.0, 3.0), dt_s: 0.004, nt: 200 + (uni(0.0, 1.0) * 300.0) as usize }
        } else {
            TimeAxis {
                t0_s: if uni(0.0, 1.0) < 0.5 { 0.0 } else { uni(0.0, 0.2) },
                dt_s: [0.002, 0.004, 0.003][(uni(0.0, 3.0) as usize).min(2)],
                nt: 60 + (uni(0.0, 1.0) * 200.0) as usize,
            }
        };
        // Velocity: constant, v(t), or varying from column to column.
        let kind = (uni(0.0, 3.0) as usize).min(2);
        let (v0, k) = (uni(1500.0, 2500.0), uni(0.0, 800.0));
        let lateral: Vec<f64> = (0..n_columns).map(|_| uni(-150.0, 150.0)).collect();
        let vcols = if kind == 2 { n_columns } else { 1 };
        let mut values = Vec::with_capacity(vcols * time.nt);
        for lateral_c in lateral.iter().take(vcols) {
            for it in 0..time.nt {
                let t = time.time(it);
                let v = match kind {
                    0 => v0,
                    1 => v0 + k * t,
                    _ => v0 + k * t + lateral_c,
                };
                values.push(v as f32);
            }
        }
        let velocity = TileVelocity { values, n_columns: vcols, nt: time.nt, eta: Vec::new() };
        let mode = if uni(0.0, 1.0) < 0.5 { ApertureMode::Fixed } else { ApertureMode::Dip };
        let max_m = uni(600.0, 1800.0);
        let mut operator = ImagingOperator {
            aperture: Aperture { mode, max_m, min_m: uni(50.0, 400.0).min(max_m), max_dip_deg: uni(20.0, 70.0) },
            taper: Taper {
                kind: [TaperKind::None, TaperKind::Cosine, TaperKind::Linear, TaperKind::Gaussian]
                    [(uni(0.0, 4.0) as usize).min(3)],
                fraction: uni(0.0, 0.4),
            },
            weights: AmplitudeWeights::new(uni(0.0, 1.0) < 0.5, uni(0.0, 1.0) < 0.5),
            ..ImagingOperator::plain(0.0)
        };
        let n_traces =
            if long { 60 + (uni(0.0, 1.0) * 100.0) as usize } else { 100 + (uni(0.0, 1.0) * 300.0) as usize };
        let mut geometry = Vec::with_capacity(n_traces);
        for _ in 0..n_traces {
            let (mx, my) = (x0 + uni(0.0, 1.0) * extent, y0 + uni(0.0, 1.0) * extent);
            geometry.push(TraceGeometry::from_midpoint(mx, my, uni(0.0, 2500.0), uni(0.0, 360.0)));
        }
        let samples: Vec<f32> = if long {
            // Seismic-like records: 30 Hz Ricker wavelets at random times and amplitudes.
            let ricker = pstm_math::wavelet::Wavelet::Ricker { freq_hz: 30.0 };
            let mut samples = vec![0.0f32; n_traces * n_samples];
            for trace in samples.chunks_mut(n_samples) {
                for _ in 0..40 {
                    let (te, a) = (uni(0.0, n_samples as f64 * dt_in), uni(-1.0, 1.0));
                    let k0 = ((te - 0.05) / dt_in).max(0.0) as usize;
                    let k1 = (((te + 0.05) / dt_in) as usize).min(n_samples);
                    for (k, s) in trace.iter_mut().enumerate().take(k1).skip(k0) {
                        *s += (a * ricker.value(k as f64 * dt_in - te)) as f32;
                    }
                }
            }
            samples
        } else {
            (0..n_traces * n_samples).map(|_| uni(-1.0, 1.0) as f32).collect()
        };
        // Drawn last, so the cases above stay what they were: a stretch mute in some, a 2D line's
        // spreading in some.
        operator.stretch_mute = (uni(0.0, 1.0) < 0.4).then(|| uni(1.5, 4.0));
        operator.weights.line = uni(0.0, 1.0) < 0.3;
        // A curved ray in a quarter of the cases (a gradient of -0.3 to 1.5 1/s, its v0 given in a
        // third of them), VTI in another (eta from -0.1 to 0.4, varying in time and, where the
        // velocity does, from column to column).
        let mut velocity = velocity;
        match (uni(0.0, 4.0) as usize).min(3) {
            0 => {
                operator.traveltime = pstm_math::Traveltime::CurvedRay;
                let k = uni(-0.3, 1.5);
                let v0 = (uni(0.0, 1.0) < 0.33).then(|| uni(1400.0, 2500.0));
                operator.gradient = Some(pstm_math::Gradient { k, v0 });
            }
            1 => {
                operator.traveltime = pstm_math::Traveltime::Vti;
                let (e0, e1) = (uni(-0.1, 0.3), uni(-0.1, 0.1));
                let t_max = time.time(time.nt.saturating_sub(1)).max(0.1);
                let mut eta = Vec::with_capacity(velocity.values.len());
                for _ in 0..velocity.n_columns {
                    let shift = if velocity.n_columns > 1 { uni(-0.05, 0.05) } else { 0.0 };
                    for it in 0..time.nt {
                        eta.push((e0 + e1 * time.time(it) / t_max + shift).clamp(-0.1, 0.4) as f32);
                    }
                }
                velocity.eta = eta;
            }
            _ => {}
        }
        // Antialiasing in half the cases (a quarter triangle, a quarter weight) against a grid of
        // 10-50 m steps at any rotation, a line's in a fifth of them; cubic or sinc8 in half of
        // the others. Triangle cases read doubly integrated traces, as a trace store serves them.
        let method = [AntialiasMethod::None, AntialiasMethod::None, AntialiasMethod::Triangle, AntialiasMethod::Weight]
            [(uni(0.0, 4.0) as usize).min(3)];
        let ny = if uni(0.0, 1.0) < 0.2 { 1 } else { 2 };
        let steps = Antialiasing::grid_steps(uni(10.0, 50.0), uni(10.0, 50.0), uni(0.0, 360.0), 2, ny);
        operator.antialiasing = Antialiasing { method, steps };
        let interpolation = [Interpolation::Linear, Interpolation::Linear, Interpolation::Cubic, Interpolation::Sinc8]
            [(uni(0.0, 4.0) as usize).min(3)];
        operator.interpolation =
            if method == AntialiasMethod::Triangle { Interpolation::Linear } else { interpolation };
        let mut samples = samples;
        pstm_math::antialias::prepare_traces(&operator.antialiasing, &mut samples, n_samples);
        let whole = TraceBlock { n_samples, dt_s: dt_in, t_start_s, samples, geometry };
        let n_blocks = 1 + (uni(0.0, 3.0) as usize).min(2);
        let cut = n_traces.div_ceil(n_blocks);
        let blocks = (0..n_blocks)
            .map(|b| whole.slice(b * cut..((b + 1) * cut).min(n_traces)))
            .filter(|b| b.n_traces() > 0)
            .collect();
        Self { seed, columns, time, velocity, operator, blocks }
    }
}

/// Output samples excused from comparison (see the module documentation), in float64.
pub fn borderline_mask(task: &TileTask<'_>, blocks: &[TraceBlock]) -> Vec<bool> {
    let nt = task.time.nt;
    let mut mask = vec![false; task.n_output_samples()];
    for (c, &[x, y]) in task.columns.iter().enumerate() {
        let vrms = task.velocity.column(c);
        let eta = task.velocity.eta_column(c);
        for block in blocks {
            let inv_dt = 1.0 / block.dt_s;
            let last = (block.n_samples - 1) as f64;
            for g in &block.geometry {
                let dm = g.midpoint_distance_sq(x, y).sqrt();
                if dm > task.operator.aperture.max_m * (1.0 + APERTURE_EDGE_EPS) {
                    continue;
                }
                let (ds2, dr2) = g.leg_distances_sq(x, y);
                for it in 0..nt {
                    let t0 = task.time.time(it);
                    let v = vrms[it] as f64;
                    let a = task.operator.aperture.radius(t0, v);
                    if (dm - a).abs() <= APERTURE_EDGE_EPS * a.max(1.0) {
                        mask[c * nt + it] = true;
                        continue;
                    }
                    if dm > a {
                        continue;
                    }
                    let law = task.operator.leg_law(t0, v, eta.map_or(0.0, |e| e[it] as f64));
                    let t = law.two_way(ds2, dr2);
                    let limit = task.operator.stretch_limit(t0);
                    if (t - limit).abs() <= STRETCH_EDGE_EPS * t.max(1e-3) {
                        mask[c * nt + it] = true;
                        continue;
                    }
                    if t > limit {
                        continue;
                    }
                    let u = (t - block.t_start_s) * inv_dt;
                    let near_end =
                        |p: f64| p.abs() <= TRACE_END_EPS_SAMPLES || (p - last).abs() <= TRACE_END_EPS_SAMPLES;
                    if near_end(u) {
                        mask[c * nt + it] = true;
                    }
                    if task.operator.antialiasing.method == AntialiasMethod::Triangle {
                        let shift = task.operator.shift(&law, g, x, y, block.dt_s);
                        let l = Antialiasing::half_length(shift, block.dt_s);
                        if near_end(u - l) || near_end(u + l) {
                            mask[c * nt + it] = true;
                        }
                    }
                }
            }
        }
    }
    mask
}

/// How a candidate image differs from a reference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// `|cand - ref|_2 / |ref|_2` over unmasked samples (NaN if the candidate has any NaN).
    pub rel_l2: f64,
    /// Largest absolute difference over unmasked samples.
    pub max_abs: f64,
    /// `max_abs / max |ref|`.
    pub max_rel: f64,
    /// Unmasked samples whose fold differs.
    pub fold_mismatches: usize,
    /// Candidate samples (masked or not) that are NaN or infinite: unwritten or broken.
    pub non_finite: usize,
    pub masked: usize,
    pub n: usize,
}

impl Comparison {
    /// The parity rule for a float32 kernel against the float64 reference.
    pub fn passes(&self, rel_l2_tol: f64) -> bool {
        self.non_finite == 0 && self.fold_mismatches == 0 && self.rel_l2 <= rel_l2_tol
    }
}

impl std::fmt::Display for Comparison {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "relative L2 {:.3e}, max abs {:.3e}, max rel {:.3e}, fold mismatches {}, non-finite {}, masked {} of {}",
            self.rel_l2, self.max_abs, self.max_rel, self.fold_mismatches, self.non_finite, self.masked, self.n
        )
    }
}

pub fn compare(reference: &TileImage, candidate: &TileImage, mask: Option<&[bool]>) -> Comparison {
    assert_eq!(reference.image.len(), candidate.image.len(), "image sizes differ");
    let (mut diff2, mut ref2, mut max_abs, mut max_ref) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
    let (mut fold_mismatches, mut masked) = (0, 0);
    let non_finite = candidate.image.iter().filter(|v| !v.is_finite()).count()
        + candidate.fold.iter().filter(|&&f| f == u32::MAX).count();
    for i in 0..reference.image.len() {
        if mask.is_some_and(|m| m[i]) {
            masked += 1;
            continue;
        }
        let (r, c) = (reference.image[i] as f64, candidate.image[i] as f64);
        diff2 += (c - r) * (c - r);
        ref2 += r * r;
        max_abs = max_abs.max((c - r).abs());
        max_ref = max_ref.max(r.abs());
        if reference.fold[i] != candidate.fold[i] {
            fold_mismatches += 1;
        }
    }
    let rel_l2 = if non_finite > 0 {
        f64::NAN
    } else if ref2 > 0.0 {
        (diff2 / ref2).sqrt()
    } else if diff2 == 0.0 {
        0.0
    } else {
        f64::INFINITY
    };
    Comparison {
        rel_l2,
        max_abs,
        max_rel: if max_ref > 0.0 { max_abs / max_ref } else { max_abs },
        fold_mismatches,
        non_finite,
        masked,
        n: reference.image.len(),
    }
}

/// Exact count of contributions (in aperture, inside the trace) per output sample, for checking
/// fold independently of any kernel.
pub fn count_fold(task: &TileTask<'_>, blocks: &[TraceBlock]) -> Vec<u32> {
    let nt = task.time.nt;
    let mut fold = vec![0u32; task.n_output_samples()];
    for (c, &[x, y]) in task.columns.iter().enumerate() {
        for block in blocks {
            for g in &block.geometry {
                let dm = g.midpoint_distance_sq(x, y).sqrt();
                let (ds2, dr2) = g.leg_distances_sq(x, y);
                for it in 0..nt {
                    let (t0, v) = (task.time.time(it), task.velocity.column(c)[it] as f64);
                    let eta = task.velocity.eta_column(c).map_or(0.0, |e| e[it] as f64);
                    let law = task.operator.leg_law(t0, v, eta);
                    let t = law.two_way(ds2, dr2);
                    let u = sample_position(t, block.t_start_s, 1.0 / block.dt_s, block.n_samples);
                    // A triangle reaching past either end of the trace leaves the contribution out.
                    let triangle_inside = |u: f64| {
                        let shift = task.operator.shift(&law, g, x, y, block.dt_s);
                        let l = Antialiasing::half_length(shift, block.dt_s);
                        u - l >= 0.0 && u + l < (block.n_samples - 1) as f64
                    };
                    let inside = dm <= task.operator.aperture.radius(t0, v)
                        && !task.operator.stretched(t0, t)
                        && u.is_some_and(|u| {
                            task.operator.antialiasing.method != AntialiasMethod::Triangle || triangle_inside(u)
                        });
                    fold[c * nt + it] += inside as u32;
                }
            }
        }
    }
    fold
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CpuRefKernel, migrate_tile};

    #[test]
    fn a_perturbed_image_fails_and_the_reference_passes_itself() {
        let case = ParityCase::random(3);
        let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
        let same = compare(&reference, &reference, None);
        assert!(same.passes(0.0), "{same}");
        let mut bad = reference.clone();
        let i = bad.image.iter().enumerate().max_by(|a, b| a.1.abs().total_cmp(&b.1.abs())).unwrap().0;
        bad.image[i] *= 1.01;
        assert!(!compare(&reference, &bad, None).passes(1e-4));
        bad.image[i] = f32::NAN;
        assert_eq!(compare(&reference, &bad, None).non_finite, 1);
    }

    #[test]
    fn reference_fold_equals_independent_count() {
        for seed in 0..4 {
            let case = ParityCase::random(seed);
            let reference = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
            assert_eq!(reference.fold, count_fold(&case.task(), &case.blocks), "seed {seed}");
            assert!(reference.fold.iter().any(|&f| f > 0));
        }
    }

    #[test]
    fn reference_does_not_depend_on_blocking() {
        let case = ParityCase::random(11);
        let whole: Vec<TraceBlock> = {
            let mut b = case.blocks[0].clone();
            for other in &case.blocks[1..] {
                b.samples.extend_from_slice(&other.samples);
                b.geometry.extend_from_slice(&other.geometry);
            }
            vec![b]
        };
        let a = migrate_tile(&CpuRefKernel, case.task(), &case.blocks).unwrap();
        let b = migrate_tile(&CpuRefKernel, case.task(), &whole).unwrap();
        assert_eq!(a, b);
    }
}
