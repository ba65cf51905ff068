//! Adaptive time sampling (`algorithm.adaptive_time`) against the full migration of the same
//! job: the factor the image's band allows, the image within interpolation error of the full one
//! (exact where the coarse axis falls), a diffractor and a reflector kept, and a factor past the
//! band visibly worse.

mod common;

use common::*;
use pstm_engine::output::MemoryVolumes;
use pstm_engine::{MigrationJob, RunOptions, RunSummary, create_kernel, executor};

const ALGORITHM: &str = "{aperture: {max_m: 600}, taper: {kind: cosine, fraction: 0.3}, weights: {spreading: true, obliquity: true}, prefilter: derivative";
const GRID: &str = "{origin_x: 0, origin_y: 0, dx: 25, dy: 25, nx: 41, ny: 41, t_max_ms: 1000}";

fn algorithm(extra: &str) -> String {
    format!("{ALGORITHM}{extra}}}")
}

fn migrate(job: &MigrationJob, kernel: &str) -> (MemoryVolumes, RunSummary) {
    let k = create_kernel(kernel, &Default::default()).unwrap();
    executor::migrate_to_memory(job, k.as_ref(), RunOptions::QUIET).unwrap()
}

/// A noise-free survey at 2500 m/s: a diffractor 500 m deep (t0 0.4 s) and a flat reflector at
/// 1000 m (0.8 s).
fn survey(dir: &std::path::Path) -> std::path::PathBuf {
    let mut s = spec(1000.0, 1.0, "{constant: 2500}");
    s.diffractors.push(diffractor(500.0, 525.0, 500.0));
    s.reflectors.push(reflector(1000.0, 0.0, 0.0, 0.0, 0.0));
    write_survey(dir, "survey", &s)
}

#[test]
fn adaptive_time_sampling_keeps_the_image_its_band_allows() {
    let dir = tempfile::tempdir().unwrap();
    let ds = survey(dir.path());
    let v = "{constant: 2500}";
    let full_job = job(&ds, v, &algorithm(""), GRID, "{}");
    let (full, _) = migrate(&full_job, "cpu");

    // The data, a 25 Hz Ricker differentiated (amplitude f^3 exp(-f^2/fp^2)), falls 40 dB below
    // its peak at f^2 = 8.75 fp^2, 74 Hz; the image, measured on a pilot migration, ends a little
    // lower (the operator stretches it). A 4 ms axis (Nyquist 125 Hz) holds that within the
    // interpolator's 0.7, a 6 ms one (83 Hz) does not.
    let auto_job = job(&ds, v, &algorithm(", adaptive_time: {}"), GRID, "{}");
    let (auto, summary) = migrate(&auto_job, "cpu");
    println!("{summary}");
    let t = summary.time_sampling.as_ref().expect("a time-sampling summary");
    let f = t.highest_frequency_hz.expect("measured");
    println!("the image's band ends at {f:.1} Hz");
    assert!((60.0..74.0).contains(&f), "band ends at {f} Hz");
    assert_eq!((t.factor, t.coarse_dt_ms), (2, 4.0));
    assert!(!t.configured && t.pilot_columns == 100, "{} pilot columns", t.pilot_columns);
    let ratio = t.computed_contributions as f64 / summary.contributions as f64;
    assert!((0.5..0.56).contains(&ratio), "computed {ratio} of the full migration's contributions");
    assert_eq!(summary.n_output_samples, full.stack.len());

    let (rel, r) = errors(&auto.stack, &full.stack);
    println!("factor 2 (from the band): relative L2 {rel:.2e}, correlation {r:.6}");
    assert!(rel < 5e-3 && r > 0.9999, "relative L2 {rel}, correlation {r}");

    // Where the coarse axis falls the image is the full one's (to the rounding of the times),
    // and the fold is too.
    let grid = full_job.grid;
    let nt = grid.time.nt;
    let peak = full.stack.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for c in 0..grid.n_columns() {
        for it in (0..nt).step_by(2) {
            let i = c * nt + it;
            assert!((auto.stack[i] - full.stack[i]).abs() <= 1e-5 * peak, "column {c}, time {it}");
            assert_eq!(auto.fold[i], full.fold[i], "fold of column {c}, time {it}");
        }
    }
    // The diffractor focuses where the full image does, at the truth; the reflector (t0 = 0.8 s)
    // keeps its amplitude.
    let (dx, dy, dt) = common::peak(&auto.stack, &grid);
    assert_eq!((dx, dy, dt), common::peak(&full.stack, &grid));
    let (tx, ty) = grid.grid_position(500.0, 525.0);
    assert!((dx as f64 - tx).abs() <= 1.0 && (dy as f64 - ty).abs() <= 1.0, "focus at ({dx}, {dy})");
    println!("focus at {} s, truth 0.4 s", grid.time.time(dt));
    assert!((grid.time.time(dt) - 0.4).abs() <= 0.01, "focus at {} s", grid.time.time(dt));
    let centre = (20 * grid.ny + 5) * nt;
    let band = |v: &[f32]| v[centre + 390..centre + 410].iter().fold(0.0f32, |m, a| m.max(a.abs()));
    assert!((band(&auto.stack) / band(&full.stack) - 1.0).abs() < 1e-3);

    // The same factor configured gives the same image; one past the band is visibly worse.
    let fixed = job(&ds, v, &algorithm(", adaptive_time: {factor: 2}"), GRID, "{}");
    let (two, s2) = migrate(&fixed, "cpu");
    assert!(s2.time_sampling.as_ref().unwrap().configured);
    assert!(two.stack.iter().zip(&auto.stack).all(|(a, b)| a.to_bits() == b.to_bits()));
    // Coarser factors: 3 (6 ms) is refused by the rule (its 0.7 of 83 Hz is below 74 Hz) yet
    // still close, the rule being conservative (the image's band is narrower than the data's);
    // 6 (12 ms, Nyquist 42 Hz) cuts into the wavelet and is visibly wrong: the test can fail.
    let at_factor = |m: usize| {
        let j = job(&ds, v, &algorithm(&format!(", adaptive_time: {{factor: {m}}}")), GRID, "{}");
        errors(&migrate(&j, "cpu").0.stack, &full.stack)
    };
    let ((rel3, r3), (rel6, r6)) = (at_factor(3), at_factor(6));
    println!("factor 3: relative L2 {rel3:.2e}, correlation {r3:.6}; factor 6: {rel6:.2e}, {r6:.6}");
    assert!(rel3 < 1e-2 && rel6 > 50.0 * rel, "{rel3}, {rel6} against {rel}");

    // cpu-ref, the float64 oracle, on the coarse axis: the cpu kernel's image to its tolerance.
    let (oracle, _) = migrate(&auto_job, "cpu-ref");
    let (rel_ref, _) = errors(&auto.stack, &oracle.stack);
    assert!(rel_ref < 1e-5, "cpu against cpu-ref: {rel_ref}");
}

#[test]
fn adaptive_time_sampling_with_a_mask_gathers_and_small_tiles() {
    let dir = tempfile::tempdir().unwrap();
    let ds = survey(dir.path());
    let v = "{constant: 2500}";
    let time_only = job(&ds, v, &algorithm(", adaptive_time: {factor: 2}"), GRID, "{}");
    let (reference, _) = migrate(&time_only, "cpu");
    let both = ", adaptive_time: {factor: 2}, adaptive: {threshold: 0.1, dilation: 2, window: 32}";

    // Masked: inside the mask the time-sampled image bit for bit, outside zero; small tiles and
    // offset gathers alike.
    let text = format!(
        "input: {{dataset: {}}}\nvelocity: {v}\nalgorithm: {}\noutput: {{directory: {}, grid: {GRID}, offset_gathers: {{bin_width_m: 200}}}}\nexecution: {{tile: [8, 8]}}\n",
        ds.display(),
        algorithm(both),
        ds.with_extension("out").display()
    );
    let masked_job = MigrationJob::from_config(pstm_config::from_yaml_str(&text).unwrap()).unwrap();
    let (masked, summary) = migrate(&masked_job, "cpu");
    println!("{summary}");
    assert_eq!(masked.gathers.len(), 2);
    assert!(summary.adaptive.is_some() && summary.time_sampling.is_some());
    let peak = reference.stack.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let mut kept = 0;
    for i in 0..reference.stack.len() {
        if masked.fold[i] == 0 && masked.stack[i] == 0.0 {
            continue;
        }
        kept += 1;
        // The stack is summed from the gathers: the same to float32 rounding.
        assert!((masked.stack[i] - reference.stack[i]).abs() <= 1e-5 * peak, "sample {i}");
        assert_eq!(masked.fold[i], reference.fold[i], "fold of sample {i}");
    }
    let (_, r) = errors(&masked.stack, &reference.stack);
    println!("{kept} of {} samples kept; correlation with the unmasked image {r:.5}", reference.stack.len());
    assert!(kept > 0 && kept < reference.stack.len() / 2 && r > 0.99);

    // gpu-v3 skips the coarse cells no kept fine sample needs, and gives the cpu kernel's image.
    if gpu_available("adaptive_time_sampling_with_a_mask_gathers_and_small_tiles") {
        let (gpu, s) = migrate(&masked_job, "gpu-v3");
        assert!(s.adaptive.as_ref().unwrap().kernel_skips);
        let (rel, _) = errors(&gpu.stack, &masked.stack);
        println!("gpu-v3 against cpu, both adaptive in time and space: relative L2 {rel:.2e}");
        assert!(rel < 1e-5, "relative L2 {rel}");
        assert_eq!(gpu.fold, masked.fold);
    }
}
