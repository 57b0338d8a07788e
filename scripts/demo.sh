#!/usr/bin/env bash
# The main job on the bundled example: inspect the model, compare the integer model with ONNX Runtime,
# generate the fixed-weight feature extractor for all nine convolution layers, and verify the RTL
# bit-exactly in Verilator on 100 test digits streamed back to back.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-tools.sh
model=examples/mnist-mobilenet/model.onnx
out=${FIXYNN_DEMO_OUT:-rtl-out/mnist}
step() { printf '\n== %s\n' "$*"; }
step "fixynn inspect $model"
node bin/fixynn.js inspect "$model"
step "fixynn eval $model --count 200"
node bin/fixynn.js eval "$model" --count 200
step "fixynn generate $model --fixed-layers 9 --out $out"
node bin/fixynn.js generate "$model" --fixed-layers 9 --out "$out"
step "fixynn verify $out --images 100"
node bin/fixynn.js verify "$out" --images 100
