//! Migration aperture on midpoint distance, and the taper at its edge.
//!
//! A trace contributes to an output sample when the horizontal distance `dm` from its midpoint
//! to the output position is at most the aperture radius `A(t0)`:
//!
//! - `Fixed`: `A = max_m` at every time.
//! - `Dip`: `A(t0) = clip(vrms * t0/2 * tan(max_dip), min_m, max_m)`, the lateral reach of a
//!   reflector of dip `max_dip` at that time; shallow times use small apertures, which removes
//!   the steep, aliased tails of the operator where they would only add noise.
//!
//! Near the edge the contribution is tapered over the outer `fraction` of the radius, so that the
//! image does not ring from a hard cut: with `ts = A (1 - fraction)` the weight is 1 for
//! `dm <= ts` and falls to 0 (cosine, linear) or to `exp(-4.5)` (gaussian, sigma = (A - ts)/3)
//! at `dm = A`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApertureMode {
    /// The same radius `max_m` at every time.
    Fixed,
    /// `clip(vrms * t0/2 * tan(max_dip), min_m, max_m)`.
    Dip,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Aperture {
    pub mode: ApertureMode,
    /// Largest radius in metres; also the padding of the trace search around a tile.
    pub max_m: f64,
    /// Smallest radius in metres (dip mode only).
    pub min_m: f64,
    /// Steepest dip imaged, in degrees (dip mode only).
    pub max_dip_deg: f64,
}

impl Aperture {
    pub fn fixed(max_m: f64) -> Self {
        Self { mode: ApertureMode::Fixed, max_m, min_m: 0.0, max_dip_deg: 90.0 }
    }

    /// Aperture radius in metres at zero-offset time `t0` (s) where the RMS velocity is `v` (m/s).
    pub fn radius(&self, t0: f64, v: f64) -> f64 {
        match self.mode {
            ApertureMode::Fixed => self.max_m,
            ApertureMode::Dip => {
                let reach = v * 0.5 * t0 * self.max_dip_deg.to_radians().tan();
                reach.clamp(self.min_m, self.max_m)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaperKind {
    None,
    Cosine,
    Linear,
    Gaussian,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Taper {
    pub kind: TaperKind,
    /// Outer fraction of the aperture radius over which the weight falls, in [0, 1].
    pub fraction: f64,
}

impl Taper {
    pub const NONE: Taper = Taper { kind: TaperKind::None, fraction: 0.0 };

    /// Weight of a trace whose midpoint lies `dm` metres from the output position, inside an
    /// aperture of radius `a` (callers test `dm <= a` first).
    pub fn weight(&self, dm: f64, a: f64) -> f64 {
        let ts = a * (1.0 - self.fraction);
        if self.kind == TaperKind::None || dm <= ts {
            return 1.0;
        }
        let x = (dm - ts) / (a - ts);
        match self.kind {
            TaperKind::None => 1.0,
            TaperKind::Cosine => 0.5 * (1.0 + (std::f64::consts::PI * x).cos()),
            TaperKind::Linear => 1.0 - x,
            TaperKind::Gaussian => (-0.5 * (3.0 * x) * (3.0 * x)).exp(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dip_aperture_is_clipped() {
        let a = Aperture { mode: ApertureMode::Dip, max_m: 2000.0, min_m: 200.0, max_dip_deg: 45.0 };
        assert_eq!(a.radius(0.0, 2000.0), 200.0);
        assert!((a.radius(1.0, 2000.0) - 1000.0).abs() < 1e-9);
        assert_eq!(a.radius(10.0, 2000.0), 2000.0);
        assert_eq!(Aperture::fixed(1500.0).radius(3.0, 9000.0), 1500.0);
    }

    #[test]
    fn taper_shapes() {
        let a = 1000.0;
        for kind in [TaperKind::Cosine, TaperKind::Linear, TaperKind::Gaussian] {
            let t = Taper { kind, fraction: 0.2 };
            assert_eq!(t.weight(0.0, a), 1.0);
            assert_eq!(t.weight(800.0, a), 1.0);
            let mid = t.weight(900.0, a);
            assert!(mid > 0.0 && mid < 1.0, "{kind:?} {mid}");
            assert!(t.weight(950.0, a) < mid);
        }
        let cos = Taper { kind: TaperKind::Cosine, fraction: 0.2 };
        assert!((cos.weight(900.0, a) - 0.5).abs() < 1e-12);
        assert!(cos.weight(1000.0, a).abs() < 1e-12);
        let lin = Taper { kind: TaperKind::Linear, fraction: 0.2 };
        assert!((lin.weight(950.0, a) - 0.25).abs() < 1e-12);
        let gau = Taper { kind: TaperKind::Gaussian, fraction: 0.2 };
        assert!((gau.weight(1000.0, a) - (-4.5f64).exp()).abs() < 1e-12);
        assert_eq!(Taper::NONE.weight(999.0, a), 1.0);
    }
}
