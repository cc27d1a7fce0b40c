#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9): where the time of a whole-network gpu.fused kernel goes at batch 1.
# ptxas resource report of the fused kernel (PTX from tools/PtxDump, if carried in <bin>/ptx), then `hepbnn run` medians
# (3000 runs, host input -> host scores, one CUDA graph) with stages left out (HEPBNN_FUSED_SKIP bit mask: a stage's cost
# is the time with it minus without it; all bits: launch + copies + grid barriers alone) and group-size variants.
# Usage: fused-mma-probe.sh [binary-dir=.device/fusedb1]
set -uo pipefail
bin=${1:-.device/fusedb1}
out=${OUT:-./fused-mma-probe-out}
mkdir -p "$out"
txt="$out/fused-mma-probe.txt"
: > "$txt"
if [ -d "$bin/ptx" ] && command -v ptxas >/dev/null; then
  for f in "$bin"/ptx/*.ptx; do echo "== ptxas -v $(basename $f)" >> "$txt"; timeout 60 ptxas -arch=sm_90 -v "$f" -o /tmp/probe.cubin 2>&1 | grep -E "registers|spill|stack" >> "$txt"; done
fi
med() { env "$@" timeout 30 "$bin/hepbnn" run --model $M --config gpu.fused --batch $B --repeat 3000 --json 2>>"$txt" | python3 -c 'import json,sys; print("%.1f" % json.load(sys.stdin)["medianLatencyUs"])' 2>>"$txt"; }
row() { printf '%-5s %-3s %-40s %s\n' $M $B "$*" "$(med "$@")" >> "$txt"; }
echo "== model batch variant median_us" >> "$txt"
B=1
M=vgg3
export HEPBNN_FUSED_MMA=1   # tensor-core stages (the default picks SIMT stages for VGG3 at batch 1)
row X=0; row HEPBNN_FUSED_SKIP=15; row HEPBNN_FUSED_SKIP=1; row HEPBNN_FUSED_SKIP=2; row HEPBNN_FUSED_SKIP=4; row HEPBNN_FUSED_SKIP=8
row HEPBNN_FUSED_GROUP=128; row HEPBNN_FUSED_GROUP=128 HEPBNN_FUSED_SKIP=15; row HEPBNN_FUSED_MMA=0; row HEPBNN_FUSED_MMA=0 HEPBNN_FUSED_SKIP=15
M=vgg7
row X=0; row HEPBNN_FUSED_SKIP=255
for i in 0 1 2 3 4 5 6 7; do row HEPBNN_FUSED_SKIP=$((1 << i)); done
row HEPBNN_FUSED_GROUP=128; row HEPBNN_FUSED_MMA=0 HEPBNN_FUSED_SKIP=255
cat "$txt"
