#!/usr/bin/env python3
"""Opcode counts of a kernel's SASS (cuobjdump -sass output) and of its loops holding MMA instructions (BMMA/HMMA/IMMA):
the one with the most (the tile loop) and each with no such loop inside (the product's steps, the popcounts), with instructions per MMA by opcode class.
Usage: sass-loops.py file.sass [...]   (issue 9, helper mma30: where a tensor-core kernel's issue slots go)"""
import re, sys, collections

INS = re.compile(r'/\*([0-9a-f]{4,})\*/\s+(@!?U?P[T0-9]\s+)?([A-Z][A-Z0-9_.]*)([^;]*);')
TARGET = re.compile(r'0x([0-9a-f]+)')

def classify(op):
    base = op.split('.')[0]
    if base in ("BMMA", "HMMA", "IMMA"): return "mma"
    if base in ("LDG", "LDGSTS"): return "ldg"
    if base in ("LDS", "LDSM"): return "lds"
    if base in ("STS", "STG", "STL", "LDL"): return base.lower()
    if base in ("SHFL",): return "shfl"
    if base in ("BAR", "BRA", "EXIT", "BSYNC", "BSSY", "WARPSYNC"): return "control"
    return "alu"

for path in sys.argv[1:]:
    ins = []
    for line in open(path, errors="replace"):
        m = INS.search(line)
        if m: ins.append((int(m.group(1), 16), m.group(3), m.group(4)))
    hist = collections.Counter(op.split('.')[0] for _, op, _ in ins)
    print(f"== {path.split('/')[-1]}: {len(ins)} instructions; " + ", ".join(f"{k} {v}" for k, v in hist.most_common(14)))
    loops = []
    for i, (addr, op, args) in enumerate(ins):
        if not op.startswith("BRA"): continue
        t = TARGET.search(args)
        if not t or int(t.group(1), 16) >= addr: continue
        body = [x for x in ins if int(t.group(1), 16) <= x[0] <= addr]
        mmas = sum(1 for x in body if classify(x[1]) == "mma")
        if mmas: loops.append((mmas, len(body), body, int(t.group(1), 16), addr))
    # The loop with the most MMAs (the tile loop: product and epilogue), then each loop holding MMAs and no other such
    # loop (the product's steps, the popcounts).
    leaves = [l for l in loops if not any(o is not l and l[3] <= o[3] and o[4] <= l[4] for o in loops)]
    picks = [("outermost", max(loops, default=None))] + [("inner", l) for l in sorted(leaves, key=lambda l: -l[0])]
    for label, pick in picks:
        if pick is None: continue
        mmas, n, body, lo, hi = pick
        cls = collections.Counter(classify(x[1]) for x in body)
        print(f"   {label} MMA loop 0x{lo:x}..0x{hi:x}: {n} instructions, {mmas} MMA, {n / mmas:.2f} per MMA; "
              + ", ".join(f"{k} {v}" for k, v in cls.most_common()))
