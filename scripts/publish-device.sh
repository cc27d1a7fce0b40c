#!/usr/bin/env bash
# Publishes the hepbnn CLI self-contained as a single file for the GPU machine (which has no .NET SDK), together with
# gpu-check.sh, into <root>/.device/<name>/.
# Usage: scripts/publish-device.sh [name=gpu] [root=this checkout]
#   e.g. scripts/publish-device.sh gpu /work/main   → /work/main/.device/gpu/{hepbnn,gpu-check.sh}
set -euo pipefail
cd "$(dirname "$0")/.."
name=${1:-gpu}
root=${2:-$PWD}
out="$root/.device/$name"
rm -rf "$out"
dotnet publish src/HepBnn.Cli -c Release -r linux-x64 --self-contained \
  -p:PublishSingleFile=true -p:EnableCompressionInSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=false -p:DebugType=none -p:DebugSymbols=false \
  -o "$out" >/dev/null
rm -f "$out"/*.dll   # Windows natives some packages copy into every runtime's output
# Not needed on the GPU machine and too big for its 64 MiB transfer: ONNX Runtime's native library (the CPU peer runs
# here; the GPU machine has Python's), HarfBuzz (text shaping is not used) and the models copy (the checkout carries models/).
rm -rf "$out"/libonnxruntime*.so "$out"/libHarfBuzzSharp.so "$out"/models
cp scripts/gpu-check.sh scripts/cpu-device.sh scripts/plan-check.sh scripts/final-check.sh scripts/final-xeon.sh scripts/mma-fraction.py scripts/peer-pytorch.py scripts/peer-table.py "$out/"
[ -f scripts/cpu-b1-device.sh ] && cp scripts/cpu-b1-device.sh "$out/"
cp scripts/io-binding-check.sh "$out/"
[ -f scripts/pdl-call.sh ] && cp scripts/pdl-call.sh scripts/pdl-mapped-call.sh "$out/"
[ -f scripts/b1lat-call.sh ] && cp scripts/b1lat-call.sh scripts/b1lat-call2.sh "$out/"   # docs/results/h200-b1lat
[ -f scripts/b1pdl-call.sh ] && cp scripts/b1pdl-call.sh scripts/b1pdl-call2.sh "$out/"   # docs/results/h200-b1pdl (with tools/PtxDump output in "$out/ptx")
cp scripts/fused-mma-check.sh scripts/fused-mma-probe.sh "$out/"
[ -f scripts/mma-check.sh ] && cp scripts/mma-check.sh scripts/mma-layout-probe.cu "$out/"
[ -f scripts/mma-device.sh ] && cp scripts/mma-device.sh scripts/mma-fraction.py "$out/"   # with tools/PtxDump output in "$out/ptx"
[ -f scripts/mma-call.sh ] && cp scripts/mma-call.sh "$out/"   # likewise (docs/results/h200-mma-b256)
[ -f scripts/mma30-call.sh ] && cp scripts/mma30-call.sh scripts/sass-loops.py "$out/"   # likewise (docs/results/h200-mma30)
[ -f scripts/mma31-call.sh ] && cp scripts/mma31-call.sh scripts/sass-loops.py "$out/"   # likewise (docs/results/h200-mma31)
[ -f scripts/mma32-call.sh ] && cp scripts/mma32-call.sh scripts/mma32-ncu.sh scripts/sass-loops.py "$out/"   # likewise (docs/results/h200-mma32)
[ -f scripts/ncu4-ncu.sh ] && cp scripts/ncu4-ncu.sh scripts/ncu4-call.sh scripts/ncu4-plan-vgg7-b256.json scripts/ncu-source-regions.py scripts/sass-loops.py "$out/"   # docs/results/h200-ncu4 (ncu4-call.sh also wants tools/PtxDump output in "$out/ptx")
size=$(du -sm "$out" | cut -f1)
echo "published to $out (${size} MiB)"
if [ "$size" -ge 60 ]; then echo "warning: payload is ${size} MiB; the device transfer limit is 64 MiB" >&2; exit 1; fi
