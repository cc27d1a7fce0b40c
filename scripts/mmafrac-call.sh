#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "mmafrac": VGG7's binary convs at batch 256 as a fraction of the
# 1-bit MMA peak; docs/results/h200-mmafrac/). Like mma-call.sh, trimmed to the GPU and ordered by what matters most if
# the call runs out of time: ptxas's report of the wide kernels' PTX (tools/PtxDump output in <bin>/ptx), the per-block
# bench of vgg7 at batch 256 (every GPU configuration, same run) with the MMA fractions, `hepbnn verify --device gpu`,
# vgg3 at batch 256, then Nsight Compute on the found plan's VGG7 b256 binary kernels.
# Usage: mmafrac-call.sh [binary-dir=.device/mmafrac] [ncu-seconds=70]
set -uo pipefail
bin=${1:-.device/mmafrac}
ncus=${2:-70}
out=${OUT:-./mmafrac-out}
mkdir -p "$out"
sum="$out/summary.txt"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
ls "$bin"/ptx/*.gz > /dev/null 2>&1 && gunzip -f "$bin"/ptx/*.gz   # gzipped to fit the 64 MiB transfer
ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas")
for f in "$bin"/ptx/*.ptx; do
  echo "== $(basename "$f")"
  "$ptxas" -arch=sm_90 -v -o "/tmp/$(basename "$f" .ptx).cubin" "$f" 2>&1 | grep -E "registers|spill|rror"
done > "$sum" 2>&1
bench() {
  "$bin/hepbnn" bench --model "$1" --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
    --json-out "$out/bench-$1.json" > "$out/bench-$1.txt" 2>&1
}
bench vgg7
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" >> "$sum" 2>&1
"$bin/hepbnn" verify --device gpu --networks 8 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
bench vgg3
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg3.json" >> "$sum" 2>&1
if command -v ncu > /dev/null; then
  {
    "$bin/hepbnn" map --model vgg7 --batch 256 --device gpu --profile-budget-s 2 --out /tmp/vgg7-256.json 2>&1 | tail -3
    grep -o '"configuration": *"[^"]*"' /tmp/vgg7-256.json | tr '\n' ' '; echo
    timeout "$ncus" ncu --clock-control none --kernel-name regex:Kernel_BitsKernel --launch-skip 6 --launch-count 6 \
      --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats \
      --section LaunchStats --section MemoryWorkloadAnalysis "$bin/hepbnn" run --model vgg7 --plan /tmp/vgg7-256.json --batch 256 --repeat 1 2>&1
    echo "== ncu exit code $?"
  } > "$out/ncu.txt" 2>&1
fi
cat "$sum"; grep -E "bit-exact|exit code|FAIL|mismatch" "$out/verify.txt" | head -20
grep -E "found plan|verdict" "$out/bench-vgg7.txt" "$out/bench-vgg3.txt" | grep -v "│  " | cut -c1-200
grep -E "^  Kernel|Duration|Executed Instructions  |Registers Per|Achieved Occupancy|No Eligible|L1/TEX Cache|configuration" "$out/ncu.txt" 2>/dev/null | cut -c1-150 | head -60
