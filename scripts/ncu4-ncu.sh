#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "ncu4", docs/results/h200-ncu4/call1): Nsight Compute on VGG7's b256 wide
# kernels straight from a saved plan, with no planner profile before it (mma32's script waited 30–60 s on `hepbnn map`
# and ran out of time there). The plan is scripts/ncu4-plan-vgg7-b256.json (the found plan of docs/results/h200-mma32
# call 2: conv2/conv3 2m-r128-fold, conv4 2m-r128-lean, conv5/conv6 4w-lean), its platform fingerprint patched to this
# machine's (`hepbnn info --json`), and a second plan with conv2/conv3 on 2m-r128-lean. Each is run once under ncu
# (`--clock-control none`, `--cache-control none`: the input is in L2 as it is after conv1 in a run; CUDA graphs off
# so each kernel is its own launch), the first launch of each wide kernel with the full section set (speed of light,
# scheduler, warp states, memory and L2/shared throughput, occupancy, source counters) and each warp-stall reason per
# issued instruction; then the source page (SASS with per-instruction stall samples) of the report as CSV.
# Everything lands in $OUT/ncu4-ncu.tar.gz (+ summary.txt). Usage: ncu4-ncu.sh [binary-dir=.device/ncu4] [budget-s=100]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
STEP_MIN_S=10
call_init "${1:-.device/ncu4}" "${2:-100}" /tmp/ncu4-out
step 20 "$bin/hepbnn" info --json > "$out/info.json" 2> "$out/info.err"
python3 "$bin/plan-variant.py" "$out" "$bin/ncu4-plan-vgg7-b256.json" fold
python3 "$bin/plan-variant.py" "$out" "$bin/ncu4-plan-vgg7-b256.json" lean conv2=gpu.tensor-core-wide-2m-r128-lean conv3=gpu.tensor-core-wide-2m-r128-lean
for v in fold lean; do ncu_plan $v 40 "BitsKernel(2M|4W)(Lean|Fold)" 5 vgg7 256; done
for v in fold lean; do
  echo "== $v" >> "$sum"
  grep -E "^  Kernel_|Duration|Issued Warp Per|No Eligible|Eligible Warps|Active Warps Per|Warp Cycles Per Issued|Achieved Occupancy|L1/TEX Hit|L2 Hit|L1/TEX Cache Throughput|L2 Cache Throughput|DRAM Throughput|Compute \(SM\) Throughput|Memory Throughput|Mem Pipes|Executed Ipc A|stalled_(barrier|long_scoreboard|short_scoreboard|mio_throttle|lg_throttle|math_pipe_throttle|wait|not_selected|dispatch|no_instruction)" \
    "$out/ncu-$v.txt" | sed -E 's/ +/ /g' >> "$sum"
done
echo "call took ${SECONDS}s" >> "$sum"
cp "$sum" "$top/summary.txt"
rm -f "$bin/hepbnn.gz"
tar -czf "$top/ncu4-ncu.tar.gz" -C "$out" .
ls -la "$out" "$top"
head -c 9000 "$sum"
