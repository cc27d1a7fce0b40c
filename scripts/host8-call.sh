#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper host8; docs/results/h200-host8): the host side of a GPU run.
# 1. `hepbnn transfers` under each CUDA context schedule (HEPBNN_CUDA_SCHEDULE spin/auto/yield/blocking): a one-kernel
#    graph launched and waited for each HEPBNN_GPU_WAIT way (sync = cuStreamSynchronize, query = polling cuStreamQuery,
#    word = polling a mapped host word the graph's last node sets), interleaved, and the launch call alone.
# 2. The session-9 found plans (VGG7 b1, VGG3 b256; VGG3 b1's best all-GPU plan) through `hepbnn run --repeat` with
#    HEPBNN_HOST_TIMING=1 (entry→staged→launched→completed→exit medians), each wait way, in alternating passes.
# 3. `hepbnn verify --device gpu --networks 2` with the word wait (whole sessions included).
# Usage: bash host8-call.sh <binary dir> [budget s=200]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
call_init "$1" "${2:-200}" "${OUT:-./host8-out}/host8"
hepbnn="$bin/hepbnn"
pack() { tar -C "$out/.." -czf "$top/host8.tar.gz" host8; cp "$sum" "$top/summary.txt"; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
for sched in spin auto yield blocking; do
  HEPBNN_CUDA_SCHEDULE=$sched step 25 "$hepbnn" transfers --budget-ms 60 --model vgg3 --batch 1 > "$out/transfers-$sched.txt" 2>&1
  echo "schedule $sched: $(grep -E 'one-kernel graph|empty kernel launch' "$out/transfers-$sched.txt" | tr '\n' ' ')" >> "$sum"
done
runplan() { # runplan <plan> <wait> <pass> <repeat>
  local f="$out/run-$1-$2-$3.json"
  HEPBNN_HOST_TIMING=1 HEPBNN_GPU_WAIT=$2 step 30 "$hepbnn" run --model "${1%%-*}" --plan "$here/host8-$1.json" --repeat "$4" --json > "$f" 2>"$f.err"
  echo "$1 $2 pass $3: $(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['medianLatencyUs'], json.dumps(d.get('hostPath')), d.get('gpuExecution'))" "$f" 2>&1 | cut -c1-400)" >> "$sum"
}
for pass in 1 2; do
  for plan in vgg3-b1 vgg3-b256 vgg7-b1; do
    for wait in sync word query; do
      [ $pass = 2 ] && [ $wait = query ] && continue
      runplan $plan $wait $pass 4000
    done
  done
  pack
done
HEPBNN_GPU_WAIT=word step 70 "$hepbnn" verify --device gpu --networks 2 > "$out/verify-word.txt" 2>&1
echo "verify (word): exit $? $(grep -iE 'mismatch|bit-exact|sessions|rror' "$out/verify-word.txt" | tail -5 | tr '\n' ' ' | cut -c1-600)" >> "$sum"
