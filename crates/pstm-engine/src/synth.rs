//! Writing synthetic surveys: streamed chunk by chunk, with their ground truth.

use std::path::{Path, PathBuf};
use std::time::Instant;

use pstm_config::SynthSpec;
use pstm_io::{DatasetLayout, DatasetWriter, TraceHeaders};
use pstm_math::TraceGeometry;
use pstm_math::media::Medium;
use pstm_math::model::{ForwardModel, TraceTiming};
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{EngineError, Result};
use crate::job::velocity_model;

/// What was written.
#[derive(Debug, Clone, Serialize)]
pub struct SynthSummary {
    pub path: PathBuf,
    pub n_traces: usize,
    pub n_samples: usize,
    pub sample_bytes: u64,
    pub seconds: f64,
    /// True when an identical dataset was found in the cache and reused.
    pub reused: bool,
}

impl std::fmt::Display for SynthSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} traces x {} samples ({:.1} MB of samples) {} {:.2} s: {}",
            if self.reused { "reused" } else { "wrote" },
            self.n_traces,
            self.n_samples,
            self.sample_bytes as f64 / 1e6,
            if self.reused { "checked in" } else { "in" },
            self.seconds,
            self.path.display()
        )
    }
}

/// The forward model a spec describes.
pub fn forward_model(spec: &SynthSpec) -> Result<ForwardModel> {
    let model = ForwardModel {
        diffractors: spec.diffractors.clone(),
        reflectors: spec.reflectors.clone(),
        linear_events: spec.linear_events.clone(),
        velocity: velocity_model(&spec.velocity)?,
        wavelet: spec.wavelet,
        spreading: spec.spreading,
        noise: spec.noise,
        seed: spec.seed,
        medium: spec.medium,
    };
    model.check().map_err(|e| EngineError::job("synthetic spec", e))?;
    Ok(model)
}

/// The medium's entry in the ground truth, `None` for the RMS model (whose truth is `velocity`):
/// a gradient's `v0`, `k` and its RMS velocity every 0.1 s from 0 to the end of the record (the
/// last time at or past it), a VTI medium's Thomsen parameters with `vnmo` and `eta`.
pub fn medium_truth(spec: &SynthSpec) -> Option<serde_json::Value> {
    match spec.medium {
        Medium::Rms => None,
        Medium::Gradient(g) => {
            let t_end =
                1e-3 * (spec.timing.start_time_ms + spec.timing.n_samples.saturating_sub(1) as f64 * spec.timing.dt_ms);
            let n = (t_end / 0.1 - 1e-9).ceil().max(0.0) as usize + 1;
            let times: Vec<f64> = (0..n).map(|i| i as f64 / 10.0).collect();
            let velocities: Vec<f64> = times.iter().map(|&t| g.vrms(t)).collect();
            Some(serde_json::json!({
                "type": "gradient", "v0": g.v0, "k": g.k,
                "vrms_table": {"times_s": times, "velocities": velocities},
            }))
        }
        Medium::Vti(m) => Some(serde_json::json!({
            "type": "vti", "vp0": m.vp0, "epsilon": m.epsilon, "delta": m.delta, "vnmo": m.vnmo(), "eta": m.eta(),
        })),
    }
}

/// The ground truth stored as `metadata.json`: the spec, each event's zero-offset time (from
/// the medium, when the spec has one) and, with a medium, its [`medium_truth`] as `medium`.
pub fn ground_truth(spec: &SynthSpec, model: &ForwardModel) -> serde_json::Value {
    let diffractors: Vec<_> = spec
        .diffractors
        .iter()
        .map(|d| serde_json::json!({"x": d.x, "y": d.y, "z": d.z, "amplitude": d.amplitude, "t0_s": model.depth_to_time(d.z)}))
        .collect();
    let reflectors: Vec<_> = spec
        .reflectors
        .iter()
        .map(|r| {
            serde_json::json!({
                "x0": r.x0, "y0": r.y0, "z0": r.z0, "dip_deg": r.dip_deg, "dip_azimuth_deg": r.dip_azimuth_deg,
                "amplitude": r.amplitude, "t0_s_at_x0_y0": model.depth_to_time(r.z0),
            })
        })
        .collect();
    let mut truth = serde_json::json!({
        "generator": "pstm synth",
        "generator_version": GENERATOR_VERSION,
        "pstm_version": env!("CARGO_PKG_VERSION"),
        "diffractors": diffractors,
        "reflectors": reflectors,
        "velocity": spec.velocity,
        "n_traces": spec.geometry.n_traces(),
        "n_samples": spec.timing.n_samples,
        "sample_rate_ms": spec.timing.dt_ms,
        "start_time_ms": spec.timing.start_time_ms,
        "spec": spec,
    });
    if let Some(medium) = medium_truth(spec) {
        truth["medium"] = medium;
    }
    truth
}

/// Generate a survey into `out`, streaming: a few chunks of traces in memory at a time.
pub fn generate(spec: &SynthSpec, out: &Path, overwrite: bool, progress: bool) -> Result<SynthSummary> {
    let started = Instant::now();
    let model = forward_model(spec)?;
    let g = &spec.geometry;
    let layout = DatasetLayout {
        n_traces: g.n_traces(),
        n_samples: spec.timing.n_samples,
        sample_rate_ms: spec.timing.dt_ms,
        start_time_ms: spec.timing.start_time_ms,
    };
    let timing = TraceTiming { t_start: layout.t_start_s(), dt: layout.dt_s(), n: layout.n_samples };
    let mut writer = DatasetWriter::create(
        out,
        layout,
        layout.default_chunk_traces(),
        pstm_io::headers::HeaderColumns { lines: true, ..Default::default() },
        overwrite,
    )?;
    let bar = crate::progress::bar(progress, Some(layout.n_traces as u64), "{human_pos}/{human_len} traces", "synth");
    let geometry = |i: usize| {
        let (mx, my, offset, azimuth) = g.trace(i);
        TraceGeometry::from_midpoint(mx, my, offset, azimuth)
    };
    // A batch of chunks per round, one per worker: memory stays at a few chunks.
    let batch = rayon::current_num_threads().max(1);
    let n_chunks = writer.chunks().n_chunks();
    for first in (0..n_chunks).step_by(batch) {
        let chunks: Vec<usize> = (first..(first + batch).min(n_chunks)).collect();
        let trace_chunks = writer.chunks();
        chunks.par_iter().try_for_each(|&c| -> Result<()> {
            let range = trace_chunks.chunk_range(c);
            let mut samples = vec![0.0f32; range.len() * layout.n_samples];
            for (k, i) in range.clone().enumerate() {
                let out = &mut samples[k * layout.n_samples..(k + 1) * layout.n_samples];
                model.trace(&geometry(i), i as u64, &timing, out);
            }
            trace_chunks.store_chunk(c, &samples)?;
            Ok(())
        })?;
        let mut headers = TraceHeaders::default();
        for &c in &chunks {
            for i in writer.chunks().chunk_range(c) {
                headers.push(i as u64, &geometry(i), Some(g.lines(i)));
            }
        }
        writer.append_headers(&headers)?;
        bar.inc(headers.len() as u64);
    }
    bar.finish();
    let path = writer.finish(Some(&ground_truth(spec, &model)))?;
    Ok(SynthSummary {
        path,
        n_traces: layout.n_traces,
        n_samples: layout.n_samples,
        sample_bytes: layout.sample_bytes(),
        seconds: started.elapsed().as_secs_f64(),
        reused: false,
    })
}

/// Bumped whenever the generator writes something different for the same spec, so that cached
/// datasets from an older generator are not reused. (Not for `medium`: a spec without one
/// serialises, hashes and generates as before, and one with one is a new spec.)
// 3: datasets carry TRACE_ID, chunk checksums and `samples_checked` (older cached ones would be
// scanned for bad samples before every job).
pub const GENERATOR_VERSION: u32 = 3;

/// Where cached datasets live: `$PSTM_CACHE_DIR`, else `.pstm-cache` in the working directory.
pub fn cache_dir() -> PathBuf {
    std::env::var_os("PSTM_CACHE_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from(".pstm-cache"))
}

/// A dataset for `spec` from the cache, generated on first use. The cache key is the preset name
/// (or `custom`) and a hash of the whole spec and [`GENERATOR_VERSION`], so neither a changed
/// parameter nor a changed generator reuses stale data.
pub fn cached(name: &str, spec: &SynthSpec, progress: bool) -> Result<SynthSummary> {
    let started = Instant::now();
    let hash = pstm_config::job::digest(&(GENERATOR_VERSION, spec));
    let path = cache_dir().join("datasets").join(format!("{name}-{hash}"));
    if let Ok(ds) = pstm_io::Dataset::open(&path)
        && ds
            .metadata()
            .ok()
            .flatten()
            .is_some_and(|m| m["spec"] == serde_json::to_value(spec).expect("spec serialises"))
    {
        let l = ds.layout();
        return Ok(SynthSummary {
            path,
            n_traces: l.n_traces,
            n_samples: l.n_samples,
            sample_bytes: l.sample_bytes(),
            seconds: started.elapsed().as_secs_f64(),
            reused: true,
        });
    }
    generate(spec, &path, true, progress)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_preset_writes_the_roadmap_survey_with_truth() {
        let dir = tempfile::tempdir().unwrap();
        let spec = SynthSpec::preset("tiny").unwrap();
        let s = generate(&spec, &dir.path().join("tiny"), false, false).unwrap();
        assert_eq!((s.n_traces, s.n_samples), (800, 501));
        let ds = pstm_io::Dataset::open(&s.path).unwrap();
        let truth = ds.metadata().unwrap().unwrap();
        assert_eq!(truth["diffractors"][0]["t0_s"], 0.64);
        assert_eq!(ds.headers().offset[1], 400.0);
        assert_eq!(ds.headers().inline.as_ref().unwrap()[799], 20);
        assert_eq!(ds.headers().crossline.as_ref().unwrap()[799], 20);
        // The trace straight above the diffractor (nearest midpoint, 200 m offset) peaks at the
        // analytic time within half a sample, noise and all.
        let model = forward_model(&spec).unwrap();
        let i = (0..800).min_by(|&a, &b| {
            let d = |i: usize| {
                let (x, y) = ds.headers().geometry(i).midpoint();
                (x - 250.0).hypot(y - 250.0) + ds.headers().offset[i] * 1e-3
            };
            d(a).total_cmp(&d(b))
        });
        let i = i.unwrap();
        let (t, _) = model.diffraction(&spec.diffractors[0], &ds.headers().geometry(i));
        let trace = ds.read_traces(i..i + 1).unwrap();
        let k = trace.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
        assert!((k as f64 * 0.002 - t).abs() <= 0.001 + 1e-9, "peak at {} s, analytic {t} s", k as f64 * 0.002);
    }

    #[test]
    fn gradient_medium_survey_records_the_medium_and_its_times() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = SynthSpec::preset("tiny").unwrap();
        spec.noise = 0.0;
        let gradient = pstm_math::media::GradientMedium { v0: 1800.0, k: 0.6 };
        spec.medium = Medium::Gradient(gradient);
        let s = generate(&spec, &dir.path().join("gradient"), false, false).unwrap();
        let ds = pstm_io::Dataset::open(&s.path).unwrap();
        let truth = ds.metadata().unwrap().unwrap();
        let t0 = gradient.depth_to_time(800.0);
        assert_eq!(truth["diffractors"][0]["t0_s"], t0);
        assert!((t0 - 2.0 / 0.6 * (1.0f64 + 0.6 * 800.0 / 1800.0).ln()).abs() < 1e-12);
        let m = &truth["medium"];
        assert_eq!(
            (m["type"].as_str(), m["v0"].as_f64(), m["k"].as_f64()),
            (Some("gradient"), Some(1800.0), Some(0.6))
        );
        // 501 samples at 2 ms: 0 to 1 s every 0.1 s.
        let times: Vec<f64> = serde_json::from_value(m["vrms_table"]["times_s"].clone()).unwrap();
        let velocities: Vec<f64> = serde_json::from_value(m["vrms_table"]["velocities"].clone()).unwrap();
        assert_eq!(times.len(), 11);
        assert_eq!((times[0], times[3], times[10]), (0.0, 0.3, 1.0));
        assert_eq!((velocities[0], velocities[10]), (1800.0, gradient.vrms(1.0)));
        assert_eq!(truth["spec"]["medium"]["gradient"]["k"], 0.6);
        // Traces near and far from the diffractor peak at the exact time within half a sample.
        let model = forward_model(&spec).unwrap();
        for i in [0usize, 399, 421, 799] {
            let (t, _) = model.diffraction(&spec.diffractors[0], &ds.headers().geometry(i));
            let trace = ds.read_traces(i..i + 1).unwrap();
            let k = trace.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0;
            assert!(
                (k as f64 * 0.002 - t).abs() <= 0.001 + 1e-9,
                "trace {i}: peak at {} s, exact {t} s",
                k as f64 * 0.002
            );
        }
        // A VTI medium records vnmo and eta; the RMS model records no medium.
        spec.medium = Medium::Vti(pstm_math::media::VtiMedium { vp0: 2000.0, epsilon: 0.2, delta: 0.05 });
        let v = medium_truth(&spec).unwrap();
        assert_eq!((v["type"].as_str(), v["vnmo"].as_f64()), (Some("vti"), Some(2000.0 * 1.1f64.sqrt())));
        assert!((v["eta"].as_f64().unwrap() - 0.15 / 1.1).abs() < 1e-15);
        spec.medium = Medium::Rms;
        assert!(ground_truth(&spec, &forward_model(&spec).unwrap()).get("medium").is_none());
    }

    #[test]
    fn cache_reuses_identical_specs_only() {
        let dir = tempfile::tempdir().unwrap();
        // SAFETY: tests in this crate do not read PSTM_CACHE_DIR concurrently with this one.
        unsafe { std::env::set_var("PSTM_CACHE_DIR", dir.path()) };
        let mut spec = SynthSpec::preset("tiny").unwrap();
        spec.geometry.extent_x_m = 100.0;
        spec.geometry.extent_y_m = 100.0;
        let a = cached("tiny", &spec, false).unwrap();
        let b = cached("tiny", &spec, false).unwrap();
        assert!(!a.reused && b.reused && a.path == b.path);
        spec.noise = 0.0;
        let c = cached("tiny", &spec, false).unwrap();
        assert!(!c.reused && c.path != a.path);
    }
}
