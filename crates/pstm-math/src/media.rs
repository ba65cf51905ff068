//! Media with exact kinematics for the synthetic forward model: a constant vertical gradient of
//! velocity and a homogeneous VTI medium.
//!
//! The default forward model ([`crate::model`]) computes traveltimes with the same straight-ray
//! double-square-root formula that the migration inverts, so it cannot tell whether a curved-ray
//! or anisotropic migration traveltime is right. The media here give the traveltimes of the
//! physics instead, in closed form or to machine precision:
//!
//! - [`GradientMedium`]: `V(z) = v0 + k z`. Rays are circular arcs; the time between a surface
//!   point and a point at depth `z`, a horizontal distance `h` away, is
//!   `t = (1/k) arccosh(1 + k^2 (h^2 + z^2) / (2 v0 V(z)))`.
//! - [`VtiMedium`]: a homogeneous transversely isotropic medium with a vertical symmetry axis,
//!   Thomsen's `vp0`, `epsilon` and `delta`, acoustic (`vs0 = 0`). Rays are straight; the qP time
//!   is the distance over the group velocity of the ray's direction.
//!
//! [`Medium`] is the choice a synthetic spec makes (`medium:` in YAML); [`Medium::Rms`], the
//! default, keeps the straight-ray RMS model.
//!
//! Everything is float64 and free of I/O.

use std::f64::consts::FRAC_PI_2;

use serde::{Deserialize, Serialize};

/// Which medium the forward model's traveltimes come from.
///
/// In YAML (externally tagged, snake case): `medium: rms` (the default),
/// `medium: {gradient: {v0: 1800, k: 0.6}}` or
/// `medium: {vti: {vp0: 2000, epsilon: 0.2, delta: 0.05}}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Medium {
    /// Straight rays in the RMS velocity: the DSR time the migration inverts.
    #[default]
    Rms,
    /// `V(z) = v0 + k z`, exact ray kinematics.
    Gradient(GradientMedium),
    /// Homogeneous acoustic VTI, exact qP kinematics.
    Vti(VtiMedium),
}

impl Medium {
    /// True for [`Medium::Rms`] (the default; what `skip_serializing_if` asks).
    pub fn is_rms(&self) -> bool {
        matches!(self, Medium::Rms)
    }

    /// The medium's own parameter checks ([`GradientMedium::check`], [`VtiMedium::check`]).
    pub fn check(&self) -> Result<(), String> {
        match self {
            Medium::Rms => Ok(()),
            Medium::Gradient(g) => g.check(),
            Medium::Vti(m) => m.check(),
        }
    }

    /// Zero-offset two-way vertical time of depth `z`; `None` for [`Medium::Rms`], whose time
    /// depends on the velocity function.
    pub fn depth_to_time(&self, z: f64) -> Option<f64> {
        match self {
            Medium::Rms => None,
            Medium::Gradient(g) => Some(g.depth_to_time(z)),
            Medium::Vti(m) => Some(m.depth_to_time(z)),
        }
    }

    /// Exact one-way time from a surface point to a point at depth `z`, horizontal distance `h`
    /// away; `None` for [`Medium::Rms`].
    pub fn one_way_time(&self, h: f64, z: f64) -> Option<f64> {
        match self {
            Medium::Rms => None,
            Medium::Gradient(g) => Some(g.one_way_time(h, z)),
            Medium::Vti(m) => Some(m.one_way_time(h, z)),
        }
    }

    /// A short name: `rms`, `gradient` or `vti`.
    pub fn name(&self) -> &'static str {
        match self {
            Medium::Rms => "rms",
            Medium::Gradient(_) => "gradient",
            Medium::Vti(_) => "vti",
        }
    }
}

/// Below this `|k z / v0|` (or `|k tau|`) the gradient formulas switch to their Taylor series,
/// whose first omitted term is then below 1e-32 relative.
const SERIES_LIMIT: f64 = 1e-8;

/// Isotropic velocity growing linearly with depth: `V(z) = v0 + k z` (`v0` in m/s, `k` in 1/s).
///
/// Along the vertical, `dV/dtau = k V` with `tau` the one-way vertical time, so
/// `V = v0 exp(k tau)` and `z = (v0/k)(exp(k tau) - 1)`. `k` may be negative as long as
/// `v0 + k z > 0` at every depth used ([`GradientMedium::check_depth`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GradientMedium {
    /// Velocity at the surface (m/s).
    pub v0: f64,
    /// Vertical gradient (1/s: m/s per m).
    pub k: f64,
}

impl GradientMedium {
    /// `v0` positive and finite, `k` finite.
    pub fn check(&self) -> Result<(), String> {
        if !(self.v0.is_finite() && self.v0 > 0.0) {
            return Err(format!("gradient medium: v0 = {} m/s must be positive", self.v0));
        }
        if !self.k.is_finite() {
            return Err(format!("gradient medium: k = {} 1/s must be a finite number", self.k));
        }
        Ok(())
    }

    /// The velocity stays positive down to depth `z`: `v0 + k z > 0` (and `z >= 0`).
    pub fn check_depth(&self, z: f64) -> Result<(), String> {
        if !(z >= 0.0 && z.is_finite()) {
            return Err(format!("gradient medium: depth {z} m must be zero or positive"));
        }
        let v = self.interval_velocity_at_depth(z);
        if v.is_nan() || v <= 0.0 {
            return Err(format!(
                "gradient medium: the velocity v0 + k z = {} + {} * {z} = {v} m/s at depth {z} m must be positive",
                self.v0, self.k
            ));
        }
        Ok(())
    }

    /// `V(z) = v0 + k z`.
    pub fn interval_velocity_at_depth(&self, z: f64) -> f64 {
        self.v0 + self.k * z
    }

    /// Interval velocity at two-way vertical time `t0`: `v0 exp(k t0 / 2)`.
    pub fn interval_velocity_at_time(&self, t0: f64) -> f64 {
        self.v0 * (0.5 * self.k * t0).exp()
    }

    /// Two-way vertical time of depth `z`: `t0 = (2/k) ln(1 + k z / v0)`, which tends to
    /// `2 z / v0` as `k -> 0` (a Taylor series below `|k z / v0| = 1e-8`).
    pub fn depth_to_time(&self, z: f64) -> f64 {
        let x = self.k * z / self.v0;
        if x.abs() < SERIES_LIMIT {
            // ln(1 + x) / x = 1 - x/2 + x^2/3 - ...
            2.0 * z / self.v0 * (1.0 - x * (0.5 - x / 3.0))
        } else {
            2.0 / self.k * x.ln_1p()
        }
    }

    /// Depth of two-way vertical time `t0`: `z = (v0/k)(exp(k t0 / 2) - 1)`, the inverse of
    /// [`GradientMedium::depth_to_time`] (a Taylor series below `|k t0 / 2| = 1e-8`).
    pub fn time_to_depth(&self, t0: f64) -> f64 {
        let y = 0.5 * self.k * t0;
        if y.abs() < SERIES_LIMIT {
            // (exp(y) - 1) / y = 1 + y/2 + y^2/6 + ...
            0.5 * self.v0 * t0 * (1.0 + y * (0.5 + y / 6.0))
        } else {
            self.v0 / self.k * y.exp_m1()
        }
    }

    /// Exact one-way (first-arrival) time between a surface point and a point at depth `z`
    /// a horizontal distance `h` away, along the circular-arc ray:
    ///
    /// ```text
    /// t = (1/k) arccosh(1 + k^2 (h^2 + z^2) / (2 v0 vz)),   vz = v0 + k z,
    /// ```
    ///
    /// computed as the equal but cancellation-free `t = (2/k) asinh(k r / (2 sqrt(v0 vz)))`,
    /// `r^2 = h^2 + z^2` (since `arccosh(1 + 2 s^2) = 2 asinh(s)`), which tends to the straight-ray
    /// time `r / v0` as `k -> 0` ([`crate::traveltime::asinhc`] takes its series near 0).
    pub fn one_way_time(&self, h: f64, z: f64) -> f64 {
        // The curved-ray migration's law: `s asinhc(k s / 2)`, `s = r / sqrt(v0 vz)`.
        let s = h.hypot(z) / (self.v0 * self.interval_velocity_at_depth(z)).sqrt();
        s * crate::traveltime::asinhc(0.5 * self.k * s)
    }

    /// RMS velocity at two-way vertical time `t0`, the RMS average in time of the interval
    /// velocity `v0 exp(k tau)` over one-way time `tau` in `[0, t0/2]`: with `x = k t0 / 2`,
    ///
    /// ```text
    /// vrms^2 = v0^2 (exp(2x) - 1) / (2x)
    /// ```
    ///
    /// (`v0` at `x = 0`; a Taylor series below `|x| = 1e-8`).
    pub fn vrms(&self, t0: f64) -> f64 {
        let x = 0.5 * self.k * t0;
        let ratio = if x.abs() < SERIES_LIMIT {
            // (exp(2x) - 1) / (2x) = 1 + x + 2x^2/3 + ...
            1.0 + x * (1.0 + 2.0 * x / 3.0)
        } else {
            (2.0 * x).exp_m1() / (2.0 * x)
        };
        self.v0 * ratio.sqrt()
    }
}

/// A homogeneous VTI medium (transversely isotropic, vertical symmetry axis) with Thomsen's
/// parameters, acoustic: the shear velocity along the axis is zero (Alkhalifah 1998).
///
/// The qP phase velocity at phase angle `theta` from the vertical is Tsvankin's exact expression
/// with `f = 1 - vs0^2 / vp0^2 = 1`:
///
/// ```text
/// V(theta)^2 / vp0^2 = 1/2 [1 + 2 eps sin^2 + sqrt((1 + 2 eps sin^2)^2 - 8 (eps - delta) sin^2 cos^2)]
/// ```
///
/// (`sin`, `cos` of `theta`): `vp0` along the axis, `vp0 sqrt(1 + 2 eps)` across it, and the
/// ellipse `vp0^2 (1 + 2 eps sin^2)` when `eps = delta`. The group (ray) velocity vector of the
/// plane wave with normal `n = (sin, cos)` is `V n + V' n_perp`, `V' = dV/dtheta`,
/// `n_perp = (cos, -sin)`:
///
/// ```text
/// Vg = sqrt(V^2 + V'^2),   tan psi = (tan theta + V'/V) / (1 - tan theta V'/V)
/// ```
///
/// with `psi` the group angle from the vertical. Supported: `vp0 > 0`,
/// `-0.2 <= delta <= 0.5`, `delta <= epsilon <= 0.6` (so `eta >= 0`); over that range the group
/// angle grows monotonically with the phase angle (no triplications), which
/// [`VtiMedium::check`] also verifies numerically.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VtiMedium {
    /// P velocity along the vertical symmetry axis (m/s).
    pub vp0: f64,
    /// Thomsen's epsilon: the horizontal velocity is `vp0 sqrt(1 + 2 epsilon)`.
    pub epsilon: f64,
    /// Thomsen's delta: the NMO velocity is `vp0 sqrt(1 + 2 delta)`.
    pub delta: f64,
}

impl VtiMedium {
    /// Smallest supported `delta`.
    pub const DELTA_MIN: f64 = -0.2;
    /// Largest supported `delta`.
    pub const DELTA_MAX: f64 = 0.5;
    /// Largest supported `epsilon` (the smallest is `delta`).
    pub const EPSILON_MAX: f64 = 0.6;

    /// `vp0` positive and finite, `DELTA_MIN <= delta <= DELTA_MAX`,
    /// `delta <= epsilon <= EPSILON_MAX`, and the group angle strictly increasing with the
    /// phase angle over `[0, 90]` degrees (checked on a fine grid).
    pub fn check(&self) -> Result<(), String> {
        if !(self.vp0.is_finite() && self.vp0 > 0.0) {
            return Err(format!("VTI medium: vp0 = {} m/s must be positive", self.vp0));
        }
        if !(Self::DELTA_MIN..=Self::DELTA_MAX).contains(&self.delta) {
            return Err(format!(
                "VTI medium: delta = {} must be in [{}, {}]",
                self.delta,
                Self::DELTA_MIN,
                Self::DELTA_MAX
            ));
        }
        if !(self.delta..=Self::EPSILON_MAX).contains(&self.epsilon) {
            return Err(format!(
                "VTI medium: epsilon = {} must be in [delta, {}] = [{}, {}] (eta >= 0)",
                self.epsilon,
                Self::EPSILON_MAX,
                self.delta,
                Self::EPSILON_MAX
            ));
        }
        let n = 4096;
        let mut previous = -1.0;
        for i in 0..=n {
            let theta = FRAC_PI_2 * i as f64 / n as f64;
            let (psi, vg) = self.group(theta);
            if !(psi > previous && vg.is_finite() && vg > 0.0) {
                return Err(format!(
                    "VTI medium: epsilon = {}, delta = {}: the qP group angle does not grow with the phase angle \
                     near {:.2} degrees (a triplication), which this model does not support",
                    self.epsilon,
                    self.delta,
                    theta.to_degrees()
                ));
            }
            previous = psi;
        }
        Ok(())
    }

    /// NMO velocity of a horizontal reflector: `vp0 sqrt(1 + 2 delta)`.
    pub fn vnmo(&self) -> f64 {
        self.vp0 * (1.0 + 2.0 * self.delta).sqrt()
    }

    /// Horizontal velocity: `vp0 sqrt(1 + 2 epsilon)`.
    pub fn vhor(&self) -> f64 {
        self.vp0 * (1.0 + 2.0 * self.epsilon).sqrt()
    }

    /// Alkhalifah and Tsvankin's anellipticity: `eta = (epsilon - delta) / (1 + 2 delta)`.
    pub fn eta(&self) -> f64 {
        (self.epsilon - self.delta) / (1.0 + 2.0 * self.delta)
    }

    /// Two-way vertical time of depth `z`: `2 z / vp0`.
    pub fn depth_to_time(&self, z: f64) -> f64 {
        2.0 * z / self.vp0
    }

    /// `(A, R)` with `V^2 / vp0^2 = (A + R) / 2`: `A = 1 + 2 eps sin^2`,
    /// `R = sqrt(A^2 - 8 (eps - delta) sin^2 cos^2)`.
    fn a_r(&self, theta: f64) -> (f64, f64) {
        let (s, c) = theta.sin_cos();
        let a = 1.0 + 2.0 * self.epsilon * s * s;
        let r = (a * a - 8.0 * (self.epsilon - self.delta) * s * s * c * c).max(0.0).sqrt();
        (a, r)
    }

    /// qP phase velocity at phase angle `theta` (radians from the vertical).
    pub fn phase_velocity(&self, theta: f64) -> f64 {
        let (a, r) = self.a_r(theta);
        self.vp0 * (0.5 * (a + r)).sqrt()
    }

    /// `dV/dtheta`, analytic: with `sin^2 cos^2 = sin^2(2 theta) / 4`,
    /// `d(V^2/vp0^2)/dtheta = eps sin 2theta + [2 eps A sin 2theta - 2 (eps - delta) sin 4theta] / (2 R)`,
    /// and `dV/dtheta = vp0^2 d(V^2/vp0^2)/dtheta / (2 V)`.
    pub fn phase_velocity_derivative(&self, theta: f64) -> f64 {
        let (a, r) = self.a_r(theta);
        let (s2, s4) = ((2.0 * theta).sin(), (4.0 * theta).sin());
        let dr = if r > 0.0 {
            (2.0 * self.epsilon * a * s2 - 2.0 * (self.epsilon - self.delta) * s4) / (2.0 * r)
        } else {
            0.0
        };
        let d_v2 = self.epsilon * s2 + dr;
        let v = self.vp0 * (0.5 * (a + r)).sqrt();
        self.vp0 * self.vp0 * d_v2 / (2.0 * v)
    }

    /// Group angle `psi` (radians from the vertical) and group velocity `Vg` of the plane wave
    /// with phase angle `theta`: the ray vector `V (sin, cos) + V' (cos, -sin)`.
    pub fn group(&self, theta: f64) -> (f64, f64) {
        let (s, c) = theta.sin_cos();
        let (v, dv) = (self.phase_velocity(theta), self.phase_velocity_derivative(theta));
        let (horizontal, vertical) = (v * s + dv * c, v * c - dv * s);
        (horizontal.atan2(vertical), horizontal.hypot(vertical))
    }

    /// The phase angle whose group angle is `psi` (in `[0, pi/2]`), by bisection to machine
    /// precision (the group angle grows monotonically with the phase angle: [`VtiMedium::check`]).
    pub fn phase_angle_of_group_angle(&self, psi: f64) -> f64 {
        let psi = psi.clamp(0.0, FRAC_PI_2);
        let (mut lo, mut hi) = (0.0f64, FRAC_PI_2);
        for _ in 0..200 {
            let mid = 0.5 * (lo + hi);
            if mid <= lo || mid >= hi {
                break;
            }
            if self.group(mid).0 < psi { lo = mid } else { hi = mid }
        }
        0.5 * (lo + hi)
    }

    /// Group velocity along the ray at group angle `psi` from the vertical.
    pub fn group_velocity_at_angle(&self, psi: f64) -> f64 {
        self.group(self.phase_angle_of_group_angle(psi)).1
    }

    /// Exact qP one-way time along the straight ray from a surface point to a point at depth `z`,
    /// horizontal distance `h` away: `t = sqrt(h^2 + z^2) / Vg(psi)`, `psi = atan(h / z)`.
    ///
    /// With `theta` the phase angle of that ray, the time is evaluated in the equal form
    /// `t = (h sin theta + z cos theta) / V(theta)` (the wavefront through the point is the plane
    /// with normal `theta`), which is stationary in `theta`, so the bisection's last-bit error in
    /// `theta` changes `t` only to second order. Exact along the axis (`z / vp0`) and across it
    /// (`h / (vp0 sqrt(1 + 2 eps))`).
    pub fn one_way_time(&self, h: f64, z: f64) -> f64 {
        let (h, z) = (h.abs(), z.abs());
        if h == 0.0 {
            return z / self.vp0;
        }
        if z == 0.0 {
            return h / self.vhor();
        }
        if self.epsilon == 0.0 && self.delta == 0.0 {
            return h.hypot(z) / self.vp0;
        }
        let theta = self.phase_angle_of_group_angle(h.atan2(z));
        let (s, c) = theta.sin_cos();
        (h * s + z * c) / self.phase_velocity(theta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs()
    }

    /// Composite Simpson's rule with `n` (even) intervals.
    fn simpson(f: impl Fn(f64) -> f64, a: f64, b: f64, n: usize) -> f64 {
        let h = (b - a) / n as f64;
        let mut sum = f(a) + f(b);
        for i in 1..n {
            sum += f(a + i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        sum * h / 3.0
    }

    #[test]
    fn gradient_depth_time_round_trip_and_limits() {
        for &(v0, k) in &[(1800.0, 0.6), (3000.0, -0.4), (2000.0, 1e-12), (2000.0, 0.0)] {
            let m = GradientMedium { v0, k };
            for &z in &[0.0, 1.0, 500.0, 2000.0] {
                let t0 = m.depth_to_time(z);
                assert!((m.time_to_depth(t0) - z).abs() <= 1e-9 * z.max(1.0), "{v0} {k} {z}");
                // At h = 0 the one-way time is half the two-way vertical time.
                assert!((m.one_way_time(0.0, z) - 0.5 * t0).abs() <= 1e-14 * t0.max(1e-300), "{v0} {k} {z}");
                if k != 0.0 && (k * z / v0).abs() > 1e-6 {
                    let exact = 2.0 / k * (1.0 + k * z / v0).ln();
                    assert!(rel(t0, exact) < 1e-12);
                }
            }
        }
        let m = GradientMedium { v0: 2000.0, k: 0.0 };
        assert_eq!(m.depth_to_time(800.0), 0.8);
        assert_eq!(m.one_way_time(300.0, 400.0), 0.25);
        assert_eq!(m.vrms(1.0), 2000.0);
    }

    #[test]
    fn gradient_small_k_is_the_straight_ray() {
        let m = GradientMedium { v0: 2000.0, k: 1e-9 };
        for &(h, z) in &[(0.0, 100.0), (300.0, 400.0), (2500.0, 800.0), (5000.0, 3000.0), (10.0, 5.0)] {
            let straight = f64::hypot(h, z) / 2000.0;
            let t = m.one_way_time(h, z);
            assert!(rel(t, straight) < 1e-9, "h {h} z {z}: {t} vs {straight}");
        }
        assert!(rel(m.depth_to_time(1000.0), 1.0) < 1e-9);
        assert!(rel(m.vrms(3.0), 2000.0) < 1e-9);
    }

    /// The one-way time checked against rays shot with ray parameter `p` and integrated by
    /// quadrature: `x(z) = int p v / sqrt(1 - p^2 v^2) dz`, `t(z) = int 1 / (v sqrt(1 - p^2 v^2)) dz`,
    /// `p` found by bisection so that `x(z) = h`; only rays that go down all the way (`p v < 1`
    /// over `[0, z]`, kept below 0.98 so the integrands stay smooth).
    #[test]
    fn gradient_one_way_time_matches_a_numerical_ray_trace() {
        let mut worst: f64 = 0.0;
        let mut checked = 0;
        for &(v0, k) in &[(1800.0, 0.6), (1500.0, 1.5), (3000.0, -0.4)] {
            let m = GradientMedium { v0, k };
            for &z in &[50.0, 400.0, 1200.0, 2500.0] {
                let vz = m.interval_velocity_at_depth(z);
                let vmax = v0.max(vz);
                let v = |zz: f64| v0 + k * zz;
                let n = 4000;
                let x_of = |p: f64| simpson(|zz| p * v(zz) / (1.0 - (p * v(zz)).powi(2)).sqrt(), 0.0, z, n);
                let t_of = |p: f64| simpson(|zz| 1.0 / (v(zz) * (1.0 - (p * v(zz)).powi(2)).sqrt()), 0.0, z, n);
                for &ratio in &[0.05, 0.3, 0.7, 1.0, 1.5, 2.5] {
                    let h = ratio * z;
                    let p_max = 0.98 / vmax;
                    if x_of(p_max) < h {
                        continue; // that ray would turn (or come too close to turning)
                    }
                    let (mut lo, mut hi) = (0.0, p_max);
                    for _ in 0..80 {
                        let mid = 0.5 * (lo + hi);
                        if x_of(mid) < h { lo = mid } else { hi = mid }
                    }
                    let t_ray = t_of(0.5 * (lo + hi));
                    let t = m.one_way_time(h, z);
                    let e = rel(t, t_ray);
                    assert!(e < 1e-7, "v0 {v0} k {k} h {h} z {z}: {t} vs ray {t_ray} ({e:e})");
                    worst = worst.max(e);
                    checked += 1;
                }
            }
        }
        println!("gradient one-way time vs numerical ray trace: {checked} rays, worst relative difference {worst:e}");
        assert!(checked >= 40, "only {checked} rays checked");
    }

    #[test]
    fn gradient_vrms_is_the_rms_of_the_interval_velocity_in_time() {
        for &(v0, k) in &[(1800.0, 0.6), (3000.0, -0.4), (1500.0, 1.5)] {
            let m = GradientMedium { v0, k };
            for &t0 in &[0.01, 0.5, 1.0, 2.0, 4.0] {
                // Interval velocity at one-way time tau through the depth it reaches.
                let vint = |tau: f64| m.interval_velocity_at_depth(m.time_to_depth(2.0 * tau));
                let tau = 0.5 * t0;
                let numeric = (simpson(|s| vint(s).powi(2), 0.0, tau, 2000) / tau).sqrt();
                let e = rel(m.vrms(t0), numeric);
                assert!(e < 1e-9, "v0 {v0} k {k} t0 {t0}: {} vs {numeric}", m.vrms(t0));
                assert!(rel(vint(tau), m.interval_velocity_at_time(t0)) < 1e-12);
            }
            assert_eq!(m.vrms(0.0), v0);
        }
    }

    #[test]
    fn gradient_checks() {
        assert!(GradientMedium { v0: 1800.0, k: 0.6 }.check().is_ok());
        assert!(GradientMedium { v0: 0.0, k: 0.6 }.check().is_err());
        assert!(GradientMedium { v0: 1800.0, k: f64::NAN }.check().is_err());
        let m = GradientMedium { v0: 3000.0, k: -1.0 };
        assert!(m.check_depth(2999.0).is_ok());
        assert!(m.check_depth(3000.0).is_err());
        assert!(m.check_depth(-1.0).is_err());
    }

    const VTI: VtiMedium = VtiMedium { vp0: 2000.0, epsilon: 0.2, delta: 0.05 };

    #[test]
    fn vti_isotropic_is_the_straight_ray() {
        let m = VtiMedium { vp0: 2000.0, epsilon: 0.0, delta: 0.0 };
        for &(h, z) in &[(0.0, 800.0), (300.0, 400.0), (2500.0, 800.0), (100.0, 0.0)] {
            let t = m.one_way_time(h, z);
            assert!(rel(t, f64::hypot(h, z) / 2000.0) < 1e-12, "{h} {z}");
        }
        // The general path (not the isotropic shortcut) agrees too.
        let (theta, psi) = (0.3, m.group(0.3).0);
        assert!((theta - psi).abs() < 1e-15);
        assert!(rel(m.group_velocity_at_angle(0.7), 2000.0) < 1e-12);
    }

    #[test]
    fn vti_elliptical_time_is_exact() {
        for &d in &[-0.1, 0.05, 0.2, 0.4] {
            let m = VtiMedium { vp0: 2000.0, epsilon: d, delta: d };
            for &(h, z) in &[(300.0, 400.0), (2500.0, 800.0), (50.0, 3000.0), (4000.0, 100.0)] {
                let exact = (z * z / (2000.0f64 * 2000.0) + h * h / (2000.0f64 * 2000.0 * (1.0 + 2.0 * d))).sqrt();
                let t = m.one_way_time(h, z);
                assert!(rel(t, exact) < 1e-9, "delta {d} h {h} z {z}: {t} vs {exact}");
            }
        }
    }

    #[test]
    fn vti_group_velocity_along_and_across_the_axis() {
        for m in [VTI, VtiMedium { vp0: 3000.0, epsilon: 0.6, delta: -0.2 }] {
            assert!(rel(m.group_velocity_at_angle(FRAC_PI_2), m.vp0 * (1.0 + 2.0 * m.epsilon).sqrt()) < 1e-9);
            assert!(rel(m.group(FRAC_PI_2).1, m.vhor()) < 1e-12);
            assert!(rel(m.group_velocity_at_angle(0.0), m.vp0) < 1e-12);
            // Nearly horizontal and nearly vertical rays approach the exact end values.
            assert!(rel(m.one_way_time(1000.0, 1e-6), 1000.0 / m.vhor()) < 1e-9);
            assert!(rel(m.one_way_time(1e-6, 1000.0), 1000.0 / m.vp0) < 1e-9);
        }
        assert!((VTI.vnmo() - 2000.0 * 1.1f64.sqrt()).abs() < 1e-12);
        assert!((VTI.eta() - 0.15 / 1.1).abs() < 1e-15);
    }

    /// The derivative, the group form `r / Vg` and the eikonal equation: the gradient of the
    /// time field (by central differences) is a slowness vector, `|grad t| V(angle of grad t) = 1`.
    #[test]
    fn vti_time_is_consistent_with_the_group_velocity_and_the_eikonal_equation() {
        let m = VtiMedium { vp0: 2000.0, epsilon: 0.3, delta: -0.05 };
        for i in 1..60 {
            let theta = 1.5 * i as f64 / 60.0;
            let step = 1e-6;
            let fd = (m.phase_velocity(theta + step) - m.phase_velocity(theta - step)) / (2.0 * step);
            assert!((fd - m.phase_velocity_derivative(theta)).abs() < 1e-5, "{theta}");
        }
        for &(h, z) in &[(300.0, 1000.0), (1000.0, 1000.0), (2500.0, 800.0), (100.0, 2000.0)] {
            let t = m.one_way_time(h, z);
            let group = f64::hypot(h, z) / m.group_velocity_at_angle(h.atan2(z));
            assert!(rel(t, group) < 1e-10, "{h} {z}: {t} vs {group}");
            let e = 1e-2;
            let th = (m.one_way_time(h + e, z) - m.one_way_time(h - e, z)) / (2.0 * e);
            let tz = (m.one_way_time(h, z + e) - m.one_way_time(h, z - e)) / (2.0 * e);
            let eikonal = th.hypot(tz) * m.phase_velocity(th.atan2(tz));
            assert!((eikonal - 1.0).abs() < 1e-6, "{h} {z}: {eikonal}");
        }
    }

    /// Independent of the phase-velocity formula: Alkhalifah's (1998, 2000) acoustic VTI
    /// dispersion relation gives the vertical slowness `q` of horizontal slowness `p`,
    /// `q^2 = (1/vp0^2) [1 - vnmo^2 p^2 / (1 - 2 eta vnmo^2 p^2)]`; the ray with slowness `p`
    /// reaches `h = -z dq/dp` at time `t = z q + p h`. Solve for `p` by bisection.
    #[test]
    fn vti_time_matches_the_acoustic_dispersion_relation() {
        let mut worst: f64 = 0.0;
        for m in [
            VTI,
            VtiMedium { vp0: 3000.0, epsilon: 0.6, delta: -0.2 },
            VtiMedium { vp0: 1500.0, epsilon: 0.1, delta: 0.1 },
        ] {
            let (n, eta, v0) = (m.vnmo().powi(2), m.eta(), m.vp0);
            let q = |p: f64| ((1.0 - n * p * p / (1.0 - 2.0 * eta * n * p * p)) / (v0 * v0)).sqrt();
            let h_over_z = |p: f64| n * p / (v0 * v0 * q(p) * (1.0 - 2.0 * eta * n * p * p).powi(2));
            for &(h, z) in &[(100.0, 1000.0), (1000.0, 1000.0), (1500.0, 1000.0), (3000.0, 500.0), (5.0, 2000.0)] {
                let (mut lo, mut hi) = (0.0, 1.0 / m.vhor());
                for _ in 0..200 {
                    let mid = 0.5 * (lo + hi);
                    if mid <= lo || mid >= hi {
                        break;
                    }
                    if z * h_over_z(mid) < h { lo = mid } else { hi = mid }
                }
                let p = 0.5 * (lo + hi);
                let t_dispersion = z * q(p) + p * h;
                let e = rel(m.one_way_time(h, z), t_dispersion);
                assert!(e < 1e-10, "{m:?} h {h} z {z}: {} vs {t_dispersion}", m.one_way_time(h, z));
                worst = worst.max(e);
            }
        }
        println!("VTI one-way time vs the acoustic dispersion relation: worst relative difference {worst:e}");
    }

    /// Alkhalifah and Tsvankin's (1995) nonhyperbolic moveout, one way with `tau = t0 / 2`:
    /// `t^2 = tau^2 + h^2/vnmo^2 - 2 eta h^4 / (vnmo^2 (tau^2 vnmo^2 + (1 + 2 eta) h^2))`.
    /// It is an approximation: with eps 0.2, delta 0.05 its error grows with `h/z` to 0.50% at
    /// `h/z = 1.49` and 0.503% at `h/z = 1.5` (reflection offset/depth 3), the exact time being
    /// checked against the dispersion relation above to 1e-15; so 0.5% up to `h/z = 1.45` and
    /// 0.51% up to 1.5.
    #[test]
    fn vti_time_agrees_with_the_alkhalifah_tsvankin_moveout() {
        let (vnmo, eta) = (VTI.vnmo(), VTI.eta());
        let mut worst: (f64, f64) = (0.0, 0.0);
        for &z in &[200.0, 1000.0, 3000.0] {
            let tau = 0.5 * VTI.depth_to_time(z);
            for i in 0..=30 {
                let h = 1.5 * z * i as f64 / 30.0;
                let (h2, v2) = (h * h, vnmo * vnmo);
                let t_at = (tau * tau + h2 / v2
                    - 2.0 * eta * h2 * h2 / (v2 * (tau * tau * v2 + (1.0 + 2.0 * eta) * h2)))
                    .sqrt();
                let e = rel(t_at, VTI.one_way_time(h, z));
                if h / z <= 1.45 + 1e-12 {
                    assert!(e < 0.005, "h/z {}: {e}", h / z);
                }
                if e > worst.0 {
                    worst = (e, h / z);
                }
            }
        }
        println!(
            "VTI eps 0.2 delta 0.05: Alkhalifah-Tsvankin vs exact, h/z <= 1.5: worst relative difference {:.4e} at h/z = {:.2}",
            worst.0, worst.1
        );
        assert!(worst.0 < 0.0051, "{worst:?}");
    }

    #[test]
    fn vti_checks() {
        assert!(VTI.check().is_ok());
        for (e, d) in [(0.6, -0.2), (0.6, 0.5), (0.5, 0.5), (0.0, -0.2), (0.0, 0.0), (0.6, 0.0)] {
            assert!(VtiMedium { vp0: 2000.0, epsilon: e, delta: d }.check().is_ok(), "{e} {d}");
        }
        for (v, e, d) in
            [(0.0, 0.1, 0.0), (2000.0, 0.1, 0.2), (2000.0, 0.7, 0.1), (2000.0, 0.1, -0.3), (2000.0, f64::NAN, 0.0)]
        {
            assert!(VtiMedium { vp0: v, epsilon: e, delta: d }.check().is_err(), "{v} {e} {d}");
        }
    }

    #[test]
    fn medium_dispatches_to_its_medium() {
        let g = GradientMedium { v0: 1800.0, k: 0.6 };
        assert_eq!(Medium::Gradient(g).depth_to_time(800.0), Some(g.depth_to_time(800.0)));
        assert_eq!(Medium::Vti(VTI).one_way_time(300.0, 800.0), Some(VTI.one_way_time(300.0, 800.0)));
        assert_eq!(Medium::Rms.one_way_time(1.0, 1.0), None);
        assert_eq!(Medium::Rms.depth_to_time(1.0), None);
        assert!(Medium::default().is_rms() && Medium::Rms.check().is_ok());
        assert!(Medium::Gradient(GradientMedium { v0: -1.0, k: 0.0 }).check().is_err());
        assert_eq!((Medium::Gradient(g).name(), Medium::Vti(VTI).name()), ("gradient", "vti"));
    }
}
