#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper unroll8, call 2; docs/results/h200-unroll8): the rolled ("…-const") and the
# unrolled ("…-const-unrolled") twins measured side by side by one profiler run, so their node times compare in the same
# process; then GPU `hepbnn verify` of the deep and split kernels whose loops were reshaped (run-time shapes and rolled
# twins; call 1 verified the five unrolled twins), and VGG3 b1/b16 if time is left.
# Usage: bash .device/unroll8/unroll8-call2.sh .device/unroll8 [budget_s=150]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
call_init "$1" "${2:-150}" "${OUT:-./unroll8-out}/unroll8-2"
hepbnn="$bin/hepbnn"
pack() { tar -C "$out/.." -czf "$top/unroll8-2.tar.gz" unroll8-2 2>/dev/null; cp "$sum" "$top/summary.txt" 2>/dev/null; }
trap pack EXIT
pat="tensor-core|^found plan|^verdict|found plan's|found plan \(top-1\)|profil|note:|DIFFER|mismatch|rror"
named_step 80 bench-vgg7-b1 -- "$hepbnn" bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-vgg7-b1.json"
grep -E "$pat" "$out/bench-vgg7-b1.txt" | cut -c1-250 >> "$sum"
named_step 45 verify-reshaped HEPBNN_CONST_SHAPES=1 -- "$hepbnn" verify --device gpu --networks 1 --configs gpu.tensor-core-wide-deep gpu.tensor-core-wide-split gpu.tensor-core-wide-deep-const gpu.tensor-core-wide-split-const
grep -iE "const|deep|split|bit-exact|MISMATCH|rror|differ" "$out/verify-reshaped.txt" | cut -c1-200 | head -20 >> "$sum"
named_step 30 bench-vgg3 -- "$hepbnn" bench --model vgg3 --batch 1 --batch 16 --measure-s 0.5 --profile-budget-s 2
grep -E "^found plan|^verdict|found plan \(top-1\)|const" "$out/bench-vgg3.txt" | cut -c1-250 >> "$sum"
cat "$sum"
