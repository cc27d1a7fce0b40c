#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, tensor-core throughput at batch 256; docs/results/h200-mma-b256/):
# ptxas's report of the tensor-core kernels (PTX from tools/PtxDump in <bin>/ptx), `hepbnn verify --device gpu`, the
# per-block bench of vgg7 and vgg3 at batch 256 (every configuration, same run) with the MMA fractions, the PyTorch float
# peer at batch 256 and the table HepBnn vs PyTorch, then Nsight Compute on the found plan's VGG7 b256 binary conv
# kernels (what still limits them). Eight files to $OUT: summary.txt, verify.txt, bench-vgg7/3.{txt,json}, peer.json, ncu.txt.
# Usage: mma-call.sh [binary-dir=.device/mma] [no-ncu]
set -uo pipefail
bin=${1:-.device/mma}
noncu=${2:-}
out=${OUT:-./mma-out}
mkdir -p "$out"
sum="$out/summary.txt"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas")
for f in "$bin"/ptx/*.ptx; do
  echo "== $(basename "$f")"
  "$ptxas" -arch=sm_90 -v -o "/tmp/$(basename "$f" .ptx).cubin" "$f" 2>&1 | grep -E "registers|spill|rror"
done > "$sum" 2>&1
"$bin/hepbnn" verify --device gpu --networks 8 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
for m in vgg7 vgg3; do
  "$bin/hepbnn" bench --model $m --batch 256 --layers --measure-s 1 --profile-budget-s 3 \
    --json-out "$out/bench-$m.json" > "$out/bench-$m.txt" 2>&1
done
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg3.json" "$out/bench-vgg7.json" >> "$sum" 2>&1
PYTHONUNBUFFERED=1 python3 "$bin/peer-pytorch.py" --batch 256 --seconds 0.5 --json-out "$out/peer.json" --txt-out /tmp/peer.txt >> "$sum" 2>&1
python3 "$bin/peer-table.py" --peer "$out/peer.json" --bench "$out/bench-vgg3.json" "$out/bench-vgg7.json" --json-out /tmp/peer-table.json >> "$sum" 2>&1
if [ -z "$noncu" ] && command -v ncu > /dev/null; then
  {
    "$bin/hepbnn" map --model vgg7 --batch 256 --profile-budget-s 3 --out /tmp/vgg7-256.json 2>&1 | tail -3
    grep -o '"configuration": *"[^"]*"' /tmp/vgg7-256.json | tr '\n' ' '; echo
    # The second run's kernels of the binary blocks (every configuration's bits kernel is named Kernel_BitsKernel*).
    timeout 90 ncu --clock-control none --kernel-name regex:Kernel_BitsKernel --launch-skip 6 --launch-count 6 \
      --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats \
      --section LaunchStats "$bin/hepbnn" run --model vgg7 --plan /tmp/vgg7-256.json --batch 256 --repeat 1 2>&1
    echo "== ncu exit code $?"
  } > "$out/ncu.txt" 2>&1
fi
cat "$sum"; grep -E "gpu\.tensor|bit-exact|exit code|FAIL|mismatch" "$out/verify.txt" | head -20
grep -E "found plan|verdict" "$out/bench-vgg7.txt" "$out/bench-vgg3.txt" | grep -v "│  " | cut -c1-200
grep -E "^  Kernel|Duration|Executed Instructions  |Registers Per|Achieved Occupancy|No Eligible|L1TEX|configuration" "$out/ncu.txt" 2>/dev/null | cut -c1-150 | head -60
