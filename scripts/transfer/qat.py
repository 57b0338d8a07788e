"""Quantization-aware fine-tuning (QAT) of a head on a chip's frozen front end (issue 15; docs/transfer.md).

A head whose int8 accuracy (post-training quantization by fixynn) is well below its float accuracy is
fine-tuned with the int8 arithmetic simulated ("fake quantization") in torch:

  - the front is the chip's, read from its manifest.json (`fixynn generate backbone.onnx --fixed-layers K
    --calib calib.npy`): the input quantization, the integer weights and biases, the requantization
    (multiplier, shift, zero point, clamp) of layers 0..K-1, computed exactly as fixynn's integer model does
    (generator/golden/requantize.ts: y = clamp(((acc * M + 2^(s-1)) >> s) + zo)), so the head trains on the
    features the silicon delivers, at the chip's scale. The head never brings front scales of its own:
    `compile --chip` takes the front from the chip, and `run-table.py` asserts the front's constants are the
    backbone's;
  - the head's weights (BatchNorm folded with its frozen statistics, as fixynn folds it) are rounded per
    output channel to 8 bits with the scale fixynn's quantizer would choose (generator/quant/quantize.ts,
    quantizeWeightsPerChannel: the least squared error among max|w|/j and max|w|*f/127);
  - every activation after the front (each layer's output, the global average pool's) is rounded to 8 bits
    over the range fixynn's 'mse' calibration would pick on the chip's calibration set
    (generator/quant/calibrate.ts), re-measured at the start of every epoch; the scores stay in float
    (fixynn keeps the network's output at its full range);
  - gradients pass through the rounding unchanged inside the range and stop outside it (straight-through
    estimator).

The result is an ordinary float ONNX model (the exported weights are the float ones, BatchNorm kept):
fixynn quantizes it with its own defaults, so its int8 accuracy is measured exactly as the recipe's.
"""
import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

WEIGHT_BITS = 8
ACT_BITS = 8


# ---------------------------------------------------------------------------------------------------------
# The chip's front end, from its manifest


class ChipFront:
    """Layers 0..K-1 as the chip computes them, from the integers in its manifest (exact, float64)."""

    def __init__(self, manifest_path, k):
        with open(manifest_path) as f:
            manifest = json.load(f)
        ffe = next((p for p in manifest["parts"] if p["kind"] == "ffe"), None)
        if ffe is None or ffe["fixedLayerCount"] != k:
            found = None if ffe is None else ffe["fixedLayerCount"]
            raise SystemExit(f"{manifest_path}: expected a fixed part of {k} layers, found {found}")
        q = ffe["quantization"]
        self.tensors = q["tensors"]
        self.input = q["input"]
        self.layers = q["layers"][:k]
        for layer in self.layers:
            if layer["kind"] != "conv" or layer["requant"].get("negative") is not None:
                raise SystemExit(f"{manifest_path}: layer {layer['index']} is a {layer['kind']}; qat.py runs fronts "
                                 "of conv layers with a clamp activation only")
        self.output = self.tensors[self.layers[-1]["output"]]["quant"]

    def quantize_input(self, images):
        """float images as the model takes them ([N,C,H,W] in [0,1]) -> q (generator/quant/io.ts)."""
        pre = self.input["preprocess"]
        quant = self.tensors[self.input["tensor"]]["quant"]
        scale = torch.tensor(pre["scale"], dtype=torch.float32).view(1, -1, 1, 1)
        offset = torch.tensor(pre["offset"], dtype=torch.float32).view(1, -1, 1, 1)
        x = images.float() * scale + offset
        q = torch.round(x / np.float32(quant["scale"])) + quant["zeroPoint"]
        lo, hi = q_range(quant)
        return q.clamp(lo, hi).double()

    def run(self, images, batch=500):
        """The front's integer output q for float images, as float64 tensors holding integers."""
        outs = []
        for i in range(0, len(images), batch):
            q = self.quantize_input(images[i:i + batch])
            for layer in self.layers:
                q = self.conv(layer, q)
            outs.append(q)
        return torch.cat(outs)

    def conv(self, layer, q):
        in_q = self.tensors[layer["inputs"][0]]["quant"]
        weights = torch.tensor(layer["weights"], dtype=torch.float64).view(layer["weightShape"])
        bias = torch.tensor(layer["bias"], dtype=torch.float64)
        top, left, bottom, right = pads_of(layer["pads"])
        x = F.pad(q - in_q["zeroPoint"], (left, right, top, bottom))  # padding holds the zero point
        acc = F.conv2d(x, weights, bias, stride=layer["stride"], groups=layer["group"])
        r = layer["requant"]
        m = torch.tensor(r["multiplier"], dtype=torch.float64).view(1, -1, 1, 1)
        shift = torch.tensor(r["shift"], dtype=torch.float64).view(1, -1, 1, 1)
        if float(acc.abs().max()) * float(m.max()) >= 2 ** 52:
            raise SystemExit(f"layer {layer['index']}: accumulators too wide for exact float64 requantization")
        y = torch.floor((acc * m + 2 ** (shift - 1)) / 2 ** shift) + r["outputZeroPoint"]
        return y.clamp(r["clampMin"], r["clampMax"])

    def dequantize(self, q):
        return ((q - self.output["zeroPoint"]) * self.output["scale"]).float()

    def features(self, images):
        """The front's output for float images, dequantized at its scale (what the head's first layer
        takes). The same for every seed: run-table.py computes it once per data set and K."""
        return self.dequantize(self.run(images))


def pads_of(pads):
    """fixynn's pads [top, left, bottom, right] (ONNX order for 2-D)."""
    return pads[0], pads[1], pads[2], pads[3]


def q_range(quant):
    bits = quant["bits"]
    return (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if quant["signed"] else (0, 2 ** bits - 1)


# ---------------------------------------------------------------------------------------------------------
# Fake quantization (straight-through)


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return torch.round(x)

    @staticmethod
    def backward(ctx, grad):
        return grad


def fake_quant(x, scale, zero_point, lo, hi):
    """scale * (clamp(round(x / scale) + zp, lo, hi) - zp); the gradient passes inside the range."""
    q = torch.clamp(_RoundSTE.apply(x / scale) + zero_point, lo, hi)
    return (q - zero_point) * scale


_DIVISORS = {}


def scale_divisors(bits):
    """max|w| / divisor: the candidate scales of quantizeWeightsPerChannel, in fixynn's order (the first
    candidate wins ties); the same for every call, so built once per width ([1, n] float64)."""
    if bits not in _DIVISORS:
        q_max = 2 ** (bits - 1) - 1
        lowest = max(1, -(-q_max // 2))
        step = max(1, (q_max - lowest) // 96)
        divisors = [float(j) for j in range(q_max, lowest - 1, -step)]
        divisors += [q_max / f for f in np.arange(0.99, 0.5 - 1e-9, -0.01)]
        _DIVISORS[bits] = torch.tensor([float(q_max)] + divisors, dtype=torch.float64).view(1, -1)
    return _DIVISORS[bits]


def weight_scales(w, bits=WEIGHT_BITS):
    """Per output channel, the scale fixynn's quantizeWeightsPerChannel picks (the least squared error)."""
    q_max = 2 ** (bits - 1) - 1
    flat = w.detach().reshape(w.shape[0], -1).double()
    largest = flat.abs().max(1).values.clamp_min(1e-30)
    candidates = largest.view(-1, 1) / scale_divisors(bits)  # [C, n]
    q = torch.clamp(torch.round(flat.unsqueeze(1) / candidates.unsqueeze(2)), -q_max, q_max)
    error = ((flat.unsqueeze(1) - q * candidates.unsqueeze(2)) ** 2).sum(2)
    best = candidates.gather(1, error.argmin(1, keepdim=True)).squeeze(1)
    return best.float()


def fake_quant_weights(w, bits=WEIGHT_BITS):
    q_max = 2 ** (bits - 1) - 1
    scale = weight_scales(w, bits).view(-1, *([1] * (w.dim() - 1)))
    return fake_quant(w, scale, 0, -q_max, q_max)


def mse_range(values, bits=ACT_BITS):
    """fixynn's 'mse' calibration (generator/quant/calibrate.ts): the observed range shrunk by 1.0, 0.98, ..
    0.30, the one with the least squared quantization error; 0 always inside."""
    values = values.detach().flatten().double()
    if values.numel() > (1 << 17):  # fixynn keeps about 2^17 samples per tensor, an even stride
        values = values[::-(-values.numel() // (1 << 17))]
    lo, hi = float(values.min()), float(values.max())
    best, best_error = None, float("inf")
    factor = 1.0
    while factor >= 0.3 - 1e-12:
        cand = (min(0.0, lo * factor), max(0.0, hi * factor))
        quant = quant_for_range(*cand, bits)
        a, b = q_range(quant)
        level = torch.clamp(torch.round(values / quant["scale"]) + quant["zeroPoint"], a, b)
        error = float(((values - quant["scale"] * (level - quant["zeroPoint"])) ** 2).sum())
        if error < best_error:
            best, best_error = quant, error
        factor -= 0.02
    return best


def quant_for_range(lo, hi, bits):
    """generator/quant/fixed-point.ts quantParamsForRange."""
    low, high = min(0.0, lo), max(0.0, hi)
    if low >= 0:
        return {"scale": high / (2 ** bits - 1) if high > 0 else 1.0, "zeroPoint": 0, "bits": bits, "signed": False}
    q_min, q_max = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    scale = (high - low) / (q_max - q_min)
    return {"scale": scale, "zeroPoint": int(min(q_max, max(q_min, round(q_min - low / scale)))), "bits": bits, "signed": True}


# ---------------------------------------------------------------------------------------------------------
# The head with its int8 arithmetic simulated


class QatHead(nn.Module):
    """A Head (run-table.py: `rest` = conv/BN/ReLU6 blocks, `classifier`) computed with fake-quantized
    weights and activations. BatchNorm is folded into the conv with its stored statistics, as fixynn folds
    it, and those statistics stay frozen (its forward is never called); its scale and shift train."""

    def __init__(self, head):
        super().__init__()
        self.head = head
        self.ranges = None  # per activation: the quantization fixynn's calibration would choose

    def blocks(self):
        return list(self.head.rest)

    def float_forward(self, x):
        """The same head without rounding (what ONNX Runtime computes on the float model)."""
        saved, self.ranges = self.ranges, None
        try:
            return self.forward(x)
        finally:
            self.ranges = saved

    def forward(self, x, collect=None):
        for i, block in enumerate(self.blocks()):
            conv, bn = block[0], block[1]
            inv = bn.weight / torch.sqrt(bn.running_var + bn.eps)
            w = conv.weight * inv.view(-1, 1, 1, 1)
            b = bn.bias - bn.running_mean * inv
            x = F.relu6(F.conv2d(x, fake_quant_weights(w) if self.ranges else w, b, conv.stride, conv.padding, conv.dilation, conv.groups))
            x = self.activation(x, f"block{i}", collect)
        x = self.activation(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1), "pool", collect)
        cls = self.head.classifier
        return F.linear(x, fake_quant_weights(cls.weight) if self.ranges else cls.weight, cls.bias)

    def activation(self, x, name, collect):
        if collect is not None:
            collect.setdefault(name, []).append(x.detach())
        if not self.ranges:
            return x
        quant = self.ranges[name]
        lo, hi = q_range(quant)
        return fake_quant(x, quant["scale"], quant["zeroPoint"], lo, hi)

    def calibrate(self, calib_features):
        """The activation ranges, as fixynn's 'mse' calibration would pick them on these inputs (float)."""
        saved, self.ranges = self.ranges, None
        collect = {}
        self.eval()
        with torch.no_grad():
            self.forward(calib_features, collect)
        self.ranges = saved
        return {name: mse_range(torch.cat(values)) for name, values in collect.items()}


def fine_tune(head, chip_features, train_y, float_features, calib_float_features, epochs, seed, lr, log=None):
    """QAT of `head` (a run-table.py Head, trained in float) on `chip_features`, the chip front's features
    of the training images (`ChipFront.features`). `float_features` are the float front's features of the
    same images, `calib_float_features` those of the calibration set (what fixynn calibrates the head's
    activations on). Returns the QatHead (its `head` holds the float weights to export).

    The loss is the fake-quantized head's on the chip's features plus the float head's on the float
    front's: fixynn's calibration and empirical bias correction take the float model (float front) as the
    reference, so a head that fits only the chip's rounding (measured on letters at K = 1: 84% fake-quant,
    57% float, 60% in fixynn's integer model) loses it all again when fixynn quantizes it."""
    model = QatHead(head)

    def loss(module, x, y):
        chip, float_front = x
        return F.cross_entropy(module(chip), y) + F.cross_entropy(module.float_forward(float_front), y)

    def measure_ranges():
        model.ranges = model.calibrate(calib_float_features)

    common.fit(model, (chip_features, float_features), train_y, epochs, seed, lr, loss=loss, before_epoch=measure_ranges,
               log=log and (lambda line: log("QAT " + line)))
    measure_ranges()
    model.eval()
    return model


def accuracy(model, feats, y):
    """Top-1 of the fake-quantized head on the chip front's features `feats` (`ChipFront.features` of the
    test images): torch's estimate of the int8 figure."""
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(feats[i:i + 500]).argmax(1) for i in range(0, len(feats), 500)])
    return float((pred == y).float().mean())
