#!/usr/bin/env bash
# Second call of helper fc3 (issue 9, docs/results/h200-fc3/call2): where the dense pair's time goes at VGG3 b256.
# Call 1: the pair plan ran 51-52 µs against 46-49 for the per-block plan (fc1 wide-deep + fc2 warp-reduce) through
# `hepbnn run` (mapped host I/O), although the profiler's chain timed the range at about fc1 + fc2.
# Steps, in order of importance (each bounded): `hepbnn run` alternated: per-block, pair, pair with staged score stores
# (HEPBNN_PAIR_STORE=staged), pair probes (HEPBNN_PAIR_PROBE=1: fc1 alone in the pair kernel, 2: + the count; results
# then wrong, timing only); the per-block and pair plans with copies (HEPBNN_MAPPED_IO=0); verify with staged stores;
# Nsight Compute on the pair kernel and on fc1/fc2 of the per-block plan (eager launches: durations, registers, stalls).
# Usage: fc3-call2.sh [binary-dir=.device/fc3]
set -uo pipefail
bin=${1:-.device/fc3}
out=${OUT:-./fc3-out}
mkdir -p "$out"
sum="$out/summary2.txt"
cd "$bin" && { [ -f libSkiaSharp.so.gz ] && gunzip -f libSkiaSharp.so.gz; [ -f hepbnn.gz ] && gunzip -f hepbnn.gz; chmod +x hepbnn; cd - > /dev/null; }
hepbnn="$bin/hepbnn"
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
run1() { # tag plan env
  local tag=$1 plan=$2 e=$3
  local us
  us=$(env "$e" timeout 15 "$hepbnn" run --model vgg3 --plan "$plan" --batch 256 --repeat 3000 --json \
    2> /dev/null | tee -a "$out/runs2.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
  log "run $tag ${us:-failed}"
}
pb="$bin/vgg3-256-perblock.json" pr="$bin/vgg3-256-pair.json"
log "== runs ($(date -u +%T)): median µs, hepbnn run --batch 256 --repeat 3000, mapped host I/O unless said"
run1 per-block "$pb" X=0
run1 pair "$pr" X=0
run1 pair-staged "$pr" HEPBNN_PAIR_STORE=staged
run1 pair-probe1-fc1-only "$pr" HEPBNN_PAIR_PROBE=1
run1 pair-probe2-fc1-count "$pr" HEPBNN_PAIR_PROBE=2
run1 per-block "$pb" X=0
run1 pair "$pr" X=0
run1 pair-staged "$pr" HEPBNN_PAIR_STORE=staged
run1 per-block-copies "$pb" HEPBNN_MAPPED_IO=0
run1 pair-copies "$pr" HEPBNN_MAPPED_IO=0
grep -ho '"gpuExecution": *"[^"]*"' "$out/runs2.json" | sort | uniq -c >> "$sum"

log "== verify, staged score stores ($(date -u +%T))"
HEPBNN_PAIR_STORE=staged timeout 25 "$hepbnn" verify --device gpu --networks 1 > "$out/verify2.txt" 2>&1; log "verify exit code $? ($(date -u +%T))"
grep -E "FAIL|MISMATCH|bit-exact|gpu.fused ranges" "$out/verify2.txt" | cut -c1-120 | head -6 >> "$sum"

ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
ncu1() { # tag plan regex
  HEPBNN_CUDA_GRAPHS=0 timeout 30 "$ncu" --clock-control none --cache-control none --kernel-name "regex:$3" --launch-skip 3 --launch-count 1 \
    --section SpeedOfLight --section LaunchStats --section Occupancy --section WarpStateStats \
    "$hepbnn" run --model vgg3 --plan "$2" --batch 256 --repeat 8 > "$out/ncu-$1.txt" 2>&1
  log "== ncu $1 exit $? ($(date -u +%T))"
  grep -E "Duration|Registers Per|Grid Size|Stall|Warp Cycles Per Issued|Achieved Occupancy" "$out/ncu-$1.txt" | sed -E 's/ +/ /g' | cut -c1-110 | head -12 >> "$sum"
}
ncu1 pair "$pr" PairKernel
ncu1 fc1-deep "$pb" BitsKernelDeep
ncu1 fc2-warp "$pb" ScoresKernel
gzip -9 -f "$out/runs2.json" "$out/verify2.txt" 2>/dev/null
log "== done $(date -u +%T)"
cat "$sum"
