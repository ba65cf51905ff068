//! Commented job templates written by `pstm create-config`.

/// Every key, with its default and what it means.
pub const FULL: &str = r#"# pstm migration job. Paths are relative to this file.
# Check it with `pstm validate job.yaml --check-data`, preview with `pstm migrate job.yaml --dry-run`.

input:
  # Dataset directory holding traces.zarr and headers.parquet (`pstm synth` or `pstm import segy`).
  dataset: survey
  # Keep only traces with offsets in [min, max] metres (omit for all).
  # offset_range_m: [0, 3000]
  # A trace with a NaN or infinite sample: error (stop, naming it) | zero_trace (leave it out).
  bad_samples: error
  # Traces to leave out: a CSV with a trace_idx column, or ffid and channel columns.
  # kill: kill.csv
  # Only these traces (the same CSV form).
  # traces: keep.csv
  # Source-to-receiver azimuth sectors [from, to) in degrees clockwise from north (may wrap).
  # azimuth_sectors_deg: [[330, 30], [150, 210]]
  # An offset-vector tile: receiver minus source, x east and y north, [min, max) in metres.
  # offset_vector_window_m: {x: [-500, 500], y: [0, 250]}
  # Mutes by [offset_m, time_ms] picks (zeroed before top, after bottom), cosine taper inward.
  # mute: {top: [[0, 100], [2000, 900]], bottom: [[0, 4000]], taper_ms: 20}
  # A datum static from the SOU_ELEV and REC_ELEV header columns.
  # datum: {elevation_m: 100, replacement_velocity: 1800}

velocity:
  # `rms` (stacking velocities) or `interval` (converted to RMS by Dix's equation).
  type: rms
  # Exactly one of:
  constant: 2500            # m/s everywhere
  # linear: {v0: 1800, k: 600}          # v(t) = v0 + k t, t in seconds of two-way time
  # table: [[0, 1500], [1000, 2200], [3000, 3100]]   # [two-way time ms, velocity m/s] picks
  # cube: velocity.zarr                  # zarr (x, y, t) with x_min, dx, y_min, dy, t_min_ms, dt_ms
  # With traveltime: vti, the anellipticity (one of constant, table of [t_ms, eta], cube):
  # eta: {constant: 0.1}

algorithm:
  traveltime: straight_ray  # straight_ray (DSR, RMS velocity) | curved_ray (V(z) = v0 + k z) | vti (velocity.eta)
  # The curved ray's gradient (1/s) and optionally v0 (m/s); absent: k fitted to the velocity.
  # curved_ray: {k: 0.6, v0: 1800}
  interpolation: linear     # linear | cubic (Keys, 4 samples) | sinc8 (Lanczos-windowed sinc, 8 samples)
  # Operator antialiasing: none | triangle (Lumley-Claerbout-Bevc filters from the operator's dip
  # and the output spacing; needs interpolation: linear) | weight (a scalar down-weight only).
  antialiasing:
    method: none
  aperture:
    mode: fixed             # fixed: max_m everywhere; dip: clip(v t0/2 tan(max_dip_deg), min_m, max_m)
    max_m: 2000
    min_m: 200
    max_dip_deg: 60
  taper:
    kind: cosine            # none | cosine | linear | gaussian, over the outer fraction of the aperture
    fraction: 0.1
  weights:
    spreading: true         # 1/(v t)
    obliquity: true         # t0/t
  # none | derivative | half_derivative. The 3D Kirchhoff integral wants `derivative` for a
  # zero-phase image; `none` matches the reference package. Absent: none in 3D, half_derivative in 2D.
  # prefilter: derivative
  # 3d, or 2d: one line; the grid is fitted along it, spreading is a line's 1/sqrt(v t).
  mode: 3d
  # Drop contributions stretched past t > max_stretch t0 (or steeper than max_angle_deg).
  # stretch_mute: {max_stretch: 1.6}
  # Adaptive migration (off unless present): a coarse pass on a grid 4x sparser in x and y, then
  # only the output cells near coarse amplitudes above the threshold (the rest are zero).
  # adaptive:
  #   threshold: 0.01       # fraction of the coarse image's peak |amplitude|
  #   dilation: 2           # coarse columns (4 output columns each) the mask grows by
  #   window: 32            # output times per mask cell
  # Adaptive time sampling (off unless present): migrate every factor-th output time and
  # interpolate the others; without factor, the coarsest the image's band allows (a pilot
  # migration measures it).
  # adaptive_time:
  #   factor: 2             # fixed; omit to choose from the image's band
  #   max_factor: 4
  #   level_db: -40         # the band ends where the image's spectrum stays this far below its peak

output:
  directory: migrated       # receives migrated_stack.zarr, fold.zarr (+ normalized, gathers)
  overwrite: false
  grid:
    # Omitted values come from the data: origin and counts from the midpoints, times from the traces.
    # origin_x: 0
    # origin_y: 0
    dx: 25
    dy: 25
    # nx: 80
    # ny: 80
    rotation_deg: 0         # grid x axis, counterclockwise from east
    # t_min_ms: 0
    # t_max_ms: 3000
    # dt_ms: 2
  normalized_stack: false   # also write migrated_stack_normalized.zarr (stack / fold)
  # multiscale:             # also migrated_stack_multiscale.zarr: the stack at several resolutions
  #   levels: 3             # levels 0 (the stack), 1 and 2: means of 2x2x2 and 4x4x4 blocks
  # offset_gathers:
  #   bin_width_m: 200      # or bins: [[0, 400], [400, 800]]

execution:
  kernel: auto              # auto | cpu-ref | cpu | gpu-v0 | gpu-v1 | gpu-v2 | gpu-v3 (`pstm kernels` lists them)
  max_memory_gb: 4          # budget for output tiles and trace blocks
  threads: 0                # CPU worker threads, 0 = all cores
  # tile: [32, 32]          # output columns per tile (default: from the memory budget)
  # trace_block: 4096       # traces per block (default: from the memory budget)
  devices: all              # GPUs to migrate on: all | a count (2) | adapter indices ([0, 1], see `pstm kernels`)
  gpu:
    # adapter: "H100"       # part of the adapter name (narrows devices too); also env PSTM_GPU_ADAPTER
    runtime_checks: false
    buffer_pool: true       # gpu-v1+: reuse buffer sets across tiles
    overlap: true           # gpu-v1+: fill the next block while the GPU migrates this one
    upload: auto            # gpu-v1+: auto | staging | write_buffer | mapped (unified memory)
    velocity: auto          # gpu-v1+: a cube as auto | texture | texture_f16 | buffer
    velocity_filter: auto   # gpu-v1+: auto (= manual) | manual | hardware (8-bit weights)
    # block_mib: 64         # gpu-v1+: MiB of trace samples per block
    subgroups: true         # gpu-v2: subgroup ballots where the device has them (same image)
    trace_pairs: true       # gpu-v2: (sample, difference) pairs, one load per contribution
    # workgroup_size: 256   # gpu-v2: 64 | 128 | 256 | 512 (default: tuned per adapter)
    # samples_per_invocation: 4  # gpu-v2: 1 | 2 | 4 | 8 output times per invocation
    persistent: false       # gpu-v3: a fixed grid claims work items from a queue on the device
    # persistent_workgroups: 4096  # gpu-v3: size of that grid (default: tuned per adapter)
    traveltime_table: false # gpu-v3: legs' times from a table (V(t) only), not computed
  progress: true
  fallback: none            # none | cpu: when the GPU fails mid-run, migrate the remaining tiles on the CPU
"#;

/// The keys without defaults.
pub const MINIMAL: &str = r#"# pstm migration job (minimal). `pstm create-config` writes every key with comments.
input:
  dataset: survey
velocity:
  constant: 2500
output:
  directory: migrated
  grid: {dx: 25, dy: 25}
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobConfig, from_yaml_str};

    #[test]
    fn templates_parse_and_agree_with_defaults() {
        let full: JobConfig = from_yaml_str(FULL).unwrap();
        let minimal: JobConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(full.algorithm, minimal.algorithm);
        assert_eq!(full.execution, minimal.execution);
        assert_eq!(full.output.grid, minimal.output.grid);
    }
}
