//! Where finished tiles go: zarr volumes in a staged output directory, or memory.

use std::path::PathBuf;
use std::sync::Mutex;

use pstm_io::volume::VolumeElement;
use pstm_io::{MultiscaleWriter, Staged, VolumeWriter};
use pstm_kernel::TileImage;
use pstm_math::{OutputGrid, Tile};

use crate::error::{EngineError, Result};
use crate::job::MigrationJob;

pub const STACK: &str = "migrated_stack.zarr";
pub const FOLD: &str = "fold.zarr";
pub const NORMALIZED: &str = "migrated_stack_normalized.zarr";
/// The stack at several resolutions (`output.multiscale`): a group, level k in `k/stack`.
pub const MULTISCALE: &str = "migrated_stack_multiscale.zarr";
/// The array name of each level of [`MULTISCALE`].
pub const MULTISCALE_ARRAY: &str = "stack";
pub const GATHERS: &str = "gathers";
pub const RUN_RECORD: &str = "run.json";

/// File name of offset bin `k`'s gather volume inside [`GATHERS`].
pub fn gather_name(k: usize) -> String {
    format!("offset_{k:03}.zarr")
}

/// Receives finished tiles. `bin` is `None` for the stack and fold, `Some(k)` for offset bin `k`.
pub trait OutputSink: Sync {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()>;
}

/// The fold-normalised stack: sum / fold where fold > 0, else 0.
pub fn normalize(image: &[f32], fold: &[u32]) -> Vec<f32> {
    image.iter().zip(fold).map(|(&s, &f)| if f > 0 { s / f as f32 } else { 0.0 }).collect()
}

/// Zarr volumes under an output directory written under a hidden temporary name and renamed by
/// [`ZarrOutput::commit`].
pub struct ZarrOutput {
    staged: Staged,
    volumes: Volumes,
}

/// The volumes of an output directory, open for writing.
struct Volumes {
    stack: VolumeWriter,
    fold: VolumeWriter,
    normalized: Option<VolumeWriter>,
    multiscale: Option<MultiscaleWriter>,
    gathers: Vec<VolumeWriter>,
}

/// An error about what is written under `staged`, in the user's terms: `output.directory` and
/// the output's own name, not the temporary one it is written under.
fn in_user_terms(staged: &Staged, e: EngineError) -> EngineError {
    let (temp, target) = (staged.path().display().to_string(), staged.target().display().to_string());
    EngineError::job("output.directory", format!("{} (while writing)", e.to_string().replace(&temp, &target)))
}

impl ZarrOutput {
    pub fn create(job: &MigrationJob, kernel: &str, tile_shape: (usize, usize)) -> Result<Self> {
        let staged = Staged::replacing(&job.output_dir, job.overwrite, "a pstm output directory", &[RUN_RECORD, STACK])
            .map_err(|e| match e {
                pstm_io::IoError::Exists { path } => EngineError::job(
                    "output.directory",
                    format!(
                        "{}: already exists; choose another (output.directory or --output) or replace it (output.overwrite: true or --overwrite)",
                        path.display()
                    ),
                ),
                e => EngineError::job("output.directory", e.to_string()),
            })?;
        let volumes = Volumes::create(staged.path(), job, kernel, tile_shape).map_err(|e| in_user_terms(&staged, e))?;
        Ok(Self { staged, volumes })
    }

    /// Write the run record and move the directory into place.
    pub fn commit(self, record: &serde_json::Value) -> Result<PathBuf> {
        let p = self.staged.path().join(RUN_RECORD);
        std::fs::write(&p, serde_json::to_string_pretty(record).expect("record serialises"))
            .map_err(|e| in_user_terms(&self.staged, pstm_io::IoError::fs(&p, e).into()))?;
        Ok(self.staged.commit()?)
    }
}

impl Volumes {
    fn create(root: &std::path::Path, job: &MigrationJob, kernel: &str, tile_shape: (usize, usize)) -> Result<Self> {
        std::fs::create_dir_all(root).map_err(|e| pstm_io::IoError::fs(root, e))?;
        let attrs = |quantity: &str, note: &str| {
            let serde_json::Value::Object(m) = serde_json::json!({
                "quantity": quantity,
                "note": note,
                "kernel": kernel,
                "config_hash": job.config_hash,
                "prefilter": job.operator.prefilter,
                "pstm_version": env!("CARGO_PKG_VERSION"),
            }) else {
                unreachable!()
            };
            m
        };
        let grid = &job.grid;
        let stack = VolumeWriter::create(
            &root.join(STACK),
            grid,
            tile_shape,
            VolumeElement::F32,
            attrs("stack", "raw sum of weighted contributions, not divided by fold"),
        )?;
        let fold = VolumeWriter::create(
            &root.join(FOLD),
            grid,
            tile_shape,
            VolumeElement::U32,
            attrs("fold", "traces contributing to each output sample"),
        )?;
        let normalized = if job.normalized_stack {
            Some(VolumeWriter::create(
                &root.join(NORMALIZED),
                grid,
                tile_shape,
                VolumeElement::F32,
                attrs("normalized_stack", "stack divided by fold where fold > 0, else 0"),
            )?)
        } else {
            None
        };
        let multiscale = match job.multiscale_levels {
            Some(levels) => Some(MultiscaleWriter::create(
                &root.join(MULTISCALE),
                MULTISCALE_ARRAY,
                grid,
                levels,
                tile_shape,
                attrs("stack", "raw sum of weighted contributions; level k: the mean of its 2^k x 2^k x 2^k blocks"),
            )?),
            None => None,
        };
        let mut gathers = Vec::new();
        if let Some(bins) = job.gathers.as_ref().map(|g| &g.bins) {
            let dir = root.join(GATHERS);
            for (k, [lo, hi]) in bins.iter().enumerate() {
                let mut a = attrs("offset_gather", "raw sum over the traces of one offset bin");
                a.insert("offset_min_m".into(), (*lo).into());
                a.insert("offset_max_m".into(), (*hi).into());
                a.insert("offset_bin".into(), k.into());
                gathers.push(VolumeWriter::create(&dir.join(gather_name(k)), grid, tile_shape, VolumeElement::F32, a)?);
            }
        }
        Ok(Self { stack, fold, normalized, multiscale, gathers })
    }

    fn write(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        match bin {
            Some(k) => self.gathers[k].write_tile_f32(tile, &image.image)?,
            None => {
                self.stack.write_tile_f32(tile, &image.image)?;
                self.fold.write_tile_u32(tile, &image.fold)?;
                if let Some(n) = &self.normalized {
                    n.write_tile_f32(tile, &normalize(&image.image, &image.fold))?;
                }
                if let Some(m) = &self.multiscale {
                    m.write_tile(tile, &image.image)?;
                }
            }
        }
        Ok(())
    }
}

impl OutputSink for ZarrOutput {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        self.volumes.write(tile, bin, image).map_err(|e| in_user_terms(&self.staged, e))
    }
}

/// Whole volumes in memory, `(nx, ny, nt)` C order: for tests, comparisons and benchmarks.
pub struct MemoryOutput {
    pub grid: OutputGrid,
    volumes: Mutex<MemoryVolumes>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MemoryVolumes {
    pub stack: Vec<f32>,
    pub fold: Vec<u32>,
    pub gathers: Vec<Vec<f32>>,
}

impl MemoryOutput {
    /// Volumes for a grid, with `n_gather_bins` gather volumes (0 without gathers).
    pub fn new(grid: OutputGrid, n_gather_bins: usize) -> Self {
        let n = grid.n_samples();
        let gathers = vec![vec![f32::NAN; n]; n_gather_bins];
        // Poisoned, so a tile the executor forgets shows as NaN.
        Self { grid, volumes: Mutex::new(MemoryVolumes { stack: vec![f32::NAN; n], fold: vec![u32::MAX; n], gathers }) }
    }

    pub fn into_volumes(self) -> MemoryVolumes {
        self.volumes.into_inner().expect("no writer panicked")
    }
}

impl OutputSink for MemoryOutput {
    fn write_tile(&self, tile: &Tile, bin: Option<usize>, image: &TileImage) -> Result<()> {
        let nt = self.grid.time.nt;
        let mut v = self.volumes.lock().expect("no writer panicked");
        for jx in 0..tile.nx {
            for jy in 0..tile.ny {
                let src = (jx * tile.ny + jy) * nt;
                let dst = ((tile.ix0 + jx) * self.grid.ny + tile.iy0 + jy) * nt;
                match bin {
                    Some(k) => v.gathers[k][dst..dst + nt].copy_from_slice(&image.image[src..src + nt]),
                    None => {
                        v.stack[dst..dst + nt].copy_from_slice(&image.image[src..src + nt]);
                        v.fold[dst..dst + nt].copy_from_slice(&image.fold[src..src + nt]);
                    }
                }
            }
        }
        Ok(())
    }
}
