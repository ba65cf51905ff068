//! Adaptive time sampling (the roadmap's task 3.3, its last part): migrate on an output time axis
//! `factor` times coarser than the one asked for, where the image has no frequencies the coarser
//! axis cannot hold, and interpolate the image back.
//!
//! Why the image's band, not the data's: an output sample at `t0` sums trace values at `t(t0)`,
//! and along the operator `dt/dt0 = (t0/4) (1/t_s + 1/t_r) <= 1` (each leg's time is at least
//! `t0/2`), so a trace's frequency `f` reaches the image at `f dt/dt0 <= f`; the Kirchhoff sum
//! integrates each trace unless it is pre-filtered, and stacking suppresses incoherent noise. The
//! image's band is therefore narrower than the data's, by how much only migrating shows: the
//! engine measures it ([`highest_frequency`]) on a sample of the image migrated on the full axis
//! (`pstm_engine::adaptive_time`). Where its mean amplitude spectrum has fallen below `level_db`
//! of its peak for good, at `f_max`, an axis `factor * dt` holds it as long as `f_max` lies
//! within the band the interpolator holds: [`USABLE_BAND`] of the coarse Nyquist frequency
//! ([`decimation_factor`]). What the image holds above `f_max` (operator aliasing, noise the
//! stack did not cancel) is folded back: the tests and benchmarks measure that error.
//!
//! The coarse axis's samples fall on every `factor`-th sample of the fine one (the first fine
//! sample among them), so they are exact there: the kernels compute them as on any grid. It
//! reaches [`HALF_WIDTH`] coarse samples past the fine axis's last sample, and as far before its
//! first as time zero allows, so that the interpolator has its neighbours; near time zero it
//! has fewer, and its window shrinks to the neighbours there are (linear next to the first).
//!
//! The interpolator is a Kaiser-windowed sinc of [`HALF_WIDTH`] coarse samples each side
//! (beta [`KAISER_BETA`]), its taps normalised to sum to one: a sinusoid below 0.7 of the
//! coarse Nyquist frequency comes back within 1e-3 of its amplitude (the unit tests check it).
//! The fold, a count, takes the nearest coarse sample's.

use std::ops::Range;

use rustfft::{FftPlanner, num_complex::Complex};

use crate::TimeAxis;
use crate::adaptive::TileCells;

/// Coarse samples on each side of an interpolated sample.
pub const HALF_WIDTH: usize = 8;
/// Kaiser window shape: side lobes about 45 dB down, the error below 1e-3 to [`USABLE_BAND`].
pub const KAISER_BETA: f64 = 6.0;
/// Fraction of the coarse axis's Nyquist frequency the interpolator reproduces within 1e-3.
pub const USABLE_BAND: f64 = 0.7;

/// Coarsest decimation a job may ask for.
pub const MAX_FACTOR: usize = 16;

/// How a run chooses its time decimation (`algorithm.adaptive_time`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeSamplingSettings {
    /// A fixed decimation; `None`: from the image's band ([`highest_frequency`],
    /// [`decimation_factor`]), at most `max_factor`.
    pub factor: Option<usize>,
    pub max_factor: usize,
    /// Where the image's band ends: its mean amplitude spectrum this far below its peak (dB).
    pub level_db: f64,
}

impl Default for TimeSamplingSettings {
    fn default() -> Self {
        Self { factor: None, max_factor: 4, level_db: -40.0 }
    }
}

/// A fine output time axis and the coarse one it is migrated on.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeDecimation {
    pub factor: usize,
    pub fine: TimeAxis,
    pub coarse: TimeAxis,
    /// Coarse samples before the fine axis's first sample.
    pub lead: usize,
    /// `taps[h - 1][p - 1]`: the weights of coarse samples `j - h + 1 ..= j + h` for a fine
    /// sample `p / factor` of the way from coarse sample `j` to `j + 1`, window half-width `h`.
    taps: Vec<Vec<Vec<f32>>>,
}

impl TimeDecimation {
    /// The coarse axis for `fine` at `factor` (1: the fine axis itself).
    pub fn new(fine: TimeAxis, factor: usize) -> Self {
        let factor = factor.max(1);
        let step = factor as f64 * fine.dt_s;
        // Before the first fine time, as far as time zero allows (a tiny tolerance keeps an axis
        // that starts at an exact multiple from losing a sample to rounding).
        let room = ((fine.t0_s + 1e-9 * fine.dt_s) / step).floor().max(0.0) as usize;
        let lead = if factor == 1 { 0 } else { room.min(HALF_WIDTH) };
        let body = (fine.nt.max(1) - 1).div_ceil(factor) + 1;
        let trail = if factor == 1 { 0 } else { HALF_WIDTH };
        let coarse = TimeAxis { t0_s: fine.t0_s - lead as f64 * step, dt_s: step, nt: lead + body + trail };
        let taps =
            (1..=HALF_WIDTH).map(|h| (1..factor).map(|p| window_taps(p as f64 / factor as f64, h)).collect()).collect();
        Self { factor, fine, coarse, lead, taps }
    }

    /// Whether the axis is migrated as asked (factor 1).
    pub fn is_identity(&self) -> bool {
        self.factor == 1
    }

    /// Fine samples of one column from its coarse samples.
    pub fn upsample(&self, coarse: &[f32], fine: &mut [f32]) {
        let (m, n) = (self.factor, self.coarse.nt);
        for (i, out) in fine.iter_mut().enumerate() {
            let (j, p) = (self.lead + i / m, i % m);
            if p == 0 {
                *out = coarse[j];
                continue;
            }
            let h = HALF_WIDTH.min(j + 1).min(n - 1 - j);
            let taps = &self.taps[h - 1][p - 1];
            *out = taps.iter().zip(&coarse[j + 1 - h..=j + h]).map(|(w, c)| w * c).sum();
        }
    }

    /// Fine fold of one column: the nearest coarse sample's.
    pub fn upsample_fold(&self, coarse: &[u32], fine: &mut [u32]) {
        let m = self.factor;
        for (i, out) in fine.iter_mut().enumerate() {
            *out = coarse[self.lead + (i + m / 2) / m];
        }
    }

    /// Fine samples whose values coarse samples `coarse` reach (through the interpolator or the
    /// fold's nearest sample).
    pub fn fine_reach(&self, coarse: Range<usize>) -> Range<usize> {
        let m = self.factor as isize;
        let first = (coarse.start as isize - self.lead as isize - HALF_WIDTH as isize) * m;
        let last = (coarse.end as isize - 1 - self.lead as isize + HALF_WIDTH as isize) * m;
        let clamp = |i: isize| i.clamp(0, self.fine.nt as isize) as usize;
        clamp(first)..clamp(last + 1)
    }
}

/// An adaptive run's cells of a tile (`crate::adaptive`), from the fine axis to the coarse one a
/// kernel migrates: a coarse window is active when a fine sample its values reach is, so every
/// coarse sample an active fine one is interpolated from is computed.
pub fn coarse_cells(cells: &TileCells, d: &TimeDecimation) -> TileCells {
    let nt = d.coarse.nt;
    let window = (cells.window / d.factor).max(1);
    let n_windows = nt.div_ceil(window);
    let n_columns = cells.active.len() / cells.n_windows.max(1);
    let mut active = Vec::with_capacity(n_columns * n_windows);
    for c in 0..n_columns {
        for w in 0..n_windows {
            active.push(cells.any_active(c, d.fine_reach(w * window..((w + 1) * window).min(nt))));
        }
    }
    TileCells { nt, window, n_windows, active }
}

/// Kaiser-windowed sinc weights of coarse samples `-h+1 ..= h` (relative to the sample before)
/// for a point `frac` of the way between two of them, summing to one; the window's beta scales
/// with `h` (0 at one sample: linear).
fn window_taps(frac: f64, h: usize) -> Vec<f32> {
    let hw = h as f64;
    // A shrunk window keeps the full one's shape per sample: at one sample each side it is
    // the linear interpolator.
    let beta = KAISER_BETA * (hw - 1.0) / (HALF_WIDTH - 1) as f64;
    let w: Vec<f64> = (-(h as isize) + 1..=h as isize)
        .map(|k| {
            let x = frac - k as f64;
            let r = (x / hw).clamp(-1.0, 1.0);
            let window = bessel_i0(beta * (1.0 - r * r).sqrt()) / bessel_i0(beta);
            let px = std::f64::consts::PI * x;
            px.sin() / px * window
        })
        .collect();
    let sum: f64 = w.iter().sum();
    w.iter().map(|v| (v / sum) as f32).collect()
}

/// The modified Bessel function of the first kind, order zero, by its power series.
fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, q) = (1.0, 1.0, 0.25 * x * x);
    for k in 1..64 {
        term *= q / (k * k) as f64;
        sum += term;
        if term < 1e-17 * sum {
            break;
        }
    }
    sum
}

/// The highest frequency (Hz) of signals (traces, or image columns) sampled every `dt_s`: where
/// their mean amplitude spectrum (each Hann-tapered, so its ends do not leak) last reaches
/// `level_db` of its peak. `None` when they hold no energy.
pub fn highest_frequency<'a>(traces: impl IntoIterator<Item = &'a [f32]>, dt_s: f64, level_db: f64) -> Option<f64> {
    let mut traces = traces.into_iter().peekable();
    let n = traces.peek()?.len();
    if n < 2 {
        return None;
    }
    let fft = FftPlanner::<f64>::new().plan_fft_forward(n);
    let hann: Vec<f64> = (0..n).map(|i| (std::f64::consts::PI * i as f64 / (n - 1) as f64).sin().powi(2)).collect();
    let mut power = vec![0.0f64; n / 2 + 1];
    let mut buffer = vec![Complex::new(0.0, 0.0); n];
    for trace in traces {
        for ((b, &s), w) in buffer.iter_mut().zip(trace).zip(&hann) {
            *b = Complex::new(s as f64 * w, 0.0);
        }
        fft.process(&mut buffer);
        for (p, b) in power.iter_mut().zip(&buffer) {
            *p += b.norm_sqr();
        }
    }
    let peak = power.iter().cloned().fold(0.0, f64::max);
    if !peak.is_finite() || peak <= 0.0 {
        return None;
    }
    // Amplitude level_db below the peak is power 2 * level_db below it.
    let floor = peak * 10f64.powf(level_db / 10.0);
    let last = power.iter().rposition(|&p| p >= floor)?;
    Some(last as f64 / (n as f64 * dt_s))
}

/// The coarsest factor (at most `max_factor`) whose axis, `factor * dt_s`, holds frequencies up
/// to `f_max_hz` within the interpolator's [`USABLE_BAND`].
pub fn decimation_factor(f_max_hz: f64, dt_s: f64, max_factor: usize) -> usize {
    let nyquist = 0.5 / dt_s;
    let fits = (USABLE_BAND * nyquist / f_max_hz.max(1e-9)).floor();
    (fits.max(1.0) as usize).min(max_factor.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wavelet::Wavelet;

    fn axis(t0_s: f64, nt: usize) -> TimeAxis {
        TimeAxis { t0_s, dt_s: 0.002, nt }
    }

    #[test]
    fn coarse_samples_fall_on_fine_ones_with_room_for_the_window() {
        let d = TimeDecimation::new(axis(0.0, 501), 2);
        assert_eq!((d.lead, d.coarse.t0_s, d.coarse.dt_s), (0, 0.0, 0.004));
        assert_eq!(d.coarse.nt, 251 + HALF_WIDTH);
        let d = TimeDecimation::new(axis(0.1, 500), 3);
        assert_eq!(d.lead, HALF_WIDTH);
        assert!((d.coarse.time(d.lead) - 0.1).abs() < 1e-12);
        assert!(d.coarse.time(d.coarse.nt - 1 - HALF_WIDTH) >= d.fine.last() - 1e-12);
        // Only as far before the first fine time as zero allows.
        let d = TimeDecimation::new(axis(0.012, 100), 2);
        assert_eq!(d.lead, 3);
        assert!(d.coarse.t0_s.abs() < 1e-12);
        let id = TimeDecimation::new(axis(0.0, 10), 1);
        assert!(id.is_identity() && id.coarse == id.fine);
    }

    /// A sinusoid of `fraction` of the coarse Nyquist frequency, sampled on both axes: the worst
    /// error of the interpolated samples away from time zero.
    fn sinusoid_error(factor: usize, fraction: f64) -> f64 {
        let d = TimeDecimation::new(axis(0.0, 1001), factor);
        let f = fraction * 0.5 / d.coarse.dt_s;
        let signal = |t: f64| (2.0 * std::f64::consts::PI * f * t + 0.3).cos();
        let coarse: Vec<f32> = (0..d.coarse.nt).map(|j| signal(d.coarse.time(j)) as f32).collect();
        let mut fine = vec![f32::NAN; d.fine.nt];
        d.upsample(&coarse, &mut fine);
        (HALF_WIDTH * factor..d.fine.nt).map(|i| (fine[i] as f64 - signal(d.fine.time(i))).abs()).fold(0.0, f64::max)
    }

    #[test]
    fn band_limited_signals_come_back_within_1e_3() {
        for factor in [2, 3, 4] {
            for fraction in [0.2, 0.5, USABLE_BAND] {
                let e = sinusoid_error(factor, fraction);
                assert!(e < 1e-3, "factor {factor}, {fraction} of Nyquist: error {e}");
            }
            // Past the band the interpolator no longer holds it: the test can fail.
            assert!(sinusoid_error(factor, 0.95) > 1e-2);
        }
    }

    #[test]
    fn coarse_samples_are_kept_exactly_and_the_fold_is_the_nearest() {
        let d = TimeDecimation::new(axis(0.0, 21), 4);
        let coarse: Vec<f32> = (0..d.coarse.nt).map(|j| j as f32 * 1.5 - 2.0).collect();
        let mut fine = vec![0.0; 21];
        d.upsample(&coarse, &mut fine);
        for i in (0..21).step_by(4) {
            assert_eq!(fine[i], coarse[i / 4]);
        }
        // Between the first two coarse samples the window has shrunk to the linear interpolator.
        for (i, v) in fine.iter().enumerate().take(4) {
            assert!((v - (i as f32 / 4.0 * 1.5 - 2.0)).abs() < 1e-6, "sample {i}: {v}");
        }
        let fold: Vec<u32> = (0..d.coarse.nt as u32).collect();
        let mut fine_fold = vec![0; 21];
        d.upsample_fold(&fold, &mut fine_fold);
        assert_eq!(&fine_fold[..7], &[0, 0, 1, 1, 1, 1, 2]);
    }

    #[test]
    fn fine_reach_covers_every_sample_a_coarse_one_touches() {
        let d = TimeDecimation::new(axis(0.1, 300), 3);
        for j in [0, 5, d.lead, 40, d.coarse.nt - 1] {
            let reach = d.fine_reach(j..j + 1);
            // Perturb coarse sample j alone: every fine sample that moves lies in the reach.
            let mut coarse = vec![0.0f32; d.coarse.nt];
            let mut fold = vec![0u32; d.coarse.nt];
            coarse[j] = 1.0;
            fold[j] = 1;
            let (mut fine, mut fine_fold) = (vec![0.0f32; d.fine.nt], vec![0u32; d.fine.nt]);
            d.upsample(&coarse, &mut fine);
            d.upsample_fold(&fold, &mut fine_fold);
            for i in 0..d.fine.nt {
                if fine[i] != 0.0 || fine_fold[i] != 0 {
                    assert!(reach.contains(&i), "coarse {j} moves fine {i} outside {reach:?}");
                }
            }
        }
    }

    #[test]
    fn coarse_cells_compute_every_sample_an_active_fine_one_needs() {
        let d = TimeDecimation::new(axis(0.0, 200), 3);
        // Two columns: one active in a single window of 16 fine times, one inactive.
        let mut active = vec![false; 2 * 13];
        active[5] = true;
        let fine = TileCells { nt: 200, window: 16, n_windows: 13, active };
        let coarse = coarse_cells(&fine, &d);
        assert_eq!(coarse.nt, d.coarse.nt);
        for j in 0..d.coarse.nt {
            let needed = d.fine_reach(j..j + 1).any(|i| fine.is_active(0, i));
            assert!(!needed || coarse.is_active(0, j), "coarse {j} is needed");
            assert!(!coarse.is_active(1, j));
        }
        // Conservative, not everything: far from the window nothing is computed.
        assert!(!coarse.is_active(0, 0) && !coarse.is_active(0, d.coarse.nt - 1));
    }

    #[test]
    fn a_ricker_wavelets_band_ends_where_its_spectrum_says() {
        // Ricker amplitude spectrum (f/fp)^2 exp(1 - (f/fp)^2) relative to its peak at fp: -40 dB
        // at (f/fp)^2 = 7.64, f = 2.764 fp.
        let (fp, dt) = (25.0, 0.002);
        let w = Wavelet::Ricker { freq_hz: fp };
        let traces: Vec<Vec<f32>> = (0..8)
            .map(|k| (0..1001).map(|i| w.value(i as f64 * dt - 0.6 - 0.05 * k as f64) as f32).collect())
            .collect();
        let f = highest_frequency(traces.iter().map(|t| t.as_slice()), dt, -40.0).unwrap();
        assert!((f - 2.764 * fp).abs() < 1.5, "{f} Hz");
        // 69 Hz at 2 ms: 0.7 of a 4 ms axis's 125 Hz holds it, of a 6 ms axis's 83 Hz not.
        assert_eq!(decimation_factor(f, dt, 8), 2);
        assert_eq!(decimation_factor(f, dt, 1), 1);
        assert_eq!(decimation_factor(30.0, dt, 8), 5);
        assert_eq!(decimation_factor(300.0, dt, 8), 1);
        assert_eq!(highest_frequency(std::iter::once(&[0.0f32; 64][..]), dt, -40.0), None);
    }
}
