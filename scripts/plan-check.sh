#!/usr/bin/env bash
# Runs ON the GPU machine in one call: the HEP-BNN verdict (profile → map → found plan vs top-5 and baselines) for vgg3
# and vgg7 at batch 1, 16 and 256 with CUDA graphs on (the default; bench measures the found plan with graphs off too, in
# the same interleaved rounds), the PyTorch float peer
# (peer-pytorch.py, eager and CUDA graph) in the same run, a table HepBnn vs PyTorch (peer-table.py), transfers and
# launch/graph overheads, and a short verify. Text goes to $OUT/plan-check.txt (appended as it runs, so a cut-off run
# still returns what finished; the PyTorch peer runs first), JSON to $OUT/bench-<model>.json, $OUT/peer-pytorch.json, $OUT/peer-table.json.
# Usage: plan-check.sh [binary-dir=.device/gpu] [quick]   (quick: shorter budgets, no charts/ONNX Runtime/demo)
set -uo pipefail
bin=${1:-.device/gpu}
quick=${2:-}
out=${OUT:-./plan-check-out}
mkdir -p "$out"
txt="$out/plan-check.txt"
: > "$txt"
hepbnn="$bin/hepbnn"
here=$(cd "$(dirname "$0")" && pwd)
step() { echo "=== hepbnn $* ($(date -u +%H:%M:%S))" >> "$txt"; local t0=$SECONDS; "$hepbnn" "$@" >> "$txt" 2>&1; echo "=== exit code $?, $((SECONDS - t0)) s" >> "$txt"; echo >> "$txt"; }
nvidia-smi --query-gpu=name,driver_version --format=csv >> "$txt" 2>&1 || true
nproc >> "$txt"
measure=4; profile=6; peer_s=1
[ -n "$quick" ] && { measure=1; profile=3; peer_s=0.5; }
step transfers --batch 256
# The peer first: it is independent and cheap, and a run cut off later still has it.
echo "=== peer-pytorch.py ($(date -u +%H:%M:%S))" >> "$txt"
has_torch=0
if python3 -c 'import torch' 2>/dev/null; then
  has_torch=1
  PYTHONUNBUFFERED=1 python3 "$here/peer-pytorch.py" --batch 1 16 256 --seconds $peer_s --json-out "$out/peer-pytorch.json" --txt-out "$out/peer-pytorch.txt" >> "$txt" 2>&1
  echo "=== exit code $?" >> "$txt"
else
  echo "python3 has no torch here: PyTorch peer skipped" >> "$txt"
fi
echo >> "$txt"
for m in vgg3 vgg7; do
  step bench --model $m --batch 1 16 256 --layers --measure-s $measure --profile-budget-s $profile --json-out "$out/bench-$m.json"
done
if [ $has_torch -eq 1 ]; then
  echo "=== HepBnn vs PyTorch (peer-table.py)" >> "$txt"
  python3 "$here/peer-table.py" --peer "$out/peer-pytorch.json" --bench "$out/bench-vgg3.json" "$out/bench-vgg7.json" \
    --json-out "$out/peer-table.json" >> "$txt" 2>&1
fi
echo >> "$txt"
if [ -z "$quick" ]; then
  mkdir -p "$out/plots"
  step bench --model vgg7 --batch 1 --plot-dir "$out/plots"
  step demo
  step bench --model vgg3 --batch 1 64 --onnxruntime --measure-s 2
  step bench --model vgg7 --batch 1 64 --onnxruntime --measure-s 2
fi
step verify --networks 8
