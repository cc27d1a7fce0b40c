#!/usr/bin/env bash
# Issue 11's and issue 10's 2-core targets in one command (run it on an idle machine; it prints the load average):
#   1. `hepbnn eval` of the shipped VGG7 on the full CIFAR-10 test set, ROUNDS times: the whole command's wall time
#      (target < 5 s), its inference and reading seconds;
#   2. `hepbnn bench --model vgg3 --batch 1 --batch 16 --device cpu --onnxruntime --layers`: the found plan vs ONNX
#      Runtime float32 in the same run (targets: b1 ≤ 45 µs, ORT / HepBnn ≥ 10x at b1 and b16).
# Usage: scripts/cpu-targets.sh [ROUNDS]   (CIFAR-10 in ../shared/data/cifar-10-batches-bin or /work/shared/data/…)
set -euo pipefail
ROOT=$(git rev-parse --show-toplevel); cd "$ROOT"
ROUNDS=${1:-3}
DATA=${DATA:-$ROOT/../shared/data/cifar-10-batches-bin}; [ -d "$DATA" ] || DATA=/work/shared/data/cifar-10-batches-bin
dotnet build -c Release src/HepBnn.Cli -v q -nologo 2>&1 | grep -E " error |rror\(s\)" || true
CLI="dotnet src/HepBnn.Cli/bin/Release/net10.0/hepbnn.dll"
echo "$(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), $(nproc) cores, $(date -u +%H:%M) UTC"
for r in $(seq 1 "$ROUNDS"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  s=$(date +%s.%N)
  out=$($CLI eval --model models/vgg7-cifar10.hbnn --data "$DATA")
  e=$(date +%s.%N)
  echo "eval round $r (load $load): wall $(echo "$e - $s" | bc | cut -c1-5) s; $(grep -E '^top-1' <<<"$out"); $(grep -E '^speed' <<<"$out")"
done
echo "load $(cut -d' ' -f1 /proc/loadavg) before the VGG3 bench"
$CLI bench --model vgg3 --batch 1 --batch 16 --device cpu --onnxruntime --layers 2>&1 | tail -n 9
