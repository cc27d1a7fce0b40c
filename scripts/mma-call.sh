#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, tensor-core throughput at batch 256; docs/results/h200-mma-b256/):
# ptxas's report and the SASS of the wide kernel (PTX from tools/PtxDump in <bin>/ptx), `hepbnn verify --device gpu`,
# the per-block bench of vgg3 and vgg7 at batch 256 (every configuration, same run) with the MMA fractions, then Nsight
# Compute on the found plan's VGG7 b256 binary conv kernels (the wide kernel: what still limits it). At most 8 files to $OUT.
# Usage: mma-call.sh [binary-dir=.device/mma] [no-ncu]
set -uo pipefail
bin=${1:-.device/mma}
noncu=${2:-}
out=${OUT:-./mma-out}
mkdir -p "$out"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas")
for f in "$bin"/ptx/*.ptx; do
  echo "== $(basename "$f")"
  "$ptxas" -arch=sm_90 -v -o "/tmp/$(basename "$f" .ptx).cubin" "$f" 2>&1 | grep -E "registers|spill|stack|smem|rror"
done > "$out/ptxas.txt" 2>&1
cuobjdump -sass /tmp/GpuTensorCoreWide-BitsKernel.cubin > "$out/sass-wide-bits.txt" 2>&1
"$bin/hepbnn" verify --device gpu --networks 8 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
for m in vgg7 vgg3; do
  "$bin/hepbnn" bench --model $m --batch 256 --layers --measure-s 1 --profile-budget-s 3 \
    --json-out "$out/bench-$m.json" > "$out/bench-$m.txt" 2>&1
done
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg3.json" "$out/bench-vgg7.json" > "$out/mma-fraction.txt" 2>&1
if [ -z "$noncu" ] && command -v ncu > /dev/null; then
  {
    "$bin/hepbnn" map --model vgg7 --batch 256 --profile-budget-s 3 --out /tmp/vgg7-256.json 2>&1 | tail -3
    grep -o '"configuration": *"[^"]*"' /tmp/vgg7-256.json | tr '\n' ' '; echo
    # The second run's binary conv kernels (both configurations' bits kernels are named Kernel_BitsKernel).
    timeout 100 ncu --clock-control none --kernel-name Kernel_BitsKernel --launch-skip 6 --launch-count 6 \
      --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats \
      --section LaunchStats "$bin/hepbnn" run --model vgg7 --plan /tmp/vgg7-256.json --batch 256 --repeat 1 2>&1
    echo "== ncu exit code $?"
  } > "$out/ncu.txt" 2>&1
fi
cat "$out/ptxas.txt"; grep -E "gpu\.tensor|bit-exact|exit code|FAIL|mismatch" "$out/verify.txt" | head -20
grep -E "found plan|verdict" "$out/bench-vgg7.txt" "$out/bench-vgg3.txt" | cut -c1-220; cat "$out/mma-fraction.txt"
grep -E "^  Kernel|Duration|Issue Slots Busy|Executed Ipc A|Achieved Occupancy|Theoretical Occ|Registers Per|Block Limit|No Eligible|Executed Instructions  |configuration" "$out/ncu.txt" 2>/dev/null | head -80
