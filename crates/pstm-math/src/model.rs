//! Forward modelling of synthetic prestack traces: point diffractors and planar reflectors.
//!
//! Kinematics follow the straight-ray model that the migration inverts:
//!
//! - A point diffractor at `(x, y, z)` has zero-offset two-way time `t0`, where `t0 = 2z/v` in a
//!   constant velocity. With an RMS velocity function the straight-ray equivalent depth is used:
//!   `t0` solves `t0 = 2z / Vrms(t0)`. Its traveltime for any source and receiver is the DSR time
//!   [`crate::traveltime::dsr_time`] at that `t0` and `Vrms(t0)`.
//! - A planar reflector in a constant velocity reflects at the mirror image of the source: the
//!   traveltime is `|r - s'| / v` with `s'` the source mirrored in the plane (exact for any dip).
//!   With an RMS velocity function only flat reflectors are modelled, with the hyperbolic time
//!   `sqrt(t0^2 + offset^2 / Vrms(t0)^2)`.
//!
//! Geometric spreading, when on, scales each event by the ratio of its zero-offset path to its
//! actual path (1 at zero offset directly above), so amplitudes stay near the event's own.
//!
//! With a [`Medium`] other than [`Medium::Rms`] (a constant-gradient or a homogeneous VTI
//! medium, [`crate::media`]) the kinematics are the physics' instead of the migration's: a
//! diffractor's `t0` is the medium's two-way vertical time, and its traveltime is the sum of the
//! exact one-way times of its two legs, `t = T(|s - (x, y)|, z) + T(|r - (x, y)|, z)`, `T` the
//! medium's [`Medium::one_way_time`]. The spreading factor is then `(t0/2)^2 / (ts tr)` with
//! `ts`, `tr` the legs' times: the zero-offset one-way time over the legs' times, the same form
//! as the RMS model's (where a leg's time is proportional to its path length). Reflectors are
//! not modelled in these media ([`ForwardModel::check`] rejects them); linear events are.

use serde::{Deserialize, Serialize};

use crate::geometry::TraceGeometry;
use crate::media::Medium;
use crate::rng::SplitMix64;
use crate::traveltime::dsr_time;
use crate::velocity::VelocityModel;
use crate::wavelet::Wavelet;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Diffractor {
    pub x: f64,
    pub y: f64,
    /// Depth below the surface (m).
    pub z: f64,
    #[serde(default = "one")]
    pub amplitude: f64,
}

/// A plane through `(x0, y0, z0)`, dipping `dip_deg` towards `dip_azimuth_deg` (clockwise from
/// north): depth `z0 + tan(dip) * ((x - x0) sin(az) + (y - y0) cos(az))`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanarReflector {
    #[serde(default)]
    pub x0: f64,
    #[serde(default)]
    pub y0: f64,
    pub z0: f64,
    #[serde(default)]
    pub dip_deg: f64,
    #[serde(default)]
    pub dip_azimuth_deg: f64,
    /// Reflection coefficient.
    #[serde(default = "one")]
    pub amplitude: f64,
}

fn one() -> f64 {
    1.0
}

/// An event whose time grows linearly with offset, `intercept + offset / velocity`: a direct
/// arrival, a refraction, or (with a low frequency and a slow velocity) ground roll. What a
/// mute is for; the migration images it into noise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinearEvent {
    /// Apparent velocity along the surface (m/s).
    pub velocity: f64,
    #[serde(default)]
    pub intercept_ms: f64,
    #[serde(default = "one")]
    pub amplitude: f64,
    /// Peak frequency of its Ricker wavelet; absent: the survey's wavelet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq_hz: Option<f64>,
}

impl PlanarReflector {
    /// Depth of the plane below `(x, y)`.
    pub fn depth_at(&self, x: f64, y: f64) -> f64 {
        let (sin_az, cos_az) = self.dip_azimuth_deg.to_radians().sin_cos();
        self.z0 + self.dip_deg.to_radians().tan() * ((x - self.x0) * sin_az + (y - self.y0) * cos_az)
    }

    /// Unit normal pointing down, and the plane's point.
    fn normal(&self) -> [f64; 3] {
        let (sin_d, cos_d) = self.dip_deg.to_radians().sin_cos();
        let (sin_az, cos_az) = self.dip_azimuth_deg.to_radians().sin_cos();
        [-sin_d * sin_az, -sin_d * cos_az, cos_d]
    }

    /// Perpendicular distance from a surface point to the plane (positive when the plane is below).
    pub fn distance_below(&self, x: f64, y: f64) -> f64 {
        let n = self.normal();
        (self.x0 - x) * n[0] + (self.y0 - y) * n[1] + self.z0 * n[2]
    }
}

/// Everything needed to compute a synthetic trace.
#[derive(Debug, Clone)]
pub struct ForwardModel {
    pub diffractors: Vec<Diffractor>,
    pub reflectors: Vec<PlanarReflector>,
    pub linear_events: Vec<LinearEvent>,
    pub velocity: VelocityModel,
    pub wavelet: Wavelet,
    pub spreading: bool,
    /// Standard deviation of additive white Gaussian noise (events have amplitude ~1).
    pub noise: f64,
    pub seed: u64,
    /// Where diffraction times come from: [`Medium::Rms`] (the default), the straight-ray DSR
    /// time in `velocity`; a gradient or VTI medium, its exact one-way times (`velocity` is then
    /// not used).
    pub medium: Medium,
}

/// Where a trace's samples lie in time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TraceTiming {
    pub t_start: f64,
    pub dt: f64,
    pub n: usize,
}

impl ForwardModel {
    fn vrms(&self, t0: f64) -> f64 {
        self.velocity.vrms(0.0, 0.0, t0)
    }

    /// Zero-offset two-way time of a point at depth `z`: solves `t0 = 2z / Vrms(t0)`; in a
    /// gradient or VTI medium, the medium's two-way vertical time.
    pub fn depth_to_time(&self, z: f64) -> f64 {
        if let Some(t0) = self.medium.depth_to_time(z) {
            return t0;
        }
        let mut t0 = 2.0 * z / self.vrms(0.0);
        // Fixed-point iteration; Vrms changes slowly with time, so this contracts quickly.
        for _ in 0..200 {
            let next = 2.0 * z / self.vrms(t0);
            if (next - t0).abs() < 1e-13 {
                return next;
            }
            t0 = next;
        }
        t0
    }

    /// Diffraction traveltime and spreading factor of a diffractor for one trace.
    pub fn diffraction(&self, d: &Diffractor, g: &TraceGeometry) -> (f64, f64) {
        if !self.medium.is_rms() {
            return self.diffraction_in_medium(d, g);
        }
        let t0 = self.depth_to_time(d.z);
        let v = self.vrms(t0);
        let (ds2, dr2) = g.leg_distances_sq(d.x, d.y);
        let t = dsr_time(t0, ds2, dr2, v);
        let h2 = 0.25 * t0 * t0;
        let (ts, tr) = ((h2 + ds2 / (v * v)).sqrt(), (h2 + dr2 / (v * v)).sqrt());
        let spreading = if ts * tr > 0.0 { h2 / (ts * tr) } else { 1.0 };
        (t, spreading)
    }

    /// The exact two-leg time in a gradient or VTI medium, and the spreading
    /// `(t0/2)^2 / (ts tr)`.
    fn diffraction_in_medium(&self, d: &Diffractor, g: &TraceGeometry) -> (f64, f64) {
        let half_t0 = 0.5 * self.depth_to_time(d.z);
        let (ds2, dr2) = g.leg_distances_sq(d.x, d.y);
        let leg = |dist2: f64| self.medium.one_way_time(dist2.sqrt(), d.z).expect("not the RMS medium");
        let (ts, tr) = (leg(ds2), leg(dr2));
        let spreading = if ts * tr > 0.0 { half_t0 * half_t0 / (ts * tr) } else { 1.0 };
        (ts + tr, spreading)
    }

    /// Reflection traveltime and spreading factor, or `None` where the plane is not below both
    /// source and receiver. Dipping planes need a laterally invariant constant velocity
    /// (checked by [`ForwardModel::check`]). Not modelled in a gradient or VTI medium: `None`
    /// (and [`ForwardModel::check`] rejects reflectors there).
    pub fn reflection(&self, r: &PlanarReflector, g: &TraceGeometry) -> Option<(f64, f64)> {
        if !self.medium.is_rms() {
            return None;
        }
        let (ds, dr) = (r.distance_below(g.sx, g.sy), r.distance_below(g.rx, g.ry));
        if ds <= 0.0 || dr <= 0.0 {
            return None;
        }
        if r.dip_deg == 0.0 {
            let t0 = self.depth_to_time(r.z0);
            let v = self.vrms(t0);
            let off2 = (g.rx - g.sx).powi(2) + (g.ry - g.sy).powi(2);
            let t = (t0 * t0 + off2 / (v * v)).sqrt();
            return Some((t, if t > 0.0 { t0 / t } else { 1.0 }));
        }
        let v = self.vrms(0.0);
        let n = r.normal();
        let mirrored = [g.sx + 2.0 * ds * n[0], g.sy + 2.0 * ds * n[1], 2.0 * ds * n[2]];
        let path = ((g.rx - mirrored[0]).powi(2) + (g.ry - mirrored[1]).powi(2) + mirrored[2].powi(2)).sqrt();
        Some((path / v, if path > 0.0 { 2.0 * ds / path } else { 1.0 }))
    }

    /// Reject models this forward model cannot compute exactly.
    pub fn check(&self) -> Result<(), String> {
        self.wavelet.check()?;
        self.medium.check()?;
        if !self.medium.is_rms() && !self.reflectors.is_empty() {
            return Err(format!(
                "reflector 0: reflectors are not modelled in a {} medium (only diffractors and linear events are): \
                 remove the {} reflector(s) or the medium",
                self.medium.name(),
                self.reflectors.len()
            ));
        }
        let constant = self.velocity.is_laterally_invariant() && {
            let v0 = self.vrms(0.0);
            [0.5, 1.0, 2.0, 5.0, 10.0].iter().all(|&t| self.vrms(t) == v0)
        };
        for (i, r) in self.reflectors.iter().enumerate() {
            if r.dip_deg != 0.0 && !constant {
                return Err(format!("reflector {i}: dipping reflectors need a constant velocity"));
            }
            // Written so that NaN fails too.
            if r.dip_deg.abs().partial_cmp(&80.0).is_none_or(|o| o == std::cmp::Ordering::Greater) {
                return Err(format!("reflector {i}: dip {} degrees must be at most 80", r.dip_deg));
            }
        }
        for (i, e) in self.linear_events.iter().enumerate() {
            if !(e.velocity.is_finite() && e.velocity > 0.0) {
                return Err(format!("linear event {i}: velocity {} m/s must be positive", e.velocity));
            }
            if let Some(f) = e.freq_hz {
                Wavelet::Ricker { freq_hz: f }.check().map_err(|m| format!("linear event {i}: {m}"))?;
            }
        }
        for (i, d) in self.diffractors.iter().enumerate() {
            if d.z.is_nan() || d.z <= 0.0 {
                return Err(format!("diffractor {i}: depth z = {} m must be positive", d.z));
            }
            if let Medium::Gradient(m) = &self.medium {
                m.check_depth(d.z).map_err(|e| format!("diffractor {i}: {e}"))?;
            }
        }
        if self.noise.is_nan() || self.noise < 0.0 {
            return Err(format!("noise {} must be zero or positive", self.noise));
        }
        Ok(())
    }

    fn add_event(&self, out: &mut [f32], timing: &TraceTiming, t_event: f64, amplitude: f64) {
        Self::add_wavelet(&self.wavelet, out, timing, t_event, amplitude);
    }

    fn add_wavelet(wavelet: &Wavelet, out: &mut [f32], timing: &TraceTiming, t_event: f64, amplitude: f64) {
        let half = wavelet.half_length();
        let first = (((t_event - half - timing.t_start) / timing.dt).ceil().max(0.0)) as usize;
        let last = ((t_event + half - timing.t_start) / timing.dt).floor();
        if last < 0.0 {
            return;
        }
        let last = (last as usize).min(timing.n.saturating_sub(1));
        for (k, s) in out.iter_mut().enumerate().take(last + 1).skip(first) {
            let t = timing.t_start + k as f64 * timing.dt;
            *s += (amplitude * wavelet.value(t - t_event)) as f32;
        }
    }

    /// Compute trace number `trace_index` (which seeds its noise) into `out` (overwritten).
    pub fn trace(&self, g: &TraceGeometry, trace_index: u64, timing: &TraceTiming, out: &mut [f32]) {
        out.fill(0.0);
        for d in &self.diffractors {
            let (t, s) = self.diffraction(d, g);
            self.add_event(out, timing, t, d.amplitude * if self.spreading { s } else { 1.0 });
        }
        for r in &self.reflectors {
            if let Some((t, s)) = self.reflection(r, g) {
                self.add_event(out, timing, t, r.amplitude * if self.spreading { s } else { 1.0 });
            }
        }
        for e in &self.linear_events {
            let wavelet = e.freq_hz.map_or(self.wavelet, |f| Wavelet::Ricker { freq_hz: f });
            let t = e.intercept_ms * 1e-3 + g.offset() / e.velocity;
            Self::add_wavelet(&wavelet, out, timing, t, e.amplitude);
        }
        if self.noise > 0.0 {
            let mut rng = SplitMix64::for_trace(self.seed, trace_index);
            for s in out.iter_mut() {
                *s += (self.noise * rng.normal()) as f32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{GradientMedium, VtiMedium};
    use crate::velocity::{VelocityFunction, VelocityType};

    fn model(velocity: VelocityModel) -> ForwardModel {
        ForwardModel {
            diffractors: vec![Diffractor { x: 500.0, y: 500.0, z: 800.0, amplitude: 1.0 }],
            reflectors: vec![],
            linear_events: vec![],
            velocity,
            wavelet: Wavelet::Ricker { freq_hz: 25.0 },
            spreading: false,
            noise: 0.0,
            seed: 1,
            medium: Medium::Rms,
        }
    }

    #[test]
    fn diffraction_time_is_dsr_with_t0_2z_over_v() {
        let m = model(VelocityModel::constant(2500.0));
        assert!((m.depth_to_time(800.0) - 0.64).abs() < 1e-12);
        let g = TraceGeometry::from_midpoint(700.0, 450.0, 600.0, 30.0);
        let (t, _) = m.diffraction(&m.diffractors[0], &g);
        let rs = ((g.sx - 500.0).powi(2) + (g.sy - 500.0).powi(2) + 800.0f64.powi(2)).sqrt();
        let rr = ((g.rx - 500.0).powi(2) + (g.ry - 500.0).powi(2) + 800.0f64.powi(2)).sqrt();
        assert!((t - (rs + rr) / 2500.0).abs() < 1e-12);
    }

    #[test]
    fn diffractor_trace_peaks_at_analytic_time_within_half_a_sample() {
        let m = model(VelocityModel::constant(2500.0));
        let timing = TraceTiming { t_start: 0.0, dt: 0.002, n: 1001 };
        let mut out = vec![0.0f32; timing.n];
        for (mx, my, off, az) in [(500.0, 500.0, 0.0, 0.0), (650.0, 300.0, 400.0, 90.0), (100.0, 900.0, 1200.0, 45.0)] {
            let g = TraceGeometry::from_midpoint(mx, my, off, az);
            m.trace(&g, 0, &timing, &mut out);
            let (t, _) = m.diffraction(&m.diffractors[0], &g);
            let k = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            let t_peak = k as f64 * timing.dt;
            assert!((t_peak - t).abs() <= 0.5 * timing.dt + 1e-12, "peak {t_peak} vs {t}");
        }
    }

    #[test]
    fn gradient_diffractor_trace_peaks_at_the_exact_time_within_half_a_sample() {
        let gradient = GradientMedium { v0: 1800.0, k: 0.6 };
        let mut m = model(VelocityModel::constant(2500.0));
        m.medium = Medium::Gradient(gradient);
        m.spreading = true;
        assert!(m.check().is_ok());
        let t0 = m.depth_to_time(800.0);
        assert!((t0 - 2.0 / 0.6 * (1.0 + 0.6 * 800.0 / 1800.0f64).ln()).abs() < 1e-12);
        let timing = TraceTiming { t_start: 0.0, dt: 0.002, n: 1001 };
        let mut out = vec![0.0f32; timing.n];
        for (mx, my, off, az) in [(500.0, 500.0, 0.0, 0.0), (650.0, 300.0, 400.0, 90.0), (100.0, 900.0, 1200.0, 45.0)] {
            let g = TraceGeometry::from_midpoint(mx, my, off, az);
            // The exact time, leg by leg from the arccosh form of the circular-arc ray.
            let leg = |x: f64, y: f64| {
                let r2 = (x - 500.0).powi(2) + (y - 500.0).powi(2) + 800.0f64.powi(2);
                let vz = 1800.0 + 0.6 * 800.0;
                (1.0 + 0.36 * r2 / (2.0 * 1800.0 * vz)).acosh() / 0.6
            };
            let exact = leg(g.sx, g.sy) + leg(g.rx, g.ry);
            let (t, s) = m.diffraction(&m.diffractors[0], &g);
            assert!((t - exact).abs() < 1e-9, "{t} vs {exact}");
            assert!(s > 0.0 && s <= 1.0 + 1e-12);
            m.trace(&g, 0, &timing, &mut out);
            let k = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            let t_peak = k as f64 * timing.dt;
            assert!((t_peak - exact).abs() <= 0.5 * timing.dt + 1e-12, "peak {t_peak} vs {exact}");
        }
        // Directly above at zero offset: t0, spreading 1.
        let (t, s) = m.diffraction(&m.diffractors[0], &TraceGeometry::from_midpoint(500.0, 500.0, 0.0, 0.0));
        assert!((t - t0).abs() < 1e-12 && (s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn vti_diffraction_is_the_sum_of_the_exact_legs() {
        let vti = VtiMedium { vp0: 2000.0, epsilon: 0.2, delta: 0.05 };
        let mut m = model(VelocityModel::constant(2500.0));
        m.medium = Medium::Vti(vti);
        assert!(m.check().is_ok());
        assert_eq!(m.depth_to_time(800.0), 0.8);
        let g = TraceGeometry::from_midpoint(700.0, 450.0, 600.0, 30.0);
        let (t, _) = m.diffraction(&m.diffractors[0], &g);
        let hs = (g.sx - 500.0).hypot(g.sy - 500.0);
        let hr = (g.rx - 500.0).hypot(g.ry - 500.0);
        assert_eq!(t, vti.one_way_time(hs, 800.0) + vti.one_way_time(hr, 800.0));
        // Faster sideways than the isotropic vp0, slower than the horizontal velocity.
        assert!(t < (hs.hypot(800.0) + hr.hypot(800.0)) / 2000.0);
        assert!(t > (hs.hypot(800.0) + hr.hypot(800.0)) / vti.vhor());
        let timing = TraceTiming { t_start: 0.0, dt: 0.002, n: 1001 };
        let mut out = vec![0.0f32; timing.n];
        m.trace(&g, 0, &timing, &mut out);
        let k = out.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert!((k as f64 * timing.dt - t).abs() <= 0.5 * timing.dt + 1e-12);
    }

    #[test]
    fn media_reject_reflectors_and_bad_parameters() {
        let mut m = model(VelocityModel::constant(2500.0));
        m.medium = Medium::Gradient(GradientMedium { v0: 1800.0, k: 0.6 });
        m.reflectors.push(PlanarReflector {
            x0: 0.0,
            y0: 0.0,
            z0: 1000.0,
            dip_deg: 0.0,
            dip_azimuth_deg: 0.0,
            amplitude: 1.0,
        });
        let e = m.check().unwrap_err();
        assert!(e.contains("not modelled in a gradient medium"), "{e}");
        assert_eq!(m.reflection(&m.reflectors[0], &TraceGeometry::from_midpoint(0.0, 0.0, 0.0, 0.0)), None);
        m.reflectors.clear();
        // The velocity must stay positive down to every diffractor.
        m.medium = Medium::Gradient(GradientMedium { v0: 1800.0, k: -3.0 });
        let e = m.check().unwrap_err();
        assert!(e.starts_with("diffractor 0: gradient medium") && e.contains("must be positive"), "{e}");
        m.medium = Medium::Gradient(GradientMedium { v0: 0.0, k: 0.6 });
        assert!(m.check().is_err());
        m.medium = Medium::Vti(VtiMedium { vp0: 2000.0, epsilon: 0.0, delta: 0.1 });
        assert!(m.check().unwrap_err().contains("epsilon"));
    }

    #[test]
    fn rms_function_depth_to_time_is_consistent() {
        let v = VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 600.0 }, VelocityType::Rms).unwrap();
        let m = model(v.clone());
        let t0 = m.depth_to_time(1000.0);
        assert!((t0 - 2.0 * 1000.0 / v.vrms(0.0, 0.0, t0)).abs() < 1e-10);
    }

    #[test]
    fn flat_and_dipping_reflectors() {
        let mut m = model(VelocityModel::constant(2000.0));
        let flat = PlanarReflector { x0: 0.0, y0: 0.0, z0: 1000.0, dip_deg: 0.0, dip_azimuth_deg: 0.0, amplitude: 1.0 };
        let g = TraceGeometry::from_midpoint(300.0, 0.0, 800.0, 90.0);
        let (t, _) = m.reflection(&flat, &g).unwrap();
        assert!((t - (2000.0f64.powi(2) + 800.0f64.powi(2)).sqrt() / 2000.0).abs() < 1e-12);
        // A dipping plane at zero offset: time is twice the perpendicular distance over v.
        let dip = PlanarReflector { dip_deg: 20.0, dip_azimuth_deg: 90.0, ..flat };
        let g0 = TraceGeometry::from_midpoint(400.0, 0.0, 0.0, 0.0);
        let (t, _) = m.reflection(&dip, &g0).unwrap();
        let perp = dip.depth_at(400.0, 0.0) * 20f64.to_radians().cos();
        assert!((t - 2.0 * perp / 2000.0).abs() < 1e-12);
        // The dipping plane with source and receiver swapped gives the same time (reciprocity).
        let g = TraceGeometry::from_midpoint(400.0, 100.0, 700.0, 60.0);
        let swapped = TraceGeometry { sx: g.rx, sy: g.ry, rx: g.sx, ry: g.sy };
        let (a, _) = m.reflection(&dip, &g).unwrap();
        let (b, _) = m.reflection(&dip, &swapped).unwrap();
        assert!((a - b).abs() < 1e-12);
        m.reflectors.push(dip);
        assert!(m.check().is_ok());
        m.velocity = VelocityModel::new(VelocityFunction::Linear { v0: 1800.0, k: 600.0 }, VelocityType::Rms).unwrap();
        assert!(m.check().is_err());
    }

    #[test]
    fn noise_is_reproducible_per_trace() {
        let mut m = model(VelocityModel::constant(2500.0));
        m.noise = 0.05;
        let timing = TraceTiming { t_start: 0.0, dt: 0.002, n: 100 };
        let g = TraceGeometry::from_midpoint(0.0, 0.0, 200.0, 0.0);
        let (mut a, mut b, mut c) = (vec![0.0; 100], vec![0.0; 100], vec![0.0; 100]);
        m.trace(&g, 5, &timing, &mut a);
        m.trace(&g, 5, &timing, &mut b);
        m.trace(&g, 6, &timing, &mut c);
        assert_eq!(a, b);
        assert_ne!(a, c);
    }
}
