//! `pstm compare` and `pstm bench` through the real binary: exit codes on real mismatches and
//! regressions, and the files they write.

use std::path::Path;
mod common;

use common::{pstm, synth_survey};

/// A 10 x 10 midpoint survey with 251 samples in `dir/survey` (5e6 contributions under the
/// benchmark job).
fn survey(dir: &Path) {
    synth_survey(
        dir,
        "geometry: {extent_x_m: 250, extent_y_m: 250, spacing_m: 25, offsets_m: [200, 400], azimuths_deg: [0, 90]}\n\
         timing: {n_samples: 251, dt_ms: 2}\n\
         velocity: {constant: 2500}\n\
         diffractors: [{x: 125, y: 125, z: 200}]\n",
    );
}

#[test]
fn compare_passes_within_tolerance_and_fails_beyond_it() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let (code, out, err) =
        pstm(&["compare", "--baseline", "cpu-ref", "--candidate", "cpu", "--dataset", "survey", "--repeat", "2"], dir);
    assert_eq!(code, 0, "{out}\n{err}");
    for needle in [
        "max abs difference",
        "max rel difference",
        "relative L2",
        "fold               equal",
        "masked",
        "all bitwise identical",
        "PASS",
    ] {
        assert!(out.contains(needle), "lacks {needle:?}:\n{out}");
    }
    // The float32 kernel differs from float64 by about 1e-6: a real mismatch under a bound
    // tighter than float32 can meet.
    let (code, out, err) = pstm(&["compare", "--candidate", "cpu", "--dataset", "survey", "--rtol", "1e-12"], dir);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("FAIL: relative L2"), "{out}");
    assert!(err.contains("cpu differs from cpu-ref beyond tolerance") && err.contains("exceeds rtol 1.0e-12"), "{err}");
    let (code, _, err) = pstm(&["compare", "--candidate", "cpu", "--dataset", "survey", "--atol", "0"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("exceeds atol"), "{err}");
}

#[test]
fn compare_names_a_missing_dataset_and_an_unknown_kernel() {
    let d = tempfile::tempdir().unwrap();
    let (code, _, err) = pstm(&["compare", "--candidate", "cpu", "--dataset", "nowhere"], d.path());
    assert_eq!(code, 1);
    assert!(err.contains("dataset `nowhere`") && err.contains("tiny, small, medium, large"), "{err}");
    let (code, _, err) = pstm(&["compare", "--candidate", "gpu-v9", "--dataset", "nowhere"], d.path());
    assert_eq!(code, 1);
    assert!(err.contains("unknown kernel `gpu-v9`"), "{err}");
}

#[test]
fn bench_writes_results_and_report_and_flags_a_regression() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let args = ["bench", "--kernels", "cpu,cpu-ref", "--datasets", "survey", "--warmup", "0"];
    let (code, out, err) = pstm(
        &[&args[..], &["--runs", "2", "--output", "r.json", "--report", "r.html", "--ceiling", "1e12"]].concat(),
        dir,
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("cpu-ref") && out.contains("reference") && out.contains("pass"), "{out}");
    assert!(err.contains("cpu on survey: 0 warm-up + 2 timed runs"), "{err}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("r.json")).unwrap()).unwrap();
    assert_eq!(results["schema"], "pstm-bench-results");
    assert_eq!(results["results"][1]["version"], "cpu-ref");
    let page = std::fs::read_to_string(dir.join("r.html")).unwrap();
    assert_eq!(page.matches("<svg").count(), 3, "throughput, speedup and ceiling charts");

    // A previous run ten times as fast: every record regressed (by a margin that a busy
    // two-core machine's run-to-run noise, seen at 3x, does not cover).
    let mut previous = results.clone();
    for r in previous["results"].as_array_mut().unwrap() {
        let m = r["contributions_per_s"]["median"].as_f64().unwrap();
        r["contributions_per_s"]["median"] = (10.0 * m).into();
    }
    std::fs::write(dir.join("prev.json"), previous.to_string()).unwrap();
    let (code, out, err) =
        pstm(&[&args[..], &["--runs", "1", "--compare", "prev.json", "--output", "again.json"]].concat(), dir);
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(out.contains("REGRESSION") && out.contains("2 regression(s)"), "{out}");
    assert!(err.contains("median throughput dropped more than 5%") && err.contains("cpu on survey"), "{err}");
    assert!(dir.join("again.json").exists(), "results are kept when the check fails");

    // Against its own results, with a threshold wide enough for run-to-run noise: no regression.
    let (code, out, err) =
        pstm(&[&args[..], &["--runs", "1", "--compare", "r.json", "--max-drop", "0.99"]].concat(), dir);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("no regression"), "{out}");
}

#[test]
fn bench_prints_its_job_and_rejects_a_bad_previous_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let (code, out, _) = pstm(&["bench", "--print-job"], dir);
    assert_eq!(code, 0);
    assert!(out.contains("max_m: 1500") && out.contains("constant: 2500") && out.contains("dx: 25"), "{out}");
    assert!(!out.contains("---") && !out.contains("max_m: 2000"), "the wide job only when asked for:\n{out}");
    let (code, out, _) = pstm(&["bench", "--print-job", "--datasets", "tiny,wide"], dir);
    assert_eq!(code, 0);
    let jobs: Vec<&str> = out.split("---\n").collect();
    assert_eq!(jobs.len(), 2, "{out}");
    assert!(jobs[0].contains("max_m: 1500") && jobs[1].contains("max_m: 2000"), "{out}");
    assert!(jobs[1].contains("{origin_x: 12.5, origin_y: 12.5, dx: 25, dy: 25, nx: 511, ny: 427}"), "{out}");
    let (code, out, _) = pstm(&["synth", "--size", "wide", "--print-spec"], dir);
    assert_eq!(code, 0);
    assert!(out.contains("extent_x_m: 12775") && out.contains("spacing_m: 12.5"), "{out}");
    std::fs::write(dir.join("bad.json"), "{\"schema\": 1}").unwrap();
    let (code, _, err) = pstm(&["bench", "--kernels", "cpu", "--datasets", "tiny", "--compare", "bad.json"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("bad.json") && err.contains("not a pstm benchmark results file"), "{err}");
    assert!(!dir.join("cache").exists(), "nothing generated before the previous file was read");
}
