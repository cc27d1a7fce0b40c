#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper "gemv9", docs/results/h200-gemv9): gpu.gemv (dense blocks at small batch as a
# GEMV) and the GEMV pair (fc1+fc2 in one kernel, what the registry's gpu.fused runs a dense pair as at batch <= 16).
# 1. verify --device gpu --networks 4 --configs gpu.gemv, its two constant-shape twins and gpu.fused (bit-exact on the GPU).
# 2. bench --layers: vgg7 b1 (the target: found plan <= 35 µs), vgg3 b1, vgg7 b16, vgg3 b16 (per-block medians of every
#    configuration incl. gpu.gemv, the fused ranges, found plan, verdict with the all-GPU and CPU-tail plans, same run).
# 3. If time is left: map vgg7 b1 and run the found plan with HEPBNN_HOST_TIMING=1 (host phases).
# Usage: gemv9-call.sh [binary-dir=.device/gemv9] [budget-s=280]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
STEP_MIN_S=20
call_init "${1:-.device/gemv9}" "${2:-280}" "${OUT:-./gemv9-out}/gemv9"
H="$bin/hepbnn"
pack() { cp "$sum" "$top/summary.txt"; tar -C "$out/.." -czf "$top/gemv9.tar.gz" gemv9; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
named_step 60 verify -- "$H" verify --device gpu --networks 4 --configs gpu.gemv gpu.gemv-const gpu.gemv-const-unrolled gpu.fused
grep -iE "mismatch|bit-exact|sessions|passed|failed|rror" "$out/verify.txt" | tail -6 >> "$sum"
bench() { # bench MODEL BATCH SECONDS
  named_step "$3" "bench-$1-b$2" -- "$H" bench --model "$1" --batch "$2" --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-$1-b$2.json"
  grep -E "gemv|gpu.fused|fc1|fc2|found plan|verdict|all-GPU|all-CPU|^│ top-[1-3]" "$out/bench-$1-b$2.txt" | cut -c1-220 | head -40 >> "$sum"
}
bench vgg7 1 95
bench vgg3 1 60
bench vgg7 16 70
bench vgg3 16 60
if [ "$(left)" -gt 45 ]; then
  named_step 35 map-vgg7-b1 -- "$H" map --model vgg7 --batch 1 --profile-budget-s 2 --out "$out/plan-vgg7-b1.json"
  named_step 15 run-vgg7-b1 HEPBNN_HOST_TIMING=1 -- "$H" run --model vgg7 --plan "$out/plan-vgg7-b1.json" --batch 1 --repeat 4000
  tail -15 "$out/run-vgg7-b1.txt" >> "$sum"
fi
echo "call took ${SECONDS}s" >> "$sum"
