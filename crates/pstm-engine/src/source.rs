//! Where a tile's traces come from: memory when the survey fits the budget, else the dataset.

use pstm_kernel::TraceBlock;
use pstm_math::prefilter::TraceFilter;
use pstm_math::{Prefilter, TraceGeometry};
use rayon::prelude::*;

use crate::error::Result;
use crate::job::MigrationJob;

/// Pre-filtered traces, served in blocks.
pub enum TraceSource<'a> {
    /// Every selected trace, filtered once, with its row in `samples`.
    Memory { samples: Vec<f32>, row: Vec<u32>, job: &'a MigrationJob },
    /// Read (and filtered) from the dataset for every block.
    Stream { job: &'a MigrationJob },
}

/// What a planned filter is for: kind, trace length, sample interval (bits).
type FilterKey = (Prefilter, usize, u64);

thread_local! {
    /// Each thread keeps the filter (FFT plans and buffers) of the last kind, length and interval
    /// it filtered: streamed blocks of one survey reuse it instead of planning FFTs per block.
    static FILTER: std::cell::RefCell<Option<(FilterKey, TraceFilter)>> = const { std::cell::RefCell::new(None) };
}

fn filter_traces(kind: Prefilter, samples: &mut [f32], ns: usize, dt: f64) {
    if kind == Prefilter::None {
        return;
    }
    FILTER.with(|cell| {
        let mut cached = cell.borrow_mut();
        let key = (kind, ns, dt.to_bits());
        let (_, filter) = match cached.as_mut() {
            Some(entry) if entry.0 == key => entry,
            _ => cached.insert((key, TraceFilter::new(kind, ns, dt))),
        };
        for trace in samples.chunks_mut(ns) {
            filter.apply(trace);
        }
    });
}

impl<'a> TraceSource<'a> {
    /// Load the selected traces into memory (filtered), or prepare to stream them.
    pub fn new(job: &'a MigrationJob, in_memory: bool) -> Result<Self> {
        if !in_memory {
            return Ok(TraceSource::Stream { job });
        }
        let layout = job.dataset.layout();
        let ns = layout.n_samples;
        let mut row = vec![u32::MAX; layout.n_traces];
        for (r, &t) in job.selected.iter().enumerate() {
            row[t as usize] = r as u32;
        }
        // Chunk-sized pieces, read and filtered in parallel (decompression dominates), then
        // placed in order: the raw buffers stay a few chunks large.
        let piece = job.dataset.chunk_traces().max(256);
        let mut samples = vec![0.0f32; job.selected.len() * ns];
        samples.par_chunks_mut(piece * ns).zip(job.selected.par_chunks(piece)).try_for_each(
            |(out, traces)| -> Result<()> {
                let indices: Vec<usize> = traces.iter().map(|&t| t as usize).collect();
                let mut buffer = Vec::new();
                job.dataset.read_trace_list(&indices, &mut buffer)?;
                filter_traces(job.prefilter, &mut buffer, ns, layout.dt_s());
                out.copy_from_slice(&buffer);
                Ok(())
            },
        )?;
        Ok(TraceSource::Memory { samples, row, job })
    }

    fn job(&self) -> &'a MigrationJob {
        match self {
            TraceSource::Memory { job, .. } | TraceSource::Stream { job } => job,
        }
    }

    /// A block of the given traces (ascending trace numbers).
    pub fn block(&self, traces: &[u32]) -> Result<TraceBlock> {
        let job = self.job();
        let layout = job.dataset.layout();
        let ns = layout.n_samples;
        let headers = job.dataset.headers();
        let geometry: Vec<TraceGeometry> = traces.iter().map(|&t| headers.geometry(t as usize)).collect();
        let samples = match self {
            TraceSource::Memory { samples, row, .. } => {
                let mut out = Vec::with_capacity(traces.len() * ns);
                for &t in traces {
                    let r = row[t as usize] as usize;
                    out.extend_from_slice(&samples[r * ns..(r + 1) * ns]);
                }
                out
            }
            TraceSource::Stream { .. } => {
                let indices: Vec<usize> = traces.iter().map(|&t| t as usize).collect();
                let mut out = Vec::new();
                job.dataset.read_trace_list(&indices, &mut out)?;
                filter_traces(job.prefilter, &mut out, ns, layout.dt_s());
                out
            }
        };
        Ok(TraceBlock { n_samples: ns, dt_s: layout.dt_s(), t_start_s: layout.t_start_s(), samples, geometry })
    }
}
