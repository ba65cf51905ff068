//! Amplitude weights of a contribution.
//!
//! - spreading `1/(v t)`: compensates the geometric spreading of a point source in a medium of
//!   RMS velocity `v` along a path of two-way time `t`; on a 2D line (`line`), `1/sqrt(v t)`, the
//!   cylindrical spreading a line's data has;
//! - obliquity `t0/t`: the cosine of the emergence angle in the straight-ray approximation.
//!
//! Both are switchable. Where `t` is zero (only at `t0 = 0`, zero offset, directly above), the
//! obliquity is 1 and the spreading uses `t = dt/2`, the smallest time a sample can resolve.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AmplitudeWeights {
    pub spreading: bool,
    pub obliquity: bool,
    /// A 2D line: spreading `1/sqrt(v t)`.
    #[serde(default)]
    pub line: bool,
}

impl AmplitudeWeights {
    pub const NONE: AmplitudeWeights = AmplitudeWeights { spreading: false, obliquity: false, line: false };

    /// Spreading and obliquity as given, in 3D.
    pub const fn new(spreading: bool, obliquity: bool) -> Self {
        Self { spreading, obliquity, line: false }
    }

    /// Weight for output time `t0`, traveltime `t` (s), RMS velocity `v` (m/s); `dt` is the
    /// trace sample interval (s), used only to keep `1/(v t)` finite at `t = 0`.
    pub fn weight(&self, t0: f64, t: f64, v: f64, dt: f64) -> f64 {
        let mut w = 1.0;
        if self.spreading {
            let vt = v * t.max(0.5 * dt);
            w /= if self.line { vt.sqrt() } else { vt };
        }
        if self.obliquity && t > 0.0 {
            w *= t0 / t;
        }
        w
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_switch_independently() {
        let (t0, t, v, dt) = (1.0, 2.0, 2000.0, 0.002);
        assert_eq!(AmplitudeWeights::NONE.weight(t0, t, v, dt), 1.0);
        let s = AmplitudeWeights::new(true, false);
        assert!((s.weight(t0, t, v, dt) - 1.0 / 4000.0).abs() < 1e-15);
        let o = AmplitudeWeights::new(false, true);
        assert_eq!(o.weight(t0, t, v, dt), 0.5);
        let both = AmplitudeWeights::new(true, true);
        assert!((both.weight(t0, t, v, dt) - 0.5 / 4000.0).abs() < 1e-15);
        assert!(both.weight(0.0, 0.0, v, dt).is_finite());
        let line = AmplitudeWeights { line: true, ..both };
        assert!((line.weight(t0, t, v, dt) - 0.5 / 4000f64.sqrt()).abs() < 1e-15);
    }
}
