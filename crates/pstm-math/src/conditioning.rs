//! What is done to a field trace before it is migrated, besides the pre-filter: a datum static
//! (elevations to a flat datum) and mutes (direct arrivals and ground roll above a top mute, a
//! bottom mute below). Applied once per trace as it is read, so every kernel sees the same
//! traces; in this order: static, then mutes (their times are on the datum), then the
//! pre-filter.

use serde::{Deserialize, Serialize};

/// A mute: a time for every offset, from `[offset_m, time_ms]` picks interpolated linearly in
/// offset and held constant beyond the first and last pick.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MuteCurve {
    /// `(offset m, time s)`, offsets ascending.
    picks: Vec<(f64, f64)>,
}

impl MuteCurve {
    /// From `[offset_m, time_ms]` picks; `None` unless offsets strictly increase and every value
    /// is finite.
    pub fn new(picks_ms: &[[f64; 2]]) -> Option<Self> {
        let picks: Vec<(f64, f64)> = picks_ms.iter().map(|p| (p[0], p[1] * 1e-3)).collect();
        let ok = !picks.is_empty()
            && picks.iter().all(|p| p.0.is_finite() && p.1.is_finite())
            && picks.windows(2).all(|w| w[1].0 > w[0].0);
        ok.then_some(Self { picks })
    }

    /// The mute time (s) at `offset` (m).
    pub fn time(&self, offset: f64) -> f64 {
        let p = &self.picks;
        let k = p.partition_point(|q| q.0 <= offset);
        if k == 0 {
            return p[0].1;
        }
        if k == p.len() {
            return p[k - 1].1;
        }
        let (a, b) = (p[k - 1], p[k]);
        a.1 + (b.1 - a.1) * (offset - a.0) / (b.0 - a.0)
    }
}

/// Top and bottom mutes with a cosine taper.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mute {
    /// Samples before this time are zeroed.
    pub top: Option<MuteCurve>,
    /// Samples after this time are zeroed.
    pub bottom: Option<MuteCurve>,
    /// Length of the cosine ramp inside the kept part (s): from 0 at the mute time to 1.
    pub taper_s: f64,
}

impl Mute {
    /// The weight (0 to 1) of a sample at time `t` of a trace at offset `offset`.
    pub fn weight(&self, offset: f64, t: f64) -> f64 {
        let ramp = |inside: f64| {
            if inside <= 0.0 {
                0.0
            } else if inside >= self.taper_s {
                1.0
            } else {
                0.5 * (1.0 - (std::f64::consts::PI * inside / self.taper_s).cos())
            }
        };
        let top = self.top.as_ref().map_or(1.0, |m| ramp(t - m.time(offset)));
        let bottom = self.bottom.as_ref().map_or(1.0, |m| ramp(m.time(offset) - t));
        top * bottom
    }

    /// Mute `trace` (sampled every `dt` s from `t_start` s), recorded at `offset` m.
    pub fn apply(&self, trace: &mut [f32], offset: f64, t_start: f64, dt: f64) {
        for (i, s) in trace.iter_mut().enumerate() {
            let w = self.weight(offset, t_start + i as f64 * dt);
            if w < 1.0 {
                *s = (*s as f64 * w) as f32;
            }
        }
    }
}

/// A datum static: source and receiver moved from their elevations to a flat datum through a
/// layer of replacement velocity. A source above the datum has its trace's times shortened by
/// `(elevation - datum) / velocity`, a receiver likewise; below the datum they lengthen.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DatumStatic {
    pub datum_m: f64,
    pub replacement_velocity: f64,
}

impl DatumStatic {
    /// The time shift (s) to add to every sample's time for a trace with these elevations (m):
    /// negative for a source or receiver above the datum.
    pub fn shift(&self, source_elevation: f64, receiver_elevation: f64) -> f64 {
        -((source_elevation - self.datum_m) + (receiver_elevation - self.datum_m)) / self.replacement_velocity
    }

    /// Shift `trace` (sampled every `dt` s) by `shift` s: the sample that was at `t` moves to
    /// `t + shift`, read between samples by linear interpolation; what comes from outside the
    /// trace is zero.
    pub fn apply(trace: &mut [f32], shift: f64, dt: f64) {
        if shift == 0.0 {
            return;
        }
        let source: Vec<f32> = trace.to_vec();
        let n = source.len();
        let delay = shift / dt;
        for (i, out) in trace.iter_mut().enumerate() {
            // The new sample i is the old trace at i - delay.
            let u = i as f64 - delay;
            *out = if u < 0.0 || u > (n - 1) as f64 {
                0.0
            } else {
                let k = (u.floor() as usize).min(n.saturating_sub(2));
                let f = u - k as f64;
                let next = source.get(k + 1).copied().unwrap_or(source[k]);
                ((1.0 - f) * source[k] as f64 + f * next as f64) as f32
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mute_times_interpolate_between_picks_and_hold_beyond() {
        let m = MuteCurve::new(&[[0.0, 100.0], [1000.0, 500.0]]).unwrap();
        assert!((m.time(500.0) - 0.3).abs() < 1e-12);
        assert_eq!(m.time(-50.0), 0.1);
        assert_eq!(m.time(5000.0), 0.5);
        assert!(MuteCurve::new(&[[100.0, 1.0], [100.0, 2.0]]).is_none(), "offsets must increase");
        assert!(MuteCurve::new(&[]).is_none());
    }

    #[test]
    fn a_top_mute_zeroes_above_and_ramps_over_the_taper() {
        let mute = Mute { top: MuteCurve::new(&[[0.0, 100.0], [1000.0, 500.0]]), bottom: None, taper_s: 0.02 };
        let mut trace = vec![1.0f32; 300];
        mute.apply(&mut trace, 500.0, 0.0, 0.002);
        // Mute at 300 ms: samples 0..=150 are zero, 160 (20 ms in) and after are whole.
        assert!(trace[..=150].iter().all(|&s| s == 0.0));
        assert!((trace[155] - 0.5).abs() < 1e-6, "half way up the ramp: {}", trace[155]);
        assert!(trace[160..].iter().all(|&s| s == 1.0));
        let bottom = Mute { top: None, bottom: MuteCurve::new(&[[0.0, 400.0]]), taper_s: 0.0 };
        let mut trace = vec![1.0f32; 300];
        bottom.apply(&mut trace, 123.0, 0.0, 0.002);
        assert!(trace[..200].iter().all(|&s| s == 1.0) && trace[200..].iter().all(|&s| s == 0.0));
    }

    #[test]
    fn a_datum_static_moves_events_by_the_elevation_time() {
        let s = DatumStatic { datum_m: 100.0, replacement_velocity: 2000.0 };
        // Source 40 m above, receiver 20 m below the datum: (40 - 20) / 2000 = 10 ms earlier.
        let shift = s.shift(140.0, 80.0);
        assert!((shift + 0.010).abs() < 1e-12);
        let mut trace = vec![0.0f32; 100];
        trace[50] = 1.0;
        DatumStatic::apply(&mut trace, shift, 0.002);
        assert_eq!(trace[45], 1.0);
        assert_eq!(trace.iter().sum::<f32>(), 1.0);
        // Half a sample later: the spike splits between its neighbours.
        let mut trace = vec![0.0f32; 100];
        trace[50] = 1.0;
        DatumStatic::apply(&mut trace, 0.001, 0.002);
        assert_eq!((trace[50], trace[51]), (0.5, 0.5));
    }
}
