#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper io256; docs/results/h200-io256/): verify, the b256 found plans of
# the session-5 baseline (vgg{3,7}-256.json beside this script) timed through `hepbnn run` with the default Run, with
# the plain staging copy (HEPBNN_STAGING_COPY=plain) and with I/O binding (--io-binding), `hepbnn bench` of vgg7 and vgg3
# at batch 256 (per-block kernels, found plan), the MMA fractions, the PyTorch float peer at b256 in the same run, and
# Nsight Compute on the 8-bit first layer's kernel. Everything under $OUT/io256 is tarred into $OUT/io256.tar.gz; the
# summary is $OUT/summary.txt as well.
# Usage: io256-call.sh [binary-dir=.device/io256]
set -uo pipefail
bin=${1:-.device/io256}
out=${OUT:-./io256-out}
work=$out/io256
mkdir -p "$work"
sum="$out/summary.txt"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
hepbnn="$bin/hepbnn"
pack() { tar -C "$out" -czf "$out/io256.tar.gz" io256; cp "$sum" "$work/" 2>/dev/null; }
trap pack EXIT
echo "== verify ($(date -u +%T))" >> "$sum"
timeout 90 "$hepbnn" verify --device gpu > "$work/verify.txt" 2>&1; echo "verify exit code $?" >> "$sum"
grep -E "gpu\.tensor-core |FAIL|mismatch|bit-exact" "$work/verify.txt" | head -8 >> "$sum"
for m in vgg7 vgg3; do
  for mode in default plain binding; do
    env=(); args=()
    [ $mode = plain ] && env=(HEPBNN_STAGING_COPY=plain)
    [ $mode = binding ] && args=(--io-binding)
    printf "run %s b256 %-8s " $m $mode >> "$sum"
    env "${env[@]}" timeout 40 "$hepbnn" run --model $m --plan "$bin/$m-256.json" --batch 256 --repeat 3000 --json "${args[@]}" \
      > "$work/run-$m-$mode.json" 2>&1
    grep -o '"medianLatencyUs":[^,]*' "$work/run-$m-$mode.json" >> "$sum" || echo "failed" >> "$sum"
  done
done
for m in vgg7 vgg3; do
  echo "== bench $m ($(date -u +%T))" >> "$sum"
  timeout 100 "$hepbnn" bench --model $m --batch 256 --layers --measure-s 1 --profile-budget-s 2 --json-out "$work/bench-$m.json" > "$work/bench-$m.txt" 2>&1
  echo "exit code $?" >> "$sum"
  grep -E "found plan|conv1 " "$work/bench-$m.txt" | cut -c1-200 | head -6 >> "$sum"
done
python3 "$bin/mma-fraction.py" 4806 "$work/bench-vgg3.json" "$work/bench-vgg7.json" > "$work/mma-fraction.txt" 2>&1
PYTHONUNBUFFERED=1 timeout 60 python3 "$bin/peer-pytorch.py" --batch 256 --seconds 0.5 --json-out "$work/peer.json" --txt-out "$work/peer.txt" > /dev/null 2>&1
timeout 30 python3 "$bin/peer-table.py" --peer "$work/peer.json" --bench "$work/bench-vgg3.json" "$work/bench-vgg7.json" --json-out "$work/peer-table.json" >> "$sum" 2>&1
if command -v ncu > /dev/null; then
  for m in vgg3 vgg7; do
    HEPBNN_CUDA_GRAPHS=0 timeout 60 ncu --clock-control none --kernel-name regex:Kernel_Kernel --launch-count 1 \
      --section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats \
      --section LaunchStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis \
      "$hepbnn" run --model $m --plan "$bin/$m-256.json" --batch 256 --repeat 1 > "$work/ncu-$m.txt" 2>&1
    echo "== ncu $m exit $?" >> "$sum"
    grep -E "Duration|Executed Instructions  |Registers Per|Achieved Occupancy|No Eligible|Issue Slots Busy" "$work/ncu-$m.txt" | cut -c1-120 >> "$sum"
  done
fi
cat "$sum"
