//! Each traveltime type judged against physics: a diffractor in a constant-gradient medium
//! (exact ray kinematics) and one in a homogeneous VTI medium (exact qP group times), recorded
//! out to offsets of 2.4 times its depth. The matching traveltime must focus it within one bin and
//! one sample of the truth, and more sharply (a higher peak-to-energy ratio) than the straight
//! ray with the same velocities.

use pstm_kernel::{CpuKernel, CpuRefKernel, MigrationKernel, TileTask, TraceBlock, migrate_tile};
use pstm_math::media::{GradientMedium, Medium, VtiMedium};
use pstm_math::model::{Diffractor, ForwardModel, TraceTiming};
use pstm_math::velocity::{Eta, VelocityFunction};
use pstm_math::wavelet::Wavelet;
use pstm_math::{
    AmplitudeWeights, Aperture, Gradient, ImagingOperator, Taper, TaperKind, TimeAxis, TraceGeometry, Traveltime,
    VelocityModel, VelocityType,
};

const X0: f64 = 512_000.0;
const Y0: f64 = 6_100_000.0;

/// Traces over a diffractor 1000 m below (X0, Y0) in `medium`: midpoints every 50 m within
/// 600 m, offsets 0 to 2400 m along four azimuths.
fn survey(medium: Medium) -> (TraceBlock, f64) {
    let diffractor = Diffractor { x: X0, y: Y0, z: 1000.0, amplitude: 1.0 };
    let model = ForwardModel {
        diffractors: vec![diffractor],
        reflectors: vec![],
        linear_events: vec![],
        velocity: VelocityModel::constant(2000.0),
        wavelet: Wavelet::Ricker { freq_hz: 25.0 },
        spreading: false,
        noise: 0.0,
        seed: 3,
        medium,
    };
    model.check().unwrap();
    let timing = TraceTiming { t_start: 0.0, dt: 0.002, n: 1500 };
    let mut geometry = Vec::new();
    for i in -12..=12 {
        for j in -12..=12 {
            for (k, offset) in [0.0, 600.0, 1200.0, 1800.0, 2400.0].into_iter().enumerate() {
                let azimuth = 45.0 * ((i + j + k as i32).rem_euclid(4)) as f64;
                geometry.push(TraceGeometry::from_midpoint(
                    X0 + 50.0 * i as f64,
                    Y0 + 50.0 * j as f64,
                    offset,
                    azimuth,
                ));
            }
        }
    }
    let mut samples = vec![0.0f32; geometry.len() * timing.n];
    for (k, (g, out)) in geometry.iter().zip(samples.chunks_exact_mut(timing.n)).enumerate() {
        model.trace(g, k as u64, &timing, out);
    }
    let t0 = model.depth_to_time(diffractor.z);
    (TraceBlock { n_samples: timing.n, dt_s: timing.dt, t_start_s: 0.0, samples, geometry }, t0)
}

struct Focus {
    column_offset_m: f64,
    time_error_samples: f64,
    /// Peak squared over the image's energy.
    peak_to_energy: f64,
}

/// Migrate a cross of columns through the diffractor (every 25 m within 150 m, along x and y)
/// over 0.3 s around `t0`, and find the peak.
fn focus(
    kernel: &dyn MigrationKernel,
    velocity: &VelocityModel,
    operator: &ImagingOperator,
    block: &TraceBlock,
    t0: f64,
) -> Focus {
    let mut columns: Vec<[f64; 2]> = (-6..=6).map(|i| [X0 + 25.0 * i as f64, Y0]).collect();
    columns.extend((-6..=6).filter(|&j| j != 0).map(|j| [X0, Y0 + 25.0 * j as f64]));
    let time = TimeAxis { t0_s: ((t0 - 0.15) / 0.002).round() * 0.002, dt_s: 0.002, nt: 151 };
    let velocity = velocity.sample(&columns, &time).unwrap();
    let task = TileTask { columns: &columns, time, velocity: &velocity, operator };
    let image = migrate_tile(kernel, task, std::slice::from_ref(block)).unwrap();
    let peak = (0..image.image.len()).max_by(|&a, &b| image.image[a].abs().total_cmp(&image.image[b].abs())).unwrap();
    let (c, it) = (peak / time.nt, peak % time.nt);
    let energy: f64 = image.image.iter().map(|&x| (x as f64).powi(2)).sum();
    Focus {
        column_offset_m: (columns[c][0] - X0).hypot(columns[c][1] - Y0),
        time_error_samples: (time.time(it) - t0) / time.dt_s,
        peak_to_energy: (image.image[peak] as f64).powi(2) / energy,
    }
}

fn operator(traveltime: Traveltime, gradient: Option<Gradient>) -> ImagingOperator {
    ImagingOperator {
        traveltime,
        gradient,
        aperture: Aperture::fixed(2500.0),
        taper: Taper { kind: TaperKind::None, fraction: 0.0 },
        weights: AmplitudeWeights::NONE,
        ..ImagingOperator::plain(0.0)
    }
}

/// The matching type within a bin and a sample, sharper than the straight ray, on both CPU
/// kernels; the numbers printed.
fn judge(name: &str, velocity: &VelocityModel, matching: ImagingOperator, block: &TraceBlock, t0: f64) {
    let kernels: [&dyn MigrationKernel; 2] = [&CpuKernel::new(), &CpuRefKernel];
    for kernel in kernels {
        let straight = focus(kernel, velocity, &operator(Traveltime::StraightRay, None), block, t0);
        let matched = focus(kernel, velocity, &matching, block, t0);
        println!(
            "{name}, {}: {:?} peak {:.0} m and {:+.2} samples from the truth, peak/energy {:.4}; straight ray: {:.0} m, {:+.2} samples, {:.4} ({:.2}x sharper)",
            kernel.name(),
            matching.traveltime,
            matched.column_offset_m,
            matched.time_error_samples,
            matched.peak_to_energy,
            straight.column_offset_m,
            straight.time_error_samples,
            straight.peak_to_energy,
            matched.peak_to_energy / straight.peak_to_energy,
        );
        assert!(matched.column_offset_m <= 25.0 + 1e-6, "{name}: peak {} m away", matched.column_offset_m);
        assert!(
            matched.time_error_samples.abs() <= 1.0 + 1e-9,
            "{name}: peak {} samples off",
            matched.time_error_samples
        );
        assert!(matched.peak_to_energy > straight.peak_to_energy, "{name}: not sharper than the straight ray");
    }
}

#[test]
fn a_gradient_medium_focuses_with_the_curved_ray() {
    let medium = GradientMedium { v0: 1800.0, k: 0.9 };
    let (block, t0) = survey(Medium::Gradient(medium));
    // The job's velocity: the medium's RMS function, picked every 50 ms.
    let times: Vec<f64> = (0..=60).map(|i| i as f64 * 0.05).collect();
    let velocities: Vec<f64> = times.iter().map(|&t| medium.vrms(t)).collect();
    let velocity = VelocityModel::new(
        VelocityFunction::Table { times: times.clone(), velocities: velocities.clone() },
        VelocityType::Rms,
    )
    .unwrap();
    let fitted = Gradient::fit(&times, &velocities);
    println!("gradient fitted to the RMS picks: k = {:.5} 1/s (the medium's: {})", fitted.k, medium.k);
    assert!((fitted.k - medium.k).abs() < 1e-3, "fitted k {}", fitted.k);
    judge("gradient medium", &velocity, operator(Traveltime::CurvedRay, Some(fitted)), &block, t0);
    // A given v0 and k: the medium itself.
    let given = Gradient { k: medium.k, v0: Some(medium.v0) };
    judge("gradient medium, v0 given", &velocity, operator(Traveltime::CurvedRay, Some(given)), &block, t0);
}

#[test]
fn a_vti_medium_focuses_with_the_vti_traveltime() {
    let medium = VtiMedium { vp0: 2000.0, epsilon: 0.2, delta: 0.05 };
    let (block, t0) = survey(Medium::Vti(medium));
    // The job's velocity: the NMO velocity, and the medium's eta.
    let velocity = VelocityModel::constant(medium.vnmo()).with_eta(Eta::Constant(medium.eta())).unwrap();
    judge("VTI medium", &velocity, operator(Traveltime::Vti, None), &block, t0);
}
