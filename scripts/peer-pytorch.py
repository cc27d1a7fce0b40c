#!/usr/bin/env python3
"""The float peer of HepBnn, measured in the same run on the same GPU: PyTorch nets with the shapes of HepBnn's
VGG3 and VGG7 (src/HepBnn/Model/ModelZoo.cs) -- conv 3x3 padding 1, BatchNorm, sign activations (sign(0) = +1),
max-pool 2x2, dense -- in float32 with +-1 weights, run eagerly and as one CUDA graph.

What is timed matches `hepbnn bench` (host input -> host scores): one sample = the uint8 NHWC images in host memory are
copied to the GPU, converted, run through the net, and the float scores copied back into host memory, then the host
waits; host wall-clock per run (time.perf_counter_ns), median over the runs. The host buffers are page-locked (pinned),
as HepBnn's staging buffers are. CUDA-event times (GPU side only, no host wait) are reported beside them for reference.
In graph mode the H2D copy, the whole forward pass and the D2H copy are captured as one CUDA graph (torch.cuda.graph),
replayed once per run.

TF32: stated in the output. By default PyTorch uses TF32 for convolutions (cudnn.allow_tf32 = True) and not for
matmuls; --tf32 on/off sets both. cudnn.benchmark is on (the fastest convolution algorithms for each shape).

Usage: peer-pytorch.py [--batch 1 16 256] [--models vgg3 vgg7] [--seconds 1.0] [--tf32 default|on|off]
                       [--json-out F] [--txt-out F]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn


class Normalize(nn.Module):
    """VGG7's input normalization ((x - offset) / scale per channel), folded into the first layer by HepBnn."""

    def forward(self, x):
        return (x - 128.0) * (1 / 64.0)


class Sign(nn.Module):
    """+1 for x >= 0, -1 otherwise (HepBnn's sign(0) = +1)."""

    def forward(self, x):
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


def conv(c_in, c_out):
    layer = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.randint(0, 2, layer.weight.shape).float() * 2 - 1)
    return layer


def dense(n_in, n_out):
    layer = nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.randint(0, 2, layer.weight.shape).float() * 2 - 1)
    return layer


def bn(c, dims=2):
    layer = nn.BatchNorm2d(c) if dims == 2 else nn.BatchNorm1d(c)
    with torch.no_grad():
        layer.running_mean.uniform_(-3, 3)
        layer.running_var.uniform_(0.5, 4)
        layer.weight.uniform_(-1, 1)
        layer.bias.uniform_(-1, 1)
    return layer


def vgg3():
    """1x28x28: C64 -> MP2 -> BN+sign -> C64 -> MP2 -> BN+sign -> FC2048 -> BN+sign -> FC10 -> BN."""
    return (28, 28, 1), nn.Sequential(
        conv(1, 64), nn.MaxPool2d(2), bn(64), Sign(),
        conv(64, 64), nn.MaxPool2d(2), bn(64), Sign(),
        nn.Flatten(), dense(64 * 7 * 7, 2048), bn(2048, 1), Sign(),
        dense(2048, 10), bn(10, 1))


def vgg7():
    """3x32x32: C128 ×2 -> MP2 -> C256 ×2 -> MP2 -> C512 ×2 -> MP2 -> FC1024 -> FC10, BN+sign after each but the last."""
    return (32, 32, 3), nn.Sequential(
        Normalize(), conv(3, 128), bn(128), Sign(),
        conv(128, 128), nn.MaxPool2d(2), bn(128), Sign(),
        conv(128, 256), bn(256), Sign(),
        conv(256, 256), nn.MaxPool2d(2), bn(256), Sign(),
        conv(256, 512), bn(512), Sign(),
        conv(512, 512), nn.MaxPool2d(2), bn(512), Sign(),
        nn.Flatten(), dense(512 * 4 * 4, 1024), bn(1024, 1), Sign(),
        dense(1024, 10), bn(10, 1))


MODELS = {"vgg3": vgg3, "vgg7": vgg7}


class Runner:
    """Pinned uint8 NHWC input on the host -> scores in pinned host memory, eager or as one captured graph."""

    def __init__(self, shape, net, batch, graph):
        h, w, c = shape
        self.net = net
        self.host_in = torch.randint(0, 256, (batch, h, w, c), dtype=torch.uint8).pin_memory()
        self.dev_in = torch.empty((batch, h, w, c), dtype=torch.uint8, device="cuda")
        self.host_out = torch.empty((batch, 10), dtype=torch.float32).pin_memory()
        self.graph = None
        for _ in range(3):  # warm-up (cudnn.benchmark picks algorithms here), also before capture as torch requires
            self._step()
        torch.cuda.synchronize()
        if graph:
            self.graph = torch.cuda.CUDAGraph()
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):
                    self._step()
            torch.cuda.current_stream().wait_stream(side)
            with torch.cuda.graph(self.graph):
                self._step()
            torch.cuda.synchronize()

    def _step(self):
        self.dev_in.copy_(self.host_in, non_blocking=True)
        x = self.dev_in.permute(0, 3, 1, 2).float()
        self.host_out.copy_(self.net(x), non_blocking=True)

    def run(self):
        if self.graph is not None:
            self.graph.replay()
        else:
            self._step()
        torch.cuda.current_stream().synchronize()


def measure(runner, seconds, min_runs=20, max_runs=20000):
    for _ in range(10):
        runner.run()
    host, gpu = [], []
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    t_end = time.perf_counter() + seconds
    while len(host) < max_runs and (len(host) < min_runs or time.perf_counter() < t_end):
        t0 = time.perf_counter_ns()
        runner.run()
        host.append((time.perf_counter_ns() - t0) / 1e3)
        if len(host) % 4 == 0:  # GPU-side time on every 4th run, so events barely disturb the host timing
            start.record()
            if runner.graph is not None:
                runner.graph.replay()
            else:
                runner._step()
            end.record()
            end.synchronize()
            gpu.append(start.elapsed_time(end) * 1e3)
    q = statistics.quantiles(host, n=10)
    return {"medianUs": statistics.median(host), "p10Us": q[0], "p90Us": q[-1], "runs": len(host),
            "gpuEventMedianUs": statistics.median(gpu) if gpu else None}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16, 256])
    ap.add_argument("--models", nargs="+", default=["vgg3", "vgg7"], choices=sorted(MODELS))
    ap.add_argument("--seconds", type=float, default=1.0, help="time budget per (model, batch, mode)")
    ap.add_argument("--tf32", choices=["default", "on", "off"], default="default")
    ap.add_argument("--json-out")
    ap.add_argument("--txt-out")
    a = ap.parse_args()
    if not torch.cuda.is_available():
        print("peer-pytorch: no CUDA device visible to PyTorch; nothing measured", file=sys.stderr)
        return 2
    if a.tf32 != "default":
        torch.backends.cuda.matmul.allow_tf32 = a.tf32 == "on"
        torch.backends.cudnn.allow_tf32 = a.tf32 == "on"
    torch.backends.cudnn.benchmark = True
    torch.manual_seed(1)
    setup = {"torch": torch.__version__, "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version(),
             "gpu": torch.cuda.get_device_name(0), "dtype": "float32",
             "tf32Matmul": torch.backends.cuda.matmul.allow_tf32, "tf32Conv": torch.backends.cudnn.allow_tf32,
             "cudnnBenchmark": True, "timing": "host wall clock per run, uint8 NHWC pinned host input -> float scores in pinned host memory, median",
             "secondsPerCase": a.seconds}
    results = []
    lines = [f"PyTorch {setup['torch']} (CUDA {setup['cuda']}, cuDNN {setup['cudnn']}) on {setup['gpu']}, float32, "
             f"TF32 conv={setup['tf32Conv']} matmul={setup['tf32Matmul']}, cudnn.benchmark on",
             "host input -> host scores, median µs of host wall clock (GPU-event median in brackets)",
             f"{'model':6} {'batch':>5} {'eager µs':>16} {'CUDA graph µs':>18} {'graph img/s':>12}"]
    with torch.inference_mode():
        for name in a.models:
            shape, net = MODELS[name]()
            net = net.cuda().eval()
            for b in a.batch:
                row = {"model": name, "batch": b}
                for mode in ("eager", "graph"):
                    try:
                        row[mode] = measure(Runner(shape, net, b, graph=mode == "graph"), a.seconds)
                    except Exception as e:  # report, keep going: one failed case must not lose the others
                        row[mode] = {"error": f"{type(e).__name__}: {e}"}
                results.append(row)

                def fmt(m):
                    return f"{m['medianUs']:8.1f} [{m['gpuEventMedianUs'] or float('nan'):6.1f}]" if "medianUs" in m else "error"
                g = row["graph"]
                rate = f"{b / g['medianUs'] * 1e6:12,.0f}" if "medianUs" in g else "-"
                lines.append(f"{name:6} {b:5d} {fmt(row['eager']):>16} {fmt(g):>18} {rate}")
                print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    doc = {"setup": setup, "results": results}
    if a.json_out:
        with open(a.json_out, "w") as f:
            json.dump(doc, f, indent=2)
    if a.txt_out:
        with open(a.txt_out, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
