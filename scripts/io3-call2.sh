#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper io3, call 2; docs/results/h200-io3/call2): the spin-kernel gate
# (HEPBNN_GATED_LAUNCH=on) checked bit-exact by verify, then VGG3 b256 runs gate off/on × host I/O copies / mapped
# input+output, alternating. Usage: io3-call2.sh [binary-dir=.device/io3]
set -uo pipefail
bin=${1:-.device/io3}
out=${OUT:-./io3-out}
sum="$out/summary2.txt"
cd "$bin" && { [ -f libSkiaSharp.so.gz ] && gunzip -f libSkiaSharp.so.gz; [ -f hepbnn.gz ] && gunzip -f hepbnn.gz; chmod +x hepbnn; cd - > /dev/null; }
hepbnn="$bin/hepbnn"
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) verify, spin gate forced on"
HEPBNN_GATED_LAUNCH=on timeout 22 "$hepbnn" verify --device gpu --networks 2 --skip-zoo > "$out/verify2.txt" 2>&1; log "verify exit code $?"
grep -E "FAIL|MISMATCH|bit-exact|block cases|gated" "$out/verify2.txt" | cut -c1-250 | head -6 >> "$sum"
for io in copies all; do
  for gate in off on; do
    mapped=0; [ $io = all ] && mapped=all
    us=$(HEPBNN_GATED_LAUNCH=$gate HEPBNN_MAPPED_IO=$mapped timeout 8 "$hepbnn" run --model vgg3 --plan "$bin/vgg3-256.json" --batch 256 --repeat 1500 --json 2>/dev/null \
      | tee -a "$out/runs2.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
    log "run vgg3 b256 gate=$gate io=$io ${us:-failed}"
  done
done
grep -ho '"gpuExecution": *"[^"]*"' "$out/runs2.json" | sort | uniq -c >> "$sum"
log "== done $(date -u +%T)"
cat "$sum"
