#!/usr/bin/env bash
# gpu-v3 (the roadmap's Phase 3) on the GPU machine. Run from the repository root with the
# release binaries in .devbin/ and the Vulkan loader in .gl/ (see scripts/device-bench.sh):
#   cargo build --release -p pstm-cli && cargo build --release -p pstm-engine --example adaptive_check
#   mkdir -p .devbin && cp target/release/pstm target/release/examples/adaptive_check .devbin/
#   strip .devbin/*     # what travels to the device is held to 64 MiB
#
# PHASE=1: parity against cpu-ref (tiny, small) and against gpu-v2 (medium, the persistent grid);
#          gpu-v0, gpu-v2 and gpu-v3 with the persistent grid at several sizes side by side on
#          medium.
# PHASE=2: adaptive migration against the full migration (adaptive_check) on medium at several
#          thresholds (and once with the persistent grid); gpu-v0, gpu-v2 and gpu-v3's persistent
#          grid on wide; adaptive migration on wide.
# PHASE=all (the default): both.
# Everything printed goes to $OUT/log-$PHASE.txt; benchmark records to $OUT/*.json.
# Environment: OUT (results directory), RUNS (timed runs per kernel on medium, default 3).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pstm-device-gpu-v3}
mkdir -p "$OUT"
PSTM=${PSTM:-.devbin/pstm}
CHECK=${CHECK:-.devbin/adaptive_check}
PHASE=${PHASE:-all}
RUNS=${RUNS:-3}
WORK=${WORK:-/tmp/pstm-gpu-v3}
mkdir -p "$WORK"
. scripts/device-vulkan.sh
LOG="$OUT/log-$PHASE.txt"
log() { "$@" 2>&1 | tee -a "$LOG"; }
quiet() { "$@" 2>&1 | grep -vE "^  (buffer|host|upload)" | tee -a "$LOG"; }
BENCH=(--ceiling 1.40e12 --machine h200)
{
    echo "== $(date -u +%FT%TZ) $(nproc) CPUs, phase $PHASE"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw --format=csv 2>&1
    "$PSTM" kernels
} 2>&1 | tee -a "$LOG"

# The benchmark job on a preset, written to a file with the dataset's path, for adaptive_check.
job_for() {
    local d=$1 path
    "$PSTM" synth --size "$d" > /dev/null 2>&1
    path=$(ls -d "$PSTM_CACHE_DIR"/datasets/"$d"-* | head -1)
    "$PSTM" bench --print-job --datasets "$d" | sed -e "s#dataset: .*#dataset: $path#" > "$WORK/$d.yaml"
    echo "$WORK/$d.yaml"
}

if [ "$PHASE" = 1 ] || [ "$PHASE" = all ]; then
    for d in tiny small; do
        log "$PSTM" compare --candidate gpu-v3 --dataset $d --repeat 2
    done
    log "$PSTM" compare --candidate gpu-v3:persistent=on --dataset small
    log "$PSTM" compare --baseline gpu-v2 --candidate gpu-v3:persistent=on --dataset medium --repeat 3
    quiet "$PSTM" bench --kernels gpu-v3 --datasets tiny --runs 5 --warmup 1 "${BENCH[@]}"
    specs=gpu-v0,gpu-v2,gpu-v3,gpu-v3:persistent=on
    for w in 264 528 1056 4096 8192; do
        specs="$specs,gpu-v3:persistent=on:persistent_workgroups=$w"
    done
    quiet "$PSTM" bench --kernels "$specs" --datasets medium --runs "$RUNS" --warmup 1 "${BENCH[@]}" \
        --output "$OUT/bench-medium.json"
fi
if [ "$PHASE" = 2 ] || [ "$PHASE" = all ]; then
    medium=$(job_for medium)
    log "$CHECK" "$medium" gpu-v3 0.001,0.01,0.03,0.1
    log "$CHECK" "$medium" gpu-v3:persistent=on 0.01
    wide=$(job_for wide)
    quiet "$PSTM" bench --kernels gpu-v0,gpu-v2,gpu-v3:persistent=on --datasets wide \
        --runs 1 --warmup 0 "${BENCH[@]}" --output "$OUT/bench-wide.json"
    log "$CHECK" "$wide" gpu-v3 0.01,0.03,0.1
fi
