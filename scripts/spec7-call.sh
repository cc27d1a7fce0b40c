#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper spec7; docs/results/h200-spec7): constant-shape twins ("…-const").
# 0. SASS instruction counts (ptxas + cuobjdump) of the run-time-shape and constant-shape PTX of the deep and split
#    kernels for a test block (written without a GPU by GpuConstantShapesTests with HEPBNN_TEST_PTX_DIR);
# 1. `hepbnn bench` vgg7 b1 with the twins (their PTX dumped through HEPBNN_PTX_DIR, then ptxas'd) and
# 2. without (HEPBNN_CONST_SHAPES=0): found plans, per-block node times, profile times;
# 3. vgg3 b1 and b16 with the twins; 4. GPU `hepbnn verify` (twins included) for what time is left.
set -uo pipefail
bin=${1:-.device/spec7}
out=${OUT:-./spec7-out}
work=$out/spec7
mkdir -p "$work/ptx-const"
sum="$out/summary.txt"
( cd "$bin" && for f in *.gz ptx/*.gz; do [ -f "$f" ] && gunzip -f "$f"; done ); chmod +x "$bin/hepbnn"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/spec7.tar.gz" spec7; }
trap pack EXIT
sass() { # sass <ptx> → one line of counts
  local f=$1 n; n=$(basename "$f" .ptx)
  timeout 20 ptxas -arch=sm_90 -v -o "$work/$n.cubin" "$f" > "$work/$n.ptxas.txt" 2>&1
  timeout 20 cuobjdump -sass "$work/$n.cubin" 2>/dev/null | grep -E '^\s+/\*[0-9a-f]+\*/' > "$work/$n.sass"
  echo "$n: SASS $(wc -l < "$work/$n.sass") instr, $(grep -c BMMA "$work/$n.sass") BMMA, $(grep -cE 'IMAD|IADD|LOP|SHF|LEA' "$work/$n.sass") int ALU, $(grep -c BRA "$work/$n.sass") BRA; $(grep -oE '[0-9]+ registers' "$work/$n.ptxas.txt" | head -1)" >> "$sum"
  rm -f "$work/$n.cubin"
}
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
for f in "$bin"/ptx/*.ptx; do [ -f "$f" ] && sass "$f"; done
pat="tensor-core|^found plan|^verdict|found plan's|found plan \(top-1\)|profil|note:|DIFFER|mismatch|rror"
step 45 bench-vgg7-b1-const HEPBNN_PTX_DIR="$work/ptx-const" -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1-const.json"
grep -E "$pat" "$work/bench-vgg7-b1-const.txt" | cut -c1-250 >> "$sum"
step 40 bench-vgg7-b1-off HEPBNN_CONST_SHAPES=0 -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1-off.json"
grep -E "$pat" "$work/bench-vgg7-b1-off.txt" | cut -c1-250 >> "$sum"
for f in "$work"/ptx-const/*.ptx; do [ -f "$f" ] && sass "$f"; done 2>/dev/null
step 25 bench-vgg3-b1-b16-const -- bench --model vgg3 --batch 1 --batch 16 --measure-s 0.5 --profile-budget-s 2 --json-out "$work/bench-vgg3-const.json"
grep -E "^found plan|^verdict|found plan \(top-1\)" "$work/bench-vgg3-b1-b16-const.txt" | cut -c1-250 >> "$sum"
step 30 verify-gpu -- verify --device gpu --networks 1 --json-out "$work/verify.json"
grep -E "const|bit-exact|MISMATCH|rror|passed|failed" "$work/verify-gpu.txt" | cut -c1-260 | head -30 >> "$sum"
cat "$sum"
