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
TC = ("gpu.tensor-core", "gpu.tensor-core-wide", "gpu.tensor-core-wide-deep", "gpu.tensor-core-wide-2m",
      "gpu.tensor-core-wide-2m-r128", "gpu.tensor-core-wide-4w", "gpu.tensor-core-wide-2m-r128-lean",
      "gpu.tensor-core-wide-4w-lean", "gpu.tensor-core-wide-2m-r128-fold",
      "gpu.tensor-core-wide-2m-r128-rowpop", "gpu.tensor-core-wide-2m-r128-band", "gpu.tensor-core-wide-2m-r128-pipe")
SHORT = ("tensor-core", "tc-wide", "wide-deep", "2m", "2m-r128", "4w", "r128-lean", "4w-lean", "r128-fold", "r128-rowpop",
         "r128-band", "r128-pipe")
print(f"per-block GPU kernel medians (µs): the tensor-core configurations and the best other GPU configuration; T = 10^12 "
      f"bit-MAC/s of the fastest tensor-core configuration of any name (constant-shape twins and the kernels without a "
      f"column included: 'fastest' names it); % of the measured {peak:,.0f} T 1-bit MMA peak (conv1 is the 8-bit image "
      f"block on the byte MMA, u8 x s8: its MACs are 8-bit, so its % of the 1-bit peak is not comparable)")
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
        print(f"{'block':6} " + " ".join(f"{c:>11}" for c in SHORT) + f" {'T bit-MAC/s':>12} {'% peak':>7} {'fastest':>41} {'µs':>6} {'best other':>28} {'µs':>9} {'speed-up':>8}")
        for name, by in rows.items():
            macs = MACS[model][name] * batch
            tcs = [by.get(c) for c in TC]
            fmt = lambda v, w: f"{v:{w}.1f}" if v is not None else f"{'-':>{w}}"
            others = {c: us for c, us in by.items() if c not in TC}
            best = min(others, key=others.get) if others else None
            # every tensor-core configuration counts (twins "-const…", dense-narrow, image-rows), not only the columns
            anytc = {c: us for c, us in by.items() if c.startswith("gpu.tensor-core")}
            winner = min(anytc, key=anytc.get) if anytc else None
            fastest = anytc[winner] if winner else None
            others = {c: us for c, us in others.items() if not c.startswith("gpu.tensor-core")}
            best = min(others, key=others.get) if others else None
            line = f"{name:6} " + " ".join(fmt(v, 11) for v in tcs)
            if fastest is None:
                print(f"{line} {'-':>12} {'-':>7} {best or '-':>28} {others.get(best, 0):9.1f}")
                continue
            t = macs / fastest / 1e6
            line += f" {t:12.1f} {100 * t / peak:6.1f}% {winner:>41} {fastest:6.1f}"
            if best is None:
                print(line)
                continue
            print(f"{line} {best:>28} {others[best]:9.1f} {others[best] / fastest:7.1f}x")
