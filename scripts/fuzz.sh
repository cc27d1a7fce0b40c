#!/usr/bin/env bash
# Dedicated fuzzing run of every file parser (.hbnn, ONNX, plan JSON, profile JSON, IDX, CIFAR-10, PNG/JPEG images, plan-cache entries):
# HEPBNN_FUZZ_CASES cases per parser (default 100000); for .hbnn, ONNX, plan and profile every accepted input must also
# round-trip (written again and read back equal),
# printing per parser the counts (parsed / rejected with HepBnnException / failures), the largest allocation per input
# byte and the most frequent rejection reasons. Failing inputs are saved under $TMPDIR/hepbnn-fuzz-failures/.
#   scripts/fuzz.sh [cases] [seed] [test classes, e.g. "PlanningFuzzTests|DatasetFuzzTests"; default: all eight]
set -euo pipefail
cd "$(dirname "$0")/.."
cases="${1:-100000}"
seed="${2:-12345}"
filter="Category=Fuzz"
# optional: only these test classes, e.g. "PlanningFuzzTests|DatasetFuzzTests"
[ -n "${3:-}" ] && filter="$filter&($(echo "$3" | sed 's/[^|][^|]*/FullyQualifiedName~&/g'))"
report="$(mktemp -t hepbnn-fuzz-XXXXXX.txt)"
echo "fuzzing with $cases cases per parser, seed $seed"
start=$(date +%s)
status=0
HEPBNN_FUZZ_CASES="$cases" HEPBNN_FUZZ_SEED="$seed" HEPBNN_FUZZ_REPORT="$report" \
  dotnet test tests/HepBnn.Tests -c Release --filter "$filter" --logger "console;verbosity=minimal" || status=$?
echo
cat "$report"
echo "total time: $(( $(date +%s) - start )) s"
rm -f "$report"
exit $status
