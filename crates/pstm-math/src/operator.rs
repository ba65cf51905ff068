//! The imaging operator: every choice of a job that decides what one contribution is, as one
//! value. The validated job builds it once; every backend takes it whole, so a new piece of
//! physics (a traveltime type, antialiasing, another interpolation) is added here once and every
//! kernel that cannot honour it fails to compile or refuses it by name, never silently.

use serde::{Deserialize, Serialize};

use crate::{AmplitudeWeights, Aperture, Prefilter, Taper};

/// How the traveltime from surface to image point and back is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Traveltime {
    /// Double square root with the RMS velocity ([`crate::traveltime::dsr_time`]).
    #[default]
    StraightRay,
}

/// How a trace is read between its samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Interpolation {
    /// Linear between the two neighbouring samples ([`crate::interp::linear`]).
    #[default]
    Linear,
}

/// What a kernel needs to know about the imaging condition, besides traces and velocities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ImagingOperator {
    pub traveltime: Traveltime,
    pub interpolation: Interpolation,
    pub aperture: Aperture,
    pub taper: Taper,
    pub weights: AmplitudeWeights,
    /// Applied once to every input trace when it is read, before any kernel sees it.
    pub prefilter: Prefilter,
}

impl ImagingOperator {
    /// Fixed aperture, no taper, no weights, no pre-filter: the plain diffraction-stack sum.
    pub fn plain(aperture_m: f64) -> Self {
        Self {
            traveltime: Traveltime::StraightRay,
            interpolation: Interpolation::Linear,
            aperture: Aperture::fixed(aperture_m),
            taper: Taper::NONE,
            weights: AmplitudeWeights::NONE,
            prefilter: Prefilter::None,
        }
    }
}
