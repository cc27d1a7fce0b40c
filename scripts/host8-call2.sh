#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper host8, call 2; docs/results/h200-host8): the completion word as
# the default wait. 1. `hepbnn transfers` (one-kernel graph per wait, interleaved); 2. the session-9 plans (VGG7 b1,
# VGG3 b256, VGG3 b1's best all-GPU plan) through `hepbnn run --compare-wait` (one session per wait, runs interleaved in
# one process, paired ratios to sync) with HEPBNN_HOST_TIMING=1 for the default session's host path, two passes;
# 3. VGG7 b1 with HEPBNN_PDL=0 (launch cost of a graph with plain edges); 4. `hepbnn verify --device gpu --networks 2`.
# Usage: bash host8-call2.sh <binary dir> [budget s=140]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
call_init "$1" "${2:-140}" "${OUT:-./host8-out}/host8-call2"
hepbnn="$bin/hepbnn"
pack() { tar -C "$out/.." -czf "$top/host8-call2.tar.gz" host8-call2; cp "$sum" "$top/summary.txt"; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
step 25 "$hepbnn" transfers --budget-ms 100 --model vgg3 --batch 1 > "$out/transfers.txt" 2>&1
echo "$(grep -E 'one-kernel graph|empty kernel launch' "$out/transfers.txt" | tr '\n' ' ')" >> "$sum"
show() { python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
print(d['medianLatencyUs'], json.dumps(d.get('hostPath')))
for w in d.get('waitComparison') or []: print('   ', w['wait'], w['time']['medianUs'], w['time']['p10Us'], w['time']['p90Us'], 'paired', round(w['pairedRatio'],4), w['gpuExecution'][:160])
" "$1" 2>&1 | cut -c1-400; }
for pass in 1 2; do
  for plan in vgg3-b1 vgg3-b256 vgg7-b1; do
    f="$out/run-$plan-$pass.json"
    HEPBNN_HOST_TIMING=1 step 30 "$hepbnn" run --model "${plan%%-*}" --plan "$here/host8-$plan.json" --repeat 3000 --compare-wait --json > "$f" 2>"$f.err"
    echo "$plan pass $pass: $(show "$f")" >> "$sum"
  done
  pack
done
f="$out/run-vgg7-b1-pdl0.json"
HEPBNN_PDL=0 HEPBNN_HOST_TIMING=1 step 30 "$hepbnn" run --model vgg7 --plan "$here/host8-vgg7-b1.json" --repeat 3000 --json > "$f" 2>"$f.err"
echo "vgg7-b1 HEPBNN_PDL=0: $(show "$f")" >> "$sum"
step 70 "$hepbnn" verify --device gpu --networks 2 > "$out/verify.txt" 2>&1
echo "verify (default wait): exit $? $(grep -iE 'mismatch|bit-exact|sessions|rror' "$out/verify.txt" | tail -5 | tr '\n' ' ' | cut -c1-700)" >> "$sum"
