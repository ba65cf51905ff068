//! The job's traces as a [`TraceStore`]: held in memory when the survey fits the budget, else
//! read from the dataset on demand; checked, conditioned (datum static, mutes), pre-filtered and,
//! for triangle antialiasing, integrated twice either way, so that every kernel migrates the same
//! traces. Integrated traces replace the traces they come from: no second copy is held.

use pstm_kernel::{KernelError, TraceLayout, TraceStore};
use pstm_math::prefilter::TraceFilter;
use pstm_math::{Prefilter, TraceGeometry};
use rayon::prelude::*;

use crate::error::{EngineError, Result};
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

/// Whatever the selection found, samples are checked again as they are read: a dataset changed
/// since, or one whose writer vouched for samples it did not check, fails here (or has the trace
/// zeroed, with `input.bad_samples: zero_trace`) instead of putting NaN into the image.
fn check_samples(job: &MigrationJob, traces: &[u32], samples: &mut [f32]) -> std::result::Result<(), String> {
    let ns = job.dataset.layout().n_samples.max(1);
    for (&t, trace) in traces.iter().zip(samples.chunks_exact_mut(ns)) {
        let Some(i) = trace.iter().position(|v| !v.is_finite()) else { continue };
        if job.config.input.bad_samples == pstm_config::job::BadSamples::ZeroTrace {
            // Found after the selection: zeroed, but its contributions are counted already.
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                crate::progress::note(&format!(
                    "input.dataset: trace {t}, sample {i}: {}, found as it was read (the dataset changed after it was checked?): zeroed, yet counted in the fold",
                    trace[i]
                ))
            });
            trace.fill(0.0);
            continue;
        }
        return Err(format!(
            "input.dataset: {}: trace {t}, sample {i}: {}; set input.bad_samples: zero_trace to leave such traces out",
            job.dataset.root().join(pstm_io::dataset::TRACES).display(),
            trace[i]
        ));
    }
    Ok(())
}

/// The datum static and the mutes of `input` ([`pstm_math::conditioning`]), trace by trace.
fn condition(job: &MigrationJob, traces: &[u32], samples: &mut [f32]) {
    let (mute, datum) = (&job.conditioning.mute, &job.conditioning.datum);
    if mute.is_none() && datum.is_none() {
        return;
    }
    let layout = job.dataset.layout();
    let (ns, dt, t_start) = (layout.n_samples.max(1), layout.dt_s(), layout.t_start_s());
    let headers = job.dataset.headers();
    for (&t, trace) in traces.iter().zip(samples.chunks_exact_mut(ns)) {
        let t = t as usize;
        if let (Some(d), Some(s), Some(r)) = (datum, &headers.sou_elev, &headers.rec_elev) {
            pstm_math::conditioning::DatumStatic::apply(trace, d.shift(s[t], r[t]), dt);
        }
        if let Some(m) = mute {
            m.apply(trace, headers.geometry(t).offset(), t_start, dt);
        }
    }
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
                check_samples(job, traces, out).map_err(EngineError::Other)?;
                condition(job, traces, out);
                filter_traces(job.operator.prefilter, out, ns, layout.dt_s());
                pstm_math::antialias::prepare_traces(&job.operator.antialiasing, out, ns);
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
                check_samples(self.job, traces, out).map_err(KernelError::Traces)?;
                condition(self.job, traces, out);
                filter_traces(self.job.operator.prefilter, out, ns, layout.dt_s());
                pstm_math::antialias::prepare_traces(&self.job.operator.antialiasing, out, ns);
            }
        }
        Ok(())
    }
}
