//! Source wavelets for synthetic traces, zero phase, peak amplitude 1 at time 0.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Wavelet {
    /// Ricker (Mexican hat) with peak frequency `freq_hz`.
    Ricker { freq_hz: f64 },
    /// Ormsby band-pass with corner frequencies f1 < f2 <= f3 < f4 (Hz).
    Ormsby { f1: f64, f2: f64, f3: f64, f4: f64 },
}

impl Wavelet {
    /// Amplitude at time `tau` (s) from the peak.
    pub fn value(&self, tau: f64) -> f64 {
        use std::f64::consts::PI;
        match *self {
            Wavelet::Ricker { freq_hz } => {
                let a = (PI * freq_hz * tau).powi(2);
                (1.0 - 2.0 * a) * (-a).exp()
            }
            Wavelet::Ormsby { f1, f2, f3, f4 } => {
                // Ormsby (1961): difference of two trapezoid-slope sinc^2 terms.
                let term = |f: f64| {
                    let x = PI * f * tau;
                    let sinc = if x.abs() < 1e-12 { 1.0 } else { x.sin() / x };
                    PI * f * f * sinc * sinc
                };
                let w = (term(f4) - term(f3)) / (f4 - f3) - (term(f2) - term(f1)) / (f2 - f1);
                let peak = PI * (f4 + f3) - PI * (f2 + f1);
                let half = self.half_length();
                // Hann taper over the outer quarter keeps the truncated sinc tails from ringing.
                let r = tau.abs() / half;
                let taper = if r <= 0.75 {
                    1.0
                } else if r >= 1.0 {
                    0.0
                } else {
                    0.5 * (1.0 + (PI * (r - 0.75) / 0.25).cos())
                };
                w / peak * taper
            }
        }
    }

    /// Time (s) beyond which the wavelet is treated as zero.
    pub fn half_length(&self) -> f64 {
        match *self {
            // exp(-(pi f tau)^2) < 3e-10 past 1.5 periods.
            Wavelet::Ricker { freq_hz } => 1.5 / freq_hz,
            // The sinc tails decay like 1/(f1 tau)^2; six periods of the lowest corner.
            Wavelet::Ormsby { f1, f2, .. } => 6.0 / f1.max(0.25 * f2),
        }
    }

    /// Reject corner frequencies that make no wavelet, with a message naming them.
    pub fn check(&self) -> Result<(), String> {
        match *self {
            Wavelet::Ricker { freq_hz } if !(freq_hz.is_finite() && freq_hz > 0.0) => {
                Err(format!("Ricker frequency {freq_hz} Hz must be positive"))
            }
            Wavelet::Ormsby { f1, f2, f3, f4 } if !(0.0 < f1 && f1 < f2 && f2 <= f3 && f3 < f4) => {
                Err(format!("Ormsby corners must satisfy 0 < f1 < f2 <= f3 < f4, got {f1}, {f2}, {f3}, {f4}"))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peaks_at_zero_with_unit_amplitude() {
        for w in [Wavelet::Ricker { freq_hz: 25.0 }, Wavelet::Ormsby { f1: 5.0, f2: 10.0, f3: 40.0, f4: 60.0 }] {
            assert!((w.value(0.0) - 1.0).abs() < 1e-12, "{w:?}");
            for i in 1..200 {
                let tau = i as f64 * 0.001;
                assert!(w.value(tau) < 1.0 && (w.value(tau) - w.value(-tau)).abs() < 1e-12);
            }
            assert!(w.value(w.half_length() * 1.01).abs() < 1e-6);
        }
        // Ricker zero crossings at tau = +-1/(pi f sqrt(2)).
        let f = 25.0;
        let z = 1.0 / (std::f64::consts::PI * f * 2f64.sqrt());
        assert!(Wavelet::Ricker { freq_hz: f }.value(z).abs() < 1e-12);
    }
}
