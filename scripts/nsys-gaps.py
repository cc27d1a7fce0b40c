#!/usr/bin/env python3
"""Per-node kernel durations and the gaps between a CUDA graph's nodes from `nsys stats -r cuda_gpu_trace -f csv`
(docs/results/h200-fc3): the kernels of one run are the kernels between two gaps of more than 5 µs; the last 200 runs
with the most common kernel count are kept. Prints, per position in the run, the median duration and the median gap
before it, and the median span from the first kernel's start to the last kernel's end."""
import csv
import statistics
import sys


def main(path):
    rows = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            name = r.get("Name", "")
            if "memcpy" in name.lower() or "memset" in name.lower():
                continue
            try:
                rows.append((int(float(r["Start (ns)"])), int(float(r["Duration (ns)"])), name))
            except (KeyError, ValueError):
                continue
    rows.sort()
    runs, cur = [], []
    for start, dur, name in rows:
        if cur and start - (cur[-1][0] + cur[-1][1]) > 5000:
            runs.append(cur)
            cur = []
        cur.append((start, dur, name))
    if cur:
        runs.append(cur)
    if not runs:
        print("nsys-gaps: no kernels in the trace")
        return
    n = statistics.mode(len(r) for r in runs)
    runs = [r for r in runs if len(r) == n][-200:]
    print(f"nsys: {len(runs)} runs of {n} kernels (median ns)")
    for i in range(n):
        durs = [r[i][1] for r in runs]
        gaps = [r[i][0] - (r[i - 1][0] + r[i - 1][1]) for r in runs] if i else [0]
        print(f"  kernel {i}: {statistics.median(durs) / 1000:7.2f} us, gap before {statistics.median(gaps) / 1000:5.2f} us  {runs[0][i][2][:70]}")
    spans = [r[-1][0] + r[-1][1] - r[0][0] for r in runs]
    print(f"  span first start .. last end: {statistics.median(spans) / 1000:.2f} us")


if __name__ == "__main__":
    main(sys.argv[1])
