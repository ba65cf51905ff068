//! A point diffractor modelled with the forward model must focus where it is, through `cpu` on
//! every instruction set this machine runs: the kinematics of the kernel, end to end.

use pstm_kernel::cpu::{CpuIsa, CpuKernel};
use pstm_kernel::{TileTask, TraceBlock, migrate_tile};
use pstm_math::model::{Diffractor, ForwardModel, TraceTiming};
use pstm_math::wavelet::Wavelet;
use pstm_math::{
    AmplitudeWeights, Aperture, ImagingOperator, Taper, TaperKind, TimeAxis, TraceGeometry, VelocityModel,
};

#[test]
fn a_diffractor_focuses_at_its_position_and_time() {
    // The roadmap's `tiny` survey, moved to UTM-sized coordinates: 20 x 20 midpoints at 25 m,
    // offsets 200 and 400 m at azimuths 0 and 90, a diffractor 800 m below the centre.
    let (x0, y0, v) = (431_000.0, 5_210_000.0, 2500.0);
    let diffractor = Diffractor { x: x0 + 250.0, y: y0 + 250.0, z: 800.0, amplitude: 1.0 };
    let model = ForwardModel {
        diffractors: vec![diffractor],
        reflectors: vec![],
        linear_events: vec![],
        velocity: VelocityModel::constant(v),
        wavelet: Wavelet::Ricker { freq_hz: 25.0 },
        spreading: true,
        noise: 0.0,
        seed: 7,
        medium: Default::default(),
    };
    let timing = TraceTiming { t_start: 0.0, dt: 0.002, n: 501 };
    let mut geometry = Vec::new();
    for i in 0..20 {
        for j in 0..20 {
            for (offset, azimuth) in [(200.0, 0.0), (400.0, 90.0)] {
                let (mx, my) = (x0 + 25.0 * i as f64, y0 + 25.0 * j as f64);
                geometry.push(TraceGeometry::from_midpoint(mx, my, offset, azimuth));
            }
        }
    }
    let mut samples = vec![0.0f32; geometry.len() * timing.n];
    for (k, (g, out)) in geometry.iter().zip(samples.chunks_exact_mut(timing.n)).enumerate() {
        model.trace(g, k as u64, &timing, out);
    }
    let block = TraceBlock { n_samples: timing.n, dt_s: timing.dt, t_start_s: 0.0, samples, geometry };

    // Columns every 25 m within 50 m of the diffractor, around its time 2z/v = 0.64 s.
    let columns: Vec<[f64; 2]> = (-2..=2)
        .flat_map(|i| (-2..=2).map(move |j| [diffractor.x + 25.0 * i as f64, diffractor.y + 25.0 * j as f64]))
        .collect();
    let time = TimeAxis { t0_s: 0.5, dt_s: 0.002, nt: 141 };
    let velocity = VelocityModel::constant(v).sample(&columns, &time).unwrap();
    let params = ImagingOperator {
        aperture: Aperture::fixed(600.0),
        taper: Taper { kind: TaperKind::Cosine, fraction: 0.2 },
        weights: AmplitudeWeights::new(true, true),
        ..ImagingOperator::plain(0.0)
    };
    let task = TileTask { columns: &columns, time, velocity: &velocity, operator: &params };
    let expect_t0 = 2.0 * diffractor.z / v;

    for isa in CpuIsa::available() {
        let image = migrate_tile(&CpuKernel::with_isa(isa).unwrap(), task, std::slice::from_ref(&block)).unwrap();
        let peak =
            (0..image.image.len()).max_by(|&a, &b| image.image[a].abs().total_cmp(&image.image[b].abs())).unwrap();
        let (c, it) = (peak / time.nt, peak % time.nt);
        assert_eq!(columns[c], [diffractor.x, diffractor.y], "{isa:?}: peak at the wrong column");
        assert!(
            (time.time(it) - expect_t0).abs() <= time.dt_s,
            "{isa:?}: peak at {} s, not {expect_t0} s",
            time.time(it)
        );
    }
}
