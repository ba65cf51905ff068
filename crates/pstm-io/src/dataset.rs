//! Prestack datasets: `traces.zarr` + `headers.parquet` (+ `metadata.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zarrs::array::ArraySubset;

use crate::error::{IoError, Result};
use crate::headers::{DEAD_TRACE_CODE, HeaderColumns, HeaderWriter, TraceHeaders};
use crate::staging::Staged;
use crate::zarr::{self, Element, ZArray};

pub const TRACES: &str = "traces.zarr";
pub const HEADERS: &str = "headers.parquet";
pub const METADATA: &str = "metadata.json";

/// Attribute of `traces.zarr`: every sample was checked finite when written, and traces whose
/// samples are all zero carry the dead code in `TRACE_ID` (pstm's writers set it).
pub const SAMPLES_CHECKED: &str = "samples_checked";
/// Attribute of `traces.zarr` a dataset written elsewhere sets when `headers.parquet` has no
/// `trace_idx` column and its rows are in trace order.
pub const ROWS_IN_TRACE_ORDER: &str = "header_rows_in_trace_order";

/// Shape and timing of a dataset's traces.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DatasetLayout {
    pub n_traces: usize,
    pub n_samples: usize,
    pub sample_rate_ms: f64,
    /// Time of the first sample (the SEG-Y delay), ms.
    pub start_time_ms: f64,
}

impl DatasetLayout {
    pub fn dt_s(&self) -> f64 {
        self.sample_rate_ms * 1e-3
    }

    pub fn t_start_s(&self) -> f64 {
        self.start_time_ms * 1e-3
    }

    /// Bytes of float32 samples.
    pub fn sample_bytes(&self) -> u64 {
        self.n_traces as u64 * self.n_samples as u64 * 4
    }

    /// Traces per chunk for chunks of about 4 MiB.
    pub fn default_chunk_traces(&self) -> usize {
        ((4 << 20) / (4 * self.n_samples.max(1))).clamp(1, self.n_traces.max(1))
    }

    fn attributes(&self) -> serde_json::Map<String, serde_json::Value> {
        let serde_json::Value::Object(m) = serde_json::json!({
            "sample_rate_ms": self.sample_rate_ms,
            "start_time_ms": self.start_time_ms,
            "n_traces": self.n_traces,
            "n_samples": self.n_samples,
        }) else {
            unreachable!()
        };
        m
    }
}

/// An open dataset: headers in memory, traces read on demand.
pub struct Dataset {
    root: PathBuf,
    layout: DatasetLayout,
    headers: TraceHeaders,
    traces: ZArray,
    chunk_traces: usize,
    samples_checked: bool,
}

impl std::fmt::Debug for Dataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dataset").field("root", &self.root).field("layout", &self.layout).finish()
    }
}

impl Dataset {
    /// Open and check a dataset directory: trace array shape, type and attributes, and that the
    /// header file has one row per trace.
    pub fn open(root: &Path) -> Result<Self> {
        if !root.is_dir() {
            return Err(IoError::Missing { path: root.to_path_buf() });
        }
        let tpath = root.join(TRACES);
        let traces = zarr::open(&tpath)?;
        let shape = traces.shape().to_vec();
        if shape.len() != 2 {
            return Err(IoError::invalid(
                &tpath,
                format!("expected 2 dimensions (n_traces, n_samples), found shape {shape:?}"),
            ));
        }
        let dtype = traces.data_type().to_string();
        if !dtype.contains("float32") && dtype != "<f4" {
            return Err(IoError::invalid(&tpath, format!("samples must be float32, found {dtype}")));
        }
        let layout = DatasetLayout {
            n_traces: shape[0] as usize,
            n_samples: shape[1] as usize,
            sample_rate_ms: zarr::attr_f64(&traces, &tpath, "sample_rate_ms")?,
            start_time_ms: zarr::attr_f64_opt(&traces, "start_time_ms").unwrap_or(0.0),
        };
        if !(layout.sample_rate_ms.is_finite() && layout.sample_rate_ms > 0.0) {
            return Err(IoError::invalid(
                &tpath,
                format!("attribute sample_rate_ms = {} must be positive", layout.sample_rate_ms),
            ));
        }
        for (name, value) in [("n_traces", layout.n_traces), ("n_samples", layout.n_samples)] {
            if let Some(a) = zarr::attr_f64_opt(&traces, name)
                && a as usize != value
            {
                return Err(IoError::invalid(
                    &tpath,
                    format!("attribute {name} = {a} disagrees with the array shape {shape:?}"),
                ));
            }
        }
        if layout.n_samples < 2 {
            return Err(IoError::invalid(
                &tpath,
                format!("traces need at least 2 samples, found {}", layout.n_samples),
            ));
        }
        let chunk_traces = traces.chunk_shape(&[0, 0]).map_err(|e| IoError::zarr(&tpath, e))?[0].get() as usize;
        let hpath = root.join(HEADERS);
        let (headers, had_trace_idx) = TraceHeaders::read_parquet_checked(&hpath)?;
        let flag = |name: &str| traces.attributes().get(name).and_then(|v| v.as_bool()).unwrap_or(false);
        if !had_trace_idx && headers.len() > 1 && !flag(ROWS_IN_TRACE_ORDER) {
            return Err(IoError::invalid(
                &hpath,
                format!(
                    "has no {} column, so which trace each row describes is unknown; add it (the trace's row in {TRACES}), \
                     or, if the rows are in trace order, say so with the attribute {ROWS_IN_TRACE_ORDER}: true on {TRACES}",
                    crate::headers::col::TRACE_IDX
                ),
            ));
        }
        let samples_checked = flag(SAMPLES_CHECKED);
        if headers.len() != layout.n_traces {
            return Err(IoError::invalid(
                &hpath,
                format!(
                    "has {} rows but {} holds {} traces: headers and traces must match one to one",
                    headers.len(),
                    TRACES,
                    layout.n_traces
                ),
            ));
        }
        Ok(Self { root: root.to_path_buf(), layout, headers, traces, chunk_traces, samples_checked })
    }

    /// This dataset with other headers for the same traces (a 2D line's, projected onto the
    /// line): what the job reads the geometry from.
    pub fn with_headers(mut self, headers: TraceHeaders) -> Result<Self> {
        if headers.len() != self.layout.n_traces {
            return Err(IoError::invalid(
                self.root.join(HEADERS),
                format!("{} header rows for {} traces", headers.len(), self.layout.n_traces),
            ));
        }
        self.headers = headers;
        Ok(self)
    }

    /// Whether the writer checked every sample finite and marked all-zero traces dead (pstm's
    /// writers do); a dataset written elsewhere must be scanned before its traces are trusted.
    pub fn samples_checked(&self) -> bool {
        self.samples_checked
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn layout(&self) -> &DatasetLayout {
        &self.layout
    }

    pub fn headers(&self) -> &TraceHeaders {
        &self.headers
    }

    pub fn chunk_traces(&self) -> usize {
        self.chunk_traces
    }

    /// The ground truth of a synthetic dataset, if it has one.
    pub fn metadata(&self) -> Result<Option<serde_json::Value>> {
        let p = self.root.join(METADATA);
        if !p.exists() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p).map_err(|e| IoError::fs(&p, e))?;
        serde_json::from_str(&text).map(Some).map_err(|e| IoError::invalid(&p, e.to_string()))
    }

    fn read_range(&self, first: usize, end: usize) -> Result<Vec<f32>> {
        let ns = self.layout.n_samples as u64;
        let subset = ArraySubset::new_with_ranges(&[first as u64..end as u64, 0..ns]);
        self.traces.retrieve_array_subset::<Vec<f32>>(&subset).map_err(|e| {
            let (c0, c1) = (first / self.chunk_traces, end.saturating_sub(1) / self.chunk_traces);
            let chunks = if c0 == c1 { format!("chunk c/{c0}/0") } else { format!("chunks c/{c0}/0 to c/{c1}/0") };
            IoError::zarr(self.root.join(TRACES), format!("cannot read traces {first}..{end} ({chunks}): {e}"))
        })
    }

    /// Read every trace once and find those a migration cannot use: with a NaN or infinite
    /// sample, or only zeros. Chunks are read in parallel (on the current thread pool).
    pub fn scan_samples(&self) -> Result<SampleScan> {
        use rayon::prelude::*;
        let ns = self.layout.n_samples;
        let n_chunks = self.layout.n_traces.div_ceil(self.chunk_traces);
        let per_chunk: Vec<SampleScan> = (0..n_chunks)
            .into_par_iter()
            .map(|c| {
                let first = c * self.chunk_traces;
                let end = (first + self.chunk_traces).min(self.layout.n_traces);
                let samples = self.read_range(first, end)?;
                let mut scan = SampleScan::default();
                for (t, trace) in (first..).zip(samples.chunks_exact(ns)) {
                    if let Some(i) = trace.iter().position(|v| !v.is_finite()) {
                        scan.non_finite.push(BadSample { trace: t as u32, sample: i, value: trace[i] });
                    } else if trace.iter().all(|&v| v == 0.0) {
                        scan.all_zero.push(t as u32);
                    }
                }
                Ok(scan)
            })
            .collect::<Result<_>>()?;
        let mut scan = SampleScan::default();
        for s in per_chunk {
            scan.non_finite.extend(s.non_finite);
            scan.all_zero.extend(s.all_zero);
        }
        Ok(scan)
    }

    /// Samples of traces `range`, trace after trace.
    pub fn read_traces(&self, range: std::ops::Range<usize>) -> Result<Vec<f32>> {
        if range.end > self.layout.n_traces || range.start > range.end {
            return Err(IoError::invalid(
                self.root.join(TRACES),
                format!("trace range {range:?} outside 0..{}", self.layout.n_traces),
            ));
        }
        self.read_range(range.start, range.end)
    }

    /// Samples of the traces listed (ascending), trace after trace, into `out`; each chunk that
    /// holds a listed trace is read once.
    pub fn read_trace_list(&self, indices: &[usize], out: &mut Vec<f32>) -> Result<()> {
        out.clear();
        out.resize(indices.len() * self.layout.n_samples, 0.0);
        self.read_trace_list_into(indices, out)
    }

    /// [`Dataset::read_trace_list`] into memory the caller provides (a staging buffer, a mapped
    /// device range), which holds exactly `indices.len() * n_samples` values: the decoded chunk is
    /// copied once, straight to where the samples are used.
    pub fn read_trace_list_into(&self, indices: &[usize], out: &mut [f32]) -> Result<()> {
        let ns = self.layout.n_samples;
        if out.len() != indices.len() * ns {
            return Err(IoError::invalid(
                self.root.join(TRACES),
                format!("room for {} samples given for {} traces of {ns}", out.len(), indices.len()),
            ));
        }
        let mut i = 0;
        while i < indices.len() {
            let chunk = indices[i] / self.chunk_traces;
            let mut j = i;
            while j < indices.len() && indices[j] / self.chunk_traces == chunk {
                j += 1;
            }
            let (first, last) = (indices[i], indices[j - 1]);
            if last >= self.layout.n_traces || first > last {
                return Err(IoError::invalid(
                    self.root.join(TRACES),
                    format!("trace list not ascending or out of range at {first}"),
                ));
            }
            let block = self.read_range(first, last + 1)?;
            for (slot, &t) in (i..j).zip(&indices[i..j]) {
                let k = t - first;
                out[slot * ns..(slot + 1) * ns].copy_from_slice(&block[k * ns..(k + 1) * ns]);
            }
            i = j;
        }
        Ok(())
    }
}

/// What [`Dataset::scan_samples`] found, in trace order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SampleScan {
    /// The first non-finite sample of each trace that has one.
    pub non_finite: Vec<BadSample>,
    /// Traces whose samples are all zero.
    pub all_zero: Vec<u32>,
}

/// A trace's first NaN or infinite sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BadSample {
    pub trace: u32,
    pub sample: usize,
    pub value: f32,
}

impl std::fmt::Display for BadSample {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trace {}, sample {}: {}", self.trace, self.sample, self.value)
    }
}

/// The trace array of a dataset being written: chunks may be stored from several threads.
pub struct TraceChunks {
    target: PathBuf,
    layout: DatasetLayout,
    chunk_traces: usize,
    array: ZArray,
    /// Per trace: 0 not stored yet, 1 stored, 2 stored and all zero.
    status: Vec<std::sync::atomic::AtomicU8>,
}

const NOT_STORED: u8 = 0;
const STORED: u8 = 1;
const ALL_ZERO: u8 = 2;

impl TraceChunks {
    pub fn chunk_traces(&self) -> usize {
        self.chunk_traces
    }

    pub fn n_chunks(&self) -> usize {
        self.layout.n_traces.div_ceil(self.chunk_traces)
    }

    /// Trace range of chunk `chunk`.
    pub fn chunk_range(&self, chunk: usize) -> std::ops::Range<usize> {
        let start = chunk * self.chunk_traces;
        start..(start + self.chunk_traces).min(self.layout.n_traces)
    }

    /// Store the samples of chunk `chunk` (its traces one after another).
    pub fn store_chunk(&self, chunk: usize, samples: &[f32]) -> Result<()> {
        let r = self.chunk_range(chunk);
        let ns = self.layout.n_samples;
        if samples.len() != r.len() * ns {
            return Err(IoError::invalid(
                &self.target,
                format!("chunk {chunk}: {} samples for {} traces", samples.len(), r.len()),
            ));
        }
        // Checked here, so that no dataset pstm writes holds a sample a migration cannot use.
        for (k, trace) in samples.chunks_exact(ns).enumerate() {
            if let Some(i) = trace.iter().position(|v| !v.is_finite()) {
                return Err(IoError::invalid(
                    self.target.join(TRACES),
                    format!("trace {}, sample {i}: {} (samples must be finite)", r.start + k, trace[i]),
                ));
            }
        }
        let subset = ArraySubset::new_with_ranges(&[r.start as u64..r.end as u64, 0..ns as u64]);
        self.array
            .store_array_subset(&subset, samples)
            .map_err(|e| IoError::zarr(self.target.join(TRACES), format!("cannot write traces {r:?}: {e}")))?;
        for (t, trace) in r.zip(samples.chunks_exact(ns)) {
            let zero = trace.iter().all(|&v| v == 0.0);
            self.status[t].store(if zero { ALL_ZERO } else { STORED }, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Streams a new dataset to disk: trace chunks through [`DatasetWriter::chunks`] (any order,
/// any thread), headers appended in trace order.
pub struct DatasetWriter {
    staged: Staged,
    traces: TraceChunks,
    headers: Option<HeaderWriter>,
    headers_written: usize,
}

impl DatasetWriter {
    /// A dataset of `layout` with the header columns `columns` (every dataset pstm writes has
    /// `TRACE_ID`, whatever `columns` says).
    pub fn create(
        target: &Path,
        layout: DatasetLayout,
        chunk_traces: usize,
        columns: HeaderColumns,
        overwrite: bool,
    ) -> Result<Self> {
        if layout.n_traces == 0 || layout.n_samples < 2 {
            return Err(IoError::invalid(
                target,
                format!("a dataset needs traces and at least 2 samples, got {layout:?}"),
            ));
        }
        let staged = Staged::replacing(target, overwrite, "a pstm dataset", &[TRACES])?;
        std::fs::create_dir_all(staged.path()).map_err(|e| IoError::fs(staged.path(), e))?;
        let chunk_traces = chunk_traces.clamp(1, layout.n_traces);
        let array = zarr::create(
            &staged.path().join(TRACES),
            vec![layout.n_traces as u64, layout.n_samples as u64],
            vec![chunk_traces as u64, layout.n_samples as u64],
            Element::F32,
            &["trace", "sample"],
            layout.attributes(),
        )?;
        let headers = HeaderWriter::create(&staged.path().join(HEADERS), HeaderColumns { trace_id: true, ..columns })?;
        let status = (0..layout.n_traces).map(|_| std::sync::atomic::AtomicU8::new(NOT_STORED)).collect();
        let traces = TraceChunks { target: target.to_path_buf(), layout, chunk_traces, array, status };
        Ok(Self { staged, traces, headers: Some(headers), headers_written: 0 })
    }

    pub fn layout(&self) -> &DatasetLayout {
        &self.traces.layout
    }

    pub fn chunks(&self) -> &TraceChunks {
        &self.traces
    }

    /// Traces stored so far whose samples are all zero (they are written as dead).
    pub fn all_zero_traces(&self) -> u64 {
        let zero = |s: &std::sync::atomic::AtomicU8| s.load(std::sync::atomic::Ordering::Relaxed) == ALL_ZERO;
        self.traces.status.iter().filter(|s| zero(s)).count() as u64
    }

    /// Append the headers of the next traces, whose samples must be stored already: a trace
    /// whose samples are all zero gets the dead code in `TRACE_ID` (others keep theirs, or 1,
    /// seismic data).
    pub fn append_headers(&mut self, headers: &TraceHeaders) -> Result<()> {
        let first = self.headers_written;
        let mut codes = headers.trace_id.clone().unwrap_or_else(|| vec![1; headers.len()]);
        for (k, code) in codes.iter_mut().enumerate() {
            let status = self.traces.status.get(first + k).map(|s| s.load(std::sync::atomic::Ordering::Relaxed));
            match status {
                Some(ALL_ZERO) => *code = DEAD_TRACE_CODE,
                Some(STORED) => {}
                _ => {
                    return Err(IoError::invalid(
                        self.staged.target(),
                        format!("the header of trace {} was appended before its samples were stored", first + k),
                    ));
                }
            }
        }
        let headers = TraceHeaders { trace_id: Some(codes), ..headers.clone() };
        self.headers.as_mut().expect("headers open until finish").append(&headers)?;
        self.headers_written += headers.len();
        Ok(())
    }

    /// Write `metadata.json` (if given), check completeness and move the dataset into place.
    pub fn finish(mut self, metadata: Option<&serde_json::Value>) -> Result<PathBuf> {
        self.headers.take().expect("headers open until finish").finish()?;
        if self.headers_written != self.traces.layout.n_traces {
            return Err(IoError::invalid(
                self.staged.target(),
                format!("{} header rows written for {} traces", self.headers_written, self.traces.layout.n_traces),
            ));
        }
        // Every trace's samples were checked on the way in (`TraceChunks::store_chunk`), and every
        // header appended after them.
        let array = &mut self.traces.array;
        array.attributes_mut().insert(SAMPLES_CHECKED.into(), true.into());
        array.store_metadata().map_err(|e| IoError::zarr(self.staged.path().join(TRACES), e))?;
        if let Some(m) = metadata {
            let p = self.staged.path().join(METADATA);
            let text = serde_json::to_string_pretty(m).expect("metadata serialises");
            std::fs::write(&p, text).map_err(|e| IoError::fs(&p, e))?;
        }
        self.staged.commit()
    }
}

/// Write a whole dataset held in memory (tests, small imports).
pub fn write_dataset(
    target: &Path,
    layout: DatasetLayout,
    samples: &[f32],
    headers: &TraceHeaders,
    metadata: Option<&serde_json::Value>,
    overwrite: bool,
) -> Result<PathBuf> {
    let mut w = DatasetWriter::create(target, layout, layout.default_chunk_traces(), headers.columns(), overwrite)?;
    let ns = layout.n_samples;
    let chunks = w.chunks();
    for c in 0..chunks.n_chunks() {
        let r = chunks.chunk_range(c);
        chunks.store_chunk(c, &samples[r.start * ns..r.end * ns])?;
    }
    w.append_headers(headers)?;
    w.finish(metadata)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pstm_math::TraceGeometry;

    fn sample_dataset(dir: &Path, n: usize, ns: usize) -> (PathBuf, Vec<f32>, TraceHeaders) {
        let layout = DatasetLayout { n_traces: n, n_samples: ns, sample_rate_ms: 4.0, start_time_ms: 100.0 };
        let samples: Vec<f32> = (0..n * ns).map(|i| (i as f32).sin()).collect();
        let mut h = TraceHeaders::default();
        for i in 0..n {
            h.push(i as u64, &TraceGeometry::from_midpoint(i as f64, 0.0, 100.0, 0.0), None);
        }
        let mut w = DatasetWriter::create(&dir.join("ds"), layout, 3, HeaderColumns::default(), false).unwrap();
        // Chunks stored out of order, as parallel writers do.
        let chunks = w.chunks();
        for c in (0..chunks.n_chunks()).rev() {
            let r = chunks.chunk_range(c);
            chunks.store_chunk(c, &samples[r.start * ns..r.end * ns]).unwrap();
        }
        w.append_headers(&h).unwrap();
        let p = w.finish(Some(&serde_json::json!({"truth": 1}))).unwrap();
        (p, samples, h)
    }

    #[test]
    fn round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let (p, samples, h) = sample_dataset(dir.path(), 10, 7);
        let ds = Dataset::open(&p).unwrap();
        assert_eq!(ds.layout().n_traces, 10);
        assert_eq!(ds.layout().start_time_ms, 100.0);
        // The writer records every trace's code: 1, seismic data, here.
        assert_eq!(ds.headers(), &TraceHeaders { trace_id: Some(vec![1; 10]), ..h });
        assert!(ds.samples_checked());
        assert_eq!(ds.read_traces(0..10).unwrap(), samples);
        let mut out = Vec::new();
        ds.read_trace_list(&[1, 2, 5, 9], &mut out).unwrap();
        let expect: Vec<f32> = [1, 2, 5, 9].iter().flat_map(|&t| samples[t * 7..(t + 1) * 7].to_vec()).collect();
        assert_eq!(out, expect);
        assert_eq!(ds.metadata().unwrap().unwrap()["truth"], 1);
    }

    #[test]
    fn unfinished_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DatasetLayout { n_traces: 4, n_samples: 3, sample_rate_ms: 2.0, start_time_ms: 0.0 };
        {
            let w = DatasetWriter::create(&dir.path().join("ds"), layout, 2, HeaderColumns::default(), false).unwrap();
            w.chunks().store_chunk(0, &[0.0; 6]).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Finishing with missing headers fails and leaves nothing either.
        let w = DatasetWriter::create(&dir.path().join("ds"), layout, 2, HeaderColumns::default(), false).unwrap();
        assert!(w.finish(None).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn header_count_mismatch_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, h) = sample_dataset(dir.path(), 10, 7);
        let mut short = h.clone();
        for v in [
            &mut short.sou_x,
            &mut short.sou_y,
            &mut short.rec_x,
            &mut short.rec_y,
            &mut short.cdp_x,
            &mut short.cdp_y,
            &mut short.offset,
            &mut short.azimuth,
        ] {
            v.pop();
        }
        short.trace_idx.pop();
        short.write_parquet(&p.join(HEADERS)).unwrap();
        let e = Dataset::open(&p).unwrap_err().to_string();
        assert!(e.contains("headers.parquet") && e.contains("9 rows") && e.contains("10 traces"), "{e}");
    }

    #[test]
    fn the_writer_refuses_bad_samples_and_marks_zero_traces_dead() {
        let dir = tempfile::tempdir().unwrap();
        let layout = DatasetLayout { n_traces: 4, n_samples: 3, sample_rate_ms: 2.0, start_time_ms: 0.0 };
        let w = DatasetWriter::create(&dir.path().join("ds"), layout, 2, HeaderColumns::default(), false).unwrap();
        let e = w.chunks().store_chunk(1, &[1.0, 2.0, 3.0, 0.0, f32::NAN, 0.0]).unwrap_err().to_string();
        assert!(e.contains("trace 3, sample 1: NaN"), "{e}");
        let mut w = DatasetWriter::create(&dir.path().join("ds"), layout, 2, HeaderColumns::default(), true).unwrap();
        let mut h = TraceHeaders::default();
        for i in 0..4 {
            h.push(i, &pstm_math::TraceGeometry::from_midpoint(i as f64, 0.0, 100.0, 0.0), None);
        }
        w.chunks().store_chunk(0, &[1.0, 2.0, 3.0, 0.0, 0.0, 0.0]).unwrap();
        // Headers before their samples would miss the zeros.
        assert!(w.append_headers(&h).unwrap_err().to_string().contains("trace 2 was appended before its samples"));
        w.chunks().store_chunk(1, &[0.0, 0.0, 1.0, 0.0, 0.0, 0.0]).unwrap();
        w.append_headers(&h).unwrap();
        assert_eq!(w.all_zero_traces(), 2);
        let ds = Dataset::open(&w.finish(None).unwrap()).unwrap();
        assert_eq!(ds.headers().trace_id, Some(vec![1, 2, 1, 2]));
        assert!(!ds.headers().is_live(1));
        assert_eq!(
            ds.scan_samples().unwrap(),
            SampleScan { non_finite: vec![], all_zero: vec![1, 3] },
            "the scan finds what the writer marked"
        );
    }

    #[test]
    fn headers_without_trace_idx_need_the_dataset_to_vouch_for_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, _) = sample_dataset(dir.path(), 10, 7);
        // What another writer might produce: the same columns without trace_idx.
        let h = Dataset::open(&p).unwrap().headers().clone();
        let batch = h.record_batch_without_trace_idx();
        let file = std::fs::File::create(p.join(HEADERS)).unwrap();
        let mut w = parquet::arrow::ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let e = Dataset::open(&p).unwrap_err().to_string();
        assert!(
            e.contains("headers.parquet") && e.contains("no trace_idx column") && e.contains(ROWS_IN_TRACE_ORDER),
            "{e}"
        );
        // Saying so on traces.zarr is enough.
        let meta = p.join(TRACES).join("zarr.json");
        let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
        json["attributes"][ROWS_IN_TRACE_ORDER] = true.into();
        std::fs::write(&meta, serde_json::to_vec(&json).unwrap()).unwrap();
        assert_eq!(Dataset::open(&p).unwrap().headers(), &h);
    }

    #[test]
    fn a_damaged_chunk_fails_its_checksum_and_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, _) = sample_dataset(dir.path(), 10, 7);
        let chunk = p.join(TRACES).join("c").join("2").join("0");
        let mut bytes = std::fs::read(&chunk).unwrap();
        // One bit flipped in the compressed data: zstd alone may decode it into other numbers.
        let middle = bytes.len() / 2;
        bytes[middle] ^= 0x10;
        std::fs::write(&chunk, bytes).unwrap();
        let ds = Dataset::open(&p).unwrap();
        let e = ds.read_traces(6..9).unwrap_err().to_string();
        println!("{e}");
        assert!(e.contains("traces.zarr") && e.contains("chunk c/2/0") && e.contains("checksum"), "{e}");
        let e = ds.scan_samples().unwrap_err().to_string();
        assert!(e.contains("chunk c/2/0"), "{e}");
    }

    #[test]
    fn corrupt_chunk_names_the_traces() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _, _) = sample_dataset(dir.path(), 10, 7);
        let chunk = p.join(TRACES).join("c").join("1").join("0");
        assert!(chunk.exists());
        std::fs::write(&chunk, b"not zstd at all").unwrap();
        let ds = Dataset::open(&p).unwrap();
        let e = ds.read_traces(0..10).unwrap_err().to_string();
        assert!(e.contains("traces.zarr") && e.contains("cannot read traces 0..10"), "{e}");
    }
}
