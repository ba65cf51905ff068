//! Trace pre-filters applied once to every input trace before migration.
//!
//! The Kirchhoff sum over a diffraction surface is, near the surface's apex (stationary phase),
//! an integral of the trace from the apex time onward: in 3D the sum of a wavelet `w` returns
//! `c * integral_t^inf w(s) ds`, in 2D a half-order integral of the same kind. In the frequency
//! domain (`d/dt <-> i omega`) these are the filters `(-i omega)^-1` and `(-i omega)^-1/2`: the
//! image of a zero-phase wavelet comes out phase-shifted and tilted towards low frequencies.
//! Filtering every input trace with their inverse first keeps the image zero phase and of the
//! data's polarity:
//!
//! - `Derivative`: `(-i omega)^1`, i.e. `-d/dt` (3D; Madagascar's `sfktmig diff=y` differentiates
//!   likewise);
//! - `HalfDerivative`: `(-i omega)^1/2` (2D, or 2.5D);
//! - `None`: the reference package's behaviour, and the default, so images compare with it.
//!
//! Filters are applied in the frequency domain with the trace zero-padded to at least twice its
//! length so the circular convolution does not wrap. Output units are amplitude per second^p.

use std::sync::Arc;

use rustfft::{Fft, FftPlanner, num_complex::Complex};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Prefilter {
    #[default]
    None,
    Derivative,
    HalfDerivative,
}

/// A pre-filter planned for one trace length and sample interval; reusable across traces.
pub struct TraceFilter {
    kind: Prefilter,
    n: usize,
    forward: Arc<dyn Fft<f64>>,
    inverse: Arc<dyn Fft<f64>>,
    response: Vec<Complex<f64>>,
    buffer: Vec<Complex<f64>>,
    scratch: Vec<Complex<f64>>,
}

impl TraceFilter {
    pub fn new(kind: Prefilter, n_samples: usize, dt: f64) -> Self {
        let nfft = (2 * n_samples.max(1)).next_power_of_two();
        let mut planner = FftPlanner::new();
        let forward = planner.plan_fft_forward(nfft);
        let inverse = planner.plan_fft_inverse(nfft);
        let p = match kind {
            Prefilter::None | Prefilter::Derivative => 1.0,
            Prefilter::HalfDerivative => 0.5,
        };
        let response = (0..nfft)
            .map(|k| {
                // Signed frequency of bin k; the Nyquist bin is zeroed so the output stays real.
                if 2 * k == nfft {
                    return Complex::new(0.0, 0.0);
                }
                let kk = if k <= nfft / 2 { k as f64 } else { k as f64 - nfft as f64 };
                let omega = std::f64::consts::TAU * kk / (nfft as f64 * dt);
                // (-i omega)^p = |omega|^p * exp(-i p pi/2 sign(omega))
                let phase = -p * std::f64::consts::FRAC_PI_2 * omega.signum();
                Complex::from_polar(omega.abs().powf(p), phase) / nfft as f64
            })
            .collect();
        let scratch_len = forward.get_inplace_scratch_len().max(inverse.get_inplace_scratch_len());
        Self {
            kind,
            n: n_samples,
            forward,
            inverse,
            response,
            buffer: vec![Complex::new(0.0, 0.0); nfft],
            scratch: vec![Complex::new(0.0, 0.0); scratch_len],
        }
    }

    /// Filter one trace in place (a no-op for `Prefilter::None`).
    pub fn apply(&mut self, trace: &mut [f32]) {
        if self.kind == Prefilter::None {
            return;
        }
        assert_eq!(trace.len(), self.n, "trace length differs from the planned length");
        for (b, &s) in self.buffer.iter_mut().zip(trace.iter()) {
            *b = Complex::new(s as f64, 0.0);
        }
        for b in self.buffer[self.n..].iter_mut() {
            *b = Complex::new(0.0, 0.0);
        }
        self.forward.process_with_scratch(&mut self.buffer, &mut self.scratch);
        for (b, r) in self.buffer.iter_mut().zip(&self.response) {
            *b *= r;
        }
        self.inverse.process_with_scratch(&mut self.buffer, &mut self.scratch);
        for (s, b) in trace.iter_mut().zip(&self.buffer) {
            *s = b.re as f32;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gaussian(n: usize, dt: f64, t0: f64, sigma: f64) -> Vec<f32> {
        (0..n).map(|i| (-(i as f64 * dt - t0).powi(2) / (2.0 * sigma * sigma)).exp() as f32).collect()
    }

    #[test]
    fn minus_derivative_of_a_gaussian() {
        let (n, dt, t0, sigma) = (512, 0.002, 0.5, 0.02);
        let mut tr = gaussian(n, dt, t0, sigma);
        TraceFilter::new(Prefilter::Derivative, n, dt).apply(&mut tr);
        let peak = tr.iter().map(|v| v.abs()).fold(0.0f32, f32::max) as f64;
        let mut err = 0.0f64;
        for (i, &v) in tr.iter().enumerate() {
            let t = i as f64 * dt - t0;
            // -d/dt of exp(-t^2 / 2 sigma^2)
            let exact = t / (sigma * sigma) * (-(t * t) / (2.0 * sigma * sigma)).exp();
            err = err.max((v as f64 - exact).abs());
        }
        assert!(err < 1e-3 * peak, "max error {err} vs peak {peak}");
    }

    #[test]
    fn two_half_derivatives_make_a_derivative() {
        let (n, dt) = (400, 0.004);
        let g = gaussian(n, dt, 0.8, 0.03);
        let mut once = g.clone();
        TraceFilter::new(Prefilter::Derivative, n, dt).apply(&mut once);
        let mut twice = g.clone();
        let mut half = TraceFilter::new(Prefilter::HalfDerivative, n, dt);
        half.apply(&mut twice);
        half.apply(&mut twice);
        let peak = once.iter().map(|v| v.abs()).fold(0.0f32, f32::max);
        let err = once.iter().zip(&twice).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        // The first pass is cut back to the trace length, which drops the half-derivative's slowly
        // decaying (t^-3/2) tails: that, not the filter, sets this tolerance.
        assert!(err < 1e-2 * peak, "{err} vs {peak}");
        let mut same = g.clone();
        TraceFilter::new(Prefilter::None, n, dt).apply(&mut same);
        assert_eq!(same, g);
    }
}
