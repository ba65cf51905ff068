// Trilinear interpolation of a velocity cube in float32: `pstm_math::VelocityCube::sample`, with
// the cell and the fractions computed on the host in float64 (the cell index exactly, each
// fraction rounded once), so the device adds no rounding of large coordinates.
// CPU twin: src/cpu/velocity.rs.

// Where the velocity of an output sample comes from (`TileParamsV1.velocity_source`).
// V(t) at the output times, one value per time (a laterally invariant model).
const VELOCITY_TIME: u32 = 0u;
// One value per output sample, column after column (the per-tile protocol's velocities).
const VELOCITY_COLUMNS: u32 = 1u;
// The cube in a storage buffer, interpolated here.
const VELOCITY_CUBE_BUFFER: u32 = 2u;
// The cube in a 3D texture read texel by texel (textureLoad), interpolated here.
const VELOCITY_CUBE_TEXTURE: u32 = 3u;
// The cube in a 3D texture interpolated by the sampler (hardware trilinear filtering).
const VELOCITY_CUBE_SAMPLED: u32 = 4u;

fn lerp(a: f32, b: f32, f: f32) -> f32 {
    return a + f * (b - a);
}

// The eight corners of a cell as v[x][y][t] (x, y, t each 0 or 1) and the fractions along x,
// y and t, in the order pstm_math interpolates: time first, then y, then x.
fn trilinear(v: array<f32, 8>, fx: f32, fy: f32, ft: f32) -> f32 {
    let c00 = lerp(v[0], v[1], ft);
    let c01 = lerp(v[2], v[3], ft);
    let c10 = lerp(v[4], v[5], ft);
    let c11 = lerp(v[6], v[7], ft);
    return lerp(lerp(c00, c01, fy), lerp(c10, c11, fy), fx);
}
