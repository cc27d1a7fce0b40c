#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper "band2", docs/results/h200-band2): ptxas's report and SASS of
# the band kernel (and the fold kernel it derives from: tools/PtxDump output in <bin>/ptx), the per-block bench of vgg7
# at batch 256 (every GPU configuration per block, band beside fold and lean in the same run) with its MMA fractions,
# then `hepbnn verify --device gpu --networks 1` (every configuration on vgg3, vgg7 and one random network).
# Everything lands in $OUT/band2-call.tar.gz (+ summary.txt). Usage: band2-call.sh [binary-dir=.device/band2] [budget-s=95]
set -uo pipefail
bin=${1:-.device/band2}
budget=${2:-95}
top=${OUT:-./band2-out}
out=/tmp/band2-call
mkdir -p "$out/sass" "$top"
sum="$out/summary.txt"
left() { echo $((budget - SECONDS)); }
step() { local s=$1; shift; local l; l=$(left); if [ "$l" -lt 8 ]; then echo "skipped (budget): $*" >> "$sum"; return 1; fi
         [ "$s" -gt "$l" ] && s=$l; echo "== $(date -u +%H:%M:%S) ${s}s: $*" >> "$out/steps.txt"; timeout "$s" "$@"; }
for z in "$bin"/*.gz "$bin"/ptx/*.gz; do [ -f "$z" ] && gunzip -f "$z"; done
chmod +x "$bin/hepbnn"
ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas")
cuobjdump=$(command -v cuobjdump || echo "$(dirname "$ptxas")/cuobjdump")
for f in "$bin"/ptx/*.ptx; do
  b=$(basename "$f" .ptx)
  echo "== $b"
  timeout 20 "$ptxas" -arch=sm_90 -v -o "/tmp/$b.cubin" "$f" 2>&1 | grep -E "registers|spill|rror"
  [ -f "/tmp/$b.cubin" ] && timeout 10 "$cuobjdump" -sass "/tmp/$b.cubin" > "$out/sass/$b.sass" 2>&1
  [ -f "$out/sass/$b.sass" ] && echo "SASS lines $(grep -c '/\*[0-9a-f]*\*/' "$out/sass/$b.sass"), LDG $(grep -c 'LDG' "$out/sass/$b.sass"), LDS $(grep -c 'LDS' "$out/sass/$b.sass"), BMMA $(grep -c 'BMMA' "$out/sass/$b.sass"), STL $(grep -c 'STL' "$out/sass/$b.sass")"
done > "$sum" 2>&1
step 50 "$bin/hepbnn" bench --model vgg7 --batch 256 --device gpu --layers --measure-s 1 --profile-budget-s 3 \
  --json-out "$out/bench-vgg7.json" > "$out/bench-vgg7.txt" 2>&1
echo "bench exit code $?" >> "$sum"
python3 "$bin/mma-fraction.py" 4806 "$out/bench-vgg7.json" >> "$sum" 2>&1
step 60 "$bin/hepbnn" verify --device gpu --networks 1 > "$out/verify.txt" 2>&1; echo "verify exit code $?" >> "$out/verify.txt"
tail -40 "$out/verify.txt" >> "$sum"
cp "$sum" "$top/summary.txt"
tar -czf "$top/band2-call.tar.gz" -C /tmp band2-call
