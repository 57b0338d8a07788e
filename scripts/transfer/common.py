"""Shared pieces of the transfer-learning experiment (issue 15): paths, the network, seeding, ONNX export.

The network is the example model's (scripts/train-mnist.py): the one definition is imported from there, so
the backbone, every head and every baseline have exactly the example's architecture and export form.
"""
import importlib.util
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE_DIR = os.path.join(ROOT, "examples", "transfer")
# Committed: small per-task test sets (uint8 [N,1,28,28] and int64 labels) and the backbone.
DATA_DIR = os.path.join(EXAMPLE_DIR, "data")
# Not committed (rebuilt deterministically by make-data.py): training sets, features, runs.
CACHE_DIR = os.environ.get("FIXYNN_TRANSFER_CACHE", os.path.join(ROOT, "verify", ".cache", "transfer"))

SOURCE = "symbols"
TARGETS = ["mnist", "letters", "uci-digits", "shapes", "photos"]


def load_train_mnist():
    """scripts/train-mnist.py as a module (its name has a hyphen): the architecture and helpers live there."""
    spec = importlib.util.spec_from_file_location("train_mnist", os.path.join(ROOT, "scripts", "train-mnist.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_paths(task):
    return os.path.join(DATA_DIR, task, "test-x.npy"), os.path.join(DATA_DIR, task, "test-y.npy")


def train_paths(task):
    return os.path.join(CACHE_DIR, "data", task, "train-x.npy"), os.path.join(CACHE_DIR, "data", task, "train-y.npy")


def load_task(task):
    """(train_x, train_y, test_x, test_y): uint8 [N,1,28,28] and int64 labels."""
    tx, ty = train_paths(task)
    vx, vy = test_paths(task)
    if task == SOURCE:  # the source's test set is not committed (it is only the backbone's report)
        vx, vy = (p.replace("train-", "test-") for p in (tx, ty))
    missing = [p for p in (tx, ty, vx, vy) if not os.path.exists(p)]
    if missing:
        raise SystemExit(f"{missing[0]} is missing: run /usr/bin/python3 scripts/transfer/make-data.py first")
    return np.load(tx), np.load(ty), np.load(vx), np.load(vy)


def to_float(x_uint8):
    """uint8 pixels -> float32 in [0, 1], what `fixynn eval --data X.npy` does to a uint8 .npy by default."""
    import torch
    return torch.from_numpy(x_uint8.astype(np.float32) / np.float32(255.0))


def seed_everything(seed):
    """Python, NumPy and torch seeds, deterministic algorithms, one thread (a fixed reduction order)."""
    load_train_mnist().seed_everything(seed)


def make_network(classes):
    """The example's network with a `classes`-way classifier."""
    import torch.nn as nn
    tm = load_train_mnist()
    model = tm.MnistMobileNet()
    model.classifier = nn.Linear(model.classifier.in_features, classes)
    return model


def cross_entropy(module, x, y):
    """The default loss of `fit`: the module's scores on the batch against its labels."""
    import torch.nn.functional as F
    return F.cross_entropy(module(x), y)


def fit(module, inputs, labels, epochs, seed, lr, augment=None, batch=64, log=None, loss=cross_entropy,
        before_epoch=None):
    """Adam with a one-cycle learning rate; `inputs` are tensors already on hand (images or a frozen front's
    features), or a tuple of such tensors indexed together. `augment(batch, generator)` transforms a batch
    (the backbone's shifts); `loss(module, batch_inputs, batch_labels)` is the batch's loss (cross-entropy
    by default; qat.py's sums two); `before_epoch()` runs before each epoch (qat.py re-measures its ranges)."""
    import torch
    generator = torch.Generator().manual_seed(seed)
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(params, lr=lr, weight_decay=1e-5)
    count = len(labels)
    steps = epochs * ((count + batch - 1) // batch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        if before_epoch:
            before_epoch()
        module.train()
        order = torch.randperm(count, generator=generator)
        total = 0.0
        for start in range(0, count, batch):
            idx = order[start:start + batch]
            x = tuple(t[idx] for t in inputs) if isinstance(inputs, tuple) else inputs[idx]
            if augment is not None:
                x = augment(x, generator)
            batch_loss = loss(module, x, labels[idx])
            optimizer.zero_grad()
            batch_loss.backward()
            optimizer.step()
            scheduler.step()
            total += float(batch_loss) * len(idx)
        if log:
            log(f"epoch {epoch + 1}/{epochs}: loss {total / count:.4f}")


def predict(module, inputs, batch=500):
    import torch
    module.eval()
    with torch.no_grad():
        return torch.cat([module(inputs[i:i + batch]).argmax(1) for i in range(0, len(inputs), batch)])


def accuracy(module, inputs, labels):
    return float((predict(module, inputs) == labels).float().mean())


def export_onnx(model, path):
    """The example's export (opset 13, BatchNormalization kept in inference form, input [1,1,28,28] in [0,1])."""
    import warnings
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with warnings.catch_warnings():
        # torch warns about constant folding with TrainingMode.PRESERVE; the model is in eval mode, where
        # folding changes nothing learnable (run-table.py asserts the front's constants are the backbone's).
        warnings.filterwarnings("ignore", message="It is recommended that constant folding be turned off")
        load_train_mnist().export(model, path)
