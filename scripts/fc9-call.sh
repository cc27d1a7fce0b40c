#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "fc9", docs/results/h200-fc9): gpu.tensor-core-dense-narrow (dense bits blocks,
# 16 channels per warp, 16 warps per group) against the wide kernels, in one call.
# 1. `verify --device gpu --networks 4 --configs gpu.tensor-core-dense-narrow` (bit-exact on the H200).
# 2. `bench --model vgg3 --batch 256 --layers` (every configuration per block, found plan, verdict with top-k); the found
#    plan is taken from the bench JSON and run with `hepbnn run --repeat 3000`, with and without --io-binding, twice.
# 3. `bench --model vgg7 --batch 256 --layers` (fc1 8192 → 1024, 32 steps), then `bench --model vgg3 --batch 16 --layers`.
# Usage: fc9-call.sh [binary-dir=.device/fc9] [budget-s=280]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
STEP_MIN_S=10
call_init "${1:-.device/fc9}" "${2:-280}" /tmp/fc9-out/fc9
H="$bin/hepbnn"
pack() { tar -C "$out/.." -czf "$top/fc9.tar.gz" fc9; cp "$sum" "$top/summary.txt"; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1

named_step 60 verify -- "$H" verify --device gpu --networks 4 --configs gpu.tensor-core-dense-narrow
grep -iE "mismatch|bit-exact|fail|cases|sessions" "$out/verify.txt" | tail -4 >> "$sum"

bench() { # bench MODEL BATCH SECONDS
  named_step "$3" "bench-$1-b$2" -- "$H" bench --model "$1" --batch "$2" --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-$1-b$2.json"
  grep -E "^│ (configuration|gpu.tensor-core-wide-deep |gpu.tensor-core-wide-split |gpu.tensor-core-dense-narrow |gpu.tensor-core-wide |gpu.tensor-core-wide-4w |gpu.warp-reduce )|found plan|^│ top-[2-5]|best all-GPU|measured best" "$out/bench-$1-b$2.txt" | head -30 >> "$sum"
}
bench vgg3 256 100
python3 - "$out/bench-vgg3-b256.json" "$out/plan-vgg3-b256.json" >> "$sum" 2>&1 <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
v = d[0]["verdict"] if isinstance(d, list) else d["verdict"]
json.dump(v["plan"], open(sys.argv[2], "w"), indent=1)
print("found plan:", [b["configuration"] for b in v["plan"]["blocks"]], "predicted", round(v["plan"]["predictedTotalUs"], 1))
PY
for round in 1 2; do
  for mode in binding run; do
    extra=(); [ $mode = binding ] && extra=(--io-binding)
    step 25 "$H" run --model vgg3 --plan "$out/plan-vgg3-b256.json" --batch 256 --repeat 3000 "${extra[@]}" > "$out/run-$mode-$round.txt" 2>&1
    echo "run vgg3 b256 found plan, $mode, round $round: exit $? $(grep -E 'median latency' "$out/run-$mode-$round.txt")" >> "$sum"
  done
done
pack
bench vgg7 256 100
bench vgg3 16 70
echo "call took ${SECONDS}s" >> "$sum"
gzip -9 "$out"/*.txt "$out"/*.json 2>/dev/null; gunzip "$out/summary.txt.gz" 2>/dev/null
pack
ls -la "$top"
head -c 11000 "$sum"
