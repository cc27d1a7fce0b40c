#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "mma30": VGG7's largest binary convs at >= 30% of the 1-bit MMA
# peak at batch 256; docs/results/h200-mma30/). mmafrac-call.sh's recipe, ordered by what matters most if the call runs
# short, each step under its own timeout and skipped once the call's budget (arg 2, seconds) is spent: ptxas's report of
# the wide kernels' PTX (tools/PtxDump output in <bin>/ptx, the specialized kernels with their .maxntid/.minnctapersm),
# the per-block bench of vgg7 at batch 256 (every GPU configuration, same run) with the MMA fractions, `hepbnn verify
# --device gpu`, the PyTorch float peer at batch 256, vgg3 at batch 256, the HepBnn vs PyTorch table, then Nsight Compute
# on the found plan's VGG7 b256 binary kernels. Everything lands in $OUT/mma30.tar.gz (+ summary.txt).
# Usage: mma30-call.sh [binary-dir=.device/mma30] [budget-s=190]   (call 2: SASS opcode counts and hottest loops too)
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
call_init "${1:-.device/mma30}" "${2:-190}" /tmp/mma30-out
# ptxas's report, the SASS of each (cuobjdump), its opcode counts and its hottest loop's instructions per MMA (sass-loops.py).
sass_dump "$bin" > "$sum" 2>&1
timeout 20 python3 "$bin/sass-loops.py" "$out"/sass/*.sass >> "$sum" 2>&1
bench() {
  step 70 "$bin/hepbnn" bench --model "$1" --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
    --json-out "$out/bench-$1.json" > "$out/bench-$1.txt" 2>&1
}
bench vgg7
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" >> "$sum" 2>&1
step 50 "$bin/hepbnn" verify --device gpu --networks 3 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
bench vgg3
step 40 python3 "$bin/peer-pytorch.py" --batch 256 --seconds 0.5 --json-out "$out/peer-pytorch.json" --txt-out "$out/peer-pytorch.txt" > "$out/peer-log.txt" 2>&1
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg3.json" >> "$sum" 2>&1
python3 "$bin/peer-table.py" --peer "$out/peer-pytorch.json" --bench "$out/bench-vgg3.json" "$out/bench-vgg7.json" \
  --json-out "$out/peer-table.json" > "$out/peer-table.txt" 2>&1
if command -v ncu > /dev/null && [ "$(left)" -gt 40 ]; then
  {
    step 25 "$bin/hepbnn" map --model vgg7 --batch 256 --device gpu --profile-budget-s 2 --out /tmp/vgg7-256.json 2>&1 | tail -3
    grep -o '"configuration": *"[^"]*"' /tmp/vgg7-256.json | tr '\n' ' '; echo
    step 120 ncu --clock-control none --kernel-name regex:Kernel_BitsKernel --launch-skip 6 --launch-count 6 \
      --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats \
      --section LaunchStats --section MemoryWorkloadAnalysis "$bin/hepbnn" run --model vgg7 --plan /tmp/vgg7-256.json --batch 256 --repeat 1 2>&1
    echo "== ncu exit code $?"
  } > "$out/ncu.txt" 2>&1
fi
echo "call took ${SECONDS}s" >> "$sum"
cp "$sum" "$top/summary.txt"
tar -czf "$top/mma30.tar.gz" -C "$out" .
cat "$sum"; grep -E "bit-exact|exit code|FAIL|mismatch" "$out/verify.txt" | head -20
grep -E "found plan|verdict" "$out/bench-vgg7.txt" "$out/bench-vgg3.txt" | grep -v "│  " | cut -c1-200
cat "$out/peer-table.txt" | head -30
grep -E "^  Kernel|Duration|Executed Instructions  |Registers Per|Achieved Occupancy|No Eligible|configuration" "$out/ncu.txt" 2>/dev/null | cut -c1-150 | head -60
