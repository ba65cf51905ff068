//! A 2D line (`algorithm.mode: 2d`): a line shot at an angle gets a grid fitted along it, one
//! column wide; its diffractor focuses where it is (within a bin and two samples, as the 3D
//! focusing tests ask), with a line's spreading and the half
//! derivative pre-filter; and its section exports as a 2D SEG-Y line that segyio reads as one.

mod common;
#[path = "../../../tests/interop/python.rs"]
mod python;

use std::ffi::OsStr;

use common::{diffractor, errors, job_with_input, line_spec, run, write_survey};
use pstm_engine::{RunOptions, create_kernel, executor};
use pstm_io::{Dataset, TraceHeaders, VolumeReader};
use pstm_math::{Prefilter, TraceGeometry};

const ANGLE_DEG: f64 = 30.0;

fn rotate((x, y): (f64, f64)) -> (f64, f64) {
    let (s, c) = ANGLE_DEG.to_radians().sin_cos();
    (x * c - y * s + 400_000.0, x * s + y * c + 6_100_000.0)
}

#[test]
fn a_line_at_an_angle_migrates_along_itself() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = line_spec(1500.0, 600.0, 1.2, "{constant: 2000}");
    s.diffractors = vec![diffractor(762.5, 12.5, 800.0)];
    let straight = Dataset::open(&write_survey(dir.path(), "straight", &s)).unwrap();
    // The same line turned 30 degrees from east, at UTM-like coordinates.
    let h = straight.headers();
    let mut turned = TraceHeaders { trace_id: h.trace_id.clone(), ..Default::default() };
    for i in 0..h.len() {
        let g = h.geometry(i);
        let ((sx, sy), (rx, ry)) = (rotate((g.sx, g.sy)), rotate((g.rx, g.ry)));
        turned.push(i as u64, &TraceGeometry { sx, sy, rx, ry }, None);
    }
    let n = straight.layout().n_traces;
    let samples = straight.read_traces(0..n).unwrap();
    let path =
        pstm_io::write_dataset(&dir.path().join("line"), *straight.layout(), &samples, &turned, None, true).unwrap();

    let algorithm = "{mode: 2d, aperture: {max_m: 800}, taper: {kind: cosine, fraction: 0.3}, weights: {spreading: true, obliquity: true}}";
    let job = job_with_input(&path, "", "{constant: 2000}", algorithm, "{dx: 25}", "{threads: 2}");
    let g = job.grid;
    println!(
        "grid: {} x {} columns, rotation {:.4} degrees, origin ({:.1}, {:.1})",
        g.nx, g.ny, g.rotation_deg, g.origin_x, g.origin_y
    );
    assert_eq!(g.ny, 1, "one column wide");
    assert!((g.rotation_deg.rem_euclid(180.0) - ANGLE_DEG).abs() < 1e-6, "along the line: {}", g.rotation_deg);
    assert_eq!(job.operator.prefilter, Prefilter::HalfDerivative, "a line's default pre-filter");
    assert!(job.operator.weights.line);

    let image = run(&job, "cpu");
    let k = image.stack.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
    let (ix, it) = (k / g.time.nt, k % g.time.nt);
    let (x, y) = g.column_xy(ix, 0);
    let (tx, ty) = rotate((762.5, 12.5));
    let t0 = g.time.time(it);
    println!("focus at ({x:.1}, {y:.1}), t0 {t0:.4} s; truth ({tx:.1}, {ty:.1}), 0.8 s");
    assert!((x - tx).hypot(y - ty) <= g.dx + 1e-6, "within one bin of the diffractor");
    assert!((t0 - 0.8).abs() <= 2.0 * g.time.dt_s + 1e-9, "within two samples of its time");

    // The float64 reference agrees with the line's weights.
    let reference = run(&job, "cpu-ref");
    let (rel, _) = errors(&image.stack, &reference.stack);
    assert!(rel < pstm_kernel::parity::REL_L2_TOLERANCE, "{rel}");
    assert_eq!(image.fold, reference.fold);

    // Exported, it is a 2D line to segyio.
    if !python::available("a_line_at_an_angle_migrates_along_itself", "segyio, numpy") {
        return;
    }
    let kernel = create_kernel("cpu", &Default::default()).unwrap();
    let out = executor::migrate(&job, kernel.as_ref(), RunOptions::QUIET).unwrap().output.unwrap();
    let sgy = dir.path().join("line.sgy");
    let options = pstm_io::segy_export::ExportOptions { first_inline: 101, ..Default::default() };
    let summary = pstm_io::segy_export::export_volume(&out.join("migrated_stack.zarr"), &sgy, &options).unwrap();
    assert!(summary.lines.is_none());
    let volume = VolumeReader::open(&out.join("migrated_stack.zarr")).unwrap().read_all_f32().unwrap();
    let nt = g.time.nt;
    let expect = serde_json::json!({
        "traces": g.nx,
        "samples": nt,
        "dt_us": (g.time.dt_s * 1e6).round() as i64,
        "first_cdp": 101,
        "sums": (0..g.nx).map(|i| volume[i * nt..(i + 1) * nt].iter().map(|&v| v as f64).sum::<f64>()).collect::<Vec<_>>(),
        "cdp_x": (0..g.nx).map(|i| g.column_xy(i, 0).0).collect::<Vec<_>>(),
        "cdp_y": (0..g.nx).map(|i| g.column_xy(i, 0).1).collect::<Vec<_>>(),
        "scalar": summary.coordinate_scalar,
    });
    let checked = python::json("segyio_check_line.py", &[sgy.as_os_str(), OsStr::new(&expect.to_string())]);
    assert_eq!(checked["ok"], true);
}
