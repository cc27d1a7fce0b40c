#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper b1pdl; docs/results/h200-b1pdl/run2): after run1 showed the deep
# kernel at 134 registers (its two prologue fragment sets live across the gathers), only step 0 is preloaded, in the deep
# kernels only. 0. ptxas registers of the dumped PTX; 1. bench vgg7 b1 and b16 in one process (default: the planner
# measures the edges per plan), within a short device budget.
set -uo pipefail
bin=${1:-.device/b1pdl}
out=${OUT:-./b1pdl-out}
work=$out/b1pdl2
mkdir -p "$work"
sum="$out/summary.txt"
for f in "$bin"/*.gz "$bin"/ptx/*.gz; do [ -f "$f" ] && gunzip -f "$f"; done
chmod +x "$bin/hepbnn"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/b1pdl2.tar.gz" b1pdl2; }
trap pack EXIT
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
for f in "$bin"/ptx/*.ptx; do
  n=$(basename "$f" .ptx)
  timeout 20 ptxas -arch=sm_90 -v -o /tmp/$n.cubin "$f" 2>&1 | grep -E "registers" | sed "s/^/$n: /" >> "$sum"
done
nvidia-smi --query-gpu=timestamp,clocks.sm --format=csv -lms 100 > "$work/clocks.csv" 2>&1 &
smi=$!
step 50 bench-vgg7 -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 2 --json-out "$work/bench-vgg7.json"
kill $smi 2>/dev/null
grep -E "wide-deep |wide-split |^found plan|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER|mismatch" "$work"/bench-*.txt | cut -c1-250 >> "$sum"
awk -F', ' 'NR>1 {print $2}' "$work/clocks.csv" | sort | uniq -c | sed 's/^/SM clock samples: /' >> "$sum"
cat "$sum"
