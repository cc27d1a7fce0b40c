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
for v in ("band", "pipe"):
    for b in plan["blocks"]:
        if b["name"] == "conv2": b["configuration"] = f"gpu.tensor-core-wide-2m-r128-{v}"
    json.dump(plan, open(f"{out}/plan-{v}.json", "w"), indent=1)
print(plan["platform"], [(b["name"], b["configuration"]) for b in plan["blocks"]])
PY
stalls=$(for s in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait not_selected selected dispatch_stall no_instruction tex_throttle membar branch_resolving drain imc_miss misc sleeping; do
  printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' $s; done)
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
export HEPBNN_CUDA_GRAPHS=0
for v in band pipe; do
  step 45 "$ncu" --clock-control none --cache-control none --kernel-name "regex:BitsKernel(Band|Pipe)" --launch-count 1 \
    --set full --import-source no --metrics "${stalls%,}" -f -o "$out/ncu-$v" \
    "$bin/hepbnn" run --model vgg7 --plan "$out/plan-$v.json" --batch 256 --repeat 1 > "$out/ncu-$v.log" 2>&1
  echo "== ncu $v exit code $?" >> "$sum"
  [ -f "$out/ncu-$v.ncu-rep" ] || continue
  timeout 20 "$ncu" --import "$out/ncu-$v.ncu-rep" --print-details all > "$out/ncu-$v.txt" 2>&1
  timeout 20 "$ncu" --import "$out/ncu-$v.ncu-rep" --page source --csv --print-source sass > "$out/source-$v.csv" 2>&1
  python3 "$bin/ncu-source-regions.py" "$out/source-$v.csv" > "$out/regions-$v.txt" 2>&1
done
unset HEPBNN_CUDA_GRAPHS
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
