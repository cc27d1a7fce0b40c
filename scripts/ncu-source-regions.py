#!/usr/bin/env python3
"""Per-kernel summary of an `ncu --page source --csv --print-source sass` dump (issue 9, helper ncu4): the warp-stall
samples per code region — preamble (before the first BMMA's loop), product loop(s) (instructions between a backward
branch and its target that hold BMMAs), tile code outside the product (the rest of the outermost loop: epilogue,
start loads) and the tail — with each region's top stall reasons and its hottest instructions.
Usage: ncu-source-regions.py source.csv [kernel-index ...] [--list N]"""
import csv, sys, re, collections

def kernels(path):
    rows, out, name, header = [], [], None, None
    for r in csv.reader(open(path)):
        if not r: continue
        if r[0] == "Kernel Name":
            if name: out.append((name, header, rows))
            name, rows, header = r[1], [], None
        elif r[0] == "Address": header = r
        elif header: rows.append(dict(zip(header, r)))
    if name: out.append((name, header, rows))
    return out

def num(s):
    try: return float(s.replace(",", ""))
    except ValueError: return 0.0

def analyse(name, header, rows, listing):
    stalls = [h for h in header if h.startswith("stall_") and "Not Issued" not in h]
    sass = [r["Source"].strip() for r in rows]
    addr = [int(r["Address"], 16) for r in rows]
    index = {a: i for i, a in enumerate(addr)}
    loops = []  # (start, end) of backward branches
    for i, s in enumerate(sass):
        t = re.search(r"0x([0-9a-f]+)", s) if "BRA" in s else None
        if t:
            target = int(t.group(1), 16)
            if target in index and index[target] < i: loops.append((index[target], i))
    bmma = [i for i, s in enumerate(sass) if "BMMA" in s]
    product = [(a, b) for a, b in loops if any(a <= k <= b for k in bmma) and b - a < 400]
    outer = [(a, b) for a, b in loops if any(a <= k <= b for k in bmma) and (a, b) not in product]
    region = ["tail"] * len(rows)
    first = min(bmma) if bmma else len(rows)
    if outer: oa, ob = max(outer, key=lambda l: l[1] - l[0])
    else: oa, ob = (first, max(bmma) if bmma else len(rows) - 1)
    for i in range(len(rows)):
        if i < oa: region[i] = "preamble"
        elif i <= ob: region[i] = "tile (outside product loop)"
    for a, b in product:
        for i in range(a, b + 1): region[i] = "product loop"
    total = sum(num(r["Warp Stall Sampling (All Samples)"]) for r in rows)
    print(f"== {name}: {len(rows)} SASS instructions, {len(bmma)} BMMA, {int(total)} samples; loops {loops}; product {product}, outer {(oa, ob)}")
    agg = collections.OrderedDict()
    for reg in ("preamble", "tile (outside product loop)", "product loop", "tail"):
        idx = [i for i in range(len(rows)) if region[i] == reg]
        if not idx: continue
        smp = sum(num(rows[i]["Warp Stall Sampling (All Samples)"]) for i in idx)
        ex = sum(num(rows[i]["Instructions Executed"]) for i in idx)
        by = collections.Counter()
        for i in idx:
            for s in stalls: by[s] += num(rows[i][s])
        top = ", ".join(f"{k[6:]} {100 * v / max(smp, 1):.0f}%" for k, v in by.most_common(6))
        print(f"  {reg:30s} {len(idx):5d} instr  {ex / 1e6:7.2f} M warp-instr executed  {100 * smp / total:5.1f}% of samples: {top}")
    hot = sorted(range(len(rows)), key=lambda i: -num(rows[i]["Warp Stall Sampling (All Samples)"]))[:listing]
    for i in sorted(hot):
        r = rows[i]
        by = sorted(((num(r[s]), s[6:]) for s in stalls), reverse=True)[:3]
        print(f"   {i:5d} {region[i][:8]:8s} {100 * num(r['Warp Stall Sampling (All Samples)']) / total:5.2f}%  {sass[i][:60]:60s} " + " ".join(f"{n}:{int(v)}" for v, n in by if v))

args = [a for a in sys.argv[1:]]
listing = 25
if "--list" in args:
    k = args.index("--list"); listing = int(args[k + 1]); del args[k:k + 2]
ks = kernels(args[0])
pick = [int(a) for a in args[1:]] or range(len(ks))
for k in pick: analyse(*ks[k], listing)
