#!/usr/bin/env bash
# Issue 10 (branch cpu4), one device call on the GPU machine's 16-core Xeon host (≤ BUDGET = 110 s). Every step under `timeout`,
# appended to $OUT/cpu4.txt; JSONs in one tarball.
#  1. host + CPU topology as the guest sees it (lscpu -e, SMT sibling lists).
#  2. smt-probe (C, built here with gcc): a port-bound and a latency-bound AVX-512 loop on threads pinned to CPU sets
#     ({0}, pairs, 0-7, evens, all 16): do 16 vCPUs give 16 cores' vector throughput, or are some SMT siblings?
#     (VGG7's big convs get ~47 % of 16x their 1-thread speed even at b16, where partitions and waits cost nothing.)
#  3. roofline VGG7 b1 and b16: cpu.simd512 vs cpu.mt-pixels / -t8 / cpu.mt-tiles, parallel efficiency in a region.
#  4. the same blocks on 8 threads pinned to vCPUs 0-7 vs the even ones (taskset: the pool takes the affinity's size);
#     and with HEPBNN_PIN_WORKERS=1 (each pool helper on its own vCPU) vs the default (the guest scheduler places them).
#  5. VGG3 all-CPU verdicts b1 + b16, ImageRows512 on (default) vs HEPBNN_IMAGE_ROWS=0, same binary.
# Usage (repo root on the device): bash .device/cpu4/cpu4-device.sh
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
[ -f $D/hepbnn.gz ] && gunzip -f $D/hepbnn.gz
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
J=/tmp/cpu4-json; mkdir -p $J
T=$O/cpu4.txt
# every step under its own limit and the whole script under BUDGET seconds (steps in priority order; one that would not
# fit the rest of the budget is cut to it, or skipped under 5 s)
BUDGET=${BUDGET:-110}
step() { local t=$1; shift; local left=$((BUDGET - SECONDS)); [ $left -lt $t ] && t=$left
  if [ $t -lt 5 ]; then echo "=== skipped (budget): $*" >> $T; return; fi
  echo "=== $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg), limit $t s)" >> $T; local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
{ date -u; nproc; uptime; lscpu | grep -E "Model name|Socket|Thread|Core|NUMA|L1d|L2|L3|Hypervisor|MHz|Flags" | cut -c1-300; lscpu -e;
  for c in /sys/devices/system/cpu/cpu[0-9]*; do echo "$(basename $c): siblings $(cat $c/topology/thread_siblings_list 2>/dev/null) core $(cat $c/topology/core_id 2>/dev/null)"; done;
  top -bn1 -w 200 | head -12; echo "/proc/stat at start (8th number: steal)"; head -1 /proc/stat; } > $O/host.txt 2>&1
if command -v gcc >/dev/null && gcc -O2 -mavx512f -pthread $D/smt-probe.c -o /tmp/smt-probe 2>>$T; then
  step 10 /tmp/smt-probe 0 0,1 0,8 0,15 0-7 8-15 0,2,4,6,8,10,12,14 1,3,5,7,9,11,13,15 0-15
else echo "no gcc: smt-probe skipped" >> $T; fi
R7="roofline --model vgg7 --fork-threads 1 2 8 16 --budget-ms 6 --configs cpu.simd512 cpu.mt-pixels cpu.mt-pixels-t8 cpu.mt-tiles --segment-configs cpu.mt-tiles"
step 20 $H $R7 --batch 1 --json-out $J/roofline-vgg7-b1.json
HEPBNN_PIN_WORKERS=1 step 20 $H $R7 --batch 1 --json-out $J/roofline-vgg7-b1-pinned.json
B="bench --model vgg3 --device cpu --gpu none --profile-budget-s 2 --measure-s 1"
step 12 $H $B --batch 1 --batch 16 --layers --json-out $J/vgg3-rows-on.json
HEPBNN_IMAGE_ROWS=0 step 10 $H $B --batch 16 --layers --json-out $J/vgg3-b16-rows-off.json
R8="roofline --model vgg7 --batch 16 --fork-threads 8 16 --budget-ms 6 --configs cpu.mt-pixels --segment-configs cpu.mt-pixels"
step 12 $H $R8 --json-out $J/roofline-vgg7-b16-all16.json
step 12 taskset -c 0-7 $H $R8 --json-out $J/roofline-vgg7-b16-cpus0-7.json
step 12 taskset -c 0,2,4,6,8,10,12,14 $H $R8 --json-out $J/roofline-vgg7-b16-even.json
step 25 $H $R7 --batch 16 --json-out $J/roofline-vgg7-b16.json
HEPBNN_PIN_WORKERS=1 step 25 $H $R7 --batch 16 --json-out $J/roofline-vgg7-b16-pinned.json
{ echo; uptime; echo "/proc/stat at end"; head -1 /proc/stat; } >> $O/host.txt 2>&1
tar czf $O/json.tar.gz -C $J .
ls -la $O
