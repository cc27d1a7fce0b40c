#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "fc9", docs/results/h200-fc9/call2): gpu.tensor-core-dense-narrow after call 1
# (popc(a) by MMA, 64-bit stage offsets, unguarded step sets, staging without divisions).
# 1. `verify --device gpu --networks 4 --configs gpu.tensor-core-dense-narrow`.
# 2. `bench --model vgg3 --batch 256 --layers`, the found plan run with and without --io-binding (twice).
# 3. Nsight Compute on fc1's kernel in that plan (graphs off, as the plan's host I/O), detailed set + stall reasons.
# 4. `bench --model vgg7 --batch 256 --layers`, then `bench --model vgg3 --batch 16 --layers` while budget is left.
# Usage: fc9-call2.sh [binary-dir=.device/fc9] [budget-s=190]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
STEP_MIN_S=10
call_init "${1:-.device/fc9}" "${2:-190}" /tmp/fc9-out/fc9
H="$bin/hepbnn"
pack() { tar -C "$out/.." -czf "$top/fc9.tar.gz" fc9; cp "$sum" "$top/summary.txt"; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1

named_step 40 verify -- "$H" verify --device gpu --networks 4 --configs gpu.tensor-core-dense-narrow
grep -iE "mismatch|bit-exact|fail|cases|sessions|dense-narrow" "$out/verify.txt" | cut -c1-200 | tail -5 >> "$sum"

bench() { # bench MODEL BATCH SECONDS
  named_step "$3" "bench-$1-b$2" -- "$H" bench --model "$1" --batch "$2" --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-$1-b$2.json"
  grep -E "^│ (configuration|gpu.tensor-core-wide-deep |gpu.tensor-core-wide-split |gpu.tensor-core-dense-narrow |gpu.tensor-core |gpu.warp-reduce )|found plan|^│ top-[2-5]|measured best" "$out/bench-$1-b$2.txt" | cut -c1-250 | head -30 >> "$sum"
}
bench vgg3 256 60
python3 - "$out/bench-vgg3-b256.json" "$out/plan-vgg3-b256.json" >> "$sum" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = d[0]["verdict"] if isinstance(d, list) else d["verdict"]
json.dump(v["plan"], open(sys.argv[2], "w"), indent=1)
print("found plan:", [b["configuration"] for b in v["plan"]["blocks"]], v["plan"].get("hostIo"), "predicted", round(v["plan"]["predictedTotalUs"], 1))
for r in v["rows"][:9]: print(" ", r["label"][:40], r["configurations"][2], r["measured"]["medianUs"], round(r.get("pairedRatio", 0), 3))
PY
for round in 1 2; do
  for mode in binding run; do
    extra=(); [ $mode = binding ] && extra=(--io-binding)
    step 20 "$H" run --model vgg3 --plan "$out/plan-vgg3-b256.json" --batch 256 --repeat 3000 "${extra[@]}" > "$out/run-$mode-$round.txt" 2>&1
    echo "run vgg3 b256 found plan, $mode, round $round: exit $? $(grep -E 'median latency' "$out/run-$mode-$round.txt")" >> "$sum"
  done
done
pack

stalls=$(for s in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait not_selected selected dispatch_stall no_instruction membar branch_resolving drain misc tex_throttle; do
  printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' $s; done)
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
HEPBNN_CUDA_GRAPHS=0 step 40 "$ncu" --clock-control none --cache-control none -k regex:Narrow --launch-skip 1 --launch-count 1 \
  --set detailed --import-source no --metrics "${stalls%,}" -f -o "$out/ncu-fc1" \
  "$H" run --model vgg3 --plan "$out/plan-vgg3-b256.json" --batch 256 --repeat 2 > "$out/ncu-fc1.log" 2>&1
echo "== ncu fc1 exit $?" >> "$sum"
[ -f "$out/ncu-fc1.ncu-rep" ] && timeout 20 "$ncu" --import "$out/ncu-fc1.ncu-rep" --print-details all > "$out/ncu-fc1.txt" 2>&1
grep -E "^  [A-Za-z_]+Kernel|Duration|Registers Per|Grid Size|Block Size|Achieved Occupancy|Theoretical Occ|Issued Warp Per|No Eligible|Warp Cycles Per Issued|Executed Ipc A|Compute \(SM\) Th|L1/TEX Hit|L2 Hit|L2 Cache Th|Mem Busy|Max Bandwidth|Executed Instructions  |Elapsed Cycles|SM Frequency|Dynamic Shared|stalled_(long_scoreboard|short_scoreboard|mio_throttle|lg_throttle|wait|barrier|math_pipe|no_instruction|branch|selected|not_selected|dispatch|tex)" \
  "$out/ncu-fc1.txt" 2>/dev/null | sed -E 's/ +/ /g' | awk '!seen[$0]++' | head -60 >> "$sum"
pack
bench vgg7 256 60
bench vgg3 16 45
echo "call took ${SECONDS}s" >> "$sum"
gzip -9 "$out"/*.txt "$out"/*.json 2>/dev/null; gunzip "$out/summary.txt.gz" 2>/dev/null
pack
ls -la "$top"
head -c 11000 "$sum"
