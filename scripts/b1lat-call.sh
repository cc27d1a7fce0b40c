#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper b1lat; docs/results/h200-b1lat/): the planner's host I/O choice.
# 1. GPU `hepbnn verify`: every configuration per block, fused ranges, and whole sessions with multi-kernel segments, now
#    each also with mapped host I/O (input+output or output only), against the reference;
# 2. the PyTorch float peer (eager and CUDA graph) at batch 1/16/256;
# 3. `hepbnn bench` vgg7 b1/b256 and vgg3 b1/b16/b256: the profile measures the found plan with copies, mapped output and
#    mapped input+output and the plan takes the fastest; the verdict measures every plan in that mode and the found plan
#    in the other two modes, interleaved (the same-run before/after), all checked against the reference;
# 4. `hepbnn map` + `hepbnn run --plan` at vgg7 b1: a session built from the saved plan (what `run` and
#    InferenceSession.Create use) runs the plan's host I/O, and HEPBNN_MAPPED_IO=0 opts out.
# Everything lands in $OUT/b1lat (tarred to $OUT/b1lat.tar.gz); $OUT/summary.txt is the short version.
# Usage: b1lat-call.sh [binary-dir=.device/b1lat]
set -uo pipefail
bin=${1:-.device/b1lat}
out=${OUT:-./b1lat-out}
work=$out/b1lat
mkdir -p "$work"
sum="$out/summary.txt"
for f in "$bin"/*.gz; do [ -f "$f" ] && gunzip -f "$f"; done
chmod +x "$bin/hepbnn"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/b1lat.tar.gz" b1lat; }
trap pack EXIT
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
step 50 verify -- verify --device gpu --networks 2 --json-out "$work/verify-gpu.json"
grep -E "GPU segments|gpu.fused ranges|bit-exact|MISMATCH|error" "$work/verify.txt" | cut -c1-260 >> "$sum"
echo "== peer ($(date -u +%T))" >> "$sum"
PYTHONUNBUFFERED=1 timeout 35 python3 "$bin/peer-pytorch.py" --batch 1 16 256 --seconds 0.4 --json-out "$work/peer.json" --txt-out "$work/peer.txt" > /dev/null 2>&1
echo "exit code $?" >> "$sum"
step 70 bench-vgg7 -- bench --model vgg7 --batch 1 256 --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7.json"
step 50 bench-vgg3 -- bench --model vgg3 --batch 1 16 256 --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg3.json"
for m in vgg7 vgg3; do grep -E "^found plan:|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER" "$work/bench-$m.txt" | cut -c1-250 >> "$sum"; done
timeout 20 python3 "$bin/peer-table.py" --peer "$work/peer.json" --bench "$work/bench-vgg3.json" "$work/bench-vgg7.json" --json-out "$work/peer-table.json" >> "$sum" 2>&1
step 25 map-vgg7-b1 -- map --model vgg7 --batch 1 --profile-budget-s 2 -o "$work/plan-vgg7-b1.json"
step 10 run-plan-vgg7-b1 -- run --model vgg7 --batch 1 --plan "$work/plan-vgg7-b1.json" --repeat 2000
step 10 run-plan-vgg7-b1-copies HEPBNN_MAPPED_IO=0 -- run --model vgg7 --batch 1 --plan "$work/plan-vgg7-b1.json" --repeat 2000
grep -E "GPU host I/O|predicted" "$work/map-vgg7-b1.txt" | cut -c1-200 >> "$sum"
grep -h -E "median latency|GPU blocks" "$work"/run-plan-*.txt | cut -c1-250 >> "$sum"
cat "$sum"
