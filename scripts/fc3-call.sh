#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper fc3; docs/results/h200-fc3/): VGG3 batch 256 with fc1+fc2 as one
# dense-pair kernel (a gpu.fused range of the two dense blocks, GpuTensorCoreDensePair). Beside this script: the CLI,
# vgg3-256-perblock.json (session 8's found plan: fc1 gpu.tensor-core-wide-deep, fc2 gpu.warp-reduce, mapped host I/O)
# and vgg3-256-pair.json (the same plan with fc1, fc2 as one gpu.fused range), nsys-gaps.py.
# Steps (each bounded, in order of importance): verify (the dense pair is checked as the last-two-blocks range of every
# model), `hepbnn run` of the two plans alternated 3 times (+ I/O binding once each), bench vgg3 b256 --layers (does the
# profiler pick the range; verdict with the best per-block plan in the same rounds), Nsight Systems on the pair plan
# (per-kernel durations and the gaps between the graph's nodes).
# Usage: fc3-call.sh [binary-dir=.device/fc3]
set -uo pipefail
bin=${1:-.device/fc3}
out=${OUT:-./fc3-out}
mkdir -p "$out"
sum="$out/summary.txt"
cd "$bin" && { [ -f libSkiaSharp.so.gz ] && gunzip -f libSkiaSharp.so.gz; [ -f hepbnn.gz ] && gunzip -f hepbnn.gz; chmod +x hepbnn; cd - > /dev/null; }
hepbnn="$bin/hepbnn"
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
timeout ${VERIFY_S:-30} "$hepbnn" verify --device gpu --networks ${NETWORKS:-2} > "$out/verify.txt" 2>&1; log "verify exit code $? ($(date -u +%T))"
grep -E "FAIL|MISMATCH|bit-exact|block cases|gpu.fused ranges" "$out/verify.txt" | cut -c1-200 | head -8 >> "$sum"

log "== runs ($(date -u +%T)): median µs, hepbnn run --batch 256 --repeat 3000 (plan's host I/O: mapped)"
run1() { # tag plan [args]
  local tag=$1 plan=$2; shift 2
  local us
  us=$(timeout 15 "$hepbnn" run --model vgg3 --plan "$plan" --batch 256 --repeat 3000 --json "$@" \
    2> /dev/null | tee -a "$out/runs.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
  log "run $tag ${us:-failed}"
}
for pass in 1 2 3; do
  run1 per-block "$bin/vgg3-256-perblock.json"
  run1 dense-pair "$bin/vgg3-256-pair.json"
done
run1 per-block-io-binding "$bin/vgg3-256-perblock.json" --io-binding
run1 dense-pair-io-binding "$bin/vgg3-256-pair.json" --io-binding
grep -ho '"gpuExecution": *"[^"]*"' "$out/runs.json" | sort | uniq -c >> "$sum"

log "== bench vgg3 b256 ($(date -u +%T))"
timeout ${BENCH_S:-35} "$hepbnn" bench --model vgg3 --batch 256 --layers --measure-s 1 --profile-budget-s 2 --json-out "$out/bench-vgg3.json" > "$out/bench-vgg3.txt" 2>&1
log "exit code $? ($(date -u +%T))"
grep -E "found plan|verdict|beaten|per-block plan|fc1 |fc2 " "$out/bench-vgg3.txt" | cut -c1-250 | head -16 >> "$sum"

log "== nsys, dense-pair plan ($(date -u +%T))"
nsys1() { # tag env
  local rep=/tmp/fc3-nsys-$1
  env "$2" timeout ${NSYS_S:-30} nsys profile -t cuda --cuda-graph-trace=node -o "$rep" --force-overwrite true \
    "$hepbnn" run --model vgg3 --plan "$bin/vgg3-256-pair.json" --batch 256 --repeat 400 > /dev/null 2>&1
  log "nsys $1 exit code $? ($(date -u +%T))"
  timeout 20 nsys stats -r cuda_gpu_trace -f csv -o "$rep" "$rep.nsys-rep" > /dev/null 2>&1
  timeout 10 python3 "$bin/nsys-gaps.py" "${rep}_cuda_gpu_trace.csv" >> "$sum" 2>&1
}
if command -v nsys > /dev/null; then
  nsys1 mapped HEPBNN_MAPPED_IO=all
  # conv1 reading the input over PCIe (mapped) vs from device memory after a copy node: the second only if time is left.
  [ $SECONDS -lt ${NSYS2_BEFORE_S:-105} ] && nsys1 copies HEPBNN_MAPPED_IO=0
else
  log "no nsys"
fi
gzip -9 -f "$out/runs.json" "$out/bench-vgg3.json" "$out/verify.txt" 2>/dev/null
log "== done $(date -u +%T)"
cat "$sum"
