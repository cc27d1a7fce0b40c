#!/usr/bin/env bash
# One device call (≤ 2 min) for the CPU path on the GPU machine's 16-core host (no GPU used):
# VGG3 b1/b16 and VGG7 b1 all-CPU plans, and the roofline (peaks, fork-join at 1/2/8/16 threads, one region vs
# per-block fork-joins, VGG7 blocks in cpu.simd512 / cpu.mt-pixels).
# Usage (from the repo root on the device): bash .device/cpu/cpu-device.sh
H=.device/cpu/hepbnn
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
{ date -u; nproc; uptime; lscpu | grep -E "Model name|Flags" | cut -c1-400; } > $O/host.txt 2>&1
timeout 30 $H roofline --model vgg3 --batch 1 16 --fork-threads 1 2 8 16 --budget-ms 20 --configs cpu.simd512 cpu.mt-pixels cpu.mt-rows --json-out $O/roofline-vgg3.json > $O/roofline-vgg3.txt 2>&1
timeout 25 $H roofline --model models/vgg7-cifar10.hbnn --batch 1 --fork-threads 16 --budget-ms 20 --configs cpu.simd512 cpu.mt-pixels --segment-configs cpu.mt-pixels --json-out $O/roofline-vgg7.json > $O/roofline-vgg7.txt 2>&1
timeout 25 $H bench --model vgg3 --batch 1 16 --device cpu --gpu none --profile-budget-s 5 --measure-s 2 --json-out $O/bench-vgg3.json > $O/bench-vgg3.txt 2>&1
timeout 25 $H bench --model vgg7 --batch 1 --device cpu --gpu none --profile-budget-s 6 --measure-s 2 --json-out $O/bench-vgg7.json > $O/bench-vgg7.txt 2>&1
uptime >> $O/host.txt
ls -la $O
