//! Per (trace, output column) work that does not depend on `t0`, done once in float64.
//!
//! Distances are taken in float64 from the world coordinates, so that coordinates far from the
//! origin (UTM eastings and northings) lose nothing; only the squared leg distances go to float32.
//! The aperture test against the largest radius happens here, in float64, exactly as the
//! reference kernel does it; so does the taper at a fixed aperture.
//!
//! The range of output samples to visit comes from bounds on the traveltime, each a straight-ray
//! double square root `D(t0; B) = sqrt(h + ds^2 B) + sqrt(h + dr^2 B)`, `h = (t0/2)^2`, which
//! can be solved for `t0` in closed form ([`t0_reaching`]). With the leg law's `a` and `b`
//! ([`pstm_math::traveltime`]) and the column's smallest and largest `b`:
//!
//! - **from below**, `t >= D(t0; b_min / (1 + 2 max(eta_max, 0)))` for the straight ray and VTI
//!   (`a = h`; a VTI leg's `t^2 = a + q (a + q)/(a + (1 + 2 eta) q)` is at least
//!   `a + q / (1 + 2 eta)` for `eta >= 0` and at least `a + q` otherwise); a curved leg is
//!   `f(s) = asinh(c s)/c` of `s >= sqrt(h + d^2 b_min)` (`a >= h`), and `f` is concave with
//!   `f(0) = 0`, so `f(s1) + f(s2) >= f(s1 + s2)`: `t >= t_end` wherever
//!   `D(t0; b_min) >= sinh(c t_end)/c`. Solved for the time of the trace's end, this gives the
//!   `|t0|` past which no sample can be inside the trace (far traces leave it long before the
//!   last output time);
//! - **from above**, `t <= sigma D(t0; b_max max(1, 1/(1 + 2 min(eta_min, 0))) / sigma^2)`, where
//!   `sigma^2` is the largest `a / h` (1 but for a curved ray, whose leg time is at most `s`),
//!   against the trace's start time the same way.
//!
//! A margin of two samples covers rounding: samples outside the range are outside the trace in
//! any precision. The bounds hold for every reading: cubic and sinc8 read the same `u` as
//! linear, and a triangle's `u - l >= 0`, `u + l < n - 1` only narrow `0 <= u < n - 1`. A dip aperture that never shrinks with time also starts the range where it
//! reaches the trace. `tests::bounds_never_drop_a_contributing_sample` checks all of it against
//! every sample's float64 traveltime.

use std::ops::Range;

use pstm_math::{ApertureMode, ImagingOperator, TimeAxis, TraceGeometry};

use super::tables::{Shape, VelocityColumn};

/// One trace against one column.
#[derive(Debug, Clone)]
pub(crate) struct Pair {
    pub ds2: f32,
    pub dr2: f32,
    /// Midpoint distance (m).
    pub dm: f32,
    /// The taper weight where it does not depend on `t0` (1 where the loop computes it per
    /// sample).
    pub weight: f32,
    /// Whether aperture and taper must be evaluated per sample (a dip aperture whose taper or
    /// edge this trace reaches at some times).
    pub per_sample_aperture: bool,
    /// Output samples to visit, whole vectors of `lanes`.
    pub samples: Range<usize>,
    /// The legs' projections on the grid steps, `[(p - s).e1, (p - s).e2, (p - r).e1,
    /// (p - r).e2]` ([`pstm_math::Antialiasing::leg_projections`], in float64): zero without
    /// antialiasing.
    pub projections: [f32; 4],
}

/// What a pair needs to know of the trace axis.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TraceSpan {
    pub t_start_s: f64,
    /// Time of the last sample: traveltimes at or past it are outside the trace.
    pub t_end_s: f64,
}

/// The pair of trace `g` and the column at `(x, y)`, or `None` when the trace contributes nothing.
#[allow(clippy::too_many_arguments)]
pub(crate) fn pair(
    g: &TraceGeometry,
    [x, y]: [f64; 2],
    col: &VelocityColumn,
    params: &ImagingOperator,
    time: &TimeAxis,
    bounds: LawBounds,
    span: TraceSpan,
    lanes: usize,
    nt_padded: usize,
) -> Option<Pair> {
    let dm = g.midpoint_distance_sq(x, y).sqrt();
    if dm > col.radius_max {
        return None;
    }
    let (ds2, dr2) = g.leg_distances_sq(x, y);
    let (weight, per_sample_aperture) = match params.aperture.mode {
        ApertureMode::Fixed => (params.taper.weight(dm, params.aperture.max_m), false),
        ApertureMode::Dip => (1.0, dm > col.taper_start_min),
    };
    let mut samples = sample_range(ds2, dr2, col, bounds, time, span)?;
    if let (true, Some(radius)) = (per_sample_aperture, &col.growing_radius) {
        // Samples before the radius reaches the trace are outside the aperture, as the reference
        // decides it (`dm > a`, in float64).
        samples.start = samples.start.max(radius.partition_point(|&a| a < dm));
    }
    let start = samples.start / lanes * lanes;
    let end = (samples.end.div_ceil(lanes) * lanes).min(nt_padded);
    // A triangle's `u - l >= 0` and `u + l < n - 1` only narrow `0 <= u < n - 1`: the range
    // bounds hold for every reading.
    let projections = if params.antialiasing.is_none() {
        [0.0; 4]
    } else {
        params.antialiasing.leg_projections(g, x, y).map(|p| p as f32)
    };
    (start < end).then_some(Pair {
        ds2: ds2 as f32,
        dr2: dr2 as f32,
        dm: dm as f32,
        weight: weight as f32,
        per_sample_aperture,
        samples: start..end,
        projections,
    })
}

/// What the sample-range bounds need of the tile's leg law beyond the column's tables.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LawBounds {
    pub shape: Shape,
    /// The largest `a / (t0/2)^2`.
    pub a_factor_max: f64,
}

/// Output samples whose traveltime may fall inside the trace (module documentation).
fn sample_range(
    ds2: f64,
    dr2: f64,
    col: &VelocityColumn,
    law: LawBounds,
    time: &TimeAxis,
    span: TraceSpan,
) -> Option<Range<usize>> {
    const MARGIN: f64 = 2.0;
    let nt = time.nt;
    if time.dt_s.is_nan() || time.dt_s <= 0.0 {
        return Some(0..nt);
    }
    let index = |t0: f64| (t0 - time.t0_s) / time.dt_s;
    // Rounding down by truncation (`floor` is a library call on baseline x86-64); the margin
    // keeps the range conservative.
    let clamp = |i: f64| i.clamp(0.0, nt as f64) as usize;
    // No output time at all if even t0 = 0 reaches the trace end.
    let b_low = col.b_min / (1.0 + 2.0 * col.eta_max.max(0.0));
    let t_end = match law.shape {
        Shape::Curved { c } if c > 0.0 => (c as f64 * span.t_end_s).sinh() / c as f64,
        _ => span.t_end_s,
    };
    let t0_end = t0_reaching(ds2 * b_low, dr2 * b_low, t_end)?;
    let mut start = clamp(index(-t0_end) - MARGIN);
    let end = clamp(index(t0_end) + MARGIN + 1.0);
    // Only for axes of non-negative times is the set reaching the trace start one interval.
    if time.t0_s >= 0.0 && span.t_start_s > 0.0 {
        let sigma2 = law.a_factor_max;
        let b_high = col.b_max * (1.0 / (1.0 + 2.0 * col.eta_min.min(0.0))) / sigma2;
        if let Some(t0_start) = t0_reaching(ds2 * b_high, dr2 * b_high, span.t_start_s / sigma2.sqrt()) {
            start = start.max(clamp(index(t0_start) - MARGIN));
        }
    }
    (start < end).then_some(start..end)
}

/// The `t0 >= 0` at which `sqrt(h + a) + sqrt(h + b) = t`, `h = (t0/2)^2`, or `None` if even
/// `t0 = 0` gives more than `t`. With `p = sqrt(h + a)`, `q = sqrt(h + b)`: `p + q = t` and
/// `p^2 - q^2 = a - b`, so `p = (t + (a - b)/t) / 2` and `h = p^2 - a`.
fn t0_reaching(a: f64, b: f64, t: f64) -> Option<f64> {
    if a.sqrt() + b.sqrt() >= t {
        return None;
    }
    let p = 0.5 * (t + (a - b) / t);
    Some(2.0 * (p * p - a).max(0.0).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::tables::TileTables;
    use crate::parity::ParityCase;
    use pstm_math::Traveltime;
    use pstm_math::interp::sample_position;
    use pstm_math::traveltime::dsr_time;

    /// Every output sample whose float64 traveltime falls inside the trace lies inside the range,
    /// for every traveltime type, over random cases (velocities varying in time and space, curved
    /// rays with gradients of -0.3 to 1.5 1/s, VTI with eta from -0.1 to 0.4, delayed traces).
    /// The same check fails for a curved ray bounded as if it were straight: the test can fail.
    #[test]
    fn bounds_never_drop_a_contributing_sample() {
        let mut checked = [0usize; 3];
        let (mut dropped_if_straight, mut visited, mut contributing) = (0usize, 0usize, 0usize);
        for seed in 0..300 {
            let mut case = ParityCase::random(seed);
            // Short traces make far traces leave them early: the end bound matters.
            for b in &mut case.blocks {
                let n = b.n_samples.min(120 + (seed as usize % 5) * 40);
                let samples = (0..b.n_traces()).flat_map(|i| b.trace(i)[..n].to_vec()).collect();
                *b = crate::TraceBlock { n_samples: n, samples, ..b.clone() };
            }
            let task = case.task();
            let tables = TileTables::new(&task);
            let law = LawBounds { shape: tables.shape, a_factor_max: tables.a_factor_max };
            let naive = LawBounds { shape: Shape::Straight, a_factor_max: tables.a_factor_max };
            let kind = match task.operator.traveltime {
                Traveltime::StraightRay => 0,
                Traveltime::CurvedRay => 1,
                Traveltime::Vti => 2,
            };
            for block in &case.blocks {
                let span = TraceSpan {
                    t_start_s: block.t_start_s,
                    t_end_s: block.t_start_s + (block.n_samples - 1) as f64 * block.dt_s,
                };
                for (c, &[x, y]) in task.columns.iter().enumerate() {
                    let col = tables.velocity_column(c);
                    let vrms = task.velocity.column(c);
                    let eta = task.velocity.eta_column(c);
                    for g in &block.geometry {
                        let (ds2, dr2) = g.leg_distances_sq(x, y);
                        let range = sample_range(ds2, dr2, col, law, &task.time, span).unwrap_or(0..0);
                        let naive_range = sample_range(ds2, dr2, col, naive, &task.time, span).unwrap_or(0..0);
                        visited += range.len();
                        for it in 0..task.time.nt {
                            let t0 = task.time.time(it);
                            let e = eta.map_or(0.0, |e| e[it] as f64);
                            let t = task.operator.leg_law(t0, vrms[it] as f64, e).two_way(ds2, dr2);
                            if sample_position(t, block.t_start_s, 1.0 / block.dt_s, block.n_samples).is_none() {
                                continue;
                            }
                            contributing += 1;
                            assert!(
                                range.contains(&it),
                                "seed {seed}, {:?}: sample {it} (t0 {t0:.4} s, t {t:.4} s) outside {range:?}",
                                task.operator.traveltime
                            );
                            if kind == 1 && !naive_range.contains(&it) {
                                dropped_if_straight += 1;
                            }
                        }
                    }
                }
            }
            checked[kind] += 1;
        }
        println!(
            "cases: {} straight, {} curved, {} VTI; {contributing} contributing samples all inside the ranges, \
             {visited} visited ({:.2} per contributing one); a curved ray bounded as straight would drop {dropped_if_straight}",
            checked[0],
            checked[1],
            checked[2],
            visited as f64 / contributing as f64
        );
        assert!(checked.iter().all(|&n| n > 40), "{checked:?}");
        assert!(dropped_if_straight > 0, "the check would not notice a wrong bound");
    }

    #[test]
    fn t0_reaching_inverts_the_dsr_time() {
        for (ds, dr, v, t) in [(300.0, 500.0, 2000.0, 1.2), (0.0, 0.0, 2500.0, 2.0), (1500.0, 100.0, 1800.0, 2.0)] {
            let (a, b) = ((ds * ds) / (v * v), (dr * dr) / (v * v));
            let t0 = t0_reaching(a, b, t).unwrap();
            let back = dsr_time(t0, ds * ds, dr * dr, v);
            assert!((back - t).abs() < 1e-12, "{back} vs {t}");
        }
        assert_eq!(t0_reaching(1.0, 1.0, 1.5), None);
    }
}
