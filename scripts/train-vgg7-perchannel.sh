#!/usr/bin/env bash
# VGG7 with torchvision's per-channel std (train_bnn.py's default now), alone on the GPU machine.
# Stage here:  mkdir -p <checkout>/.device/pc && cp training/*.py scripts/train-vgg7-perchannel.sh <checkout>/.device/pc/
#              and one folder per CIFAR-10 batch (each call carries ≤ 64 MiB with the tree: one 28 MB .bin.gz per call).
# There:       bash .device/pc/train-vgg7-perchannel.sh copy .device/<part>       (one call per part, machine kept warm)
#              bash .device/pc/train-vgg7-perchannel.sh train .device/<test part> (md5-check, 151 epochs ≈ 330 s,
#              brings back vgg7-cifar10.onnx.gz, the log and PyTorch's float64 predictions in $OUT)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mode=$1; shift
mkdir -p /root/data/cifar
for p in "$@"; do cp "$p"/*.gz /root/data/cifar/; done
ls -la /root/data/cifar
[ "$mode" = train ] || exit 0
o=${OUT:-/tmp/out}
cd /root/data/cifar && gunzip -kf *.gz && md5sum -c <<'MD5'
5dd7e06a14cb22eb9f671a540d1b7c25  data_batch_1.bin
5ea93a67294ea407fff1d09f752e9692  data_batch_2.bin
942cd6a4bcdd0dd3c604fbe906cb4421  data_batch_3.bin
ae636b3ba5c66a11e91e8cb52e771fcb  data_batch_4.bin
53f37980c15c3d472c316c40844f3f0d  data_batch_5.bin
803d5f7f4d78ea53de84dbe85f74fb6d  test_batch.bin
MD5
nvidia-smi --query-gpu=name,memory.used --format=csv
PYTHONUNBUFFERED=1 python3 "$here/train_bnn.py" --arch vgg7 --data /root/data/cifar --out /root/models --epochs 151 > "$o/vgg7-train.txt" 2>&1 || echo "train exit $?"
tail -6 "$o/vgg7-train.txt"
cd /root/models && ls -la && gzip -k vgg7-cifar10-torch-predictions.json && gzip -9 -c vgg7-cifar10.onnx > "$o/vgg7-cifar10.onnx.gz" && cp vgg7-cifar10-log.json vgg7-cifar10-torch-predictions.json.gz "$o/"
