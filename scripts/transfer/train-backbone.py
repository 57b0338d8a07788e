#!/usr/bin/python3
"""Train the transfer experiment's backbone on the source task `symbols` (77 glyph classes, no digit, no
Latin letter, no shape, no photo; see make-data.py) and export it to examples/transfer/backbone.onnx.

    nice -n 19 /usr/bin/python3 scripts/transfer/train-backbone.py [--epochs 10] [--seed 1]

The architecture is the example model's (scripts/train-mnist.py: 28x28 grayscale, conv + four depthwise-
separable blocks, 9 convolution layers) with a 77-way classifier; the same recipe (Adam, one-cycle up to
0.01, batch 64, random shifts of up to 2 pixels), one thread, fixed seeds: a rerun writes the same file.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default=os.path.join(common.EXAMPLE_DIR, "backbone.onnx"))
    args = parser.parse_args()

    import torch
    start = time.time()
    common.seed_everything(args.seed)
    train_x, train_y, test_x, test_y = common.load_task(common.SOURCE)
    classes = int(train_y.max()) + 1
    train_x, test_x = common.to_float(train_x), common.to_float(test_x)
    train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
    print(f"source {common.SOURCE}: {len(train_x)} train, {len(test_x)} test images, {classes} classes", flush=True)
    model = common.make_network(classes)
    shift = common.load_train_mnist().shift_batch
    common.fit(model, train_x, train_y, args.epochs, args.seed, lr=0.01, augment=shift,
               log=lambda line: print(line, flush=True))
    acc = common.accuracy(model, test_x, test_y)
    print(f"torch float test accuracy {acc * 100:.2f}% ({time.time() - start:.0f} s)")
    common.export_onnx(model, args.out)
    facts = {"source": common.SOURCE, "classes": classes, "train": len(train_x), "test": len(test_x),
             "epochs": args.epochs, "seed": args.seed, "floatTestAccuracy": round(acc, 4),
             "seconds": round(time.time() - start)}
    with open(os.path.splitext(args.out)[0] + ".json", "w") as f:
        json.dump(facts, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
