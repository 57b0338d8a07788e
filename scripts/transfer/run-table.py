#!/usr/bin/python3
"""The transfer experiment's results table (issue 15), from the committed backbone and data sets:

    nice -n 19 /usr/bin/python3 scripts/transfer/run-table.py            # the full table -> docs/transfer.md
    nice -n 19 /usr/bin/python3 scripts/transfer/run-table.py --quick    # minutes: 2 targets, 2 K, 1 seed

For every target, every K in --ks and every seed:
  - the frozen front (the backbone's first K layers, BatchNorm in inference form) computes the features of
    the target's training and test images ONCE per target and K;
  - a head (the backbone's layers K.. as initialization, plus a new classifier) trains on those features;
  - the whole model (front + head) is exported to ONNX, and the script asserts that every front constant
    (conv weights, BatchNorm scale, shift, mean, variance) is byte-identical to the backbone's: the head
    runs on the same fixed-weight front end;
  - its int8 accuracy on the target's test set is fixynn's integer model's
    (`fixynn eval HEAD --data test-x.npy --labels test-y.npy --calib calib.npy --json`).
The baseline per target and seed is the whole network fine-tuned from the backbone (float, torch). Per K,
the fixed part's adders come from `fixynn generate backbone.onnx --fixed-layers K --calib calib.npy`.

All fixynn runs calibrate on examples/transfer/calib.npy (the chip's calibration set: 32 training images
of the source and of every target), so every head's front gets the same scales as the chip's front.

Outputs: verify/.cache/transfer/runs/MODE/ (models, results.json, table.md); the full mode also replaces
the table between the markers in docs/transfer.md, writes examples/transfer/results.json and copies the
seed-1 heads at the chosen K to examples/transfer/heads/.
"""
import argparse
import concurrent.futures
import copy
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

BACKBONE = os.path.join(common.EXAMPLE_DIR, "backbone.onnx")
CALIB = os.path.join(common.EXAMPLE_DIR, "calib.npy")
DOC = os.path.join(common.ROOT, "docs", "transfer.md")
FIXYNN = [os.environ.get("NODE", "node"), os.path.join(common.ROOT, "bin", "fixynn.js")]
MARK_START, MARK_END = "<!-- table:start (written by scripts/transfer/run-table.py) -->", "<!-- table:end -->"
LR = 0.005
LAST_CONV = 9  # the network's nine convolution layers: K = 9 fixes them all, the head is the classifier


def onnx_state(path):
    """Initializers of an ONNX file by name (raw bytes and array)."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(path)
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def load_backbone():
    """The committed backbone.onnx into the torch network (the ONNX file is the one source of its weights)."""
    init = onnx_state(BACKBONE)
    classes = init["classifier.weight"].shape[0]
    model = common.make_network(classes)
    state = model.state_dict()
    for name in state:
        if name.endswith("num_batches_tracked"):
            continue
        if name not in init:
            raise SystemExit(f"{BACKBONE}: no initializer {name}; retrain with scripts/transfer/train-backbone.py")
        state[name] = torch.from_numpy(init[name].copy())
    model.load_state_dict(state)
    model.eval()
    return model


def assert_front_identical(path, k, backbone_init):
    """Every constant of layers 0..K-1 in the head's ONNX file is byte-identical to the backbone's."""
    head = onnx_state(path)
    names = [n for n in backbone_init if n.startswith("features.") and int(n.split(".")[1]) < k]
    if len(names) != 5 * k:  # conv weight + BN weight, bias, running mean, running var per layer
        raise AssertionError(f"{path}: expected 5 constants per front layer, found {len(names)} for K={k}")
    for name in names:
        a, b = head.get(name), backbone_init[name]
        if a is None or a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            raise AssertionError(f"{path}: front constant {name} differs from the backbone's")


class Head(nn.Module):
    """The layers after the front (initialized from the backbone) and a new classifier."""

    def __init__(self, backbone, k, classes):
        super().__init__()
        self.rest = copy.deepcopy(backbone.features[k:])
        self.classifier = nn.Linear(backbone.classifier.in_features, classes)

    def forward(self, x):
        if len(self.rest):
            x = self.rest(x)
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def whole_model(backbone, head, k, classes):
    """The exported network: the backbone's front as it is, the head's layers and classifier."""
    model = common.make_network(classes)
    model.features = copy.deepcopy(backbone.features)
    for i, layer in enumerate(head.rest):
        model.features[k + i] = copy.deepcopy(layer)
    model.classifier = copy.deepcopy(head.classifier)
    model.eval()
    return model


def run_fixynn(args):
    result = subprocess.run(FIXYNN + args, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"fixynn {' '.join(args)}: exit {result.returncode}\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def eval_int8(model_path, task, count):
    test_x, test_y = common.test_paths(task)
    extra = ["--count", str(count)] if count else []
    report = run_fixynn(["eval", model_path, "--data", test_x, "--labels", test_y, "--calib", CALIB, "--json", *extra])
    return {"int8": report["integerAccuracy"], "ortFloat": report["floatAccuracy"], "images": report["images"]}


def fixed_part_cost(k, out_dir):
    design = os.path.join(out_dir, f"chip-k{k}")
    run_fixynn(["generate", BACKBONE, "--fixed-layers", str(k), "--out", design, "--calib", CALIB, "--json"])
    with open(os.path.join(design, "manifest.json")) as f:
        manifest = json.load(f)
    return {"adders": manifest["cost"]["adders"], "nonzeroWeights": manifest["cost"]["nonzeroWeights"]}


def stats(values):
    values = [v * 100 for v in values]
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    return {"mean": round(mean, 2), "std": round(spread, 2), "min": round(min(values), 2), "max": round(max(values), 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 targets, K 5 and 9, 1 seed, 3 epochs, 300 test images")
    parser.add_argument("--targets", nargs="*")
    parser.add_argument("--ks", nargs="*", type=int)
    parser.add_argument("--seeds", nargs="*", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--count", type=int, help="test images per int8 evaluation (default all)")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    targets = args.targets or (["mnist", "shapes"] if args.quick else common.TARGETS)
    ks = args.ks or ([5, 9] if args.quick else [1, 3, 5, 7, 9])
    seeds = args.seeds or ([1] if args.quick else [1, 2, 3])
    epochs = args.epochs or (3 if args.quick else 15)
    count = args.count if args.count is not None else (300 if args.quick else 0)
    bad = [k for k in ks if not 1 <= k <= LAST_CONV]
    if bad:
        raise SystemExit(f"--ks {bad}: K must be 1..{LAST_CONV} (the network's convolution layers)")
    out_dir = os.path.join(common.CACHE_DIR, "runs", mode)
    os.makedirs(out_dir, exist_ok=True)

    started = time.time()
    tm = common.load_train_mnist()
    normalize = lambda x: (x - tm.MEAN) / tm.STD  # noqa: E731  (the network's own first step)
    common.seed_everything(0)
    backbone = load_backbone()
    backbone_init = onnx_state(BACKBONE)
    log = lambda line: print(f"[{time.time() - started:6.0f} s] {line}", flush=True)  # noqa: E731
    # fixynn runs (node) overlap torch's training: one at a time beside it, both at nice 19.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    costs = {k: pool.submit(fixed_part_cost, k, out_dir) for k in ks}
    results = {"mode": mode, "targets": {}, "ks": ks, "seeds": seeds, "epochs": epochs, "lr": LR,
               "testCount": count or "all", "backbone": os.path.relpath(BACKBONE, common.ROOT)}
    pending = []
    for task in targets:
        train_x, train_y, test_x, test_y = common.load_task(task)
        classes = int(train_y.max()) + 1
        if count:
            test_x, test_y = test_x[:count], test_y[:count]
        train_x, test_x = common.to_float(train_x), common.to_float(test_x)
        train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
        entry = {"classes": classes, "train": len(train_x), "test": len(test_x), "baseline": [], "heads": {}}
        results["targets"][task] = entry
        for seed in seeds:
            t0 = time.time()
            common.seed_everything(seed)
            model = copy.deepcopy(backbone)
            model.classifier = torch.nn.Linear(model.classifier.in_features, classes)
            common.fit(model, train_x, train_y, epochs, seed, LR)
            acc = common.accuracy(model, test_x, test_y)
            entry["baseline"].append({"seed": seed, "float": acc, "seconds": round(time.time() - t0, 1)})
            common.export_onnx(model, os.path.join(out_dir, task, f"baseline-s{seed}.onnx"))
            log(f"{task} baseline seed {seed}: float {acc * 100:.2f}% ({time.time() - t0:.0f} s)")
        for k in ks:
            front = backbone.features[:k]
            with torch.no_grad():  # the frozen front's features, once per data set and K
                feats = torch.cat([front(normalize(train_x[i:i + 500])) for i in range(0, len(train_x), 500)])
                test_feats = torch.cat([front(normalize(test_x[i:i + 500])) for i in range(0, len(test_x), 500)])
            runs = entry["heads"].setdefault(str(k), [])
            for seed in seeds:
                t0 = time.time()
                common.seed_everything(seed)
                head = Head(backbone, k, classes)
                common.fit(head, feats, train_y, epochs, seed, LR)
                acc = common.accuracy(head, test_feats, test_y)
                path = os.path.join(out_dir, task, f"k{k}-s{seed}.onnx")
                model = whole_model(backbone, head, k, classes)
                common.export_onnx(model, path)
                assert_front_identical(path, k, backbone_init)
                whole_acc = common.accuracy(model, test_x, test_y)
                if abs(whole_acc - acc) > 0.002:  # the exported network is the front + head just trained
                    raise AssertionError(f"{path}: whole model {whole_acc} vs front + head {acc}")
                run = {"seed": seed, "float": acc, "seconds": round(time.time() - t0, 1), "model": os.path.relpath(path, common.ROOT)}
                runs.append(run)
                pending.append((task, k, run, pool.submit(eval_int8, path, task, count)))
                log(f"{task} K={k} seed {seed}: float {acc * 100:.2f}% ({time.time() - t0:.0f} s)")
            del feats, test_feats
    for task, k, run, future in pending:
        run.update(future.result())
        log(f"{task} K={k} seed {run['seed']}: int8 {run['int8'] * 100:.2f}% (ORT float {run['ortFloat'] * 100:.2f}%)")
    results["fixedPart"] = {str(k): costs[k].result() for k in ks}
    results["seconds"] = round(time.time() - started)
    summarize(results)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    table = render(results)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(table)
    print(table)
    if mode == "full":
        write_doc(table)
        shutil.copy(os.path.join(out_dir, "results.json"), os.path.join(common.EXAMPLE_DIR, "results.json"))
        chosen = results["chosenK"]
        if chosen is not None:
            heads = os.path.join(common.EXAMPLE_DIR, "heads")
            shutil.rmtree(heads, ignore_errors=True)
            os.makedirs(heads)
            for task in targets:
                shutil.copy(os.path.join(out_dir, task, f"k{chosen}-s{seeds[0]}.onnx"), os.path.join(heads, f"{task}-k{chosen}.onnx"))
    log(f"done in {results['seconds']} s")


def summarize(results):
    """Per target and K: int8 head vs float baseline over the seeds; the chosen K."""
    ok_ks = []
    for k in results["ks"]:
        all_ok = True
        for task, entry in results["targets"].items():
            base = {b["seed"]: b["float"] for b in entry["baseline"]}
            runs = entry["heads"][str(k)]
            losses = [base[r["seed"]] - r["int8"] for r in runs]
            entry.setdefault("summary", {})[str(k)] = {
                "int8": stats([r["int8"] for r in runs]), "headFloat": stats([r["float"] for r in runs]),
                "baseline": stats(list(base.values())), "loss": stats(losses)}
            all_ok = all_ok and statistics.fmean(losses) * 100 < 1.0
        if all_ok:
            ok_ks.append(k)
    results["chosenK"] = max(ok_ks) if ok_ks else None


def render(results):
    ks, tasks = results["ks"], list(results["targets"])
    fmt = lambda s: f"{s['mean']:.2f} ± {s['std']:.2f}"  # noqa: E731
    lines = [f"Mode `{results['mode']}`: seeds {results['seeds']}, {results['epochs']} epochs, test images: "
             f"{results['testCount']}; {results['seconds']} s on this machine. Cells: int8 accuracy of the frozen-front "
             "head (fixynn's integer model) / loss = float fine-tuned baseline minus that, in points, mean ± sample "
             "std over the seeds (the loss per seed pairs head and baseline of the same seed).", ""]
    header = "| K | fixed layers' adders | " + " | ".join(tasks) + " | every target < 1 point |"
    lines += [header, "|" + " --- |" * (3 + len(tasks))]
    base_row = "| baseline (float, fine-tuned) | | " + " | ".join(
        fmt(stats([b["float"] for b in results["targets"][t]["baseline"]])) for t in tasks) + " | |"
    lines.append(base_row)
    for k in ks:
        cells = []
        ok = True
        for t in tasks:
            s = results["targets"][t]["summary"][str(k)]
            cells.append(f"{fmt(s['int8'])} / {s['loss']['mean']:+.2f} ± {s['loss']['std']:.2f}")
            ok = ok and s["loss"]["mean"] < 1.0
        mark = "yes" + (" (**chosen K**)" if k == results["chosenK"] else "") if ok else "no"
        lines.append(f"| {k} | {results['fixedPart'][str(k)]['adders']:,} | " + " | ".join(cells) + f" | {mark} |")
    lines += ["", "Float accuracy of the same heads (torch), for the quantization's share of the loss:", "",
              "| K | " + " | ".join(tasks) + " |", "|" + " --- |" * (1 + len(tasks))]
    for k in ks:
        lines.append(f"| {k} | " + " | ".join(fmt(results["targets"][t]["summary"][str(k)]["headFloat"]) for t in tasks) + " |")
    chosen = results["chosenK"]
    lines += ["", f"**Chosen K = {chosen}**" if chosen is not None else "**No K tried keeps every target under 1 point.**", ""]
    return "\n".join(lines)


def write_doc(table):
    with open(DOC) as f:
        text = f.read()
    if MARK_START not in text or MARK_END not in text:
        raise SystemExit(f"{DOC}: the table markers are missing")
    before, rest = text.split(MARK_START, 1)
    _, after = rest.split(MARK_END, 1)
    with open(DOC, "w") as f:
        f.write(before + MARK_START + "\n" + table + "\n" + MARK_END + after)


if __name__ == "__main__":
    main()
