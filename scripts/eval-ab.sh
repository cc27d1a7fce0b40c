#!/usr/bin/env bash
# Interleaved A/B of `hepbnn eval` (VGG7, full CIFAR-10 test set) on this machine: variants run in turn, ROUNDS times,
# each printing wall and CPU seconds (user+sys), inference, reader and wait seconds, accuracy; then per variant the
# median and minimum wall. A variant is LABEL 'ENV=VALUE …' DIR (DIR: a build output holding hepbnn.dll, so two builds
# can be compared; 'X=1' for no variable).
# Usage: scripts/eval-ab.sh ROUNDS LABEL ENV DIR [LABEL ENV DIR …]
#   e.g. scripts/eval-ab.sh 5 base X=1 src/HepBnn.Cli/bin/Release/net10.0 pgo0 DOTNET_TieredPGO=0 src/HepBnn.Cli/bin/Release/net10.0
set -uo pipefail
ROOT=$(git rev-parse --show-toplevel); cd "$ROOT"
DATA=${DATA:-$ROOT/../shared/data/cifar-10-batches-bin}; [ -d "$DATA" ] || DATA=/work/shared/data/cifar-10-batches-bin
R=$1; shift
args=("$@")
log=$(mktemp)
echo "$(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), $(nproc) cores, $(date -u +%H:%M) UTC"
for r in $(seq 1 "$R"); do
  for ((i=0; i<${#args[@]}; i+=3)); do
    lab=${args[i]}; envs=${args[i+1]}; dir=${args[i+2]}
    load=$(cut -d' ' -f1 /proc/loadavg)
    out=$( { /usr/bin/time -f "TIME %e %U %S" env $envs dotnet "$dir/hepbnn.dll" eval --model models/vgg7-cifar10.hbnn --data "$DATA"; } 2>&1)
    wall=$(grep TIME <<<"$out" | awk '{print $2}'); cpu=$(grep TIME <<<"$out" | awk '{printf "%.2f", $3+$4}')
    inf=$(grep -oE 'in [0-9.]+ s of inference' <<<"$out" | grep -oE '[0-9.]+')
    rd=$(grep -oE 'took [0-9.]+ s' <<<"$out" | grep -oE '[0-9.]+'); wt=$(grep -oE 'waited [0-9.]+ s' <<<"$out" | grep -oE '[0-9.]+')
    acc=$(grep -oE 'top-1 accuracy: [0-9.]+%' <<<"$out" | grep -oE '[0-9.]+%')
    echo "$lab round $r load $load wall $wall cpu $cpu inf $inf read ${rd:--} wait ${wt:--} acc $acc" | tee -a "$log"
  done
done
for ((i=0; i<${#args[@]}; i+=3)); do
  lab=${args[i]}
  grep "^$lab " "$log" | awk '{print $7}' | sort -n | awk -v l="$lab" '{a[NR]=$1} END {printf "%s: %d runs, wall median %.2f s, min %.2f s\n", l, NR, (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2), a[1]}'
done
rm -f "$log"
