#!/usr/bin/env bash
# Runs ON the GPU machine in one call: the HEP-BNN verdict (profile → map → found plan vs top-5 and baselines) for vgg3
# and vgg7 at batch 1, 16 and 256 with per-layer tables, then the demo, the found plan vs ONNX Runtime CPU (batch 1, 64)
# and a short verify. Text goes to $OUT/plan-check.txt
# (appended as it runs, so a cut-off run still returns what finished), JSON to $OUT/bench-<model>.json, charts to $OUT/plots.
# Usage: plan-check.sh [binary-dir=.device/gpu]
set -uo pipefail
bin=${1:-.device/gpu}
out=${OUT:-./plan-check-out}
mkdir -p "$out/plots"
txt="$out/plan-check.txt"
: > "$txt"
hepbnn="$bin/hepbnn"
step() { echo "=== hepbnn $* ($(date -u +%H:%M:%S))" >> "$txt"; local t0=$SECONDS; "$hepbnn" "$@" >> "$txt" 2>&1; echo "=== exit code $?, $((SECONDS - t0)) s" >> "$txt"; echo >> "$txt"; }
nvidia-smi --query-gpu=name,driver_version --format=csv >> "$txt" 2>&1 || true
nproc >> "$txt"
step bench --model vgg3 --batch 1 16 256 --layers --json-out "$out/bench-vgg3.json"
step bench --model vgg7 --batch 1 16 256 --layers --json-out "$out/bench-vgg7.json"
step bench --model vgg7 --batch 1 --plot-dir "$out/plots"
step demo
step transfers --batch 256
step bench --model vgg3 --batch 1 64 --onnxruntime --measure-s 2
step bench --model vgg7 --batch 1 64 --onnxruntime --measure-s 2
step verify --networks 8
