#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, tensor-core throughput): ptxas's resource report of the tensor-core
# kernels' PTX (tools/PtxDump writes it on the dev machine with ILGPU's PTX backend; copy it into <bin>/ptx), Nsight
# Compute sections of gpu.tensor-core's VGG7 b256 kernels, then the quick plan-check (PyTorch peer, vgg3/vgg7 bench at
# batch 1/16/256 with per-block timings of every configuration, verify) and the per-block MMA fractions. Eight files
# come back under $OUT.
# Usage: mma-device.sh [binary-dir=.device/mma] [short]
#   short: only ptxas, verify and the per-block bench of vgg7 at batch 256 (about a minute), no ncu, no plan-check.
set -uo pipefail
bin=${1:-.device/mma}
short=${2:-}
out=${OUT:-./mma-out}
mkdir -p "$out"
ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas")
for f in "$bin"/ptx/*.ptx; do
  echo "== $(basename "$f")"
  "$ptxas" -arch=sm_90 -v -o /tmp/k.cubin "$f" 2>&1 | grep -E "registers|spill|stack|smem|rror"
  echo "local loads/stores in the SASS: $(cuobjdump -sass /tmp/k.cubin | grep -cE '\b(LDL|STL)\b')"
done > "$out/ptxas.txt" 2>&1
if [ -n "$short" ]; then
  "$bin/hepbnn" verify --networks 8 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
  "$bin/hepbnn" bench --model vgg7 --batch 256 --layers --measure-s 1 --profile-budget-s 3 \
    --json-out "$out/bench-vgg7.json" > "$out/bench-vgg7.txt" 2>&1
  python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" > "$out/mma-fraction.txt" 2>&1
  cat "$out/ptxas.txt"; grep -E "gpu\.|bit-exact|exit code" "$out/verify.txt"
  grep -E "found plan|verdict" "$out/bench-vgg7.txt" | cut -c1-200; cat "$out/mma-fraction.txt"
  exit 0
fi
# Where the time of the tensor-core kernels goes (hardware counters; ncu reads them on Firecracker machines, not on
# gVisor ones): VGG7 at batch 256 with gpu.tensor-core on every block, the 8 launches after the warm-up run.
if command -v ncu > /dev/null; then
  echo "== ncu: hepbnn run --model vgg7 --batch 256 --config gpu.tensor-core" >> "$out/ptxas.txt"
  timeout 75 ncu --clock-control none --launch-skip 8 --launch-count 8 --section SpeedOfLight --section Occupancy \
    --section ComputeWorkloadAnalysis --section SchedulerStats "$bin/hepbnn" run --model vgg7 --batch 256 \
    --config gpu.tensor-core --repeat 1 >> "$out/ptxas.txt" 2>&1
  echo "== ncu exit code $?" >> "$out/ptxas.txt"
fi
OUT="$out" bash "$bin/plan-check.sh" "$bin" quick
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg3.json" "$out/bench-vgg7.json" > "$out/mma-fraction.txt" 2>&1
grep -vE "^\s*$" "$out/ptxas.txt" | grep -E "==|registers|local|Duration|Issue Slots|Executed Ipc|Achieved Occupancy|Theoretical Occupancy|Compute \(SM\) Throughput|Memory Throughput|No Eligible|Block Limit" | head -90
grep -A12 "HepBnn vs PyTorch" "$out/plan-check.txt" | head -30
cat "$out/mma-fraction.txt"
