#!/usr/bin/env bash
# Runs HERE (no GPU; issue 9, helper "conv9", docs/results/h200-conv9/ptxas.txt): what makes ptxas keep ILGPU's inline-PTX
# operand locals in memory. Edits the PTX of tools/PtxDump (band kernel; pipe kernel as compiled and as promoted by
# GpuPtxLocals) with sed/awk and prints ptxas's stack frame for each variant.
# Usage: scripts/conv9-ptxas-bisect.sh PTX_DIR [ptxas=/work/cudatools/ptxas]
set -uo pipefail
dir=$1; ptxas=${2:-/work/cudatools/ptxas}
band="$dir/GpuTensorCoreWide2MBand-BitsKernelBand-r128.ptx"
pipe="$dir/GpuTensorCoreWide2MPipe-BitsKernelPipe-r128.ptx"
promoted="$dir/GpuTensorCoreWide2MPipe-BitsKernelPipe-r128-promoted.ptx"
tmp=$(mktemp -d)
report() { printf '%-78s ' "$1"; "$ptxas" -arch=sm_90 -v -o "$tmp/k.cubin" "$2" 2>&1 | grep -oE "[0-9]+ bytes stack frame|error.*" | head -1; }
# One instruction added to the band kernel just before its `ret` (after every local's last use), .target raised to sm_90.
band_plus() {
  awk -v V="$1" '/^\tret;/ && !done {print "\tmov.u32 %zz1, 0;\n\tmov.u64 %zd1, 0;\n\t" V; done=1}
    /^\t\.reg \.b64/ && !decl {print; print "\t.reg .b32 %zz<4>;\n\t.reg .b64 %zd<2>;"; decl=1; next} {print}' "$band" |
    sed 's/\.target sm_[0-9]*/.target sm_90/' > "$tmp/b.ptx"
  report "band + $1" "$tmp/b.ptx"
}
# The pipe kernel with its one cp.async line replaced.
pipe_with() {
  sed "s|^\s*cp\.async\.ca\.shared\.global.*\$|\t$1|; s|%rd<\([0-9]*\)>|%rd<99999>|" "$pipe" > "$tmp/p.ptx"
  report "pipe, cp.async -> ${1:-(deleted)}" "$tmp/p.ptx"
}
src=$(grep -oE "cp\.async\.ca\.shared\.global \[\s*%r[0-9]+\], \[%rd[0-9]+\], 8, %r[0-9]+;" "$pipe" | head -1)
dst=$(echo "$src" | grep -oE "\[\s*%r[0-9]+\]" | tr -d '[] '); addr=$(echo "$src" | grep -oE "%rd[0-9]+"); size=$(echo "$src" | grep -oE "%r[0-9]+;" | tr -d ';')
report "band kernel as compiled" "$band"
report "pipe kernel as compiled ($src)" "$pipe"
pipe_with ""
# The copy's 64-bit source straight from the register ILGPU stores into its local (the local then unused by the copy).
slot=$(grep -oE "ld\.local\.b64\s+$addr, \[%rd[0-9]+\]" "$pipe" | grep -oE "\[%rd[0-9]+\]" | tr -d '[]')
value=$(grep -oE "st\.local\.b64\s+\[$slot\], %rd[0-9]+" "$pipe" | grep -oE "%rd[0-9]+$")
pipe_with "cp.async.ca.shared.global [$dst], [$value], 8, $size;"
pipe_with "ld.global.u64 %rd99990, [$addr]; st.shared.u64 [$dst], %rd99990;"
pipe_with "cp.async.cg.shared.global [$dst], [$addr], 16, $size;"
pipe_with "cp.async.ca.shared::cta.global [$dst], [$addr], 8, $size;"
pipe_with "cp.async.ca.shared.global [$dst], [$addr], 8;"
pipe_with "cp.async.ca.shared.global.L2::128B [$dst], [$addr], 8, $size;"
pipe_with "cp.async.ca.shared.global [$dst], [$addr], 4, $size;"
band_plus "cp.async.ca.shared.global [%zz1], [%zd1], 8, %zz1;"
band_plus "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%zz1], [%zd1], 16, [%zz2];"
band_plus "prefetch.global.L1 [%zd1];"
band_plus "prefetch.global.L2 [%zd1];"
band_plus "ld.global.nc.u32 %zz2, [%zd1];"
band_plus "discard.global.L2 [%zd1], 128;"
band_plus "mbarrier.init.shared.b64 [%zz1], 1;"
report "pipe kernel after GpuPtxLocals.Promote" "$promoted"
"$ptxas" -arch=sm_90 -v -o "$tmp/k.cubin" "$promoted" 2>&1 | grep -E "registers|spill"
rm -rf "$tmp"
