#!/usr/bin/env bash
# gpu-v1 (the roadmap's Phase 1) on the GPU machine: parity against cpu-ref on tiny, small and a
# 3D-velocity survey, ten repeated runs on medium, the upload paths against memcpy, and the A/B
# benchmark of every switch beside gpu-v0. Run from the repository root with the release binary
# and the velocity_cube example in .devbin/ and the Vulkan loader in .gl/.
#
# Environment: PHASE (1: parity, uploads, small and medium; 2: wide), OUT (results directory),
# RUNS (timed runs per kernel, default 3).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pstm-device-gpu-v1}
mkdir -p "$OUT"
PSTM=${PSTM:-.devbin/pstm}
PHASE=${PHASE:-1}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/pstm-gpu-v1}
mkdir -p "$WORK"
. scripts/device-vulkan.sh
{
    echo "== $(date -u +%FT%TZ) $(nproc) CPUs"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1
    "$PSTM" kernels
} | tee "$OUT/env-$PHASE.txt"

SWITCHES=gpu-v0,gpu-v1,gpu-v1:overlap=off,gpu-v1:buffer_pool=off,gpu-v1:upload=write_buffer,gpu-v1:overlap=off:buffer_pool=off:upload=write_buffer

if [ "$PHASE" = 1 ]; then
    "$PSTM" kernels --upload-mib 256 2>&1 | tee "$OUT/upload.txt"
    for d in tiny small; do
        "$PSTM" compare --candidate gpu-v1 --dataset $d --repeat 3 2>&1 | tee "$OUT/compare-$d.txt"
    done
    # The 3D-velocity survey: small's traces under a laterally varying cube (+-8%).
    .devbin/velocity_cube "$WORK/v.zarr" 1000 2500 8
    small=$(ls -d "$PSTM_CACHE_DIR"/datasets/small-* | head -1)
    "$PSTM" bench --print-job --datasets small \
        | sed -e "s#dataset: .*#dataset: $small#" -e "s#constant: 2500#cube: $WORK/v.zarr#" > "$WORK/cube-job.yaml"
    for k in gpu-v1 gpu-v1:velocity=buffer gpu-v1:velocity=texture_f16 gpu-v1:velocity_filter=hardware \
        gpu-v1:velocity=texture_f16:velocity_filter=hardware gpu-v0; do
        echo "== $k" | tee -a "$OUT/compare-cube.txt"
        "$PSTM" compare --candidate "$k" --job "$WORK/cube-job.yaml" 2>&1 | tee -a "$OUT/compare-cube.txt"
    done
    "$PSTM" compare --baseline gpu-v0 --candidate gpu-v1 --dataset medium --repeat 10 2>&1 | tee "$OUT/compare-medium-repeat.txt"
    "$PSTM" bench --kernels "$SWITCHES" --datasets small,medium --runs "$RUNS" --warmup 1 \
        --ceiling 1.40e12 --machine h200 --output "$OUT/bench-small-medium.json" 2>&1 | tee "$OUT/bench-small-medium.txt"
else
    "$PSTM" bench --kernels gpu-v1,gpu-v1:buffer_pool=off --datasets medium --runs "$RUNS" --warmup 1 \
        --ceiling 1.40e12 --machine h200 --output "$OUT/bench-medium-pool.json" 2>&1 | tee "$OUT/bench-medium-pool.txt"
    "$PSTM" bench --kernels gpu-v0,gpu-v1,gpu-v1:overlap=off,gpu-v1:buffer_pool=off \
        --datasets wide --runs 1 --warmup 0 --ceiling 1.40e12 --machine h200 \
        --output "$OUT/bench-wide.json" 2>&1 | tee "$OUT/bench-wide.txt"
fi
