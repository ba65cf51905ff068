//! Operator antialiasing.
//!
//! A Kirchhoff sum samples its operator (the traveltime surface of one trace over the output
//! grid) at the output spacing. Where that surface is steep, neighbouring output columns read the
//! trace `dT` apart in time, and frequencies above `1/(2 dT)` alias: steep operator flanks spray
//! noise across the image. With `dT` the operator's time shift per output step,
//!
//! ```text
//! dT = max(|grad t . e1|, |grad t . e2|),   grad t = sum over both legs of d t_leg / d(x, y)
//! ```
//!
//! where `e1`, `e2` are the grid's inline and crossline steps (a zero vector where the grid has no
//! neighbour, as a 2D line has none crossline) and `grad t` is the gradient of the two-way time
//! with respect to the image point, from the leg law ([`crate::LegLaw::rate`]), for every
//! traveltime type.
//!
//! - **triangle** (Lumley, Claerbout and Bevc, 1994): each contribution reads the trace through a
//!   triangle filter of half-length `L = max(dT, dt)` (`dt`: the trace's sample interval). The
//!   filter costs three reads whatever its length: each trace is integrated causally, then
//!   anticausally, once when it is read ([`integrate_twice`]), and
//!   `(2 I(u) - I(u - l) - I(u + l)) / l^2` (`l = L/dt` samples, `I` read linearly, the divisor
//!   corrected for that reading: [`triangle`]) is the trace convolved with the triangle
//!   `(l - |k|)/l^2`. Where `l = 1` that is linear interpolation of
//!   the trace itself, so flat operator parts are read as without antialiasing. A contribution
//!   whose triangle reaches past either end of the trace is left out, from the fold too (as
//!   Madagascar's ktmig does).
//! - **weight** (the reference package's scalar down-weight, kept for comparison): each
//!   contribution is scaled by `min(1, dt/dT)`, the ratio of the highest unaliased frequency
//!   `1/(2 dT)` (at zero offset `v / (4 dx sin theta)`) to the trace's Nyquist frequency.
//!
//! **Limits.** A dip moving the operator `dT` per output step carries frequencies up to
//! `1/(2 dT)` unaliased. The triangle passes `sinc^2(f dT)`: 0.41 at `1/(2 dT)`, its first zero at
//! `1/dT`, and 0.81 at half of Nyquist where `dT = dt` (that is linear interpolation's own
//! response at a half-sample offset). It therefore suppresses aliases by attenuating, not cutting:
//! energy between `1/(2 dT)` and `1/dT` is reduced, not removed. Only the output grid's aliasing is
//! addressed; input traces too sparse for their dips alias before migration and no operator
//! filter restores them.
//!
//! **Precision.** The doubly integrated trace is formed in float64 and stored in float32, and
//! the filter takes differences of its values, so its relative error grows with its magnitude
//! over the trace's. Removing the least-squares line from it changes no difference (a second
//! difference of a line is zero) and keeps it small: on band-limited 8-60 Hz traces of 3000
//! samples the filtered value errs by 4.7e-7 (relative RMS) at `l = 1`; on white noise (energy at
//! every frequency down to zero, which seismic records lack) by 8e-5, and by 1.8e-3 with a DC
//! offset a tenth of the noise's RMS, less as `l` grows (this module's tests print them). The
//! fast kernels form the second difference from differences of neighbouring samples, so reading
//! the stored values adds no rounding at their scale.

use serde::{Deserialize, Serialize};

use crate::TraceGeometry;

/// `algorithm.antialiasing.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum AntialiasMethod {
    /// Every trace read as it is.
    #[default]
    None,
    /// Lumley-Claerbout-Bevc triangle filters on doubly integrated traces.
    Triangle,
    /// The reference package's scalar down-weight `min(1, dt/dT)`.
    Weight,
}

/// The operator's antialiasing: the method and the output grid steps it measures dips against.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct Antialiasing {
    pub method: AntialiasMethod,
    /// World `(x, y)` steps from an output column to its inline and its crossline neighbour (m);
    /// a zero step where the grid has no neighbour that way.
    pub steps: [[f64; 2]; 2],
}

impl Antialiasing {
    pub const NONE: Antialiasing = Antialiasing { method: AntialiasMethod::None, steps: [[0.0; 2]; 2] };

    pub fn is_none(&self) -> bool {
        self.method == AntialiasMethod::None
    }

    /// Whether the kernels read doubly integrated traces ([`integrate_twice`]).
    pub fn integrates(&self) -> bool {
        self.method == AntialiasMethod::Triangle
    }

    /// The steps of a grid of spacing `dx`, `dy` turned `rotation_deg` counter-clockwise from
    /// east; `ny == 1` (a line) has no crossline step, nor `nx == 1` an inline one.
    pub fn grid_steps(dx: f64, dy: f64, rotation_deg: f64, nx: usize, ny: usize) -> [[f64; 2]; 2] {
        let (sin, cos) = rotation_deg.to_radians().sin_cos();
        let (ax, ay) = if nx > 1 { (dx, dx) } else { (0.0, 0.0) };
        let (bx, by) = if ny > 1 { (dy, dy) } else { (0.0, 0.0) };
        [[ax * cos, ay * sin], [-bx * sin, by * cos]]
    }

    /// The four projections of a trace's legs on the grid steps for the image point `(x, y)`:
    /// `[(p - s) . e1, (p - s) . e2, (p - r) . e1, (p - r) . e2]`, constant along a column.
    pub fn leg_projections(&self, g: &TraceGeometry, x: f64, y: f64) -> [f64; 4] {
        let [e1, e2] = self.steps;
        let (ps, pr) = ([x - g.sx, y - g.sy], [x - g.rx, y - g.ry]);
        let dot = |a: [f64; 2], e: [f64; 2]| a[0] * e[0] + a[1] * e[1];
        [dot(ps, e1), dot(ps, e2), dot(pr, e1), dot(pr, e2)]
    }

    /// The operator's time shift per output step `dT` (s), from the legs' rates
    /// `d t_leg / d(d^2)` ([`crate::LegLaw::rate`]) and [`Antialiasing::leg_projections`]:
    /// `grad t . e = 2 rate_s (p - s) . e + 2 rate_r (p - r) . e`.
    pub fn shift(rate_s: f64, rate_r: f64, projections: [f64; 4]) -> f64 {
        let [s1, s2, r1, r2] = projections;
        let along1 = 2.0 * (rate_s * s1 + rate_r * r1);
        let along2 = 2.0 * (rate_s * s2 + rate_r * r2);
        along1.abs().max(along2.abs())
    }

    /// The triangle's half-length in samples for a shift `dT` and sample interval `dt`: at least one.
    pub fn half_length(shift: f64, dt: f64) -> f64 {
        (shift / dt).max(1.0)
    }

    /// The `weight` method's factor for a shift `dT` and sample interval `dt`.
    pub fn down_weight(shift: f64, dt: f64) -> f64 {
        if shift > dt { dt / shift } else { 1.0 }
    }
}

/// Integrate a trace causally, then anticausally (`I[n] = sum_{k >= n} sum_{j <= k} x[j]`), in
/// float64, less the least-squares line through the result (module documentation: it changes no
/// second difference and keeps float32 precision).
pub fn integrate_twice(trace: &mut [f32]) {
    integrate_twice_with(trace, &mut Vec::new());
}

/// [`integrate_twice`] with a scratch buffer the caller keeps across traces.
pub fn integrate_twice_with(trace: &mut [f32], scratch: &mut Vec<f64>) {
    let n = trace.len();
    if n == 0 {
        return;
    }
    scratch.clear();
    let mut acc = 0.0f64;
    scratch.extend(trace.iter().map(|&x| {
        acc += x as f64;
        acc
    }));
    let mut acc = 0.0f64;
    for v in scratch.iter_mut().rev() {
        acc += *v;
        *v = acc;
    }
    // Least-squares line a + b k, in centred coordinates.
    let mid = 0.5 * (n as f64 - 1.0);
    let mean = scratch.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for (k, &v) in scratch.iter().enumerate() {
        let x = k as f64 - mid;
        sxy += x * (v - mean);
        sxx += x * x;
    }
    let slope = if sxx > 0.0 { sxy / sxx } else { 0.0 };
    for (k, (out, v)) in trace.iter_mut().zip(scratch.iter()).enumerate() {
        *out = (v - mean - slope * (k as f64 - mid)) as f32;
    }
}

/// Prepare a block's traces (`n_samples` each) for the operator's antialiasing, after the
/// pre-filter: what every trace store serves to every kernel. The doubly integrated traces take
/// the place of the traces: no second copy is kept, so memory budgets are unchanged.
pub fn prepare_traces(antialiasing: &Antialiasing, samples: &mut [f32], n_samples: usize) {
    if antialiasing.integrates() && n_samples > 0 {
        let mut scratch = Vec::with_capacity(n_samples);
        samples.chunks_mut(n_samples).for_each(|trace| integrate_twice_with(trace, &mut scratch));
    }
}

/// The triangle-filtered trace at fractional position `u`, half-length `l >= 1` samples, from its
/// double integral `twice` ([`integrate_twice`]); `None` where the triangle reaches past either
/// end of the trace.
///
/// The three reads are linear, and linear interpolation of a double integral errs by
/// `f (1 - f)/2` times its curvature (the trace) at fraction `f`; where the taps' fractions
/// differ (a fractional `l`) that does not cancel, and a constant trace would read up to 11% high
/// (`l = 1.5`). Dividing by the pick of a constant trace, `l^2 - 2 e(u) + e(u - l) + e(u + l)`
/// with `e = f (1 - f)/2`, instead of `l^2` makes it exact for constants; on sinusoids its error
/// against the continuous triangle's response then stays within linear interpolation's own
/// (the tests).
pub fn triangle(twice: &[f32], u: f64, l: f64) -> Option<f64> {
    let last = twice.len() as f64 - 1.0;
    if u - l < 0.0 || u + l >= last {
        return None;
    }
    let read = |p: f64| crate::interp::linear(twice, p);
    let bend = |p: f64| {
        let f = p - p.floor();
        0.5 * f * (1.0 - f)
    };
    Some((2.0 * read(u) - read(u - l) - read(u + l)) / (l * l - 2.0 * bend(u) + bend(u - l) + bend(u + l)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::SplitMix64;

    fn noise(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = SplitMix64::new(seed);
        (0..n).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect()
    }

    #[test]
    fn integer_half_lengths_are_the_discrete_triangle_and_one_sample_is_the_trace() {
        let x = noise(200, 3);
        let mut twice = x.clone();
        integrate_twice(&mut twice);
        for (i, l) in [(50usize, 1usize), (80, 2), (100, 7), (120, 30)] {
            let expect: f64 = (-(l as i64) + 1..l as i64)
                .map(|k| (l as i64 - k.abs()) as f64 * x[(i as i64 + k) as usize] as f64)
                .sum::<f64>()
                / (l * l) as f64;
            let got = triangle(&twice, i as f64, l as f64).unwrap();
            assert!((got - expect).abs() < 2e-4, "l = {l}: {got} vs {expect}");
        }
        // l = 1 at a fraction: linear interpolation of the trace.
        for u in [10.25, 60.5, 150.9] {
            let got = triangle(&twice, u, 1.0).unwrap();
            assert!((got - crate::interp::linear(&x, u)).abs() < 2e-4, "{got}");
        }
    }

    /// Relative RMS error, over positions, of reading `cos(2 pi f k)` through `read` against `want`.
    fn sinusoid_error(f: f64, read: impl Fn(&[f32], &[f32], f64) -> Option<f64>, want: impl Fn(f64) -> f64) -> f64 {
        let x: Vec<f32> = (0..600).map(|k| (std::f64::consts::TAU * f * k as f64).cos() as f32).collect();
        let mut twice = x.clone();
        integrate_twice(&mut twice);
        let (mut e2, mut s2) = (0.0, 0.0);
        for j in 0..1000 {
            let u = 200.0 + j as f64 * 0.1003;
            let w = want(u);
            e2 += (read(&x, &twice, u).unwrap() - w).powi(2);
            s2 += w * w;
        }
        (e2 / s2).sqrt()
    }

    #[test]
    fn fractional_half_lengths_add_no_error_beyond_linear_interpolations() {
        // The ideal: the continuous triangle's response sinc^2(f l) on a sinusoid of f cycles per
        // sample. The triangle's own error stays within linear interpolation's at that frequency.
        for f in [0.02, 0.05, 0.1, 0.2] {
            let cos = |u: f64| (std::f64::consts::TAU * f * u).cos();
            let linear = sinusoid_error(f, |x, _, u| Some(crate::interp::linear(x, u)), cos);
            for l in [1.0, 1.5, 2.5, 3.5, 6.3] {
                let gain = crate::interp::sinc(f * l).powi(2);
                let err = sinusoid_error(f, |_, twice, u| triangle(twice, u, l), |u| gain * cos(u));
                println!("f = {f} cycles/sample, l = {l}: triangle error {err:.4} (linear interpolation {linear:.4})");
                assert!(err <= (1.1 * linear).max(0.01), "f = {f}, l = {l}: {err:.4} vs linear {linear:.4}");
            }
        }
        let mut twice: Vec<f32> = (0..400).map(|k| (0.05 * k as f64).sin() as f32).collect();
        integrate_twice(&mut twice);
        // Past either end: left out.
        assert_eq!(triangle(&twice, 3.0, 3.5), None);
        assert_eq!(triangle(&twice, 396.0, 3.0), None);
        assert!(triangle(&twice, 3.5, 3.5).is_some());
        // A constant reads back exactly, whatever the fractions of the taps.
        let mut ones = vec![1.0f32; 300];
        integrate_twice(&mut ones);
        for (u, l) in [(100.0, 1.5), (120.25, 2.5), (150.5, 7.3), (50.0, 1.0)] {
            let got = triangle(&ones, u, l).unwrap();
            assert!((got - 1.0).abs() < 1e-4, "u = {u}, l = {l}: {got}");
        }
        // Past either end: left out.
        assert_eq!(triangle(&twice, 3.0, 3.5), None);
        assert_eq!(triangle(&twice, 396.0, 3.0), None);
        assert!(triangle(&twice, 3.5, 3.5).is_some());
    }

    /// Relative RMS error of float32-stored picks against float64 ones over a trace.
    fn stored_error(x: &[f32], l: f64) -> f64 {
        let mut stored = x.to_vec();
        integrate_twice(&mut stored);
        // The float64 double integral, unshifted.
        let mut once = 0.0;
        let ones: Vec<f64> = x
            .iter()
            .map(|&v| {
                once += v as f64;
                once
            })
            .collect();
        let mut exact = vec![0.0; x.len()];
        let mut acc = 0.0;
        for k in (0..x.len()).rev() {
            acc += ones[k];
            exact[k] = acc;
        }
        let pick64 = |u: f64| {
            let r = |p: f64| {
                let i = p as usize;
                let f = p - i as f64;
                exact[i] + f * (exact[i + 1] - exact[i])
            };
            (2.0 * r(u) - r(u - l) - r(u + l)) / (l * l)
        };
        let (mut e2, mut s2) = (0.0, 0.0);
        let mut u = l + 1.0;
        while u + l + 2.0 < x.len() as f64 {
            let (a, b) = (triangle(&stored, u, l).unwrap(), pick64(u));
            e2 += (a - b) * (a - b);
            s2 += b * b;
            u += 0.73;
        }
        (e2 / s2).sqrt()
    }

    #[test]
    fn float32_storage_keeps_band_limited_traces_to_a_few_parts_per_million() {
        let n = 3000;
        // 8-60 Hz at 2 ms: a sum of sinusoids across the band.
        let mut rng = SplitMix64::new(11);
        let comps: Vec<(f64, f64)> =
            (0..40).map(|_| (8.0 + 52.0 * rng.uniform(), std::f64::consts::TAU * rng.uniform())).collect();
        let band: Vec<f32> = (0..n)
            .map(|k| {
                comps.iter().map(|&(f, p)| (std::f64::consts::TAU * f * k as f64 * 0.002 + p).sin()).sum::<f64>() as f32
            })
            .collect();
        let white = noise(n, 5);
        let biased: Vec<f32> = white.iter().map(|v| v + 0.06).collect();
        for l in [1.0, 2.0, 5.0, 20.0] {
            let (b, w, d) = (stored_error(&band, l), stored_error(&white, l), stored_error(&biased, l));
            println!("l = {l}: float32 storage error, band-limited {b:.1e}, white {w:.1e}, white + DC {d:.1e}");
            assert!(b < 1e-5, "band-limited, l = {l}: {b:.1e}");
            assert!(w < 2e-3 && d < 5e-3, "white, l = {l}: {w:.1e}, {d:.1e}");
        }
    }

    #[test]
    fn shift_is_the_time_difference_between_neighbouring_columns() {
        // A straight-ray operator; compare dT with the traveltime one grid step away.
        let law = crate::LegLaw::new(crate::Traveltime::StraightRay, None, 0.8, 2200.0, 0.0);
        let g = TraceGeometry::from_midpoint(400.0, -150.0, 900.0, 35.0);
        let aa = Antialiasing {
            method: AntialiasMethod::Triangle,
            steps: Antialiasing::grid_steps(0.25, 0.5, 20.0, 10, 10),
        };
        let (x, y) = (-300.0, 250.0);
        let (ds2, dr2) = g.leg_distances_sq(x, y);
        let shift = Antialiasing::shift(law.rate(ds2, 0.0), law.rate(dr2, 0.0), aa.leg_projections(&g, x, y));
        let t = |x: f64, y: f64| {
            let (ds2, dr2) = g.leg_distances_sq(x, y);
            law.two_way(ds2, dr2)
        };
        let [e1, e2] = aa.steps;
        let finite = (t(x + e1[0], y + e1[1]) - t(x, y)).abs().max((t(x + e2[0], y + e2[1]) - t(x, y)).abs());
        assert!((shift - finite).abs() < 1e-3 * finite, "{shift} vs {finite}");
        // A line has no crossline step.
        assert_eq!(Antialiasing::grid_steps(25.0, 25.0, 30.0, 100, 1)[1], [0.0, 0.0]);
        assert_eq!(Antialiasing::down_weight(0.002, 0.004), 1.0);
        assert_eq!(Antialiasing::down_weight(0.016, 0.004), 0.25);
        assert_eq!(Antialiasing::half_length(0.001, 0.004), 1.0);
        assert_eq!(Antialiasing::half_length(0.02, 0.004), 5.0);
    }
}
