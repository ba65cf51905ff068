#!/usr/bin/env bash
# The cost of the operator's options against its defaults, per kernel: `pstm migrate` of the
# bench job (`pstm bench --print-job`) with one option changed at a time. Run on the machine
# being measured, with PSTM naming the release binary (and, on a GPU machine without a system
# Vulkan loader, after `. scripts/device-vulkan.sh`):
#
#   PSTM=target/release/pstm bash bench/specs/operator-options.sh gpu-v0,gpu-v1,gpu-v2,gpu-v3 medium
#   PSTM=target/release/pstm bash bench/specs/operator-options.sh cpu small
#
# Prints one line per round, kernel and option: the run's contributions line and its stage
# times (kernel busy seconds), two rounds with the kernels interleaved.
set -euo pipefail
P=${PSTM:-pstm}
kernels=${1:-cpu}
size=${2:-small}
options=${OPTIONS:-"linear cubic sinc8 triangle weight"}
dataset=$($P synth --size "$size" 2>&1 | tail -1 | awk '{print $NF}' | xargs realpath)
out=$(mktemp -d)
job() {
  local extra=$1
  $P bench --print-job --datasets "$size" --kernels cpu |
    sed "s#dataset: .*#dataset: $dataset#; s#directory: unused#directory: $out/o#" |
    sed "s#^algorithm:#algorithm:\n  $extra#"
}
for r in 1 2; do
  for k in ${kernels//,/ }; do
    for o in $options; do
      case $o in
        linear) extra="interpolation: linear" ;;
        cubic) extra="interpolation: cubic" ;;
        sinc8) extra="interpolation: sinc8" ;;
        triangle) extra="antialiasing: {method: triangle}" ;;
        weight) extra="antialiasing: {method: weight}" ;;
        *) echo "unknown option $o" >&2; exit 2 ;;
      esac
      job "$extra" > "$out/job.yaml"
      line=$($P migrate "$out/job.yaml" --kernel "$k" --overwrite 2>&1 | grep -E '^(contributions|stages)' | tr -s ' ' | tr '\n' '|')
      echo "r$r $k $o $size: $line"
    done
  done
done
rm -rf "$out"
