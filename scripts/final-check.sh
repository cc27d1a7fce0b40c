#!/usr/bin/env bash
# Runs ON the GPU machine in one call (within its 10-minute limit): the quick plan-check (HEP-BNN verdicts of vgg3/vgg7 at
# batch 1/16/256 with the PyTorch peer; see plan-check.sh), per-block MMA fractions, charts of the VGG7 verdicts, the
# demo, eval of both shipped models on their bundled samples with the GPU mapping, the CPU roofline, and verify.
# Everything goes into ONE archive, $OUT/final.tar.gz (the device returns at most 8 files), and the text log also to
# $OUT/final.txt.
# FINAL_QUICK=1 leaves out the charts, demo, evals and roofline (a call short of device time). TWIN_NETWORKS (default 2)
# and TWIN_LIMIT (s, default 110) size the twins' verify.
# Then verify once more with programmatic dependent launch on (opt-in), so that it stays bit-exact on a real GPU; mapped
# host I/O needs no run of its own: verify runs every whole-session plan with copies and mapped.
# Usage: final-check.sh [binary-dir=.device/final]
set -uo pipefail
bin=${1:-.device/final}
here=$(cd "$(dirname "$0")" && pwd)
out=${OUT:-./final-check-out}
work=$(mktemp -d)/final
mkdir -p "$out" "$work/plots"
hepbnn="$bin/hepbnn"
log="$work/final.txt"
# step ARGS: one hepbnn command, logged; LIMIT=N (seconds) before it stops it after N s (timeout 0 = no limit).
step() { echo "=== hepbnn $* (${LIMIT:+limit $LIMIT s, }$(date -u +%H:%M:%S))" >> "$log"; local t0=$SECONDS; timeout "${LIMIT:-0}" "$hepbnn" "$@" >> "$log" 2>&1; echo "=== exit code $?, $((SECONDS - t0)) s" >> "$log"; echo >> "$log"; }
pack() { tar -C "$(dirname "$work")" -czf "$out/final.tar.gz" final; cp "$log" "$out/final.txt"; }
trap pack EXIT
OUT="$work" bash "$here/plan-check.sh" "$bin" quick
# the b256 found plans in a serving session (default Run, plain staging copy, I/O binding): bench interleaves 10 plans
[ -f "$here/io-binding-check.sh" ] && timeout 90 bash "$here/io-binding-check.sh" "$bin" "$work" > "$work/io-binding.txt" 2>&1
[ -f "$here/mma-fraction.py" ] && python3 "$here/mma-fraction.py" 4806 "$work/bench-vgg3.json" "$work/bench-vgg7.json" > "$work/mma-fraction.txt" 2>&1
# constant-shape twins (the band twin and gemv twins first: the newest; on by default: plan-check's b1/b16 benches already profile them): verify checks them only when
# named (a kernel compile per block case), here with whole sessions of twins too; both forms (-const, -const-unrolled)
LIMIT=${TWIN_LIMIT:-110} HEPBNN_CONST_SHAPES=1 step verify --device gpu --networks ${TWIN_NETWORKS:-2} --configs gpu.tensor-core-wide-2m-r128-band-const gpu.gemv-const gpu.gemv-const-unrolled gpu.tensor-core-const gpu.tensor-core-image-rows-const gpu.tensor-core-wide-deep-const gpu.tensor-core-wide-split-const gpu.tensor-core-wide-2m-r128-fold-const gpu.tensor-core-const-unrolled gpu.tensor-core-image-rows-const-unrolled gpu.tensor-core-wide-deep-const-unrolled gpu.tensor-core-wide-split-const-unrolled gpu.tensor-core-wide-2m-r128-fold-const-unrolled
# FINAL_QUICK=1 (a call short of device time) skips the charts, the demo, the evals and the roofline
if [ -z "${FINAL_QUICK:-}" ]; then
  step bench --model vgg7 --batch 1 256 --measure-s 1 --profile-budget-s 3 --plot-dir "$work/plots"
  step demo
  step eval --model models/vgg3-fashion-mnist.hbnn --data models/samples/fashion-mnist-test-500 --config gpu.tensor-core
  # the shipped VGG7 has per-channel input divisors: the tensor-core image kernel refuses its first block, so it runs the
  # mapped GPU plan (every block on the GPU configuration the planner found best for it)
  step map --model models/vgg7-cifar10.hbnn --batch 100 --device gpu --profile-budget-s 2 --top 1 --out "$work/vgg7-cifar10-gpu-plan.json"
  step eval --model models/vgg7-cifar10.hbnn --data models/samples/cifar10-test-100 --batch 100 --plan "$work/vgg7-cifar10-gpu-plan.json"
  step roofline
  step verify   # plan-check ran verify --networks 8 already
fi
# under a limit: an opt-in mode's first verify on the H200 (helper pdl, run2) had not printed after 18 s
LIMIT=45 HEPBNN_PDL=1 step verify --device gpu --networks 4 --skip-zoo
