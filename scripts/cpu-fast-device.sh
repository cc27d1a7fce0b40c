#!/usr/bin/env bash
# One device call for issue 10: the CPU path on the GPU machine's 16-core host (no GPU used).
# Usage (from the repo root on the device): bash .device/cpu-fast/cpu-fast-device.sh
H=.device/cpu-fast/hepbnn
chmod +x $H
O=${OUT:-/tmp/out}; mkdir -p $O
{ date -u; nproc; uptime; lscpu | grep -E "Model name|Flags" | cut -c1-400; } > $O/host.txt 2>&1
timeout 30 $H bench --model vgg3 --batch 1 16 --device cpu --gpu none --layers --profile-budget-s 5 --measure-s 2 --json-out $O/bench-vgg3.json > $O/bench-vgg3.txt 2>&1
timeout 40 $H roofline --model vgg3 vgg7 --batch 1 16 --fork-threads 1 2 8 16 --budget-ms 15 --json-out $O/roofline.json > $O/roofline.txt 2>&1
timeout 45 $H bench --model vgg7 --batch 1 16 --device cpu --gpu none --layers --profile-budget-s 8 --measure-s 2 --json-out $O/bench-vgg7.json > $O/bench-vgg7.txt 2>&1
uptime >> $O/host.txt
ls -la $O
