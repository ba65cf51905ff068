#!/usr/bin/env bash
# Scaling over the GPUs of one host (`execution.devices`): `pstm migrate` of the bench job of
# each size (`pstm bench --print-job`) on 1, 2, 4 ... devices, one kernel, written to a scratch
# directory. Run on the machine being measured, with PSTM naming the release binary (and, on a
# GPU machine without a system Vulkan loader, after `. scripts/device-vulkan.sh`):
#
#   PSTM=target/release/pstm bash bench/specs/devices.sh gpu-v2 "1 2 4" "wide large"
#
# Prints, per size and device count, the run's contributions line (G contributions/s over the
# whole run, planning, loading and writing included) and its per-device lines; the speedup is
# the ratio of the contributions lines' rates.
set -euo pipefail
P=${PSTM:-pstm}
kernel=${1:-gpu-v2}
counts=${2:-"1 2 4"}
sizes=${3:-"wide large"}
out=$(mktemp -d)
for size in $sizes; do
  dataset=$($P synth --size "$size" 2>&1 | tail -1 | awk '{print $NF}' | xargs realpath)
  $P bench --print-job --datasets "$size" --kernels "$kernel" |
    sed "s#dataset: .*#dataset: $dataset#; s#directory: unused#directory: $out/o#" > "$out/job.yaml"
  for n in $counts; do
    $P migrate "$out/job.yaml" --kernel "$kernel" --devices "$n" --overwrite 2>&1 |
      grep -E '^(kernel|contributions|device |time)' | sed "s#^#$size n=$n: #"
  done
done
rm -rf "$out"
