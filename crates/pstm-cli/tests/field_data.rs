//! Field data through the real binary: datasets as other programs write them (NaN samples, no
//! `trace_idx`, unchecked samples), damaged chunks, dead, all-zero and killed traces. Every bad
//! input stops with a non-zero exit and a message naming the trace, chunk, column or line, and
//! leaves no output; traces left out are left out of the fold too.

use std::path::Path;
use std::sync::Arc;

mod common;

use common::{SMALL_SURVEY, no_output, pstm, synth_survey};

const JOB: &str = "input: {dataset: survey}\nvelocity: {constant: 2000}\n\
                   output: {directory: out, grid: {dx: 25, dy: 25}, normalized_stack: true}\n\
                   execution: {kernel: cpu, progress: false}\n";

fn setup(dir: &Path) {
    synth_survey(dir, SMALL_SURVEY);
    std::fs::write(dir.join("job.yaml"), JOB).unwrap();
}

/// Edit the attributes of `survey/traces.zarr`.
fn set_attribute(dir: &Path, name: &str, value: serde_json::Value) {
    let meta = dir.join("survey/traces.zarr/zarr.json");
    let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    json["attributes"][name] = value;
    std::fs::write(&meta, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
}

/// Put `value` at `sample` of `trace`, as a program that does not check samples would.
fn poke_sample(dir: &Path, trace: u64, sample: u64, value: f32) {
    let store = Arc::new(zarrs::filesystem::FilesystemStore::new(dir.join("survey/traces.zarr")).unwrap());
    let array = zarrs::array::Array::open(store, "/").unwrap();
    let subset = zarrs::array::ArraySubset::new_with_ranges(&[trace..trace + 1, sample..sample + 1]);
    array.store_array_subset(&subset, &[value][..]).unwrap();
}

fn stack_and_fold(dir: &Path, out: &str) -> (Vec<f32>, Vec<u32>) {
    let read = |name: &str| pstm_io::VolumeReader::open(&dir.join(out).join(name)).unwrap();
    let stack = read("migrated_stack.zarr").read_all_f32().unwrap();
    let fold = read("fold.zarr");
    let fold = fold.read_u32(&fold.info().grid.full_tile()).unwrap();
    (stack, fold)
}

#[test]
fn nan_samples_stop_the_run_naming_the_trace_or_are_left_out_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--output", "clean"], dir);
    assert_eq!(code, 0, "{err}");

    // A dataset written elsewhere: nobody vouches for its samples.
    set_attribute(dir, "samples_checked", false.into());
    poke_sample(dir, 417, 120, f32::NAN);
    poke_sample(dir, 90, 3, f32::INFINITY);
    for args in [vec!["migrate", "job.yaml"], vec!["validate", "job.yaml", "--check-data"]] {
        let (code, _, err) = pstm(&args, dir);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains("input.dataset") && err.contains("traces.zarr"), "{err}");
        assert!(err.contains("trace 90, sample 3: inf (and 1 more traces)"), "{err}");
        assert!(err.contains("input.bad_samples: zero_trace"), "{err}");
    }
    no_output(dir);

    // Killing the bad traces deals with them too.
    std::fs::write(dir.join("bad.csv"), "trace_idx\n90\n417\n").unwrap();
    std::fs::write(dir.join("kill.yaml"), JOB.replace("dataset: survey}", "dataset: survey, kill: bad.csv}")).unwrap();
    let (code, out, err) = pstm(&["migrate", "kill.yaml", "--output", "killed"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("left out: 2 killed (input.kill)"), "{out}");
    let (code, out, err) = pstm(&["validate", "kill.yaml", "--check-data"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 traces with NaN or infinite samples") && out.contains("2 killed (input.kill)"), "{out}");

    // Left out when asked: out of the fold too, and said in the summary.
    std::fs::write(dir.join("zero.yaml"), JOB.replace("dataset: survey}", "dataset: survey, bad_samples: zero_trace}"))
        .unwrap();
    let (code, out, err) = pstm(&["migrate", "zero.yaml"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("left out: 2 with NaN or infinite samples (input.bad_samples: zero_trace)"), "{out}");
    let (clean, clean_fold) = stack_and_fold(dir, "clean");
    let (got, fold) = stack_and_fold(dir, "out");
    assert!(got.iter().all(|v| v.is_finite()));
    assert!(fold.iter().sum::<u32>() < clean_fold.iter().sum::<u32>(), "two traces fewer in the fold");
    assert_ne!(got, clean);

    // A dataset that claims checked samples it did not check still cannot put NaN in an image:
    // the samples are checked again as they are read.
    set_attribute(dir, "samples_checked", true.into());
    let (code, _, err) = pstm(&["migrate", "job.yaml", "--overwrite"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("trace 90, sample 3: inf") && err.contains("input.bad_samples"), "{err}");
    assert!(dir.join("out/run.json").exists(), "the earlier output is untouched");
}

#[test]
fn a_damaged_chunk_is_named_and_nothing_is_written() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let chunk = dir.join("survey/traces.zarr/c/0/0");
    let mut bytes = std::fs::read(&chunk).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x01;
    std::fs::write(&chunk, bytes).unwrap();
    for args in [vec!["migrate", "job.yaml"], vec!["validate", "job.yaml", "--check-data"]] {
        let (code, _, err) = pstm(&args, dir);
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(err.contains("traces.zarr") && err.contains("chunk c/0/0") && err.contains("checksum"), "{err}");
    }
    no_output(dir);
}

#[test]
fn headers_without_trace_idx_in_another_order_are_refused() {
    use arrow_array::{ArrayRef, Float64Array, RecordBatch};
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    let headers = pstm_io::Dataset::open(&dir.join("survey")).unwrap().headers().clone();
    // Rows reversed, no trace_idx: which trace a row describes is lost.
    let column = |v: &Vec<f64>| Arc::new(Float64Array::from(v.iter().rev().copied().collect::<Vec<_>>())) as ArrayRef;
    let batch = RecordBatch::try_from_iter([
        ("SOU_X", column(&headers.sou_x)),
        ("SOU_Y", column(&headers.sou_y)),
        ("REC_X", column(&headers.rec_x)),
        ("REC_Y", column(&headers.rec_y)),
    ])
    .unwrap();
    let file = std::fs::File::create(dir.join("survey/headers.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
    w.write(&batch).unwrap();
    w.close().unwrap();
    let (code, _, err) = pstm(&["migrate", "job.yaml"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("headers.parquet") && err.contains("no trace_idx column"), "{err}");
    assert!(err.contains("header_rows_in_trace_order: true"), "{err}");
    no_output(dir);
}

#[test]
fn kill_lists_leave_traces_out_and_a_bad_line_is_named() {
    let d = tempfile::tempdir().unwrap();
    let dir = d.path();
    setup(dir);
    std::fs::write(dir.join("kill.csv"), "trace_idx\n3\n417\n799\n").unwrap();
    std::fs::write(dir.join("kill.yaml"), JOB.replace("dataset: survey}", "dataset: survey, kill: kill.csv}")).unwrap();
    let (code, out, err) = pstm(&["migrate", "kill.yaml"], dir);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("traces          797") && out.contains("left out: 3 killed (input.kill)"), "{out}");

    std::fs::write(dir.join("kill.csv"), "trace_idx\n3\n800\n").unwrap();
    let (code, _, err) = pstm(&["migrate", "kill.yaml", "--output", "again"], dir);
    assert_eq!(code, 1);
    assert!(err.contains("input.kill") && err.contains("kill.csv") && err.contains("line 3: trace_idx 800"), "{err}");
    assert!(!dir.join("again").exists());
}
