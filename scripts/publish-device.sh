#!/usr/bin/env bash
# Publishes the hepbnn CLI self-contained as a single file for the GPU machine (which has no .NET SDK), together with
# every script of this folder, into <root>/.device/<name>/.
# Usage: scripts/publish-device.sh [name=gpu] [root=this checkout]
#   e.g. scripts/publish-device.sh gpu /work/main   → /work/main/.device/gpu/{hepbnn,gpu-check.sh,final-check.sh,…}
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
# Every script beside the CLI (≈ 0.3 MB): the device calls run them from there and source device-call-lib.sh from
# their own folder; kernel dumps (tools/PtxDump) go into "$out/ptx" by hand where a call wants them.
shopt -s nullglob
cp scripts/*.sh scripts/*.py scripts/*.cu scripts/*.c scripts/*.json "$out/"
shopt -u nullglob
size=$(du -sm "$out" | cut -f1)
echo "published to $out (${size} MiB)"
if [ "$size" -ge 60 ]; then echo "warning: payload is ${size} MiB; the device transfer limit is 64 MiB" >&2; exit 1; fi
