#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "mma32": the fold kernels, docs/results/h200-mma32/).
# mma31-call.sh's recipe (itself mma30-call.sh's trimmed to one short call), most important first, each step under its
# own timeout and skipped once the budget (arg 2, seconds) is spent: ptxas's report and the SASS opcode counts of the
# wide kernels' PTX (tools/PtxDump output in <bin>/ptx), the per-block bench of vgg7 at batch 256 (every GPU
# configuration, lean and fold side by side in the same run) with the MMA fractions, `hepbnn verify --device gpu`, then
# vgg3 at batch 256.
# Everything lands in $OUT/mma32.tar.gz (+ summary.txt).
# Usage: mma32-call.sh [binary-dir=.device/mma32] [budget-s=130]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
call_init "${1:-.device/mma32}" "${2:-130}" /tmp/mma32-out
sass_dump "$bin" > "$sum" 2>&1
timeout 20 python3 "$bin/sass-loops.py" "$out"/sass/*.sass >> "$sum" 2>&1
bench() {
  step "$2" "$bin/hepbnn" bench --model "$1" --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
    --json-out "$out/bench-$1.json" > "$out/bench-$1.txt" 2>&1
}
bench vgg7 60
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" >> "$sum" 2>&1
step 45 "$bin/hepbnn" verify --device gpu --networks 3 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
bench vgg3 30
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg3.json" >> "$sum" 2>&1
echo "call took ${SECONDS}s" >> "$sum"
cp "$sum" "$top/summary.txt"
gzip -9 "$out"/sass/*.sass 2>/dev/null
tar -czf "$top/mma32.tar.gz" -C "$out" .
cat "$sum" | grep -v "^  " | head -120; grep -E "bit-exact|exit code|FAIL|mismatch" "$out/verify.txt" | head -20
grep -E "found plan|verdict" "$out/bench-vgg7.txt" "$out/bench-vgg3.txt" | grep -v "│  " | cut -c1-200
