#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "conv9", docs/results/h200-conv9): ptxas's report and SASS counts
# of the band kernel and of the pipe kernel before and after GpuPtxLocals (tools/PtxDump output in <bin>/ptx), then
# `hepbnn verify --device gpu` of gpu.tensor-core-wide-2m-r128-pipe (loaded with its PTX locals promoted, as
# GpuConfiguration does on CUDA), then the per-block bench of vgg7 at batch 256 (every GPU configuration per block: pipe
# beside band in the same run) with its MMA fractions and found plan. Verify runs first in its own process: a fault there
# leaves the bench's CUDA context clean.
# Everything lands in $OUT/conv9-call.tar.gz (+ summary.txt). Usage: conv9-call.sh [binary-dir=.device/conv9] [budget-s=280]
set -uo pipefail
source "$(dirname "$0")/device-call-lib.sh"
call_init "${1:-.device/conv9}" "${2:-280}" /tmp/conv9-call
pack() { cp "$sum" "$top/summary.txt"; tar -czf "$top/conv9-call.tar.gz" -C /tmp conv9-call; }
sass_dump "$bin" > "$sum" 2>&1
for s in "$out"/sass/*.sass; do
  echo "$(basename "$s"): SASS lines $(grep -c '/\*[0-9a-f]*\*/' "$s"), LDG $(grep -c 'LDG' "$s"), LDGSTS $(grep -c 'LDGSTS' "$s"), LDS $(grep -c 'LDS' "$s"), BMMA $(grep -c 'BMMA' "$s"), STL $(grep -c 'STL' "$s")"
done >> "$sum"
gzip -9 "$out"/sass/*.sass 2>/dev/null
pack
named_step 80 verify -- "$bin/hepbnn" verify --device gpu --configs gpu.tensor-core-wide-2m-r128-pipe --networks 4
tail -25 "$out/verify.txt" >> "$sum"
named_step 110 bench-vgg7-b256 -- "$bin/hepbnn" bench --model vgg7 --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
  --json-out "$out/bench-vgg7-b256.json"
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7-b256.json" >> "$sum" 2>&1
grep -iE "found|verdict|plan" "$out/bench-vgg7-b256.txt" | head -20 >> "$sum"
gzip -9 "$out/bench-vgg7-b256.json" 2>/dev/null
pack
