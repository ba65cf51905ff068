//! Traces a migration leaves out (dead by their code, all zero, killed) are out of the fold too:
//! a survey with them added images exactly as the survey without them, bit for bit, where the
//! same traces with a whisper of signal would have changed the fold.

mod common;

use std::path::Path;

use common::{diffractor, job_with_input, run, spec, write_survey};
use pstm_io::{Dataset, DatasetLayout, TraceHeaders};

/// The survey `base` with `extra` traces appended: copies of its first traces' geometry, with
/// `samples` (one trace's worth, repeated) and identification code `code`.
fn with_extra_traces(base: &Dataset, dir: &Path, name: &str, extra: usize, samples: &[f32], code: i16) -> Dataset {
    let n = base.layout().n_traces;
    let mut headers: TraceHeaders = base.headers().clone();
    let mut all = base.read_traces(0..n).unwrap();
    for i in 0..extra {
        headers.push((n + i) as u64, &base.headers().geometry(i * 7 % n), None);
        headers.trace_id.as_mut().unwrap().push(code);
        all.extend_from_slice(samples);
    }
    // `push` without lines: the base's line columns are dropped for all rows alike.
    (headers.inline, headers.crossline) = (None, None);
    let layout = DatasetLayout { n_traces: n + extra, ..*base.layout() };
    let path = pstm_io::write_dataset(&dir.join(name), layout, &all, &headers, None, true).unwrap();
    Dataset::open(&path).unwrap()
}

#[test]
fn left_out_traces_change_neither_stack_nor_fold() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(300.0, 0.6, "{constant: 2000}");
    s.diffractors = vec![diffractor(150.0, 150.0, 300.0)];
    let base_path = write_survey(dir.path(), "base", &s);
    let base = Dataset::open(&base_path).unwrap();
    let ns = base.layout().n_samples;
    let algorithm = "{aperture: {max_m: 400}}";
    let grid = "{dx: 25, dy: 25}";
    let image = |path: &Path, kill: Option<&Path>| {
        let input = kill.map_or(String::new(), |k| format!(", kill: {}", k.display()));
        let j = job_with_input(path, &input, "{constant: 2000}", algorithm, grid, "{threads: 2}");
        (run(&j, "cpu"), j.left_out)
    };
    let (reference, none) = image(&base_path, None);
    assert_eq!(none.total(), 0);

    // All-zero traces (marked dead by the writer) and traces marked dead with loud samples.
    let zeros = with_extra_traces(&base, dir.path(), "zeros", 40, &vec![0.0; ns], 1);
    let loud = vec![1e3f32; ns];
    let dead = with_extra_traces(&base, dir.path(), "dead", 40, &loud, 2);
    for (ds, what) in [(&zeros, "all-zero"), (&dead, "dead")] {
        let (v, left_out) = image(ds.root(), None);
        assert_eq!(left_out.not_seismic, 40, "{what}: {left_out:?}");
        assert!(v.stack == reference.stack && v.fold == reference.fold, "{what} traces changed the image");
    }

    // The same traces with a whisper of signal are migrated: the fold shows them, so the test
    // above would have seen them.
    let whisper = with_extra_traces(&base, dir.path(), "whisper", 40, &vec![1e-30; ns], 1);
    let (v, _) = image(whisper.root(), None);
    let (sum, reference_sum) =
        (v.fold.iter().map(|&f| f as u64).sum::<u64>(), reference.fold.iter().map(|&f| f as u64).sum::<u64>());
    println!("fold sum: {reference_sum} without the extra traces, {sum} with 40 live ones");
    assert!(sum > reference_sum);

    // Killed by a list, they are out again.
    let n = base.layout().n_traces;
    let list: String = (n..n + 40).map(|t| format!("{t}\n")).collect();
    std::fs::write(dir.path().join("kill.csv"), format!("trace_idx\n{list}")).unwrap();
    let (v, left_out) = image(whisper.root(), Some(&dir.path().join("kill.csv")));
    assert_eq!(left_out.killed, 40);
    assert!(v.stack == reference.stack && v.fold == reference.fold, "killed traces changed the image");
}
