#!/usr/bin/env bash
# Runs ON the GPU machine after final-check.sh, in the same call: CPU-only checks on its 16-core Xeon host (issue 10),
# each step under its own limit and the whole under BUDGET seconds (steps in priority order), appended to
# $OUT/cpu-xeon.txt:
#  1. VGG3 b1 all-CPU verdict twice (two processes: predictions track the process; a process can land in a slow mode);
#  2. VGG7 b1 roofline twice (16-thread efficiency of the big blocks, measured in a region: cpu.mt-pixels,
#     cpu.mt-pixel-words and cpu.mt-pixels-split against 1-thread cpu.simd512; two processes, as the vCPUs drift);
#  3. VGG7 b1 and VGG3 b16 all-CPU verdicts.
# Usage: final-xeon.sh [binary-dir=.device/final]
set -uo pipefail
bin=${1:-.device/final}
out=${OUT:-./final-xeon-out}; mkdir -p "$out"
log="$out/cpu-xeon.txt"
BUDGET=${BUDGET:-100}
step() { local t=$1; shift; local left=$((BUDGET - SECONDS)); [ $left -lt $t ] && t=$left
  if [ $t -lt 5 ]; then echo "=== skipped (budget): $*" >> "$log"; return; fi
  echo "=== ${STEAL:+HEPBNN_STEAL=$STEAL }$* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg), limit $t s)" >> "$log"
  local t0=$SECONDS; HEPBNN_STEAL=${STEAL:-eager} timeout "$t" "$bin/hepbnn" "$@" >> "$log" 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> "$log"; }
B="bench --device cpu --gpu none --measure-s 1"
step 10 $B --model vgg3 --batch 1 --profile-budget-s 2.5
step 10 $B --model vgg3 --batch 1 --profile-budget-s 2.5
R="roofline --model vgg7 --batch 1 --fork-threads 16 --budget-ms 4 --configs cpu.simd512 cpu.mt-pixels cpu.mt-pixel-words cpu.mt-pixels-split"
for round in 1 2; do step 14 $R; done
step 15 $B --model vgg7 --batch 1 --profile-budget-s 4
step 12 $B --model vgg3 --batch 16 --profile-budget-s 3
