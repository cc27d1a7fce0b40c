#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "small8", docs/results/h200-small8): what VGG3 b256's four kernels are made of,
# and gpu.tensor-core-image-rows-capped (conv1 with registers capped for more resident groups) against the uncapped one.
# 1. `verify --device gpu --configs gpu.tensor-core-image-rows-capped` (bit-exact on the GPU).
# 2. Nsight Compute on session 9's found plan (conv1 image-rows, conv2 2m-r128-lean, fc1 wide-split, fc2 warp-reduce;
#    scripts/small8-plan-vgg3-b256.json, fingerprint patched to this machine), graphs off, mapped host input and output
#    as the found plan runs them: the second run's 4 kernels (--launch-skip 4), full section set + stall reasons; then
#    conv1 alone with the input copied to device memory, and the capped conv1 at 5, 6 and 8 groups per SM.
# 3. `hepbnn run --repeat 3000` of the found plan and of the same plan with the capped conv1 (5, 6, 8 groups),
#    alternated twice, mapped I/O, and with I/O binding once.
# 4. `bench --model vgg3 --batch 256 --layers` (the profiler sees both conv1 kernels; found plan and verdict).
# Usage: small8-call.sh [binary-dir=.device/small8] [budget-s=220]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
STEP_MIN_S=8
call_init "${1:-.device/small8}" "${2:-220}" /tmp/small8-out
H="$bin/hepbnn"
step 20 "$H" info --json > "$out/info.json" 2> "$out/info.err"
python3 "$bin/small8-plans.py" "$out" "$bin/small8-plan-vgg3-b256.json" capped gpu.tensor-core-image-rows-capped
step 60 "$H" verify --device gpu --networks 4 --configs gpu.tensor-core-image-rows-capped > "$out/verify.txt" 2>&1
echo "== verify exit $?: $(grep -iE "mismatch|bit-exact|fail" "$out/verify.txt" | tail -3)" >> "$sum"

stalls=$(for s in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait not_selected selected dispatch_stall no_instruction membar branch_resolving drain misc; do
  printf 'smsp__average_warps_issue_stalled_%s_per_issue_active.ratio,' $s; done)
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
export HEPBNN_CUDA_GRAPHS=0
nc() { # nc NAME SKIP COUNT SET PLAN [env...]
  local name=$1 skip=$2 count=$3 set=$4 plan=$5; shift 5
  step 45 env "$@" "$ncu" --clock-control none --cache-control none --launch-skip "$skip" --launch-count "$count" \
    --set "$set" --import-source no --metrics "${stalls%,}" -f -o "$out/ncu-$name" \
    "$H" run --model vgg3 --plan "$out/$plan" --batch 256 --repeat 1 > "$out/ncu-$name.log" 2>&1
  echo "== ncu $name exit code $?" >> "$sum"
  [ -f "$out/ncu-$name.ncu-rep" ] && timeout 20 "$ncu" --import "$out/ncu-$name.ncu-rep" --print-details all > "$out/ncu-$name.txt" 2>&1
}
nc plan-mapped 4 4 full plan-old.json HEPBNN_MAPPED_IO=all
nc conv1-copies 4 1 detailed plan-old.json HEPBNN_MAPPED_IO=0
for g in 6 8 5; do nc capped-g$g 4 1 detailed plan-capped.json HEPBNN_MAPPED_IO=all HEPBNN_IMAGE_ROWS_CAPPED_GROUPS=$g; done
unset HEPBNN_CUDA_GRAPHS
for f in "$out"/ncu-*.txt; do
  echo "== $(basename "$f")" >> "$sum"
  grep -E "^  [A-Za-z_]+Kernel|^  Kernel|Duration|Registers Per|Grid Size|Achieved Occupancy|Theoretical Occ|Issued Warp Per|No Eligible|Warp Cycles Per Issued|Executed Ipc A|Compute \(SM\) Th|L2 Cache Th|DRAM Th|Local Memory Spill|stalled_(long_scoreboard|short_scoreboard|mio_throttle|lg_throttle|wait|barrier|math_pipe|no_instruction|branch)" \
    "$f" | sed -E 's/ +/ /g' >> "$sum"
done

for round in 1 2; do
  for v in old capped-5 capped-6 capped-8; do
    g=${v#capped-}; plan=plan-capped.json; [ "$v" = old ] && { plan=plan-old.json; g=6; }
    step 25 env HEPBNN_MAPPED_IO=all HEPBNN_IMAGE_ROWS_CAPPED_GROUPS=$g "$H" run --model vgg3 --plan "$out/$plan" --batch 256 --repeat 3000 > "$out/run-$v-$round.txt" 2>&1
    echo "run $v round $round: $(grep -E 'median latency' "$out/run-$v-$round.txt")" >> "$sum"
  done
done
for v in old capped; do
  step 25 env HEPBNN_MAPPED_IO=all "$H" run --model vgg3 --plan "$out/plan-$v.json" --batch 256 --repeat 3000 --io-binding > "$out/run-$v-binding.txt" 2>&1
  echo "run $v binding+mapped: $(grep -E 'median latency' "$out/run-$v-binding.txt")" >> "$sum"
done
step 60 "$H" bench --model vgg3 --batch 256 --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-vgg3.json" > "$out/bench-vgg3.txt" 2>&1
echo "== bench exit $?" >> "$sum"
grep -E "image-rows|found plan: |verdict|^│ found plan|^│ top-[23]" "$out/bench-vgg3.txt" | head -20 >> "$sum"
echo "call took ${SECONDS}s" >> "$sum"
rm -f "$bin/hepbnn.gz"
gzip -9 "$out"/*.txt "$out"/*.json 2>/dev/null; gunzip "$out/summary.txt.gz" 2>/dev/null
cp "$sum" "$top/summary.txt"
tar -czf "$top/small8.tar.gz" -C "$out" .
ls -la "$top"
head -c 11000 "$sum"
