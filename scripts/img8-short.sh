#!/usr/bin/env bash
# Runs ON the GPU machine: the short second check of gpu.tensor-core-image-rows (docs/results/h200-img8/call2): ptxas
# registers, verify on a few networks and the zoo, Nsight Compute on VGG3's and VGG7's conv1 (plans vgg{3,7}-new.json
# beside this script: conv1 on the new configuration), one `hepbnn run` of the VGG3 b256 plan. ~25 s.
set -uo pipefail
bin=${1:-.device/img8}
out=${OUT:-./img8-out}
sum="$out/summary2.txt"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
hepbnn="$bin/hepbnn"
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T)"
command -v ptxas > /dev/null && log "ptxas: $(ptxas -arch=sm_90 -v "$bin/ptx/GpuTensorCoreImageRows-Kernel.ptx" -o /dev/null 2>&1 | grep -oE 'Used [0-9]+ registers|[0-9]+ bytes spill stores' | tr '\n' ' ')"
timeout 25 "$hepbnn" verify --device gpu --networks 2 > "$out/verify2.txt" 2>&1; log "verify exit code $?"
grep -E "gpu\.tensor-core |image-rows|MISMATCH|bit-exact|block cases" "$out/verify2.txt" | head -6 >> "$sum"
for m in vgg3 vgg7; do
  HEPBNN_CUDA_GRAPHS=0 timeout 30 ncu --clock-control none --kernel-name regex:Kernel_Kernel --launch-count 1 --section SpeedOfLight \
    --section LaunchStats --section InstructionStats \
    "$hepbnn" run --model $m --plan "$bin/$m-new.json" --batch 256 --repeat 1 > "$out/ncu2-$m.txt" 2>&1
  log "== ncu $m exit $?"
  grep -E "Duration|Executed Instructions  |Registers Per|Achieved Occupancy|No Eligible|Grid Size|Waves Per SM" "$out/ncu2-$m.txt" | cut -c1-100 >> "$sum"
done
for i in 1; do
  us=$(timeout 20 "$hepbnn" run --model vgg3 --plan "$bin/vgg3-new.json" --batch 256 --repeat 2000 --json 2>/dev/null | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
  log "run vgg3 b256 default ${us:-failed}"
done
log "== done $(date -u +%T)"
cat "$sum"
