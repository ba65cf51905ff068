//! Which traces a job migrates. A trace is left out when its identification code says it is
//! not seismic data (dead, dummy, auxiliary), when its samples are all zero or not all finite
//! (`input.bad_samples: zero_trace`), when the kill list names it (`input.kill`), when a list of
//! traces to keep does not (`input.traces`), or when its offset, azimuth or offset vector is
//! outside `input.offset_range_m`, `input.azimuth_sectors_deg` or `input.offset_vector_window_m`.
//! Azimuths are those of the source-to-receiver vector, degrees clockwise from north in
//! [0, 360); offset vectors are receiver minus source, x east and y north. Left out means left out of the fold too: a dead
//! trace does not lower the normalised stack where it would have contributed zeros.
//!
//! Datasets pstm writes carry the code of every trace, all-zero traces marked dead, and the
//! promise that every sample is finite ([`pstm_io::Dataset::samples_checked`]); a dataset written
//! elsewhere is read once here to find its bad and empty traces.

use pstm_config::JobConfig;
use pstm_config::job::BadSamples;
use pstm_io::Dataset;
use serde::Serialize;

use crate::error::{EngineError, Result};

/// How many traces were left out, by the first reason that applies to each.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LeftOut {
    /// Trace identification code 2-8: dead, dummy, auxiliary (pstm marks all-zero traces dead).
    pub not_seismic: usize,
    /// All samples zero, found by scanning a dataset written elsewhere.
    pub all_zero: usize,
    /// With a NaN or infinite sample (`input.bad_samples: zero_trace`).
    pub bad_samples: usize,
    /// Named by `input.kill`.
    pub killed: usize,
    /// Offset outside `input.offset_range_m`.
    pub offset: usize,
    /// Not named by `input.traces`.
    pub not_listed: usize,
    /// Azimuth outside every sector of `input.azimuth_sectors_deg`.
    pub azimuth: usize,
    /// Offset vector outside `input.offset_vector_window_m`.
    pub offset_vector: usize,
}

impl LeftOut {
    pub fn total(&self) -> usize {
        self.not_seismic
            + self.all_zero
            + self.bad_samples
            + self.killed
            + self.offset
            + self.not_listed
            + self.azimuth
            + self.offset_vector
    }
}

impl std::fmt::Display for LeftOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [
            (self.not_seismic, "dead, dummy or auxiliary by their trace identification code"),
            (self.all_zero, "all zero"),
            (self.bad_samples, "with NaN or infinite samples (input.bad_samples: zero_trace)"),
            (self.killed, "killed (input.kill)"),
            (self.offset, "outside input.offset_range_m"),
            (self.not_listed, "not in input.traces"),
            (self.azimuth, "outside input.azimuth_sectors_deg"),
            (self.offset_vector, "outside input.offset_vector_window_m"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, why)| format!("{n} {why}"))
        .collect();
        if parts.is_empty() { write!(f, "none") } else { write!(f, "{}", parts.join(", ")) }
    }
}

/// The traces of `dataset` a job migrates (ascending) and what was left out.
pub fn select(config: &JobConfig, dataset: &Dataset) -> Result<(Vec<u32>, LeftOut)> {
    let headers = dataset.headers();
    let n = headers.len();
    let mut left_out = LeftOut::default();
    // Why each trace is out, the first reason found; `None`: in.
    let mut out: Vec<Option<Reason>> = (0..n).map(|i| (!headers.is_live(i)).then_some(Reason::NotSeismic)).collect();
    let scan = if dataset.samples_checked() { None } else { Some(dataset.scan_samples()?) };
    if let Some(scan) = &scan {
        for &t in &scan.all_zero {
            out[t as usize].get_or_insert(Reason::AllZero);
        }
    }
    if let Some(path) = &config.input.kill {
        let killed =
            pstm_io::kill_list::read(path, headers).map_err(|e| EngineError::job("input.kill", e.to_string()))?;
        for t in killed {
            out[t as usize].get_or_insert(Reason::Killed);
        }
    }
    if let Some(path) = &config.input.traces {
        let listed =
            pstm_io::kill_list::read(path, headers).map_err(|e| EngineError::job("input.traces", e.to_string()))?;
        let mut keep = vec![false; n];
        for t in listed {
            keep[t as usize] = true;
        }
        for (o, keep) in out.iter_mut().zip(keep) {
            if !keep {
                o.get_or_insert(Reason::NotListed);
            }
        }
    }
    let input = &config.input;
    for (i, o) in out.iter_mut().enumerate() {
        let g = headers.geometry(i);
        if let Some([lo, hi]) = input.offset_range_m
            && !(lo..=hi).contains(&g.offset())
        {
            o.get_or_insert(Reason::Offset);
        }
        if let Some(sectors) = &input.azimuth_sectors_deg
            && !sectors.iter().any(|&s| in_sector(g.azimuth_deg(), s))
        {
            o.get_or_insert(Reason::Azimuth);
        }
        if let Some(w) = &input.offset_vector_window_m {
            let (hx, hy) = (g.rx - g.sx, g.ry - g.sy);
            if !((w.x[0]..w.x[1]).contains(&hx) && (w.y[0]..w.y[1]).contains(&hy)) {
                o.get_or_insert(Reason::OffsetVector);
            }
        }
    }
    // Bad samples matter only in traces every other reason keeps: a user who kills the trace,
    // or selects around it, has dealt with it.
    if let Some(scan) = &scan {
        let mut bad = scan.non_finite.iter().filter(|b| out[b.trace as usize].is_none());
        if let Some(first) = bad.next()
            && config.input.bad_samples == BadSamples::Error
        {
            let more = bad.count();
            return Err(EngineError::job(
                "input.dataset",
                format!(
                    "{}: {first}{}; set input.bad_samples: zero_trace to leave such traces out, or kill them (input.kill)",
                    dataset.root().join(pstm_io::dataset::TRACES).display(),
                    if more > 0 { format!(" (and {more} more traces)") } else { String::new() }
                ),
            ));
        }
        for b in &scan.non_finite {
            out[b.trace as usize].get_or_insert(Reason::BadSamples);
        }
    }
    let mut selected = Vec::with_capacity(n);
    for (i, o) in out.iter().enumerate() {
        match o {
            None => selected.push(i as u32),
            Some(Reason::NotSeismic) => left_out.not_seismic += 1,
            Some(Reason::AllZero) => left_out.all_zero += 1,
            Some(Reason::BadSamples) => left_out.bad_samples += 1,
            Some(Reason::Killed) => left_out.killed += 1,
            Some(Reason::Offset) => left_out.offset += 1,
            Some(Reason::NotListed) => left_out.not_listed += 1,
            Some(Reason::Azimuth) => left_out.azimuth += 1,
            Some(Reason::OffsetVector) => left_out.offset_vector += 1,
        }
    }
    Ok((selected, left_out))
}

#[derive(Debug, Clone, Copy)]
enum Reason {
    NotSeismic,
    AllZero,
    BadSamples,
    Killed,
    Offset,
    NotListed,
    Azimuth,
    OffsetVector,
}

/// Whether `azimuth` (degrees, [0, 360)) lies in the sector `[from, to)`, which wraps through
/// north when `from > to`.
pub fn in_sector(azimuth: f64, [from, to]: [f64; 2]) -> bool {
    if from <= to { (from..to).contains(&azimuth) } else { azimuth >= from || azimuth < to }
}

#[cfg(test)]
mod tests {
    use super::in_sector;

    #[test]
    fn sectors_include_their_start_and_wrap_through_north() {
        assert!(in_sector(0.0, [0.0, 45.0]) && !in_sector(45.0, [0.0, 45.0]));
        assert!(in_sector(350.0, [330.0, 30.0]) && in_sector(10.0, [330.0, 30.0]) && !in_sector(90.0, [330.0, 30.0]));
    }
}
