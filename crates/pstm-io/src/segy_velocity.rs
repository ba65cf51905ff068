//! Velocity cubes from SEG-Y: a 3D cube of traces indexed by inline and crossline, positioned by
//! their CDP X/Y, becomes a [`VelocityCube`].
//!
//! pstm's cubes are regular and axis-aligned in world coordinates, so the file must be too: every
//! (inline, crossline) pair of the two line sets present exactly once, and the CDP positions
//! on a grid whose inline and crossline directions run along world x and y (either way round).
//! Positions may be off the grid by a tenth of a bin (rounded coordinates); a rotated or
//! irregular cube is refused with the reason, since regridding it is a decision for the user.

use std::collections::HashMap;
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use pstm_math::velocity::VelocityCube;
use pstm_segy::{HeaderMap, SegyError, SegyReader};

use crate::error::{IoError, Result};

/// Tolerated distance of a trace from its grid position, as a fraction of the smaller bin size.
const GRID_TOLERANCE: f64 = 0.1;

/// Read a velocity cube (m/s, or the file's units) from a 3D SEG-Y file; `map` says where the
/// inline, crossline, CDP X/Y, scalar and delay are. Traces may come in any order.
pub fn read_velocity_cube(path: &Path, map: &HeaderMap) -> Result<VelocityCube> {
    read_cube(path, map, Quantity::Velocity)
}

/// What a SEG-Y cube holds: velocities must be positive, an anellipticity (eta) only finite (its
/// range is the model's to check).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quantity {
    Velocity,
    Eta,
}

/// A cube of `quantity` from a 3D SEG-Y, read as [`read_velocity_cube`] reads velocities.
pub fn read_cube(path: &Path, map: &HeaderMap, quantity: Quantity) -> Result<VelocityCube> {
    let f = File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IoError::Missing { path: path.to_path_buf() },
        _ => IoError::fs(path, e),
    })?;
    let segy_err = |e: SegyError| IoError::segy(path, e);
    let mut reader = SegyReader::new(BufReader::with_capacity(1 << 20, f)).map_err(segy_err)?;
    let info = reader.info().clone();
    if info.trace_count == 0 {
        return Err(IoError::invalid(path, "the file holds no traces"));
    }
    if info.variable_length && info.samples_per_trace != info.declared_samples_per_trace {
        return Err(IoError::invalid(path, "a velocity cube needs traces of one length"));
    }

    // Pass 1: where each trace belongs.
    struct Column {
        inline: i32,
        crossline: i32,
        x: f64,
        y: f64,
        offset: u64,
    }
    let mut columns = Vec::with_capacity(info.trace_count as usize);
    let mut delay_ms = None;
    for t in 0..info.trace_count {
        let offset = reader.next_offset();
        let h = reader.next_header().map_err(segy_err)?.expect("trace count known at open");
        let v = map
            .decode(&h, info.revision)
            .map_err(|e| segy_err(SegyError::Trace { trace: t, offset, bytes: Some(e.bytes), message: e.message }))?;
        if *delay_ms.get_or_insert(v.delay_ms) != v.delay_ms {
            return Err(segy_err(SegyError::Trace {
                trace: t,
                offset,
                bytes: Some(map.get(pstm_segy::HeaderKey::Delay).bytes()),
                message: format!("delay {} ms differs from trace 0's; a cube has one time axis", v.delay_ms),
            }));
        }
        columns.push(Column { inline: v.inline, crossline: v.crossline, x: v.cdp_x, y: v.cdp_y, offset });
    }
    let sorted_unique = |key: fn(&Column) -> i32| {
        let mut v: Vec<i32> = columns.iter().map(key).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let inlines = sorted_unique(|c| c.inline);
    let crosslines = sorted_unique(|c| c.crossline);
    let (n_il, n_xl) = (inlines.len(), crosslines.len());
    let il_index: HashMap<i32, usize> = inlines.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    let xl_index: HashMap<i32, usize> = crosslines.iter().enumerate().map(|(i, &l)| (l, i)).collect();
    if n_il * n_xl != columns.len() {
        return Err(IoError::invalid(
            path,
            format!(
                "not a regular cube: {} traces for {n_il} inlines ({}..{}) x {n_xl} crosslines ({}..{}); \
                 check the inline and crossline bytes ({}, {})",
                columns.len(),
                inlines[0],
                inlines[n_il - 1],
                crosslines[0],
                crosslines[n_xl - 1],
                map.get(pstm_segy::HeaderKey::Inline).bytes(),
                map.get(pstm_segy::HeaderKey::Crossline).bytes(),
            ),
        ));
    }
    // Trace of each (inline index, crossline index).
    let mut trace_at = vec![usize::MAX; n_il * n_xl];
    for (t, c) in columns.iter().enumerate() {
        let k = il_index[&c.inline] * n_xl + xl_index[&c.crossline];
        if trace_at[k] != usize::MAX {
            return Err(segy_err(SegyError::Trace {
                trace: t as u64,
                offset: c.offset,
                bytes: None,
                message: format!(
                    "inline {} crossline {} repeats trace {}; a cube has one trace per position",
                    c.inline, c.crossline, trace_at[k]
                ),
            }));
        }
        trace_at[k] = t;
    }
    let pos = |i: usize, j: usize| {
        let c = &columns[trace_at[i * n_xl + j]];
        (c.x, c.y)
    };
    let p0 = pos(0, 0);
    let step = |n: usize, end: (f64, f64)| {
        if n > 1 { ((end.0 - p0.0) / (n - 1) as f64, (end.1 - p0.1) / (n - 1) as f64) } else { (0.0, 0.0) }
    };
    let along_il = step(n_il, pos(n_il - 1, 0));
    let along_xl = step(n_xl, pos(0, n_xl - 1));
    let len = |v: (f64, f64)| v.0.hypot(v.1);
    let bins: Vec<f64> = [len(along_il), len(along_xl)].into_iter().filter(|&l| l > 0.0).collect();
    let bin = bins.iter().copied().fold(f64::INFINITY, f64::min);
    let tolerance = if bin.is_finite() { GRID_TOLERANCE * bin } else { 0.0 };
    if n_il * n_xl > 1 && !bin.is_finite() {
        return Err(IoError::invalid(path, "every trace has the same CDP X/Y: check the cdpx/cdpy bytes and scalar"));
    }
    // Inline and crossline directions along world x and y, either way round.
    let inline_is_x = along_il.1.abs() <= along_il.0.abs() && along_xl.0.abs() <= along_xl.1.abs();
    let snap = |v: (f64, f64), x_axis: bool| if x_axis { (v.0, 0.0) } else { (0.0, v.1) };
    // A single line is snapped to the world axis it mostly runs along, so that a diagonal line
    // fails the regularity test below instead of being read along one of its components.
    let dominant_x = |v: (f64, f64)| v.0.abs() >= v.1.abs();
    let (a_il, a_xl) = if n_il == 1 && n_xl > 1 {
        ((0.0, 0.0), snap(along_xl, dominant_x(along_xl)))
    } else if n_xl == 1 {
        (snap(along_il, dominant_x(along_il)), (0.0, 0.0))
    } else {
        (snap(along_il, inline_is_x), snap(along_xl, !inline_is_x))
    };
    for i in 0..n_il {
        for j in 0..n_xl {
            let (x, y) = pos(i, j);
            let model = (p0.0 + i as f64 * a_il.0 + j as f64 * a_xl.0, p0.1 + i as f64 * a_il.1 + j as f64 * a_xl.1);
            let off = (x - model.0).hypot(y - model.1);
            if off > tolerance {
                let t = trace_at[i * n_xl + j];
                let affine = (
                    p0.0 + i as f64 * along_il.0 + j as f64 * along_xl.0,
                    p0.1 + i as f64 * along_il.1 + j as f64 * along_xl.1,
                );
                let message = if (x - affine.0).hypot(y - affine.1) <= tolerance {
                    let angle = along_il.1.atan2(along_il.0).to_degrees();
                    format!(
                        "the cube is rotated (inlines advance along {angle:.2} degrees from east); pstm velocity \
                         cubes are axis-aligned: regrid it first"
                    )
                } else {
                    format!(
                        "CDP ({x}, {y}) of inline {} crossline {} is {off:.2} from its place on a regular grid; \
                         the cube is not regular",
                        inlines[i], crosslines[j]
                    )
                };
                return Err(segy_err(SegyError::Trace {
                    trace: t as u64,
                    offset: columns[t].offset,
                    bytes: None,
                    message,
                }));
            }
        }
    }

    // World axes: x from whichever line direction runs along x, spacing made positive.
    let (x_from_inline, nx, ny) = if (n_il > 1 && a_il.0 != 0.0) || (n_xl > 1 && a_xl.1 != 0.0) || n_xl == 1 {
        (true, n_il, n_xl)
    } else {
        (false, n_xl, n_il)
    };
    let (dx_signed, dy_signed) = if x_from_inline { (a_il.0, a_xl.1) } else { (a_xl.0, a_il.1) };
    // An axis one column wide has no spacing of its own: 1 keeps the cube valid.
    let spacing = |d: f64| if d != 0.0 { d.abs() } else { 1.0 };
    let (dx, dy) = (spacing(dx_signed), spacing(dy_signed));
    let x0 = if dx_signed < 0.0 { p0.0 + dx_signed * (nx - 1) as f64 } else { p0.0 };
    let y0 = if dy_signed < 0.0 { p0.1 + dy_signed * (ny - 1) as f64 } else { p0.1 };
    let cell = |i: usize, j: usize| {
        let (a, b) = if x_from_inline { (i, j) } else { (j, i) };
        let ix = if dx_signed < 0.0 { nx - 1 - a } else { a };
        let iy = if dy_signed < 0.0 { ny - 1 - b } else { b };
        ix * ny + iy
    };
    let mut cell_of_trace = vec![0usize; columns.len()];
    for i in 0..n_il {
        for j in 0..n_xl {
            cell_of_trace[trace_at[i * n_xl + j]] = cell(i, j);
        }
    }

    // Pass 2: samples into place.
    let nt = info.samples_per_trace;
    let mut data = vec![0f32; nx * ny * nt];
    reader.rewind().map_err(segy_err)?;
    let mut samples = Vec::with_capacity(nt);
    for (t, &c) in cell_of_trace.iter().enumerate() {
        reader.next_trace(&mut samples).map_err(segy_err)?.expect("trace count known at open");
        let bad = |v: &f32| match quantity {
            Quantity::Velocity => !(v.is_finite() && *v > 0.0),
            Quantity::Eta => !v.is_finite(),
        };
        if let Some(k) = samples.iter().position(bad) {
            let col = &columns[t];
            return Err(segy_err(SegyError::Trace {
                trace: t as u64,
                offset: col.offset,
                bytes: None,
                message: match quantity {
                    Quantity::Velocity => format!(
                        "velocity {} at sample {k} (inline {}, crossline {}) is not a positive number",
                        samples[k], col.inline, col.crossline
                    ),
                    Quantity::Eta => format!(
                        "eta {} at sample {k} (inline {}, crossline {}) is not a finite number",
                        samples[k], col.inline, col.crossline
                    ),
                },
            }));
        }
        data[c * nt..c * nt + samples.len()].copy_from_slice(&samples);
    }
    Ok(VelocityCube {
        x0,
        dx,
        nx,
        y0,
        dy,
        ny,
        t0: delay_ms.unwrap_or(0.0) * 1e-3,
        dt: info.sample_interval_us * 1e-6,
        nt,
        data,
    })
}
