//! Antialiasing and interpolation from the job file to the image, through the real binary:
//! `pstm synth` of a diffractor, `pstm migrate` with each `algorithm.antialiasing.method` and
//! `algorithm.interpolation`, the stack's peak on the truth, `--dry-run` saying what it will do,
//! `pstm compare` of the fast CPU kernel against cpu-ref on the job, and the job-file errors.

use std::path::Path;

mod common;

use common::{DIFFRACTOR_SURVEY as GEOMETRY, fails, no_output, pstm, stack_peak as peak, synth_survey};

fn job(dir: &Path, algorithm: &str, kernel: &str) {
    let text = format!(
        "input: {{dataset: survey}}\nvelocity: {{constant: 2000}}\nalgorithm: {algorithm}\n\
         output: {{directory: out, overwrite: true, grid: {{origin_x: 150, origin_y: 150, dx: 25, dy: 25, nx: 9, ny: 9, t_min_ms: 400, t_max_ms: 800}}}}\n\
         execution: {{kernel: {kernel}, progress: false}}\n"
    );
    std::fs::write(dir.join("job.yaml"), text).unwrap();
}

#[test]
fn every_method_and_interpolation_focuses_the_diffractor_and_the_cpu_kernel_matches_the_reference() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    synth_survey(dir, GEOMETRY);
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("survey/metadata.json")).unwrap()).unwrap();
    let t0 = meta["diffractors"][0]["t0_s"].as_f64().unwrap();
    for (algorithm, reading) in [
        ("{antialiasing: {method: triangle}, aperture: {max_m: 1500}}", "triangle antialiasing"),
        ("{antialiasing: {method: weight}, aperture: {max_m: 1500}}", "linear interpolation, antialiasing by a scalar"),
        ("{interpolation: cubic, aperture: {max_m: 1500}}", "cubic interpolation (Keys), no antialiasing"),
        ("{interpolation: sinc8, antialiasing: {method: weight}, aperture: {max_m: 1500}}", "sinc8 interpolation"),
    ] {
        job(dir, algorithm, "cpu");
        let (code, out, err) = pstm(&["migrate", "job.yaml", "--dry-run"], dir);
        assert_eq!(code, 0, "{err}");
        let line = out.lines().find(|l| l.starts_with("reading")).unwrap_or_else(|| panic!("{out}"));
        assert!(line.contains(reading), "{line}");
        let (x, y, t) = peak(dir);
        println!("{algorithm}: {line}; peak at ({x}, {y}), {t:.3} s; truth (250, 250), {t0:.4} s");
        assert!((x - 250.0).abs() <= 25.0 && (y - 250.0).abs() <= 25.0, "{algorithm}: peak at ({x}, {y})");
        assert!((t - t0).abs() <= 0.004 + 1e-9, "{algorithm}: peak at {t} s, truth {t0} s");
        let (code, out, err) =
            pstm(&["compare", "--job", "job.yaml", "--baseline", "cpu-ref", "--candidate", "cpu"], dir);
        assert!(code == 0 && out.contains("PASS"), "{algorithm}: {out}{err}");
        println!("{}", out.lines().filter(|l| l.contains("relative")).collect::<Vec<_>>().join("\n"));
    }
}

#[test]
fn a_triangle_with_another_interpolation_is_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    synth_survey(dir, GEOMETRY);
    for (algorithm, field, words) in [
        ("{antialiasing: {method: triangle}, interpolation: sinc8}", "algorithm.interpolation", "triangle reads"),
        ("{antialiasing: {method: triangl}}", "algorithm.antialiasing.method", "triangle"),
        ("{interpolation: sinc16}", "algorithm.interpolation", "sinc8"),
    ] {
        job(dir, algorithm, "cpu-ref");
        fails(&["migrate", "job.yaml"], dir, &[field, words]);
        no_output(dir);
    }
}
