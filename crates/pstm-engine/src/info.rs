//! `pstm info`: what a dataset, a volume or an output directory holds.

use std::fmt::Write;
use std::path::Path;

use pstm_io::{Dataset, VolumeReader};

use crate::error::{EngineError, Result};
use crate::output;

fn range(v: impl Iterator<Item = f64>) -> (f64, f64) {
    v.fold((f64::MAX, f64::MIN), |(a, b), x| (a.min(x), b.max(x)))
}

/// A text summary of whatever `path` is.
pub fn describe(path: &Path) -> Result<String> {
    if path.join(pstm_io::dataset::TRACES).exists() {
        return describe_dataset(path);
    }
    if path.join(output::STACK).exists() {
        let mut s = format!("migration output {}\n", path.display());
        if let Ok(text) = std::fs::read_to_string(path.join(output::RUN_RECORD))
            && let Ok(run) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let r = &run["summary"];
            let _ = writeln!(
                s,
                "run: kernel {} on {}, {:.4e} contributions in {:.2} s, config hash {}",
                r["kernel"].as_str().unwrap_or("?"),
                r["device"].as_str().unwrap_or("?"),
                r["contributions"].as_f64().unwrap_or(0.0),
                r["total_s"].as_f64().unwrap_or(0.0),
                run["config_hash"].as_str().unwrap_or("?")
            );
        }
        for name in [output::STACK, output::FOLD, output::NORMALIZED] {
            let p = path.join(name);
            if p.exists() {
                s += &describe_volume(&p)?;
            }
        }
        let m = path.join(output::MULTISCALE);
        if m.is_dir() {
            s += &describe_multiscale(&m)?;
        }
        let g = path.join(output::GATHERS);
        if g.is_dir() {
            let mut names: Vec<_> =
                std::fs::read_dir(&g).map_err(|e| pstm_io::IoError::fs(&g, e))?.flatten().map(|e| e.path()).collect();
            names.sort();
            let _ = writeln!(s, "{} offset gather volumes in {}", names.len(), g.display());
        }
        return Ok(s);
    }
    if path.join("0").join(output::MULTISCALE_ARRAY).exists() {
        return describe_multiscale(path);
    }
    if path.join("zarr.json").exists() || path.join(".zarray").exists() {
        return describe_volume(path);
    }
    Err(EngineError::Other(format!(
        "{}: not a pstm dataset (traces.zarr + headers.parquet), volume (zarr) or output directory",
        path.display()
    )))
}

/// A multiscale stack: one line per level.
fn describe_multiscale(path: &Path) -> Result<String> {
    let mut s = format!("multiscale stack {}\n", path.display());
    for k in 0.. {
        let p = path.join(k.to_string()).join(output::MULTISCALE_ARRAY);
        if !p.exists() {
            break;
        }
        let g = VolumeReader::open(&p)?.info().grid;
        let _ = writeln!(
            s,
            "  level {k}  {} x {} x {}, dx {} m, dy {} m, dt {} ms ({})",
            g.nx,
            g.ny,
            g.time.nt,
            g.dx,
            g.dy,
            (g.time.dt_s * 1e6).round() / 1e3,
            p.display()
        );
    }
    Ok(s)
}

fn describe_dataset(path: &Path) -> Result<String> {
    let ds = Dataset::open(path)?;
    let l = ds.layout();
    let h = ds.headers();
    let n = h.len();
    let (mx0, mx1) = range((0..n).map(|i| h.geometry(i).midpoint().0));
    let (my0, my1) = range((0..n).map(|i| h.geometry(i).midpoint().1));
    let (o0, o1) = range(h.offset.iter().copied());
    let (a0, a1) = range(h.azimuth.iter().copied());
    let mut s = format!("dataset {}\n", path.display());
    let _ = writeln!(
        s,
        "traces      {} x {} samples, {} ms, first sample at {} ms ({:.1} MB)",
        l.n_traces,
        l.n_samples,
        l.sample_rate_ms,
        l.start_time_ms,
        l.sample_bytes() as f64 / 1e6
    );
    let _ = writeln!(s, "midpoints   x {mx0:.1} .. {mx1:.1}, y {my0:.1} .. {my1:.1} m");
    let _ = writeln!(s, "offsets     {o0:.1} .. {o1:.1} m, azimuths {a0:.1} .. {a1:.1} degrees");
    if let (Some(il), Some(xl)) = (&h.inline, &h.crossline) {
        let (i0, i1) = range(il.iter().map(|&v| v as f64));
        let (c0, c1) = range(xl.iter().map(|&v| v as f64));
        let _ = writeln!(s, "lines       inline {i0} .. {i1}, crossline {c0} .. {c1}");
    }
    if let Some(m) = ds.metadata()? {
        for d in m["diffractors"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "truth       diffractor at x {}, y {}, z {} m: t0 = {} s",
                d["x"], d["y"], d["z"], d["t0_s"]
            );
        }
        for r in m["reflectors"].as_array().into_iter().flatten() {
            let _ = writeln!(
                s,
                "truth       reflector z0 {} m, dip {} degrees towards {}",
                r["z0"], r["dip_deg"], r["dip_azimuth_deg"]
            );
        }
        let _ = writeln!(s, "truth       velocity {}", m["velocity"]);
    }
    Ok(s)
}

fn describe_volume(path: &Path) -> Result<String> {
    let r = VolumeReader::open(path)?;
    let info = r.info();
    let g = &info.grid;
    let mut s = format!("volume {}\n", path.display());
    let _ = writeln!(s, "  shape    {} x {} x {} ({:?})", g.nx, g.ny, g.time.nt, info.element);
    let _ = writeln!(
        s,
        "  grid     origin ({}, {}), dx {} m, dy {} m, rotation {} degrees",
        g.origin_x, g.origin_y, g.dx, g.dy, g.rotation_deg
    );
    // Milliseconds to the microsecond: times derived from a grid (a preview's, a multiscale
    // level's) carry float64 noise in their last digits.
    let ms = |t: f64| (t * 1e6).round() / 1e3;
    let _ = writeln!(s, "  time     {} .. {} ms every {} ms", ms(g.time.t0_s), ms(g.time.last()), ms(g.time.dt_s));
    for key in ["quantity", "kernel", "config_hash", "note"] {
        if let Some(v) = info.attributes.get(key) {
            let _ = writeln!(s, "  {key:<8} {}", v.as_str().map(String::from).unwrap_or_else(|| v.to_string()));
        }
    }
    // Statistics read tile by tile, so a large volume never sits in memory at once.
    let (mut lo, mut hi, mut sum2, mut count, mut nonzero) = (f64::MAX, f64::MIN, 0.0f64, 0u64, 0u64);
    for tile in g.tiles(16, 16) {
        for v in r.read_f32(&tile)? {
            let v = v as f64;
            lo = lo.min(v);
            hi = hi.max(v);
            sum2 += v * v;
            count += 1;
            nonzero += (v != 0.0) as u64;
        }
    }
    let _ = writeln!(
        s,
        "  values   min {lo:.4e}, max {hi:.4e}, rms {:.4e}, {} of {} non-zero",
        (sum2 / count.max(1) as f64).sqrt(),
        nonzero,
        count
    );
    Ok(s)
}
