//! A survey migrated from SEG-Y gives the image it gives from the equivalent zarr dataset, and a
//! velocity cube read from SEG-Y drives a migration as the same cube in zarr does.

mod common;

use common::*;
use pstm_io::segy_export::{ExportOptions, export_dataset, export_volume};
use pstm_io::segy_import::{ImportOptions, import_segy};
use pstm_kernel::TileImage;
use pstm_kernel::parity::compare;

const ALGORITHM: &str = "{aperture: {max_m: 400}, taper: {kind: cosine, fraction: 0.2}}";
const GRID: &str = "{dx: 25, dy: 25}";

fn image(v: &pstm_engine::output::MemoryVolumes) -> TileImage {
    TileImage { image: v.stack.clone(), fold: v.fold.clone() }
}

#[test]
fn segy_survey_migrates_like_its_zarr_twin() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(400.0, 0.6, "{constant: 2200}");
    s.geometry.origin_x = 452_000.0;
    s.geometry.origin_y = 6_780_000.0;
    s.timing.start_time_ms = 40.0;
    s.diffractors.push(diffractor(452_210.0, 6_780_190.0, 300.0));
    s.noise = 0.05;
    let zarr = write_survey(dir.path(), "zarr", &s);
    let sgy = dir.path().join("survey.sgy");
    export_dataset(&zarr, &sgy, &ExportOptions::default()).unwrap();
    let imported = dir.path().join("imported");
    import_segy(&sgy, &imported, &ImportOptions::default(), &mut |_, _| {}).unwrap();

    let a = run(&job(&zarr, "{constant: 2200}", ALGORITHM, GRID, "{}"), "cpu-ref");
    let job_b = job(&imported, "{constant: 2200}", ALGORITHM, GRID, "{}");
    assert_eq!(job_b.dataset.layout().start_time_ms, 40.0, "the delay must survive the round trip");
    let b = run(&job_b, "cpu-ref");
    // Coordinates pass through SEG-Y's scaled integers, exact here to the 0.1 m they were made on,
    // so the images agree to float32 rounding.
    let c = compare(&image(&a), &image(&b), None);
    assert!(c.passes(1e-6), "{c}");
}

#[test]
fn segy_velocity_cube_drives_the_migration_like_zarr() {
    let dir = tempfile::tempdir().unwrap();
    let mut s = spec(300.0, 0.5, "{constant: 2000}");
    s.diffractors.push(diffractor(150.0, 150.0, 250.0));
    let ds = write_survey(dir.path(), "survey", &s);
    // Velocity varying in x, y and t (SEG-Y's sample interval stops at 65 ms) on a grid that covers the survey's midpoints.
    let (nx, ny, nt) = (4, 5, 11);
    let mut data = Vec::new();
    for ix in 0..nx {
        for iy in 0..ny {
            for it in 0..nt {
                data.push((1900.0 + 40.0 * ix as f64 + 25.0 * iy as f64 + 150.0 * it as f64 * 0.05) as f32);
            }
        }
    }
    let cube = pstm_math::velocity::VelocityCube {
        x0: 0.0,
        dx: 100.0,
        nx,
        y0: 0.0,
        dy: 75.0,
        ny,
        t0: 0.0,
        dt: 0.05,
        nt,
        data,
    };
    let zarr_cube = dir.path().join("v.zarr");
    pstm_io::velocity_cube::write(&zarr_cube, &cube).unwrap();
    let segy_cube = dir.path().join("v.sgy");
    export_volume(&zarr_cube, &segy_cube, &ExportOptions::default()).unwrap();
    let grid = "{origin_x: 25, origin_y: 25, dx: 25, dy: 25, nx: 10, ny: 10}";
    let a = run(&job(&ds, &format!("{{cube: {}}}", zarr_cube.display()), ALGORITHM, grid, "{}"), "cpu-ref");
    let b = run(&job(&ds, &format!("{{cube: {}}}", segy_cube.display()), ALGORITHM, grid, "{}"), "cpu-ref");
    assert!(a.stack == b.stack && a.fold == b.fold);
}
