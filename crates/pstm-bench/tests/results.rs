//! `pstm bench` as a library: a real (small) benchmark, its results file against the committed
//! JSON Schema, the regression alert on synthetic previous results, and the report page.

mod common;

use std::path::{Path, PathBuf};

use pstm_bench::record::{AccuracyStatus, BenchResults, TimeSource};
use pstm_bench::regress::{DEFAULT_MAX_DROP, check};
use pstm_bench::{BenchOptions, report, run_bench};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn validator() -> jsonschema::Validator {
    let path = repo_root().join("bench/schema/results.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

fn assert_valid(value: &serde_json::Value, what: &str) {
    let v = validator();
    let errors: Vec<String> = v.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(errors.is_empty(), "{what} does not match the schema:\n{}", errors.join("\n"));
}

/// Two kernels, two runs each, on the test survey.
fn small_bench(dir: &Path) -> BenchResults {
    let d = common::survey(dir);
    let path = d.path.display().to_string();
    let mut options = BenchOptions::new(vec!["cpu".into(), "cpu-ref".into()], vec![path]);
    options.runs = 2;
    options.warmup = 1;
    options.ceiling = Some(1.0e12);
    let mut log = Vec::new();
    let results = run_bench(&options, &mut |l| log.push(l.to_string())).unwrap();
    assert!(log.iter().any(|l| l.contains("cpu on survey")), "{log:?}");
    results
}

#[test]
fn a_benchmark_records_what_it_measured_and_matches_the_schema() {
    let dir = tempfile::tempdir().unwrap();
    let results = small_bench(dir.path());
    assert_eq!(results.results.len(), 2);
    let (cpu, reference) = (&results.results[0], &results.results[1]);
    assert_eq!((cpu.version.as_str(), reference.version.as_str()), ("cpu", "cpu-ref"));
    for r in &results.results {
        assert_eq!(r.contributions, 200 * 100 * 251, "every trace reaches every column");
        assert_eq!((r.n_traces, r.n_output_samples, r.runs, r.warmup), (200, 100 * 251, 2, 1));
        assert!(r.total_time_s.min > 0.0 && r.total_time_s.min <= r.total_time_s.median);
        let rate = r.contributions as f64 / r.total_time_s.max;
        assert!((r.contributions_per_s.min - rate).abs() <= 1e-9 * rate, "slowest run gives the lowest rate");
        assert_eq!(r.kernel_time_source, TimeSource::Executor);
        assert_eq!(r.buffer_time_source, TimeSource::LoadRead);
        assert_eq!(r.speedup_baseline, "cpu");
        assert_eq!(r.ceiling_fraction, Some(r.contributions_per_s.median / 1.0e12));
        assert!((r.throughput_mtrace_s - r.traces_per_s.median * 1e-6).abs() < 1e-12);
    }
    assert_eq!(cpu.speedup, 1.0);
    assert_eq!(reference.accuracy.status, AccuracyStatus::Reference);
    assert_eq!(cpu.accuracy.status, AccuracyStatus::Measured);
    assert_eq!(cpu.accuracy.passes, Some(true), "{:?}", cpu.accuracy);
    assert!(cpu.accuracy.rel_l2.unwrap() < 1e-4);

    let value = serde_json::to_value(&results).unwrap();
    assert_valid(&value, "a fresh results file");
    // The file round-trips through `--compare`'s reader.
    let file = dir.path().join("results.json");
    results.write(&file).unwrap();
    assert_eq!(BenchResults::read(&file).unwrap(), results);

    let page = report::html(&results, None).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>") && page.matches("<svg").count() == 3, "three charts with a ceiling");
    assert!(page.contains("<td>cpu-ref</td>") && page.contains("Appendix C"), "{page}");
}

#[test]
fn the_schema_rejects_what_the_reader_would_misread() {
    let dir = tempfile::tempdir().unwrap();
    let mut value = serde_json::to_value(small_bench(dir.path())).unwrap();
    let v = validator();
    assert!(v.is_valid(&value));
    value["results"][0]["accuracy"]["status"] = "maybe".into();
    assert!(!v.is_valid(&value));
    value["results"][0]["accuracy"]["status"] = "measured".into();
    value["results"][0]["total_time_s"].as_object_mut().unwrap().remove("median");
    assert!(!v.is_valid(&value));
    let mut extra = serde_json::to_value(small_bench(dir.path())).unwrap();
    extra["surprise"] = 1.into();
    assert!(!v.is_valid(&extra));
}

#[test]
fn committed_results_match_the_schema() {
    let dir = repo_root().join("bench/results");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "json") {
            let value: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            assert_valid(&value, &path.display().to_string());
            BenchResults::read(&path).unwrap();
        }
    }
}

#[test]
fn a_drop_beyond_five_percent_is_a_regression_and_within_it_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let current = small_bench(dir.path());
    let scaled = |factor: f64| {
        let mut p = current.clone();
        for r in &mut p.results {
            r.contributions_per_s.median *= factor;
        }
        p
    };
    // Previous 10% faster: now is 9.1% slower.
    let c = check(&scaled(1.10), &current, DEFAULT_MAX_DROP);
    assert_eq!(c.regressions().count(), 2, "{c}");
    let text = c.to_string();
    assert!(text.contains("REGRESSION") && text.contains("2 regression(s)") && text.contains("-9.1%"), "{text}");
    // Previous 4% faster: a 3.8% drop, within the threshold.
    let c = check(&scaled(1.04), &current, DEFAULT_MAX_DROP);
    assert!(!c.any_regressed(), "{c}");
    assert!(c.to_string().ends_with("no regression"));
    // A kernel the previous file lacks is new, not a regression; another machine is noted.
    let mut previous = scaled(1.0);
    previous.results.retain(|r| r.version == "cpu");
    previous.machine.cpu_model = "Some Other CPU".into();
    let c = check(&previous, &current, DEFAULT_MAX_DROP);
    assert_eq!(c.new, vec!["cpu-ref on survey".to_string()]);
    assert!(c.machine_note.is_some() && !c.any_regressed());
    // A busy machine is pointed out beside the numbers.
    let mut busy = scaled(1.10);
    busy.results[0].load_before = Some([64.0, 1.0, 1.0]);
    let c = check(&busy, &current, DEFAULT_MAX_DROP);
    assert_eq!(c.changes[0].busy_load, Some(64.0));
    assert!(c.to_string().contains("(load 64.0"), "{c}");
}

#[test]
fn bad_settings_fail_before_any_run() {
    let mut o = BenchOptions::new(vec!["cpu".into(), "cpu".into()], vec!["tiny".into()]);
    assert!(run_bench(&o, &mut |_| {}).unwrap_err().to_string().contains("listed twice"));
    o.kernels = vec!["gpu-v9".into()];
    assert!(run_bench(&o, &mut |_| {}).unwrap_err().to_string().contains("unknown kernel `gpu-v9`"));
    o.kernels = vec!["cpu".into()];
    o.runs = 0;
    assert!(run_bench(&o, &mut |_| {}).unwrap_err().to_string().contains("--runs"));
}
