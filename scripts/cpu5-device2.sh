#!/usr/bin/env bash
# Issue 10 (branch cpu5), second short device call (≤ BUDGET = 26 s of commands), same binary as cpu5-device.sh: is the
# tiered-compilation background thread the slow-mode cause? The first call's thread census showed ".NET Tiered
# Compilation" taking 150–380 ms of CPU during each 2–3 s measurement, and one pool worker (the one sharing its vCPU
# with it) 2–60 k involuntary switches while the others had ~100. DOTNET_TieredCompilation=0 (every method compiled
# optimized at first call: no background JIT) vs the default, alternated: roofline VGG7 b1 and VGG3 b1 all-CPU verdicts.
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
[ -f $D/hepbnn.gz ] && gunzip -f $D/hepbnn.gz
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
T=$O/cpu5-tc.txt
BUDGET=${BUDGET:-26}
step() { local t=$1; shift; local left=$((BUDGET - SECONDS)); [ $left -lt $t ] && t=$left
  if [ $t -lt 4 ]; then echo "=== skipped (budget): $*" >> $T; return; fi
  echo "=== DOTNET_TieredCompilation=${DOTNET_TieredCompilation:-default} $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg), limit $t s)" >> $T
  local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
R="roofline --model vgg7 --batch 1 --fork-threads 16 --budget-ms 4 --configs cpu.simd512 cpu.mt-pixels cpu.mt-pixel-words --segment-configs cpu.mt-pixels"
B="bench --device cpu --gpu none --measure-s 1 --model vgg3 --batch 1 --profile-budget-s 2"
DOTNET_TieredCompilation=0 step 9 $H $R
step 9 $H $R
DOTNET_TieredCompilation=0 step 5 $H $B
step 5 $H $B
