#!/usr/bin/env bash
# GpuPopc (PTX popc instead of ILGPU's shift-and-mask PopCount in the SIMT kernels): verify + per-block GPU tables.
D=${D:-.device/popc}; cd $D && gunzip -f libSkiaSharp.so.gz hepbnn.gz && chmod +x hepbnn && cd ../..
O=${OUT:-/tmp/out}; mkdir -p $O
timeout 45 $D/hepbnn verify --device gpu > $O/verify.txt 2>&1; echo "verify exit $?" >> $O/verify.txt
timeout 50 $D/hepbnn bench --model vgg3 --batch 1 256 --layers --measure-s 0.5 --profile-budget-s 2 --json-out $O/bench-vgg3.json > $O/bench-vgg3.txt 2>&1
timeout 45 $D/hepbnn bench --model vgg7 --batch 1 --layers --measure-s 0.5 --profile-budget-s 2 --json-out $O/bench-vgg7.json > $O/bench-vgg7.txt 2>&1
python3 scripts/mma-fraction.py 4806 $O/bench-vgg3.json $O/bench-vgg7.json > $O/mma-fraction.txt 2>&1
