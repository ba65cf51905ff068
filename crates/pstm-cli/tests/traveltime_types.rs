//! Curved-ray and VTI traveltimes from the job file to the image, through the real binary:
//! `pstm synth` of a diffractor in a gradient medium and in a VTI medium, `pstm migrate` with the
//! matching `algorithm.traveltime` (the gradient fitted to the metadata's RMS table, the eta
//! given as a constant and as a cube), the stack's peak on the truth; and the job-file errors.

use std::path::Path;

mod common;

use common::{DIFFRACTOR_SURVEY as GEOMETRY, fails, no_output, pstm, stack_peak as peak, synth_survey};

fn job(dir: &Path, velocity: &str, algorithm: &str) {
    let text = format!(
        "input: {{dataset: survey}}\nvelocity: {velocity}\nalgorithm: {algorithm}\n\
         output: {{directory: out, grid: {{dx: 25, dy: 25}}, overwrite: true}}\n\
         execution: {{kernel: cpu, progress: false}}\n"
    );
    std::fs::write(dir.join("job.yaml"), text).unwrap();
}

fn truth(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("survey/metadata.json")).unwrap()).unwrap()
}

fn assert_on_truth(dir: &Path, what: &str) {
    let t0 = truth(dir)["diffractors"][0]["t0_s"].as_f64().unwrap();
    let (x, y, t) = peak(dir);
    println!("{what}: peak at ({x}, {y}), {t:.3} s; truth (250, 250), {t0:.4} s");
    assert!((x - 250.0).abs() <= 25.0 && (y - 250.0).abs() <= 25.0, "{what}: peak at ({x}, {y})");
    assert!((t - t0).abs() <= 0.004 + 1e-9, "{what}: peak at {t} s, truth {t0} s");
}

#[test]
fn a_gradient_survey_migrates_with_the_fitted_curved_ray() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    synth_survey(dir, &format!("{GEOMETRY}medium: {{gradient: {{v0: 1600, k: 0.8}}}}\n"));
    let table = &truth(dir)["medium"]["vrms_table"];
    let picks: Vec<String> = table["times_s"]
        .as_array()
        .unwrap()
        .iter()
        .zip(table["velocities"].as_array().unwrap())
        .map(|(t, v)| format!("[{}, {}]", t.as_f64().unwrap() * 1e3, v.as_f64().unwrap()))
        .collect();
    job(dir, &format!("{{table: [{}]}}", picks.join(", ")), "{traveltime: curved_ray, aperture: {max_m: 2000}}");
    let (code, out, err) = pstm(&["migrate", "job.yaml", "--dry-run"], dir);
    assert_eq!(code, 0, "{err}");
    let line = out.lines().find(|l| l.starts_with("traveltime")).unwrap_or_else(|| panic!("{out}"));
    println!("{line}");
    assert!(line.contains("curved ray, k = 0.8") && line.contains("fitted"), "{line}");
    assert_on_truth(dir, "gradient medium, curved ray");
}

#[test]
fn a_vti_survey_migrates_with_eta_given_or_in_a_cube() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    synth_survey(dir, &format!("{GEOMETRY}medium: {{vti: {{vp0: 2000, epsilon: 0.25, delta: 0.05}}}}\n"));
    let medium = &truth(dir)["medium"];
    let (vnmo, eta) = (medium["vnmo"].as_f64().unwrap(), medium["eta"].as_f64().unwrap());
    job(dir, &format!("{{constant: {vnmo}, eta: {{constant: {eta}}}}}"), "{traveltime: vti, aperture: {max_m: 2000}}");
    assert_on_truth(dir, "VTI medium, eta constant");
    let constant = pstm_io::VolumeReader::open(&dir.join("out/migrated_stack.zarr")).unwrap().read_all_f32().unwrap();
    // The same eta as a cube over the survey: the same image.
    let cube = common::constant_cube(eta as f32, 0.8);
    pstm_io::velocity_cube::write(&dir.join("eta.zarr"), &cube).unwrap();
    job(dir, &format!("{{constant: {vnmo}, eta: {{cube: eta.zarr}}}}"), "{traveltime: vti, aperture: {max_m: 2000}}");
    assert_on_truth(dir, "VTI medium, eta cube");
    let from_cube = pstm_io::VolumeReader::open(&dir.join("out/migrated_stack.zarr")).unwrap().read_all_f32().unwrap();
    assert_eq!(constant, from_cube, "an eta cube of one value images as that constant");

    // An eta of zero, as a SEG-Y cube (`pstm export` of a zarr one): the straight ray's image.
    // (SEG-Y holds whole microseconds of sample interval up to 65 ms.)
    let zero = pstm_math::velocity::VelocityCube { dt: 0.05, nt: 33, data: vec![0.0; 9 * 33], ..cube };
    pstm_io::velocity_cube::write(&dir.join("zero.zarr"), &zero).unwrap();
    let (code, _, err) = pstm(&["export", "zero.zarr", "--out", "zero.sgy"], dir);
    assert_eq!(code, 0, "{err}");
    job(dir, &format!("{{constant: {vnmo}, eta: {{cube: zero.sgy}}}}"), "{traveltime: vti, aperture: {max_m: 2000}}");
    let (code, _, err) = pstm(&["migrate", "job.yaml"], dir);
    assert_eq!(code, 0, "{err}");
    let vti = pstm_io::VolumeReader::open(&dir.join("out/migrated_stack.zarr")).unwrap().read_all_f32().unwrap();
    job(dir, &format!("{{constant: {vnmo}}}"), "{aperture: {max_m: 2000}}");
    let (code, _, err) = pstm(&["migrate", "job.yaml"], dir);
    assert_eq!(code, 0, "{err}");
    let straight = pstm_io::VolumeReader::open(&dir.join("out/migrated_stack.zarr")).unwrap().read_all_f32().unwrap();
    let diff: f64 = vti.iter().zip(&straight).map(|(a, b)| (*a as f64 - *b as f64).powi(2)).sum::<f64>().sqrt();
    let norm: f64 = straight.iter().map(|&b| (b as f64).powi(2)).sum::<f64>().sqrt();
    println!("VTI with a SEG-Y eta cube of zeros against the straight ray: relative L2 {:.2e}", diff / norm);
    assert!(diff / norm < 1e-5, "{}", diff / norm);
}

#[test]
fn traveltime_settings_that_do_not_fit_are_refused_by_name() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    synth_survey(dir, GEOMETRY);
    for (velocity, algorithm, field, words) in [
        ("{constant: 2000}", "{traveltime: vti}", "velocity.eta", "vti needs eta"),
        ("{constant: 2000, eta: {constant: 0.1}}", "{traveltime: straight_ray}", "velocity.eta", "only by"),
        ("{constant: 2000, eta: {constant: 1.5}}", "{traveltime: vti}", "velocity.eta.constant", "1.5"),
        ("{constant: 2000}", "{curved_ray: {k: 0.5}}", "algorithm.curved_ray", "only by"),
        ("{constant: 2000}", "{traveltime: curved_ray, curved_ray: {k: 9}}", "algorithm.curved_ray.k", "9"),
    ] {
        job(dir, velocity, algorithm);
        fails(&["migrate", "job.yaml"], dir, &[field, words]);
        no_output(dir);
    }
}
