#!/usr/bin/env bash
# The main job on the bundled example: inspect the model, compare the integer model with ONNX Runtime,
# build the chip (the first three layers as fixed shift-add logic streaming into an 8x8 programmable
# accelerator that runs the rest), verify it bit-exactly in Verilator on test digits streamed back to
# back, then compile a second task trained on the same frozen front end for the same chip and verify it
# there; a model with another front end is refused.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-tools.sh
model=examples/mnist-mobilenet/model.onnx
second=examples/chip/loops-k3.onnx
out=${FIXYNN_DEMO_OUT:-rtl-out/chip}
images=${FIXYNN_DEMO_IMAGES:-100}
step() { printf '\n== %s\n' "$*"; }
step "fixynn inspect $model"
node bin/fixynn.js inspect "$model"
step "fixynn eval $model --count 200"
node bin/fixynn.js eval "$model" --count 200
step "fixynn generate $model --fixed-layers 3 --accel 8x8 --out $out"
node bin/fixynn.js generate "$model" --fixed-layers 3 --accel 8x8 --out "$out"
step "fixynn verify $out --images $images   (task 1: the digits)"
node bin/fixynn.js verify "$out" --images "$images"
step "fixynn compile $second --chip $out --out $out-loops   (task 2: closed loops of the digit, same frozen front end)"
node bin/fixynn.js compile "$second" --chip "$out" --out "$out-loops"
step "fixynn verify $out --program $out-loops --images $images --labels examples/chip/loops-labels.npy"
node bin/fixynn.js verify "$out" --program "$out-loops" --images "$images" --labels examples/chip/loops-labels.npy
step "fixynn compile examples/transfer/backbone.onnx --chip $out   (another front end: refused, exit 2)"
if node bin/fixynn.js compile examples/transfer/backbone.onnx --chip "$out" --out "$out-other"; then
  echo "expected a refusal" >&2
  exit 1
fi
