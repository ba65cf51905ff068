//! `cpu-ref`: the float64 reference kernel, the oracle every other kernel is checked against.
//!
//! Written to be read next to the formula in [`pstm_math`], not to be fast: every quantity is
//! computed where the formula names it, in float64, through the same functions the math crate
//! tests. Columns are independent, so they run in parallel; each output sample adds its traces in
//! trace order into a float64 accumulator that lives across blocks, so the result does not
//! depend on block size, tile size or thread count, bit for bit.

use pstm_math::interp::sample_position;
use rayon::prelude::*;

use crate::{KernelError, MigrationKernel, TileImage, TileMigration, TileTask, TraceBlock};

#[derive(Debug, Default, Clone, Copy)]
pub struct CpuRefKernel;

struct CpuRefTile<'a> {
    task: TileTask<'a>,
    acc: Vec<f64>,
    fold: Vec<u32>,
}

impl MigrationKernel for CpuRefKernel {
    fn name(&self) -> &'static str {
        "cpu-ref"
    }

    fn device(&self) -> String {
        crate::cpu_description()
    }

    fn begin_tile<'a>(&'a self, task: TileTask<'a>) -> Result<Box<dyn TileMigration + 'a>, KernelError> {
        // No wildcard: a new traveltime, interpolation or antialiasing does not compile until
        // handled here.
        match (task.operator.traveltime, task.operator.interpolation, task.operator.antialiasing.method) {
            (
                pstm_math::Traveltime::StraightRay | pstm_math::Traveltime::CurvedRay | pstm_math::Traveltime::Vti,
                pstm_math::Interpolation::Linear | pstm_math::Interpolation::Cubic | pstm_math::Interpolation::Sinc8,
                pstm_math::AntialiasMethod::None
                | pstm_math::AntialiasMethod::Triangle
                | pstm_math::AntialiasMethod::Weight,
            ) => {}
        }
        task.check_medium(self.name())?;
        let n = task.n_output_samples();
        Ok(Box::new(CpuRefTile { task, acc: vec![0.0; n], fold: vec![0; n] }))
    }

    fn concurrent_tiles(&self) -> usize {
        rayon::current_num_threads()
    }

    fn bytes_per_output_sample(&self) -> usize {
        8
    }

    fn cost_model(&self) -> crate::CostModel {
        // Float64, one output sample at a time: about 10 ns a contribution on one core.
        crate::CostModel::cpu(10e-9, 3e-9)
    }
}

impl TileMigration for CpuRefTile<'_> {
    fn add_traces(&mut self, block: &TraceBlock) -> Result<(), KernelError> {
        let task = self.task;
        let nt = task.time.nt;
        if nt == 0 {
            return Ok(());
        }
        let params = task.operator;
        let inv_dt = 1.0 / block.dt_s;
        self.acc.par_chunks_mut(nt).zip(self.fold.par_chunks_mut(nt)).enumerate().for_each(|(c, (acc, fold))| {
            let [x, y] = task.columns[c];
            let vrms = task.velocity.column(c);
            let eta = task.velocity.eta_column(c);
            for (i, g) in block.geometry.iter().enumerate() {
                let dm = g.midpoint_distance_sq(x, y).sqrt();
                if dm > params.aperture.max_m {
                    continue;
                }
                let (ds2, dr2) = g.leg_distances_sq(x, y);
                let trace = block.trace(i);
                for it in 0..nt {
                    let t0 = task.time.time(it);
                    let v = vrms[it] as f64;
                    let a = params.aperture.radius(t0, v);
                    if dm > a {
                        continue;
                    }
                    let law = params.leg_law(t0, v, eta.map_or(0.0, |e| e[it] as f64));
                    let t = law.two_way(ds2, dr2);
                    if params.stretched(t0, t) {
                        continue;
                    }
                    let Some(u) = sample_position(t, block.t_start_s, inv_dt, block.n_samples) else {
                        continue;
                    };
                    let shift = params.shift(&law, g, x, y, block.dt_s);
                    let Some(sample) = params.read(trace, u, shift, block.dt_s) else {
                        continue;
                    };
                    let w = params.taper.weight(dm, a) * params.weights.weight(t0, t, v, block.dt_s);
                    acc[it] += w * sample;
                    fold[it] += 1;
                }
            }
        });
        Ok(())
    }

    fn finish(self: Box<Self>, out: &mut TileImage) -> Result<(), KernelError> {
        for (o, &a) in out.image.iter_mut().zip(&self.acc) {
            *o = a as f32;
        }
        out.fold.copy_from_slice(&self.fold);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::migrate_tile;
    use pstm_math::{AmplitudeWeights, ImagingOperator, Taper, TaperKind, TimeAxis, TraceGeometry, VelocityModel};

    #[test]
    fn one_trace_one_sample_by_hand() {
        // A zero-offset trace 300 m east of the output column; v = 2000 m/s; t0 = 0.4 s.
        // t = 2 sqrt(0.2^2 + 300^2/2000^2) = 2 sqrt(0.04 + 0.0225) = 0.5 s -> sample 125 at 4 ms.
        let g = TraceGeometry::from_midpoint(300.0, 0.0, 0.0, 0.0);
        let mut samples = vec![0.0f32; 200];
        samples[125] = 2.0;
        samples[126] = 4.0;
        let block = TraceBlock { n_samples: 200, dt_s: 0.004, t_start_s: 0.0, samples, geometry: vec![g] };
        let time = TimeAxis { t0_s: 0.4, dt_s: 0.004, nt: 1 };
        let vel = VelocityModel::constant(2000.0).sample(&[[0.0, 0.0]], &time).unwrap();
        let params = ImagingOperator {
            aperture: pstm_math::Aperture::fixed(1000.0),
            taper: Taper { kind: TaperKind::Cosine, fraction: 0.8 },
            weights: AmplitudeWeights::new(true, true),
            ..ImagingOperator::plain(0.0)
        };
        let task = TileTask { columns: &[[0.0, 0.0]], time, velocity: &vel, operator: &params };
        let out = migrate_tile(&CpuRefKernel, task, &[block]).unwrap();
        // taper: ts = 200 m, x = (300 - 200)/800 = 0.125 -> 0.5 (1 + cos(pi/8))
        let taper = 0.5 * (1.0 + (std::f64::consts::PI / 8.0).cos());
        let expect = taper * (1.0 / (2000.0 * 0.5)) * (0.4 / 0.5) * 2.0;
        assert!((out.image[0] as f64 - expect).abs() < 1e-6 * expect, "{} vs {expect}", out.image[0]);
        assert_eq!(out.fold, vec![1]);
    }

    #[test]
    fn the_stretch_mute_and_a_lines_spreading_by_hand() {
        // The case above: t0 = 0.4 s, t = 0.5 s, a stretch of 1.25.
        let g = TraceGeometry::from_midpoint(300.0, 0.0, 0.0, 0.0);
        let mut samples = vec![0.0f32; 200];
        samples[125] = 2.0;
        let block = TraceBlock { n_samples: 200, dt_s: 0.004, t_start_s: 0.0, samples, geometry: vec![g] };
        let time = TimeAxis { t0_s: 0.4, dt_s: 0.004, nt: 1 };
        let vel = VelocityModel::constant(2000.0).sample(&[[0.0, 0.0]], &time).unwrap();
        let run = |stretch_mute: Option<f64>, line: bool| {
            let params = ImagingOperator {
                weights: AmplitudeWeights { line, ..AmplitudeWeights::new(true, false) },
                stretch_mute,
                ..ImagingOperator::plain(1000.0)
            };
            let task = TileTask { columns: &[[0.0, 0.0]], time, velocity: &vel, operator: &params };
            migrate_tile(&CpuRefKernel, task, std::slice::from_ref(&block)).unwrap()
        };
        assert_eq!(run(Some(1.2), false).fold, vec![0], "stretched past 1.2: dropped");
        let kept = run(Some(1.3), false);
        assert_eq!(kept.fold, vec![1]);
        assert!((kept.image[0] as f64 - 2.0 / (2000.0 * 0.5)).abs() < 1e-9);
        let line = run(None, true);
        assert!((line.image[0] as f64 - 2.0 / (2000.0f64 * 0.5).sqrt()).abs() < 1e-6, "{}", line.image[0]);
    }

    #[test]
    fn traces_outside_aperture_or_trace_contribute_nothing() {
        let g_far = TraceGeometry::from_midpoint(1500.0, 0.0, 0.0, 0.0);
        let g_near = TraceGeometry::from_midpoint(10.0, 0.0, 0.0, 0.0);
        let block = TraceBlock {
            n_samples: 10,
            dt_s: 0.004,
            t_start_s: 0.0,
            samples: vec![1.0; 20],
            geometry: vec![g_far, g_near],
        };
        let time = TimeAxis { t0_s: 0.0, dt_s: 0.004, nt: 12 };
        let vel = VelocityModel::constant(2000.0).sample(&[[0.0, 0.0]], &time).unwrap();
        let params = ImagingOperator::plain(1000.0);
        let task = TileTask { columns: &[[0.0, 0.0]], time, velocity: &vel, operator: &params };
        let out = migrate_tile(&CpuRefKernel, task, &[block]).unwrap();
        // The near trace reaches past its last sample (36 ms) at t0 >= 36 ms: samples 9.. are empty.
        assert_eq!(&out.fold[..9], &[1; 9]);
        assert_eq!(&out.fold[9..], &[0; 3]);
        assert_eq!(&out.image[9..], &[0.0; 3]);
    }
}
