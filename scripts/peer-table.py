#!/usr/bin/env python3
"""HepBnn's found plan against the PyTorch float peer measured in the same run: reads `hepbnn bench --json-out` files
(graphs on, and optionally graphs off) and peer-pytorch.py's JSON, prints one table with ratios, and writes it as JSON.
Ratios are PyTorch median / HepBnn median (> 1: HepBnn is faster). Only reads JSON; the .NET engine never runs Python.

Usage: peer-table.py --peer peer.json --bench bench-vgg3.json bench-vgg7.json [--bench-eager ...] [--json-out F]
"""
import argparse
import json


def verdicts(paths):
    """(model, batch) -> verdict dict of the found plan, from bench JSON files (a list of results, or {results, ...})."""
    out = {}
    for p in paths or []:
        try:
            with open(p) as f:
                doc = json.load(f)
        except (OSError, ValueError) as e:
            print(f"peer-table: skipping {p}: {e}")
            continue
        for r in doc["results"] if isinstance(doc, dict) else doc:
            v = r["verdict"]
            out[(v["model"], v["batch"])] = v
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--peer", required=True)
    ap.add_argument("--bench", nargs="+", required=True, help="bench JSON with CUDA graphs on (the default)")
    ap.add_argument("--bench-eager", nargs="*", help="bench JSON with HEPBNN_CUDA_GRAPHS=0 (default: the graphs-off row of the same run)")
    ap.add_argument("--json-out")
    a = ap.parse_args()
    with open(a.peer) as f:
        peer = json.load(f)
    on, off = verdicts(a.bench), verdicts(a.bench_eager)
    s = peer["setup"]
    print(f"HepBnn found plan vs PyTorch {s['torch']} float32 (TF32 conv={s['tf32Conv']} matmul={s['tf32Matmul']}) on {s['gpu']}, "
          "same run; median µs, host input -> host scores; ratio = PyTorch / HepBnn (> 1: HepBnn faster)")
    head = (f"{'net':5} {'b':>4} | {'HepBnn graph':>12} {'pred':>7} {'err':>6} | {'HepBnn eager':>12} {'pred':>7} | "
            f"{'PT eager':>9} {'PT graph':>9} | {'PTe/H':>6} {'PTg/H':>6} | {'H eager/graph':>13} | GPU blocks")
    print(head)
    print("-" * len(head))
    rows = []
    for r in peer["results"]:
        key = (r["model"], r["batch"])
        v, e = on.get(key), off.get(key)
        # The same run's found plan with CUDA graphs off (bench adds that row when graphs are on and the plan uses the GPU).
        same_run_off = next((x for x in (v or {}).get("rows", []) if x["label"].startswith("found plan, CUDA graphs off")), None)
        if e is None and same_run_off and same_run_off.get("measured"):
            e = {"measuredUs": same_run_off["measured"]["medianUs"], "predictedUs": None}
        pe, pg = r["eager"].get("medianUs"), r["graph"].get("medianUs")
        h = v["measuredUs"] if v else None
        row = {"model": key[0], "batch": key[1], "hepbnnGraphUs": h, "hepbnnGraphPredictedUs": v and v["predictedUs"],
               "hepbnnEagerUs": e and e["measuredUs"], "hepbnnEagerPredictedUs": e and e["predictedUs"],
               "pytorchEagerUs": pe, "pytorchGraphUs": pg,
               "pytorchEagerOverHepbnn": pe / h if h and pe else None, "pytorchGraphOverHepbnn": pg / h if h and pg else None,
               "hepbnnEagerOverGraph": e["measuredUs"] / h if h and e else None,
               "gpuExecution": v and v.get("gpuExecution"), "plan": v and v["rows"][0].get("configurations"),
               "beatenBy": v and v.get("beatenBy")}
        rows.append(row)

        def f(x, w, p=1):
            return f"{x:{w}.{p}f}" if isinstance(x, (int, float)) else f"{'-':>{w}}"
        err = f"{(v['predictedUs'] - h) / h:+.0%}" if v else "-"
        print(f"{key[0]:5} {key[1]:4d} | {f(h, 12)} {f(row['hepbnnGraphPredictedUs'], 7)} {err:>6} | {f(row['hepbnnEagerUs'], 12)} "
              f"{f(row['hepbnnEagerPredictedUs'], 7)} | {f(pe, 9)} {f(pg, 9)} | {f(row['pytorchEagerOverHepbnn'], 6, 2)} "
              f"{f(row['pytorchGraphOverHepbnn'], 6, 2)} | {f(row['hepbnnEagerOverGraph'], 13, 2)} | {row['gpuExecution'] or '-'}")
    if a.json_out:
        with open(a.json_out, "w") as fo:
            json.dump({"peerSetup": s, "rows": rows}, fo, indent=2)


if __name__ == "__main__":
    main()
