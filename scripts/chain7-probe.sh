#!/usr/bin/env bash
# Runs ON the GPU machine (issue 9, helper chain7): builds and runs scripts/chain7-probe.cu (kernel-boundary, cluster-
# barrier and software-grid-barrier costs; the cluster chain prototype of VGG7 conv2..conv6 at batch 1, bit-exact
# checked), with ptxas resources and SM clocks. Usage: bash chain7-probe.sh <dir with chain7-probe.cu> [iters]
set -uo pipefail
dir=${1:-.device/chain7}
out=${OUT:-./chain7-out}
mkdir -p "$out"
sum="$out/probe.txt"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader > "$sum" 2>&1
nvcc --version | tail -2 >> "$sum"
t0=$SECONDS
nvcc -arch=sm_90 -O3 -std=c++17 --expt-relaxed-constexpr -Xptxas -v -o /tmp/chain7-probe "$dir/chain7-probe.cu" > "$out/ptxas.txt" 2>&1
echo "nvcc exit $?, $((SECONDS - t0)) s" >> "$sum"
grep -E "error|Function properties for|registers" "$out/ptxas.txt" | head -40 >> "$sum"
cuobjdump -sass /tmp/chain7-probe > "$out/sass.txt" 2>&1 && gzip -f "$out/sass.txt"
nvidia-smi --query-gpu=timestamp,clocks.sm --format=csv,noheader -lms 100 > "$out/clocks.csv" 2>&1 &
smi=$!
timeout 90 /tmp/chain7-probe "${2:-3000}" 7 >> "$sum" 2>&1
echo "probe exit $?" >> "$sum"
kill $smi 2>/dev/null
awk -F', ' '{print $2}' "$out/clocks.csv" | sort | uniq -c | sort -rn | head -4 | sed 's/^/SM clock samples: /' >> "$sum"
cat "$sum"
