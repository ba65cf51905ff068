#!/usr/bin/env bash
# The GPU benchmark on a machine with a GPU (the lent H100), from the repository root.
# Results go to $OUT (default /tmp/pstm-device-bench).
#
# The device machine has no Rust toolchain: build here and carry the binary and the Vulkan
# loader, as Debian packages downloaded once into .gl/ (libvulkan1 libegl1 libglvnd0 libopengl0
# libgl1 libglx0 libgles2, amd64, with `apt-get download`); the NVIDIA driver is on the machine:
#   cargo build --release -p pstm-cli && mkdir -p .devbin && cp target/release/pstm .devbin/
#   (optional, kernel-only timings: cargo build --release -p pstm-gpu --examples &&
#    cp target/release/examples/gpu_bench .devbin/)
# .devbin and .gl are listed in .git/info/exclude and named in the device tool's `carry`.
# Then on the device: bash scripts/device-bench.sh
#
# What runs, in order:
#   1. pstm kernels: the adapter, backend and driver found;
#   2. pstm compare cpu-ref vs gpu-v0 on `small`, 10 repeats (parity and the race check);
#   3. pstm bench gpu-v0 and cpu on small and medium (results JSON + HTML report);
#   4. pstm migrate on medium with gpu-v0, end to end, outputs written;
#   5. with LARGE=1, the same on `large` (3.3 GB of samples);
#   6. if .devbin/gpu_bench exists, the kernel-only parity and medium runs.
# Environment: RUNS (default 5), MACHINE (default h100), PSTM_GPU_ADAPTER as for pstm.
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/pstm-device-bench}
mkdir -p "$OUT"
PSTM=${PSTM:-.devbin/pstm}
RUNS=${RUNS:-5}
MACHINE=${MACHINE:-h100}
. scripts/device-vulkan.sh

status=0
step() {
    local name=$1
    shift
    echo "== $name: $*" | tee "$OUT/$name.txt"
    local t0=$SECONDS
    "$@" 2>&1 | tee -a "$OUT/$name.txt"
    local rc=${PIPESTATUS[0]}
    echo "== $name exit $rc after $((SECONDS - t0)) s" | tee -a "$OUT/$name.txt"
    [ "$rc" -eq 0 ] || status=1
}

{
    echo "== $(date -u +%FT%TZ) $(uname -r), $(nproc) CPUs"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem,power.limit --format=csv 2>&1
    grep -m1 "model name" /proc/cpuinfo
    echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"
} | tee "$OUT/env.txt"

step kernels "$PSTM" kernels
step compare "$PSTM" compare --baseline cpu-ref --candidate gpu-v0 --dataset small --repeat 10
step bench "$PSTM" bench --kernels gpu-v0,cpu --datasets small,medium --runs "$RUNS" --warmup 1 \
    --ceiling 1.40e12 --machine "$MACHINE" --output "$OUT/$MACHINE.json" --report "$OUT/$MACHINE.html"

# End to end on medium: plan, traces from disk into memory, migration, zarr outputs written.
job() {
    cat >"$OUT/$1.yaml" <<YAML
input: {dataset: $2}
velocity: {constant: 2500}
algorithm: {aperture: {max_m: 1500}, taper: {kind: cosine, fraction: 0.1}}
output: {directory: /tmp/pstm-out-$1, overwrite: true, grid: {dx: 25, dy: 25}}
execution: {kernel: gpu-v0, max_memory_gb: $3, progress: false}
YAML
}
medium=$("$PSTM" synth --size medium | sed 's/.*: //')
job medium "$medium" 8
step migrate-medium "$PSTM" migrate "$OUT/medium.yaml"
if [ "${LARGE:-0}" = 1 ]; then
    step synth-large "$PSTM" synth --size large
    large=$("$PSTM" synth --size large | sed 's/.*: //')
    job large "$large" 24
    step migrate-large "$PSTM" migrate "$OUT/large.yaml"
fi

if [ -x .devbin/gpu_bench ]; then
    step kernel-parity .devbin/gpu_bench parity --seeds 40
    step kernel-medium .devbin/gpu_bench medium --reps 3
fi

echo "== summary" | tee "$OUT/summary.txt"
grep -hE "relative L2|bitwise|G contrib|contributions|kernel  |written|exit" "$OUT"/*.txt | tee -a "$OUT/summary.txt"
exit $status
