#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "mma32", docs/results/h200-mma32/call2): Nsight Compute on VGG7's conv2–conv6
# at batch 256 under the lean and the fold kernels, to see what the wide kernels wait on (call 1: the fold kernels issue
# 21% fewer instructions per tile and run no faster). A plan from `hepbnn map`, its conv2–conv6 forced to
# 2m-r128-lean ×3 (plan-lean) or 2m-r128-fold ×3 (plan-fold), conv5–conv6 to 4w-lean in both; `hepbnn run` of each under ncu
# (`--clock-control none`, CUDA graphs off so each kernel is its own launch), the first launch of each of the 5 kernels:
# speed of light, scheduler and warp-state statistics, compute and memory workload, and each warp-stall reason per
# issued instruction. Then the per-block bench again (lean and fold side by side, a second same-run sample).
# Call 2 of docs/results/h200-mma32 ran it with a 30 s map step, which the profiling of 10 wide configurations outran
# (no plan, so no ncu data): the map step now has 60 s. Needs ~150 s in all.
# Usage: mma32-ncu.sh [binary-dir=.device/mma32] [budget-s=150]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
call_init "${1:-.device/mma32}" "${2:-150}" /tmp/mma32-out
step 60 "$bin/hepbnn" map --model vgg7 --batch 256 --device gpu --profile-budget-s 2 --out "$out/plan-map.json" > "$out/map.txt" 2>&1
python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
plan = json.load(open(f"{out}/plan-map.json"))
for variant in ("lean", "fold"):
    for b in plan["blocks"]:
        if b["name"] in ("conv2", "conv3", "conv4"): b["configuration"], b["device"] = f"gpu.tensor-core-wide-2m-r128-{variant}", "Gpu"
        if b["name"] in ("conv5", "conv6"): b["configuration"], b["device"] = "gpu.tensor-core-wide-4w-lean", "Gpu"
    json.dump(plan, open(f"{out}/plan-{variant}.json", "w"), indent=1)
    print(variant, [(b["name"], b["configuration"]) for b in plan["blocks"]])
PY
stalls=$(for s in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait not_selected selected dispatch_stall no_instruction tex_throttle membar branch_resolving drain imc_miss misc sleeping; do
  printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' $s; done)
sections=(--section SpeedOfLight --section SchedulerStats --section WarpStateStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis --section Occupancy)
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
export HEPBNN_CUDA_GRAPHS=0
for v in lean fold; do
  step 45 "$ncu" --clock-control none --kernel-name "regex:BitsKernel(2M|4W)(Lean|Fold)" --launch-count 5 \
    "${sections[@]}" --metrics "${stalls%,}" "$bin/hepbnn" run --model vgg7 --plan "$out/plan-$v.json" --batch 256 --repeat 1 > "$out/ncu-$v.txt" 2>&1
  echo "== ncu $v exit code $?" >> "$sum"
done
unset HEPBNN_CUDA_GRAPHS
step 45 "$bin/hepbnn" bench --model vgg7 --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
  --json-out "$out/bench-vgg7.json" > "$out/bench-vgg7.txt" 2>&1
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" >> "$sum" 2>&1
for v in lean fold; do
  echo "== $v" >> "$sum"
  grep -E "^  Kernel_|Duration|Issued Warp Per|No Eligible|Eligible Warps|Warp Cycles Per Issued|L1/TEX Hit|L1/TEX Cache Throughput|Mem Pipes|stalled_(barrier|long_scoreboard|short_scoreboard|mio_throttle|lg_throttle|math_pipe_throttle|wait|not_selected|dispatch|no_instruction)" \
    "$out/ncu-$v.txt" | sed -E 's/ +/ /g' >> "$sum"
done
echo "call took ${SECONDS}s" >> "$sum"
cp "$sum" "$top/summary.txt"
tar -czf "$top/mma32-ncu.tar.gz" -C "$out" .
cat "$sum" | head -150
