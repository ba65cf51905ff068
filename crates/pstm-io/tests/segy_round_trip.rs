//! SEG-Y import and export in pure Rust: files written with `pstm-segy` imported into datasets,
//! datasets and volumes exported and read back, and broken files that must leave nothing behind.

use std::path::{Path, PathBuf};

use pstm_io::dataset::write_dataset;
use pstm_io::segy_export::{
    ExportFormat, ExportOptions, OffsetVolume, export_dataset, export_offset_volumes, export_volume,
};
use pstm_io::segy_import::{ImportOptions, import_segy};
use pstm_io::segy_velocity::read_velocity_cube;
use pstm_io::volume::VolumeElement;
use pstm_io::{Dataset, DatasetLayout, IoError, TraceHeaders, VolumeWriter, velocity_cube};
use pstm_math::velocity::VelocityCube;
use pstm_math::{OutputGrid, TimeAxis, TraceGeometry};
use pstm_segy::{
    Endian, HeaderMap, SampleFormat, SegyReader, SegyWriter, TextEncoding, TextualHeader, TraceField, WriterSpec,
};

const NS: usize = 11;

fn trace_samples(t: usize) -> Vec<f32> {
    (0..NS).map(|i| ((i * 7 + t * 3) % 13) as f32 - 6.0).collect()
}

/// A survey of `n` traces on a line, coordinates in centimetres (scalar -100).
fn write_survey(
    path: &Path,
    n: usize,
    format: SampleFormat,
    endian: Endian,
    edit: impl Fn(usize, &mut pstm_segy::TraceHeader),
) {
    let spec = WriterSpec {
        format,
        endian,
        samples_per_trace: NS,
        sample_interval_us: 4000,
        textual: TextualHeader::from_lines(&["C 1 SURVEY"], TextEncoding::Ebcdic),
        binary_fields: vec![],
    };
    let mut w = SegyWriter::new(Vec::new(), spec).unwrap();
    for t in 0..n {
        let mut h = w.new_header();
        let set = |h: &mut pstm_segy::TraceHeader, f, v: i64| h.set(f, v).unwrap();
        set(&mut h, TraceField::CoordinateScalar, -100);
        set(&mut h, TraceField::SourceX, 100_000 + 2550 * t as i64);
        set(&mut h, TraceField::SourceY, 50_000);
        set(&mut h, TraceField::GroupX, 100_000 + 2550 * t as i64 + 40_000);
        set(&mut h, TraceField::GroupY, 50_000 + 30_000);
        set(&mut h, TraceField::DelayRecordingTime, 48);
        set(&mut h, TraceField::Inline, 100);
        set(&mut h, TraceField::Crossline, 200 + t as i64);
        edit(t, &mut h);
        w.write_trace(&h, &trace_samples(t)).unwrap();
    }
    std::fs::write(path, w.finish().unwrap()).unwrap();
}

fn no_progress() -> impl FnMut(u64, u64) {
    |_, _| {}
}

fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn imports_every_format_with_delay_coordinates_and_lines() {
    let dir = tempfile::tempdir().unwrap();
    for format in SampleFormat::ALL {
        for endian in [Endian::Big, Endian::Little] {
            let sgy = dir.path().join(format!("s{}{endian}.sgy", format.code()));
            write_survey(&sgy, 9, format, endian, |_, _| {});
            let out = dir.path().join(format!("ds{}{endian}", format.code()));
            let mut calls = Vec::new();
            let options = ImportOptions { chunk_traces: Some(4), ..Default::default() };
            let summary = import_segy(&sgy, &out, &options, &mut |d, t| calls.push((d, t))).unwrap();
            assert_eq!(calls.last(), Some(&(18, 18)));
            assert!(calls.windows(2).all(|w| w[0].0 <= w[1].0));
            let ds = Dataset::open(&out).unwrap();
            let l = ds.layout();
            assert_eq!((l.n_traces, l.n_samples, l.sample_rate_ms, l.start_time_ms), (9, NS, 4.0, 48.0));
            let samples = ds.read_traces(0..9).unwrap();
            for t in 0..9 {
                assert_eq!(samples[t * NS..(t + 1) * NS], trace_samples(t), "{format} {endian} trace {t}");
            }
            let h = ds.headers();
            assert_eq!((h.sou_x[2], h.sou_y[2], h.rec_x[2], h.rec_y[2]), (1051.0, 500.0, 1451.0, 800.0));
            assert_eq!((h.cdp_x[2], h.cdp_y[2], h.offset[2]), (1251.0, 650.0, 500.0));
            assert_eq!(h.inline.as_ref().unwrap()[4], 100);
            assert_eq!(h.crossline.as_ref().unwrap()[4], 204);
            assert_eq!(summary.traces, 9);
            assert_eq!(summary.lines, Some([(100, 100), (200, 208)]));
            assert_eq!(summary.offset_range, (500.0, 500.0));
            assert_eq!(summary.fold.counts.iter().sum::<u64>(), 9);
        }
    }
}

#[test]
fn summary_reads_well() {
    let dir = tempfile::tempdir().unwrap();
    let sgy = dir.path().join("s.sgy");
    write_survey(&sgy, 40, SampleFormat::IbmFloat32, Endian::Big, |_, _| {});
    let s = import_segy(&sgy, &dir.path().join("ds"), &ImportOptions::default(), &mut no_progress()).unwrap();
    let text = s.to_string();
    for expected in [
        "SEG-Y rev 1.0, big-endian, 4-byte IBM float (format 1), EBCDIC textual header",
        "traces       40",
        "11 per trace, dt 4 ms, first at 48 ms (delay), last at 88 ms",
        "midpoints    x 1200.0 .. 2194.5 m, y 650.0 .. 650.0 m",
        "offsets      500.0 .. 500.0 m",
        "lines        inline 100 .. 100, crossline 200 .. 239",
        "header map   standard",
        "fold (traces per cell, north up):",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in\n{text}");
    }
}

#[test]
fn traces_without_positions_are_placed_about_their_cdp() {
    let dir = tempfile::tempdir().unwrap();
    let sgy = dir.path().join("cmp.sgy");
    write_survey(&sgy, 4, SampleFormat::IeeeFloat32, Endian::Big, |t, h| {
        for f in [TraceField::SourceX, TraceField::SourceY, TraceField::GroupX, TraceField::GroupY] {
            h.set(f, 0).unwrap();
        }
        h.set(TraceField::CdpX, 1_000_000).unwrap();
        h.set(TraceField::CdpY, 2_000_000).unwrap();
        h.set(TraceField::Offset, 100 * (t as i64 + 1)).unwrap();
        h.set(TraceField::Inline, 0).unwrap();
        h.set(TraceField::Crossline, 0).unwrap();
    });
    let options = ImportOptions { azimuth_when_missing_deg: 90.0, ..Default::default() };
    let s = import_segy(&sgy, &dir.path().join("ds"), &options, &mut no_progress()).unwrap();
    assert_eq!(s.placed_about_midpoint, 4);
    assert!(s.lines.is_none());
    assert!(s.to_string().contains("4 traces had an offset but no distinct source and receiver"));
    let ds = Dataset::open(&dir.path().join("ds")).unwrap();
    let h = ds.headers();
    assert!(h.inline.is_none());
    for t in 0..4 {
        assert!((h.offset[t] - 100.0 * (t + 1) as f64).abs() < 1e-9);
        assert!((h.cdp_x[t] - 10_000.0).abs() < 1e-9 && (h.cdp_y[t] - 20_000.0).abs() < 1e-9);
        assert!((h.azimuth[t] - 90.0).abs() < 1e-9);
    }
}

/// Import of a broken file: the error names `needle`, and the output directory holds nothing.
fn import_fails(sgy: &Path, needles: &[&str]) {
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("ds");
    let e = import_segy(sgy, &out, &ImportOptions::default(), &mut no_progress()).unwrap_err();
    let text = e.to_string();
    assert!(text.starts_with(&sgy.display().to_string()), "{text}");
    for n in needles {
        assert!(text.contains(n), "missing `{n}` in: {text}");
    }
    assert!(entries(out_dir.path()).is_empty(), "left behind: {:?}", entries(out_dir.path()));
}

#[test]
fn broken_files_name_the_fault_and_leave_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.sgy");
    write_survey(&good, 6, SampleFormat::IbmFloat32, Endian::Big, |_, _| {});
    let bytes = std::fs::read(&good).unwrap();
    let trace_bytes = 240 + NS * 4;
    let variant = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| -> PathBuf {
        let mut b = bytes.clone();
        edit(&mut b);
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        p
    };

    import_fails(&variant("empty.sgy", &|b| b.clear()), &["the file is empty"]);
    let truncated = variant("truncated.sgy", &|b| b.truncate(b.len() - 10));
    import_fails(&truncated, &[&format!("trace 5 at file offset {} is truncated", 3600 + 5 * trace_bytes)]);
    import_fails(&variant("format0.sgy", &|b| b[3224..3226].fill(0)), &["bytes 3225-3226", "not set"]);
    import_fails(
        &variant("format77.sgy", &|b| b[3224..3226].copy_from_slice(&77i16.to_be_bytes())),
        &["77 is not a SEG-Y sample format code"],
    );
    let t3 = 3600 + 3 * trace_bytes;
    import_fails(
        &variant("length.sgy", &|b| b[t3 + 114..t3 + 116].copy_from_slice(&12u16.to_be_bytes())),
        &[&format!("trace 3 at file offset {t3}, trace header bytes 115-116: 12 samples"), "3221-3222"],
    );
    import_fails(
        &variant("scalar.sgy", &|b| b[t3 + 70..t3 + 72].copy_from_slice(&(-7i16).to_be_bytes())),
        &[&format!("trace 3 at file offset {t3}, trace header bytes 71-72"), "-7 is not a SEG-Y scalar"],
    );
    import_fails(
        &variant("delay.sgy", &|b| b[t3 + 108..t3 + 110].copy_from_slice(&50i16.to_be_bytes())),
        &["trace 3", "bytes 109-110", "delay 50 ms differs from trace 0's 48 ms"],
    );
    // NaN exists in IEEE files only (IBM floats have none).
    let nan = variant("nan.sgy", &|b| {
        b[3224..3226].copy_from_slice(&5i16.to_be_bytes());
        b[t3 + 240 + 8..t3 + 240 + 12].copy_from_slice(&[0x7F, 0xC0, 0, 0]);
    });
    import_fails(&nan, &["trace 3", "sample 2 is NaN"]);
    let geographic = variant("geo.sgy", &|b| {
        b[3224..3226].copy_from_slice(&5i16.to_be_bytes());
        b[3600 + 88..3600 + 90].copy_from_slice(&2i16.to_be_bytes());
    });
    import_fails(&geographic, &["trace 0", "bytes 89-90", "geographic (seconds of arc"]);
    // A map pointing at blank bytes: no coordinates anywhere.
    let out_dir = tempfile::tempdir().unwrap();
    let options = ImportOptions {
        header_map: HeaderMap::parse("sx=233,sy=233,gx=237,gy=237,cdpx=233,cdpy=237").unwrap(),
        ..Default::default()
    };
    let e = import_segy(&good, &out_dir.path().join("ds"), &options, &mut no_progress()).unwrap_err().to_string();
    assert!(e.contains("no trace has a source, receiver or CDP coordinate") && e.contains("sx=233"), "{e}");
    assert!(entries(out_dir.path()).is_empty());
    // Missing input, and an existing output without overwrite.
    assert!(matches!(
        import_segy(
            &dir.path().join("nope.sgy"),
            &out_dir.path().join("ds"),
            &ImportOptions::default(),
            &mut no_progress()
        ),
        Err(IoError::Missing { .. })
    ));
    std::fs::create_dir(out_dir.path().join("taken")).unwrap();
    let e = import_segy(&good, &out_dir.path().join("taken"), &ImportOptions::default(), &mut no_progress());
    assert!(matches!(e, Err(IoError::Exists { .. })));
}

fn small_dataset(dir: &Path) -> (PathBuf, Vec<f32>, TraceHeaders) {
    let n = 23;
    let layout = DatasetLayout { n_traces: n, n_samples: NS, sample_rate_ms: 2.0, start_time_ms: 100.0 };
    let samples: Vec<f32> = (0..n * NS).map(|i| ((i * 37) % 101) as f32 * 0.25 - 12.0).collect();
    let mut h = TraceHeaders::default();
    for t in 0..n {
        // Centimetre coordinates, so the scalar -100 stores them exactly.
        let g = TraceGeometry {
            sx: 654_321.25 + t as f64 * 12.5,
            sy: 6_543_210.5,
            rx: 654_321.25 + t as f64 * 12.5 + 300.0 + (t % 5) as f64 * 0.01,
            ry: 6_543_210.5 - 400.0,
        };
        h.push(t as u64, &g, Some((1000 + t as i32 / 5, 2000 + t as i32 % 5)));
        // A dead trace, field records of five channels, elevations in centimetres.
        h.set_segy_ids(if t == 7 { 2 } else { 1 }, 101 + t as i32 / 5, 1 + t as i32 % 5);
        h.set_elevations(120.25 + t as f64, 98.5 - t as f64 * 0.01);
    }
    let p = write_dataset(&dir.join("orig"), layout, &samples, &h, None, false).unwrap();
    (p, samples, h)
}

#[test]
fn dataset_to_segy_and_back_is_the_same_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let (orig, samples, headers) = small_dataset(dir.path());
    let sgy = dir.path().join("orig.sgy");
    let s = export_dataset(&orig, &sgy, &ExportOptions::default()).unwrap();
    assert_eq!((s.traces, s.coordinate_scalar, s.delay_ms, s.sample_interval_us), (23, -100, 100, 2000));
    assert!(entries(dir.path()).iter().all(|e| !e.contains("partial")));
    import_segy(&sgy, &dir.path().join("back"), &ImportOptions::default(), &mut no_progress()).unwrap();
    let back = Dataset::open(&dir.path().join("back")).unwrap();
    assert_eq!(back.layout(), Dataset::open(&orig).unwrap().layout());
    assert_eq!(back.read_traces(0..23).unwrap(), samples);
    assert_eq!(back.headers(), &headers);

    // IBM: samples within IBM precision, headers the same.
    let ibm = ExportOptions { format: ExportFormat::Ibm, ..Default::default() };
    let sgy = dir.path().join("ibm.sgy");
    export_dataset(&orig, &sgy, &ibm).unwrap();
    import_segy(&sgy, &dir.path().join("back_ibm"), &ImportOptions::default(), &mut no_progress()).unwrap();
    let back = Dataset::open(&dir.path().join("back_ibm")).unwrap();
    for (a, b) in back.read_traces(0..23).unwrap().iter().zip(&samples) {
        assert!((a - b).abs() <= b.abs() * 1e-6, "{a} {b}");
    }
    assert_eq!(back.headers(), &headers);

    // The output exists: refused without overwrite, replaced with it.
    assert!(matches!(export_dataset(&orig, &sgy, &ibm), Err(IoError::Exists { .. })));
    export_dataset(&orig, &sgy, &ExportOptions { overwrite: true, ..ibm }).unwrap();
}

fn grid(rotation_deg: f64) -> OutputGrid {
    OutputGrid {
        origin_x: 1000.0,
        origin_y: 2000.0,
        dx: 25.0,
        dy: 12.5,
        nx: 4,
        ny: 3,
        rotation_deg,
        time: TimeAxis { t0_s: 0.2, dt_s: 0.004, nt: NS },
    }
}

fn write_volume(path: &Path, g: &OutputGrid, value: impl Fn(usize, usize, usize) -> f32) {
    let w = VolumeWriter::create(path, g, (2, 2), VolumeElement::F32, serde_json::Map::new()).unwrap();
    let mut data = Vec::new();
    for ix in 0..g.nx {
        for iy in 0..g.ny {
            data.extend((0..g.time.nt).map(|it| value(ix, iy, it)));
        }
    }
    w.write_tile_f32(&g.full_tile(), &data).unwrap();
}

#[test]
fn volume_exports_as_a_cube_sorted_by_inline_and_crossline() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid(30.0);
    let vol = dir.path().join("stack.zarr");
    let value = |ix: usize, iy: usize, it: usize| (ix * 100 + iy * 10 + it) as f32;
    write_volume(&vol, &g, value);
    let sgy = dir.path().join("stack.sgy");
    let options = ExportOptions { first_inline: 101, first_crossline: 7, ..Default::default() };
    let s = export_volume(&vol, &sgy, &options).unwrap();
    assert_eq!((s.traces, s.delay_ms, s.lines), (12, 200, Some([(101, 104), (7, 9)])));
    let mut r = SegyReader::new(std::fs::File::open(&sgy).unwrap()).unwrap();
    assert_eq!((r.info().format, r.info().sample_interval_us), (SampleFormat::IeeeFloat32, 4000.0));
    assert!(r.info().textual.lines()[4].contains("INLINE = 101 + IX"), "{:?}", r.info().textual.lines());
    assert_eq!(r.info().textual.lines()[39], "C40 END TEXTUAL HEADER");
    let map = HeaderMap::default();
    let mut samples = Vec::new();
    for ix in 0..g.nx {
        for iy in 0..g.ny {
            let h = r.next_trace(&mut samples).unwrap().unwrap();
            let v = map.decode(&h, r.info().revision).unwrap();
            let (x, y) = g.column_xy(ix, iy);
            assert_eq!((v.inline, v.crossline, v.delay_ms, v.offset), (101 + ix as i32, 7 + iy as i32, 200.0, 0));
            assert!((v.cdp_x - x).abs() <= 0.0005 && (v.cdp_y - y).abs() <= 0.0005, "{v:?} vs {x} {y}");
            assert_eq!(samples, (0..NS).map(|it| value(ix, iy, it)).collect::<Vec<_>>());
        }
    }
}

#[test]
fn offset_volumes_export_as_a_prestack_cube() {
    let dir = tempfile::tempdir().unwrap();
    let g = grid(0.0);
    let mut volumes = Vec::new();
    for (k, offset) in [0.0, 250.0, 500.0].into_iter().enumerate() {
        let p = dir.path().join(format!("off{k}.zarr"));
        write_volume(&p, &g, move |ix, iy, it| (k * 1000 + ix * 100 + iy * 10 + it) as f32);
        volumes.push(OffsetVolume { path: p, offset_m: offset });
    }
    let sgy = dir.path().join("gathers.sgy");
    let s = export_offset_volumes(&volumes, &sgy, &ExportOptions::default()).unwrap();
    assert_eq!((s.traces, s.offsets.clone()), (36, vec![0, 250, 500]));
    let mut r = SegyReader::new(std::fs::File::open(&sgy).unwrap()).unwrap();
    let mut samples = Vec::new();
    let map = HeaderMap::default();
    for ix in 0..g.nx {
        for iy in 0..g.ny {
            for k in 0..3 {
                let h = r.next_trace(&mut samples).unwrap().unwrap();
                let v = map.decode(&h, r.info().revision).unwrap();
                assert_eq!((v.inline, v.crossline, v.offset), (1 + ix as i32, 1 + iy as i32, [0, 250, 500][k]));
                assert_eq!(samples[0], (k * 1000 + ix * 100 + iy * 10) as f32);
            }
        }
    }
    // Offsets that collide after rounding, and grids that differ, are refused.
    let mut clash = volumes.clone();
    clash[1].offset_m = 0.4;
    let e = export_offset_volumes(&clash, &dir.path().join("x.sgy"), &ExportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("rounds to 0 m like an earlier volume's"), "{e}");
    let other = dir.path().join("other.zarr");
    write_volume(&other, &grid(10.0), |_, _, _| 0.0);
    volumes[2].path = other;
    let e = export_offset_volumes(&volumes, &dir.path().join("x.sgy"), &ExportOptions::default()).unwrap_err();
    assert!(e.to_string().contains("grid differs"), "{e}");
    assert!(!dir.path().join("x.sgy").exists());
}

#[test]
fn velocity_cube_from_segy() {
    let dir = tempfile::tempdir().unwrap();
    let cube = VelocityCube {
        x0: 500.0,
        dx: 50.0,
        nx: 4,
        y0: -100.0,
        dy: 25.0,
        ny: 3,
        t0: 0.0,
        dt: 0.008,
        nt: 5,
        data: (0..60).map(|i| 1500.0 + 10.0 * i as f32).collect(),
    };
    let zarr = dir.path().join("v.zarr");
    velocity_cube::write(&zarr, &cube).unwrap();
    let sgy = dir.path().join("v.sgy");
    export_volume(&zarr, &sgy, &ExportOptions::default()).unwrap();
    assert_eq!(read_velocity_cube(&sgy, &HeaderMap::default()).unwrap(), cube);

    // Inline along y instead (swap the line bytes): the same cube comes back.
    let swapped = HeaderMap::parse("inline=193,crossline=189").unwrap();
    assert_eq!(read_velocity_cube(&sgy, &swapped).unwrap(), cube);

    // A rotated cube is refused with the reason.
    let rotated = dir.path().join("rot.zarr");
    write_volume(&rotated, &grid(30.0), |_, _, _| 2000.0);
    let rsgy = dir.path().join("rot.sgy");
    export_volume(&rotated, &rsgy, &ExportOptions::default()).unwrap();
    let e = read_velocity_cube(&rsgy, &HeaderMap::default()).unwrap_err().to_string();
    assert!(e.contains("rotated (inlines advance along 30.00 degrees from east)"), "{e}");

    // Zero velocity: named by trace and position.
    let zero = dir.path().join("zero.zarr");
    write_volume(&zero, &grid(0.0), |ix, iy, it| if (ix, iy, it) == (1, 2, 3) { 0.0 } else { 2000.0 });
    let zsgy = dir.path().join("zero.sgy");
    export_volume(&zero, &zsgy, &ExportOptions::default()).unwrap();
    let e = read_velocity_cube(&zsgy, &HeaderMap::default()).unwrap_err().to_string();
    assert!(e.contains("trace 5") && e.contains("velocity 0 at sample 3 (inline 2, crossline 3)"), "{e}");

    // Line bytes that do not describe a grid (crossline read from blank bytes).
    let e = read_velocity_cube(&zsgy, &HeaderMap::parse("crossline=237").unwrap()).unwrap_err().to_string();
    assert!(e.contains("not a regular cube: 12 traces for 4 inlines (1..4) x 1 crosslines (0..0)"), "{e}");
}
