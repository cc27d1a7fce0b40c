#!/usr/bin/env bash
# Runs ON the GPU machine in one call (helper gpu-mma, issue 9): the m16n8k256 layout probe, verify on the GPU, and
# per-block benchmarks of vgg3 and vgg7 at batch 1, 16, 256 (GPU configurations). Files go to $OUT.
# Usage: bash .device/gpu-mma/mma-check.sh [binary-dir=.device/gpu-mma]
set -uo pipefail
bin=${1:-.device/gpu-mma}
out=${OUT:-./mma-check-out}
mkdir -p "$out"
info="$out/h200-mma-info.txt"
{ date -u; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv; } > "$info" 2>&1
if command -v nvcc >/dev/null; then
  { nvcc -arch=sm_90 -O3 -o /tmp/mma-probe "$bin/mma-layout-probe.cu" && /tmp/mma-probe; } >> "$info" 2>&1
fi
for f in "$bin"/*.ptx; do [ -f "$f" ] && { echo "ptxas -v $(basename $f):"; ptxas -arch=sm_90 -v -o /dev/null "$f" 2>&1 | grep -E "registers|spill|stack|error" | head -5; } >> "$info"; done
echo "=== verify ($(date -u +%T))" >> "$info"
"$bin/hepbnn" verify --device gpu --networks 30 > "$out/h200-mma-verify.txt" 2>&1; echo "verify exit $?" >> "$info"
for m in vgg3 vgg7; do
  echo "=== bench $m ($(date -u +%T))" >> "$info"
  "$bin/hepbnn" bench --device gpu --layers --model $m --batch 1 16 256 --json-out "$out/h200-mma-bench-$m.json" \
    > "$out/h200-mma-bench-$m.txt" 2>&1; echo "bench $m exit $?" >> "$info"
done
echo "=== done ($(date -u +%T))" >> "$info"
cat "$info"
