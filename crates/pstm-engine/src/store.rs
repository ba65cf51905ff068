//! The job's traces as a [`TraceStore`]: held in memory when the survey fits the budget, else
//! read from the dataset on demand; pre-filtered either way.

use pstm_kernel::{KernelError, TraceLayout, TraceStore};
use pstm_math::prefilter::TraceFilter;
use pstm_math::{Prefilter, TraceGeometry};
use rayon::prelude::*;

use crate::error::Result;
use crate::job::MigrationJob;

/// Pre-filtered traces of a job, by trace id.
pub struct JobTraces<'a> {
    job: &'a MigrationJob,
    /// Every selected trace, filtered once, and each trace id's row in it; `None` when streamed.
    memory: Option<(Vec<f32>, Vec<u32>)>,
}

/// What a planned filter is for: kind, trace length, sample interval (bits).
type FilterKey = (Prefilter, usize, u64);

thread_local! {
    /// Each thread keeps the filter (FFT plans and buffers) of the last kind, length and interval
    /// it filtered: streamed blocks of one survey reuse it instead of planning FFTs per block.
    static FILTER: std::cell::RefCell<Option<(FilterKey, TraceFilter)>> = const { std::cell::RefCell::new(None) };
}

fn filter_traces(kind: Prefilter, samples: &mut [f32], ns: usize, dt: f64) {
    if kind == Prefilter::None || ns == 0 {
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

impl<'a> JobTraces<'a> {
    /// Load the selected traces into memory (filtered), or prepare to stream them.
    pub fn new(job: &'a MigrationJob, in_memory: bool) -> Result<Self> {
        if !in_memory {
            return Ok(Self { job, memory: None });
        }
        let layout = job.dataset.layout();
        let ns = layout.n_samples;
        let mut row = vec![u32::MAX; layout.n_traces];
        for (r, &t) in job.selected.iter().enumerate() {
            row[t as usize] = r as u32;
        }
        // Chunk-sized pieces, read and filtered in parallel (decompression dominates), each
        // straight into its place.
        let piece = job.dataset.chunk_traces().max(256);
        let mut samples = vec![0.0f32; job.selected.len() * ns];
        samples.par_chunks_mut((piece * ns).max(1)).zip(job.selected.par_chunks(piece)).try_for_each(
            |(out, traces)| -> Result<()> {
                let indices: Vec<usize> = traces.iter().map(|&t| t as usize).collect();
                job.dataset.read_trace_list_into(&indices, out)?;
                filter_traces(job.operator.prefilter, out, ns, layout.dt_s());
                Ok(())
            },
        )?;
        Ok(Self { job, memory: Some((samples, row)) })
    }
}

impl TraceStore for JobTraces<'_> {
    fn layout(&self) -> TraceLayout {
        let layout = self.job.dataset.layout();
        TraceLayout { n_samples: layout.n_samples, dt_s: layout.dt_s(), t_start_s: layout.t_start_s() }
    }

    fn geometry(&self, trace: u32) -> TraceGeometry {
        self.job.dataset.headers().geometry(trace as usize)
    }

    fn fill(&self, traces: &[u32], out: &mut [f32]) -> std::result::Result<(), KernelError> {
        let layout = self.job.dataset.layout();
        let ns = layout.n_samples;
        if out.len() != traces.len() * ns {
            return Err(KernelError::Traces(format!(
                "{} samples of room for {} traces of {ns} samples",
                out.len(),
                traces.len()
            )));
        }
        match &self.memory {
            Some((samples, row)) => {
                for (&t, dst) in traces.iter().zip(out.chunks_exact_mut(ns.max(1))) {
                    let r = row[t as usize] as usize;
                    dst.copy_from_slice(&samples[r * ns..(r + 1) * ns]);
                }
            }
            None => {
                let indices: Vec<usize> = traces.iter().map(|&t| t as usize).collect();
                // Decoded chunks are copied once, into the caller's memory, and filtered there.
                self.job.dataset.read_trace_list_into(&indices, out).map_err(|e| KernelError::Traces(e.to_string()))?;
                filter_traces(self.job.operator.prefilter, out, ns, layout.dt_s());
            }
        }
        Ok(())
    }
}
