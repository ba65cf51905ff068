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
# PHASE=3: adaptive time sampling (algorithm.adaptive_time) against the full migration
#          (adaptive_check) on medium and wide at several factors, alone and with a mask.
# PHASE=4: the same on medium and wide without their white noise (whose band the data's
#          spectrum then shows).
# PHASE=5: `pstm migrate` on wide without noise, full and with time factor 4, a mask, or both,
#          with each run's summary (where the wall time goes).
# PHASE=6: adaptive_check on wide without noise: masks with a configured time factor (the
#          coarse pass then migrates the coarse time axis too).
# PHASE=7: repeats of the fastest run at correlation >= 0.99 (mask 0.01, time factor 4) through
#          `pstm migrate` on wide without noise; the same settings on the wide preset itself.
# PHASE=all (the default): 1 and 2.
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
# A preset without its white noise (which reaches the Nyquist frequency, so the data's band
# allows no coarser axis): the same survey, the same job.
quiet_job_for() {
    local d=$1
    "$PSTM" synth --size "$d" --print-spec | sed -e "s/^noise: .*/noise: 0.0/" > "$WORK/$d-quiet.spec.yaml"
    "$PSTM" synth --spec "$WORK/$d-quiet.spec.yaml" --out "$WORK/$d-quiet" --overwrite > /dev/null 2>&1
    "$PSTM" bench --print-job --datasets "$d" | sed -e "s#dataset: .*#dataset: $WORK/$d-quiet#" > "$WORK/$d-quiet.yaml"
    echo "$WORK/$d-quiet.yaml"
}

if [ "$PHASE" = 3 ]; then
    medium=$(job_for medium)
    log "$CHECK" "$medium" gpu-v3 time=auto,time=2,time=3,time=4,0.03+time=2
    wide=$(job_for wide)
    log "$CHECK" "$wide" gpu-v3 time=2,time=3,time=4,0.003+time=3,0.01+time=3,0.03+time=3
fi
if [ "$PHASE" = 4 ]; then
    log "$CHECK" "$(quiet_job_for medium)" gpu-v3 time=auto,time=3,time=4,0.01+time=auto,0.03+time=auto
    log "$CHECK" "$(quiet_job_for wide)" gpu-v3 time=auto,time=3,time=4,0.01+time=auto,0.01+time=4,0.03+time=4
fi
if [ "$PHASE" = 5 ]; then
    base=$(quiet_job_for wide)
    n=0
    for extra in "" "adaptive_time: {factor: 4}" "adaptive: {threshold: 0.01}" \
        "adaptive: {threshold: 0.01}|adaptive_time: {factor: 4}" "adaptive_time: {}"; do
        n=$((n + 1))
        sed -e "s#directory: unused#directory: $WORK/out\n  overwrite: true#" \
            -e "s#^  prefilter: none#  prefilter: none\n  ${extra//|/\\n  }#" "$base" > "$WORK/run$n.yaml"
        echo "== pstm migrate: ${extra:-full}" | tee -a "$LOG"
        log "$PSTM" migrate "$WORK/run$n.yaml" --kernel gpu-v3
    done
fi
if [ "$PHASE" = 6 ]; then
    log "$CHECK" "$(quiet_job_for wide)" gpu-v3 0.01+time=4,0.01+time=3,0.003+time=4,0.01
fi
if [ "$PHASE" = 7 ]; then
    base=$(quiet_job_for wide)
    sed -e "s#directory: unused#directory: $WORK/out\n  overwrite: true#" \
        -e "s#^  prefilter: none#  prefilter: none\n  adaptive: {threshold: 0.01}\n  adaptive_time: {factor: 4}#" "$base" > "$WORK/best.yaml"
    for i in 1 2 3; do
        log "$PSTM" migrate "$WORK/best.yaml" --kernel gpu-v3 | grep -E "contributions|adaptive  "
    done
    log "$CHECK" "$(job_for wide)" gpu-v3 0.01+time=4,0.003+time=2
fi
