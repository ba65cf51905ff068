//! Per (trace, output column) work that does not depend on `t0`, done once in float64.
//!
//! Distances are taken in float64 from the world coordinates, so that coordinates far from the
//! origin (UTM eastings and northings) lose nothing; only the squared leg distances go to float32.
//! The aperture test against the largest radius happens here, in float64, exactly as the
//! reference kernel does it; so does the taper at a fixed aperture.
//!
//! The range of output samples to visit comes from bounds on the traveltime. With the column's
//! largest velocity `V`, `t(t0) >= sqrt(h + ds^2/V^2) + sqrt(h + dr^2/V^2)` where `h = (t0/2)^2`;
//! solving that bound for the time of the trace's end gives the `|t0|` past which no sample can be
//! inside the trace (far traces leave the trace long before the last output time), and the
//! smallest velocity bounds `t` from above against the trace's start time the same way. A margin of
//! two samples covers rounding: samples outside the range are outside the trace in any precision.
//! A dip aperture that never shrinks with time also starts the range where it reaches the trace.

use std::ops::Range;

use pstm_math::{ApertureMode, ImagingOperator, TimeAxis, TraceGeometry};

use super::tables::VelocityColumn;

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
    let mut samples = sample_range(ds2, dr2, col, time, span)?;
    if let (true, Some(radius)) = (per_sample_aperture, &col.growing_radius) {
        // Samples before the radius reaches the trace are outside the aperture, as the reference
        // decides it (`dm > a`, in float64).
        samples.start = samples.start.max(radius.partition_point(|&a| a < dm));
    }
    let start = samples.start / lanes * lanes;
    let end = (samples.end.div_ceil(lanes) * lanes).min(nt_padded);
    (start < end).then_some(Pair {
        ds2: ds2 as f32,
        dr2: dr2 as f32,
        dm: dm as f32,
        weight: weight as f32,
        per_sample_aperture,
        samples: start..end,
    })
}

/// Output samples whose traveltime may fall inside the trace (module documentation).
fn sample_range(ds2: f64, dr2: f64, col: &VelocityColumn, time: &TimeAxis, span: TraceSpan) -> Option<Range<usize>> {
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
    let t0_end = t0_reaching(ds2 / (col.v_max * col.v_max), dr2 / (col.v_max * col.v_max), span.t_end_s)?;
    let mut start = clamp(index(-t0_end) - MARGIN);
    let end = clamp(index(t0_end) + MARGIN + 1.0);
    // Only for axes of non-negative times is the set reaching the trace start one interval.
    if time.t0_s >= 0.0 && span.t_start_s > 0.0 {
        let (a, b) = (ds2 / (col.v_min * col.v_min), dr2 / (col.v_min * col.v_min));
        if let Some(t0_start) = t0_reaching(a, b, span.t_start_s) {
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
    use pstm_math::traveltime::dsr_time;

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
