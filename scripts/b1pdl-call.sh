#!/usr/bin/env bash
# Runs ON the GPU machine in one call (issue 9, helper b1pdl; docs/results/h200-b1pdl): dependent launch with a real
# prologue (session constants loaded before griddepcontrol.wait in the wide/deep/split tensor-core kernels).
# 0. SM clocks; ptxas -v and the SASS order (prologue loads before the wait) of the dumped PTX (tools/PtxDump, HEPBNN_PDL=force);
# 1. GPU `hepbnn verify` with HEPBNN_PDL=1 (every configuration; whole sessions with programmatic edges, copies and mapped);
# 2. `hepbnn bench` vgg7 b1 with HEPBNN_PDL=1 (node costs in programmatic chains; the verdict measures the found plan
#    with plain edges interleaved: the same-run before/after), SM clock sampled every 100 ms meanwhile;
# 3. the PyTorch float peer at b1 (CUDA graph and eager);
# 4. `hepbnn bench` vgg7 b1 with the default (plain edges; the verdict measures the same plan with programmatic ones);
# 5. regression checks: vgg3 b16 and vgg7 b16 default.
# Everything lands in $OUT/b1pdl (tarred to $OUT/b1pdl.tar.gz); $OUT/summary.txt is the short version.
set -uo pipefail
bin=${1:-.device/b1pdl}
out=${OUT:-./b1pdl-out}
work=$out/b1pdl
mkdir -p "$work"
sum="$out/summary.txt"
for f in "$bin"/*.gz "$bin"/ptx/*.gz; do [ -f "$f" ] && gunzip -f "$f"; done
chmod +x "$bin/hepbnn"
hepbnn="$bin/hepbnn"
pack() { cp "$sum" "$work/" 2>/dev/null; tar -C "$out" -czf "$out/b1pdl.tar.gz" b1pdl; }
trap pack EXIT
step() { # step <limit> <name> <env...> -- <hepbnn args...>
  local limit=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} hepbnn $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  env "${env[@]}" timeout "$limit" "$hepbnn" "$@" > "$work/$name.txt" 2>&1; echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  pack
}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,clocks.mem --format=csv,noheader >> "$sum" 2>&1
if [ -d "$bin/ptx" ]; then
  for f in "$bin"/ptx/*.ptx; do
    n=$(basename "$f" .ptx)
    timeout 20 ptxas -arch=sm_90 -v -o "$work/$n.cubin" "$f" > "$work/$n.ptxas.txt" 2>&1
    grep -E "registers" "$work/$n.ptxas.txt" | sed "s/^/$n: /" >> "$sum"
    timeout 20 cuobjdump -sass "$work/$n.cubin" > "$work/$n.sass" 2>&1
    # where the wait sits among the global loads (first 3 LDG lines before and after it)
    awk -v n="$n" '/LDG|ACQBULK|griddep|DEPBAR|CCTL|\.WAIT|PREEXIT|BAR.SYNC/ {print n": "NR": "$0}' "$work/$n.sass" | grep -v "^$" | head -40 > "$work/$n.order.txt"
    rm -f "$work/$n.cubin"
  done
fi
step 40 verify-pdl HEPBNN_PDL=1 -- verify --device gpu --networks 2 --json-out "$work/verify-pdl.json"
grep -E "wide-split|wide-deep|GPU segments|programmatic|bit-exact|MISMATCH|error" "$work/verify-pdl.txt" | cut -c1-260 >> "$sum"
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,utilization.gpu,power.draw --format=csv -lms 100 > "$work/clocks-bench-pdl.csv" 2>&1 &
smi=$!
step 50 bench-vgg7-b1-pdl HEPBNN_PDL=1 -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1-pdl.json"
kill $smi 2>/dev/null
awk -F', ' 'NR>1 {print $2}' "$work/clocks-bench-pdl.csv" | sort | uniq -c | sort -rn | head -6 | sed 's/^/SM clock during bench (samples, MHz): /' >> "$sum"
grep -E "wide-deep |wide-split |tensor-core |^found plan|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER|mismatch" "$work/bench-vgg7-b1-pdl.txt" | cut -c1-250 >> "$sum"
echo "== peer ($(date -u +%T))" >> "$sum"
PYTHONUNBUFFERED=1 timeout 25 python3 "$bin/peer-pytorch.py" --batch 1 --seconds 0.4 --json-out "$work/peer.json" --txt-out "$work/peer.txt" > /dev/null 2>&1
echo "exit code $?" >> "$sum"; cat "$work/peer.txt" >> "$sum" 2>/dev/null
step 40 bench-vgg7-b1-plain -- bench --model vgg7 --batch 1 --layers --measure-s 1 --profile-budget-s 3 --json-out "$work/bench-vgg7-b1-plain.json"
grep -E "^found plan|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER|mismatch" "$work/bench-vgg7-b1-plain.txt" | cut -c1-250 >> "$sum"
step 25 bench-vgg3-b16 -- bench --model vgg3 --batch 16 --measure-s 0.5 --profile-budget-s 2 --json-out "$work/bench-vgg3-b16.json"
step 30 bench-vgg7-b16 -- bench --model vgg7 --batch 16 --measure-s 0.5 --profile-budget-s 2 --json-out "$work/bench-vgg7-b16.json"
grep -E "^found plan|^verdict|found plan's|found plan, |found plan \(top-1\)|note:|DIFFER|mismatch" "$work"/bench-vgg*-b16.txt | cut -c1-250 >> "$sum"
cat "$sum"
