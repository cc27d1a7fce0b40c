#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper spec7; docs/results/h200-spec7): the follow-up of spec7-call.sh, which ran out
# of time. 1. GPU `hepbnn verify` (the "-const" twins included: their constant kernels compiled and checked bit-exact);
# 2. VGG7 b1 with the twins offered to the profiler (HEPBNN_CONST_SHAPES=1; their PTX under $OUT/spec7b/ptx-const) and
# 3. without (default); 4. VGG3 b1 with the twins. ~200 s of device time with the cold start.
set -uo pipefail
bin=${1:-.device/spec7}
out=${OUT:-./spec7-out}
work=$out/spec7b
mkdir -p "$work/ptx-const"
sum="$out/summary.txt"
( cd "$bin" && for f in *.gz; do [ -f "$f" ] && gunzip -f "$f"; done ); chmod +x "$bin/hepbnn"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/spec7b.tar.gz" spec7b; }
trap pack EXIT
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack
}
pat="tensor-core|^found plan|^verdict|found plan's|found plan \(top-1\)|^profil|note:|DIFFER|mismatch|rror"
step 50 verify-gpu -- verify --device gpu --networks 1 --json-out "$work/verify.json"
grep -E "const|bit-exact|MISMATCH|rror|passed|failed" "$work/verify-gpu.txt" | cut -c1-260 | head -30 >> "$sum"
step 80 bench-vgg7-b1-const HEPBNN_CONST_SHAPES=1 HEPBNN_PTX_DIR="$work/ptx-const" -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1-const.json"
grep -E "$pat" "$work/bench-vgg7-b1-const.txt" | cut -c1-250 >> "$sum"
step 40 bench-vgg7-b1-off -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1-off.json"
grep -E "$pat" "$work/bench-vgg7-b1-off.txt" | cut -c1-250 >> "$sum"
step 30 bench-vgg3-b1-const HEPBNN_CONST_SHAPES=1 -- bench --model vgg3 --batch 1 --measure-s 0.5 --profile-budget-s 2 --json-out "$work/bench-vgg3-b1-const.json"
grep -E "^found plan|^verdict|found plan \(top-1\)|^profil" "$work/bench-vgg3-b1-const.txt" | cut -c1-250 >> "$sum"
cat "$sum"
