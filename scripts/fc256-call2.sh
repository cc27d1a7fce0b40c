#!/usr/bin/env bash
# Second call of helper fc256 (issue 9, docs/results/h200-fc256/call2): (1) the staging copy A/B with the process
# variance averaged out — VGG3 b256's found plan (mapped host I/O) through `hepbnn run`, the copy of before
# (HEPBNN_STAGING_CHUNK_KB=64) and the spread (default) alternated 3 times, plus I/O binding (no copy) once;
# (2) where gpu.tensor-core-wide-ksplit stands at small batches: bench --layers of VGG7 b1.
# Usage: fc256-call2.sh [binary-dir=.device/fc256]
set -uo pipefail
bin=${1:-.device/fc256}
out=${OUT:-./fc256-out}
mkdir -p "$out"
sum="$out/summary2.txt"
cd "$bin" && { [ -f libSkiaSharp.so.gz ] && gunzip -f libSkiaSharp.so.gz; [ -f hepbnn.gz ] && gunzip -f hepbnn.gz; chmod +x hepbnn; cd - > /dev/null; }
hepbnn="$bin/hepbnn"
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
plan="$bin/vgg3-256-old.json"
run1() { # tag env [args]
  local tag=$1 env1=$2; shift 2
  local us
  us=$(env "$env1" timeout 12 "$hepbnn" run --model vgg3 --plan "$plan" --batch 256 --repeat 3000 --json "$@" 2> /dev/null \
    | tee -a "$out/runs2.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
  log "run $tag ${us:-failed}"
}
for pass in 1 2 3; do
  run1 staging-64KB-items HEPBNN_STAGING_CHUNK_KB=64
  run1 staging-spread-8 HEPBNN_STAGING_THREADS=8
  [ $pass -le 1 ] && run1 io-binding HEPBNN_STAGING_THREADS=8 --io-binding
done
log "== bench vgg7 b1 --layers ($(date -u +%T))"
timeout 35 "$hepbnn" bench --model vgg7 --batch 1 --layers --measure-s 0.5 --profile-budget-s 1 --json-out "$out/bench-vgg7-b1.json" > "$out/bench-vgg7-b1.txt" 2>&1
log "exit code $? ($(date -u +%T))"
grep -E "ksplit|wide-split |wide-deep |found plan:|verdict" "$out/bench-vgg7-b1.txt" | cut -c1-200 | head -8 >> "$sum"
gzip -9 -f "$out/runs2.json" "$out"/bench-*.json 2>/dev/null
log "== done $(date -u +%T)"
cat "$sum"
