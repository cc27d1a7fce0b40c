# Sourced (never run) by the one-call scripts that run ON the GPU machine (mma30/mma31/mma32/ncu4 families): the
# call's folders, a step bounded by the call's budget, unpacking the published CLI, and ptxas/SASS of its dumped PTX.
# publish-device.sh copies this file beside the scripts, so they source it from their own folder.

# call_init BIN BUDGET_S OUT_DIR: the globals the scripts use — bin, budget (seconds for the whole call), top ($OUT, or
# ./<name>-out when run by hand), out (the work folder, tarred at the end), sum (the short summary) — and unpacks BIN.
call_init() {
  bin=$1; budget=$2; out=$3
  top=${OUT:-./$(basename "$out")}
  mkdir -p "$out" "$top"
  sum="$out/summary.txt"
  unpack_cli "$bin"
}

# Seconds of the call's budget left.
left() { echo $((budget - SECONDS)); }

# step SECONDS CMD...: CMD under `timeout`, at most SECONDS and at most what is left of the budget; skipped (return 1,
# noted in the summary) once fewer than STEP_MIN_S (default 15) seconds are left. Each step is logged in steps.txt.
step() {
  local s=$1; shift; local l; l=$(left)
  if [ "$l" -lt "${STEP_MIN_S:-15}" ]; then echo "skipped (budget): $*" >> "$sum"; return 1; fi
  [ "$s" -gt "$l" ] && s=$l
  echo "== $(date -u +%H:%M:%S) ${s}s: $*" >> "$out/steps.txt"
  timeout "$s" "$@"
}

# unpack_cli BIN: gunzips what was compressed to fit the 64 MiB transfer (the CLI, libSkiaSharp, dumped PTX).
unpack_cli() {
  local z
  for z in "$1"/*.gz "$1"/ptx/*.gz; do [ -f "$z" ] && gunzip -f "$z"; done
  [ -f "$1/hepbnn" ] && chmod +x "$1/hepbnn"
  return 0
}

# sass_dump BIN: for every BIN/ptx/*.ptx (tools/PtxDump output) ptxas's register/spill report (stdout) and the SASS
# (cuobjdump) in $out/sass/<kernel>.sass, for sass-loops.py.
sass_dump() {
  local ptxas cuobjdump f b
  ptxas=$(command -v ptxas || echo "$(dirname "$(command -v nvcc)")/ptxas")
  cuobjdump=$(command -v cuobjdump || echo "$(dirname "$ptxas")/cuobjdump")
  mkdir -p "$out/sass"
  for f in "$1"/ptx/*.ptx; do
    [ -f "$f" ] || continue
    b=$(basename "$f" .ptx)
    echo "== $b"
    timeout 20 "$ptxas" -arch=sm_90 -v -o "/tmp/$b.cubin" "$f" 2>&1 | grep -E "registers|spill|rror"
    [ -f "/tmp/$b.cubin" ] && timeout 10 "$cuobjdump" -sass "/tmp/$b.cubin" > "$out/sass/$b.sass" 2>&1
  done
}

# named_step SECONDS NAME [VAR=VALUE...] -- CMD...: CMD as a `step` with those variables exported, its output in
# $out/NAME.txt, a line with the command, its exit code and seconds in the summary; then `pack` where the calling script
# defines one (so a call cut short still brings back what is done).
named_step() {
  local s=$1 name=$2; shift 2; local env=(); while [ "$1" != "--" ]; do env+=("$1"); shift; done; shift
  echo "== $name: ${env[*]} $* ($(date -u +%T))" >> "$sum"; local t0=$SECONDS
  ( for e in "${env[@]}"; do export "$e"; done; step "$s" "$@" ) > "$out/$name.txt" 2>&1
  echo "exit code $?, $((SECONDS - t0)) s" >> "$sum"
  if declare -F pack > /dev/null; then pack; fi
}

# ncu_plan NAME LIMIT_S KERNEL_REGEX LAUNCHES MODEL BATCH: Nsight Compute on `hepbnn run` of $out/plan-NAME.json (CUDA
# graphs off, so each kernel is its own launch; clocks and caches as they run; the full section set and every warp-stall
# reason per issued instruction), LAUNCHES launches of the kernels matching KERNEL_REGEX, then the details as
# $out/ncu-NAME.txt and the source page (SASS with stall samples) as $out/source-NAME.csv.
ncu_plan() {
  local name=$1 limit=$2 kernels=$3 launches=$4 model=$5 batch=$6 s stalls="" ncu
  for s in barrier long_scoreboard short_scoreboard mio_throttle lg_throttle math_pipe_throttle wait not_selected selected dispatch_stall no_instruction tex_throttle membar branch_resolving drain imc_miss misc sleeping; do
    stalls+="smsp__average_warps_issue_stalled_${s}_per_issue_active.ratio,"; done
  ncu=$(command -v ncu || echo /usr/local/cuda/bin/ncu)
  HEPBNN_CUDA_GRAPHS=0 step "$limit" "$ncu" --clock-control none --cache-control none --kernel-name "regex:$kernels" --launch-count "$launches" \
    --set full --import-source no --metrics "${stalls%,}" -f -o "$out/ncu-$name" \
    "$bin/hepbnn" run --model "$model" --plan "$out/plan-$name.json" --batch "$batch" --repeat 1 > "$out/ncu-$name.log" 2>&1
  echo "== ncu $name exit code $?" >> "$sum"
  [ -f "$out/ncu-$name.ncu-rep" ] || return 1
  timeout 20 "$ncu" --import "$out/ncu-$name.ncu-rep" --print-details all > "$out/ncu-$name.txt" 2>&1
  timeout 20 "$ncu" --import "$out/ncu-$name.ncu-rep" --page source --csv --print-source sass > "$out/source-$name.csv" 2>&1
}
