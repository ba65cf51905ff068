//! Twin of `shaders/shared/reading.wgsl`.

// Forms follow the WGSL, not Rust idiom.
#![allow(clippy::needless_return)]

pub use crate::layout::{
    ANTIALIAS_NONE, ANTIALIAS_TRIANGLE, ANTIALIAS_WEIGHT, INTERPOLATION_CUBIC, INTERPOLATION_LINEAR,
    INTERPOLATION_SINC8,
};

use super::traveltime::{TRAVELTIME_STRAIGHT, TRAVELTIME_VTI};

/// WGSL `SINC8_PHASES`.
pub const SINC8_PHASES: f32 = crate::layout::SINC8_PHASES as f32;

/// Keys' cubic convolution weights of samples `index - 1 ..= index + 2` at fraction `f`.
pub fn cubic_weights(f: f32) -> [f32; 4] {
    let g = 1.0 - f;
    let wm = f * g * (-0.5 * g);
    let w0 = (f * f).mul_add(1.5f32.mul_add(f, -2.5), 1.0);
    let w1 = (g * g).mul_add(1.5f32.mul_add(g, -2.5), 1.0);
    let w2 = f * g * (-0.5 * f);
    return [wm, w0, w1, w2];
}

/// WGSL `TableRow`.
pub struct TableRow {
    pub row: u32,
    pub frac: f32,
}

pub fn sinc8_row(f: f32) -> TableRow {
    let p = f * SINC8_PHASES;
    let row = (p as u32).min(SINC8_PHASES as u32 - 1);
    return TableRow { row, frac: p - row as f32 };
}

pub fn table_lerp(w0: [f32; 4], w1: [f32; 4], frac: f32) -> [f32; 4] {
    return std::array::from_fn(|k| (w1[k] - w0[k]).mul_add(frac, w0[k]));
}

/// WGSL `leg_rate`: `d t_leg / d(d2)`.
#[allow(clippy::too_many_arguments)]
pub fn leg_rate(traveltime: u32, a: f32, b: f32, p: f32, d2: f32, t_leg: f32, t_min: f32) -> f32 {
    if traveltime == TRAVELTIME_VTI {
        let q = d2 * b;
        let den = p.mul_add(q, a);
        let mut ratio = 1.0;
        if den > 1e-15 {
            ratio = q.mul_add(p.mul_add(q, 2.0 * a), a * a) / (den * den);
        }
        return b * ratio / (2.0 * t_leg.max(t_min));
    }
    let s = d2.mul_add(b, a).sqrt();
    if traveltime == TRAVELTIME_STRAIGHT {
        return b / (2.0 * s.max(t_min));
    }
    let cs = p * s;
    return b / (2.0 * s.max(t_min) * cs.mul_add(cs, 1.0).sqrt());
}

/// WGSL `leg_projections`.
pub fn leg_projections(ds: [f32; 2], dr: [f32; 2], steps: [f32; 4]) -> [f32; 4] {
    let dot = |a: [f32; 2], x: f32, y: f32| a[0].mul_add(x, a[1] * y);
    return [
        dot(ds, steps[0], steps[1]),
        dot(ds, steps[2], steps[3]),
        dot(dr, steps[0], steps[1]),
        dot(dr, steps[2], steps[3]),
    ];
}

/// WGSL `operator_shift`.
pub fn operator_shift(rate_s: f32, rate_r: f32, proj: [f32; 4]) -> f32 {
    let along1 = 2.0 * rate_s.mul_add(proj[0], rate_r * proj[2]);
    let along2 = 2.0 * rate_s.mul_add(proj[1], rate_r * proj[3]);
    return along1.abs().max(along2.abs());
}

/// WGSL `down_weight`.
pub fn down_weight(shift: f32, trace_dt: f32) -> f32 {
    if shift > trace_dt {
        return trace_dt / shift;
    }
    return 1.0;
}

/// WGSL `half_length`.
pub fn half_length(shift: f32, inv_trace_dt: f32) -> f32 {
    return (shift * inv_trace_dt).max(1.0);
}

pub fn bend(f: f32) -> f32 {
    return 0.5 * f * (1.0 - f);
}

/// WGSL `triangle_divisor`.
pub fn triangle_divisor(l: f32, fu: f32, fm: f32, fp: f32) -> f32 {
    return l.mul_add(l, (-2.0f32).mul_add(bend(fu), bend(fm) + bend(fp)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_math::{Antialiasing, Interpolation, LegLaw, Traveltime};

    #[test]
    fn weights_match_the_math_crate() {
        for f in [0.0f32, 0.013, 0.25, 0.5, 0.77, 0.999] {
            let cubic = cubic_weights(f);
            let exact = Interpolation::Cubic.weights(f as f64);
            for k in 0..4 {
                assert!((cubic[k] as f64 - exact[k]).abs() < 1e-6, "cubic f = {f} tap {k}");
            }
            let table = crate::layout::sinc8_table();
            let r = sinc8_row(f);
            let exact = Interpolation::Sinc8.weights(f as f64);
            for half in 0..2 {
                let (w0, w1) = (table[2 * r.row as usize + half], table[2 * r.row as usize + 2 + half]);
                let w = table_lerp(w0, w1, r.frac);
                for k in 0..4 {
                    assert!((w[k] as f64 - exact[4 * half + k]).abs() < 3e-6, "sinc8 f = {f} tap {}", 4 * half + k);
                }
            }
        }
    }

    #[test]
    fn rates_shifts_and_divisors_match_the_math_crate() {
        let steps = Antialiasing::grid_steps(25.0, 12.5, 33.0, 5, 5);
        let aa = Antialiasing { method: pstm_math::AntialiasMethod::Triangle, steps };
        let steps32 = [steps[0][0] as f32, steps[0][1] as f32, steps[1][0] as f32, steps[1][1] as f32];
        let g = pstm_math::TraceGeometry::from_midpoint(120.0, -80.0, 1400.0, 60.0);
        let (x, y) = (-250.0, 310.0);
        for (tt, code, c, eta) in [
            (Traveltime::StraightRay, TRAVELTIME_STRAIGHT, 0.0, 0.0),
            (Traveltime::CurvedRay, crate::layout::TRAVELTIME_CURVED_V0, 0.35, 0.0),
            (Traveltime::Vti, TRAVELTIME_VTI, 0.0, 0.2),
        ] {
            let gradient = pstm_math::Gradient { k: 2.0 * c, v0: Some(1900.0) };
            let law = LegLaw::new(tt, Some(&gradient), 0.9, 2100.0, eta);
            let (ds2, dr2) = g.leg_distances_sq(x, y);
            let want = Antialiasing::shift(law.rate(ds2, 0.001), law.rate(dr2, 0.001), aa.leg_projections(&g, x, y));
            let p = match law.shape {
                pstm_math::LegShape::Straight => 0.0,
                pstm_math::LegShape::Curved { c } => c as f32,
                pstm_math::LegShape::Vti { eta } => (1.0 + 2.0 * eta) as f32,
            };
            let (a, b) = (law.a as f32, law.b as f32);
            let rs = leg_rate(code, a, b, p, ds2 as f32, law.leg(ds2) as f32, 0.001);
            let rr = leg_rate(code, a, b, p, dr2 as f32, law.leg(dr2) as f32, 0.001);
            let ds = [(x - g.sx) as f32, (y - g.sy) as f32];
            let dr = [(x - g.rx) as f32, (y - g.ry) as f32];
            let got = operator_shift(rs, rr, leg_projections(ds, dr, steps32));
            assert!((got as f64 - want).abs() < 1e-5 * want, "{tt:?}: {got} vs {want}");
        }
        // The divisor: a constant double integral's pick (pstm_math::antialias::triangle).
        let mut ones = vec![1.0f32; 200];
        pstm_math::antialias::integrate_twice(&mut ones);
        let (u, l) = (80.3f32, 2.6f32);
        let (fu, fm, fp) = (u.fract(), (u - l).fract(), (u + l).fract());
        let want = pstm_math::antialias::triangle(&ones, u as f64, l as f64).unwrap();
        let read = |p: f32| pstm_math::interp::linear(&ones, p as f64);
        let got = (2.0 * read(u) - read(u - l) - read(u + l)) / triangle_divisor(l, fu, fm, fp) as f64;
        assert!((got - want).abs() < 1e-4 && (got - 1.0).abs() < 1e-4, "{got} vs {want}");
        assert_eq!(down_weight(0.001, 0.004), 1.0);
        assert_eq!(half_length(0.012, 250.0), 3.0);
    }
}
