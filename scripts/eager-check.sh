#!/usr/bin/env bash
# Second call: the same verdicts with CUDA graphs off (own eager profile, so eager predictions vs measured), and a repeat
# of vgg3 b16 with graphs on (its prediction was -15% in the first call).
set -uo pipefail
b=.device/gpu-graph/hepbnn
out=${OUT:-./eager-out}
txt="$out/eager-check.txt"
: > "$txt"
for m in vgg3 vgg7; do
  echo "=== HEPBNN_CUDA_GRAPHS=0 bench $m ($(date -u +%H:%M:%S))" >> "$txt"
  HEPBNN_CUDA_GRAPHS=0 "$b" bench --model $m --batch 1 16 256 --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-$m-eager.json" >> "$txt" 2>&1
  echo "=== exit code $?" >> "$txt"
done
echo "=== graphs on, vgg3 b16 repeat ($(date -u +%H:%M:%S))" >> "$txt"
"$b" bench --model vgg3 --batch 16 --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-vgg3-b16-repeat.json" >> "$txt" 2>&1
echo "=== exit code $?" >> "$txt"
