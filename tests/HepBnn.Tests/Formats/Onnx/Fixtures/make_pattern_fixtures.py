#!/usr/bin/env python3
"""ONNX fixtures for the importer's PyTorch patterns, from REAL PyTorch exports (run on the GPU machine, CPU only).

Usage: python3 make_pattern_fixtures.py OUT_DIR

Each network takes float NCHW images in raw 0..255 units and is exported with torch.onnx.export(dynamo=False,
opset 17) as <name>.onnx; <name>.json holds 8 fixed input images, the float64 model's class scores, the last layer's
integer sums before its BatchNorm ("raw_scores"), the argmax and ONNX Runtime's scores on the export.
  where_ones_like   sign written as torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))
                    (exports as GreaterOrEqual/Where with Shape/ConstantOfShape branches)
  torch_sign        sign written as torch.sign(x) (ONNX Sign; sign(0) = 0 differs only at exact zeros)
  strided_1x1       a stride-2 3x3 convolution, a 1x1 convolution, a stride-2 3x3 convolution without padding
  prebinarized      weights stored already binarized as +-1 constants (no Sign node), pool after the sign
  two_pools         a max pool before the BatchNorm and another after the sign in one block
  per_channel_std   torchvision-style (x/255 - mean_c) / std_c with three different std values
BatchNorm statistics come from training-mode passes over random images; gamma/beta randomised, some gamma < 0
(except where a case needs gamma > 0, see below).
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
torch.manual_seed(20261130)


def where_ones(x):
    return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))


def where_scalar(x):
    return torch.where(x >= 0, torch.tensor(1.0, dtype=x.dtype), torch.tensor(-1.0, dtype=x.dtype))


class BConv(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, torch.sign(self.weight), None, self.stride, self.padding)


class BLin(nn.Linear):
    def forward(self, x):
        return F.linear(x, torch.sign(self.weight))


class Base(nn.Module):
    mean = [0.49, 0.48, 0.45]
    std = 0.25

    def __init__(self):
        super().__init__()
        self.register_buffer("m", torch.tensor(self.mean).view(1, 3, 1, 1))
        s = self.std
        self.register_buffer("s", torch.tensor(s).view(1, 3, 1, 1) if isinstance(s, list) else torch.tensor(s))

    def norm(self, x):
        return (x / 255.0 - self.m) / self.s

    def forward(self, x):
        return self.bnout(self.raw(x))


class WhereOnesLike(Base):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = BConv(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.c2, self.b2 = BConv(16, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.fc, self.bnout = BLin(32 * 4 * 4, 10, bias=False), nn.BatchNorm1d(10)
        self.act = where_ones

    def raw(self, x):
        x = self.act(self.b1(self.c1(self.norm(x))))
        x = F.max_pool2d(x, 2)
        x = self.act(self.b2(F.max_pool2d(self.c2(x), 2)))
        return self.fc(torch.flatten(x, 1))


class TorchSign(WhereOnesLike):
    def __init__(self):
        super().__init__()
        self.act = torch.sign


class Strided1x1(Base):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = BConv(3, 16, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(16)  # 16 -> 8
        self.c2, self.b2 = BConv(16, 24, 1, bias=False), nn.BatchNorm2d(24)  # 1x1
        self.c3, self.b3 = BConv(24, 32, 3, stride=2, padding=0, bias=False), nn.BatchNorm2d(32)  # 8 -> 3
        self.fc, self.bnout = BLin(32 * 3 * 3, 10, bias=False), nn.BatchNorm1d(10)

    def raw(self, x):
        x = where_scalar(self.b1(self.c1(self.norm(x))))
        x = where_scalar(self.b2(self.c2(x)))
        x = where_scalar(self.b3(self.c3(x)))
        return self.fc(torch.flatten(x, 1))


class PreBinarized(Base):
    def __init__(self):
        super().__init__()
        self.register_buffer("w1", torch.where(torch.randn(16, 3, 3, 3) >= 0, 1.0, -1.0))
        self.register_buffer("w2", torch.where(torch.randn(32, 16, 3, 3) >= 0, 1.0, -1.0))
        self.register_buffer("w3", torch.where(torch.randn(10, 32 * 4 * 4) >= 0, 1.0, -1.0))
        self.b1, self.b2, self.bnout = nn.BatchNorm2d(16), nn.BatchNorm2d(32), nn.BatchNorm1d(10)

    def raw(self, x):
        x = F.max_pool2d(where_scalar(self.b1(F.conv2d(self.norm(x), self.w1, padding=1))), 2)
        x = F.max_pool2d(where_scalar(self.b2(F.conv2d(x, self.w2, padding=1))), 2)
        return F.linear(torch.flatten(x, 1), self.w3)


class TwoPools(Base):
    def __init__(self):
        super().__init__()
        self.c1, self.b1 = BConv(3, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.fc, self.bnout = BLin(16 * 4 * 4, 10, bias=False), nn.BatchNorm1d(10)

    def raw(self, x):
        x = F.max_pool2d(where_scalar(self.b1(F.max_pool2d(self.c1(self.norm(x)), 2))), 2)
        return self.fc(torch.flatten(x, 1))


class PerChannelStd(WhereOnesLike):
    std = [0.2470, 0.2435, 0.2616]

    def __init__(self):
        super().__init__()
        self.act = where_scalar


def settle(model, positive_gamma=False):
    with torch.no_grad():
        model.train()
        for _ in range(20):
            model(torch.randint(0, 256, (32, 3, 16, 16)).float())
        model.eval()
        for bn in [m for m in model.modules() if isinstance(m, nn.BatchNorm2d | nn.BatchNorm1d)]:
            c = bn.num_features
            g = 0.5 + torch.rand(c)
            if bn is not model.bnout and not positive_gamma:
                g[torch.rand(c) < 0.25] *= -1
            bn.weight.copy_(g)
            bn.bias.copy_(torch.rand(c) - 0.5)


cases = {
    "where_ones_like": (WhereOnesLike, False),
    "torch_sign": (TorchSign, False),
    "strided_1x1": (Strided1x1, False),
    "prebinarized": (PreBinarized, False),
    "two_pools": (TwoPools, False),
    "two_pools_positive": (TwoPools, True),
    "per_channel_std": (PerChannelStd, False),
}
gen = torch.Generator().manual_seed(11)
images = torch.randint(0, 256, (8, 3, 16, 16), generator=gen).float()
try:
    import onnxruntime as ort
except Exception:
    ort = None
for name, (cls, pos) in cases.items():
    model = cls()
    settle(model, pos)
    path = os.path.join(out, f"{name}.onnx")
    torch.onnx.export(model, images[:1], path, input_names=["image"], output_names=["scores"],
                      dynamic_axes={"image": {0: "N"}, "scores": {0: "N"}}, opset_version=17, dynamo=False)
    m64 = cls().double()
    m64.load_state_dict(model.state_dict())
    m64.eval()
    with torch.no_grad():
        raw = m64.raw(images.double())
        scores = m64.bnout(raw)
    assert torch.equal(raw, torch.round(raw)), name
    rec = {"name": name, "description": cls.__doc__ or cls.__name__, "input_shape_nchw": [3, 16, 16],
           "inputs": [[int(v) for v in img.flatten().tolist()] for img in images],
           "scores_float64": scores.tolist(), "raw_scores": raw.long().tolist(), "argmax_float64": scores.argmax(1).tolist(),
           "torch": torch.__version__}
    if ort is not None:
        s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
        o = s.run(None, {"image": images.numpy()})[0]
        rec["scores_onnxruntime"] = o.tolist()
        rec["onnxruntime"] = ort.__version__
        print(f"{name}: max |ort - torch64| = {np.abs(o - scores.numpy()).max():.3g}, argmax {scores.argmax(1).tolist()}", flush=True)
    with open(os.path.join(out, f"{name}.json"), "w") as f:
        json.dump(rec, f)
    import onnx
    print(name, [n.op_type for n in onnx.load(path).graph.node], flush=True)
