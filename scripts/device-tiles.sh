#!/usr/bin/env bash
# Tile shapes on the `wide` survey (the reference package's published job shape) with one
# kernel, end to end: the planner's automatic choice against shapes set by hand. Run from the
# repository root on the GPU machine, with the release binary in .devbin/ and the Vulkan loader in
# .gl/ (see scripts/device-bench.sh). Results go to $OUT (default /tmp/pstm-device-tiles).
#
# Environment: TILES (default "auto 64 32"), KERNEL (default gpu-v0), MEDIUM=1 to also bench
# `medium` with the kernel, BUDGET_GB (default 40, so the 3.5 GB of traces stay in memory).
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pstm-device-tiles}
mkdir -p "$OUT"
PSTM=${PSTM:-.devbin/pstm}
TILES=${TILES:-auto 64 32}
KERNEL=${KERNEL:-gpu-v0}
BUDGET_GB=${BUDGET_GB:-40}
WORK=${WORK:-/tmp/pstm-wide}
. scripts/device-vulkan.sh

{
    echo "== $(date -u +%FT%TZ) $(nproc) CPUs"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv 2>&1
    "$PSTM" kernels
} | tee "$OUT/env.txt"

mkdir -p "$WORK"
if [ ! -d "$WORK/wide" ]; then
    t0=$SECONDS
    "$PSTM" synth --size wide --out "$WORK/wide" >/dev/null || exit 1
    echo "== synth wide: $((SECONDS - t0)) s" | tee -a "$OUT/env.txt"
fi

job() {
    local tile=$1
    cat <<EOF
input: {dataset: $WORK/wide}
velocity: {constant: 2500}
algorithm:
  aperture: {mode: fixed, max_m: 2000}
  taper: {kind: cosine, fraction: 0.1}
  weights: {spreading: true, obliquity: true}
output:
  directory: $WORK/out
  overwrite: true
  grid: {origin_x: 12.5, origin_y: 12.5, dx: 25, dy: 25, nx: 511, ny: 427}
execution:
  kernel: $KERNEL
  max_memory_gb: $BUDGET_GB
EOF
    [ "$tile" = auto ] || echo "  tile: [$tile, $tile]"
}

for tile in $TILES; do
    job "$tile" >"$WORK/job_$tile.yaml"
    {
        echo "== wide, tiles $tile"
        "$PSTM" migrate "$WORK/job_$tile.yaml" --dry-run
        t0=$SECONDS
        "$PSTM" migrate "$WORK/job_$tile.yaml" --quiet
        echo "== wide, tiles $tile: exit $? after $((SECONDS - t0)) s"
    } 2>&1 | tee "$OUT/wide_$tile.txt"
    cp "$WORK/out/run.json" "$OUT/wide_$tile.run.json" 2>/dev/null
    rm -rf "$WORK/out"
done

if [ "${MEDIUM:-0}" = 1 ]; then
    "$PSTM" bench --kernels "$KERNEL" --datasets medium --runs 3 --output "$OUT/medium.json" 2>&1 | tee "$OUT/medium.txt"
fi
