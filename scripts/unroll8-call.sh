#!/usr/bin/env bash
# Ran as of commit 87a4c61, where "…-const" twins were unrolled by default and HEPBNN_CONST_UNROLL=0 turned that off; since
# 01e1a3e the unrolled twins are their own configurations ("…-const-unrolled"), see unroll8-call2.sh.
# Runs ON the GPU machine in one call (issue 9, helper unroll8; docs/results/h200-unroll8): the constant-shape twins with
# their IR fixed to CUDA and their constant-trip loops unrolled (GpuConstantKernel, HEPBNN_CONST_UNROLL, on by default).
# 1. `hepbnn bench` vgg7 b1 --layers (found plan, node times), the twins' PTX dumped (HEPBNN_PTX_DIR);
# 2. GPU `hepbnn verify` of the five twins (HEPBNN_CONST_SHAPES=1, --networks 1): bit-exact;
# 3. the same bench with HEPBNN_CONST_UNROLL=0 (the twins as in session 9), PTX dumped too;
# 4. vgg7 b16 + vgg3 b1/b16 briefly (twins used there too), if time is left;
# 5. SASS counts (ptxas + cuobjdump, sass-loops.py) of the dumped twins of both benches.
# Usage: bash .device/unroll8/unroll8-call.sh .device/unroll8 [budget_s=230]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
source "$here/device-call-lib.sh"
call_init "$1" "${2:-230}" "${OUT:-./unroll8-out}/unroll8"
hepbnn="$bin/hepbnn"
pack() { tar -C "$out/.." -czf "$top/unroll8.tar.gz" unroll8 2>/dev/null; cp "$sum" "$top/summary.txt" 2>/dev/null; }
trap pack EXIT
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv,noheader >> "$sum" 2>&1
pat="tensor-core|^found plan|^verdict|found plan's|found plan \(top-1\)|profil|note:|DIFFER|mismatch|rror|conv[1-6]|fc[12]"
mkdir -p "$out/ptx-on" "$out/ptx-off"
named_step 60 bench-vgg7-b1-unrolled HEPBNN_PTX_DIR="$out/ptx-on" -- "$hepbnn" bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-vgg7-b1-unrolled.json"
grep -E "$pat" "$out/bench-vgg7-b1-unrolled.txt" | cut -c1-250 >> "$sum"
named_step 70 verify-twins HEPBNN_CONST_SHAPES=1 -- "$hepbnn" verify --device gpu --networks 1 --configs gpu.tensor-core-const gpu.tensor-core-wide-deep-const gpu.tensor-core-wide-split-const gpu.tensor-core-wide-2m-r128-fold-const gpu.tensor-core-image-rows-const
grep -iE "const|bit-exact|MISMATCH|rror|passed|failed|differ" "$out/verify-twins.txt" | cut -c1-260 | head -40 >> "$sum"
named_step 60 bench-vgg7-b1-rolled HEPBNN_CONST_UNROLL=0 HEPBNN_PTX_DIR="$out/ptx-off" -- "$hepbnn" bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$out/bench-vgg7-b1-rolled.json"
grep -E "$pat" "$out/bench-vgg7-b1-rolled.txt" | cut -c1-250 >> "$sum"
ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas"); cuobjdump=$(command -v cuobjdump || echo "$(dirname "$ptxas")/cuobjdump")
sass_one() { local f=$1 d; d=$(dirname "$f"); local b; b=$(basename "$f" .ptx)
  timeout 40 "$ptxas" -arch=sm_90 -v -o "/tmp/$b-$(basename "$d").cubin" "$f" > "$d/$b.ptxas.txt" 2>&1
  timeout 20 "$cuobjdump" -sass "/tmp/$b-$(basename "$d").cubin" > "$d/$b.sass" 2>&1; rm -f "/tmp/$b-$(basename "$d").cubin"; }
export -f sass_one; export ptxas cuobjdump
if [ "$(left)" -gt 20 ]; then
  ls "$out"/ptx-on/*.ptx "$out"/ptx-off/*.ptx 2>/dev/null | timeout $(( $(left) - 10 )) xargs -P 14 -I{} bash -c 'sass_one {}'
  for d in ptx-on ptx-off; do echo "== SASS $d" >> "$sum"; for s in "$out/$d"/*.sass; do [ -f "$s" ] || continue
    echo "$(basename "$s" .sass): $(grep -cE '^\s+/\*[0-9a-f]+\*/' "$s") instr, $(grep -c BMMA "$s") BMMA, $(grep -cE '\bBRA\b' "$s") BRA; $(grep -oE 'Used [0-9]+ registers' "${s%.sass}.ptxas.txt" | head -1)" >> "$sum"; done; done
  python3 "$here/sass-loops.py" "$out"/ptx-on/*.sass > "$out/sass-loops-on.txt" 2>&1
  python3 "$here/sass-loops.py" "$out"/ptx-off/*.sass > "$out/sass-loops-off.txt" 2>&1
fi
named_step 40 bench-b16 -- "$hepbnn" bench --model vgg7 --batch 16 --measure-s 0.5 --profile-budget-s 2
grep -E "^found plan|^verdict|found plan \(top-1\)" "$out/bench-b16.txt" | cut -c1-250 >> "$sum"
named_step 30 bench-vgg3 -- "$hepbnn" bench --model vgg3 --batch 1 --batch 16 --measure-s 0.5 --profile-budget-s 2
grep -E "^found plan|^verdict|found plan \(top-1\)" "$out/bench-vgg3.txt" | cut -c1-250 >> "$sum"
for d in ptx-on ptx-off; do gzip -9 "$out/$d"/*.ptx "$out/$d"/*.sass 2>/dev/null; done
cat "$sum"
