//! Write a laterally varying RMS velocity cube (zarr) over a square survey, for comparing kernels
//! on a 3D velocity model (`pstm compare --job`, where `velocity.cube` points at it):
//!
//! ```text
//! cargo run --release --example velocity_cube -- OUT.zarr EXTENT_M [V0 [PERCENT]]
//! ```
//!
//! `v(x, y, t) = V0 (1 + PERCENT/100 sin(2 pi x / EXTENT) cos(3 pi y / EXTENT)) + 400 t`, on
//! nodes every EXTENT/8 metres from -EXTENT/8 to 9 EXTENT/8 and every 100 ms to 8 s, so it covers
//! any output grid over the survey. Defaults: V0 = 2500 m/s, PERCENT = 8.

use std::f64::consts::PI;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: velocity_cube OUT.zarr EXTENT_M [V0 [PERCENT]]";
    let out = PathBuf::from(args.first().ok_or(usage)?);
    let extent: f64 = args.get(1).ok_or(usage)?.parse()?;
    let v0: f64 = args.get(2).map_or(Ok(2500.0), |s| s.parse())?;
    let percent: f64 = args.get(3).map_or(Ok(8.0), |s| s.parse())?;
    let (nx, ny, nt) = (11, 11, 81);
    let d = extent / 8.0;
    let mut data = Vec::with_capacity(nx * ny * nt);
    for ix in 0..nx {
        let x = -d + ix as f64 * d;
        for iy in 0..ny {
            let y = -d + iy as f64 * d;
            let lateral = 1.0 + percent / 100.0 * (2.0 * PI * x / extent).sin() * (3.0 * PI * y / extent).cos();
            for it in 0..nt {
                data.push((v0 * lateral + 400.0 * it as f64 * 0.1) as f32);
            }
        }
    }
    let cube = pstm_math::velocity::VelocityCube { x0: -d, dx: d, nx, y0: -d, dy: d, ny, t0: 0.0, dt: 0.1, nt, data };
    pstm_io::velocity_cube::write(&out, &cube)?;
    println!("{}: {nx} x {ny} x {nt} velocities, {v0} m/s +- {percent}% laterally", out.display());
    Ok(())
}
