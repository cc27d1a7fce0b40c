#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper fc256; docs/results/h200-fc256/): VGG3 batch 256, host input →
# host scores. Beside this script: the CLI and vgg3-256-old.json (session 7's b256 found plan, 52.4 µs there).
# Steps (each bounded): verify (every configuration, gpu.tensor-core-wide-ksplit and the b256-capable wide-split
# included), bench vgg3 b256 with --layers (per-block times of every configuration, the verdict), then `hepbnn run` of
# the old and the new found plan back to back, with the staging copy of before (HEPBNN_STAGING_CHUNK_KB=64: 4 items of
# up to 64 KB) and the new spread (8 items of 25 KB), I/O binding as the copy-free floor, and the PyTorch float peer.
# Usage: fc256-call.sh [binary-dir=.device/fc256]
set -uo pipefail
bin=${1:-.device/fc256}
out=${OUT:-./fc256-out}
mkdir -p "$out"
sum="$out/summary.txt"
cd "$bin" && { [ -f libSkiaSharp.so.gz ] && gunzip -f libSkiaSharp.so.gz; [ -f hepbnn.gz ] && gunzip -f hepbnn.gz; chmod +x hepbnn; cd - > /dev/null; }
hepbnn="$bin/hepbnn"
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
timeout ${VERIFY_S:-45} "$hepbnn" verify --device gpu --networks ${NETWORKS:-3} > "$out/verify.txt" 2>&1; log "verify exit code $? ($(date -u +%T))"
grep -E "FAIL|MISMATCH|bit-exact|block cases|ksplit|wide-split" "$out/verify.txt" | cut -c1-220 | head -8 >> "$sum"

log "== bench vgg3 b256 ($(date -u +%T))"
timeout ${BENCH_S:-80} "$hepbnn" bench --model vgg3 --batch 256 --layers --measure-s 1 --profile-budget-s 2 --json-out "$out/bench-vgg3.json" > "$out/bench-vgg3.txt" 2>&1
log "exit code $? ($(date -u +%T))"
grep -E "found plan|verdict|beaten|fc1|fc2" "$out/bench-vgg3.txt" | cut -c1-240 | head -24 >> "$sum"
new="$bin/vgg3-256-new.json"
python3 -c "import json,sys; v=[x['verdict'] for x in json.load(open(sys.argv[1])) if x['verdict']['batch']==256]; json.dump(v[0]['plan'],open(sys.argv[2],'w'))" "$out/bench-vgg3.json" "$new" 2>> "$sum" \
  && log "new plan: $(python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print([b['configuration'] for b in p['blocks']], p.get('hostIo'))" "$new")"

log "== runs ($(date -u +%T)): median µs, hepbnn run --batch 256 --repeat 2000 (plan's host I/O)"
run1() { # tag plan env... [-- args]
  local tag=$1 plan=$2; shift 2
  local envs=() args=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do envs+=("$1"); shift; done
  [ "${1:-}" = "--" ] && { shift; args=("$@"); }
  [ -f "$plan" ] || { log "run $tag: no plan"; return; }
  local us
  us=$(env "${envs[@]}" timeout 15 "$hepbnn" run --model vgg3 --plan "$plan" --batch 256 --repeat 2000 --json "${args[@]}" \
    2> /dev/null | tee -a "$out/runs.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
  log "run $tag ${us:-failed}"
}
old="$bin/vgg3-256-old.json"
for pass in 1 2; do
  run1 "old-plan staging-64KB-items" "$old" HEPBNN_STAGING_CHUNK_KB=64
  run1 "old-plan staging-spread-8" "$old" HEPBNN_STAGING_THREADS=8
  run1 "new-plan staging-64KB-items" "$new" HEPBNN_STAGING_CHUNK_KB=64
  run1 "new-plan staging-spread-8" "$new" HEPBNN_STAGING_THREADS=8
done
run1 "old-plan staging-spread-16" "$old" HEPBNN_STAGING_THREADS=16
run1 "new-plan io-binding" "$new" HEPBNN_STAGING_THREADS=8 -- --io-binding
grep -ho '"gpuExecution": *"[^"]*"' "$out/runs.json" | sort | uniq -c >> "$sum"

log "== PyTorch peer ($(date -u +%T))"
PYTHONUNBUFFERED=1 timeout ${PEER_S:-40} python3 "$bin/peer-pytorch.py" --batch 256 --models vgg3 --seconds 0.4 --json-out "$out/peer.json" --txt-out "$out/peer.txt" > /dev/null 2>&1
timeout 15 python3 "$bin/peer-table.py" --peer "$out/peer.json" --bench "$out/bench-vgg3.json" --json-out "$out/peer-table.json" >> "$sum" 2>&1
grep -E "vgg3" "$out/peer.txt" | head -4 >> "$sum"
gzip -9 -f "$out/runs.json" "$out/bench-vgg3.json" 2>/dev/null
log "== done $(date -u +%T)"
cat "$sum"
