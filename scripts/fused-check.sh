#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, fused GPU ranges): the GPU part of `hepbnn verify` (every GPU
# configuration per block, and fused multi-block ranges as whole sessions), the PyTorch float peer at batch 1 and 16,
# and `hepbnn bench` (profile with fused ranges → found plan vs top-k and baselines, incl. "best per-block plan (no fused
# GPU range)" and "whole network fused") for vgg3 and vgg7 at batch 1 and 16, then the HepBnn vs PyTorch table.
# Every step has a time limit, so a hang (e.g. a grid barrier that never opens) still returns the rest.
# Usage: fused-check.sh [binary-dir=.device/fused]
set -uo pipefail
bin=${1:-.device/fused}
out=${OUT:-./fused-check-out}
mkdir -p "$out"
txt="$out/fused-check.txt"
: > "$txt"
here=$(cd "$(dirname "$0")" && pwd)
step() { local limit=$1; shift; echo "=== hepbnn $* ($(date -u +%H:%M:%S))" >> "$txt"; local t0=$SECONDS; timeout "$limit" "$bin/hepbnn" "$@" >> "$txt" 2>&1; echo "=== exit code $?, $((SECONDS - t0)) s" >> "$txt"; echo >> "$txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv >> "$txt" 2>&1 || true
step 100 verify --device gpu --networks 6 --json-out "$out/verify-gpu.json"
echo "=== peer-pytorch.py ($(date -u +%H:%M:%S))" >> "$txt"
PYTHONUNBUFFERED=1 timeout 60 python3 "$here/peer-pytorch.py" --batch 1 16 --seconds 0.5 --json-out "$out/peer-pytorch.json" >> "$txt" 2>&1
echo "=== exit code $?" >> "$txt"; echo >> "$txt"
for m in vgg3 vgg7; do
  step 120 bench --model $m --batch 1 16 --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-$m.json"
done
echo "=== HepBnn vs PyTorch (peer-table.py)" >> "$txt"
python3 "$here/peer-table.py" --peer "$out/peer-pytorch.json" --bench "$out/bench-vgg3.json" "$out/bench-vgg7.json" --json-out "$out/peer-table.json" >> "$txt" 2>&1
cat "$txt"
