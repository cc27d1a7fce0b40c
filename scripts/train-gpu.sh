#!/usr/bin/env bash
# Trains the shipped models on the GPU machine (PyTorch there; no .NET needed) within the 10-minute call limit.
#
# Here:   scripts/train-gpu.sh stage /path/to/checkout
#           copies training/, the pattern-fixture script and Fashion-MNIST (Debian package dataset-fashion-mnist) into
#           <checkout>/.device/train-import/ and the CIFAR-10 batches (../shared/data/cifar-10-batches-bin) into
#           .device/train-cifar-a (batch 1), -b (2, 3), -c (4, 5), -d (test): each ≤ 64 MiB with the tree.
# There:  bash .device/train-import/train-gpu.sh copy DIR...     copies carried parts to /root/data (one call per part,
#                                                               consecutive calls while the machine stays warm)
#         bash .device/train-import/train-gpu.sh smoke           one short epoch of each network + the fixtures
#         bash .device/train-import/train-gpu.sh train [S3 S7]   md5-checks the data, trains VGG3 (S3 s, default 240) and
#                                                               VGG7 (S7 s, default 300) concurrently, writes to $OUT
#         bash .device/train-import/train-gpu.sh train-vgg7 [E]  md5-checks the data, trains VGG7 alone for E epochs
#                                                               (default 151 ≈ 330 s: the shipped per-channel model) and
#                                                               brings back its ONNX (gz), log and float64 predictions
set -euo pipefail
mode=${1:?stage|copy|smoke|train|train-vgg7}
here=$(cd "$(dirname "$0")" && pwd)
# Decompresses the carried CIFAR-10 batches and checks them against the md5s of ../shared/data/README.md.
check_cifar() {
    (cd /root/data/cifar && gunzip -kf *.gz && md5sum -c) <<'MD5'
5dd7e06a14cb22eb9f671a540d1b7c25  data_batch_1.bin
5ea93a67294ea407fff1d09f752e9692  data_batch_2.bin
942cd6a4bcdd0dd3c604fbe906cb4421  data_batch_3.bin
ae636b3ba5c66a11e91e8cb52e771fcb  data_batch_4.bin
53f37980c15c3d472c316c40844f3f0d  data_batch_5.bin
803d5f7f4d78ea53de84dbe85f74fb6d  test_batch.bin
MD5
    nvidia-smi --query-gpu=name,memory.used --format=csv
}
case "$mode" in
stage)
    co=${2:?checkout}; src=$(cd "$here/.." && pwd)
    d=$co/.device/train-import; rm -rf "$d"; mkdir -p "$d/fashion"
    cp "$src"/training/*.py "$src/scripts/train-gpu.sh" "$src/tests/HepBnn.Tests/Formats/Onnx/Fixtures/make_pattern_fixtures.py" "$d/"
    cp /usr/share/datasets/fashion-mnist/*.gz "$d/fashion/"
    cifar=${CIFAR:-$src/../../shared/data/cifar-10-batches-bin}
    [ -d "$cifar" ] || cifar=/work/shared/data/cifar-10-batches-bin
    for p in a:1 b:2+3 c:4+5 d:test; do
        n=${p%%:*}; rm -rf "$co/.device/train-cifar-$n"; mkdir -p "$co/.device/train-cifar-$n"
        for b in $(echo "${p#*:}" | tr + " "); do
            f=data_batch_$b.bin.gz; [ "$b" = test ] && f=test_batch.bin.gz
            cp "$cifar/$f" "$co/.device/train-cifar-$n/"
        done
    done
    du -sh "$co"/.device/train-*;;
copy)
    shift; mkdir -p /root/data/cifar
    for p in "$@"; do cp "$p"/*.gz /root/data/cifar/; done
    ls -la /root/data/cifar;;
smoke)
    o=${OUT:-/tmp/out}; mkdir -p /root/smoke
    PYTHONUNBUFFERED=1 python3 "$here/train_bnn.py" --arch vgg3 --data "$here/fashion" --out /root/smoke --epochs 1 --warmup 1 --limit 2048
    PYTHONUNBUFFERED=1 python3 "$here/train_bnn.py" --arch vgg7 --data /root/data/cifar --out /root/smoke --epochs 1 --warmup 1 --limit 2048
    ls -la /root/smoke
    PYTHONUNBUFFERED=1 python3 "$here/make_pattern_fixtures.py" /root/fixtures
    cd /root && tar czf "$o/fixtures.tgz" fixtures;;
train)
    s3=${2:-240}; s7=${3:-300}; o=${OUT:-/tmp/out}
    check_cifar
    PYTHONUNBUFFERED=1 python3 "$here/train_bnn.py" --arch vgg7 --data /root/data/cifar --out /root/models --budget "$s7" > "$o/vgg7-train.txt" 2>&1 &
    p7=$!
    PYTHONUNBUFFERED=1 python3 "$here/train_bnn.py" --arch vgg3 --data "$here/fashion" --out /root/models --budget "$s3" > "$o/vgg3-train.txt" 2>&1 &
    p3=$!
    r3=0; r7=0; wait $p3 || r3=$?; wait $p7 || r7=$?
    tail -4 "$o/vgg3-train.txt" "$o/vgg7-train.txt"
    cd /root/models && ls -la && tar czf "$o/models.tgz" *.onnx *.json
    echo "exit vgg3 $r3 vgg7 $r7";;
train-vgg7)
    epochs=${2:-151}; o=${OUT:-/tmp/out}
    check_cifar
    PYTHONUNBUFFERED=1 python3 "$here/train_bnn.py" --arch vgg7 --data /root/data/cifar --out /root/models --epochs "$epochs" > "$o/vgg7-train.txt" 2>&1 || echo "train exit $?"
    tail -6 "$o/vgg7-train.txt"
    cd /root/models && ls -la && gzip -k vgg7-cifar10-torch-predictions.json && gzip -9 -c vgg7-cifar10.onnx > "$o/vgg7-cifar10.onnx.gz"
    cp vgg7-cifar10-log.json vgg7-cifar10-torch-predictions.json.gz "$o/";;
esac
