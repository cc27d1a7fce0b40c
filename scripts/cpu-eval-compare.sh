#!/usr/bin/env bash
# Before/after of the CPU path on this machine, one command: builds BASE (a git ref, default origin main's merge-base
# with HEAD) and the working tree, then alternates them (A B A B …) so that both see the same machine load:
#   1. per-block µs/img of VGG7 (shipped CIFAR-10 model) in cpu.simd512 (1 thread) — medians of short runs + output hash
#   2. `hepbnn eval` on the CIFAR-10 test set (batch 256, cpu.mt-batch): inference seconds and the command's wall time,
#      and the same command on 256 images (its fixed costs: runtime start, model load, reading, session, printing).
# Usage: scripts/cpu-eval-compare.sh [BASE_REF] [ROUNDS]   (CIFAR-10 in ../shared/data/cifar-10-batches-bin)
set -euo pipefail
ROOT=$(git rev-parse --show-toplevel); cd "$ROOT"
BASE=${1:-$(git merge-base HEAD main)}; ROUNDS=${2:-3}
DATA=${DATA:-$ROOT/../shared/data/cifar-10-batches-bin}; [ -d "$DATA" ] || DATA=/work/shared/data/cifar-10-batches-bin
MODEL=$ROOT/models/vgg7-cifar10.hbnn
W=$(mktemp -d /tmp/hepbnn-compare.XXXX)
git archive "$BASE" | tar -x -C "$W"
echo "base $(git rev-parse --short "$BASE") vs working tree $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'); $(nproc) cores"
for d in "$W" "$ROOT"; do
  dotnet build -c Release "$d/src/HepBnn.Cli" -v q -nologo 2>&1 | grep -E " error |rror\(s\)" || true
  [ -f "$d/bench/HepBnn.Bench/BlockTimes.cs" ] || cp "$ROOT/bench/HepBnn.Bench/BlockTimes.cs" "$ROOT/bench/HepBnn.Bench/Program.cs" "$d/bench/HepBnn.Bench/"
  dotnet build -c Release "$d/bench/HepBnn.Bench" -v q -nologo 2>&1 | grep -E " error |rror\(s\)" || true
done
for r in $(seq 1 "$ROUNDS"); do
  for side in base new; do
    d=$W; [ $side = new ] && d=$ROOT
    echo "== round $r, $side, load $(cut -d' ' -f1 /proc/loadavg)"
    dotnet "$d/bench/HepBnn.Bench/bin/Release/net10.0/HepBnn.Bench.dll" blocks "$MODEL" 16 cpu.simd512 | tail -n +3
    s=$(date +%s.%N)
    dotnet "$d/src/HepBnn.Cli/bin/Release/net10.0/hepbnn.dll" eval --model "$MODEL" --data "$DATA" | grep -E "accuracy:|speed:"
    echo "eval wall time: $(echo "$(date +%s.%N) - $s" | bc) s"
    s=$(date +%s.%N)   # start-up + reading + printing: the same command on the first 256 images
    dotnet "$d/src/HepBnn.Cli/bin/Release/net10.0/hepbnn.dll" eval --model "$MODEL" --data "$DATA" --limit 256 | grep -E "speed:"
    echo "eval --limit 256 wall time: $(echo "$(date +%s.%N) - $s" | bc) s"
  done
done
rm -rf "$W"
