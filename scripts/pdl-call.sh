#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper pdl; docs/results/h200-pdl/): programmatic dependent launch.
# 1. `hepbnn transfers`: the small segment (H2D + 4 empty kernels + D2H) as one graph with plain and with programmatic
#    kernel→kernel edges, and what one empty kernel adds as a graph node either way;
# 2. GPU `hepbnn verify` with dependent launch on (default): every configuration per block, fused ranges, and whole
#    sessions with multi-kernel segments run repeatedly against the reference;
# 3. the PyTorch float peer (eager and CUDA graph) at batch 1/16/256;
# 4. `hepbnn bench` vgg3/vgg7 at batch 1/16/256 (per-block node costs, found plan; the verdict also measures the found
#    plan with plain graph edges and with graphs off, interleaved: the same-run before/after);
# 5. per-block node costs at batch 1 with dependent launch off (HEPBNN_PDL=0), for the per-node with/without table.
# Everything lands in $OUT/pdl (tarred to $OUT/pdl.tar.gz); $OUT/summary.txt is the short version.
# Usage: pdl-call.sh [binary-dir=.device/pdl]
set -uo pipefail
bin=${1:-.device/pdl}
out=${OUT:-./pdl-out}
work=$out/pdl
mkdir -p "$work"
sum="$out/summary.txt"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/pdl.tar.gz" pdl; }
trap pack EXIT
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack # after every step: a call stopped at its limit still brings back what was done
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
step 15 transfers -- transfers
grep -E "segment|programmatic|empty kernel" "$work/transfers.txt" >> "$sum"
step 40 verify -- verify --device gpu --networks 4 --json-out "$work/verify-gpu.json"
grep -E "GPU segments|gpu.fused ranges|bit-exact|MISMATCH|error" "$work/verify.txt" | cut -c1-240 >> "$sum"
echo "== peer ($(date -u +%T))" >> "$sum"
PYTHONUNBUFFERED=1 timeout 35 python3 "$bin/peer-pytorch.py" --batch 1 16 256 --seconds 0.4 --json-out "$work/peer.json" --txt-out "$work/peer.txt" > /dev/null 2>&1
echo "exit code $?" >> "$sum"
step 45 bench-vgg3 -- bench --model vgg3 --batch 1 16 256 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg3.json"
step 70 bench-vgg7 -- bench --model vgg7 --batch 1 16 256 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7.json"
for m in vgg3 vgg7; do grep -E "^found plan:|^verdict|found plan's GPU|dependent launch off|CUDA graphs off|found plan \(top-1\)|mismatch" "$work/bench-$m.txt" | cut -c1-250 >> "$sum"; done
timeout 20 python3 "$bin/peer-table.py" --peer "$work/peer.json" --bench "$work/bench-vgg3.json" "$work/bench-vgg7.json" --json-out "$work/peer-table.json" >> "$sum" 2>&1
step 18 layers-vgg3-b1-plain HEPBNN_PDL=0 -- bench --model vgg3 --batch 1 --layers --measure-s 0.5 --profile-budget-s 2
step 25 layers-vgg7-b1-plain HEPBNN_PDL=0 -- bench --model vgg7 --batch 1 --layers --measure-s 0.5 --profile-budget-s 2
grep -E "^found plan:|^verdict" "$work"/layers-*.txt | cut -c1-200 >> "$sum"
cat "$sum"
