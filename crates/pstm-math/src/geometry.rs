//! Source-receiver geometry of one trace.

use serde::{Deserialize, Serialize};

/// Surface positions of a trace's source and receiver, in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TraceGeometry {
    pub sx: f64,
    pub sy: f64,
    pub rx: f64,
    pub ry: f64,
}

impl TraceGeometry {
    /// Source and receiver placed symmetrically about a midpoint. The azimuth is the direction
    /// from source to receiver in degrees clockwise from north (+y), as in the dataset headers.
    pub fn from_midpoint(mx: f64, my: f64, offset: f64, azimuth_deg: f64) -> Self {
        let (sin, cos) = azimuth_deg.to_radians().sin_cos();
        let hx = 0.5 * offset * sin;
        let hy = 0.5 * offset * cos;
        Self { sx: mx - hx, sy: my - hy, rx: mx + hx, ry: my + hy }
    }

    pub fn midpoint(&self) -> (f64, f64) {
        (0.5 * (self.sx + self.rx), 0.5 * (self.sy + self.ry))
    }

    /// Source-receiver distance in metres.
    pub fn offset(&self) -> f64 {
        (self.rx - self.sx).hypot(self.ry - self.sy)
    }

    /// Source-to-receiver direction in degrees clockwise from north, in [0, 360).
    pub fn azimuth_deg(&self) -> f64 {
        let a = (self.rx - self.sx).atan2(self.ry - self.sy).to_degrees();
        if a < 0.0 { a + 360.0 } else { a }
    }

    /// Squared horizontal distances from an image point to the source and to the receiver.
    pub fn leg_distances_sq(&self, x: f64, y: f64) -> (f64, f64) {
        let (dsx, dsy) = (x - self.sx, y - self.sy);
        let (drx, dry) = (x - self.rx, y - self.ry);
        (dsx * dsx + dsy * dsy, drx * drx + dry * dry)
    }

    /// Squared horizontal distance from the midpoint to an image point.
    pub fn midpoint_distance_sq(&self, x: f64, y: f64) -> f64 {
        let (mx, my) = self.midpoint();
        (mx - x) * (mx - x) + (my - y) * (my - y)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn midpoint_offset_azimuth_round_trip() {
        for &az in &[0.0, 30.0, 90.0, 200.0, 359.0] {
            let g = TraceGeometry::from_midpoint(100.0, -50.0, 800.0, az);
            let (mx, my) = g.midpoint();
            assert!((mx - 100.0).abs() < 1e-9 && (my + 50.0).abs() < 1e-9);
            assert!((g.offset() - 800.0).abs() < 1e-9);
            assert!((g.azimuth_deg() - az).abs() < 1e-9, "az {az} -> {}", g.azimuth_deg());
        }
        // Azimuth 90 points east: the receiver lies east of the source.
        let g = TraceGeometry::from_midpoint(0.0, 0.0, 200.0, 90.0);
        assert!((g.rx - 100.0).abs() < 1e-12 && g.ry.abs() < 1e-12);
    }
}
