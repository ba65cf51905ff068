//! Reading a trace at a fractional time.
//!
//! A trace of `n` samples at interval `dt` starting at `t_start` is defined on `[t_start,
//! t_start + (n-1) dt)`: fractional sample positions `u = (t - t_start)/dt` with `0 <= u < n-1`
//! are read; any other time is outside the trace and contributes nothing (and is not counted in
//! the fold). The interval is half-open so that linear interpolation's two samples always exist,
//! and it is the same for every [`Interpolation`], so the fold does not depend on it.
//!
//! With `i = floor(u)` and `f = u - i`, an interpolation is a filter of `2 h` taps, samples
//! `i - h + 1 ..= i + h`, weighted by `kernel(f - k)` for `k = -h+1 ..= h`:
//!
//! - **linear** (`h = 1`): the triangle `1 - |x|`;
//! - **cubic** (`h = 2`): Keys' cubic convolution with `a = -1/2` (Catmull-Rom): exact for
//!   quadratics, continuous slope, four taps;
//! - **sinc8** (`h = 4`): the sinc windowed by Lanczos' window `sinc(x/4)` over the eight taps,
//!   the weights then divided by their sum so that a constant trace reads back exactly. The
//!   window is Lanczos' because it has no parameter to tune and its main lobe spans exactly the
//!   eight taps; over fractional positions its RMS error on a sinusoid is 0.6% at 30% and 50% of
//!   Nyquist, 1.5% at 60% (20x less than linear's 30%) and 2% at 70% (linear: 39%), measured in
//!   this module's tests. A Kaiser window can do better at one frequency, at the price of a
//!   shape parameter that trades it against the others.
//!
//! Taps outside the trace read zero: the trace is taken as zero beyond its ends, as the
//! forward model makes it.

use serde::{Deserialize, Serialize};

/// How a trace is read between its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Linear between the two neighbouring samples.
    #[default]
    Linear,
    /// Keys' cubic convolution (`a = -1/2`), four samples.
    Cubic,
    /// Lanczos-windowed sinc, eight samples.
    Sinc8,
}

impl Interpolation {
    /// Taps on each side of the interval holding `u`: the filter reads samples
    /// `floor(u) - half_taps + 1 ..= floor(u) + half_taps`.
    pub const fn half_taps(self) -> usize {
        match self {
            Interpolation::Linear => 1,
            Interpolation::Cubic => 2,
            Interpolation::Sinc8 => 4,
        }
    }

    /// The weight of the sample `x` samples away from the reading position (`x = u - sample`),
    /// before sinc8's normalisation ([`Interpolation::weights`] applies it).
    pub fn kernel(self, x: f64) -> f64 {
        let a = x.abs();
        match self {
            Interpolation::Linear => (1.0 - a).max(0.0),
            Interpolation::Cubic => {
                if a < 1.0 {
                    (1.5 * a - 2.5) * a * a + 1.0
                } else if a < 2.0 {
                    ((-0.5 * a + 2.5) * a - 4.0) * a + 2.0
                } else {
                    0.0
                }
            }
            Interpolation::Sinc8 => {
                if a < 4.0 {
                    sinc(x) * sinc(0.25 * x)
                } else {
                    0.0
                }
            }
        }
    }

    /// The `2 h` weights of samples `floor(u) - h + 1 ..= floor(u) + h` at fraction `f` in
    /// `[0, 1)`; they sum to one.
    pub fn weights(self, f: f64) -> Vec<f64> {
        let (w, n) = self.tap_weights(f);
        w[..n].to_vec()
    }

    /// [`Interpolation::weights`] in the first `2 h` entries of an array (no allocation).
    fn tap_weights(self, f: f64) -> ([f64; 8], usize) {
        let h = self.half_taps() as i64;
        let mut w = [0.0; 8];
        for (k, wk) in (-h + 1..=h).zip(w.iter_mut()) {
            *wk = self.kernel(f - k as f64);
        }
        let n = 2 * h as usize;
        if self == Interpolation::Sinc8 {
            let sum: f64 = w[..n].iter().sum();
            w[..n].iter_mut().for_each(|v| *v /= sum);
        }
        (w, n)
    }

    /// `trace` read at fractional position `u` (from [`sample_position`]).
    pub fn read(self, trace: &[f32], u: f64) -> f64 {
        if self == Interpolation::Linear {
            return linear(trace, u);
        }
        let i0 = u.floor();
        let first = i0 as i64 - self.half_taps() as i64 + 1;
        let (w, n) = self.tap_weights(u - i0);
        (0..n)
            .map(|k| {
                let i = first + k as i64;
                if i >= 0 && (i as usize) < trace.len() { w[k] * trace[i as usize] as f64 } else { 0.0 }
            })
            .sum()
    }
}

/// `sin(pi x) / (pi x)`.
pub fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let px = std::f64::consts::PI * x;
        px.sin() / px
    }
}

/// An interpolation's weights tabulated at `phases + 1` fractions `0, 1/phases, ..., 1`, for
/// kernels that read weights rather than compute them: row `p` holds the `2 h` weights of
/// fraction `p / phases`. Reading it linearly between rows errs by about `w''/(8 phases^2)`:
/// under 2e-6 for sinc8 with 1024 phases.
pub fn weight_table(interpolation: Interpolation, phases: usize) -> Vec<f32> {
    (0..=phases).flat_map(|p| interpolation.weights(p as f64 / phases as f64)).map(|w| w as f32).collect()
}

/// Fractional sample position of time `t`, or `None` when `t` lies outside the trace.
pub fn sample_position(t: f64, t_start: f64, inv_dt: f64, n: usize) -> Option<f64> {
    let u = (t - t_start) * inv_dt;
    if u >= 0.0 && u < (n as f64 - 1.0) { Some(u) } else { None }
}

/// Linear interpolation of `trace` at fractional position `u` (from [`sample_position`]).
pub fn linear(trace: &[f32], u: f64) -> f64 {
    let i0 = u as usize;
    let f = u - i0 as f64;
    let s0 = trace[i0] as f64;
    let s1 = trace[i0 + 1] as f64;
    s0 + f * (s1 - s0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_and_outside() {
        let tr = [0.0f32, 1.0, 4.0, 9.0];
        assert_eq!(sample_position(-0.001, 0.0, 1000.0, 4), None);
        assert_eq!(sample_position(0.003, 0.0, 1000.0, 4), None);
        let u = sample_position(0.0015, 0.0, 1000.0, 4).unwrap();
        assert!((linear(&tr, u) - 2.5).abs() < 1e-12);
        // A delayed trace: first sample at 0.1 s.
        let u = sample_position(0.1005, 0.1, 1000.0, 4).unwrap();
        assert!((linear(&tr, u) - 0.5).abs() < 1e-9);
        assert_eq!(sample_position(0.0995, 0.1, 1000.0, 4), None);
    }

    const ALL: [Interpolation; 3] = [Interpolation::Linear, Interpolation::Cubic, Interpolation::Sinc8];

    #[test]
    fn every_interpolation_reads_samples_exactly_and_constants_and_lines_exactly() {
        let tr: Vec<f32> = (0..40).map(|i| ((i * 7919) % 23) as f32 - 11.0).collect();
        for interp in ALL {
            for i in 0..39 {
                assert!((interp.read(&tr, i as f64) - tr[i] as f64).abs() < 1e-12, "{interp:?} at {i}");
            }
            for f in [0.0, 0.1, 0.37, 0.5, 0.93] {
                let w = interp.weights(f);
                assert_eq!(w.len(), 2 * interp.half_taps());
                assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12, "{interp:?}: weights sum to 1");
            }
        }
        // Away from the ends a line reads back exactly through linear and cubic.
        let line: Vec<f32> = (0..40).map(|i| 0.5 * i as f32 - 3.0).collect();
        for interp in [Interpolation::Linear, Interpolation::Cubic] {
            let u = 17.3;
            assert!((interp.read(&line, u) - (0.5 * u - 3.0)).abs() < 1e-6, "{interp:?}");
        }
    }

    /// The RMS over fractional positions of the error reading `cos(2 pi f (k - phase))` sampled at
    /// integers, at `f` cycles per sample (Nyquist: 0.5).
    fn sinusoid_error(interp: Interpolation, f: f64) -> f64 {
        let n = 64;
        let mut sum = (0.0, 0.0);
        for phase in [0.0, 0.3, 1.1] {
            let tr: Vec<f32> =
                (0..n).map(|k| (2.0 * std::f64::consts::PI * f * (k as f64 - phase)).cos() as f32).collect();
            for j in 0..200 {
                let u = 20.0 + j as f64 / 40.0;
                let exact = (2.0 * std::f64::consts::PI * f * (u - phase)).cos();
                sum.0 += (interp.read(&tr, u) - exact).powi(2);
                sum.1 += exact * exact;
            }
        }
        (sum.0 / sum.1).sqrt()
    }

    #[test]
    fn sinc8_is_at_least_ten_times_closer_than_linear_at_60_percent_of_nyquist() {
        for (f, at_least) in [(0.15, 10.0), (0.25, 10.0), (0.30, 10.0), (0.35, 10.0)] {
            let (lin, cub, s8) = (
                sinusoid_error(Interpolation::Linear, f),
                sinusoid_error(Interpolation::Cubic, f),
                sinusoid_error(Interpolation::Sinc8, f),
            );
            println!(
                "{:.0}% of Nyquist: relative RMS error linear {lin:.4}, cubic {cub:.4}, sinc8 {s8:.5} ({:.1}x less than linear)",
                f / 0.005,
                lin / s8
            );
            assert!(lin / s8 >= at_least, "sinc8 only {:.1}x better than linear at f = {f}", lin / s8);
            assert!(cub < lin, "cubic beats linear at f = {f}");
        }
    }

    #[test]
    fn taps_outside_the_trace_read_zero_and_tables_match_the_formula() {
        let tr = [1.0f32; 6];
        // At u = 0.5 sinc8 reads samples -3..=4: the three before the trace are zero.
        let inside: f64 = Interpolation::Sinc8.weights(0.5)[3..].iter().sum();
        assert!((Interpolation::Sinc8.read(&tr, 0.5) - inside).abs() < 1e-12);
        for interp in ALL {
            let phases = 1024;
            let table = weight_table(interp, phases);
            let taps = 2 * interp.half_taps();
            for f in [0.0, 0.2371, 0.5, 0.999] {
                let p = f * phases as f64;
                let (p0, frac) = (p.floor() as usize, p - p.floor());
                let exact = interp.weights(f);
                for k in 0..taps {
                    let (w0, w1) = (table[p0 * taps + k] as f64, table[(p0 + 1).min(phases) * taps + k] as f64);
                    let w = w0 + frac * (w1 - w0);
                    assert!((w - exact[k]).abs() < 2e-6, "{interp:?} f = {f} tap {k}: {w} vs {}", exact[k]);
                }
            }
        }
    }
}
