//! Twin of `shaders/shared/trace_samples.wgsl`. The WGSL reads the kernel's bindings by name;
//! here they come as [`TraceBindings`].

// Forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return, clippy::too_many_arguments)]

use super::reading::{
    ANTIALIAS_NONE, ANTIALIAS_TRIANGLE, ANTIALIAS_WEIGHT, INTERPOLATION_CUBIC, INTERPOLATION_SINC8, cubic_weights,
    down_weight, half_length, leg_projections, leg_rate, operator_shift, sinc8_row, table_lerp, triangle_divisor,
};
use super::traveltime::{OutputLaw, TracePosition, inside_trace};
use crate::layout::ImagingParams;

/// The bindings and parameters the WGSL reads by name: `traces`, `interp_table`,
/// `block.n_samples`, `block.trace_dt_s`, `block.inv_trace_dt`, `tile.imaging`.
#[derive(Clone, Copy)]
pub struct TraceBindings<'a> {
    pub traces: &'a [f32],
    pub interp_table: &'a [[f32; 4]],
    pub n_samples: u32,
    pub trace_dt_s: f32,
    pub inv_trace_dt: f32,
    pub imaging: &'a ImagingParams,
}

/// WGSL `TraceRead`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceRead {
    pub value: f32,
    pub inside: bool,
}

/// WGSL `trace_tap`.
pub fn trace_tap(b: &TraceBindings<'_>, start: u32, index: i32) -> f32 {
    if index >= 0 && index < b.n_samples as i32 {
        return b.traces[(start + index as u32) as usize];
    }
    return 0.0;
}

/// WGSL `weighted4`.
pub fn weighted4(w: [f32; 4], s: [f32; 4]) -> f32 {
    return w[3].mul_add(s[3], w[2].mul_add(s[2], w[1].mul_add(s[1], w[0] * s[0])));
}

/// WGSL `interpolated`.
pub fn interpolated(b: &TraceBindings<'_>, interpolation: u32, start: u32, p: TracePosition) -> f32 {
    let f = p.frac;
    let tap = |d: i32| trace_tap(b, start, p.index + d);
    if interpolation == INTERPOLATION_CUBIC {
        let w = cubic_weights(f);
        let s = [tap(-1), tap(0), tap(1), tap(2)];
        return weighted4(w, s);
    }
    if interpolation == INTERPOLATION_SINC8 {
        let r = sinc8_row(f);
        let row = (2 * r.row) as usize;
        let w_lo = table_lerp(b.interp_table[row], b.interp_table[row + 2], r.frac);
        let w_hi = table_lerp(b.interp_table[row + 1], b.interp_table[row + 3], r.frac);
        let lo = [tap(-3), tap(-2), tap(-1), tap(0)];
        let hi = [tap(1), tap(2), tap(3), tap(4)];
        return weighted4(w_lo, lo) + weighted4(w_hi, hi);
    }
    let k = (start + p.index as u32) as usize;
    let s0 = b.traces[k];
    let s1 = b.traces[k + 1];
    return s0 + f * (s1 - s0);
}

/// WGSL `TriangleTaps`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TriangleTaps {
    pub lo: TracePosition,
    pub hi: TracePosition,
}

/// WGSL `triangle_taps` (integer additions wrap, as WGSL's do).
pub fn triangle_taps(p: TracePosition, l: f32) -> TriangleTaps {
    let m = p.frac - l;
    let m_whole = m.floor();
    let q = p.frac + l;
    let q_whole = q.floor();
    return TriangleTaps {
        lo: TracePosition { index: p.index.wrapping_add(m_whole as i32), frac: m - m_whole },
        hi: TracePosition { index: p.index.wrapping_add(q_whole as i32), frac: q - q_whole },
    };
}

/// WGSL `triangle_value`.
pub fn triangle_value(l: f32, fu: f32, fm: f32, fp: f32, at_u: [f32; 2], at_m: [f32; 2], at_p: [f32; 2]) -> f32 {
    let centre = 2.0 * (fu * at_u[1]);
    let lower = fm.mul_add(at_m[1], at_m[0] - at_u[0]);
    let upper = fp.mul_add(at_p[1], at_p[0] - at_u[0]);
    return (centre - lower - upper) / triangle_divisor(l, fu, fm, fp);
}

/// WGSL `trace_pair`.
pub fn trace_pair(b: &TraceBindings<'_>, k: u32) -> [f32; 2] {
    let s0 = b.traces[k as usize];
    return [s0, b.traces[k as usize + 1] - s0];
}

/// WGSL `read_trace`.
pub fn read_trace(
    b: &TraceBindings<'_>,
    start: u32,
    p: TracePosition,
    law: &OutputLaw,
    ds: [f32; 2],
    dr: [f32; 2],
    ds2: f32,
    dr2: f32,
    ts: f32,
    tr: f32,
) -> TraceRead {
    let imaging = b.imaging;
    let mut shift = 0.0f32;
    if imaging.antialias != ANTIALIAS_NONE {
        let t_min = 0.5 * b.trace_dt_s;
        let rate_s = leg_rate(law.traveltime, law.a, law.b, law.p, ds2, ts, t_min);
        let rate_r = leg_rate(law.traveltime, law.a, law.b, law.p, dr2, tr, t_min);
        shift = operator_shift(rate_s, rate_r, leg_projections(ds, dr, imaging.aa_steps));
    }
    if imaging.antialias == ANTIALIAS_TRIANGLE {
        let l = half_length(shift, b.inv_trace_dt);
        let taps = triangle_taps(p, l);
        if !inside_trace(taps.lo, b.n_samples) || !inside_trace(taps.hi, b.n_samples) {
            return TraceRead { value: 0.0, inside: false };
        }
        let value = triangle_value(
            l,
            p.frac,
            taps.lo.frac,
            taps.hi.frac,
            trace_pair(b, start + p.index as u32),
            trace_pair(b, start + taps.lo.index as u32),
            trace_pair(b, start + taps.hi.index as u32),
        );
        return TraceRead { value, inside: true };
    }
    let mut value = interpolated(b, imaging.interpolation, start, p);
    if imaging.antialias == ANTIALIAS_WEIGHT {
        value *= down_weight(shift, b.trace_dt_s);
    }
    return TraceRead { value, inside: true };
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_math::Interpolation;

    fn bindings<'a>(traces: &'a [f32], table: &'a [[f32; 4]], imaging: &'a ImagingParams) -> TraceBindings<'a> {
        TraceBindings {
            traces,
            interp_table: table,
            n_samples: traces.len() as u32,
            trace_dt_s: 0.004,
            inv_trace_dt: 250.0,
            imaging,
        }
    }

    #[test]
    fn interpolations_match_the_math_crate_with_zeros_past_the_ends() {
        let trace: Vec<f32> = (0..40).map(|i| ((i * 7919) % 23) as f32 - 11.0).collect();
        let table = crate::layout::sinc8_table();
        let imaging = ImagingParams::new(&pstm_math::ImagingOperator::plain(1000.0));
        let b = bindings(&trace, &table, &imaging);
        for (interp, code) in [
            (Interpolation::Linear, crate::layout::INTERPOLATION_LINEAR),
            (Interpolation::Cubic, INTERPOLATION_CUBIC),
            (Interpolation::Sinc8, INTERPOLATION_SINC8),
        ] {
            for u in [0.0f64, 0.3, 1.7, 2.5, 17.25, 36.9, 38.5, 38.99] {
                let p = TracePosition { index: u.floor() as i32, frac: (u - u.floor()) as f32 };
                let got = interpolated(&b, code, 0, p) as f64;
                let want = interp.read(&trace, u);
                assert!((got - want).abs() < 1e-4, "{interp:?} at {u}: {got} vs {want}");
            }
        }
    }

    #[test]
    fn the_triangle_matches_the_math_crate_and_drops_reads_past_the_ends() {
        let mut rng = pstm_math::rng::SplitMix64::new(9);
        let mut twice: Vec<f32> = (0..300).map(|_| (rng.uniform() * 2.0 - 1.0) as f32).collect();
        pstm_math::antialias::integrate_twice(&mut twice);
        let table = [[0.0f32; 4]];
        let imaging = ImagingParams::new(&pstm_math::ImagingOperator::plain(1000.0));
        let b = bindings(&twice, &table, &imaging);
        for (u, l) in
            [(100.3f64, 1.0f32), (150.75, 2.6), (20.5, 7.3), (7.25, 7.3), (7.5, 7.3), (290.0, 8.5), (298.5, 1.0)]
        {
            let p = TracePosition { index: u.floor() as i32, frac: (u - u.floor()) as f32 };
            let taps = triangle_taps(p, l);
            let inside = inside_trace(taps.lo, b.n_samples) && inside_trace(taps.hi, b.n_samples);
            let want = pstm_math::antialias::triangle(&twice, u, l as f64);
            assert_eq!(inside, want.is_some(), "u = {u}, l = {l}");
            let Some(want) = want else { continue };
            let at = |q: TracePosition| trace_pair(&b, q.index as u32);
            let got = triangle_value(l, p.frac, taps.lo.frac, taps.hi.frac, at(p), at(taps.lo), at(taps.hi)) as f64;
            // The pick is of the order of the trace (1), the double integral thousands.
            assert!((got - want).abs() < 2e-5, "u = {u}, l = {l}: {got} vs {want}");
        }
    }
}
