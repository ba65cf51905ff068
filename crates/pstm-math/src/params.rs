//! The settings every migration kernel honours.

use serde::{Deserialize, Serialize};

use crate::{AmplitudeWeights, Aperture, Taper};

/// What a kernel needs to know about the imaging condition, besides traces and velocities.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MigrationParams {
    pub aperture: Aperture,
    pub taper: Taper,
    pub weights: AmplitudeWeights,
}

impl MigrationParams {
    /// Fixed aperture, no taper, no weights: the plain diffraction-stack sum.
    pub fn plain(aperture_m: f64) -> Self {
        Self { aperture: Aperture::fixed(aperture_m), taper: Taper::NONE, weights: AmplitudeWeights::NONE }
    }
}
