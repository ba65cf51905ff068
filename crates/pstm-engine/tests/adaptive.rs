//! Adaptive migration (`algorithm.adaptive`) against the full migration of the same job: the
//! adaptive image is the full one inside its mask and zero outside, it keeps a diffractor and a
//! flat reflector, and it correlates with the full image as the roadmap asks (>= 0.99).

mod common;

use common::*;
use pstm_engine::{RunOptions, create_kernel, executor};

const ALGORITHM: &str = "{aperture: {max_m: 600}, taper: {kind: cosine, fraction: 0.3}}";
const ADAPTIVE: &str = "{aperture: {max_m: 600}, taper: {kind: cosine, fraction: 0.3}, adaptive: {threshold: 0.1, dilation: 2, window: 32}}";
const GRID: &str = "{origin_x: 0, origin_y: 0, dx: 25, dy: 25, nx: 49, ny: 49, t_max_ms: 800}";

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    errors(a, b).1
}

#[test]
fn adaptive_migration_keeps_a_diffractor_and_a_flat_reflector() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(1200.0, 1.0, "{constant: 2500}");
    s.diffractors.push(diffractor(600.0, 625.0, 500.0));
    s.reflectors.push(reflector(900.0, 0.0, 0.0, 0.0, 0.0));
    s.noise = 0.02;
    let ds = write_survey(dir.path(), "survey", &s);
    let kernel = create_kernel("cpu", &Default::default()).unwrap();
    let quiet = RunOptions::QUIET;
    let full_job = job(&ds, "{constant: 2500}", ALGORITHM, GRID, "{}");
    let (full, _) = executor::migrate_to_memory(&full_job, kernel.as_ref(), quiet).unwrap();
    let adaptive_job = job(&ds, "{constant: 2500}", ADAPTIVE, GRID, "{}");
    let (adaptive, summary) = executor::migrate_to_memory(&adaptive_job, kernel.as_ref(), quiet).unwrap();
    let a = summary.adaptive.as_ref().expect("an adaptive summary");
    println!("{summary}");

    // Inside the mask the full image, bit for bit; outside it zero, fold included.
    let mut kept = 0usize;
    for i in 0..full.stack.len() {
        if adaptive.fold[i] == 0 && adaptive.stack[i] == 0.0 && full.stack[i] != 0.0 {
            continue;
        }
        assert_eq!(adaptive.stack[i].to_bits(), full.stack[i].to_bits(), "sample {i}");
        assert_eq!(adaptive.fold[i], full.fold[i], "fold of sample {i}");
        kept += 1;
    }
    assert!(kept > 0);

    let grid = full_job.grid;
    let nt = grid.time.nt;
    let at = |ix: usize, iy: usize, it: usize| (ix * grid.ny + iy) * nt + it;
    // The diffractor focuses where the truth says, in both images, with the same value.
    let (dx, dy, dt) = peak(&adaptive.stack, &grid);
    let (tx, ty) = grid.grid_position(600.0, 625.0);
    let t_true = 2.0 * 500.0 / 2500.0;
    assert!((dx as f64 - tx).abs() <= 1.0 && (dy as f64 - ty).abs() <= 1.0, "focus at ({dx}, {dy})");
    assert!((grid.time.time(dt) - t_true).abs() <= grid.time.dt_s, "focus at {} s", grid.time.time(dt));
    assert_eq!(peak(&full.stack, &grid), (dx, dy, dt));
    // The reflector (t0 = 0.72 s) is kept on every column of the grid.
    let it_reflector = ((2.0 * 900.0 / 2500.0 - grid.time.t0_s) / grid.time.dt_s).round() as usize;
    for ix in 0..grid.nx {
        for iy in 0..grid.ny {
            let i = at(ix, iy, it_reflector);
            assert!(adaptive.fold[i] > 0 && adaptive.stack[i] == full.stack[i], "reflector at column ({ix}, {iy})");
        }
    }

    let r = correlation(&adaptive.stack, &full.stack);
    println!(
        "correlation with the full migration {r:.5} (estimated {:.5}); {:.1}% of the samples migrated",
        a.estimated_correlation,
        a.active_fraction * 100.0
    );
    assert!(r >= 0.99, "correlation {r}");
    assert!((r - a.estimated_correlation).abs() < 0.01, "estimate {} against {r}", a.estimated_correlation);
    assert!(a.active_fraction < 0.5, "the mask keeps {:.2} of the samples", a.active_fraction);
    let kept_fraction = kept as f64 / full.stack.len() as f64;
    assert!((kept_fraction - a.active_fraction).abs() < 0.01, "{kept_fraction} against {}", a.active_fraction);
    assert!(!a.kernel_skips, "the cpu kernel migrates every sample");
    assert_eq!(a.coarse_columns, (12, 12));

    // In small tiles, those without an active cell skipped and the others fed only the traces
    // of their active columns: the same image, bit for bit.
    let tiled = job(&ds, "{constant: 2500}", ADAPTIVE, GRID, "{tile: [8, 8]}");
    let (small_tiles, s) = executor::migrate_to_memory(&tiled, kernel.as_ref(), quiet).unwrap();
    assert!(s.tiles > 30, "{} tiles", s.tiles);
    assert!(small_tiles.stack.iter().zip(&adaptive.stack).all(|(a, b)| a.to_bits() == b.to_bits()));
    assert_eq!(small_tiles.fold, adaptive.fold);

    // With offset gathers: each bin's pieces skipped or fed alike, the stack their sum.
    let text = format!(
        "input: {{dataset: {}}}\nvelocity: {{constant: 2500}}\nalgorithm: {ADAPTIVE}\noutput: {{directory: {}, grid: {GRID}, offset_gathers: {{bin_width_m: 200}}}}\nexecution: {{tile: [8, 8]}}\n",
        ds.display(),
        ds.with_extension("out").display()
    );
    let config: pstm_config::JobConfig = pstm_config::from_yaml_str(&text).unwrap();
    let gathered = pstm_engine::MigrationJob::from_config(config).unwrap();
    let (with_gathers, _) = executor::migrate_to_memory(&gathered, kernel.as_ref(), quiet).unwrap();
    assert_eq!(with_gathers.gathers.len(), 2);
    assert_eq!(with_gathers.fold, adaptive.fold);
    let worst = with_gathers.stack.iter().zip(&adaptive.stack).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
    let peak = adaptive.stack.iter().fold(0.0f32, |m, a| m.max(a.abs()));
    assert!(worst <= 1e-5 * peak, "stack from gathers off by {worst} (peak {peak})");

    // gpu-v3 skips the cells outside the mask itself, and keeps the full image inside it (the
    // cpu kernel's, to float32 rounding: the GPU's own full run is slow on CI's software device).
    if gpu_available("adaptive_migration_keeps_a_diffractor_and_a_flat_reflector") {
        let gpu = create_kernel("gpu-v3", &Default::default()).unwrap();
        let (gpu_adaptive, s) = executor::migrate_to_memory(&tiled, gpu.as_ref(), quiet).unwrap();
        let a = s.adaptive.as_ref().unwrap();
        assert!(a.kernel_skips);
        let (mut diff, mut norm, mut kept) = (0.0f64, 0.0f64, 0usize);
        for i in 0..full.stack.len() {
            if gpu_adaptive.fold[i] == 0 && gpu_adaptive.stack[i] == 0.0 {
                continue;
            }
            kept += 1;
            assert_eq!(gpu_adaptive.fold[i], full.fold[i], "fold of sample {i}");
            diff += (gpu_adaptive.stack[i] as f64 - full.stack[i] as f64).powi(2);
            norm += (full.stack[i] as f64).powi(2);
        }
        let rel = (diff / norm).sqrt();
        let r = correlation(&gpu_adaptive.stack, &full.stack);
        println!("gpu-v3: {kept} samples kept, relative L2 {rel:.2e} against the full image there, correlation {r:.5}");
        assert!(rel < 1e-5, "relative L2 {rel}");
        assert!(r >= 0.99, "correlation {r}");
        assert!((kept as f64 / full.stack.len() as f64 - a.active_fraction).abs() < 0.02);
    }
}

#[test]
fn adaptive_settings_are_validated() {
    let text = "input: {dataset: d}\nvelocity: {constant: 2000}\nalgorithm: {adaptive: {threshold: 2, window: 0}}\noutput: {directory: o}\n";
    let e = pstm_config::from_yaml_str::<pstm_config::JobConfig>(text).unwrap_err().to_string();
    assert!(e.contains("algorithm.adaptive.threshold") && e.contains("algorithm.adaptive.window"), "{e}");
}
