//! Bad inputs through the real binary: each gives a non-zero exit, a message naming the culprit,
//! and no output that looks complete.

use std::path::{Path, PathBuf};
mod common;

use common::{fails, no_output, pstm, synth_survey};

/// A tiny survey shared by the tests of one process (10 x 10 midpoints, 2 offsets).
fn survey(dir: &Path) -> PathBuf {
    synth_survey(
        dir,
        "geometry: {extent_x_m: 250, extent_y_m: 250, spacing_m: 25, offsets_m: [100, 300], azimuths_deg: [0, 90]}\n\
         timing: {n_samples: 251, dt_ms: 4}\n\
         velocity: {constant: 2000}\n\
         diffractors: [{x: 125, y: 125, z: 300}]\n",
    )
}

fn job(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_string()
}

const GOOD: &str = "input: {dataset: survey}\nvelocity: {constant: 2000}\noutput: {directory: out, grid: {dx: 25, dy: 25}}\nexecution: {progress: false}\n";

#[test]
fn config_errors_name_the_key() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let f = job(dir, "a.yaml", &GOOD.replace("execution: {", "execution: {kernal: cpu, "));
    fails(&["validate", &f], dir, &["a.yaml", "execution.kernal", "did you mean `kernel`"]);
    let f = job(dir, "b.yaml", &GOOD.replace("execution: {", "execution: {max_memory_gb: lots, "));
    fails(&["migrate", &f], dir, &["execution.max_memory_gb", "invalid type"]);
    let f = job(dir, "c.yaml", &GOOD.replace("constant: 2000", "constant: 0"));
    fails(&["migrate", &f], dir, &["velocity.constant", "out of range"]);
    let f = job(dir, "d.yaml", &GOOD.replace("constant: 2000", "constant: -1500"));
    fails(&["migrate", &f], dir, &["velocity.constant", "out of range"]);
    let f = job(dir, "e.yaml", &GOOD.replace("dy: 25}", "dy: 25, dt_ms: 0}"));
    fails(&["migrate", &f], dir, &["output.grid.dt_ms", "out of range"]);
    let f = job(dir, "f.yaml", &GOOD.replace("dy: 25}", "dy: 25, nx: 0}"));
    fails(&["migrate", &f], dir, &["output.grid.nx", "at least 1"]);
    let f = job(dir, "g.yaml", &GOOD.replace("{constant: 2000}", "{table: [[0, 1500], [400, .nan]]}"));
    fails(&["migrate", &f], dir, &["g.yaml", "line 2", "non-finite"]);
    let f = job(dir, "h.yaml", &GOOD.replace("{constant: 2000}", "{table: [[0, 1500], [400, 1800], [300, 1900]]}"));
    fails(&["migrate", &f], dir, &["velocity.table[2][0]", "times must increase"]);
    let f = job(dir, "i.yaml", &GOOD.replace("{constant: 2000}", "{type: interval, table: [[0, 1500]]}"));
    fails(&["migrate", &f], dir, &["velocity.table", "at least two picks"]);
    no_output(dir);
}

#[test]
fn synth_spec_errors_name_the_field_and_leave_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let base = "geometry: {extent_x_m: 100, extent_y_m: 100, spacing_m: 25, offsets_m: [100], azimuths_deg: [0]}\ntiming: {n_samples: 100, dt_ms: 4}\nvelocity: {constant: 2000}\n";
    std::fs::write(dir.join("s1.yaml"), base.replace("offsets_m: [100]", "offsets_m: []")).unwrap();
    fails(&["synth", "--spec", "s1.yaml", "--out", "out1"], dir, &["s1.yaml", "geometry.offsets_m", "empty"]);
    std::fs::write(dir.join("s2.yaml"), base.replace("dt_ms: 4", "dt_ms: -4")).unwrap();
    fails(&["synth", "--spec", "s2.yaml", "--out", "out2"], dir, &["timing.dt_ms", "out of range"]);
    fails(&["synth", "--size", "huge"], dir, &["unknown size `huge`", "tiny"]);
    no_output(dir);
}

#[test]
fn data_errors_name_the_file() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    let ds = survey(dir);
    // Missing dataset.
    let f = job(dir, "m.yaml", &GOOD.replace("dataset: survey", "dataset: nowhere"));
    fails(&["validate", &f, "--check-data"], dir, &["input.dataset", "nowhere", "not found"]);
    fails(&["migrate", &f], dir, &["input.dataset", "nowhere", "not found"]);
    // A key twice: said once, on one line, in plain words.
    let f = job(dir, "twice.yaml", &format!("{GOOD}velocity: {{constant: 2500}}\n"));
    let err = fails(&["migrate", &f], dir, &["twice.yaml", "line 5", "duplicate", "only once"]);
    assert!(!err.contains("DuplicateKeyPolicy") && err.trim().lines().count() == 1, "{err}");
    // Missing job file.
    fails(&["migrate", "absent.yaml"], dir, &["absent.yaml", "cannot read"]);
    // Grid that misses the survey.
    let f = job(dir, "g.yaml", &GOOD.replace("dy: 25}", "dy: 25, origin_x: 100000, origin_y: 0, nx: 4, ny: 4}"));
    fails(&["migrate", &f], dir, &["output.grid", "misses the survey"]);
    // Aperture that catches no trace: midpoints sit 12.5 m off the nodes.
    let f = job(
        dir,
        "a.yaml",
        &GOOD
            .replace("velocity:", "algorithm: {aperture: {max_m: 1, min_m: 0}}\nvelocity:")
            .replace("dy: 25}", "dy: 25, origin_x: 0, origin_y: 0}"),
    );
    fails(&["migrate", &f], dir, &["algorithm.aperture", "no trace midpoint lies within the aperture"]);
    // Unknown kernel, listing the valid ones.
    fails(&["migrate", "m.yaml", "--kernel", "gpu-v99"], dir, &["nowhere"]);
    let f = job(dir, "k.yaml", GOOD);
    fails(&["migrate", &f, "--kernel", "gpu-v99"], dir, &["unknown kernel `gpu-v99`", "cpu-ref", "auto"]);
    // Memory budget too small for one tile.
    let f = job(dir, "b.yaml", &GOOD.replace("execution: {", "execution: {max_memory_gb: 0.00001, "));
    fails(&["migrate", &f], dir, &["max_memory_gb", "too small", "headers of 200 traces"]);
    let f = job(dir, "b2.yaml", &GOOD.replace("execution: {", "execution: {max_memory_gb: 0.000025, "));
    fails(&["migrate", &f], dir, &["max_memory_gb", "too small for one tile"]);
    no_output(dir);

    // A velocity cube that does not cover the grid.
    let cube = pstm_math::velocity::VelocityCube {
        x0: 100.0,
        dx: 50.0,
        nx: 2,
        y0: 0.0,
        dy: 50.0,
        ny: 6,
        t0: 0.0,
        dt: 0.5,
        nt: 3,
        data: vec![2000.0; 36],
    };
    pstm_io::velocity_cube::write(&dir.join("v.zarr"), &cube).unwrap();
    let f = job(dir, "c.yaml", &GOOD.replace("{constant: 2000}", "{cube: v.zarr}"));
    fails(&["migrate", &f], dir, &["velocity.cube", "does not cover", "output x minimum"]);
    no_output(dir);

    // Header row count differing from the trace count.
    let headers = pstm_io::TraceHeaders::read_parquet(&ds.join("headers.parquet")).unwrap();
    let mut short = pstm_io::TraceHeaders::default();
    for i in 0..headers.len() - 1 {
        short.push(i as u64, &headers.geometry(i), None);
    }
    short.write_parquet(&ds.join("headers.parquet")).unwrap();
    fails(&["migrate", "k.yaml"], dir, &["headers.parquet", "199 rows", "200 traces"]);
    fails(&["info", "survey"], dir, &["headers.parquet", "199 rows"]);
    headers.write_parquet(&ds.join("headers.parquet")).unwrap();

    // An unreadable chunk: the run fails naming the traces, and leaves no output.
    std::fs::write(ds.join("traces.zarr/c/0/0"), b"garbage").unwrap();
    fails(&["migrate", "k.yaml"], dir, &["traces.zarr", "cannot read traces"]);
    no_output(dir);
}

#[test]
fn good_job_runs_and_dry_run_writes_nothing() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let f = job(dir, "k.yaml", GOOD);
    let (code, out, err) = pstm(&["migrate", &f, "--dry-run"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tiles") && out.contains("contributions") && out.contains("memory"), "{out}");
    // The grid it will write and how much of the work it visits is useful.
    assert!(out.contains("chosen by cost") && out.contains("visit efficiency"), "{out}");
    // What it will take: the traces, and a time measured on a sample of the grid.
    assert!(out.contains("traces selected   200 of 200"), "{out}");
    let estimate = out.lines().find(|l| l.starts_with("estimate")).expect("an estimate");
    let seconds: f64 = estimate.split_whitespace().nth(2).unwrap().parse().unwrap();
    let rate: f64 = estimate.split(" at ").nth(1).and_then(|r| r.split_whitespace().next()).unwrap().parse().unwrap();
    assert!(seconds >= 0.0 && seconds.is_finite() && rate > 0.0, "{estimate}");
    assert!(
        out.contains("grid ") && out.contains(" columns of ") && out.contains(" from (") && out.contains(" ms every "),
        "{out}"
    );
    no_output(dir);
    let (code, out, err) = pstm(&["migrate", &f, "--kernel", "cpu-ref"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("written to"), "{out}");
    // Pictures of the output, and bad requests said plainly.
    let (code, out, err) = pstm(&["plot", "out", "--out", "pics", "--kind", "inline,time"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("pics/out_inline.png") && dir.join("pics/out_time.png").exists(), "{out}");
    fails(&["plot", "out", "--kind", "sideways"], dir, &["--kind sideways", "inline, crossline, time, gather"]);
    fails(&["plot", "out", "--crossline", "50"], dir, &["--crossline 50", "1..10"]);
    fails(&["plot", "out", "--kind", "gather"], dir, &["no offset gathers", "output.offset_gathers"]);
    fails(&["plot", "nowhere"], dir, &["nowhere", "not a volume"]);
    let (code, out, _) = pstm(&["info", "out"], dir);
    assert_eq!(code, 0);
    assert!(out.contains("migrated_stack.zarr") && out.contains("fold.zarr") && out.contains("cpu-ref"), "{out}");
    // Existing output is kept unless overwriting is allowed.
    fails(&["migrate", &f], dir, &["output.directory", "out", "already exists", "output.overwrite", "--overwrite"]);
    let (code, _, err) = pstm(&["migrate", &f, "--overwrite", "--quiet"], dir);
    assert_eq!(code, 0, "{err}");
    let (code, _, _) = pstm(&["validate", &f, "--check-data"], dir);
    assert_eq!(code, 0);
    let (code, _, _) = pstm(&["create-config", "--output", "new.yaml"], dir);
    assert_eq!(code, 0);
    fails(&["create-config", "--output", "new.yaml"], dir, &["new.yaml", "already exists"]);
    let (code, out, _) = pstm(&["kernels"], dir);
    assert_eq!(code, 0);
    assert!(out.contains("cpu-ref"));
}

#[test]
fn adaptive_jobs_run_from_the_job_file_and_say_what_they_kept() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let text = GOOD.replace(
        "velocity: {constant: 2000}\n",
        "velocity: {constant: 2000}\nalgorithm: {adaptive: {threshold: 0.05}}\n",
    );
    let f = job(dir, "a.yaml", &text);
    let (code, out, err) = pstm(&["migrate", &f, "--dry-run"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("adaptive") && out.contains("coarse pass on 2 x 2 columns"), "{out}");
    let (code, out, err) = pstm(&["migrate", &f, "--kernel", "cpu"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("of the output samples kept") && out.contains("effective"), "{out}");
    assert!(out.contains("written to"), "{out}");
    let bad = job(
        dir,
        "b.yaml",
        &GOOD.replace(
            "velocity: {constant: 2000}\n",
            "velocity: {constant: 2000}\nalgorithm: {adaptive: {threshold: 2, dilation: 100}}\n",
        ),
    );
    fails(&["migrate", &bad], dir, &["algorithm.adaptive.threshold", "algorithm.adaptive.dilation"]);
}

#[test]
fn adaptive_time_jobs_run_from_the_job_file_and_say_what_they_migrated() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    let with = |adaptive_time: &str| {
        GOOD.replace(
            "velocity: {constant: 2000}\n",
            &format!("velocity: {{constant: 2000}}\nalgorithm: {{adaptive_time: {adaptive_time}}}\n"),
        )
    };
    let f = job(dir, "t.yaml", &with("{max_factor: 3}"));
    let (code, out, err) = pstm(&["migrate", &f, "--dry-run"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("adaptive time") && out.contains("1 output time in up to 3"), "{out}");
    let (code, out, err) = pstm(&["migrate", &f, "--kernel", "cpu"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("time sampling") && out.contains("the image's band ends at") && out.contains("effective"),
        "{out}"
    );
    assert!(out.contains("written to"), "{out}");
    let bad = job(dir, "b.yaml", &with("{factor: 0, max_factor: 99, level_db: 3}"));
    fails(
        &["migrate", &bad],
        dir,
        &["algorithm.adaptive_time.factor", "algorithm.adaptive_time.max_factor", "algorithm.adaptive_time.level_db"],
    );
}

#[test]
fn overwriting_never_deletes_what_pstm_did_not_write() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    survey(dir);
    // The output pointed at the input dataset.
    let f = job(dir, "self.yaml", &GOOD.replace("directory: out", "directory: survey, overwrite: true"));
    fails(&["migrate", &f], dir, &["output.directory", "overlaps the input dataset"]);
    assert!(dir.join("survey/traces.zarr").exists(), "the dataset must survive");
    // A directory of the user's own at the output path.
    std::fs::create_dir_all(dir.join("mine")).unwrap();
    std::fs::write(dir.join("mine/notes.txt"), b"keep me").unwrap();
    let f = job(dir, "mine.yaml", &GOOD.replace("directory: out", "directory: mine, overwrite: true"));
    fails(&["migrate", &f], dir, &["mine", "is not a pstm output directory", "refusing to replace"]);
    assert!(dir.join("mine/notes.txt").exists());
    // A previous pstm output is replaced.
    let f = job(dir, "ok.yaml", &GOOD.replace("directory: out", "directory: out, overwrite: true"));
    for _ in 0..2 {
        let (code, _, err) = pstm(&["migrate", &f], dir);
        assert_eq!(code, 0, "{err}");
    }
    // synth --overwrite replaces a dataset, not a directory of the user's own.
    fails(&["synth", "--size", "tiny", "--out", "mine", "--overwrite"], dir, &["is not a pstm dataset"]);
    assert!(dir.join("mine/notes.txt").exists());
}
