#!/usr/bin/env python3
"""Builds the ONNX test fixtures of HepBnn's importer from a REAL PyTorch export of a small BNN.

Usage: python3 make_fixture.py OUT_DIR

Writes into OUT_DIR:
  bnn_small_torchscript.onnx  torch.onnx.export(dynamo=False) of the model below (if that exporter exists)
  bnn_small_dynamo.onnx       torch.onnx.export(dynamo=True)  of the same model (if onnxscript is installed)
  bnn_small_expected.json     fixed raw 0..255 input images and the PyTorch model's outputs for them
  graph_*.txt                 a readable dump of each exported graph (op types, inputs, attributes)
  onnx.proto, ONNX_LICENSE    copied from the installed onnx Python package
  versions.json               torch / onnx / onnxruntime versions

The model (input: float NCHW images in raw 0..255 units, 3x16x16):
  x/255 -> (x - mean[c]) / std           per-channel mean, one common std (HepBnn's InputNormalization)
  Conv 3->16 3x3 pad 1 (sign(W)) -> BN -> binarize -> MaxPool 2      (pool after the sign)
  Conv 16->32 3x3 pad 1 (sign(W)) -> MaxPool 2 -> BN -> binarize     (pool on integers, before BN)
  Flatten -> Linear 512->32 (sign(W), WITH a float bias) -> BN1d -> binarize
  Linear 32->10 (sign(W), no bias) -> BN1d                            (class scores)
binarize(x) = where(x >= 0, +1, -1), so sign(0) = +1 as in HepBnn. BatchNorm running statistics come from
forward passes in training mode over random images (so activations are balanced), then gamma/beta are
randomised with some negative gammas (exercises the <= thresholds and the AND pooling of HepBnn).
Expected outputs are computed by the float32 model and by a float64 copy; raw_scores are the last Linear's
integer sums (before the final BN) from the float64 copy.
"""
import json
import os
import shutil
import sys
import traceback

out = sys.argv[1] if len(sys.argv) > 1 else "."
os.makedirs(out, exist_ok=True)
versions = {"python": sys.version}


def note(msg):
    print(msg, flush=True)


# 1. the official onnx.proto from the installed onnx package -------------------------------------------------
try:
    import onnx
    versions["onnx"] = onnx.__version__
    d = os.path.dirname(onnx.__file__)
    note(f"onnx {onnx.__version__} at {d}")
    for name in ["onnx.proto", "onnx.proto3", "onnx-ml.proto"]:
        p = os.path.join(d, name)
        note(f"  {name}: {'present' if os.path.exists(p) else 'missing'}")
    shutil.copy(os.path.join(d, "onnx.proto"), os.path.join(out, "onnx.proto"))
    try:
        import importlib.metadata as md
        dist = md.distribution("onnx")
        versions["onnx_license_meta"] = dist.metadata.get("License") or dist.metadata.get("License-Expression")
        for f in dist.files or []:
            if "LICENSE" in f.name.upper():
                shutil.copy(f.locate(), os.path.join(out, "ONNX_LICENSE"))
                note(f"  licence file {f}")
                break
    except Exception as e:  # licence is nice to have
        note(f"  licence lookup failed: {e}")
except Exception:
    traceback.print_exc()

try:
    import onnxruntime as ort
    versions["onnxruntime"] = ort.__version__
except Exception as e:
    ort = None
    note(f"onnxruntime unavailable: {e}")

# 2. the model ----------------------------------------------------------------------------------------------
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

versions["torch"] = torch.__version__
versions["numpy"] = np.__version__
note(f"versions: {versions}")
torch.manual_seed(20240601)
np.random.seed(20240601)


def binarize(x):
    return torch.where(x >= 0, torch.tensor(1.0, dtype=x.dtype), torch.tensor(-1.0, dtype=x.dtype))


class BinConv2d(nn.Conv2d):
    def forward(self, x):
        return F.conv2d(x, torch.sign(self.weight), self.bias, self.stride, self.padding)


class BinLinear(nn.Linear):
    def forward(self, x):
        return F.linear(x, torch.sign(self.weight), self.bias)


class SmallBnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.tensor([0.4914, 0.4822, 0.4465]).view(1, 3, 1, 1))
        self.std = 0.25
        self.conv1 = BinConv2d(3, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16, momentum=None)
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = BinConv2d(16, 32, 3, padding=1, bias=False)
        self.pool2 = nn.MaxPool2d(2)
        self.bn2 = nn.BatchNorm2d(32, momentum=None)
        self.flatten = nn.Flatten()
        self.fc1 = BinLinear(32 * 4 * 4, 32, bias=True)
        self.bn3 = nn.BatchNorm1d(32, momentum=None)
        self.fc2 = BinLinear(32, 10, bias=False)
        self.bn4 = nn.BatchNorm1d(10, momentum=None)

    def raw(self, x):
        """Everything up to the last Linear's integer sums."""
        x = (x / 255.0 - self.mean) / self.std
        x = self.pool1(binarize(self.bn1(self.conv1(x))))
        x = binarize(self.bn2(self.pool2(self.conv2(x))))
        x = self.flatten(x)
        x = binarize(self.bn3(self.fc1(x)))
        return self.fc2(x)

    def forward(self, x):
        return self.bn4(self.raw(x))


model = SmallBnn()
with torch.no_grad():
    # fc1's bias must be non-zero (the importer folds it into bn3's mean), and not tiny
    model.fc1.bias.copy_(torch.randn(32) * 3.0)
    model.train()
    for _ in range(30):
        model(torch.randint(0, 256, (32, 3, 16, 16)).float())
    model.eval()
    for bn in [model.bn1, model.bn2, model.bn3, model.bn4]:
        c = bn.num_features
        g = 0.5 + torch.rand(c)
        g[torch.rand(c) < 0.25] *= -1
        if bn is model.bn4:
            g = g.abs()
        bn.weight.copy_(g)
        bn.bias.copy_(torch.rand(c) - 0.5)

gen = torch.Generator().manual_seed(7)
images = torch.randint(0, 256, (6, 3, 16, 16), generator=gen).float()

with torch.no_grad():
    scores32 = model(images)
    m64 = SmallBnn().double()
    m64.load_state_dict(model.state_dict())
    m64.std = model.std
    m64.eval()
    scores64 = m64(images.double())
    raw64 = m64.raw(images.double())
    # activation balance per binarized layer (fraction of +1), a sanity check that the fixture is informative
    x = (images / 255.0 - model.mean) / model.std
    a1 = binarize(model.bn1(model.conv1(x)))
    a2 = binarize(model.bn2(model.pool2(model.conv2(model.pool1(a1)))))
    a3 = binarize(model.bn3(model.fc1(model.flatten(a2))))
    note("fraction of +1 per binarized layer: " + ", ".join(f"{(t > 0).float().mean().item():.3f}" for t in [a1, a2, a3]))

raw_int = torch.round(raw64)
assert torch.equal(raw_int, raw64), "raw scores of the float64 model are not integers"
note(f"argmax float32 {scores32.argmax(1).tolist()} float64 {scores64.argmax(1).tolist()}")
note(f"raw scores[0] {raw_int[0].tolist()}")

expected = {
    "description": "SmallBnn of make_fixture.py: inputs are raw 0..255 pixels, NCHW, flattened per image",
    "input_shape_nchw": [3, 16, 16],
    "inputs": [[int(v) for v in img.flatten().tolist()] for img in images],
    "scores_float32": scores32.tolist(),
    "scores_float64": scores64.tolist(),
    "raw_scores": [[int(v) for v in r] for r in raw_int.tolist()],
    "argmax_float64": scores64.argmax(1).tolist(),
    "versions": versions,
    "exports": {},
}


# 3. exports ------------------------------------------------------------------------------------------------
def dump_graph(path, txt_path):
    m = onnx.load(path)
    lines = [f"ir_version {m.ir_version} opsets {[(o.domain, o.version) for o in m.opset_import]} producer {m.producer_name} {m.producer_version}"]
    g = m.graph
    lines.append("inputs: " + "; ".join(f"{i.name} {i.type}".replace("\n", " ") for i in g.input))
    lines.append("outputs: " + "; ".join(f"{o.name} {o.type}".replace("\n", " ") for o in g.output))
    for t in g.initializer:
        lines.append(f"init {t.name} dtype {t.data_type} dims {list(t.dims)}")
    for n in g.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
        attrs = {k: (v if not hasattr(v, "dims") else f"tensor{list(v.dims)} dtype {v.data_type}") for k, v in attrs.items()}
        lines.append(f"node {n.op_type} '{n.name}' in {list(n.input)} out {list(n.output)} {attrs}")
    lines.append(f"functions: {[f.name for f in m.functions]}")
    with open(txt_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return "\n".join(lines)


def normalise_and_check(path):
    """Loads (pulling in any external data), checks, and re-saves as ONE self-contained file."""
    m = onnx.load(path, load_external_data=True)
    onnx.checker.check_model(m)
    for f in os.listdir(os.path.dirname(path)):
        if f.endswith(".data") or f.endswith(".onnx.data"):
            os.remove(os.path.join(os.path.dirname(path), f))
    onnx.save(m, path, save_as_external_data=False)


def run_ort(path):
    if ort is None:
        return None
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    res = []
    for i in range(images.shape[0]):  # one image per call works whether or not the batch is dynamic
        res.append(sess.run(None, {name: images[i:i + 1].numpy()})[0][0].tolist())
    return res


attempts = [
    ("torchscript", dict(dynamo=False, opset_version=17, do_constant_folding=True,
                         dynamic_axes={"image": {0: "batch"}, "scores": {0: "batch"}})),
    ("dynamo", dict(dynamo=True, opset_version=18, external_data=False,
                    dynamic_axes={"image": {0: "batch"}, "scores": {0: "batch"}})),
    ("dynamo_static", dict(dynamo=True, opset_version=18, external_data=False)),
]
done = set()
for tag, kwargs in attempts:
    kind = tag.split("_")[0]
    if kind in done:
        continue
    path = os.path.join(out, f"bnn_small_{kind}.onnx")
    tmpdir = os.path.join(out, f"tmp_{tag}")
    os.makedirs(tmpdir, exist_ok=True)
    tmp = os.path.join(tmpdir, "m.onnx")
    try:
        note(f"--- export {tag}: {sorted(kwargs)}")
        torch.onnx.export(model, (images[:1],), tmp, input_names=["image"], output_names=["scores"], **kwargs)
        normalise_and_check(tmp)
        shutil.copy(tmp, path)
        size = os.path.getsize(path)
        note(dump_graph(path, os.path.join(out, f"graph_{kind}.txt")))
        ort_scores = run_ort(path)
        diff = None if ort_scores is None else float(np.abs(np.array(ort_scores) - scores32.numpy()).max())
        note(f"export {tag}: {size} bytes, max |ORT - torch float32| = {diff}")
        expected["exports"][kind] = {"file": os.path.basename(path), "bytes": size, "variant": tag,
                                     "ort_scores": ort_scores, "max_abs_diff_ort_vs_torch32": diff}
        done.add(kind)
    except Exception:
        note(f"export {tag} failed:")
        traceback.print_exc()
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)

with open(os.path.join(out, "bnn_small_expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
with open(os.path.join(out, "versions.json"), "w") as f:
    json.dump(versions, f, indent=1)
note(f"wrote {sorted(os.listdir(out))}")
