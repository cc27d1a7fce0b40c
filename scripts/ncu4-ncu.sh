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
python3 - "$out" "$bin/ncu4-plan-vgg7-b256.json" <<'PY'
import json, sys
out, template = sys.argv[1], sys.argv[2]
plan = json.load(open(template))
try:
    info = json.load(open(f"{out}/info.json"))
    fp = info.get("fingerprint") or info.get("Fingerprint")
    if fp: plan["platform"] = fp
except Exception as e:
    print("info.json unreadable, keeping the template's platform:", e)
json.dump(plan, open(f"{out}/plan-fold.json", "w"), indent=1)
for b in plan["blocks"]:
    if b["name"] in ("conv2", "conv3"): b["configuration"] = "gpu.tensor-core-wide-2m-r128-lean"
json.dump(plan, open(f"{out}/plan-lean.json", "w"), indent=1)
print(plan["platform"], [(b["name"], b["configuration"]) for b in plan["blocks"]])
PY
stalls=$(for s in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait not_selected selected dispatch_stall no_instruction tex_throttle membar branch_resolving drain imc_miss misc sleeping; do
  printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' $s; done)
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
export HEPBNN_CUDA_GRAPHS=0
for v in fold lean; do
  step 40 "$ncu" --clock-control none --cache-control none --kernel-name "regex:BitsKernel(2M|4W)(Lean|Fold)" --launch-count 5 \
    --set full --import-source no --metrics "${stalls%,}" -f -o "$out/ncu-$v" \
    "$bin/hepbnn" run --model vgg7 --plan "$out/plan-$v.json" --batch 256 --repeat 1 > "$out/ncu-$v.log" 2>&1
  echo "== ncu $v exit code $?" >> "$sum"
  [ -f "$out/ncu-$v.ncu-rep" ] || continue
  timeout 20 "$ncu" --import "$out/ncu-$v.ncu-rep" --print-details all > "$out/ncu-$v.txt" 2>&1
  timeout 20 "$ncu" --import "$out/ncu-$v.ncu-rep" --page source --csv --print-source sass > "$out/source-$v.csv" 2>&1
done
unset HEPBNN_CUDA_GRAPHS
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
