#!/usr/bin/env bash
# Issue 10, VGG3 batch 1 all-CPU on the GPU machine's 16-core Xeon host (branch cpub1): where a run's time goes and
# whether late helpers hold it. One short device call; every step under `timeout`, appended to $OUT/cpu-b1.txt.
#  1. roofline: fork-join / region costs at 1..16 threads, and whole-model runs of three plans with one fork-join per
#     block vs one region, with the per-run trace (HEPBNN_POOL_TRACE=1: caller's share, join, latest helper start,
#     helpers skipped; typical runs vs the slowest tenth) — with late helpers skipped (the default) and waited for
#     (HEPBNN_POOL_CANCEL=0, the previous behaviour), same binary, back to back.
#  2. VGG3 b1 CPU verdicts: default, previous join, and a pool of 8 threads (DOTNET_PROCESSOR_COUNT=8).
#  3. MODE=final only: VGG7 b1 single-thread vs 16-thread blocks (parallel efficiency) and its CPU verdict; the VGG3 b1
#     verdict over CPU and GPU (GPU plans run between the CPU runs, as in plan-check).
# Usage (repo root on the device): bash .device/<name>/cpu-b1-device.sh   (MODE=final adds step 3)
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
chmod +x $H
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
O=${OUT:-/tmp/out}; mkdir -p $O
T=$O/cpu-b1.txt
step() { local t=$1; shift; echo "=== $* ($(date -u +%H:%M:%S))" >> $T; local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
{ date -u; nproc; uptime; lscpu | grep -E "Model name|Socket|Thread|NUMA|L2|L3|Hypervisor" | cut -c1-200; } > $O/host.txt 2>&1
FOUND=cpu.rb-popcnt-rows,cpu.mt-rows,cpu.mt-channels,cpu.mt-pixels-t4
T8=cpu.mt-pixels-t8,cpu.mt-pixels-t8,cpu.mt-channels-t8,cpu.mt-pixels-t4
PIX=cpu.rb-popcnt-rows,cpu.mt-pixels,cpu.mt-channels,cpu.mt-pixels-t4
R="roofline --model vgg3 --batch 1 --fork-threads 1 4 8 16 --budget-ms 4 --configs cpu.simd512 --segment-configs $FOUND $T8 $PIX"
export HEPBNN_POOL_TRACE=1
step 20 $H $R --json-out $O/roofline-skip.json
HEPBNN_POOL_CANCEL=0 step 20 $H $R --json-out $O/roofline-wait.json
unset HEPBNN_POOL_TRACE
B="bench --model vgg3 --batch 1 --device cpu --gpu none --profile-budget-s 2.5 --measure-s 1"
step 15 $H $B --json-out $O/bench-vgg3.json
HEPBNN_POOL_CANCEL=0 step 15 $H $B
DOTNET_PROCESSOR_COUNT=8 step 15 $H $B
if [ "${MODE:-}" = final ]; then
  step 20 $H roofline --model vgg7 --batch 1 --fork-threads 16 --budget-ms 4 --configs cpu.simd512 cpu.mt-pixels cpu.mt-rows --segment-configs cpu.mt-pixels --json-out $O/roofline-vgg7.json
  step 25 $H bench --model vgg7 --batch 1 --device cpu --gpu none --profile-budget-s 4 --measure-s 1 --json-out $O/bench-vgg7.json
  step 30 $H bench --model vgg3 --batch 1 --device all --profile-budget-s 3 --measure-s 1 --json-out $O/bench-vgg3-all.json
fi
uptime >> $O/host.txt
ls -la $O
