#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "conv9", docs/results/h200-conv9/call2): Nsight Compute on VGG7's conv2 at
# batch 256 with the band kernel and with the pipe kernel (cp.async, its PTX locals promoted), straight from a saved plan
# (scripts/ncu4-plan-vgg7-b256.json with its platform fingerprint patched from `hepbnn info --json`, conv2 set to band
# or pipe; no other block on those kernels), as scripts/ncu4-ncu.sh did for lean/fold: `--set full`, `--clock-control
# none`, `--cache-control none`, CUDA graphs off, the first conv2 launch; each warp-stall reason per issued
# instruction; the source page (SASS with stall samples) summarised per region by ncu-source-regions.py.
# Everything lands in $OUT/conv9-ncu.tar.gz (+ summary.txt). Usage: conv9-ncu.sh [binary-dir=.device/conv9] [budget-s=150]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
STEP_MIN_S=10
call_init "${1:-.device/conv9}" "${2:-150}" /tmp/conv9-ncu
step 20 "$bin/hepbnn" info --json > "$out/info.json" 2> "$out/info.err"
for v in band pipe; do python3 "$bin/plan-variant.py" "$out" "$bin/ncu4-plan-vgg7-b256.json" $v conv2=gpu.tensor-core-wide-2m-r128-$v; done
for v in band pipe; do
  ncu_plan $v 45 "BitsKernel(Band|Pipe)" 1 vgg7 256 || continue
  python3 "$bin/ncu-source-regions.py" "$out/source-$v.csv" > "$out/regions-$v.txt" 2>&1
done
for v in band pipe; do
  echo "== $v" >> "$sum"
  grep -E "^  Kernel_|Duration|Issued Warp Per|No Eligible|Eligible Warps|Active Warps Per|Warp Cycles Per Issued|Achieved Occupancy|L1/TEX Hit|L2 Hit|L1/TEX Cache Throughput|L2 Cache Throughput|DRAM Throughput|Compute \(SM\) Throughput|Memory Throughput|Mem Pipes|Executed Ipc A|Registers Per|Local Memory|stalled_(barrier|long_scoreboard|short_scoreboard|mio_throttle|lg_throttle|math_pipe_throttle|wait|not_selected|dispatch|no_instruction)" \
    "$out/ncu-$v.txt" | sed -E 's/ +/ /g' >> "$sum"
  head -40 "$out/regions-$v.txt" >> "$sum" 2>/dev/null
done
echo "call took ${SECONDS}s" >> "$sum"
gzip -9 "$out"/*.txt "$out"/*.csv 2>/dev/null; gunzip "$out/summary.txt.gz" 2>/dev/null
rm -f "$out"/*.ncu-rep
cp "$sum" "$top/summary.txt"
tar -czf "$top/conv9-ncu.tar.gz" -C "$out" .
