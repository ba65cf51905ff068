//! SEG-Y to dataset: `import_segy` streams a SEG-Y file into `traces.zarr` + `headers.parquet`.
//!
//! Two passes over the file. The first reads every trace header (through the [`HeaderMap`]) and
//! checks what a dataset needs before anything is written: one delay and one sample interval for
//! all traces, coordinates that are there and scalars the standard allows, projected (not
//! geographic) units. It also measures the survey (extent, offsets, lines) for the summary. The
//! second pass copies the traces, a chunk of whole traces at a time, decoding on one thread while
//! a second compresses and stores the previous chunk, so memory stays at three chunks whatever
//! the file size. The dataset is staged and renamed into place only when
//! complete: a failed import leaves nothing behind.
//!
//! Geometry: a trace whose source and receiver coordinates differ takes them as they are;
//! midpoint, offset and azimuth follow from them ([`TraceHeaders::push`]). A trace whose source
//! and receiver coincide (coordinates missing, or all at the CDP) is placed symmetrically about
//! its CDP (or about that shared point when the CDP is blank) with the offset header's length, at
//! [`ImportOptions::azimuth_when_missing_deg`] (turned 180 degrees for a negative offset).

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use pstm_math::TraceGeometry;
use pstm_segy::{BinField, HeaderMap, SegyError, SegyReader, TraceField, TraceHeader, TraceValues};

use crate::dataset::{DatasetLayout, DatasetWriter};
use crate::error::{IoError, Result};
use crate::headers::{DEAD_TRACE_CODE, HeaderColumns, TraceHeaders};
pub use crate::import_summary::{FoldMap, ImportSummary};

/// How to read the trace headers and write the dataset.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// Where the coordinates, offset, lines, scalars and delay are in each trace header.
    pub header_map: HeaderMap,
    /// Replace an existing dataset at the output path.
    pub overwrite: bool,
    /// Azimuth (degrees clockwise from north, source to receiver) of traces whose headers give an
    /// offset but no distinct source and receiver positions.
    pub azimuth_when_missing_deg: f64,
    /// Traces per chunk of `traces.zarr`; `None` for chunks of about 4 MiB.
    pub chunk_traces: Option<usize>,
    /// Cells of the fold map along its longer side.
    pub fold_map_cells: usize,
    /// What to do with a trace holding a NaN or infinite sample.
    pub bad_samples: BadSamples,
}

/// What to do with a trace holding a NaN or infinite sample (`--bad-samples`,
/// `input.bad_samples`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BadSamples {
    /// Stop with an error naming the trace and the sample.
    #[default]
    Error,
    /// Zero the trace and mark it dead: it is left out of the migration and the fold.
    ZeroTrace,
}

impl Default for ImportOptions {
    fn default() -> Self {
        Self {
            header_map: HeaderMap::default(),
            overwrite: false,
            azimuth_when_missing_deg: 0.0,
            chunk_traces: None,
            fold_map_cells: 16,
            bad_samples: BadSamples::Error,
        }
    }
}

/// Read buffer: large sequential reads, few system calls.
const READ_BUFFER_BYTES: usize = 1 << 20;
/// Distance beyond which a CDP header is reported as disagreeing with the midpoint, metres.
const CDP_MISMATCH_M: f64 = 1.0;

/// Import `file` into a new dataset directory `out`. `progress(done, total)` is called after each
/// chunk with trace visits: each trace counts once in the header scan and once when copied, so
/// `total` is twice the trace count.
pub fn import_segy(
    file: &Path,
    out: &Path,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<ImportSummary> {
    let segy_err = |e: SegyError| IoError::segy(file, e);
    let f = File::open(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => IoError::Missing { path: file.to_path_buf() },
        _ => IoError::fs(file, e),
    })?;
    let mut reader = SegyReader::new(BufReader::with_capacity(READ_BUFFER_BYTES, f)).map_err(segy_err)?;
    let n = reader.info().trace_count;
    if n == 0 {
        return Err(IoError::invalid(file, "the file holds no traces (only file headers)"));
    }
    let total = 2 * n;
    let scan = scan_headers(&mut reader, options, &mut |done| progress(done, total)).map_err(segy_err)?;
    let info = reader.info().clone();
    if info.samples_per_trace < 2 {
        return Err(IoError::invalid(
            file,
            format!("traces have {} sample(s); pstm needs at least 2", info.samples_per_trace),
        ));
    }
    let layout = DatasetLayout {
        n_traces: n as usize,
        n_samples: info.samples_per_trace,
        sample_rate_ms: info.sample_interval_us / 1000.0,
        start_time_ms: scan.delay_ms,
    };
    let chunk_traces = options.chunk_traces.unwrap_or_else(|| layout.default_chunk_traces());
    let columns = HeaderColumns { lines: scan.lines.is_some(), trace_id: true, field_record: true, elevations: true };
    let mut writer = DatasetWriter::create(out, layout, chunk_traces, columns, options.overwrite)?;
    let mut fold = FoldMap::new(scan.extent, options.fold_map_cells);

    // Reading and decoding here, compressing and storing on a second thread: with the channel's
    // one slot, at most three chunks are in memory.
    reader.rewind().map_err(segy_err)?;
    let ns = layout.n_samples;
    let n_chunks = writer.chunks().n_chunks();
    let ranges: Vec<_> = (0..n_chunks).map(|c| writer.chunks().chunk_range(c)).collect();
    let (to_writer, chunks_in) = std::sync::mpsc::sync_channel::<(usize, Vec<f32>, TraceHeaders)>(1);
    let mut padded = 0u64;
    let mut zeroed = 0u64;
    let mut bad_elevations = 0u64;
    let mut trace = Vec::with_capacity(ns);
    std::thread::scope(|scope| -> Result<()> {
        let writer = &mut writer;
        let storing = scope.spawn(move || -> Result<()> {
            for (c, samples, headers) in chunks_in {
                writer.chunks().store_chunk(c, &samples)?;
                writer.append_headers(&headers)?;
            }
            Ok(())
        });
        let mut read_chunks = || -> Result<()> {
            for (c, range) in ranges.iter().enumerate() {
                let mut chunk = vec![0f32; range.len() * ns];
                let mut headers = TraceHeaders::default();
                for (k, t) in range.clone().enumerate() {
                    let offset = reader.next_offset();
                    let h = reader.next_trace(&mut trace).map_err(segy_err)?.ok_or_else(|| {
                        IoError::invalid(
                            file,
                            format!("trace {t} vanished between the two passes (was the file changed?)"),
                        )
                    })?;
                    let mut code = h.get(TraceField::TraceIdentificationCode) as i16;
                    if let Some(i) = trace.iter().position(|v| !v.is_finite()) {
                        if options.bad_samples == BadSamples::Error {
                            return Err(segy_err(SegyError::Trace {
                                trace: t as u64,
                                offset,
                                bytes: None,
                                message: format!(
                                    "sample {i} is {}; pstm needs finite samples (--bad-samples zero_trace imports such traces as dead)",
                                    trace[i]
                                ),
                            }));
                        }
                        trace.iter_mut().for_each(|v| *v = 0.0);
                        code = DEAD_TRACE_CODE;
                        zeroed += 1;
                    }
                    padded += u64::from(trace.len() < ns);
                    chunk[k * ns..k * ns + trace.len()].copy_from_slice(&trace);
                    let values = decode(&options.header_map, &h, info.revision, t as u64, offset).map_err(segy_err)?;
                    let (g, _) = trace_geometry(&values, options.azimuth_when_missing_deg);
                    fold.add(g.midpoint());
                    headers.push(t as u64, &g, scan.lines.map(|_| (values.inline, values.crossline)));
                    headers.set_segy_ids(code, h.get(TraceField::FieldRecord), h.get(TraceField::TraceNumber));
                    // A bad elevation scalar does not stop an import: elevations are only needed
                    // for a datum static, and the summary counts the traces without them.
                    let (source, receiver) = options.header_map.decode_elevations(&h).unwrap_or_else(|_| {
                        bad_elevations += 1;
                        (0.0, 0.0)
                    });
                    headers.set_elevations(source, receiver);
                }
                if to_writer.send((c, chunk, headers)).is_err() {
                    // The storing thread stopped on an error, which it returns below.
                    break;
                }
                progress(n + range.end as u64, total);
            }
            Ok(())
        };
        let read = read_chunks();
        drop(to_writer);
        let stored = storing.join().expect("the storing thread does not panic");
        read.and(stored)
    })?;
    // Zeroed traces are all zero too; count them once.
    let all_zero_traces = writer.all_zero_traces() - zeroed;
    let dataset = writer.finish(None)?;
    Ok(ImportSummary {
        source: file.to_path_buf(),
        dataset,
        file_bytes: info.file_len,
        traces: n,
        samples_per_trace: ns,
        sample_interval_ms: layout.sample_rate_ms,
        start_time_ms: layout.start_time_ms,
        format: info.format,
        endian: info.endian,
        revision: info.revision,
        text_encoding: info.textual.encoding(),
        extended_textual_headers: info.extended_textual.len(),
        feet: info.binary.get(BinField::MeasurementSystem) == 2,
        header_map: options.header_map.clone(),
        midpoint_extent: scan.extent,
        offset_range: scan.offsets,
        lines: scan.lines,
        placed_about_midpoint: scan.placed_about_midpoint,
        azimuth_when_missing_deg: options.azimuth_when_missing_deg,
        cdp_mismatches: scan.cdp_mismatches,
        dead_traces: scan.dead_traces,
        padded_traces: padded,
        zeroed_traces: zeroed,
        bad_elevation_traces: bad_elevations,
        all_zero_traces,
        fold,
    })
}

/// What the header pass found.
struct Scan {
    delay_ms: f64,
    /// `(x_min, y_min, x_max, y_max)` of the midpoints.
    extent: [f64; 4],
    offsets: (f64, f64),
    /// Inline and crossline ranges, when any trace has a non-zero one.
    lines: Option<[(i32, i32); 2]>,
    placed_about_midpoint: u64,
    cdp_mismatches: u64,
    dead_traces: u64,
}

fn decode(
    map: &HeaderMap,
    h: &TraceHeader,
    revision: pstm_segy::Revision,
    trace: u64,
    offset: u64,
) -> std::result::Result<TraceValues, SegyError> {
    map.decode(h, revision).map_err(|e| SegyError::Trace { trace, offset, bytes: Some(e.bytes), message: e.message })
}

fn scan_headers<R: std::io::Read + std::io::Seek>(
    reader: &mut SegyReader<R>,
    options: &ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<Scan, SegyError> {
    let info = reader.info().clone();
    let map = &options.header_map;
    let mut scan = Scan {
        delay_ms: 0.0,
        extent: [f64::INFINITY, f64::INFINITY, f64::NEG_INFINITY, f64::NEG_INFINITY],
        offsets: (f64::INFINITY, f64::NEG_INFINITY),
        lines: None,
        placed_about_midpoint: 0,
        cdp_mismatches: 0,
        dead_traces: 0,
    };
    let mut line_ranges = [(i32::MAX, i32::MIN); 2];
    let (mut any_line, mut any_coordinate) = (false, false);
    let step = (info.trace_count / 100).max(1);
    for t in 0..info.trace_count {
        let offset = reader.next_offset();
        let Some(h) = reader.next_header()? else { break };
        let fail =
            |bytes: Option<pstm_segy::Bytes>, message: String| SegyError::Trace { trace: t, offset, bytes, message };
        let v = decode(map, &h, info.revision, t, offset)?;
        if t == 0 {
            scan.delay_ms = v.delay_ms;
        } else if v.delay_ms != scan.delay_ms {
            return Err(fail(
                Some(map.get(pstm_segy::HeaderKey::Delay).bytes()),
                format!(
                    "delay {} ms differs from trace 0's {} ms; a dataset has one start time for all traces",
                    v.delay_ms, scan.delay_ms
                ),
            ));
        }
        let interval = h.get(TraceField::SampleInterval);
        if interval != 0 && (f64::from(interval) - info.sample_interval_us).abs() > 0.5 {
            return Err(fail(
                Some(TraceField::SampleInterval.bytes()),
                format!(
                    "sample interval {interval} us differs from the file's {} us (binary header bytes 3217-3218)",
                    info.sample_interval_us
                ),
            ));
        }
        let units = h.get(TraceField::CoordinateUnits);
        if (2..=4).contains(&units) {
            let what = ["seconds of arc", "decimal degrees", "degrees, minutes, seconds"][units as usize - 2];
            return Err(fail(
                Some(TraceField::CoordinateUnits.bytes()),
                format!("coordinates are geographic ({what}, code {units}); pstm needs projected coordinates"),
            ));
        }
        if crate::headers::is_unused_trace_code(h.get(TraceField::TraceIdentificationCode) as i16) {
            scan.dead_traces += 1;
        }
        any_coordinate |= [v.source_x, v.source_y, v.group_x, v.group_y, v.cdp_x, v.cdp_y].iter().any(|&c| c != 0.0);
        let (g, placed) = trace_geometry(&v, options.azimuth_when_missing_deg);
        scan.placed_about_midpoint += u64::from(placed);
        let (mx, my) = g.midpoint();
        if !placed && (v.cdp_x, v.cdp_y) != (0.0, 0.0) && (mx - v.cdp_x).hypot(my - v.cdp_y) > CDP_MISMATCH_M {
            scan.cdp_mismatches += 1;
        }
        let e = &mut scan.extent;
        *e = [e[0].min(mx), e[1].min(my), e[2].max(mx), e[3].max(my)];
        scan.offsets = (scan.offsets.0.min(g.offset()), scan.offsets.1.max(g.offset()));
        any_line |= v.inline != 0 || v.crossline != 0;
        for (r, x) in line_ranges.iter_mut().zip([v.inline, v.crossline]) {
            *r = (r.0.min(x), r.1.max(x));
        }
        if (t + 1) % step == 0 || t + 1 == info.trace_count {
            progress(t + 1);
        }
    }
    if !any_coordinate {
        return Err(SegyError::Trace {
            trace: 0,
            offset: info.first_trace_offset,
            bytes: None,
            message: format!(
                "no trace has a source, receiver or CDP coordinate (all zero at the mapped bytes: {map}); \
                 give their bytes with --map key=byte"
            ),
        });
    }
    scan.lines = any_line.then_some(line_ranges);
    Ok(scan)
}

/// A trace's source and receiver positions, and whether they were placed about the midpoint
/// because the header gives an offset without distinct positions.
fn trace_geometry(v: &TraceValues, azimuth_when_missing_deg: f64) -> (TraceGeometry, bool) {
    if (v.source_x, v.source_y) != (v.group_x, v.group_y) {
        let g = TraceGeometry { sx: v.source_x, sy: v.source_y, rx: v.group_x, ry: v.group_y };
        return (g, false);
    }
    let (mx, my) = if (v.cdp_x, v.cdp_y) != (0.0, 0.0) { (v.cdp_x, v.cdp_y) } else { (v.source_x, v.source_y) };
    let azimuth = azimuth_when_missing_deg + if v.offset < 0 { 180.0 } else { 0.0 };
    let offset = f64::from(v.offset).abs();
    (TraceGeometry::from_midpoint(mx, my, offset, azimuth), offset > 0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(s: (f64, f64), g: (f64, f64), cdp: (f64, f64), offset: i32) -> TraceValues {
        TraceValues {
            source_x: s.0,
            source_y: s.1,
            group_x: g.0,
            group_y: g.1,
            cdp_x: cdp.0,
            cdp_y: cdp.1,
            offset,
            inline: 0,
            crossline: 0,
            delay_ms: 0.0,
        }
    }

    #[test]
    fn geometry_from_coordinates_or_about_the_cdp() {
        let (g, placed) = trace_geometry(&values((0.0, 0.0), (300.0, 400.0), (9.0, 9.0), 7), 0.0);
        assert!(!placed);
        assert_eq!((g.offset(), g.midpoint()), (500.0, (150.0, 200.0)));
        let (g, placed) = trace_geometry(&values((0.0, 0.0), (0.0, 0.0), (100.0, 50.0), 200), 90.0);
        assert!(placed);
        assert!((g.offset() - 200.0).abs() < 1e-9 && (g.azimuth_deg() - 90.0).abs() < 1e-9);
        assert!((g.midpoint().0 - 100.0).abs() < 1e-9 && (g.midpoint().1 - 50.0).abs() < 1e-9);
        let (g, _) = trace_geometry(&values((5.0, 5.0), (5.0, 5.0), (0.0, 0.0), -200), 90.0);
        assert!((g.azimuth_deg() - 270.0).abs() < 1e-9);
        assert!((g.midpoint().0 - 5.0).abs() < 1e-9);
        let (g, placed) = trace_geometry(&values((5.0, 5.0), (5.0, 5.0), (0.0, 0.0), 0), 0.0);
        assert!(!placed && g.offset() == 0.0);
    }
}
