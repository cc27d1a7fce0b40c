#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper img8; docs/results/h200-img8/): the new first-layer
# configuration gpu.tensor-core-image-rows against the previous one (gpu.tensor-core's image kernel) in the same run.
# Beside this script: the CLI, vgg{3,7}-256.json (b256 found plans of an earlier bench, conv1 on gpu.tensor-core) and
# ptx/*.ptx (tools/PtxDump). Steps, most important first: ptxas register counts, verify, Nsight Compute on VGG3's
# conv1 (new kernel), `hepbnn run` of each plan with conv1 on the old and on the new kernel (default Run and I/O
# binding), bench vgg3 b256 (per-block table with both kernels, found plan) with the PyTorch peer in the same run,
# Nsight Compute on VGG7's conv1 (new) and on VGG3's with other grid sizes (HEPBNN_IMAGE_ROWS_GROUPS_PER_SM).
# Everything under $OUT/img8 is tarred into $OUT/img8.tar.gz; the summary is $OUT/summary.txt as well.
# Usage: img8-call.sh [binary-dir=.device/img8]
set -uo pipefail
bin=${1:-.device/img8}
out=${OUT:-./img8-out}
work=$out/img8
mkdir -p "$work"
sum="$out/summary.txt"
[ -f "$bin/libSkiaSharp.so.gz" ] && gunzip -f "$bin/libSkiaSharp.so.gz"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/img8.tar.gz" img8; }
trap pack EXIT
log() { echo "$*" >> "$sum"; }
log "== $(date -u +%T) $(nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv,noheader 2>&1)"
if command -v ptxas > /dev/null; then
  for f in "$bin"/ptx/*.ptx; do
    log "ptxas $(basename "$f" .ptx): $(ptxas -arch=sm_90 -v "$f" -o /dev/null 2>&1 | grep -oE 'Used [0-9]+ registers|[0-9]+ bytes spill stores' | tr '\n' ' ')"
  done
fi
log "== verify ($(date -u +%T))"
timeout 100 "$hepbnn" verify --device gpu --networks 12 > "$work/verify.txt" 2>&1; log "verify exit code $?"
grep -E "gpu\.tensor-core |image-rows|FAIL|MISMATCH|bit-exact|block cases" "$work/verify.txt" | head -8 >> "$sum"

for m in vgg3 vgg7; do
  for v in old new; do
    cfg=gpu.tensor-core; [ $v = new ] && cfg=gpu.tensor-core-image-rows
    python3 -c "import json,sys; p=json.load(open(sys.argv[1])); p['blocks'][0]['configuration']=sys.argv[2]; json.dump(p,open(sys.argv[3],'w'))" \
      "$bin/$m-256.json" $cfg "$work/$m-$v.json"
  done
done

ncu_conv1() { # model variant tag [sections...]
  local m=$1 v=$2 tag=$3; shift 3
  HEPBNN_CUDA_GRAPHS=0 timeout 60 ncu --clock-control none --kernel-name regex:Kernel_Kernel --launch-count 1 "$@" \
    "$hepbnn" run --model $m --plan "$work/$m-$v.json" --batch 256 --repeat 1 > "$work/ncu-$tag.txt" 2>&1
  log "== ncu $tag exit $?"
  grep -E "Duration|Executed Instructions  |Registers Per|Achieved Occupancy|No Eligible|Issue Slots Busy|Grid Size|Waves Per SM" "$work/ncu-$tag.txt" | cut -c1-110 >> "$sum"
}
full=(--section SpeedOfLight --section Occupancy --section SchedulerStats --section WarpStateStats --section InstructionStats
      --section LaunchStats --section ComputeWorkloadAnalysis --section MemoryWorkloadAnalysis)
command -v ncu > /dev/null && ncu_conv1 vgg3 new vgg3-new "${full[@]}"

log "== runs ($(date -u +%T)): median µs, hepbnn run --repeat 2000, the plans with conv1 old/new"
for m in vgg3 vgg7; do
  modes="default binding"; [ $m = vgg7 ] && modes="default"
  for mode in $modes; do
    for v in old new old new; do
      args=(); [ $mode = binding ] && args=(--io-binding)
      us=$(timeout 40 "$hepbnn" run --model $m --plan "$work/$m-$v.json" --batch 256 --repeat 2000 --json "${args[@]}" 2> "$work/run-$m-$v-$mode.err" \
        | tee -a "$work/runs.json" | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
      log "run $m b256 conv1 $v $mode ${us:-failed}"
    done
  done
done

log "== bench vgg3 ($(date -u +%T))"
timeout 90 "$hepbnn" bench --model vgg3 --batch 256 --layers --measure-s 1 --profile-budget-s 2 --json-out "$work/bench-vgg3.json" > "$work/bench-vgg3.txt" 2>&1
log "exit code $?"
grep -E "found plan|gpu.tensor-core |image-rows" "$work/bench-vgg3.txt" | cut -c1-200 | head -8 >> "$sum"
PYTHONUNBUFFERED=1 timeout 50 python3 "$bin/peer-pytorch.py" --batch 256 --seconds 0.5 --json-out "$work/peer.json" --txt-out "$work/peer.txt" > /dev/null 2>&1
timeout 20 python3 "$bin/peer-table.py" --peer "$work/peer.json" --bench "$work/bench-vgg3.json" --json-out "$work/peer-table.json" >> "$sum" 2>&1
grep -E "vgg7|vgg3" "$work/peer.txt" | head -8 >> "$sum"

if command -v ncu > /dev/null; then
  ncu_conv1 vgg7 new vgg7-new "${full[@]}"
  for g in 4 8 32; do HEPBNN_IMAGE_ROWS_GROUPS_PER_SM=$g ncu_conv1 vgg3 new vgg3-new-g$g --section SpeedOfLight --section LaunchStats; done
fi
log "== done $(date -u +%T)"
cat "$sum"
