#!/usr/bin/env bash
# Issue 10 (branch cpu6), second short device call on the Xeon host (≤ BUDGET s of commands, steps in priority order),
# one binary (pool defaults back to 4 pauses/poll and yields from the start; mt-pixels-split with 8-pixel cells):
#  1. whole VGG7 b1 all-CPU plans, fixed, in one process, alternated twice (`roofline --segments-only`, with the region
#     trace): P1 = the plan found without mt-pixels-split in call 1, P3 = the plan found with it, P2 = P1 with
#     mt-pixels-split on conv3, conv5, conv6;
#  2. the VGG7 b1 block table once more (efficiencies);
#  3. VGG7 b1 all-CPU verdicts, the profile with vs without mt-pixels-split, alternated.
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
[ -f $D/hepbnn.gz ] && gunzip -f $D/hepbnn.gz
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
T=$O/cpu6-2.txt
BUDGET=${BUDGET:-40}
{ date -u; cat /proc/loadavg; head -1 /proc/stat; } > $O/host2.txt 2>&1
step() { local t=$1; shift; local left=$((BUDGET - SECONDS)); [ $left -lt $t ] && t=$left
  if [ $t -lt 4 ]; then echo "=== skipped (budget): $*" >> $T; return; fi
  echo "=== $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg), limit $t s)" >> $T
  local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
P1=cpu.rb-popcnt-rows,cpu.mt-pixels,cpu.mt-rows,cpu.mt-pixels,cpu.mt-pixels,cpu.mt-pixel-words,cpu.mt-pixel-words,cpu.mt-channels-t8
P3=cpu.rb-avx2-rows,cpu.mt-pixels,cpu.mt-pixels-split,cpu.mt-pixels-split,cpu.mt-pixels-split,cpu.mt-pixels-split,cpu.mt-pixel-words,cpu.mt-pixels-t4
P2=cpu.rb-popcnt-rows,cpu.mt-pixels,cpu.mt-pixels-split,cpu.mt-pixels,cpu.mt-pixels-split,cpu.mt-pixels-split,cpu.mt-pixel-words,cpu.mt-channels-t8
step 16 env HEPBNN_POOL_TRACE=1 $H roofline --segments-only --model vgg7 --budget-ms 60 --segment-configs $P1 $P3 $P2 $P1 $P3 $P2 --json-out $O/segments.json
step 6 $H roofline --blocks-only --model vgg7 --batch 1 --budget-ms 4 --configs cpu.simd512 cpu.mt-pixels cpu.mt-pixel-words cpu.mt-pixels-split
B="bench --device cpu --gpu none --measure-s 1 --model vgg7 --batch 1 --profile-budget-s 2.5"
step 11 $H $B
step 11 $H $B --exclude cpu.mt-pixels-split
{ head -1 /proc/stat; cat /proc/loadavg; } >> $O/host2.txt
