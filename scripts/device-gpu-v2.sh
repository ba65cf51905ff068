#!/usr/bin/env bash
# gpu-v2 (the roadmap's Phase 2) on the GPU machine. Run from the repository root with the
# release binary and the velocity_cube example in .devbin/ and the Vulkan loader in .gl/ (see
# scripts/device-bench.sh for how they are built and carried):
#   cargo build --release -p pstm-cli && cargo build --release -p pstm-engine --example velocity_cube
#   mkdir -p .devbin && cp target/release/pstm target/release/examples/velocity_cube .devbin/
#
# PHASE=1: parity against cpu-ref (tiny, small, a 3D-velocity survey, each path), repeatability
#          on medium, the sweep of workgroup sizes and samples per invocation on medium, the A/B of
#          the switches beside gpu-v0 and gpu-v1, and the ablations (PSTM_GPU_V2_ABLATE: each stage
#          left out, timed by difference).
# PHASE=2: gpu-v0, gpu-v1 and gpu-v2 side by side on medium, large and wide, end to end and
#          kernel-only (with the sweep's fastest shape beside the default when phase 1 ran), and
#          ten repeats on medium.
# PHASE=all (the default): both.
# Everything printed goes to $OUT/log-$PHASE.txt; benchmark records to $OUT/*.json (redraw a
# report with `pstm bench --from FILE.json --report FILE.html`).
# Environment: OUT (results directory), RUNS (timed runs per kernel on medium, default 3).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pstm-device-gpu-v2}
mkdir -p "$OUT"
PSTM=${PSTM:-.devbin/pstm}
PHASE=${PHASE:-all}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/pstm-gpu-v2}
mkdir -p "$WORK"
. scripts/device-vulkan.sh
LOG="$OUT/log-$PHASE.txt"
log() { "$@" 2>&1 | tee -a "$LOG"; }
BENCH=(--ceiling 1.40e12 --machine h200)
{
    echo "== $(date -u +%FT%TZ) $(nproc) CPUs, phase $PHASE"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv 2>&1
    "$PSTM" kernels
} 2>&1 | tee -a "$LOG"

if [ "$PHASE" = 1 ] || [ "$PHASE" = all ]; then
    for d in tiny small; do
        log "$PSTM" compare --candidate gpu-v2 --dataset $d --repeat 3
    done
    log "$PSTM" compare --candidate gpu-v2:subgroups=off:trace_pairs=off --dataset small --repeat 2
    # The 3D-velocity survey: small's traces under a laterally varying cube (+-8%).
    .devbin/velocity_cube "$WORK/v.zarr" 1000 2500 8
    small=$(ls -d "$PSTM_CACHE_DIR"/datasets/small-* | head -1)
    "$PSTM" bench --print-job --datasets small \
        | sed -e "s#dataset: .*#dataset: $small#" -e "s#constant: 2500#cube: $WORK/v.zarr#" > "$WORK/cube-job.yaml"
    for k in gpu-v2 gpu-v2:velocity=buffer; do
        log "$PSTM" compare --candidate "$k" --job "$WORK/cube-job.yaml"
    done
    log "$PSTM" compare --baseline gpu-v0 --candidate gpu-v2 --dataset medium --repeat 5
    # The sweep: every workgroup size and samples per invocation, side by side.
    specs=""
    for w in 64 128 256 512; do
        for s in 1 2 4 8; do
            specs="$specs,gpu-v2:workgroup_size=$w:samples_per_invocation=$s"
        done
    done
    log "$PSTM" bench --kernels "${specs#,}" --datasets medium --runs "$RUNS" --warmup 1 "${BENCH[@]}" \
        --output "$OUT/sweep-medium.json"
    log "$PSTM" bench --kernels gpu-v0,gpu-v1,gpu-v2,gpu-v2:subgroups=off,gpu-v2:trace_pairs=off,gpu-v2:subgroups=off:trace_pairs=off \
        --datasets medium --runs "$RUNS" --warmup 1 "${BENCH[@]}" --output "$OUT/switches-medium.json"
    # Ablations: each stage left out (the images are wrong, so the parity check fails: timing only).
    for a in roots reciprocal loads roots,reciprocal roots,reciprocal,loads; do
        echo "== PSTM_GPU_V2_ABLATE=$a" | tee -a "$LOG"
        PSTM_GPU_V2_ABLATE=$a log "$PSTM" bench --kernels gpu-v2 --datasets medium --runs "$RUNS" --warmup 1 "${BENCH[@]}"
    done
fi
if [ "$PHASE" = 2 ] || [ "$PHASE" = all ]; then
    kernels=gpu-v0,gpu-v1,gpu-v2
    if [ -f "$OUT/sweep-medium.json" ]; then
        # The sweep's fastest shape by kernel time, beside the default.
        best=$(python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))["results"]
print(max(r, key=lambda x: x["contributions"] / x["kernel_time_s"]["median"])["version"])' "$OUT/sweep-medium.json")
        echo "== fastest shape of the sweep: $best" | tee -a "$LOG"
        kernels="$kernels,$best"
    fi
    log "$PSTM" bench --kernels "$kernels" --datasets medium --runs "$RUNS" --warmup 1 "${BENCH[@]}" \
        --output "$OUT/bench-medium.json"
    log "$PSTM" compare --baseline gpu-v0 --candidate gpu-v2 --dataset medium --repeat 10
    for d in large wide; do
        log "$PSTM" bench --kernels "$kernels" --datasets $d --runs 1 --warmup 0 "${BENCH[@]}" \
            --output "$OUT/bench-$d.json"
    done
fi
