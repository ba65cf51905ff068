//! `pstm import` and `pstm export`: SEG-Y in and out, with progress.

use std::path::{Path, PathBuf};

use pstm_io::segy_export::{
    ExportOptions, ExportSummary, OffsetVolume, export_dataset, export_offset_volumes, export_volume,
};
use pstm_io::segy_import::{ImportOptions, ImportSummary, import_segy};
use pstm_io::{VolumeReader, dataset};

use crate::error::{EngineError, Result};
use crate::output;

/// Import a prestack SEG-Y file into a dataset, with a progress bar when `progress`.
pub fn import(file: &Path, out: &Path, options: &ImportOptions, progress: bool) -> Result<ImportSummary> {
    let bar = crate::progress::bar(progress, None, "{percent:>3}% {msg}", "convert");
    bar.set_message("headers checked, then traces copied");
    let summary = import_segy(file, out, options, &mut |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    });
    bar.finish();
    Ok(summary?)
}

/// What `pstm export` can be pointed at.
pub enum ExportSource {
    /// A prestack dataset (traces.zarr + headers.parquet).
    Dataset(PathBuf),
    /// One output volume.
    Volume(PathBuf),
    /// The offset gathers of an output directory, as one prestack cube.
    Gathers(Vec<OffsetVolume>),
}

impl ExportSource {
    /// Decide from the path: a dataset, a volume, or an output directory (its stack, or its
    /// gathers when `gathers`).
    pub fn find(path: &Path, gathers: bool) -> Result<Self> {
        if path.join(dataset::TRACES).exists() {
            return Ok(ExportSource::Dataset(path.to_path_buf()));
        }
        if path.join(output::STACK).exists() {
            if !gathers {
                return Ok(ExportSource::Volume(path.join(output::STACK)));
            }
            let dir = path.join(output::GATHERS);
            let mut volumes = Vec::new();
            for k in 0.. {
                let p = dir.join(output::gather_name(k));
                if !p.exists() {
                    break;
                }
                let attrs = &VolumeReader::open(&p)?.info().attributes.clone();
                let lo = attrs.get("offset_min_m").and_then(|v| v.as_f64()).unwrap_or(0.0);
                let hi = attrs.get("offset_max_m").and_then(|v| v.as_f64()).unwrap_or(lo);
                volumes.push(OffsetVolume { path: p, offset_m: 0.5 * (lo + hi) });
            }
            if volumes.is_empty() {
                return Err(EngineError::Other(format!(
                    "{}: no offset gathers (output.offset_gathers was not set)",
                    path.display()
                )));
            }
            return Ok(ExportSource::Gathers(volumes));
        }
        if gathers {
            return Err(EngineError::Other(format!(
                "{}: --gathers needs a migration output directory",
                path.display()
            )));
        }
        Ok(ExportSource::Volume(path.to_path_buf()))
    }
}

pub fn export(source: &ExportSource, out: &Path, options: &ExportOptions) -> Result<ExportSummary> {
    Ok(match source {
        ExportSource::Dataset(p) => export_dataset(p, out, options)?,
        ExportSource::Volume(p) => export_volume(p, out, options)?,
        ExportSource::Gathers(v) => export_offset_volumes(v, out, options)?,
    })
}
