#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper io3; docs/results/h200-io3/): the gated launch (GpuLaunchGate:
# the first segment's graph launched before the staging copy, waiting on the GPU for it) against the plain launch, in
# the same run. Beside this script: the CLI and vgg{3,7}-256.json (b256 found plans of session 6's final bench).
# Steps: verify with the gate forced on (every whole-session check gated), then `hepbnn run` of each plan with the gate
# off/on (alternating, twice) × host I/O copies / mapped output / mapped input+output, and I/O binding (no staging copy:
# the gate does not apply) for the breakdown; optional: bench vgg3 b256 + PyTorch peer (STEP_BENCH=1).
# Usage: io3-call.sh [binary-dir=.device/io3]
set -uo pipefail
bin=${1:-.device/io3}
out=${OUT:-./io3-out}
work=$out/io3
mkdir -p "$work"
sum="$out/summary.txt"
cd "$bin" && { [ -f libSkiaSharp.so.gz ] && gunzip -f libSkiaSharp.so.gz; [ -f hepbnn.gz ] && gunzip -f hepbnn.gz; chmod +x hepbnn; cd - > /dev/null; }
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/io3.tar.gz" io3; }
trap pack EXIT
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
log "== verify, gate forced on ($(date -u +%T))"
HEPBNN_GATED_LAUNCH=on timeout ${VERIFY_S:-70} "$hepbnn" verify --device gpu --networks ${NETWORKS:-4} > "$work/verify-gated.txt" 2>&1; log "verify exit code $?"
grep -E "FAIL|MISMATCH|bit-exact|block cases|sessions|gated" "$work/verify-gated.txt" | head -8 >> "$sum"

log "== runs ($(date -u +%T)): median µs, hepbnn run --batch 256 (session 6 final found plans)"
run1() { # model gate io tag
  local m=$1 gate=$2 io=$3 args=() rep=2000
  [ $m = vgg7 ] && rep=1000
  [ $io = binding ] && args=(--io-binding)
  local mapped=0; [ $io = out ] && mapped=out; [ $io = all ] && mapped=all
  local us
  us=$(HEPBNN_GATED_LAUNCH=$gate HEPBNN_MAPPED_IO=$mapped timeout 40 "$hepbnn" run --model $m --plan "$bin/$m-256.json" --batch 256 --repeat $rep --json "${args[@]}" \
    2> "$work/run-$m-$gate-$io.err" | tee -a "$work/runs.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
  log "run $m b256 gate=$gate io=$io ${us:-failed}"
}
for m in vgg3 vgg7; do
  passes="1 2"; [ $m = vgg7 ] && passes=1
  for pass in $passes; do
    for io in copies out all; do
      for gate in off on; do run1 $m $gate $io; done
    done
    run1 $m off binding
  done
done
grep -ho '"gpuExecution": *"[^"]*"' "$work/runs.json" | sort | uniq -c >> "$sum"
if [ "${STEP_BENCH:-0}" = 1 ]; then
  log "== bench vgg3 b256 ($(date -u +%T))"
  timeout 70 "$hepbnn" bench --model vgg3 --batch 256 --measure-s 1 --profile-budget-s 2 --json-out "$work/bench-vgg3.json" > "$work/bench-vgg3.txt" 2>&1
  log "exit code $?"
  grep -E "found plan|verdict|gated" "$work/bench-vgg3.txt" | cut -c1-200 | head -12 >> "$sum"
  PYTHONUNBUFFERED=1 timeout 40 python3 "$bin/peer-pytorch.py" --batch 256 --seconds 0.5 --json-out "$work/peer.json" --txt-out "$work/peer.txt" > /dev/null 2>&1
  timeout 20 python3 "$bin/peer-table.py" --peer "$work/peer.json" --bench "$work/bench-vgg3.json" --json-out "$work/peer-table.json" >> "$sum" 2>&1
  grep -E "vgg7|vgg3" "$work/peer.txt" | head -8 >> "$sum"
fi
log "== done $(date -u +%T)"
cat "$sum"
