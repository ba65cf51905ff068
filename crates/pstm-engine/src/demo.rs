//! `pstm demo`: the whole chain on the tiny synthetic survey, checked against its ground truth.

use std::path::{Path, PathBuf};

use pstm_config::{JobConfig, SynthSpec, load_yaml_file};
use pstm_io::VolumeReader;

use crate::error::{EngineError, Result};
use crate::executor::{RunOptions, RunSummary, migrate};
use crate::job::MigrationJob;
use crate::registry::{KernelOptions, create_kernel};
use crate::{output, plot, synth};

/// The job the demo runs, written beside the data so the user can rerun or edit it.
pub const DEMO_JOB: &str = r#"# Written by `pstm demo`. Rerun with: pstm migrate job.yaml   (from this directory)
input:
  dataset: survey
velocity:
  constant: 2500
algorithm:
  aperture: {mode: fixed, max_m: 1000}
  taper: {kind: cosine, fraction: 0.2}
  weights: {spreading: true, obliquity: true}
  # The tiny survey spans little more than the diffractor's Fresnel zone, so its image stays
  # zero phase without a pre-filter; on full-size surveys use `derivative` (see the README).
  prefilter: none
output:
  directory: migrated
  overwrite: true
  # Nodes every 25 m from 0 to 500 m: one sits on the diffractor at (250, 250).
  grid: {origin_x: 0, origin_y: 0, dx: 25, dy: 25, nx: 21, ny: 21}
execution:
  kernel: auto
"#;

/// Where the image focused, against where physics says it must.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub run: RunSummary,
    pub truth: (f64, f64, f64),
    pub peak: (f64, f64, f64),
    pub peak_index: (usize, usize, usize),
    pub bin: (f64, f64, f64),
    pub images: Vec<PathBuf>,
    pub job_file: PathBuf,
}

impl DemoReport {
    /// Peak minus truth in bins (x, y) and samples (t).
    pub fn error_in_cells(&self) -> (f64, f64, f64) {
        (
            (self.peak.0 - self.truth.0) / self.bin.0,
            (self.peak.1 - self.truth.1) / self.bin.1,
            (self.peak.2 - self.truth.2) / self.bin.2,
        )
    }

    /// Within one bin and one sample of the truth.
    pub fn focused(&self) -> bool {
        let (ex, ey, et) = self.error_in_cells();
        ex.abs() <= 1.0 + 1e-9 && ey.abs() <= 1.0 + 1e-9 && et.abs() <= 1.0 + 1e-9
    }
}

impl std::fmt::Display for DemoReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ex, ey, et) = self.error_in_cells();
        writeln!(f, "{}", self.run)?;
        writeln!(f)?;
        writeln!(f, "                 x (m)     y (m)    t (ms)")?;
        writeln!(
            f,
            "truth      {:>10.1} {:>9.1} {:>9.1}   (metadata.json: t0 = 2 z / v)",
            self.truth.0,
            self.truth.1,
            self.truth.2 * 1e3
        )?;
        writeln!(f, "image peak {:>10.1} {:>9.1} {:>9.1}", self.peak.0, self.peak.1, self.peak.2 * 1e3)?;
        writeln!(f, "difference {ex:>10.2} {ey:>9.2} {et:>9.2}   (bins, bins, samples)")?;
        writeln!(
            f,
            "{}",
            if self.focused() { "FOCUSED: within one bin and one sample of the truth" } else { "NOT FOCUSED" }
        )?;
        writeln!(f)?;
        for p in &self.images {
            writeln!(f, "image      {}", p.display())?;
        }
        write!(f, "job        {}  (pstm migrate {} reruns it)", self.job_file.display(), self.job_file.display())
    }
}

/// Generate the tiny survey in `dir`, migrate it with `kernel` (`auto` by default), locate the
/// focus and draw it.
pub fn run_demo(dir: &Path, kernel: Option<&str>, progress: bool) -> Result<DemoReport> {
    std::fs::create_dir_all(dir).map_err(|e| pstm_io::IoError::fs(dir, e))?;
    let spec = SynthSpec::preset("tiny").expect("tiny preset exists");
    let survey = dir.join("survey");
    synth::generate(&spec, &survey, true, progress)?;
    let job_file = dir.join("job.yaml");
    pstm_io::staging::write_file(&job_file, DEMO_JOB)?;
    let mut config: JobConfig = load_yaml_file(&job_file)?;
    config.resolve_paths(dir);
    if let Some(k) = kernel {
        config.execution.kernel = k.to_string();
    }
    let job = MigrationJob::from_config(config)?;
    let kernel = create_kernel(&job.execution.kernel, &KernelOptions::from_config(&job.execution))?;
    let run = migrate(&job, kernel.as_ref(), RunOptions { progress, resume: false })?;
    let out = run.output.clone().expect("migrate writes outputs");

    let stack = VolumeReader::open(&out.join(output::STACK))?;
    let grid = stack.info().grid;
    let volume = stack.read_all_f32()?;
    let (k, _) = volume
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .ok_or_else(|| EngineError::Other("empty image".into()))?;
    let nt = grid.time.nt;
    let (ix, iy, it) = (k / (grid.ny * nt), (k / nt) % grid.ny, k % nt);
    let (px, py) = grid.column_xy(ix, iy);
    let truth =
        job.dataset.metadata()?.ok_or_else(|| EngineError::Other("the demo survey lost its metadata".into()))?;
    let d = &truth["diffractors"][0];
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(f64::NAN);
    // Through the peak, as `pstm plot` draws any output, the truth marked.
    let options = plot::PlotOptions {
        inline: Some(1 + ix as i64),
        crossline: Some(1 + iy as i64),
        time_ms: Some(grid.time.time(it) * 1e3),
        ..Default::default()
    };
    let images = plot::plot(&out, dir, &options)?.into_iter().map(|p| p.path).collect();
    Ok(DemoReport {
        run,
        truth: (num(&d["x"]), num(&d["y"]), num(&d["t0_s"])),
        peak: (px, py, grid.time.time(it)),
        peak_index: (ix, iy, it),
        bin: (grid.dx, grid.dy, grid.time.dt_s),
        images,
        job_file,
    })
}
