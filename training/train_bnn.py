#!/usr/bin/env python3
"""Trains HepBnn's built-in BNN architectures on real data and exports them as ONNX.

  python3 train_bnn.py --arch vgg3 --data DIR --out OUT [--epochs N | --budget SECONDS]
  python3 train_bnn.py --arch vgg7 --data DIR --out OUT [--epochs N | --budget SECONDS]

vgg3: Fashion-MNIST (IDX .gz files in DIR), vgg7: CIFAR-10 (binary batches, raw or .gz, in DIR).

The networks are exactly src/HepBnn/Model/ModelZoo.cs (3x3 convolutions, padding 1, no bias, MaxPool 2):
  vgg3: Conv64 -> Pool -> BN -> sign -> Conv64 -> Pool -> BN -> sign -> Flatten -> FC2048 -> BN -> sign -> FC10 -> BN
  vgg7: Conv128 -> BN -> sign -> Conv128 -> Pool -> BN -> sign -> Conv256 -> BN -> sign -> Conv256 -> Pool -> BN -> sign
        -> Conv512 -> BN -> sign -> Conv512 -> Pool -> BN -> sign -> Flatten -> FC1024 -> BN -> sign -> FC10 -> BN
The first layer sees the 8-bit image normalised as torchvision does, (x/255 - mean_c)/std; every weight is
binarized (latent float weights, sign with a straight-through estimator, clipped to [-1, 1] after each step),
every hidden activation is sign(BN(x)) with sign(0) = +1 and a straight-through estimator (gradient 1 on |x| <= 1).

Recipe: Adam, linear warm-up for 2 epochs then cosine decay to 0 (per step), label smoothing, whole training set
resident on the GPU, augmentation on the GPU (CIFAR-10: random crop with 4 px zero padding + horizontal flip;
Fashion-MNIST: random crop with 2 px padding + horizontal flip), bf16 autocast for training, fixed seeds.
With --budget the number of epochs is chosen after timing the first two (warm-up) epochs, and logged; passing that
number as --epochs reproduces the schedule.

Outputs (OUT): <name>.onnx (input "image" float [N,C,H,W] in raw 0..255 units, output "scores" [N,10]; weights baked
in as +-1 constants, activations Where(x >= 0, 1, -1)), <name>.pt (state dict), <name>-log.json (per-epoch log,
recipe, timings), <name>-torch-predictions.json (eval-mode test-set predictions computed in float64 on the GPU with
TF32 off: argmax, scores, and the last layer's integer sums before its BatchNorm).
"""
import argparse
import gzip
import json
import math
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cudnn.allow_tf32 = False
torch.backends.cuda.matmul.allow_tf32 = False

CLASSES = {
    "vgg3": ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"],
    "vgg7": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
}
# torchvision-style normalisation constants (x/255 - mean) / std.
NORM = {
    "vgg3": ([0.2860], [0.3530]),
    # torchvision's per-channel CIFAR-10 mean and std (HepBnn's first layer is exact with per-channel divisors: DESIGN.md
    # "First layer").
    "vgg7": ([0.4914, 0.4822, 0.4465], [0.2470, 0.2435, 0.2616]),
}


# ---------------------------------------------------------------------------------------------------------- data
def _open(path):
    if os.path.exists(path):
        return open(path, "rb")
    return gzip.open(path + ".gz", "rb")


def load_idx(data, prefix):
    with _open(os.path.join(data, f"{prefix}-images-idx3-ubyte")) as f:
        raw = f.read()
    n, h, w = int.from_bytes(raw[4:8], "big"), int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
    x = np.frombuffer(raw, np.uint8, offset=16).reshape(n, 1, h, w)
    with _open(os.path.join(data, f"{prefix}-labels-idx1-ubyte")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y


def load_cifar(data, names):
    xs, ys = [], []
    for name in names:
        with _open(os.path.join(data, name)) as f:
            r = np.frombuffer(f.read(), np.uint8).reshape(-1, 3073)
        ys.append(r[:, 0])
        xs.append(r[:, 1:].reshape(-1, 3, 32, 32))
    return np.concatenate(xs), np.concatenate(ys)


def load(arch, data, smoke=False):
    if arch == "vgg3":
        return load_idx(data, "train"), load_idx(data, "t10k")
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    if smoke:  # a smoke test runs on whatever batches are there
        names = [n for n in names if os.path.exists(os.path.join(data, n)) or os.path.exists(os.path.join(data, n + ".gz"))]
        if not os.path.exists(os.path.join(data, "test_batch.bin")) and not os.path.exists(os.path.join(data, "test_batch.bin.gz")):
            return load_cifar(data, names), load_cifar(data, names[:1])
    train = load_cifar(data, names)
    return train, load_cifar(data, ["test_batch.bin"])


def augment(x, pad, flip=True):
    """Random crop with zero padding + horizontal flip, batched on the GPU. x: uint8 [B, C, H, W]."""
    b, c, h, w = x.shape
    p = F.pad(x, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b,), device=x.device)
    ox = torch.randint(0, 2 * pad + 1, (b,), device=x.device)
    iy = (oy[:, None] + torch.arange(h, device=x.device)[None, :])[:, None, :, None]
    ix = (ox[:, None] + torch.arange(w, device=x.device)[None, :])[:, None, None, :]
    bi = torch.arange(b, device=x.device)[:, None, None, None]
    ci = torch.arange(c, device=x.device)[None, :, None, None]
    out = p[bi, ci, iy, ix]
    if flip:
        m = torch.rand(b, device=x.device) < 0.5
        out = torch.where(m[:, None, None, None], out.flip(3), out)
    return out


# --------------------------------------------------------------------------------------------------------- model
class SignSTE(torch.autograd.Function):
    """sign with sign(0) = +1; gradient passed where |x| <= 1 (hardtanh STE)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * (x.abs() <= 1).to(g.dtype)


class WeightSTE(torch.autograd.Function):
    """Binarize latent weights (0 -> +1); straight-through gradient (latent weights are clipped to [-1, 1])."""

    @staticmethod
    def forward(ctx, w):
        return torch.where(w >= 0, torch.ones_like(w), -torch.ones_like(w))

    @staticmethod
    def backward(ctx, g):
        return g


def binarize(x):
    return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


class BinConv(nn.Conv2d):
    def __init__(self, cin, cout):
        super().__init__(cin, cout, 3, padding=1, bias=False)
        self.frozen = None  # +-1 weights baked in for export / float64 evaluation

    def forward(self, x):
        w = self.frozen if self.frozen is not None else WeightSTE.apply(self.weight)
        return F.conv2d(x, w.to(x.dtype), None, 1, 1)


class BinLinear(nn.Linear):
    def __init__(self, cin, cout):
        super().__init__(cin, cout, bias=False)
        self.frozen = None

    def forward(self, x):
        w = self.frozen if self.frozen is not None else WeightSTE.apply(self.weight)
        return F.linear(x, w.to(x.dtype))


class Net(nn.Module):
    """A ModelZoo architecture: spec is a list of ("conv", k) / ("pool",) / ("bn",) / ("flatten",) / ("fc", k)."""

    def __init__(self, arch, in_shape):
        super().__init__()
        mean, std = NORM[arch]
        c, h, w = in_shape
        self.register_buffer("mean", torch.tensor(mean).view(1, -1, 1, 1))
        # one std for all channels is written as a scalar (as users of one std do)
        self.register_buffer("std", torch.tensor(std[0]) if len(set(std)) == 1 else torch.tensor(std).view(1, -1, 1, 1))
        if arch == "vgg3":
            spec = [("conv", 64), ("pool",), ("bn",), ("conv", 64), ("pool",), ("bn",),
                    ("flatten",), ("fc", 2048), ("bn",), ("fc", 10), ("scorebn",)]
        else:
            spec = [("conv", 128), ("bn",), ("conv", 128), ("pool",), ("bn",), ("conv", 256), ("bn",),
                    ("conv", 256), ("pool",), ("bn",), ("conv", 512), ("bn",), ("conv", 512), ("pool",), ("bn",),
                    ("flatten",), ("fc", 1024), ("bn",), ("fc", 10), ("scorebn",)]
        layers, feats = [], c
        for s in spec:
            if s[0] == "conv":
                layers.append(BinConv(feats, s[1])); feats = s[1]
            elif s[0] == "pool":
                layers.append(nn.MaxPool2d(2)); h //= 2; w //= 2
            elif s[0] == "bn":
                layers.append(nn.BatchNorm2d(feats) if h > 0 and not any(isinstance(l, nn.Flatten) for l in layers)
                              else nn.BatchNorm1d(feats))
                layers.append(Binarize())
            elif s[0] == "flatten":
                layers.append(nn.Flatten()); feats = feats * h * w
            elif s[0] == "fc":
                layers.append(BinLinear(feats, s[1])); feats = s[1]
            elif s[0] == "scorebn":
                layers.append(nn.BatchNorm1d(feats))
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        x = (x / 255.0 - self.mean) / self.std
        return self.body(x)

    def raw_scores(self, x):
        """The last linear layer's sums, before its BatchNorm (integers)."""
        x = (x / 255.0 - self.mean) / self.std
        return self.body[:-1](x)

    def freeze(self):
        for m in self.modules():
            if isinstance(m, (BinConv, BinLinear)):
                m.frozen = torch.where(m.weight.detach() >= 0, 1.0, -1.0)

    def clip(self):
        for m in self.modules():
            if isinstance(m, (BinConv, BinLinear)):
                m.weight.data.clamp_(-1, 1)


class Binarize(nn.Module):
    def forward(self, x):
        if self.training:
            return SignSTE.apply(x)
        return torch.where(x >= 0, 1.0, -1.0).to(x.dtype)


# ---------------------------------------------------------------------------------------------------------- train
def evaluate(model, x, y, bs=1000, dtype=torch.float32):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), bs):
            xb = x[i:i + bs].to(dtype)
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=dtype == torch.bfloat16):
                correct += (model(xb).argmax(1) == y[i:i + bs]).sum().item()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--arch", choices=["vgg3", "vgg7"], required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--epochs", type=int, default=0)
    ap.add_argument("--budget", type=float, default=0, help="seconds of training; picks --epochs after 2 epochs")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--smoothing", type=float, default=0.1)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="smoke test: first N training and N test images")
    ap.add_argument("--std", type=float, nargs="+", default=None,
                    help="override the normalisation std (one value for all channels, or one per channel); the shipped "
                         "vgg7-cifar10 of 2026-11-30 used --std 0.25")
    a = ap.parse_args()
    if a.std is not None:
        mean = NORM[a.arch][0]
        NORM[a.arch] = (mean, a.std * len(mean) if len(a.std) == 1 else a.std)
    os.makedirs(a.out, exist_ok=True)
    name = {"vgg3": "vgg3-fashion-mnist", "vgg7": "vgg7-cifar10"}[a.arch]
    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    dev = torch.device("cuda")
    t0 = time.time()
    (xtr, ytr), (xte, yte) = load(a.arch, a.data, smoke=a.limit > 0)
    if a.limit:
        xtr, ytr, xte, yte = xtr[:a.limit], ytr[:a.limit], xte[:a.limit], yte[:a.limit]
    xtr, ytr = torch.from_numpy(xtr.copy()).to(dev), torch.from_numpy(ytr.astype(np.int64)).to(dev)
    xte, yte = torch.from_numpy(xte.copy()).to(dev), torch.from_numpy(yte.astype(np.int64)).to(dev)
    print(f"{name}: train {tuple(xtr.shape)} test {tuple(xte.shape)} loaded in {time.time() - t0:.1f}s", flush=True)
    pad = 2 if a.arch == "vgg3" else 4
    model = Net(a.arch, tuple(xtr.shape[1:])).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=a.lr)
    steps = len(xtr) // a.batch
    epochs = a.epochs
    log = {"arch": a.arch, "name": name, "args": vars(a), "torch": torch.__version__,
           "device": torch.cuda.get_device_name(0), "normalization": {"mean": NORM[a.arch][0], "std": NORM[a.arch][1]},
           "classes": CLASSES[a.arch], "epochs_log": []}
    g = torch.Generator(device=dev).manual_seed(a.seed)
    t_train = time.time()
    e = 0
    while True:
        if epochs and e >= epochs:
            break
        te = time.time()
        model.train()
        perm = torch.randperm(len(xtr), device=dev, generator=g)
        tot_loss = torch.zeros((), device=dev)
        for s in range(steps):
            it = e * steps + s
            if e < a.warmup:
                lr = a.lr * (it + 1) / (a.warmup * steps)
            else:
                total = (epochs - a.warmup) * steps if epochs else 10 ** 9
                lr = a.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, (it - a.warmup * steps) / total)))
            for pg in opt.param_groups:
                pg["lr"] = lr
            idx = perm[s * a.batch:(s + 1) * a.batch]
            xb = augment(xtr[idx], pad).float().contiguous(memory_format=torch.channels_last)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=a.smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            model.clip()
            tot_loss += loss.detach()
        acc = evaluate(model, xte, yte, dtype=torch.bfloat16)
        dt = time.time() - te
        entry = {"epoch": e + 1, "loss": tot_loss.item() / steps, "test_acc_bf16": acc, "seconds": dt, "lr_end": lr}
        log["epochs_log"].append(entry)
        print(json.dumps(entry), flush=True)
        e += 1
        if not epochs and a.budget and e == a.warmup:
            per = (time.time() - t_train) / e
            epochs = max(a.warmup + 1, int(a.budget / per))
            print(f"chosen epochs: {epochs} ({per:.2f} s/epoch, budget {a.budget:.0f} s)", flush=True)
        # time guard: a hard stop 15% beyond the budget (schedule then ends early; logged)
        if a.budget and time.time() - t_train > 1.15 * a.budget:
            print(f"time guard: stopped after epoch {e} of {epochs}", flush=True)
            log["stopped_early_at_epoch"] = e
            break
    log["epochs"] = epochs
    log["epochs_run"] = e
    log["train_seconds"] = time.time() - t_train
    torch.save(model.state_dict(), os.path.join(a.out, f"{name}.pt"))

    # float64 eval-mode reference predictions, TF32 off, weights frozen to +-1
    model.freeze()
    m64 = model.double().to(memory_format=torch.contiguous_format).eval()
    preds, scores, raws = [], [], []
    with torch.no_grad():
        for i in range(0, len(xte), 500):
            xb = xte[i:i + 500].double()
            r = m64.raw_scores(xb)
            s = m64.body[-1](r)
            preds.append(s.argmax(1)); scores.append(s); raws.append(r)
    preds, scores, raws = torch.cat(preds), torch.cat(scores), torch.cat(raws)
    assert torch.equal(raws, torch.round(raws)), "raw scores not integers"
    acc64 = (preds == yte).float().mean().item()
    log["test_acc_float64"] = acc64
    print(f"float64 eval-mode test accuracy {acc64:.4f}", flush=True)
    with open(os.path.join(a.out, f"{name}-torch-predictions.json"), "w") as f:
        json.dump({"name": name, "accuracy": acc64, "predictions": preds.tolist(),
                   "raw_scores": raws.long().tolist(),
                   "scores": [[float(v) for v in r] for r in scores.tolist()]}, f)

    # ONNX export (float32, +-1 weights as constants)
    m32 = model.float().eval().cpu()
    for mod in m32.modules():
        if isinstance(mod, (BinConv, BinLinear)):
            mod.frozen = mod.frozen.float().cpu()
    dummy = torch.zeros(1, *xtr.shape[1:])
    path = os.path.join(a.out, f"{name}.onnx")
    torch.onnx.export(m32, dummy, path, input_names=["image"], output_names=["scores"],
                      dynamic_axes={"image": {0: "N"}, "scores": {0: "N"}}, opset_version=17, dynamo=False)
    try:
        import onnxruntime as ort
        sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        xs = xte[:2000].cpu().float().numpy()  # a subset: ONNX Runtime on the CPU is slow for VGG7
        op = np.concatenate([sess.run(None, {"image": xs[i:i + 1000]})[0].argmax(1) for i in range(0, len(xs), 1000)])
        agree = int((op == preds[:2000].cpu().numpy()).sum())
        log["onnxruntime_float32_agreement"] = agree
        log["onnxruntime_float32_accuracy_first2000"] = float((op == yte[:2000].cpu().numpy()).mean())
        print(f"onnxruntime float32 vs torch float64: {agree}/{len(xs)} identical predictions", flush=True)
    except Exception as ex:
        print(f"onnxruntime check failed: {ex}", flush=True)
    log["total_seconds"] = time.time() - t0
    with open(os.path.join(a.out, f"{name}-log.json"), "w") as f:
        json.dump(log, f, indent=1)


if __name__ == "__main__":
    main()
