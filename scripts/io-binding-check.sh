#!/usr/bin/env bash
# Runs ON the GPU machine after plan-check.sh (which writes bench-<model>.json): the found plan of each model at batch
# 256 through `hepbnn run` (one session, back-to-back runs: a serving session, where `bench` interleaves 10 plans), three
# ways: the default Run (streaming staging copy), HEPBNN_STAGING_COPY=plain, and --io-binding (InferenceSession.
# RunWithBinding on the session's page-locked buffers, no host copies); VGG3 also with HEPBNN_MAPPED_IO=all, with and
# without --io-binding. One line per way, median µs (docs/results/h200-io256).
# Usage: io-binding-check.sh <binary-dir> <dir with bench-vgg3.json, bench-vgg7.json> [batch=256]
set -uo pipefail
bin=$1
dir=$2
batch=${3:-256}
for m in vgg7 vgg3; do
  json="$dir/bench-$m.json"
  [ -f "$json" ] || { echo "$m: no $json"; continue; }
  plan=$(mktemp --suffix=.json)
  python3 -c "import json,sys; v=[x['verdict'] for x in json.load(open(sys.argv[1])) if x['verdict']['batch']==$batch]; json.dump(v[0]['plan'],open(sys.argv[2],'w')) if v else sys.exit(1)" "$json" "$plan" \
    || { echo "$m: no batch-$batch verdict in $json"; continue; }
  modes="default plain binding"
  # VGG3 b256 also with mapped host input and output (kernels read/write the page-locked buffers: no copy nodes), with
  # and without I/O binding: docs/results/h200-io3 measured copies 62.9, mapped 50.2, binding 54.8 (µs, VGG3 b256).
  [ $m = vgg3 ] && modes="$modes mapped binding+mapped"
  for mode in $modes; do
    env=(); args=()
    [ $mode = plain ] && env+=(HEPBNN_STAGING_COPY=plain)
    case $mode in binding*) args=(--io-binding);; esac
    case $mode in *mapped) env=(HEPBNN_MAPPED_IO=all);; esac
    us=$(env "${env[@]}" timeout 60 "$bin/hepbnn" run --model $m --plan "$plan" --batch $batch --repeat 2000 --json "${args[@]}" 2>/dev/null \
      | grep -o '"medianLatencyUs": *[0-9.]*' | grep -o '[0-9.]*$')
    printf "%s b%s found plan, hepbnn run, %-15s %s µs\n" $m $batch $mode "${us:-failed}"
  done
  rm -f "$plan"
done
