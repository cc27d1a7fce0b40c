#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper pdl; docs/results/h200-pdl/run2): mapped host I/O (kernels read the input and
# write the scores in page-locked host memory, no memcpy nodes). verify with HEPBNN_MAPPED_IO=all (whole sessions with
# multi-kernel segments against the reference), then bench vgg3/vgg7 b1 whose verdict measures the found plan with
# copies, mapped output, mapped input+output, dependent launch on and graphs off, interleaved and checked against the
# reference. Output under $OUT. Usage: pdl-mapped-call.sh [binary-dir=.device/pdl]
set -uo pipefail
bin=${1:-.device/pdl}
out=${OUT:-./pdl-mapped-out}
mkdir -p "$out"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
HEPBNN_MAPPED_IO=all timeout 18 "$bin/hepbnn" verify --device gpu --networks 1 > "$out/verify-mapped.txt" 2>&1; echo "verify exit $?" >> "$out/verify-mapped.txt"
timeout 20 "$bin/hepbnn" bench --model vgg3 --batch 1 --measure-s 1 --profile-budget-s 2 > "$out/bench-vgg3-b1.txt" 2>&1; echo "exit $?" >> "$out/bench-vgg3-b1.txt"
timeout 25 "$bin/hepbnn" bench --model vgg7 --batch 1 --measure-s 1 --profile-budget-s 1.5 > "$out/bench-vgg7-b1.txt" 2>&1; echo "exit $?" >> "$out/bench-vgg7-b1.txt"
grep -E "GPU segments|bit-exact|MISMATCH|exit" "$out/verify-mapped.txt" | cut -c1-200
grep -E "found plan|verdict|note:|match the reference|DIFFER|exit" "$out"/bench-*.txt | cut -c1-220
