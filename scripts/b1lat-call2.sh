#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper b1lat; docs/results/h200-b1lat/run2): gpu.tensor-core-wide-split.
# 1. GPU `hepbnn verify` (every configuration per block, the new one included; fused ranges; whole sessions, copies and
#    mapped host I/O, 8 runs each) against the reference;
# 2. `hepbnn bench` vgg7 b1 with the per-block tables (split vs deep per conv block, as graph nodes) and the verdict;
# 3. `hepbnn bench` vgg7 b256 (the split kernel must not cost the large batch anything: it runs one split there).
# Everything lands in $OUT/b1lat2 (tarred to $OUT/b1lat2.tar.gz); $OUT/summary.txt is the short version.
set -uo pipefail
bin=${1:-.device/b1lat}
out=${OUT:-./b1lat-out}
work=$out/b1lat2
mkdir -p "$work"
sum="$out/summary.txt"
for f in "$bin"/*.gz; do [ -f "$f" ] && gunzip -f "$f"; done
chmod +x "$bin/hepbnn"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/b1lat2.tar.gz" b1lat2; }
trap pack EXIT
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
step 40 verify -- verify --device gpu --networks 2 --json-out "$work/verify-gpu.json"
grep -E "wide-split|GPU segments|bit-exact|MISMATCH|error" "$work/verify.txt" | cut -c1-260 >> "$sum"
step 45 bench-vgg7-b1 -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1.json"
grep -E "wide-deep |wide-split |^found plan|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER" "$work/bench-vgg7-b1.txt" | cut -c1-250 >> "$sum"
step 55 bench-vgg7-b256 -- bench --model vgg7 --batch 256 --measure-s 1 --profile-budget-s 2 --json-out "$work/bench-vgg7-b256.json"
grep -E "^found plan|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER" "$work/bench-vgg7-b256.txt" | cut -c1-250 >> "$sum"
cat "$sum"
