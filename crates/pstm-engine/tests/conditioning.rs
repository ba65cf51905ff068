//! Trace conditioning before migration, judged on synthetics with known truth: a top mute
//! removes a direct arrival and a ground-roll cone from a 2D line and the diffractor stands out
//! by a stated factor more; a datum static undoes what source and receiver elevations did to the
//! traces.

mod common;

use std::path::Path;

use common::{diffractor, errors, job_with_input, line_spec, run, spec, write_survey};
use pstm_config::from_yaml_str;
use pstm_engine::MigrationJob;
use pstm_io::Dataset;
use pstm_math::model::LinearEvent;

fn job_text(dataset: &Path, input: &str, algorithm: &str, grid: &str) -> MigrationJob {
    job_with_input(dataset, input, "{constant: 2000}", algorithm, grid, "{threads: 2}")
}

/// The largest |amplitude| within `(dx, dt)` of `(ix, it)`, and the RMS of everything farther.
fn peak_and_background(image: &[f32], nt: usize, (ix, it): (usize, usize), (dx, dt): (usize, usize)) -> (f64, f64) {
    let (mut peak, mut sum, mut n) = (0.0f64, 0.0f64, 0usize);
    for (k, &v) in image.iter().enumerate() {
        let (x, t) = (k / nt, k % nt);
        if x.abs_diff(ix) <= dx && t.abs_diff(it) <= dt {
            peak = peak.max((v as f64).abs());
        } else {
            sum += (v as f64).powi(2);
            n += 1;
        }
    }
    (peak, (sum / n.max(1) as f64).sqrt())
}

#[test]
fn a_top_mute_removes_direct_arrival_and_ground_roll_from_a_line() {
    let dir = tempfile::tempdir().unwrap();
    // One line of midpoints along x, offsets to 1200 m in line, a diffractor 1500 m down.
    let mut s = line_spec(2000.0, 1200.0, 2.2, "{constant: 2000}");
    s.timing.dt_ms = 4.0;
    s.timing.n_samples = 551;
    s.diffractors = vec![diffractor(1012.5, 12.5, 1500.0)];
    s.linear_events = vec![
        LinearEvent { velocity: 1600.0, intercept_ms: 0.0, amplitude: 4.0, freq_hz: None },
        // A ground-roll cone: slow, low, strong.
        LinearEvent { velocity: 1000.0, intercept_ms: 0.0, amplitude: 6.0, freq_hz: Some(12.0) },
        LinearEvent { velocity: 1100.0, intercept_ms: 0.0, amplitude: 6.0, freq_hz: Some(12.0) },
        LinearEvent { velocity: 1250.0, intercept_ms: 0.0, amplitude: 6.0, freq_hz: Some(12.0) },
    ];
    let path = write_survey(dir.path(), "line", &s);
    let algorithm = "{aperture: {max_m: 1000}, taper: {kind: cosine, fraction: 0.2}}";
    let grid = "{dx: 25, dy: 25}";
    let plain = job_text(&path, "", algorithm, grid);
    let muted = job_text(&path, ", mute: {top: [[0, 150], [1200, 1350]], taper_ms: 20}", algorithm, grid);
    assert_eq!(plain.grid.ny, 1, "a line");
    let nt = plain.grid.time.nt;
    // The diffractor: t0 = 1.5 s, at the column nearest x = 1012.5.
    let ix = ((1012.5 - plain.grid.origin_x) / plain.grid.dx).round() as usize;
    let it = ((1.5 - plain.grid.time.t0_s) / plain.grid.time.dt_s).round() as usize;
    let ratio = |job: &MigrationJob| {
        let v = run(job, "cpu");
        let (peak, background) = peak_and_background(&v.stack, nt, (ix, it), (2, 10));
        (peak, background, peak / background)
    };
    let (p0, b0, r0) = ratio(&plain);
    let (p1, b1, r1) = ratio(&muted);
    println!(
        "diffractor peak / background RMS: {r0:.1} without the mute (peak {p0:.3e}, background {b0:.3e}), {r1:.1} with it (peak {p1:.3e}, background {b1:.3e}): {:.1}x",
        r1 / r0
    );
    assert!(r1 > 5.0 * r0, "the mute should lift the diffractor above the noise trains: {r0:.1} -> {r1:.1}");
    assert!((p1 - p0).abs() < 0.2 * p0, "the diffractor itself lies below the mute: {p0:.3e} vs {p1:.3e}");
}

#[test]
fn a_datum_static_undoes_the_elevations() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(500.0, 0.8, "{constant: 2000}");
    s.diffractors = vec![diffractor(250.0, 250.0, 400.0)];
    let flat = write_survey(dir.path(), "flat", &s);
    let base = Dataset::open(&flat).unwrap();
    let (n, ns, dt) = (base.layout().n_traces, base.layout().n_samples, base.layout().dt_s());
    // Sources and receivers up to 30 m above a datum at 100 m: each trace later by its path
    // through the extra 2000 m/s layer.
    let mut headers = base.headers().clone();
    let mut samples = base.read_traces(0..n).unwrap();
    let datum = pstm_math::conditioning::DatumStatic { datum_m: 100.0, replacement_velocity: 2000.0 };
    let mut rng = pstm_math::rng::SplitMix64::new(3);
    for trace in samples.chunks_exact_mut(ns) {
        let (se, re) = (100.0 + 30.0 * rng.uniform(), 100.0 + 30.0 * rng.uniform());
        headers.set_elevations(se, re);
        pstm_math::conditioning::DatumStatic::apply(trace, -datum.shift(se, re), dt);
    }
    let elevated =
        pstm_io::write_dataset(&dir.path().join("elevated"), *base.layout(), &samples, &headers, None, true).unwrap();
    let algorithm = "{aperture: {max_m: 500}, taper: {kind: cosine, fraction: 0.3}, prefilter: derivative}";
    let grid = "{dx: 25, dy: 25}";
    let reference = run(&job_text(&flat, "", algorithm, grid), "cpu").stack;
    let uncorrected = run(&job_text(&elevated, "", algorithm, grid), "cpu").stack;
    let corrected =
        run(&job_text(&elevated, ", datum: {elevation_m: 100, replacement_velocity: 2000}", algorithm, grid), "cpu")
            .stack;
    let (c0, c1) = (errors(&reference, &uncorrected).1, errors(&reference, &corrected).1);
    println!("correlation with the flat survey's image: {c0:.4} without the datum static, {c1:.4} with it");
    assert!(c1 > 0.98 && c1 > c0 + 0.05, "{c0} -> {c1}");

    // Without elevations in the headers a datum static is refused, naming the key.
    let text = format!(
        "input: {{dataset: {}, datum: {{elevation_m: 0, replacement_velocity: 2000}}}}\nvelocity: {{constant: 2000}}\noutput: {{directory: {}, grid: {grid}}}\n",
        flat.display(),
        dir.path().join("x").display()
    );
    let e = MigrationJob::from_config(from_yaml_str(&text).unwrap()).unwrap_err().to_string();
    assert!(e.contains("input.datum") && e.contains("SOU_ELEV"), "{e}");
}
