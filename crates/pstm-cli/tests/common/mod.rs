//! Running the real `pstm` binary from the CLI tests.

use std::path::Path;
use std::process::Command;

/// Run `pstm args` in `dir`: (exit code, stdout, stderr). Cached presets, if a test makes any,
/// land in `dir/cache`.
pub fn pstm(args: &[&str], dir: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_pstm"))
        .args(args)
        .current_dir(dir)
        .env("PSTM_CACHE_DIR", dir.join("cache"))
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

/// `pstm synth` of the spec `spec_yaml` into `dir/survey`, which it returns.
pub fn synth_survey(dir: &Path, spec_yaml: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("spec.yaml"), spec_yaml).unwrap();
    let (code, _, err) = pstm(&["synth", "--spec", "spec.yaml", "--out", "survey"], dir);
    assert_eq!(code, 0, "{err}");
    dir.join("survey")
}

/// A 20 x 20 bin survey with one diffractor (800 traces, 251 samples): small enough for many
/// runs of a test.
#[allow(dead_code)] // each test binary compiles this module; not all of them use it
pub const SMALL_SURVEY: &str = "geometry: {extent_x_m: 500, extent_y_m: 500, spacing_m: 25, offsets_m: [100, 300], azimuths_deg: [0, 90]}\n\
     timing: {n_samples: 251, dt_ms: 4}\n\
     velocity: {constant: 2000}\n\
     diffractors: [{x: 250, y: 250, z: 300}]\n";

/// A failing command: non-zero exit and every `needle` in its error message.
#[allow(dead_code)]
pub fn fails(args: &[&str], dir: &Path, needles: &[&str]) -> String {
    let (code, _, err) = pstm(args, dir);
    assert_ne!(code, 0, "pstm {args:?} should fail");
    for n in needles {
        assert!(err.contains(n), "pstm {args:?}: message lacks {n:?}:\n{err}");
    }
    err
}

/// Nothing named `out*` or `*partial*` left in `dir`: a failed run left no output.
#[allow(dead_code)]
pub fn no_output(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("out") || n.contains("partial"))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Migrate `job.yaml` in `dir` (written to `out/`); the stack's peak as (x, y, t0) of its sample.
#[allow(dead_code)]
pub fn stack_peak(dir: &Path) -> (f64, f64, f64) {
    let (code, _, err) = pstm(&["migrate", "job.yaml"], dir);
    assert_eq!(code, 0, "{err}");
    let volume = pstm_io::VolumeReader::open(&dir.join("out/migrated_stack.zarr")).unwrap();
    let stack = volume.read_all_f32().unwrap();
    let grid = volume.info().grid;
    let i = (0..stack.len()).max_by(|&a, &b| stack[a].abs().total_cmp(&stack[b].abs())).unwrap();
    let (column, it) = (i / grid.time.nt, i % grid.time.nt);
    let (x, y) = grid.column_xy(column / grid.ny, column % grid.ny);
    (x, y, grid.time.time(it))
}

/// A synthetic-survey spec: one diffractor 600 m below the middle of a 500 m square at 2000 m/s,
/// midpoints every 25 m, offsets 0-1200 m along two azimuths, 400 samples of 4 ms. Specs may
/// append keys (a `medium:`).
#[allow(dead_code)]
pub const DIFFRACTOR_SURVEY: &str = "geometry: {extent_x_m: 500, extent_y_m: 500, spacing_m: 25, offsets_m: [0, 600, 1200], azimuths_deg: [0, 90]}\n\
     timing: {n_samples: 400, dt_ms: 4}\n\
     velocity: {constant: 2000}\n\
     diffractors: [{x: 250, y: 250, z: 600}]\n";

/// Every file under `root` but the run record (which holds timings), by relative path: two
/// outputs compared bit for bit.
#[allow(dead_code)]
pub fn output_files(root: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(root, &p, out);
            } else if p.file_name().unwrap() != "run.json" {
                out.insert(p.strip_prefix(root).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = std::collections::BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// A 3 x 3 x 3 cube of `value` over the test surveys (from -100 m, 350 m apart; times `dt_s`
/// apart from 0), for a velocity or eta cube.
#[allow(dead_code)]
pub fn constant_cube(value: f32, dt_s: f64) -> pstm_math::velocity::VelocityCube {
    pstm_math::velocity::VelocityCube {
        x0: -100.0,
        dx: 350.0,
        nx: 3,
        y0: -100.0,
        dy: 350.0,
        ny: 3,
        t0: 0.0,
        dt: dt_s,
        nt: 3,
        data: vec![value; 27],
    }
}
