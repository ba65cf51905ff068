//! zarr-python and pyarrow, the readers users trust, as judges of what pstm writes and reads:
//! datasets and volumes pstm writes open in Python with the right shapes, attributes and values;
//! datasets Python writes (zarr v2 and v3, pyarrow parquet with snappy) open in pstm.
//!
//! Needs `python3` with `zarr`, `pyarrow` and `numpy`. Without them each test prints a notice and
//! passes, unless `PSTM_REQUIRE_INTEROP=1` (CI sets it), which makes it fail.

mod common;
#[path = "../../../tests/interop/python.rs"]
mod python;

use std::ffi::OsStr;

use pstm_io::{Dataset, VolumeReader};

const MODULES: &str = "zarr, pyarrow, numpy";

fn sums(v: &[f32]) -> (f64, f64) {
    (v.iter().map(|&x| x as f64).sum(), v.iter().map(|&x| (x as f64).abs()).sum())
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// A 300 m survey with one diffractor and noise.
fn noisy_diffractor(dir: &std::path::Path) -> std::path::PathBuf {
    let mut spec = common::spec(300.0, 0.4, "{constant: 2000}");
    spec.diffractors.push(common::diffractor(150.0, 150.0, 200.0));
    spec.noise = 0.1;
    common::write_survey(dir, "survey", &spec)
}

#[test]
fn python_reads_what_pstm_writes() {
    if !python::available("python_reads_what_pstm_writes", MODULES) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ds_path = noisy_diffractor(dir.path());
    let ds = Dataset::open(&ds_path).unwrap();
    let samples = ds.read_traces(0..ds.layout().n_traces).unwrap();
    let p = python::json("zarr_dataset.py", &[OsStr::new("read-dataset"), ds_path.as_os_str()]);
    assert_eq!(p["shape"], serde_json::json!([ds.layout().n_traces, ds.layout().n_samples]));
    assert_eq!(p["dtype"], "float32");
    assert_eq!(p["zarr_format"], 3);
    for key in ["sample_rate_ms", "start_time_ms", "n_traces", "n_samples"] {
        assert!(p["attrs"][key].is_number(), "attribute {key} missing: {}", p["attrs"]);
    }
    let (sum, sum_abs) = sums(&samples);
    assert!(
        close(p["samples"]["sum"].as_f64().unwrap(), sum) && close(p["samples"]["sum_abs"].as_f64().unwrap(), sum_abs)
    );
    let trace5: Vec<f64> = p["trace_5"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let ns = ds.layout().n_samples;
    assert_eq!(trace5, samples[5 * ns..5 * ns + 8].iter().map(|&v| v as f64).collect::<Vec<_>>());
    assert_eq!(p["rows"], ds.layout().n_traces);
    let h = ds.headers();
    let row = &p["header_row_5"];
    assert_eq!(row["trace_idx"], 5);
    for (col, v) in [
        ("SOU_X", h.sou_x[5]),
        ("SOU_Y", h.sou_y[5]),
        ("REC_X", h.rec_x[5]),
        ("REC_Y", h.rec_y[5]),
        ("CDP_X", h.cdp_x[5]),
        ("OFFSET", h.offset[5]),
        ("AZIMUTH", h.azimuth[5]),
    ] {
        assert_eq!(row[col].as_f64().unwrap(), v, "{col}");
    }

    // An output volume, through the whole engine.
    let job =
        common::job(&ds_path, "{constant: 2000}", "{aperture: {max_m: 300}}", "{dx: 25, dy: 25}", "{progress: false}");
    let k = pstm_engine::create_kernel("cpu-ref", &Default::default()).unwrap();
    let out = pstm_engine::executor::migrate(&job, k.as_ref(), Default::default()).unwrap().output.unwrap();
    let stack_path = out.join(pstm_engine::output::STACK);
    let stack = VolumeReader::open(&stack_path).unwrap();
    let values = stack.read_all_f32().unwrap();
    let v = python::json("zarr_dataset.py", &[OsStr::new("read-volume"), stack_path.as_os_str()]);
    let g = job.grid;
    assert_eq!(v["shape"], serde_json::json!([g.nx, g.ny, g.time.nt]));
    assert_eq!(v["attrs"]["kernel"], "cpu-ref");
    assert_eq!(v["attrs"]["dx"], 25.0);
    assert!(close(v["attrs"]["t_max_ms"].as_f64().unwrap(), g.time.last() * 1e3));
    assert!(close(v["values"]["sum"].as_f64().unwrap(), sums(&values).0));
    let fold =
        python::json("zarr_dataset.py", &[OsStr::new("read-volume"), out.join(pstm_engine::output::FOLD).as_os_str()]);
    assert_eq!(fold["dtype"], "uint32");
}

#[test]
fn python_and_xarray_read_the_multiscale_stack() {
    if !python::available("python_and_xarray_read_the_multiscale_stack", "zarr, numpy, xarray") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let ds_path = noisy_diffractor(dir.path());
    let text = format!(
        "input: {{dataset: {}}}\nvelocity: {{constant: 2000}}\nalgorithm: {{aperture: {{max_m: 300}}}}\noutput: {{directory: {}, grid: {{dx: 25, dy: 25}}, multiscale: {{levels: 3}}}}\nexecution: {{progress: false}}\n",
        ds_path.display(),
        dir.path().join("out").display()
    );
    let job = pstm_engine::MigrationJob::from_config(pstm_config::from_yaml_str(&text).unwrap()).unwrap();
    let k = pstm_engine::create_kernel("cpu", &Default::default()).unwrap();
    let out = pstm_engine::executor::migrate(&job, k.as_ref(), Default::default()).unwrap().output.unwrap();
    let path = out.join(pstm_engine::output::MULTISCALE);
    let v = python::json("zarr_dataset.py", &[OsStr::new("read-multiscale"), path.as_os_str()]);
    assert_eq!(v["axes"], serde_json::json!(["x", "y", "t"]));
    let levels = v["levels"].as_array().unwrap();
    assert_eq!(levels.len(), 3);
    let peak = v["peak"].as_f64().unwrap();
    let g = job.grid;
    for (k, level) in levels.iter().enumerate() {
        let b = 1usize << k;
        let shape = [g.nx.div_ceil(b), g.ny.div_ceil(b), g.time.nt.div_ceil(b)];
        assert_eq!(level["shape"], serde_json::json!(shape), "level {k}");
        let error = level["max_abs_error"].as_f64().unwrap();
        assert!(error <= 1e-6 * peak, "level {k}: numpy's block mean differs by {error} (peak {peak})");
        assert_eq!(level["xarray_variables"], serde_json::json!(["stack"]), "level {k}");
        assert_eq!(level["xarray_sizes"], serde_json::json!({"x": shape[0], "y": shape[1], "t": shape[2]}));
        assert!(close(level["xarray_sum"].as_f64().unwrap(), level["sum"].as_f64().unwrap()));
        println!("level {k}: {shape:?}, numpy block mean within {error:.2e} (peak {peak:.3e}), xarray reads it");
    }
}

#[test]
fn pstm_reads_what_python_writes() {
    if !python::available("pstm_reads_what_python_writes", MODULES) {
        return;
    }
    for format in ["2", "3"] {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ds");
        let w = python::json("zarr_dataset.py", &[OsStr::new("write-dataset"), root.as_os_str(), OsStr::new(format)]);
        let ds = Dataset::open(&root).unwrap_or_else(|e| panic!("zarr v{format}: {e}"));
        let l = ds.layout();
        assert_eq!((l.n_traces, l.n_samples, l.sample_rate_ms, l.start_time_ms), (37, 23, 4.0, 120.0));
        let samples = ds.read_traces(0..37).unwrap();
        let (sum, _) = sums(&samples);
        assert!(close(sum, w["samples"]["sum"].as_f64().unwrap()), "zarr v{format}");
        let trace5: Vec<f64> = w["trace_5"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
        assert_eq!(trace5, samples[5 * 23..5 * 23 + 8].iter().map(|&v| v as f64).collect::<Vec<_>>());
        // Rows were stored in reverse: pstm orders them by trace_idx, and derives CDP and azimuth.
        let h = ds.headers();
        assert_eq!(h.sou_x[5], 1050.0);
        assert_eq!(h.rec_y[5], 2025.0);
        assert_eq!(h.cdp_x[5], 1200.0);
        assert_eq!(h.inline.as_ref().unwrap()[25], 2);
        assert!((h.offset[5] - (300.0f64).hypot(25.0)).abs() < 1e-9);
    }
}

#[test]
fn pstm_selects_the_traces_numpy_selects() {
    if !python::available("pstm_selects_the_traces_numpy_selects", MODULES) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut spec = common::spec(300.0, 0.2, "{constant: 2000}");
    spec.geometry.offsets_m = vec![0.0, 150.0, 300.0, 450.0];
    spec.geometry.azimuths_deg = vec![0.0, 37.0, 95.0, 181.0, 250.0, 333.0];
    // Live traces (all-zero ones are dead, and left out before any selection).
    spec.noise = 0.1;
    let survey = common::write_survey(dir.path(), "survey", &spec);
    let headers = survey.join("headers.parquet");
    let cases = [
        serde_json::json!({"azimuth_sectors_deg": [[30.0, 100.0], [300.0, 10.0]]}),
        serde_json::json!({"offset_vector_window_m": {"x": [-200.0, 200.0], "y": [-100.0, 400.0]}}),
        serde_json::json!({"azimuth_sectors_deg": [[170.0, 260.0]], "offset_vector_window_m": {"x": [-500.0, -100.0], "y": [-500.0, 500.0]}}),
    ];
    let n = Dataset::open(&survey).unwrap().headers().len();
    for selection in cases {
        let mut input = serde_json::json!({"dataset": survey});
        for (k, v) in selection.as_object().unwrap() {
            input[k] = v.clone();
        }
        let text = format!(
            "input: {input}\nvelocity: {{constant: 2000}}\noutput: {{directory: {}, grid: {{dx: 25, dy: 25}}}}\n",
            dir.path().join("out").display()
        );
        let job = pstm_engine::MigrationJob::from_config(pstm_config::from_yaml_str(&text).unwrap()).unwrap();
        let numpy = python::json("select_traces.py", &[headers.as_os_str(), OsStr::new(&selection.to_string())]);
        let want: Vec<u32> = numpy["selected"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();
        println!(
            "{selection}: pstm and numpy select {} and {} of {n} ({})",
            job.selected.len(),
            want.len(),
            job.left_out
        );
        assert!(!want.is_empty() && want.len() < n, "a selection that tests something");
        assert_eq!(job.selected, want, "{selection}");
    }
}
