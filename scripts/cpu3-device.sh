#!/usr/bin/env bash
# Issue 10 (branch cpu3), one device call on the GPU machine's 16-core Xeon host: are CPU predictions honest, and what
# do VGG7's big blocks get from 16 threads. Every step under `timeout`, appended to $OUT/cpu3.txt; JSONs in one tarball.
#  1. host: load and the busiest processes (a burst of load from something else is one suspect for bad predictions).
#  2. VGG3 b1 all-CPU verdicts, 64-byte-aligned kernel arrays (default) and HEPBNN_ALIGN=0 (plain placement: the
#     suspect for identical kernels timing differently per session), same binary, alternated, 3 rounds; then one
#     saved profile per setting re-used by two more verdicts (prediction drift with the profile held fixed).
#  3. VGG7 b1 all-CPU verdict (aligned twice, plain once), VGG3 b16 all-CPU verdict (cpu.mt-dense-pairs for fc1).
#  4. roofline: VGG7 blocks at b1 and b16, 1 thread vs 16 (cpu.mt-pixels, cpu.mt-rows, cpu.mt-tiles): parallel efficiency.
#  5. VGG3 b1 verdict over CPU and GPU (does the optimizer now keep the all-CPU plan).
# Usage (repo root on the device): bash .device/cpu3/cpu3-device.sh   (~100 s)
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
chmod +x $H
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
O=${OUT:-/tmp/out}; mkdir -p $O
J=/tmp/cpu3-json; mkdir -p $J
T=$O/cpu3.txt
step() { local t=$1; shift; echo "=== $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))" >> $T; local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
{ date -u; nproc; uptime; lscpu | grep -E "Model name|Socket|Thread|NUMA|L2|L3|Hypervisor|MHz" | cut -c1-200; echo; top -bn1 -w 200 | head -25; } > $O/host.txt 2>&1
B="bench --model vgg3 --batch 1 --device cpu --gpu none --profile-budget-s 2.5 --measure-s 1"
for r in 1 2 3; do
  HEPBNN_ALIGN=1 step 15 $H $B --json-out $J/vgg3-b1-align-$r.json
  HEPBNN_ALIGN=0 step 15 $H $B --json-out $J/vgg3-b1-plain-$r.json
done
for a in 1 0; do
  HEPBNN_ALIGN=$a step 15 $H profile --model vgg3 --batch 1 --device cpu --profile-budget-s 2.5 -o $J/profile-vgg3-b1-align$a.json
  for r in 1 2; do HEPBNN_ALIGN=$a step 10 $H bench --model vgg3 --batch 1 --device cpu --gpu none --profile $J/profile-vgg3-b1-align$a.json --measure-s 1 --json-out $J/vgg3-b1-fixed-align$a-$r.json; done
done
B7="bench --model vgg7 --batch 1 --device cpu --gpu none --profile-budget-s 3 --measure-s 1"
HEPBNN_ALIGN=1 step 20 $H $B7 --json-out $J/vgg7-b1-align-1.json
HEPBNN_ALIGN=0 step 20 $H $B7 --json-out $J/vgg7-b1-plain-1.json
HEPBNN_ALIGN=1 step 20 $H $B7 --json-out $J/vgg7-b1-align-2.json
step 15 $H bench --model vgg3 --batch 16 --device cpu --gpu none --profile-budget-s 2.5 --measure-s 1 --layers --json-out $J/vgg3-b16.json
R7="roofline --model vgg7 --fork-threads 16 --budget-ms 6 --configs cpu.simd512 cpu.mt-pixels cpu.mt-rows cpu.mt-tiles --segment-configs cpu.mt-tiles"
step 25 $H $R7 --batch 1 --json-out $J/roofline-vgg7-b1.json
step 30 $H $R7 --batch 16 --json-out $J/roofline-vgg7-b16.json
step 25 $H bench --model vgg3 --batch 1 --device all --profile-budget-s 3 --measure-s 1 --json-out $J/vgg3-b1-all.json
{ echo; uptime; top -bn1 -w 200 | head -15; } >> $O/host.txt 2>&1
tar czf $O/json.tar.gz -C $J .
ls -la $O
