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

--qat: every head is then also fine-tuned quantization-aware (scripts/transfer/qat.py: the chip's front from
that design's manifest.json, exact; the head's weights and activations rounded as fixynn will round them),
exported, and its int8 accuracy measured by `fixynn eval` as above (a second table).

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
import qat  # noqa: E402

BACKBONE = os.path.join(common.EXAMPLE_DIR, "backbone.onnx")
CALIB = os.path.join(common.EXAMPLE_DIR, "calib.npy")
DOC = os.path.join(common.ROOT, "docs", "transfer.md")
FIXYNN = [os.environ.get("NODE", "node"), os.path.join(common.ROOT, "bin", "fixynn.js")]
# qat.py reproduces fixynn's 'mse' range rule (the default when the heads were tuned): every fixynn run here pins it.
CALIB_METHOD = ["--calib-method", "mse"]
MARK_START, MARK_END = "<!-- table:start (written by scripts/transfer/run-table.py) -->", "<!-- table:end -->"
LR = 0.005
QAT_LR = 0.001  # fine-tuning a trained head: a fifth of the training's peak rate
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
    report = run_fixynn(["eval", model_path, "--data", test_x, "--labels", test_y, "--calib", CALIB, *CALIB_METHOD, "--json", *extra])
    return {"int8": report["integerAccuracy"], "ortFloat": report["floatAccuracy"], "images": report["images"]}


def fixed_part_cost(k, out_dir):
    """The fixed part's cost for K, from the design fixynn generates (reused while the backbone and the
    calibration set are the ones it was generated from)."""
    design = os.path.join(out_dir, f"chip-k{k}")
    manifest_path = os.path.join(design, "manifest.json")
    stamp = os.path.join(design, "calib.sha256")
    fresh = False
    if os.path.exists(manifest_path) and os.path.exists(stamp):
        with open(manifest_path) as f, open(stamp) as g:
            fresh = json.load(f)["source"]["sha256"] == sha256(BACKBONE) and g.read().strip() == sha256(CALIB)
    if not fresh:
        run_fixynn(["generate", BACKBONE, "--fixed-layers", str(k), "--out", design, "--calib", CALIB, *CALIB_METHOD, "--json"])
        with open(stamp, "w") as f:
            f.write(sha256(CALIB) + "\n")
    with open(manifest_path) as f:
        manifest = json.load(f)
    ffe = next(p for p in manifest["parts"] if p["kind"] == "ffe")  # the fixed part's own cost
    return {"adders": ffe["cost"]["adders"], "nonzeroWeights": ffe["cost"]["nonzeroWeights"]}


def stats(values):
    values = [v * 100 for v in values]
    mean = statistics.fmean(values)
    spread = statistics.stdev(values) if len(values) > 1 else 0.0
    # + 0.0: a mean that rounds to zero from below prints as 0.00, not -0.00
    return {"mean": round(mean, 2) + 0.0, "std": round(spread, 2), "min": round(min(values), 2) + 0.0, "max": round(max(values), 2) + 0.0}


def sha256(path):
    import hashlib
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


class Records:
    """One JSON record per finished run (baseline or head), beside its model: a rerun skips what is done,
    and several processes (--targets split, --no-table) can share the work; --table-only assembles."""

    def __init__(self, out_dir, key):
        self.out_dir, self.key = out_dir, key

    def path(self, task, name):
        return os.path.join(self.out_dir, task, f"{name}.json")

    def get(self, task, name):
        try:
            with open(self.path(task, name)) as f:
                record = json.load(f)
        except FileNotFoundError:
            return None
        return record if record.get("key") == self.key else None

    def put(self, task, name, record):
        os.makedirs(os.path.join(self.out_dir, task), exist_ok=True)
        tmp = self.path(task, name) + ".tmp"
        with open(tmp, "w") as f:
            json.dump({**record, "key": self.key}, f, indent=2)
        os.replace(tmp, self.path(task, name))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="2 targets, K 5 and 9, 1 seed, 3 epochs, 300 test images")
    parser.add_argument("--targets", nargs="*")
    parser.add_argument("--ks", nargs="*", type=int)
    parser.add_argument("--seeds", nargs="*", type=int)
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--count", type=int, help="test images per evaluation (default all)")
    parser.add_argument("--qat", action="store_true", help="also fine-tune every head quantization-aware (qat.py)")
    parser.add_argument("--qat-epochs", type=int, help="epochs of --qat (default: as --epochs)")
    parser.add_argument("--no-table", action="store_true", help="only train and evaluate (a share of the work)")
    parser.add_argument("--table-only", action="store_true", help="only assemble the table from finished runs")
    parser.add_argument("--allow-missing", action="store_true",
                        help="assemble the table from the runs done so far; it lists the missing ones")
    args = parser.parse_args()
    mode = "quick" if args.quick else "full"
    targets = args.targets or (["mnist", "shapes"] if args.quick else common.TARGETS)
    ks = args.ks or ([5, 9] if args.quick else list(range(1, LAST_CONV + 1)))
    seeds = args.seeds or ([1] if args.quick else [1, 2, 3])
    epochs = args.epochs or (3 if args.quick else 8)
    count = args.count if args.count is not None else (300 if args.quick else 0)
    qat_epochs = (args.qat_epochs or epochs) if args.qat else None
    bad = [k for k in ks if not 1 <= k <= LAST_CONV]
    if bad:
        raise SystemExit(f"--ks {bad}: K must be 1..{LAST_CONV} (the network's convolution layers)")
    out_dir = os.path.join(common.CACHE_DIR, "runs", mode)
    os.makedirs(out_dir, exist_ok=True)
    # A record counts only for the same backbone, calibration set, recipe and test count.
    records = Records(out_dir, f"{sha256(BACKBONE)[:16]}-{sha256(CALIB)[:16]}-e{epochs}-lr{LR}-n{count}")

    started = time.time()
    log = lambda line: print(f"[{time.time() - started:6.0f} s] {line}", flush=True)  # noqa: E731
    if not args.table_only:
        train_all(targets, ks, seeds, epochs, count, out_dir, records, log)
        if qat_epochs:
            qat_all(targets, ks, seeds, qat_epochs, count, out_dir, records, log)
    if args.no_table:
        log("done (no table)")
        return

    results = {"mode": mode, "targets": {}, "ks": ks, "seeds": seeds, "epochs": epochs, "lr": LR,
               "testCount": count or "all", "backbone": os.path.relpath(BACKBONE, common.ROOT), "missing": [],
               "qat": {"epochs": qat_epochs, "lr": QAT_LR} if qat_epochs else None}
    for task in targets:
        entry = {"baseline": [], "heads": {}}
        for seed in seeds:
            record = records.get(task, f"baseline-s{seed}")
            (entry["baseline"].append(record) if record else results["missing"].append(f"{task} baseline seed {seed}"))
        for k in ks:
            runs = entry["heads"].setdefault(str(k), [])
            for seed in seeds:
                record = records.get(task, f"k{k}-s{seed}")
                (runs.append(record) if record else results["missing"].append(f"{task} K={k} seed {seed}"))
            if qat_epochs:
                qat_runs = entry.setdefault("qat", {}).setdefault(str(k), [])
                for seed in seeds:
                    record = records.get(task, qat_name(k, seed, qat_epochs))
                    (qat_runs.append(record) if record else results["missing"].append(f"{task} K={k} seed {seed} QAT"))
        results["targets"][task] = entry
    if results["missing"] and not args.allow_missing:
        raise SystemExit(f"{len(results['missing'])} runs are not done yet, e.g. {results['missing'][0]}; run without --table-only")
    results["fixedPart"] = {str(k): fixed_part_cost(k, out_dir) for k in ks}
    results["computeSeconds"] = round(sum(r["seconds"] + r.get("evalSeconds", 0) for t in results["targets"].values()
                                          for r in t["baseline"] + [x for group in ("heads", "qat")
                                                                    for runs in t.get(group, {}).values() for x in runs]))
    summarize(results)
    with open(os.path.join(out_dir, "results.json"), "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    table = render(results)
    with open(os.path.join(out_dir, "table.md"), "w") as f:
        f.write(table)
    print(table)
    if mode == "full" and targets == common.TARGETS:
        write_doc(table)
        shutil.copy(os.path.join(out_dir, "results.json"), os.path.join(common.EXAMPLE_DIR, "results.json"))
        # The heads for the chip: at the chosen K, or (none chosen) at the smallest K tried; seed 1's.
        k = results["chosenK"] if results["chosenK"] is not None else min(ks)
        # Per task the post-training head, or the quantization-aware one where the table uses it.
        names = {t: qat_name(k, seeds[0], qat_epochs) if results["targets"][t]["use"][str(k)] == "qat" else f"k{k}-s{seeds[0]}"
                 for t in targets}
        if all(records.get(t, names[t]) for t in targets):
            heads = os.path.join(common.EXAMPLE_DIR, "heads")
            shutil.rmtree(heads, ignore_errors=True)
            os.makedirs(heads)
            for task in targets:
                shutil.copy(os.path.join(out_dir, task, f"{names[task]}.onnx"), os.path.join(heads, f"{task}-k{k}.onnx"))
            log(f"heads at K={k} ({', '.join(f'{t}: {n}' for t, n in names.items())}) -> {os.path.relpath(heads, common.ROOT)}")
    log("done")


def train_all(targets, ks, seeds, epochs, count, out_dir, records, log):
    """Train (and evaluate in int8) every run that has no record yet."""
    tm = common.load_train_mnist()
    normalize = lambda x: (x - tm.MEAN) / tm.STD  # noqa: E731  (the network's own first step)
    common.seed_everything(0)
    backbone = load_backbone()
    backbone_init = onnx_state(BACKBONE)
    # fixynn runs (node) overlap torch's training: one at a time beside it, both at nice 19.
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    pending = []

    def evaluate_and_record(task, name, run, path):
        t0 = time.time()
        run.update(eval_int8(path, task, count))
        run["evalSeconds"] = round(time.time() - t0, 1)
        records.put(task, name, run)
        log(f"{task} {name}: int8 {run['int8'] * 100:.2f}% (ORT float {run['ortFloat'] * 100:.2f}%)")

    for task in targets:
        train_x, train_y, test_x, test_y = common.load_task(task)
        classes = int(train_y.max()) + 1
        if count:
            test_x, test_y = test_x[:count], test_y[:count]
        train_x, test_x = common.to_float(train_x), common.to_float(test_x)
        train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
        facts = {"classes": classes, "train": len(train_x), "test": len(test_x)}
        for seed in seeds:
            if records.get(task, f"baseline-s{seed}"):
                continue
            t0 = time.time()
            common.seed_everything(seed)
            model = copy.deepcopy(backbone)
            model.classifier = nn.Linear(model.classifier.in_features, classes)
            common.fit(model, train_x, train_y, epochs, seed, LR)
            acc = common.accuracy(model, test_x, test_y)
            common.export_onnx(model, os.path.join(out_dir, task, f"baseline-s{seed}.onnx"))
            records.put(task, f"baseline-s{seed}", {**facts, "seed": seed, "float": acc, "seconds": round(time.time() - t0, 1)})
            log(f"{task} baseline seed {seed}: float {acc * 100:.2f}% ({time.time() - t0:.0f} s)")
        for k in ks:
            todo = [seed for seed in seeds if not records.get(task, f"k{k}-s{seed}")]
            if not todo:
                continue
            front = backbone.features[:k]
            with torch.no_grad():  # the frozen front's features, once per data set and K
                feats = torch.cat([front(normalize(train_x[i:i + 500])) for i in range(0, len(train_x), 500)])
                test_feats = torch.cat([front(normalize(test_x[i:i + 500])) for i in range(0, len(test_x), 500)])
            for seed in todo:
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
                run = {**facts, "seed": seed, "float": acc, "seconds": round(time.time() - t0, 1),
                       "model": os.path.relpath(path, common.ROOT)}
                pending.append(pool.submit(evaluate_and_record, task, f"k{k}-s{seed}", run, path))
                log(f"{task} K={k} seed {seed}: float {acc * 100:.2f}% ({time.time() - t0:.0f} s)")
            del feats, test_feats
    for future in pending:
        future.result()


def qat_name(k, seed, epochs):
    return f"k{k}-s{seed}-qat-e{epochs}"


def load_head(path, backbone, k, classes):
    """A head (layers K.. and the classifier) from an exported whole model, by initializer name."""
    init = onnx_state(path)
    head = Head(backbone, k, classes)
    state = head.state_dict()
    for name in state:
        if name.endswith("num_batches_tracked"):
            continue
        # `rest` is backbone.features[k:], whose slice keeps the backbone's layer numbers: rest.3.0 = features.3.0
        source = "features." + name[len("rest."):] if name.startswith("rest.") else name
        if source not in init:
            raise SystemExit(f"{path}: no initializer {source}")
        state[name] = torch.from_numpy(init[source].copy())
    head.load_state_dict(state)
    return head


def qat_all(targets, ks, seeds, epochs, count, out_dir, records, log):
    """Quantization-aware fine-tuning of every finished head that has no QAT record yet (qat.py). The
    chip's and the float front's features are computed once per data set and K (as train_all's); fixynn's
    int8 evaluation of a head overlaps the next head's fine-tuning, as in train_all."""
    tm = common.load_train_mnist()
    normalize = lambda x: (x - tm.MEAN) / tm.STD  # noqa: E731
    common.seed_everything(0)
    backbone = load_backbone()
    backbone_init = onnx_state(BACKBONE)
    import numpy as np
    calib = common.to_float(np.load(CALIB))
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    pending = []

    def evaluate_and_record(task, name, run, path, k, seed, fake_quant_acc):
        t1 = time.time()
        run.update(eval_int8(path, task, count))
        run["evalSeconds"] = round(time.time() - t1, 1)
        records.put(task, name, run)
        log(f"{task} K={k} seed {seed} QAT: int8 {run['int8'] * 100:.2f}% (fake-quant {fake_quant_acc * 100:.2f}%, "
            f"float {run['float'] * 100:.2f}%; PTQ int8 {records.get(task, f'k{k}-s{seed}')['int8'] * 100:.2f}%)")

    for task in targets:
        todo = [(k, s) for k in ks for s in seeds if records.get(task, f"k{k}-s{s}") and not records.get(task, qat_name(k, s, epochs))]
        if not todo:
            continue
        train_x, train_y, test_x, test_y = common.load_task(task)
        classes = int(train_y.max()) + 1
        if count:
            test_x, test_y = test_x[:count], test_y[:count]
        train_x, test_x = common.to_float(train_x), common.to_float(test_x)
        train_y, test_y = torch.from_numpy(train_y), torch.from_numpy(test_y)
        for k in sorted({k for k, _ in todo}, key=ks.index):
            t0 = time.time()
            fixed_part_cost(k, out_dir)  # the chip's front (its manifest) for this K
            front = qat.ChipFront(os.path.join(out_dir, f"chip-k{k}", "manifest.json"), k)
            # The fronts' features, once per data set and K: the chip's (training and test images) and the
            # float front's (training images and the calibration set).
            chip_feats, chip_test_feats = front.features(train_x), front.features(test_x)
            with torch.no_grad():
                calib_feats = backbone.features[:k](normalize(calib))
                float_feats = torch.cat([backbone.features[:k](normalize(train_x[i:i + 500])) for i in range(0, len(train_x), 500)])
            front_seconds = time.time() - t0
            k_seeds = [s for kk, s in todo if kk == k]
            for seed in k_seeds:
                # Each run's seconds include its share of the fronts' features.
                t0 = time.time() - front_seconds / len(k_seeds)
                common.seed_everything(seed)
                head = load_head(os.path.join(out_dir, task, f"k{k}-s{seed}.onnx"), backbone, k, classes)
                model = qat.fine_tune(head, chip_feats, train_y, float_feats, calib_feats, epochs, seed, QAT_LR,
                                      log=lambda line: log(f"{task} K={k} seed {seed}: {line}"))
                fake_quant_acc = qat.accuracy(model, chip_test_feats, test_y)
                path = os.path.join(out_dir, task, f"{qat_name(k, seed, epochs)}.onnx")
                whole = whole_model(backbone, model.head, k, classes)
                common.export_onnx(whole, path)
                assert_front_identical(path, k, backbone_init)
                run = {"classes": classes, "seed": seed, "float": common.accuracy(whole, test_x, test_y),
                       "fakeQuant": fake_quant_acc, "qatEpochs": epochs, "qatLr": QAT_LR,
                       "seconds": round(time.time() - t0, 1), "model": os.path.relpath(path, common.ROOT)}
                pending.append(pool.submit(evaluate_and_record, task, qat_name(k, seed, epochs), run, path, k, seed, fake_quant_acc))
            del chip_feats, chip_test_feats, float_feats
    for future in pending:
        future.result()


def summarize(results):
    """Per target and K: int8 head vs float baseline over the seeds; the chosen K among the K whose runs
    are all done."""
    ok_ks = []
    for k in results["ks"]:
        all_ok = True
        for task, entry in results["targets"].items():
            base = {b["seed"]: b["float"] for b in entry["baseline"]}
            runs = [r for r in entry["heads"][str(k)] if r["seed"] in base]
            complete = len(runs) == len(results["seeds"])
            summary = None if not runs else {
                "seeds": len(runs), "int8": stats([r["int8"] for r in runs]), "headFloat": stats([r["float"] for r in runs]),
                "baseline": stats(list(base.values())), "loss": stats([base[r["seed"]] - r["int8"] for r in runs])}
            entry.setdefault("summary", {})[str(k)] = summary
            qat_runs = [r for r in entry.get("qat", {}).get(str(k), []) if r["seed"] in base]
            qat_summary = None if not qat_runs else {
                "seeds": len(qat_runs), "int8": stats([r["int8"] for r in qat_runs]),
                "headFloat": stats([r["float"] for r in qat_runs]),
                "loss": stats([base[r["seed"]] - r["int8"] for r in qat_runs])}
            if qat_summary:
                entry.setdefault("qatSummary", {})[str(k)] = qat_summary
            # The recipe's head: the quantization-aware one where it is done for every seed and loses less.
            use_qat = (complete and qat_summary is not None and qat_summary["seeds"] == len(results["seeds"])
                       and qat_summary["loss"]["mean"] < summary["loss"]["mean"])
            entry.setdefault("use", {})[str(k)] = "qat" if use_qat else "ptq"
            loss = (qat_summary if use_qat else summary or {"loss": {"mean": float("inf")}})["loss"]["mean"]
            all_ok = all_ok and complete and loss < 1.0
        if all_ok:
            ok_ks.append(k)
    results["okKs"] = ok_ks
    results["chosenK"] = max(ok_ks) if ok_ks else None


def render(results):
    ks, tasks, n = results["ks"], list(results["targets"]), len(results["seeds"])
    fmt = lambda s: f"{s['mean']:.2f} ± {s['std']:.2f}"  # noqa: E731
    lines = [f"Mode `{results['mode']}`: seeds {results['seeds']}, {results['epochs']} epochs, test images: "
             f"{results['testCount']}; {results['computeSeconds']:,} s of training and int8 evaluation (summed over runs) "
             "on this machine. Cells: int8 accuracy of the frozen-front head (fixynn's integer model) / loss = float "
             "accuracy of the fine-tuned baseline minus that, in points; mean ± sample std over the seeds (the loss "
             "pairs head and baseline of the same seed).", ""]
    if results["missing"]:
        lines += [f"**Partial: {len(results['missing'])} runs not done** ({missing_summary(results)}); "
                  "a cell over fewer seeds says so, a K with a missing run is not chosen.", ""]
    lines += ["| K | fixed layers' adders | " + " | ".join(tasks) + " | every target < 1 point |",
              "|" + " --- |" * (3 + len(tasks))]
    base_cells = []
    for t in tasks:
        base = results["targets"][t]["baseline"]
        base_cells.append(fmt(stats([b["float"] for b in base])) + ("" if len(base) == n else f" ({len(base)} of {n} seeds)") if base else "not run")
    lines.append("| baseline (float, fine-tuned) | | " + " | ".join(base_cells) + " | |")
    for k in ks:
        cells = []
        for t in tasks:
            s = results["targets"][t]["summary"][str(k)]
            if s is None:
                cells.append("not run")
                continue
            few = "" if s["seeds"] == n else f" ({s['seeds']} of {n} seeds)"
            cells.append(f"{fmt(s['int8'])} / {s['loss']['mean']:+.2f} ± {s['loss']['std']:.2f}{few}")
        with_qat = [t for t in tasks if results["targets"][t].get("use", {}).get(str(k)) == "qat"]
        note = f" with `--qat` for {', '.join(with_qat)}" if with_qat else ""
        mark = ("yes" + note + (" (**chosen K**)" if k == results["chosenK"] else "")) if k in results["okKs"] else "no" + note
        lines.append(f"| {k} | {results['fixedPart'][str(k)]['adders']:,} | " + " | ".join(cells) + f" | {mark} |")
    lines += ["", "Float accuracy of the same heads (torch), to separate the frozen front's share of the loss from "
              "the quantization's:", "", "| K | " + " | ".join(tasks) + " |", "|" + " --- |" * (1 + len(tasks))]
    for k in ks:
        summaries = [results["targets"][t]["summary"][str(k)] for t in tasks]
        lines.append(f"| {k} | " + " | ".join(fmt(s["headFloat"]) if s else "not run" for s in summaries) + " |")
    if results.get("qat"):
        lines += render_qat(results, tasks, n, fmt)
    chosen = results["chosenK"]
    lines += ["", f"**Chosen K = {chosen}**" if chosen is not None else "**No K tried keeps every target under 1 point.**", ""]
    return "\n".join(lines)


def missing_summary(results):
    """The runs not done, per K: 'K = 7: all', or which targets' post-training or QAT heads lack which seeds."""
    seeds, qat_on = results["seeds"], bool(results.get("qat"))
    parts = []
    for task, entry in results["targets"].items():
        have = {b["seed"] for b in entry["baseline"]}
        if len(have) < len(seeds):
            parts.append(f"{task} baseline seeds {', '.join(str(s) for s in seeds if s not in have)}")
    for k in results["ks"]:
        groups = [("heads", "post-training heads")] + ([("qat", "QAT heads")] if qat_on else [])
        gaps = {}
        for group, label in groups:
            for task, entry in results["targets"].items():
                have = {r["seed"] for r in entry.get(group, {}).get(str(k), [])}
                lack = [s for s in seeds if s not in have]
                if lack:
                    gaps.setdefault(label, []).append(task if len(lack) == len(seeds) else f"{task} (seeds {', '.join(map(str, lack))})")
        if not gaps:
            continue
        everything = all(len(v) == len(results["targets"]) and all("(" not in t for t in v) for v in gaps.values()) and len(gaps) == len(groups)
        parts.append(f"K = {k}: not run" if everything else
                     f"K = {k}: " + "; ".join(f"{label} of {', '.join(v)}" for label, v in gaps.items()))
    return "; ".join(parts)


def render_qat(results, tasks, n, fmt):
    """The heads after quantization-aware fine-tuning: int8 / loss, and the post-training int8 beside it."""
    q = results["qat"]
    lines = ["", f"After quantization-aware fine-tuning (`--qat`, {q['epochs']} epochs, peak learning rate {q['lr']}, "
             "the chip's front from its manifest): int8 accuracy (fixynn's integer model) / loss against the "
             "baseline; in brackets the same heads' post-training int8 accuracy:", "",
             "| K | " + " | ".join(tasks) + " |", "|" + " --- |" * (1 + len(tasks))]
    for k in results["ks"]:
        cells = []
        for t in tasks:
            s = results["targets"][t].get("qatSummary", {}).get(str(k))
            ptq = results["targets"][t]["summary"][str(k)]
            few = "" if s is None or s["seeds"] == n else f" ({s['seeds']} of {n} seeds)"
            before = f" (PTQ {fmt(ptq['int8'])})" if ptq else ""
            cells.append("not run" if s is None else f"{fmt(s['int8'])} / {s['loss']['mean']:+.2f} ± {s['loss']['std']:.2f}{few}{before}")
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    return lines


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
