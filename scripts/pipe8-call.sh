#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "pipe8", docs/results/h200-pipe8): ptxas's report and SASS
# counts of the pipe and band kernels (tools/PtxDump output in <bin>/ptx), `hepbnn verify --device gpu` of
# gpu.tensor-core-wide-2m-r128-pipe, the per-block bench of vgg7 at batch 256 (every GPU configuration per block: pipe
# beside band in the same run) with its MMA fractions and found plan. Verify runs first in its own process: a fault
# there leaves the bench's CUDA context clean.
# Everything lands in $OUT/pipe8-call.tar.gz (+ summary.txt). Usage: pipe8-call.sh [binary-dir=.device/pipe8] [budget-s=200]
set -uo pipefail
source "$(dirname "$0")/device-call-lib.sh"
call_init "${1:-.device/pipe8}" "${2:-200}" /tmp/pipe8-call
sass_dump "$bin" > "$sum" 2>&1
for s in "$out"/sass/*.sass; do
  echo "$(basename "$s"): SASS lines $(grep -c '/\*[0-9a-f]*\*/' "$s"), LDG $(grep -c 'LDG' "$s"), LDGSTS $(grep -c 'LDGSTS' "$s"), LDS $(grep -c 'LDS' "$s"), BMMA $(grep -c 'BMMA' "$s"), STL $(grep -c 'STL' "$s")"
done >> "$sum"
gzip -9 "$out"/sass/*.sass 2>/dev/null
# A pipe kernel whose inline-PTX operands stay in local memory (call 1: 2,920-byte stack) is not worth the device time.
stack=$(grep -A1 -- "-BitsKernelPipe-" "$sum" | grep -oE "[0-9]+ bytes stack frame" | grep -oE "^[0-9]+")
if [ "${stack:-0}" -gt "${PIPE_MAX_STACK:-256}" ]; then echo "pipe kernel stack ${stack} bytes: verify and bench skipped" >> "$sum"
  cp "$sum" "$top/summary.txt"; tar -czf "$top/pipe8-call.tar.gz" -C /tmp pipe8-call; exit 0; fi
step 75 "$bin/hepbnn" verify --device gpu --configs gpu.tensor-core-wide-2m-r128-pipe --networks 4 > "$out/verify.txt" 2>&1
echo "verify exit code $?" >> "$out/verify.txt"
tail -25 "$out/verify.txt" >> "$sum"
step 75 "$bin/hepbnn" bench --model vgg7 --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
  --json-out "$out/bench-vgg7-b256.json" > "$out/bench-vgg7-b256.txt" 2>&1
echo "bench exit code $?" >> "$sum"
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7-b256.json" >> "$sum" 2>&1
gzip -9 "$out/bench-vgg7-b256.json" 2>/dev/null
cp "$sum" "$top/summary.txt"
tar -czf "$top/pipe8-call.tar.gz" -C /tmp pipe8-call
