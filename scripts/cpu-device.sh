#!/usr/bin/env bash
# One short device call for the CPU path on the GPU machine's 16-core host: the roofline (fork-join and region
# hand-off/boundary costs at 4/8/16 threads; whole-model latency with one fork-join per block vs one region, in bursts
# on one pool, for single configurations and mixed per-block plans), VGG3 b1/b16 and VGG7 b1 all-CPU verdicts (CPU
# regions on, the default), VGG3 b1 with regions off, and the VGG3 b1 verdict over CPU and GPU (does a mixed plan win?).
# Each step appends to $OUT/cpu-device.txt; JSON beside it.
# Usage (from the repo root on the device): bash .device/<name>/cpu-device.sh
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
chmod +x $H
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
O=${OUT:-/tmp/out}; mkdir -p $O
T=$O/cpu-device.txt
step() { local t=$1; shift; echo "=== $* ($(date -u +%H:%M:%S))" >> $T; local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
{ date -u; nproc; uptime; lscpu | grep -E "Model name|Socket|Thread|NUMA|L2|L3" | cut -c1-200; } > $O/host.txt 2>&1
step 20 $H roofline --model vgg3 --batch 1 --fork-threads 4 8 16 --budget-ms 5 --configs cpu.simd512 --segment-configs \
  cpu.mt-pixels cpu.mt-pixels-t8 cpu.mt-pixels-t4 \
  cpu.mt-pixels-t8,cpu.mt-pixels-t8,cpu.mt-channels-t8,cpu.simd512 \
  cpu.mt-pixels-t4,cpu.mt-pixels-t4,cpu.mt-channels-t8,cpu.simd512 \
  cpu.rb-avx2-rows,cpu.mt-pixels,cpu.mt-channels,cpu.mt-rows \
  --json-out $O/roofline-vgg3.json
step 20 $H roofline --model vgg7 --batch 1 --fork-threads 16 --budget-ms 5 --configs cpu.scalar --segment-configs cpu.mt-pixels \
  cpu.rb-avx2-rows,cpu.mt-pixels,cpu.mt-rows,cpu.mt-pixels,cpu.mt-pixels,cpu.mt-pixels,cpu.mt-channels,cpu.mt-channels --json-out $O/roofline-vgg7.json
step 25 $H bench --model vgg3 --batch 1 16 --device cpu --gpu none --profile-budget-s 4 --measure-s 1.5 --json-out $O/bench-vgg3.json
HEPBNN_CPU_REGIONS=0 step 12 $H bench --model vgg3 --batch 1 --device cpu --gpu none --profile-budget-s 3 --measure-s 1
step 25 $H bench --model vgg7 --batch 1 --device cpu --gpu none --profile-budget-s 5 --measure-s 1.5 --json-out $O/bench-vgg7.json
step 30 $H bench --model vgg3 --batch 1 --device all --profile-budget-s 4 --measure-s 1.5 --json-out $O/bench-vgg3-all.json
uptime >> $O/host.txt
ls -la $O
