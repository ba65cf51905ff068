// The RMS velocity of an output sample, from wherever the job's model lives on the device
// (`VELOCITY_*` in shared/velocity.wgsl). Shared by the kernels that take the velocity model
// whole (gpu-v1 and later); it reads the including kernel's bindings by name:
//   tile.velocity_source, tile.nt, tile.cube_nx, tile.cube_ny, tile.cube_nt;
//   columns[c].cell, columns[c].fraction; times[it].cell, times[it].fraction;
//   velocity (storage f32), velocity_texture (texture_3d<f32>), velocity_sampler.
// CPU twin: `velocity_at` in src/cpu/velocity.rs.

fn cube_value(ix: u32, iy: u32, it: u32) -> f32 {
    return velocity[(ix * tile.cube_ny + iy) * tile.cube_nt + it];
}

fn texel(ix: u32, iy: u32, it: u32) -> f32 {
    return textureLoad(velocity_texture, vec3<u32>(it, iy, ix), 0).x;
}

// RMS velocity at column c, output time it (the branch is uniform across the dispatch).
fn velocity_at(c: u32, it: u32) -> f32 {
    switch tile.velocity_source {
        case VELOCITY_TIME: {
            return velocity[it];
        }
        case VELOCITY_COLUMNS: {
            return velocity[c * tile.nt + it];
        }
        default: {}
    }
    let column = columns[c];
    let time = times[it];
    let ix = column.cell.x;
    let iy = column.cell.y;
    let kt = time.cell;
    let jx = min(ix + 1u, tile.cube_nx - 1u);
    let jy = min(iy + 1u, tile.cube_ny - 1u);
    let jt = min(kt + 1u, tile.cube_nt - 1u);
    if tile.velocity_source == VELOCITY_CUBE_SAMPLED {
        // Texel centres lie at (i + 1/2) / n in normalised coordinates.
        let u = (vec3<f32>(f32(kt), f32(iy), f32(ix)) + vec3<f32>(time.fraction, column.fraction.y, column.fraction.x)
            + 0.5) / vec3<f32>(f32(tile.cube_nt), f32(tile.cube_ny), f32(tile.cube_nx));
        return textureSampleLevel(velocity_texture, velocity_sampler, u, 0.0).x;
    }
    var v: array<f32, 8>;
    if tile.velocity_source == VELOCITY_CUBE_TEXTURE {
        v = array<f32, 8>(texel(ix, iy, kt), texel(ix, iy, jt), texel(ix, jy, kt), texel(ix, jy, jt),
                          texel(jx, iy, kt), texel(jx, iy, jt), texel(jx, jy, kt), texel(jx, jy, jt));
    } else {
        v = array<f32, 8>(cube_value(ix, iy, kt), cube_value(ix, iy, jt), cube_value(ix, jy, kt),
                          cube_value(ix, jy, jt), cube_value(jx, iy, kt), cube_value(jx, iy, jt),
                          cube_value(jx, jy, kt), cube_value(jx, jy, jt));
    }
    return trilinear(v, column.fraction.x, column.fraction.y, time.fraction);
}
