#!/usr/bin/env bash
# Issue 10 (branch cpu3), second short device call: why back-to-back all-CPU VGG3 b1 runs are bimodal (p10 ~18 µs,
# median ~36 µs in call 1) while the same plans interleaved with GPU plans run at ~19. Suspect: the runtime's own
# threads (tiered JIT's background compiler early in a process) taking one of the 16 cores that 16 participants need.
# Same binary: region trace; CPU verdicts by default, without tiered compilation / PGO, and with 15 of 16 cores.
D=$(cd "$(dirname "$0")" && pwd)
H=$D/hepbnn
chmod +x $H
[ -f $D/libSkiaSharp.so.gz ] && gunzip -f $D/libSkiaSharp.so.gz
O=${OUT:-/tmp/out}; mkdir -p $O
T=$O/cpu3-call2.txt
step() { local t=$1; shift; echo "=== $* ($(date -u +%H:%M:%S), load $(cut -d' ' -f1 /proc/loadavg))" >> $T; local t0=$SECONDS; timeout $t "$@" >> $T 2>&1; echo "=== exit $?, $((SECONDS - t0)) s" >> $T; }
uptime > $O/host2.txt
FOUND=cpu.rb-avx512-rows,cpu.mt-pixels,cpu.mt-dense-pairs,cpu.mt-pixels-t4
HEPBNN_POOL_TRACE=1 step 15 $H roofline --model vgg3 --batch 1 --fork-threads 16 --budget-ms 4 --configs cpu.simd512 --segment-configs $FOUND
B="bench --model vgg3 --batch 1 --device cpu --gpu none --profile-budget-s 2 --measure-s 1"
step 12 $H $B
DOTNET_TieredCompilation=0 step 12 $H $B
DOTNET_TieredPGO=0 step 12 $H $B
DOTNET_PROCESSOR_COUNT=15 step 12 $H $B
DOTNET_TieredCompilation=0 step 12 $H $B
step 12 $H $B
uptime >> $O/host2.txt
