#!/usr/bin/env bash
# GPU kernel benchmark and parity check on a machine with a GPU (the lent H100), from the
# repository root. Results go to $OUT (default /tmp/pstm-device-bench).
#
# The machine has no Rust toolchain: build here, carry the binary and the Vulkan loader.
#   cargo build --release -p pstm-gpu --examples
#   mkdir -p .devbin && cp target/release/examples/gpu_bench .devbin/
#   (.gl holds the loader debs, see ../shared/reference/gpu-probe.md; .devbin and .gl are
#   listed in .git/info/exclude and named in the device tool's `carry`)
# Then on the device: bash scripts/device-bench.sh
#
# Environment: PSTM_GPU_BENCH (binary, default .devbin/gpu_bench), REPS (default 3),
# PARITY_SEEDS (default 40), MEDIUM_ARGS (extra arguments to every `medium` run, e.g.
# "--midpoints 12 --nt 301" for a smoke test on a software adapter), PSTM_GPU_ADAPTER /
# PSTM_GPU_CHECKS as for the engine.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pstm-device-bench}
mkdir -p "$OUT"
BIN=${PSTM_GPU_BENCH:-.devbin/gpu_bench}
REPS=${REPS:-3}
PARITY_SEEDS=${PARITY_SEEDS:-40}
MEDIUM_ARGS=${MEDIUM_ARGS:-}
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}

# The Vulkan loader travels as Debian packages; the NVIDIA driver (ICD) is already there.
if [ -d .gl ] && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
fi
if ! "$BIN" adapters >/dev/null 2>&1; then
    # The loader did not find the driver's manifest in its default places.
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi

{
    echo "== $(date -u +%FT%TZ) $(uname -r)"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit --format=csv 2>&1
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
    echo "== adapters"
    "$BIN" adapters 2>&1
} | tee "$OUT/env.txt"

status=0
run() {
    local name=$1
    shift
    echo "== $name: $BIN $*" | tee "$OUT/$name.txt"
    "$BIN" "$@" 2>&1 | tee -a "$OUT/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "== $name exit $rc" | tee -a "$OUT/$name.txt"
    [ "$rc" -eq 0 ] || status=1
}

run parity parity --seeds "$PARITY_SEEDS"
# The medium survey as one tile (kernel-bound), in 4 tiles of 40 x 40 columns (per-tile
# overheads), and with the full weights (taper, spreading, obliquity).
# shellcheck disable=SC2086 # MEDIUM_ARGS is a list of arguments
run medium medium --reps "$REPS" $MEDIUM_ARGS
# shellcheck disable=SC2086
run medium-tiles medium --reps "$REPS" --tile 40 --check-columns 0 $MEDIUM_ARGS
# shellcheck disable=SC2086
run medium-full medium --reps "$REPS" --weights full --check-columns 0 $MEDIUM_ARGS
# What shader runtime checks (PSTM_GPU_CHECKS=1, for debugging) cost.
# shellcheck disable=SC2086
PSTM_GPU_CHECKS=1 run medium-checks medium --reps "$REPS" --check-columns 0 $MEDIUM_ARGS

echo "== summary" | tee "$OUT/summary.txt"
grep -E "^(adapter|RESULT|parity|repeatability|check|cpu-ref|contributions)" "$OUT"/parity.txt "$OUT"/medium*.txt \
    | tee -a "$OUT/summary.txt"
exit $status
