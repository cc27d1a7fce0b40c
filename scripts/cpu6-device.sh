#!/usr/bin/env bash
# Issue 10 (branch cpu6), one short device call on the Xeon host (≤ BUDGET s of commands, steps in priority order, each
# under its own limit), one binary; "old" = the same binary with the worker pool's earlier hand-off
# (HEPBNN_POOL_FOR=shared HEPBNN_POOL_SPIN=4 HEPBNN_POOL_PURE_SPIN_US=0), alternated with the defaults:
#  1. fork-join / empty region / block boundary with 1, 2, 8, 16 threads for the old hand-off, each change alone and
#     the new defaults, alternated twice inside one process (`roofline --fork-only --fork-variants`);
#  2. VGG7 b1 block table (1 thread vs 16 in a region): cpu.simd512, mt-pixels, mt-pixel-words, mt-pixels-split, new
#     pool vs old, alternated;
#  3. VGG7 b1 all-CPU verdict: new defaults vs old pool with the profile left without cpu.mt-pixels-split.
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
[ -f $D/hepbnn.gz ] && gunzip -f $D/hepbnn.gz
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
T=$O/cpu6.txt
BUDGET=${BUDGET:-50}
{ date -u; nproc; lscpu | grep -E "Model name|^CPU\(s\)|Thread|Core|Socket|L1d|L2|L3|Flags" | cut -c1-200; cat /proc/loadavg; head -1 /proc/stat; } > $O/host.txt 2>&1
step() { local t=$1; shift; local left=$((BUDGET - SECONDS)); [ $left -lt $t ] && t=$left
  if [ $t -lt 4 ]; then echo "=== skipped (budget): $*" >> $T; return; fi
  echo "=== $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg), limit $t s)" >> $T
  local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
OLD="env HEPBNN_POOL_FOR=shared HEPBNN_POOL_SPIN=4 HEPBNN_POOL_PURE_SPIN_US=0"
NEW="env HEPBNN_POOL_FOR=sliced"
R="roofline --blocks-only --model vgg7 --batch 1 --budget-ms 4 --configs cpu.simd512 cpu.mt-pixels cpu.mt-pixel-words cpu.mt-pixels-split"
B="bench --device cpu --gpu none --measure-s 1 --model vgg7 --batch 1 --profile-budget-s 2.5"
step 6 $NEW $H roofline --fork-only --fork-variants --fork-threads 1 2 8 16 --json-out $O/fork.json
step 8 $NEW $H $R
step 8 $OLD $H $R
step 12 $NEW $H $B
step 12 $OLD $H $B --exclude cpu.mt-pixels-split
step 8 $NEW $H $R
step 8 $OLD $H $R
head -1 /proc/stat >> $O/host.txt; cat /proc/loadavg >> $O/host.txt
