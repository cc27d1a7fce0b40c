#!/usr/bin/env bash
# Runs ON the GPU machine in one call: info, verify, transfers, and per-block benchmarks of vgg3 and vgg7 at batch 1
# and 256 on all devices. Writes two files under $OUT (default ./gpu-check-out):
#   report.txt   every command's text output and exit code, in order
#   report.json  {"info": ..., "verify": ..., "transfers": ..., "benchVgg3": [...], "benchVgg7": [...]}
# Usage: gpu-check.sh [binary-dir=.device/gpu] [verify-networks=30]
# Exit code: 1 if verify found a mismatch (or failed), else 0.
set -uo pipefail
bin=${1:-.device/gpu}
networks=${2:-30}
out=${OUT:-./gpu-check-out}
mkdir -p "$out"
tmp=$(mktemp -d)
txt="$out/report.txt"
: > "$txt"
hepbnn="$bin/hepbnn"
if [ ! -x "$hepbnn" ]; then echo "no hepbnn binary in $bin" | tee -a "$txt"; exit 2; fi

run() { # run <json-name> <args...>: text to report.txt, JSON to $tmp/<json-name>.json
  local name=$1; shift
  echo "=== hepbnn $* ($(date -u +%H:%M:%S))" >> "$txt"
  "$hepbnn" "$@" --json-out "$tmp/$name.json" >> "$txt" 2>&1
  local rc=$?
  echo "=== exit code $rc" >> "$txt"
  echo >> "$txt"
  return $rc
}

nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv >> "$txt" 2>&1 || true
run info info
run verify verify --networks "$networks"
verify_rc=$?
run transfers transfers
run benchVgg3 bench --device all --layers --model vgg3 --batch 1 256
run benchVgg7 bench --device all --layers --model vgg7 --batch 1 256

json="$out/report.json"
{
  echo "{"
  first=1
  for name in info verify transfers benchVgg3 benchVgg7; do
    [ $first -eq 1 ] || echo ","
    first=0
    printf '"%s": ' "$name"
    if [ -s "$tmp/$name.json" ]; then cat "$tmp/$name.json"; else echo "null"; fi
  done
  echo "}"
} > "$json"
rm -rf "$tmp"
echo "verify exit code: $verify_rc" >> "$txt"
[ $verify_rc -eq 0 ]
