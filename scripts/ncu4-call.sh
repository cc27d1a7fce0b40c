#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "ncu4", docs/results/h200-ncu4/call2): mma32-call.sh's recipe
# for gpu.tensor-core-wide-2m-r128-rowpop, most important first, each step under its own timeout and skipped once the
# budget (arg 2, seconds) is spent: ptxas's report and SASS of the fold and rowpop kernels (tools/PtxDump output in
# <bin>/ptx) with scripts/sass-loops.py; the per-block bench of vgg7 at batch 256 (every GPU configuration per block,
# rowpop beside fold and lean in the same run) and its MMA fractions; `hepbnn verify --device gpu`; then Nsight Compute
# on the rowpop kernels of conv2–conv4 from the saved plan (as ncu4-ncu.sh) with the source page's region summary.
# gpu.tensor-core-wide-2m-r128-rowpop was dropped after that call (slower on every block): to rerun, pass another
# configuration in the plan step and the ncu kernel regex. Everything lands in $OUT/ncu4-call.tar.gz (+ summary.txt).
# Usage: ncu4-call.sh [binary-dir=.device/ncu4] [budget-s=125]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
STEP_MIN_S=10
call_init "${1:-.device/ncu4}" "${2:-125}" /tmp/ncu4-call
sass_dump "$bin" > "$sum" 2>&1
timeout 20 python3 "$bin/sass-loops.py" "$out"/sass/*.sass >> "$sum" 2>&1
step 60 "$bin/hepbnn" bench --model vgg7 --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
  --json-out "$out/bench-vgg7.json" > "$out/bench-vgg7.txt" 2>&1
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" >> "$sum" 2>&1
step 45 "$bin/hepbnn" verify --device gpu --networks 3 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
step 10 "$bin/hepbnn" info --json > "$out/info.json" 2> "$out/info.err"
python3 - "$out" "$bin/ncu4-plan-vgg7-b256.json" <<'PY'
import json, sys
out, template = sys.argv[1], sys.argv[2]
plan = json.load(open(template))
try:
    fp = json.load(open(f"{out}/info.json")).get("fingerprint")
    if fp: plan["platform"] = fp
except Exception as e:
    print("info.json unreadable, keeping the template's platform:", e)
for b in plan["blocks"]:
    if b["name"] in ("conv2", "conv3", "conv4"): b["configuration"] = "gpu.tensor-core-wide-2m-r128-rowpop"
json.dump(plan, open(f"{out}/plan-rowpop.json", "w"), indent=1)
PY
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
HEPBNN_CUDA_GRAPHS=0 step 30 "$ncu" --clock-control none --cache-control none --kernel-name "regex:BitsKernel2MRowPop" --launch-count 3 \
  --set full --import-source no -f -o "$out/ncu-rowpop" \
  "$bin/hepbnn" run --model vgg7 --plan "$out/plan-rowpop.json" --batch 256 --repeat 1 > "$out/ncu-rowpop.log" 2>&1
echo "== ncu rowpop exit code $?" >> "$sum"
if [ -f "$out/ncu-rowpop.ncu-rep" ]; then
  timeout 15 "$ncu" --import "$out/ncu-rowpop.ncu-rep" --print-details all > "$out/ncu-rowpop.txt" 2>&1
  timeout 15 "$ncu" --import "$out/ncu-rowpop.ncu-rep" --page source --csv --print-source sass > "$out/source-rowpop.csv" 2>&1
  timeout 10 python3 "$bin/ncu-source-regions.py" "$out/source-rowpop.csv" --list 0 >> "$sum" 2>&1
  grep -E "^  Kernel_|Duration|Issued Warp Per|No Eligible|Eligible Warps|Warp Cycles Per Issued|L1/TEX Cache Throughput|Executed Ipc A|Pipe Tensor Cycles" \
    "$out/ncu-rowpop.txt" | sed -E 's/ +/ /g' >> "$sum"
fi
echo "call took ${SECONDS}s" >> "$sum"
cp "$sum" "$top/summary.txt"
rm -f "$out"/*.ncu-rep
gzip -9 "$out"/sass/*.sass 2>/dev/null
tar -czf "$top/ncu4-call.tar.gz" -C "$out" .
cat "$sum" | grep -v "^  " | head -80; grep -E "bit-exact|exit code|FAIL|mismatch" "$out/verify.txt" | head -20
grep -E "found plan|verdict" "$out/bench-vgg7.txt" | grep -v "│  " | cut -c1-200
