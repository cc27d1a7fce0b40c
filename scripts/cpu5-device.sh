#!/usr/bin/env bash
# Issue 10 (branch cpu5), one short device call on the GPU machine's 16-vCPU Xeon host (≤ BUDGET = 60 s of commands).
# Every step under `timeout`, appended to $OUT/cpu5.txt; JSONs in one tarball. Same binary throughout:
#  1. roofline VGG7 b1 (fork-join at 1/2/8/16 threads, 1-thread cpu.simd512 vs 16-thread cpu.mt-pixels and the new
#     cpu.mt-pixel-words, in a region): the new default HEPBNN_STEAL=eager (take others' unclaimed items as soon as the
#     own slice is done) alternated with the old fixed 10 µs wait, twice (vCPU speeds drift within a call);
#  2. VGG3 b1 all-CPU verdicts (two processes) with the thread census line (slow-mode diagnostic);
#  3. VGG7 b1 all-CPU verdict if the budget leaves room.
# Usage (repo root on the device): bash .device/cpu5/cpu5-device.sh
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
[ -f $D/hepbnn.gz ] && gunzip -f $D/hepbnn.gz
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
J=/tmp/cpu5-json; mkdir -p $J
T=$O/cpu5.txt
BUDGET=${BUDGET:-60}
step() { local t=$1; shift; local left=$((BUDGET - SECONDS)); [ $left -lt $t ] && t=$left
  if [ $t -lt 5 ]; then echo "=== skipped (budget): $*" >> $T; return; fi
  echo "=== HEPBNN_STEAL=${HEPBNN_STEAL:-eager} $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg), limit $t s)" >> $T
  local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
{ date -u; nproc; uptime; lscpu | grep -E "Model name|L1d|L2" | cut -c1-200; echo "/proc/stat at start (8th number: steal)"; head -1 /proc/stat; } > $O/host.txt 2>&1
R="roofline --model vgg7 --batch 1 --fork-threads 1 2 8 16 --budget-ms 4 --configs cpu.simd512 cpu.mt-pixels cpu.mt-pixel-words --segment-configs cpu.mt-pixels"
for round in 1 2; do
  step 13 $H $R --json-out $J/roofline-eager-$round.json
  HEPBNN_STEAL=fixed step 13 $H $R --json-out $J/roofline-fixed-$round.json
done
B="bench --device cpu --gpu none --measure-s 1"
step 6 $H $B --model vgg3 --batch 1 --profile-budget-s 2 --json-out $J/vgg3-b1-a.json
step 6 $H $B --model vgg3 --batch 1 --profile-budget-s 2 --json-out $J/vgg3-b1-b.json
step 12 $H $B --model vgg7 --batch 1 --profile-budget-s 4 --json-out $J/vgg7-b1.json
{ echo; uptime; echo "/proc/stat at end"; head -1 /proc/stat; } >> $O/host.txt 2>&1
tar czf $O/json.tar.gz -C $J .
