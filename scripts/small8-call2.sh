#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "small8", docs/results/h200-small8/call2): gpu.tensor-core-image-rows-staged
# (each group's input span read once into shared memory) against gpu.tensor-core-image-rows on VGG3 b256 with mapped
# host input, as the found plan runs it.
# 1. `verify --device gpu --networks 4 --configs gpu.tensor-core-image-rows-staged`.
# 2. Nsight Compute on conv1 of each plan (graphs off, mapped host input and output, the second run's first kernel).
# 3. `hepbnn run --repeat 2000` of session 9's found plan and of the same plan with the staged conv1, mapped I/O,
#    alternated twice, then each with I/O binding.
# 4. `bench --model vgg3 --batch 256 --layers` (the profile measures host I/O for the all-GPU plan with either conv1).
# Usage: small8-call2.sh [binary-dir=.device/small8] [budget-s=150]
set -uo pipefail
. "$(dirname "$0")/device-call-lib.sh"
STEP_MIN_S=8
call_init "${1:-.device/small8}" "${2:-150}" /tmp/small8-out2
H="$bin/hepbnn"
step 20 "$H" info --json > "$out/info.json" 2> "$out/info.err"
python3 "$bin/small8-plans.py" "$out" "$bin/small8-plan-vgg3-b256.json" staged gpu.tensor-core-image-rows-staged
step 40 "$H" verify --device gpu --networks 4 --configs gpu.tensor-core-image-rows-staged > "$out/verify.txt" 2>&1
echo "== verify exit $?: $(grep -E "image-rows-staged|GPU segments|bit-exact|mismatch" "$out/verify.txt" | tail -3)" >> "$sum"
ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
for v in old staged; do
  step 30 env HEPBNN_CUDA_GRAPHS=0 HEPBNN_MAPPED_IO=all "$ncu" --clock-control none --cache-control none --launch-skip 4 --launch-count 1 \
    --section SpeedOfLight --section LaunchStats --section Occupancy --section SchedulerStats --section WarpStateStats -f -o "$out/ncu-$v" \
    "$H" run --model vgg3 --plan "$out/plan-$v.json" --batch 256 --repeat 1 > "$out/ncu-$v.log" 2>&1
  [ -f "$out/ncu-$v.ncu-rep" ] && timeout 20 "$ncu" --import "$out/ncu-$v.ncu-rep" --print-details all > "$out/ncu-$v.txt" 2>&1
  echo "== ncu conv1 $v (mapped input)" >> "$sum"
  grep -E "^  [A-Za-z_]*Kernel|Duration|Registers Per|Grid Size|Dynamic Shared|Achieved Occupancy|Issued Warp Per|No Eligible|Warp Cycles Per Issued|Compute \(SM\) Th" "$out/ncu-$v.txt" | sed -E 's/ +/ /g' >> "$sum"
done
for round in 1 2; do
  for v in old staged; do
    step 20 env HEPBNN_MAPPED_IO=all "$H" run --model vgg3 --plan "$out/plan-$v.json" --batch 256 --repeat 2000 > "$out/run-$v-$round.txt" 2>&1
    echo "run $v round $round (mapped): $(grep -E 'median latency' "$out/run-$v-$round.txt")" >> "$sum"
  done
done
for v in old staged; do
  step 20 env HEPBNN_MAPPED_IO=all "$H" run --model vgg3 --plan "$out/plan-$v.json" --batch 256 --repeat 2000 --io-binding > "$out/run-$v-binding.txt" 2>&1
  echo "run $v binding+mapped: $(grep -E 'median latency' "$out/run-$v-binding.txt")" >> "$sum"
done
step 70 "$H" bench --model vgg3 --batch 256 --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-vgg3.json" > "$out/bench-vgg3.txt" 2>&1
echo "== bench exit $?" >> "$sum"
grep -E "image-rows|found plan: |verdict|host I/O measured|^│ found plan|^│ top-[2345]|^│ best all-GPU" "$out/bench-vgg3.txt" | cut -c1-330 | head -30 >> "$sum"
echo "call took ${SECONDS}s" >> "$sum"
rm -f "$bin/hepbnn.gz"
gzip -9 "$out"/*.txt "$out"/*.json 2>/dev/null; gunzip "$out/summary.txt.gz" 2>/dev/null
cp "$sum" "$top/summary.txt"
tar -czf "$top/small8-call2.tar.gz" -C "$out" .
head -c 11000 "$sum"
