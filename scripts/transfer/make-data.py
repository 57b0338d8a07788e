#!/usr/bin/python3
"""Build the source and target data sets of the transfer experiment (issue 15), all 28x28 grayscale uint8,
white on black like MNIST, from npm / Debian packages only (no download):

    /usr/bin/python3 scripts/transfer/make-data.py [--only TASK ...]

  symbols     (source) 60 glyphs: Greek letters without Latin look-alikes, math, currency, punctuation
              and card/music signs, rendered from every installed font that has them (fonts-dejavu,
              fonts-freefont-ttf, fonts-urw-base35, fonts-gfs-*, ...), augmented. No digit, no Latin
              letter, no geometric shape and no photo: it shares no class with any target.
  mnist       npm `mnist`: the first 200 digits of each class train (a small-data transfer setting),
              the last 100 test (the example's split).
  letters     A-Z rendered from Latin fonts (the notMNIST idea); train and test fonts are disjoint font
              families (every fourth family, sorted by name, is a test family), augmented.
  uci-digits  scikit-learn's copy of the UCI optical digits (8x8, 0..16): resized to 20x20 in a 28x28
              frame; 1,000 test digits, the other 797 train with two augmented copies each.
  shapes      10 procedurally drawn shapes (circle, ring, triangle, square, pentagon, hexagon, star,
              cross, arrow, crescent), random size, rotation, fill or outline, position, clutter, noise.
  photos      the hard case: 10 classes = which of 10 scikit-image photos/textures a random crop
              (scaled, flipped) comes from; train crops from the top 70% of each photo, test crops from
              the bottom 30%.

Writes examples/transfer/data/TASK/test-{x,y}.npy (committed, small) and the training sets under
verify/.cache/transfer/data/ (not committed). Test sets are ordered round-robin over the classes, so
every prefix is balanced. Everything is seeded: a rerun writes identical files (with the same fonts).
"""
import argparse
import json
import os
import sys

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import CACHE_DIR, DATA_DIR, ROOT  # noqa: E402

SIZE = 28
BOX = 20  # the glyph's longer side, as in MNIST (20x20 box in a 28x28 frame)

SYMBOLS = list("αβγδεζηθλμξπσςτφψωΓΔΘΛΞΠΣΦΨΩ@#$%&?!§¶©®±÷∞√∑∫≈≠≤≥∂∇∈∩∪⊂€£¥¢‰†‡♠♣♥♪♫{}[]<>=*~^")
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
SHAPES = ["circle", "ring", "triangle", "square", "pentagon", "hexagon", "star", "cross", "arrow", "crescent"]
PHOTOS = ["brick", "grass", "gravel", "rocket", "coins", "camera", "astronaut", "coffee",
          "immunohistochemistry", "hubble_deep_field"]


def round_robin(x, y, classes):
    """Reorder so labels run 0, 1, ..., classes-1, 0, 1, ... (each class in its own original order)."""
    per_class = [np.flatnonzero(y == c) for c in range(classes)]
    order = []
    for i in range(max(len(p) for p in per_class)):
        order.extend(int(p[i]) for p in per_class if i < len(p))
    order = np.asarray(order)
    return x[order], y[order]


def save(task, split, x, y, classes):
    assert x.dtype == np.uint8 and x.shape[1:] == (1, SIZE, SIZE), x.shape
    y = y.astype(np.int64)
    if split == "test":
        x, y = round_robin(x, y, classes)
    committed = split == "test" and task != "symbols"
    folder = os.path.join(DATA_DIR if committed else os.path.join(CACHE_DIR, "data"), task)
    os.makedirs(folder, exist_ok=True)
    np.save(os.path.join(folder, f"{split}-x.npy"), x)
    np.save(os.path.join(folder, f"{split}-y.npy"), y)
    counts = np.bincount(y, minlength=classes)
    print(f"{task} {split}: {len(y)} images, {classes} classes ({counts.min()}..{counts.max()} per class) -> {folder}")


def frame(image, rng, shift=2):
    """A float [0,1] glyph image (any size) -> uint8 28x28: longer side scaled to BOX (times a random factor),
    centered by its bounding box, shifted by up to `shift` pixels."""
    a = np.asarray(image, dtype=np.float32)
    rows, cols = np.flatnonzero(a.max(1) > 0.05), np.flatnonzero(a.max(0) > 0.05)
    if len(rows) == 0:
        return None
    a = a[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = a.shape
    scale = BOX * rng.uniform(0.75, 1.0) / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    small = np.asarray(Image.fromarray((a * 255).astype(np.uint8)).resize((nw, nh), Image.LANCZOS))
    out = np.zeros((SIZE, SIZE), np.uint8)
    top = (SIZE - nh) // 2 + int(rng.integers(-shift, shift + 1))
    left = (SIZE - nw) // 2 + int(rng.integers(-shift, shift + 1))
    top, left = min(max(top, 0), SIZE - nh), min(max(left, 0), SIZE - nw)
    out[top:top + nh, left:left + nw] = small
    return out


def font_files():
    """Every installed TrueType/OpenType font: (family, path, cmap)."""
    import subprocess

    from fontTools.ttLib import TTFont
    listing = subprocess.run(["fc-list", "--format", "%{file}\n"], capture_output=True, text=True, check=True).stdout
    fonts = []
    for path in sorted(set(listing.split())):
        # LyX's TeX fonts and URW's D050000L map ASCII code points to other symbols (msbm10's "K" is a
        # blackboard letter), Biolinum Keyboard draws key caps, icon fonts have no letters: their cmaps
        # would mislabel renderings. fonts-liberation (1.x, in truetype/liberation/; chromium-common depends on it)
        # repeats fonts-liberation2's families with older outlines: with it installed the letters test set
        # and calib.npy were no longer the committed ones (measured), so only liberation2 is used.
        if not path.endswith((".ttf", ".otf")) or any(bad in path for bad in ("/lyx/", "awesome", "D050000L", "LinBiolinum_K",
                                                                          "/truetype/liberation/")):
            continue
        try:
            font = TTFont(path, lazy=True)
            cmap = font.getBestCmap() or {}
            family = str(font["name"].getDebugName(1) or os.path.basename(path))
        except Exception:  # a font fontTools cannot read is simply not used
            continue
        fonts.append((family, path, set(cmap)))
    return fonts


def render_glyph(path, ch, rng):
    """One augmented rendering of `ch` in the font at `path` (white on black, float [0,1]), or None."""
    font = ImageFont.truetype(path, 48)
    canvas = Image.new("L", (112, 112), 0)
    ImageDraw.Draw(canvas).text((56, 56), ch, fill=255, font=font, anchor="mm")
    if canvas.getbbox() is None:
        return None
    # Augmentation: rotation, shear-free aspect change, stroke weight (dilate / erode), blur.
    canvas = canvas.rotate(float(rng.uniform(-12, 12)), resample=Image.BILINEAR)
    w = int(112 * rng.uniform(0.8, 1.2))
    canvas = canvas.resize((w, 112), Image.BILINEAR)
    stroke = rng.integers(0, 4)
    if stroke == 1:
        canvas = canvas.filter(ImageFilter.MaxFilter(3))
    elif stroke == 2:
        canvas = canvas.filter(ImageFilter.MinFilter(3))
    return np.asarray(canvas, dtype=np.float32) / 255.0


def glyph_set(chars, fonts, per_class_train, per_class_test, seed, test_every=4):
    """Renderings of each char: train from train families, test from test families (disjoint)."""
    families = sorted({f for f, _, _ in fonts})
    test_families = set(families[::test_every])
    rng = np.random.default_rng(seed)
    out = {"train": ([], []), "test": ([], [])}
    for label, ch in enumerate(chars):
        for split, count in (("train", per_class_train), ("test", per_class_test)):
            usable = [p for f, p, cmap in fonts if ord(ch) in cmap and (f in test_families) == (split == "test")]
            if not usable:
                raise SystemExit(f"no {split} font has {ch!r} (U+{ord(ch):04X}); install the fonts in scripts/setup-tools.sh")
            made = 0
            while made < count:
                glyph = render_glyph(usable[int(rng.integers(len(usable)))], ch, rng)
                image = None if glyph is None else frame(glyph, rng)
                if image is None:
                    continue
                out[split][0].append(image)
                out[split][1].append(label)
                made += 1
    return {s: (np.stack(x)[:, None], np.asarray(y)) for s, (x, y) in out.items()}


def make_symbols(fonts):
    sets = glyph_set(SYMBOLS, fonts, 400, 50, seed=11)
    for split, (x, y) in sets.items():
        save("symbols", split, x, y, len(SYMBOLS))


def make_letters(fonts):
    latin = [f for f in fonts if all(ord(c) in f[2] for c in LETTERS)]
    sets = glyph_set(LETTERS, latin, 100, 39, seed=12)
    for split, (x, y) in sets.items():
        save("letters", split, x, y, len(LETTERS))


def make_mnist():
    xs, ys = {"train": [], "test": []}, {"train": [], "test": []}
    for digit in range(10):
        with open(os.path.join(ROOT, "node_modules/mnist/src/digits", f"{digit}.json")) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float64)
        images = np.round(flat.reshape(-1, 1, SIZE, SIZE) * 255).astype(np.uint8)
        xs["train"].append(images[:200])
        ys["train"].append(np.full(200, digit))
        xs["test"].append(images[-100:])
        ys["test"].append(np.full(100, digit))
    for split in ("train", "test"):
        save("mnist", split, np.concatenate(xs[split]), np.concatenate(ys[split]), 10)


def make_uci_digits():
    from sklearn.datasets import load_digits
    digits = load_digits()
    order = np.random.default_rng(13).permutation(len(digits.target))
    test_idx, train_idx = order[:1000], order[1000:]
    rng = np.random.default_rng(14)

    def place(image8, augment):
        big = Image.fromarray((image8 * (255 / 16)).astype(np.uint8)).resize((BOX, BOX), Image.BILINEAR)
        if augment:
            big = big.rotate(float(rng.uniform(-10, 10)), resample=Image.BILINEAR)
        out = np.zeros((SIZE, SIZE), np.uint8)
        shift = 2 if augment else 0
        top, left = 4 + int(rng.integers(-shift, shift + 1)), 4 + int(rng.integers(-shift, shift + 1))
        out[top:top + BOX, left:left + BOX] = np.asarray(big)
        return out

    test_x = np.stack([place(digits.images[i], False) for i in test_idx])[:, None]
    train = [(place(digits.images[i], copy > 0), digits.target[i]) for i in train_idx for copy in range(3)]
    save("uci-digits", "train", np.stack([t[0] for t in train])[:, None], np.asarray([t[1] for t in train]), 10)
    save("uci-digits", "test", test_x, digits.target[test_idx], 10)


def polygon(n, radius, rotation, center, star=False):
    points = []
    for i in range(n * (2 if star else 1)):
        r = radius * (0.45 if star and i % 2 else 1.0)
        angle = rotation + 2 * np.pi * i / (n * (2 if star else 1))
        points.append((center[0] + r * np.cos(angle), center[1] + r * np.sin(angle)))
    return points


def draw_shape(kind, rng):
    s = 112  # drawn at 4x, reduced with antialiasing
    image = Image.new("L", (s, s), 0)
    d = ImageDraw.Draw(image)
    r = rng.uniform(0.2, 0.42) * s
    c = (s / 2 + rng.uniform(-0.12, 0.12) * s, s / 2 + rng.uniform(-0.12, 0.12) * s)
    rot = rng.uniform(0, 2 * np.pi)
    filled = rng.random() < 0.5
    width = int(rng.integers(4, 11))
    value = int(rng.integers(150, 256))
    fill, outline = (value, None) if filled else (None, value)

    def poly(points):
        if filled:
            d.polygon(points, fill=value)
        else:
            d.line(points + [points[0]], fill=value, width=width, joint="curve")

    if kind == "circle":
        d.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=fill, outline=outline, width=width)
    elif kind == "ring":
        d.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], outline=value, width=int(max(width, r * 0.35)))
    elif kind in ("triangle", "square", "pentagon", "hexagon"):
        poly(polygon({"triangle": 3, "square": 4, "pentagon": 5, "hexagon": 6}[kind], r, rot, c))
    elif kind == "star":
        poly(polygon(5, r, rot, c, star=True))
    elif kind in ("cross", "arrow"):
        t = r * rng.uniform(0.25, 0.4)
        if kind == "cross":
            base = [(-t, -r), (t, -r), (t, -t), (r, -t), (r, t), (t, t), (t, r), (-t, r), (-t, t), (-r, t), (-r, -t), (-t, -t)]
        else:
            base = [(-r, -t), (0.1 * r, -t), (0.1 * r, -2.2 * t), (r, 0), (0.1 * r, 2.2 * t), (0.1 * r, t), (-r, t)]
        cos, sin = np.cos(rot), np.sin(rot)
        poly([(c[0] + x * cos - y * sin, c[1] + x * sin + y * cos) for x, y in base])
    elif kind == "crescent":
        d.ellipse([c[0] - r, c[1] - r, c[0] + r, c[1] + r], fill=value)
        off = r * rng.uniform(0.35, 0.6)
        cx, cy = c[0] + off * np.cos(rot), c[1] + off * np.sin(rot)
        d.ellipse([cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9], fill=0)
    # Clutter: a few random lines, then noise; the shape's size varies, so it is not re-framed.
    for _ in range(int(rng.integers(0, 3))):
        p = rng.uniform(0, s, 4)
        d.line(list(p), fill=int(rng.integers(60, 200)), width=int(rng.integers(2, 6)))
    small = np.asarray(image.resize((SIZE, SIZE), Image.LANCZOS), dtype=np.float32)
    small += rng.normal(0, 18, small.shape)
    return np.clip(np.round(small), 0, 255).astype(np.uint8)


def make_shapes():
    for split, per_class, seed in (("train", 200, 15), ("test", 100, 16)):
        rng = np.random.default_rng(seed)
        x = np.stack([draw_shape(kind, rng) for kind in SHAPES for _ in range(per_class)])[:, None]
        y = np.repeat(np.arange(len(SHAPES)), per_class)
        save("shapes", split, x, y, len(SHAPES))


def make_photos():
    import skimage.data
    from skimage.color import rgb2gray
    from skimage.transform import resize
    for split, per_class, seed in (("train", 200, 17), ("test", 100, 18)):
        rng = np.random.default_rng(seed)
        xs, ys = [], []
        for label, name in enumerate(PHOTOS):
            photo = getattr(skimage.data, name)()
            gray = rgb2gray(photo) if photo.ndim == 3 else photo / 255.0
            h, w = gray.shape
            cut = int(h * 0.7)
            rows = (0, cut) if split == "train" else (cut, h)
            for _ in range(per_class):
                side = int(min(rows[1] - rows[0], w) * rng.uniform(0.3, 1.0))
                top = int(rng.integers(rows[0], rows[1] - side + 1))
                left = int(rng.integers(0, w - side + 1))
                crop = gray[top:top + side, left:left + side]
                if rng.random() < 0.5:
                    crop = crop[:, ::-1]
                small = resize(crop, (SIZE, SIZE), anti_aliasing=True)
                xs.append(np.clip(np.round(small * 255), 0, 255).astype(np.uint8))
                ys.append(label)
        save("photos", split, np.stack(xs)[:, None], np.asarray(ys), len(PHOTOS))


def import_folder(task, folder, test_fraction, seed=19):
    """A user's data set: FOLDER/<class>/*.png|jpg (classes sorted by name; all-numeric names are the labels,
    as in fixynn's loadInputs), turned into the same 28x28 grayscale uint8 form (ITU-R BT.601 luma, the
    shorter side scaled to 28 and centered) and split per class: the last `test_fraction` of each class's
    files (sorted by name) test. Pixels should be bright-on-dark like the backbone's source glyphs."""
    classes = sorted(d for d in os.listdir(folder) if os.path.isdir(os.path.join(folder, d)))
    if not classes:
        raise SystemExit(f"{folder}: no class subfolders")
    numeric = all(c.isdigit() for c in classes)
    parts = {"train": ([], []), "test": ([], [])}
    for index, name in enumerate(classes):
        label = int(name) if numeric else index
        files = sorted(f for f in os.listdir(os.path.join(folder, name)) if f.lower().endswith((".png", ".jpg", ".jpeg")))
        cut = len(files) - max(1, round(len(files) * test_fraction))
        for i, file in enumerate(files):
            image = Image.open(os.path.join(folder, name, file)).convert("L")
            scale = SIZE / min(image.size)
            image = image.resize((max(SIZE, round(image.size[0] * scale)), max(SIZE, round(image.size[1] * scale))), Image.BILINEAR)
            left, top = (image.size[0] - SIZE) // 2, (image.size[1] - SIZE) // 2
            split = "train" if i < cut else "test"
            parts[split][0].append(np.asarray(image.crop((left, top, left + SIZE, top + SIZE)), dtype=np.uint8))
            parts[split][1].append(label)
    count = max(max(y) for _, y in parts.values() if y) + 1
    for split, (x, y) in parts.items():
        save(task, split, np.stack(x)[:, None], np.asarray(y), count)


def make_calib():
    """The chip's calibration set (examples/transfer/calib.npy, committed): 32 training images, evenly
    spread, of the source and of every target. fixynn calibrates the backbone's fixed part and every head
    on it, so all heads share the chip front's scales."""
    parts = []
    for task in ["symbols", "mnist", "letters", "uci-digits", "shapes", "photos"]:
        path = os.path.join(CACHE_DIR, "data", task, "train-x.npy")
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: build every task before the calibration set")
        x = np.load(path)
        parts.append(x[np.linspace(0, len(x) - 1, 32).round().astype(int)])
    np.save(os.path.join(os.path.dirname(DATA_DIR), "calib.npy"), np.concatenate(parts))
    print(f"calib: {32 * len(parts)} images -> examples/transfer/calib.npy")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="*", default=None, help="build only these tasks")
    parser.add_argument("--import-folder", nargs=2, metavar=("TASK", "DIR"),
                        help="instead: turn DIR/<class>/*.png|jpg into the task TASK (train and test sets)")
    parser.add_argument("--test-fraction", type=float, default=0.3, help="with --import-folder (default 0.3)")
    args = parser.parse_args()
    if args.import_folder:
        import_folder(args.import_folder[0], args.import_folder[1], args.test_fraction)
        return
    tasks = args.only or ["symbols", "mnist", "letters", "uci-digits", "shapes", "photos"]
    fonts = font_files() if {"symbols", "letters"} & set(tasks) else []
    if fonts:
        print(f"{len(fonts)} fonts, {len({f for f, _, _ in fonts})} families")
    makers = {"symbols": lambda: make_symbols(fonts), "mnist": make_mnist, "letters": lambda: make_letters(fonts),
              "uci-digits": make_uci_digits, "shapes": make_shapes, "photos": make_photos}
    for task in tasks:
        makers[task]()
    make_calib()


if __name__ == "__main__":
    main()
