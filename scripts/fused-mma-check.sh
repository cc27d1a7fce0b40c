#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, batch-1 latency of gpu.fused with tensor-core stages):
# 1. GPU `hepbnn verify` (every GPU configuration per block; fused ranges with tensor-core AND SIMT stages);
# 2. whole-network gpu.fused latency (`hepbnn run --config gpu.fused`, median of 3000 host→host runs in one CUDA graph)
#    for vgg3/vgg7 at batch 1 and 16: the default kind per range (auto), SIMT stages (HEPBNN_FUSED_MMA=0) and
#    tensor-core stages (HEPBNN_FUSED_MMA=1) with 1, 2, 4 steps per warp;
# 3. `hepbnn transfers` (the fixed costs: H2D, D2H, launch);
# 4. the PyTorch float peer and `hepbnn bench` (found plan vs per-block plan vs whole network fused) at batch 1 and 16;
# 5. optionally nsys on a vgg3 b1 fused run (kernel vs copies in the graph).
# Every step has a time limit. Usage: fused-mma-check.sh [binary-dir=.device/fusedb1] [nsys=1]
set -uo pipefail
bin=${1:-.device/fusedb1}
nsysOn=${2:-1}
out=${OUT:-./fused-mma-check-out}
mkdir -p "$out"
txt="$out/fused-mma-check.txt"
: > "$txt"
here=$(cd "$(dirname "$0")" && pwd)
step() { local limit=$1; shift; echo "=== hepbnn $* ($(date -u +%H:%M:%S))" >> "$txt"; local t0=$SECONDS; timeout "$limit" "$bin/hepbnn" "$@" >> "$txt" 2>&1; echo "=== exit code $?, $((SECONDS - t0)) s" >> "$txt"; echo >> "$txt"; }
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv >> "$txt" 2>&1 || true
step 100 verify --device gpu --networks 4 --json-out "$out/verify-gpu.json"
echo "=== whole-network gpu.fused, median µs of 3000 runs (host input -> host scores, CUDA graph)" >> "$txt"
printf '%-6s %-6s %-22s %s\n' model batch variant median_us >> "$txt"
for m in vgg3 vgg7; do
  for b in 1 16; do
    vs="auto simt mma1 mma2 mma4"; [ $b = 16 ] && vs="auto simt mma2"
    for v in $vs; do
      case $v in auto) env="HEPBNN_FUSED_AUTO=1";; simt) env="HEPBNN_FUSED_MMA=0";; mma1) env="HEPBNN_FUSED_MMA=1 HEPBNN_FUSED_STEPS=1";;
        mma2) env="HEPBNN_FUSED_MMA=1 HEPBNN_FUSED_STEPS=2";; mma4) env="HEPBNN_FUSED_MMA=1 HEPBNN_FUSED_STEPS=4";; esac
      r=$(env $env timeout 30 "$bin/hepbnn" run --model $m --config gpu.fused --batch $b --repeat 3000 --json 2>>"$txt" | python3 -c 'import json,sys; d=json.load(sys.stdin); print("%.1f" % d.get("medianLatencyUs", d.get("MedianLatencyUs", -1)))' 2>>"$txt")
      printf '%-6s %-6s %-22s %s\n' $m $b "$v" "${r:-failed}" >> "$txt"
    done
  done
done
echo >> "$txt"
echo "=== peer-pytorch.py ($(date -u +%H:%M:%S))" >> "$txt"
PYTHONUNBUFFERED=1 timeout 60 python3 "$here/peer-pytorch.py" --batch 1 16 --seconds 0.5 --json-out "$out/peer-pytorch.json" >> "$txt" 2>&1
echo "=== exit code $?" >> "$txt"; echo >> "$txt"
for m in vgg3 vgg7; do
  step 120 bench --model $m --batch 1 16 --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-$m.json"
done
echo "=== HepBnn vs PyTorch (peer-table.py)" >> "$txt"
python3 "$here/peer-table.py" --peer "$out/peer-pytorch.json" --bench "$out/bench-vgg3.json" "$out/bench-vgg7.json" --json-out "$out/peer-table.json" >> "$txt" 2>&1
step 60 transfers
if [ "$nsysOn" = 1 ] && command -v nsys >/dev/null; then
  echo "=== nsys: vgg3 b1 whole-network gpu.fused, 2000 runs ($(date -u +%H:%M:%S))" >> "$txt"
  timeout 90 nsys profile --cuda-graph-trace=node -t cuda -o /tmp/fused-vgg3 --force-overwrite true "$bin/hepbnn" run --model vgg3 --config gpu.fused --batch 1 --repeat 2000 >/dev/null 2>>"$txt"
  timeout 60 nsys stats -q --report cuda_gpu_kern_sum,cuda_gpu_mem_time_sum,cuda_api_sum --format csv /tmp/fused-vgg3.nsys-rep > "$out/nsys-vgg3-b1.csv" 2>>"$txt"
  head -c 6000 "$out/nsys-vgg3-b1.csv" >> "$txt"
fi
cat "$txt"
