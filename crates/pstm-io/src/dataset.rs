//! Prestack datasets: `traces.zarr` + `headers.parquet` (+ `metadata.json`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zarrs::array::ArraySubset;

use crate::error::{IoError, Result};
use crate::headers::{HeaderWriter, TraceHeaders};
use crate::staging::Staged;
use crate::zarr::{self, Element, ZArray};

pub const TRACES: &str = "traces.zarr";
pub const HEADERS: &str = "headers.parquet";
pub const METADATA: &str = "metadata.json";

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
        let headers = TraceHeaders::read_parquet(&hpath)?;
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
        Ok(Self { root: root.to_path_buf(), layout, headers, traces, chunk_traces })
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
        self.traces
            .retrieve_array_subset::<Vec<f32>>(&subset)
            .map_err(|e| IoError::zarr(self.root.join(TRACES), format!("cannot read traces {first}..{end}: {e}")))
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

/// The trace array of a dataset being written: chunks may be stored from several threads.
pub struct TraceChunks {
    target: PathBuf,
    layout: DatasetLayout,
    chunk_traces: usize,
    array: ZArray,
}

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
        let subset = ArraySubset::new_with_ranges(&[r.start as u64..r.end as u64, 0..ns as u64]);
        self.array
            .store_array_subset(&subset, samples)
            .map_err(|e| IoError::zarr(self.target.join(TRACES), format!("cannot write traces {r:?}: {e}")))
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
    pub fn create(
        target: &Path,
        layout: DatasetLayout,
        chunk_traces: usize,
        with_inline_crossline: bool,
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
        let headers = HeaderWriter::create(&staged.path().join(HEADERS), with_inline_crossline)?;
        let traces = TraceChunks { target: target.to_path_buf(), layout, chunk_traces, array };
        Ok(Self { staged, traces, headers: Some(headers), headers_written: 0 })
    }

    pub fn layout(&self) -> &DatasetLayout {
        &self.traces.layout
    }

    pub fn chunks(&self) -> &TraceChunks {
        &self.traces
    }

    pub fn append_headers(&mut self, headers: &TraceHeaders) -> Result<()> {
        self.headers.as_mut().expect("headers open until finish").append(headers)?;
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
    let mut w =
        DatasetWriter::create(target, layout, layout.default_chunk_traces(), headers.inline.is_some(), overwrite)?;
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
        let mut w = DatasetWriter::create(&dir.join("ds"), layout, 3, false, false).unwrap();
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
        assert_eq!(ds.headers(), &h);
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
            let w = DatasetWriter::create(&dir.path().join("ds"), layout, 2, false, false).unwrap();
            w.chunks().store_chunk(0, &[0.0; 6]).unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        // Finishing with missing headers fails and leaves nothing either.
        let w = DatasetWriter::create(&dir.path().join("ds"), layout, 2, false, false).unwrap();
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
