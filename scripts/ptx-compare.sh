#!/bin/bash
# Usage: scripts/ptx-compare.sh <before-dir> <after-dir>   (each from: dotnet run -c Release --project tools/PtxDump -- DIR)
# For each kernel: whether the PTX is the same once ILGPU's value numbers, register numbers and labels are normalized
# (a refactoring that only moves code between helpers renumbers them), and its mma/ld/st/shfl counts before/after.
# With DIFF, "sorted" 0 means the same instructions in another order.
set -euo pipefail
norm() { sed -E 's/_[0-9]+\b/_N/g; s/%(r|rd|p|f|fd|h|hh|rs|b)[0-9]+/%\1N/g; s/\$L__BB[0-9_]+/LBL/g; s/BB[0-9_]+/LBL/g' "$1"; }
cnt() { grep -cE "^\s*$2" "$1" || true; }
for f in "$1"/*.ptx; do
  b=$(basename "$f" .ptx); g="$2/$b.ptx"
  [ -f "$g" ] || { echo "MISSING $b"; continue; }
  counts="mma $(cnt "$f" 'mma\.')/$(cnt "$g" 'mma\.') ld $(cnt "$f" 'ld\.')/$(cnt "$g" 'ld\.') st $(cnt "$f" 'st\.')/$(cnt "$g" 'st\.') shfl $(cnt "$f" shfl)/$(cnt "$g" shfl)"
  if diff -q <(norm "$f") <(norm "$g") >/dev/null; then echo "SAME $b: $counts"
  else echo "DIFF $b: $counts, lines changed $(diff <(norm "$f") <(norm "$g") | grep -c '^[<>]' || true), sorted $(diff <(norm "$f" | sort) <(norm "$g" | sort) | grep -c '^[<>]' || true)"; fi
done
