//! The imaging operator: every choice of a job that decides what one contribution is, as one
//! value. The validated job builds it once; every backend takes it whole, so a new piece of
//! physics (a traveltime type, antialiasing, another interpolation) is added here once and every
//! kernel that cannot honour it fails to compile or refuses it by name, never silently.

use serde::{Deserialize, Serialize};

use crate::traveltime::Gradient;
use crate::{AmplitudeWeights, Antialiasing, Aperture, Interpolation, Prefilter, Taper};

/// How the traveltime from surface to image point and back is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Traveltime {
    /// Double square root with the RMS velocity ([`crate::traveltime::dsr_time`]).
    #[default]
    StraightRay,
    /// The exact one-way times of a constant-gradient medium ([`crate::traveltime`]), the
    /// gradient in [`ImagingOperator::gradient`].
    CurvedRay,
    /// Alkhalifah-Tsvankin non-hyperbolic moveout per leg, with the velocity model's eta.
    Vti,
}

/// What a kernel needs to know about the imaging condition, besides traces and velocities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImagingOperator {
    pub traveltime: Traveltime,
    /// How traces are read between samples ([`crate::interp`]); with triangle antialiasing the
    /// doubly integrated trace is read linearly, whatever this says (the job refuses others).
    pub interpolation: Interpolation,
    /// Operator antialiasing ([`crate::antialias`]).
    #[serde(default, skip_serializing_if = "Antialiasing::is_none")]
    pub antialiasing: Antialiasing,
    pub aperture: Aperture,
    pub taper: Taper,
    pub weights: AmplitudeWeights,
    /// Applied once to every input trace when it is read, before any kernel sees it.
    pub prefilter: Prefilter,
    /// The stretch mute: contributions whose traveltime exceeds this multiple of `t0` (an
    /// emergence angle past `arccos(1/max)`) are dropped, from the fold too; `None`: none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stretch_mute: Option<f64>,
    /// The curved ray's medium: given, or fitted to the velocity function when the job is
    /// built; `None` for the other traveltimes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gradient: Option<Gradient>,
}

impl ImagingOperator {
    /// Fixed aperture, no taper, no weights, no pre-filter: the plain diffraction-stack sum.
    pub fn plain(aperture_m: f64) -> Self {
        Self {
            traveltime: Traveltime::StraightRay,
            interpolation: Interpolation::Linear,
            antialiasing: Antialiasing::NONE,
            aperture: Aperture::fixed(aperture_m),
            taper: Taper::NONE,
            weights: AmplitudeWeights::NONE,
            prefilter: Prefilter::None,
            stretch_mute: None,
            gradient: None,
        }
    }

    /// Whether the stretch mute drops a contribution of traveltime `t` to output time `t0`.
    pub fn stretched(&self, t0: f64, t: f64) -> bool {
        self.stretch_mute.is_some_and(|max| t > max * t0)
    }

    /// The leg law of output time `t0` where the velocity is `v` and the anellipticity `eta`.
    pub fn leg_law(&self, t0: f64, v: f64, eta: f64) -> crate::traveltime::LegLaw {
        crate::traveltime::LegLaw::new(self.traveltime, self.gradient.as_ref(), t0, v, eta)
    }

    /// The trace read at fractional position `u` for a contribution whose operator shifts `shift`
    /// seconds per output step ([`crate::antialias::Antialiasing::shift`]; unused without
    /// antialiasing), the trace sampled every `dt`: the interpolated sample, down-weighted
    /// (`weight`), or triangle-filtered from the trace's double integral (`triangle`: then
    /// `trace` holds it, and `None` says the triangle reaches past an end of the trace).
    pub fn read(&self, trace: &[f32], u: f64, shift: f64, dt: f64) -> Option<f64> {
        match self.antialiasing.method {
            crate::AntialiasMethod::None => Some(self.interpolation.read(trace, u)),
            crate::AntialiasMethod::Weight => {
                Some(self.interpolation.read(trace, u) * Antialiasing::down_weight(shift, dt))
            }
            crate::AntialiasMethod::Triangle => {
                crate::antialias::triangle(trace, u, Antialiasing::half_length(shift, dt))
            }
        }
    }

    /// The operator's time shift per output step for a trace `g` at image point `(x, y)` and
    /// leg law `law` (s); zero without antialiasing. The rates take a leg's time as at least half
    /// a sample `dt`.
    pub fn shift(&self, law: &crate::LegLaw, g: &crate::TraceGeometry, x: f64, y: f64, dt: f64) -> f64 {
        if self.antialiasing.is_none() {
            return 0.0;
        }
        let (ds2, dr2) = g.leg_distances_sq(x, y);
        let t_min = 0.5 * dt;
        Antialiasing::shift(law.rate(ds2, t_min), law.rate(dr2, t_min), self.antialiasing.leg_projections(g, x, y))
    }

    /// The largest traveltime (s) the stretch mute lets contribute to output time `t0`.
    pub fn stretch_limit(&self, t0: f64) -> f64 {
        self.stretch_mute.map_or(f64::INFINITY, |max| max * t0)
    }
}
