//! The reference kernel against physics: diffractors focus where `2z/v` says, reflectors image
//! zero phase at their true (migrated) position. Every expected position here comes from the
//! survey's ground truth, never from an earlier image.

mod common;

use common::*;

/// Migrate a one-diffractor survey and return the peak's error in (bins, bins, samples).
fn diffractor_error(x: f64, y: f64, z: f64, velocity: &str, kernel: &str) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(2000.0, 1.4, velocity);
    s.diffractors.push(diffractor(x, y, z));
    let model = pstm_engine::synth::forward_model(&s).unwrap();
    let t0 = model.depth_to_time(z);
    let ds = write_survey(dir.path(), "survey", &s);
    // A 7 x 7 window of 25 m bins whose centre node lies on the nearest node at or below (x, y),
    // and +-120 ms around the truth.
    let (gx, gy) = ((x / 25.0).floor() * 25.0, (y / 25.0).floor() * 25.0);
    let grid = format!(
        "{{origin_x: {}, origin_y: {}, dx: 25, dy: 25, nx: 7, ny: 7, t_min_ms: {}, t_max_ms: {}, dt_ms: 2}}",
        gx - 75.0,
        gy - 75.0,
        ((t0 - 0.12) / 0.002).round() * 2.0,
        ((t0 + 0.12) / 0.002).round() * 2.0
    );
    // No pre-filter: at the diffractor the operator's surface is the data's diffraction surface,
    // so every trace adds its wavelet in phase and the image keeps the wavelet's zero phase.
    // (Reflectors image by stationary phase, which integrates: they need `derivative`.)
    let algorithm = "{aperture: {max_m: 1000}, taper: {kind: cosine, fraction: 0.3}, prefilter: none}";
    let job = job(&ds, velocity, algorithm, &grid, "{}");
    let v = run(&job, kernel);
    let (ix, iy, it) = peak(&v.stack, &job.grid);
    let (px, py) = job.grid.column_xy(ix, iy);
    ((px - x) / 25.0, (py - y) / 25.0, (job.grid.time.time(it) - t0) / 0.002)
}

fn assert_within(e: (f64, f64, f64), bins: f64, samples: f64, what: &str) {
    assert!(
        e.0.abs() <= bins + 1e-9 && e.1.abs() <= bins + 1e-9 && e.2.abs() <= samples + 1e-9,
        "{what}: peak off by {e:?} (bins, bins, samples)"
    );
}

/// The kernels held to physics: the reference, the fast CPU kernel, and the GPU kernels where a
/// GPU adapter exists (required under `PSTM_REQUIRE_GPU=1`).
fn kernels() -> Vec<&'static str> {
    let mut k = vec!["cpu-ref", "cpu"];
    if gpu_available("focusing") {
        k.extend(["gpu-v0", "gpu-v1", "gpu-v2", "gpu-v3:persistent=on"]);
    }
    k
}

#[test]
fn diffractors_on_grid_nodes_focus_within_one_bin_and_one_sample() {
    for kernel in kernels() {
        for (x, y, z, v) in [
            (1000.0, 1000.0, 800.0, "{constant: 2500}"),
            (900.0, 1100.0, 500.0, "{constant: 2000}"),
            (1100.0, 950.0, 1200.0, "{constant: 3000}"),
            (1000.0, 1000.0, 900.0, "{linear: {v0: 1800, k: 600}}"),
            (975.0, 1025.0, 700.0, "{type: interval, table: [[0, 1600], [500, 2200], [1200, 3000]]}"),
        ] {
            assert_within(
                diffractor_error(x, y, z, v, kernel),
                1.0,
                1.0,
                &format!("{kernel}: diffractor at ({x}, {y}, {z}) in {v}"),
            );
        }
    }
}

#[test]
fn diffractors_between_nodes_focus_within_one_bin_and_two_samples() {
    for kernel in kernels() {
        for (x, y, z, v) in
            [(1012.5, 987.5, 800.0, "{constant: 2500}"), (940.0, 1060.0, 1000.0, "{linear: {v0: 2000, k: 400}}")]
        {
            assert_within(
                diffractor_error(x, y, z, v, kernel),
                1.0,
                2.0,
                &format!("{kernel}: diffractor at ({x}, {y}, {z}) in {v}"),
            );
        }
    }
}

#[test]
fn flat_reflector_images_zero_phase_at_t0_with_even_amplitude() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(2000.0, 1.0, "{constant: 2500}");
    s.reflectors.push(reflector(600.0, 0.0, 0.0, 0.0, 0.0));
    let ds = write_survey(dir.path(), "flat", &s);
    let t0 = 2.0 * 600.0 / 2500.0;
    // Interior columns: farther than the aperture (700 m) from every edge of the 2 km survey.
    let grid = "{origin_x: 750, origin_y: 750, dx: 125, dy: 125, nx: 5, ny: 5, t_min_ms: 380, t_max_ms: 580, dt_ms: 2}";
    let algorithm = "{aperture: {max_m: 700}, taper: {kind: cosine, fraction: 0.3}, prefilter: derivative}";
    let job = job(&ds, "{constant: 2500}", algorithm, grid, "{}");
    for kernel in kernels() {
        let v = run(&job, kernel);
        let mut amplitudes = Vec::new();
        for ix in 0..5 {
            for iy in 0..5 {
                let trace = column(&v.stack, &job.grid, ix, iy);
                let t_peak = job.grid.time.t0_s + subsample_peak(trace) * 0.002;
                assert!(
                    (t_peak - t0).abs() <= 0.001,
                    "{kernel}: column ({ix}, {iy}): peak at {t_peak} s, reflector at {t0} s"
                );
                // Zero phase: the samples one wavelet-quarter either side are equal.
                let k = ((t0 - job.grid.time.t0_s) / 0.002).round() as usize;
                let (before, after) = (trace[k - 5] as f64, trace[k + 5] as f64);
                let peak = trace[k] as f64;
                assert!(peak > 0.0, "positive reflection coefficient must image positive");
                assert!(
                    (before - after).abs() <= 0.05 * peak,
                    "column ({ix}, {iy}) not symmetric: {before} vs {after}, peak {peak}"
                );
                amplitudes.push(peak);
            }
        }
        let mean = amplitudes.iter().sum::<f64>() / amplitudes.len() as f64;
        let spread = amplitudes.iter().fold(0.0f64, |m, a| m.max((a - mean).abs() / mean));
        assert!(spread < 0.05, "{kernel}: amplitude varies {:.2}% across the interior", 100.0 * spread);
    }
}

#[test]
fn dipping_reflector_images_at_its_true_position() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(2000.0, 1.0, "{constant: 2500}");
    let plane = reflector(700.0, 1000.0, 1000.0, 20.0, 90.0);
    s.reflectors.push(plane);
    let ds = write_survey(dir.path(), "dip", &s);
    let grid = "{origin_x: 900, origin_y: 900, dx: 50, dy: 100, nx: 5, ny: 3, t_min_ms: 300, t_max_ms: 800, dt_ms: 2}";
    let algorithm = "{aperture: {max_m: 900}, taper: {kind: cosine, fraction: 0.3}, prefilter: derivative}";
    let job = job(&ds, "{constant: 2500}", algorithm, grid, "{}");
    for kernel in kernels() {
        let v = run(&job, kernel);
        for ix in 0..5 {
            for iy in 0..3 {
                let (x, y) = job.grid.column_xy(ix, iy);
                let t_true = 2.0 * plane.depth_at(x, y) / 2500.0;
                let t_unmigrated = t_true * 20f64.to_radians().cos();
                let trace = column(&v.stack, &job.grid, ix, iy);
                let t_peak = job.grid.time.t0_s + subsample_peak(trace) * 0.002;
                assert!(
                    (t_peak - t_true).abs() <= 0.002,
                    "{kernel}: column at ({x}, {y}): peak {t_peak:.4} s, true {t_true:.4} s, unmigrated {t_unmigrated:.4} s"
                );
            }
        }
    }
}
