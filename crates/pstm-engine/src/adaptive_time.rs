//! Adaptive time sampling in a run (`algorithm.adaptive_time`, `pstm_math::time_sampling`): the
//! decimation chosen from the image's band, and what the run did with it.
//!
//! The band is measured on the image, not the traces: a sample of it migrated on the full time
//! axis (the adaptive coarse pass's image, or a pilot on a sparse grid). The image is what is
//! interpolated, and its band is narrower than the data's in ways only migrating shows: the
//! Kirchhoff sum integrates a trace unless it is pre-filtered, the operator stretches it, and
//! stacking suppresses the incoherent noise that would otherwise reach the Nyquist frequency.

use std::time::Instant;

use pstm_kernel::{MigrationKernel, TileImage};
use pstm_math::time_sampling::{TimeDecimation, TimeSamplingSettings, decimation_factor, highest_frequency};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::Result;
use crate::executor::sparse_image;
use crate::job::MigrationJob;
use crate::plan::Plan;
use crate::store::JobTraces;

/// What an adaptive-time run migrated.
#[derive(Debug, Clone, Serialize)]
pub struct TimeSamplingSummary {
    pub factor: usize,
    /// The migrated (coarse) output sample interval (ms).
    pub coarse_dt_ms: f64,
    /// The image's highest frequency as measured, when the factor was chosen from it (`None`:
    /// configured, or an image without energy).
    pub highest_frequency_hz: Option<f64>,
    /// The factor was the configuration's (`algorithm.adaptive_time.factor`).
    pub configured: bool,
    /// Columns of the image sample the band was measured on (0 when the factor was configured).
    pub pilot_columns: usize,
    /// Wall time of the pilot migration (0 when the adaptive coarse pass's image served).
    pub pilot_s: f64,
    /// In-aperture contributions on the coarse axis: the work the kernel did.
    pub computed_contributions: u64,
}

/// The decimation of `job`'s output time axis: the configured factor, or the coarsest the band of
/// `image` (columns of `job`'s time axis) allows; and the band when measured.
pub fn choose(
    job: &MigrationJob,
    settings: &TimeSamplingSettings,
    image: Option<&[f32]>,
) -> (TimeDecimation, Option<f64>) {
    let time = job.grid.time;
    let f_max = match (settings.factor, image) {
        (Some(factor), _) => return (TimeDecimation::new(time, factor), None),
        (None, None) => None,
        (None, Some(image)) => highest_frequency(image.chunks(time.nt.max(1)), time.dt_s, settings.level_db),
    };
    // Without energy there is no band to keep: the axis stays as asked.
    let factor = f_max.map_or(1, |f| decimation_factor(f, time.dt_s, settings.max_factor));
    (TimeDecimation::new(time, factor), f_max)
}

/// The decimation of an adaptive-time run, and the image sample its band was measured on:
/// `sample` (the adaptive coarse pass's columns and image, on the job's time axis) when given,
/// else a pilot migration ([`pilot_pass`]); none when the factor is configured.
pub(crate) fn decide(
    pool: &rayon::ThreadPool,
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    fine: &Plan,
    store: &JobTraces<'_>,
    settings: &TimeSamplingSettings,
    sample: Option<(usize, Vec<f32>)>,
) -> Result<Decision> {
    let pilot = match (settings.factor, sample) {
        (Some(_), _) => None,
        (None, Some((columns, image))) => Some(Pilot { columns, seconds: 0.0, image }),
        (None, None) => Some(pilot_pass(pool, job, kernel, fine, store)?),
    };
    let (decimation, highest_frequency_hz) = choose(job, settings, pilot.as_ref().map(|p| p.image.as_slice()));
    let (pilot_columns, pilot_s) = pilot.map_or((0, 0.0), |p| (p.columns, p.seconds));
    let summary = TimeSamplingSummary {
        factor: decimation.factor,
        coarse_dt_ms: decimation.coarse.dt_s * 1e3,
        highest_frequency_hz,
        configured: settings.factor.is_some(),
        pilot_columns,
        pilot_s,
        // Filled in once the run has migrated.
        computed_contributions: 0,
    };
    Ok(Decision { decimation, summary })
}

/// What an adaptive-time run decided before migrating, and its summary so far.
pub(crate) struct Decision {
    pub decimation: TimeDecimation,
    pub summary: TimeSamplingSummary,
}

/// Columns an adaptive-time run's pilot migrates at most to measure the image's band, and the
/// least it thins the grid by in x and y (so that it costs at most 1/16 of the job).
const PILOT_COLUMNS: usize = 1024;
const PILOT_MIN_FACTOR: usize = 4;

/// An image sample an adaptive-time run measured its band on.
struct Pilot {
    columns: usize,
    /// The pilot migration's wall time (0 when it was the adaptive coarse pass's image).
    seconds: f64,
    image: Vec<f32>,
}

/// The pilot of an adaptive-time run without an adaptive coarse pass: the job on a grid sparse
/// enough for at most [`PILOT_COLUMNS`] columns (and [`PILOT_MIN_FACTOR`] times sparser), on the
/// full time axis.
fn pilot_pass(
    pool: &rayon::ThreadPool,
    job: &MigrationJob,
    kernel: &dyn MigrationKernel,
    fine: &Plan,
    store: &JobTraces<'_>,
) -> Result<Pilot> {
    let started = Instant::now();
    let sparse = job.sparse(job.grid_thinning(PILOT_COLUMNS, PILOT_MIN_FACTOR));
    let (image, _) = sparse_image(pool, &sparse, kernel, fine, store, "migrate: time-sampling pilot")?;
    Ok(Pilot { columns: sparse.grid.n_columns(), seconds: started.elapsed().as_secs_f64(), image })
}

/// A finished piece from the coarse time axis to the fine one, its columns in parallel.
pub(crate) fn upsample(d: &TimeDecimation, coarse: &TileImage) -> TileImage {
    let (nc, nf) = (d.coarse.nt, d.fine.nt);
    let columns = coarse.image.len() / nc.max(1);
    let mut fine = TileImage { image: vec![0.0; columns * nf], fold: vec![0; columns * nf] };
    fine.image.par_chunks_mut(nf).zip(fine.fold.par_chunks_mut(nf)).enumerate().for_each(|(c, (image, fold))| {
        let (from_image, from_fold) = (&coarse.image[c * nc..(c + 1) * nc], &coarse.fold[c * nc..(c + 1) * nc]);
        // Skipped tiles and masked-out columns are zero: nothing to interpolate.
        if from_fold.iter().any(|&f| f != 0) || from_image.iter().any(|&v| v != 0.0) {
            d.upsample(from_image, image);
            d.upsample_fold(from_fold, fold);
        }
    });
    fine
}
