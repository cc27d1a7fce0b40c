#!/usr/bin/env python3
"""Per-block fraction of the measured 1-bit MMA peak from `hepbnn bench --layers --json-out` files (issue 9, item 5).
Usage: mma-fraction.py PEAK_T bench-vgg3.json bench-vgg7.json   (PEAK_T: measured T bit-MAC/s, 4806 on the H200)
Bit-MACs are the useful ones (conv output elements x kh x kw x input channels), as Block.MacsPerSample counts them."""
import json, sys

MACS = {  # per sample, from ModelZoo's shapes
    "vgg3": {"conv1": 28*28*64*9*1, "conv2": 14*14*64*9*64, "fc1": 2048*7*7*64, "fc2": 10*2048},
    "vgg7": {"conv1": 32*32*128*9*3, "conv2": 32*32*128*9*128, "conv3": 16*16*256*9*128, "conv4": 16*16*256*9*256,
             "conv5": 8*8*512*9*256, "conv6": 8*8*512*9*512, "fc1": 1024*4*4*512, "fc2": 10*1024},
}
peak = float(sys.argv[1])
print(f"per-block GPU kernel medians (µs), tensor core vs the best other GPU configuration; T = 10^12 bit-MAC/s; "
      f"% of the measured {peak:,.0f} T 1-bit MMA peak (conv1 is the 8-bit image block: its MACs are 8-bit multiply-adds, "
      f"8 bit planes each on the 1-bit MMA, so its % is not comparable)")
for path in sys.argv[2:]:
    for entry in json.load(open(path)):
        layers = entry["layers"]
        model, batch = layers["model"], layers["batch"]
        rows = {}
        for t in layers["timings"]:
            if t["device"] != "Gpu" or not t.get("kernel"):
                continue  # "pruned": measured briefly and abandoned as far slower; its median still stands
            rows.setdefault(t["blockName"], {})[t["configuration"]] = t["kernel"]["medianUs"]
        print(f"\n{model} batch {batch}")
        print(f"{'block':6} {'tensor-core µs':>14} {'T bit-MAC/s':>12} {'% peak':>7} {'best other':>28} {'µs':>9} {'speed-up':>8}")
        for name, by in rows.items():
            macs = MACS[model][name] * batch
            tc = by.get("gpu.tensor-core")
            others = {c: us for c, us in by.items() if c != "gpu.tensor-core"}
            best = min(others, key=others.get) if others else None
            if tc is None:
                print(f"{name:6} {'-':>14} {'-':>12} {'-':>7} {best or '-':>28} {others.get(best, 0):9.1f} {'-':>8}   (8-bit image block: not supported)")
                continue
            t = macs / tc / 1e6
            if best is None:
                print(f"{name:6} {tc:14.1f} {t:12.1f} {100 * t / peak:6.1f}% {'-':>28}")
                continue
            print(f"{name:6} {tc:14.1f} {t:12.1f} {100 * t / peak:6.1f}% {best:>28} {others[best]:9.1f} {others[best] / tc:7.1f}x")
