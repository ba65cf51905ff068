//! A survey small enough for debug-build tests: the tiny preset cut to 10 x 10 midpoints and
//! 251 samples (200 traces, 5e6 contributions under the benchmark job).
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use pstm_bench::dataset::{BenchDataset, bench_job};
use pstm_config::SynthSpec;
use pstm_engine::MigrationJob;

pub fn survey(dir: &Path) -> BenchDataset {
    let mut spec = SynthSpec::preset("tiny").unwrap();
    spec.geometry.extent_x_m = 250.0;
    spec.geometry.extent_y_m = 250.0;
    spec.timing.n_samples = 251;
    spec.diffractors[0].x = 125.0;
    spec.diffractors[0].y = 125.0;
    spec.diffractors[0].z = 200.0;
    let path: PathBuf = pstm_engine::synth::generate(&spec, &dir.join("survey"), true, false).unwrap().path;
    BenchDataset { name: "survey".into(), path, preset: false }
}

pub fn job(dir: &Path) -> (BenchDataset, MigrationJob) {
    let d = survey(dir);
    let job = bench_job(&d).unwrap();
    (d, job)
}
