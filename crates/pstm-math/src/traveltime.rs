//! Traveltimes from the surface to an image point and back: straight ray, curved ray in a
//! constant-gradient medium, and VTI (non-hyperbolic moveout).
//!
//! Every type is written per leg (surface point to image point, one way) and the two legs are
//! added. At one output sample (a column, a zero-offset two-way time `t0`, one-way `tau = t0/2`)
//! each leg of horizontal distance `d` starts from the same quantity,
//!
//! ```text
//! s^2 = a + d^2 b
//! ```
//!
//! with `a` and `b` fixed for the output sample, and a [`LegLaw`] turns `s` into the leg's time:
//!
//! - **straight ray** (double square root with the RMS velocity `v`): `a = tau^2`, `b = 1/v^2`,
//!   `t_leg = s`;
//! - **curved ray** in `V(z) = v0 + k z`: the exact one-way time
//!   `t_leg = (1/k) arccosh(1 + k^2 (d^2 + z^2) / (2 v0 vz))`, `vz = v0 + k z`, written as
//!   `t_leg = (2/k) asinh(k s / 2)` with `s^2 = (d^2 + z^2)/(v0 vz)`. With `x = k tau`, the depth
//!   is `z = v0 (e^x - 1)/k` and `vz = v0 e^x`, so `a = tau^2 sinhc(x/2)^2` and
//!   `b = e^-x / v0^2`, where `sinhc(x) = sinh(x)/x`. Where `v0` is not given it is taken at each
//!   output sample from the RMS velocity (the gradient medium whose RMS velocity at `t0` is `v`:
//!   `v^2 = v0^2 e^x sinhc(x)`), which gives `b = sinhc(x) / v^2`. Either way
//!   `t_leg = s asinhc(c s)` with `c = k/2` and `asinhc(y) = asinh(y)/y`: every factor tends to 1
//!   as `k` goes to 0, and the time to the straight ray's, with no division by `k`;
//! - **VTI** (Alkhalifah-Tsvankin, per leg, `v` the NMO velocity, `eta` the anellipticity):
//!   `t_leg^2 = tau^2 + d^2/v^2 - 2 eta d^4 / (v^2 (tau^2 v^2 + (1 + 2 eta) d^2))`. With `a` and
//!   `b` the straight ray's and `q = d^2 b` this is `t_leg^2 = a + q (a + q) / (a + (1 + 2 eta) q)`:
//!   one division, and `eta = 0` is the straight ray exactly.
//!
//! At zero offset directly above the point every type gives `t0`; for a point diffractor at depth
//! `z` in a constant velocity `v`, `t0 = 2z/v` (the reference package's `4z/v` was a bug).

use serde::{Deserialize, Serialize};

/// Two-way straight-ray traveltime in seconds from squared leg distances (m^2).
pub fn dsr_time(t0: f64, ds2: f64, dr2: f64, v: f64) -> f64 {
    let h2 = 0.25 * t0 * t0;
    let inv_v2 = 1.0 / (v * v);
    (h2 + ds2 * inv_v2).sqrt() + (h2 + dr2 * inv_v2).sqrt()
}

/// Zero-offset two-way time of a point at depth `z` (m) in a constant velocity `v` (m/s).
pub fn zero_offset_time(z: f64, v: f64) -> f64 {
    2.0 * z / v
}

/// `sinh(x) / x`, 1 at 0.
pub fn sinhc(x: f64) -> f64 {
    if x.abs() < 1e-4 { 1.0 + x * x / 6.0 } else { x.sinh() / x }
}

/// `asinh(y) / y`, 1 at 0.
pub fn asinhc(y: f64) -> f64 {
    if y.abs() < 1e-4 { 1.0 - y * y / 6.0 } else { y.asinh() / y }
}

/// The constant-gradient medium `V(z) = v0 + k z` of the curved ray.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gradient {
    /// Velocity gradient with depth (1/s).
    pub k: f64,
    /// Velocity at the surface (m/s); `None`: taken at each output sample from the RMS velocity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub v0: Option<f64>,
}

impl Gradient {
    /// The factors of `a` and `b` at output time `t0`: `a = tau^2 * fa`, and
    /// `b = fb / v^2` (`v0` from the RMS velocity) or `b = fb` (a given `v0`).
    pub fn factors(&self, t0: f64) -> (f64, f64) {
        let x = self.k * 0.5 * t0;
        let fa = sinhc(0.5 * x).powi(2);
        let fb = match self.v0 {
            None => sinhc(x),
            Some(v0) => (-x).exp() / (v0 * v0),
        };
        (fa, fb)
    }

    /// The gradient whose RMS velocity function fits `vrms` at `times` best: least squares of the
    /// relative misfit, `v0` in closed form for each `k`, `k` searched over [-1, 4] 1/s (a grid,
    /// then golden sections). `v0` is left to the output samples ([`Gradient::v0`] `None`).
    pub fn fit(times: &[f64], vrms: &[f64]) -> Gradient {
        // For a given k: minimise sum (v0 m_i / V_i - 1)^2 over v0, m_i the RMS velocity at t_i
        // of the medium with v0 = 1.
        let misfit = |k: f64| {
            let unit = crate::media::GradientMedium { v0: 1.0, k };
            let r: Vec<f64> = times.iter().zip(vrms).map(|(&t, &v)| unit.vrms(t) / v).collect();
            let v0 = r.iter().sum::<f64>() / r.iter().map(|x| x * x).sum::<f64>();
            r.iter().map(|x| (v0 * x - 1.0).powi(2)).sum::<f64>()
        };
        let (lo, hi, n) = (-1.0, 4.0, 100);
        let step = (hi - lo) / n as f64;
        let best =
            (0..=n).map(|i| lo + i as f64 * step).min_by(|&a, &b| misfit(a).total_cmp(&misfit(b))).unwrap_or(0.0);
        let (mut a, mut b) = ((best - step).max(lo), (best + step).min(hi));
        let g = (5f64.sqrt() - 1.0) / 2.0;
        for _ in 0..80 {
            let (c, d) = (b - g * (b - a), a + g * (b - a));
            if misfit(c) < misfit(d) { b = d } else { a = c }
        }
        Gradient { k: 0.5 * (a + b), v0: None }
    }
}

/// How an output sample turns `s = sqrt(a + d^2 b)` into a leg's time (module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LegShape {
    Straight,
    /// `c = k / 2` (1/s).
    Curved {
        c: f64,
    },
    Vti {
        eta: f64,
    },
}

/// A leg's traveltime law at one output sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LegLaw {
    /// s^2.
    pub a: f64,
    /// s^2/m^2.
    pub b: f64,
    pub shape: LegShape,
}

impl LegLaw {
    /// The law of `traveltime` at output time `t0`, RMS (or NMO) velocity `v` and, for VTI,
    /// anellipticity `eta`. A curved ray needs the operator's gradient.
    pub fn new(traveltime: crate::Traveltime, gradient: Option<&Gradient>, t0: f64, v: f64, eta: f64) -> Self {
        let tau2 = 0.25 * t0 * t0;
        let inv_v2 = 1.0 / (v * v);
        match traveltime {
            crate::Traveltime::StraightRay => Self { a: tau2, b: inv_v2, shape: LegShape::Straight },
            crate::Traveltime::Vti => Self { a: tau2, b: inv_v2, shape: LegShape::Vti { eta } },
            crate::Traveltime::CurvedRay => {
                let g = gradient.expect("a curved ray's operator carries its gradient");
                let (fa, fb) = g.factors(t0);
                let b = if g.v0.is_some() { fb } else { fb * inv_v2 };
                Self { a: tau2 * fa, b, shape: LegShape::Curved { c: 0.5 * g.k } }
            }
        }
    }

    /// One leg's time (s) at squared horizontal distance `d2` (m^2).
    pub fn leg(&self, d2: f64) -> f64 {
        match self.shape {
            LegShape::Straight => (self.a + d2 * self.b).sqrt(),
            LegShape::Curved { c } => {
                let s = (self.a + d2 * self.b).sqrt();
                s * asinhc(c * s)
            }
            LegShape::Vti { eta } => {
                let q = d2 * self.b;
                let den = self.a + (1.0 + 2.0 * eta) * q;
                if den > 0.0 { (self.a + q * (self.a + q) / den).sqrt() } else { self.a.sqrt() }
            }
        }
    }

    /// How fast a leg's time grows with the squared distance, `d t_leg / d(d^2)` (s/m^2), the
    /// leg's time taken as at least `t_min` where it divides (zero distance at `t0 = 0`):
    ///
    /// - straight: `b / (2 s)`;
    /// - curved ray: `b / (2 s sqrt(1 + c^2 s^2))` (`d asinh(c s)/c / ds = 1/sqrt(1 + c^2 s^2)`);
    /// - VTI: `b (a^2 + 2 a q + E q^2) / (2 t (a + E q)^2)` with `q = d^2 b`, `E = 1 + 2 eta`.
    pub fn rate(&self, d2: f64, t_min: f64) -> f64 {
        let s = (self.a + d2 * self.b).sqrt();
        match self.shape {
            LegShape::Straight => self.b / (2.0 * s.max(t_min)),
            LegShape::Curved { c } => self.b / (2.0 * s.max(t_min) * (1.0 + c * c * s * s).sqrt()),
            LegShape::Vti { eta } => {
                let (a, q, e) = (self.a, d2 * self.b, 1.0 + 2.0 * eta);
                let den = a + e * q;
                let ratio = if den > 0.0 { (a * a + 2.0 * a * q + e * q * q) / (den * den) } else { 1.0 };
                self.b * ratio / (2.0 * self.leg(d2).max(t_min))
            }
        }
    }

    /// Both legs (s).
    pub fn two_way(&self, ds2: f64, dr2: f64) -> f64 {
        self.leg(ds2) + self.leg(dr2)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Traveltime;

    #[test]
    fn zero_offset_above_the_point_is_t0() {
        assert_eq!(dsr_time(0.64, 0.0, 0.0, 2500.0), 0.64);
        assert_eq!(zero_offset_time(800.0, 2500.0), 0.64);
        for (tt, g) in [
            (Traveltime::CurvedRay, Some(Gradient { k: 0.7, v0: None })),
            (Traveltime::CurvedRay, Some(Gradient { k: 0.7, v0: Some(1800.0) })),
            (Traveltime::Vti, None),
        ] {
            let law = LegLaw::new(tt, g.as_ref(), 1.3, 2400.0, 0.15);
            assert!((law.two_way(0.0, 0.0) - 1.3).abs() < 1e-12, "{tt:?}: {}", law.two_way(0.0, 0.0));
        }
    }

    #[test]
    fn dsr_matches_straight_ray_path_lengths() {
        // Diffractor 800 m deep, source 300 m west and receiver 500 m east of it, v = 2500 m/s.
        let (z, v) = (800.0f64, 2500.0);
        let expect = ((300.0f64).hypot(z) + (500.0f64).hypot(z)) / v;
        let t = dsr_time(zero_offset_time(z, v), 300.0 * 300.0, 500.0 * 500.0, v);
        assert!((t - expect).abs() < 1e-12, "{t} vs {expect}");
        let law = LegLaw::new(Traveltime::StraightRay, None, zero_offset_time(z, v), v, 0.0);
        assert_eq!(law.two_way(300.0 * 300.0, 500.0 * 500.0), t);
    }

    #[test]
    fn curved_ray_is_the_exact_gradient_time_and_tends_to_the_straight_ray() {
        // V(z) = 1800 + 0.6 z; a point 1200 m deep, 900 m away.
        let (v0, k, z, h) = (1800.0f64, 0.6f64, 1200.0f64, 900.0f64);
        let vz = v0 + k * z;
        let exact = (1.0 + k * k * (h * h + z * z) / (2.0 * v0 * vz)).acosh() / k;
        let t0 = 2.0 / k * (1.0 + k * z / v0).ln();
        let given = LegLaw::new(Traveltime::CurvedRay, Some(&Gradient { k, v0: Some(v0) }), t0, 1.0, 0.0);
        assert!((given.leg(h * h) - exact).abs() < 1e-12 * exact, "{} vs {exact}", given.leg(h * h));
        // v0 from the medium's own RMS velocity: the same law.
        let v = crate::media::GradientMedium { v0, k }.vrms(t0);
        let local = LegLaw::new(Traveltime::CurvedRay, Some(&Gradient { k, v0: None }), t0, v, 0.0);
        assert!((local.leg(h * h) - exact).abs() < 1e-12 * exact, "{} vs {exact}", local.leg(h * h));
        // k -> 0: the straight ray, relative error under 1e-6 (in fact about k^2).
        for k in [1e-3, 1e-6, 1e-9, 0.0] {
            let g = Gradient { k, v0: None };
            for (t0, v, d) in [(0.4, 1800.0, 300.0), (2.0, 2500.0, 3000.0), (4.0, 3500.0, 6000.0)] {
                let curved = LegLaw::new(Traveltime::CurvedRay, Some(&g), t0, v, 0.0).two_way(d * d, 0.25 * d * d);
                let straight = dsr_time(t0, d * d, 0.25 * d * d, v);
                let err = (curved / straight - 1.0).abs();
                assert!(err < 1e-6, "k = {k}: {curved} vs {straight} ({err:.1e})");
            }
        }
    }

    #[test]
    fn vti_with_eta_zero_is_the_dsr_and_matches_the_formula() {
        let (t0, v) = (1.6, 2600.0);
        let law0 = LegLaw::new(Traveltime::Vti, None, t0, v, 0.0);
        for d in [0.0, 400.0, 2500.0, 7000.0] {
            let dsr = dsr_time(t0, d * d, 0.0, v) - 0.5 * t0;
            assert!((law0.leg(d * d) - dsr).abs() < 1e-12 * dsr.max(1.0));
            // The Alkhalifah-Tsvankin formula as written in the literature.
            let eta = 0.12;
            let tau = 0.5 * t0;
            let at = (tau * tau + d * d / (v * v)
                - 2.0 * eta * d.powi(4) / (v * v * (tau * tau * v * v + (1.0 + 2.0 * eta) * d * d)))
                .sqrt();
            let law = LegLaw::new(Traveltime::Vti, None, t0, v, eta);
            assert!((law.leg(d * d) - at).abs() < 1e-12, "{} vs {at}", law.leg(d * d));
        }
        // t0 = 0 at zero distance: no 0/0.
        assert_eq!(LegLaw::new(Traveltime::Vti, None, 0.0, v, 0.2).leg(0.0), 0.0);
    }

    #[test]
    fn rates_are_the_derivatives_of_the_legs() {
        for (tt, g, eta) in [
            (Traveltime::StraightRay, None, 0.0),
            (Traveltime::CurvedRay, Some(Gradient { k: 0.9, v0: None }), 0.0),
            (Traveltime::CurvedRay, Some(Gradient { k: -0.2, v0: Some(1900.0) }), 0.0),
            (Traveltime::Vti, None, 0.25),
            (Traveltime::Vti, None, -0.1),
        ] {
            let law = LegLaw::new(tt, g.as_ref(), 1.1, 2300.0, eta);
            for d in [0.0, 150.0, 900.0, 3500.0] {
                let d2: f64 = d * d;
                let h = 1e-4 * d2.max(1.0);
                let finite = (law.leg(d2 + h) - law.leg((d2 - h).max(0.0))) / (d2 + h - (d2 - h).max(0.0));
                let rate = law.rate(d2, 0.0);
                assert!((rate - finite).abs() < 1e-5 * finite.abs(), "{tt:?} d = {d}: {rate} vs {finite}");
            }
        }
        // Directly above at t0 = 0 the guard keeps the rate finite.
        let law = LegLaw::new(Traveltime::StraightRay, None, 0.0, 2000.0, 0.0);
        assert!(law.rate(0.0, 0.001).is_finite());
    }

    #[test]
    fn a_gradient_is_fitted_back_from_its_rms_function() {
        let times: Vec<f64> = (0..=40).map(|i| i as f64 * 0.1).collect();
        for (k, v0) in [(0.6, 1800.0), (0.0, 2500.0), (1.5, 1500.0), (-0.3, 3000.0)] {
            let medium = crate::media::GradientMedium { v0, k };
            let vrms: Vec<f64> = times.iter().map(|&t| medium.vrms(t)).collect();
            let fit = Gradient::fit(&times, &vrms);
            assert!((fit.k - k).abs() < 1e-6, "k = {k}: fitted {}", fit.k);
        }
    }
}
