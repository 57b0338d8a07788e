#!/usr/bin/python3
"""Deterministic 224x224 RGB crops of the real photos shipped by scikit-image and scikit-learn, as inputs
for the ImageNet MobileNetV1 0.25 (../shared/models/mobilenet_v1_0.25_224/).

    /usr/bin/python3 scripts/make-photo-crops.py OUTDIR             # Debian: python3-skimage, python3-sklearn
    /usr/bin/python3 scripts/make-photo-crops.py --heldout OUTDIR   # + mate-backgrounds, lomiri-wallpapers,
                                                                    #   plasma-workspace-wallpapers

Photos (read from the installed packages' data folders, nothing is downloaded): skimage.data astronaut,
camera (gray, replicated to RGB), chelsea, coffee, motorcycle_left, motorcycle_right, rocket,
hubble_deep_field; sklearn.datasets images china.jpg, flower.jpg.

Windows are squares of side `scale * min(height, width)` whose top-left corner is at the fractions
(fy, fx) of the free room (0 = top/left edge, 1 = bottom/right edge), rounded to whole pixels:
  TEST (7 per photo, 70):  scale 1.0 at (0.5, 0.5); 0.7 at the four corners (0,0) (0,1) (1,0) (1,1);
                           0.5 at (0.5, 0.5); 0.4 at (0.3, 0.6)
  CALIB (4 per photo, 40): scale 0.85 at (0.25, 0.25) (0.25, 0.75) (0.75, 0.25) (0.75, 0.75)
The two sets share no window.

HELDOUT (--heldout; 6 per photo, 222): 37 real photos from Debian's desktop-background packages (listed in
HELDOUT_PHOTOS: landscapes, plants, animals, objects, interiors; the abstract and drawn wallpapers of those
packages are left out), none of them a calibration photo, so a figure measured on them is held out from
every choice made on CALIB. Windows: scale 1.0 at (0.5, 0.5); 0.7 at the four corners; 0.5 at (0.5, 0.5). Each window is resized to 224x224 by skimage.transform.resize (bilinear,
order=1, with its Gaussian anti-aliasing, mode 'edge') and rounded to uint8.

Writes to OUTDIR:
  test.npy, calib.npy              float32 [N, 3, 224, 224], (pixel - 127.5) / 127.5 (MobileNet's input)
  test-uint8.npy, calib-uint8.npy  uint8 [N, 3, 224, 224], the same crops as raw pixels (for --raw-input)
  crops.json                       per crop: set, index, photo, path, scale, fy, fx, window [top, left, side]
"""
import json
import os
import sys

import numpy as np
import skimage.data
import skimage.io
import skimage.transform
import sklearn.datasets

SIZE = 224
SKIMAGE_PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "motorcycle_left.png",
                  "motorcycle_right.png", "rocket.jpg", "hubble_deep_field.jpg"]
SKLEARN_PHOTOS = ["china.jpg", "flower.jpg"]
TEST_WINDOWS = [(1.0, 0.5, 0.5), (0.7, 0, 0), (0.7, 0, 1), (0.7, 1, 0), (0.7, 1, 1), (0.5, 0.5, 0.5),
                (0.4, 0.3, 0.6)]
HELDOUT_WINDOWS = [(1.0, 0.5, 0.5), (0.7, 0, 0), (0.7, 0, 1), (0.7, 1, 0), (0.7, 1, 1), (0.5, 0.5, 0.5)]
BACKGROUNDS = "/usr/share/backgrounds"
PLASMA = "/usr/share/wallpapers"
HELDOUT_PHOTOS = (
    # lomiri-wallpapers-16.04 (one of them: lomiri-wallpapers-20.04; both come with lomiri-wallpapers)
    [f"{BACKGROUNDS}/{name}.jpg" for name in [
        "Bridge_by_Sander_Klootwijk", "Dragonfly_by_Bolly", "Kleiber_by_Lukas_Baubkus", "Picture_0B_by_freespace",
        "Picture_1A_by_freespace", "Wine_by_Jakkub_Mede", "aitzgorri_by_Aitzol_Berasategi",
        "free_by_Peter_Nerlich", "friends_by_Aitzol_Berasategi", "greentock_by_Peter_Nerlich",
        "life_by_Aitzol_Berasategi", "picosdeeuropa_by_Aitzol_Berasategi", "seeding_by_Clements_Engelhardt",
        "sunset_by_Aitzol_Berasategi"]] +
    # mate-backgrounds
    [f"{BACKGROUNDS}/mate/nature/{name}.jpg" for name in [
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops", "Storm",
        "TwoWings", "Wood", "YellowFlower"]] +
    # plasma-workspace-wallpapers (the 1280x1024 variant; ColorfulCups ships only 2560x1600)
    [f"{PLASMA}/{name}/contents/images/{size}.jpg" for name, size in [
        ("BytheWater", "1280x1024"), ("ColdRipple", "1280x1024"), ("ColorfulCups", "2560x1600"),
        ("DarkestHour", "1280x1024"), ("EveningGlow", "1280x1024"), ("FallenLeaf", "1280x1024"),
        ("Grey", "1280x1024"), ("Kite", "1280x1024"), ("OneStandsOut", "1280x1024"), ("Path", "1280x1024"),
        ("summer_1am", "1280x1024")]])
HELDOUT_PACKAGES = "mate-backgrounds lomiri-wallpapers plasma-workspace-wallpapers"
CALIB_WINDOWS = [(0.85, 0.25, 0.25), (0.85, 0.25, 0.75), (0.85, 0.75, 0.25), (0.85, 0.75, 0.75)]


def photo_paths():
    skimage_dir = os.path.dirname(skimage.data.__file__)
    sklearn_dir = os.path.join(os.path.dirname(sklearn.datasets.__file__), "images")
    return ([os.path.join(skimage_dir, name) for name in SKIMAGE_PHOTOS] +
            [os.path.join(sklearn_dir, name) for name in SKLEARN_PHOTOS])


def load_rgb(path):
    image = skimage.io.imread(path)
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return image[..., :3].astype(np.uint8)


def window(image, scale, fy, fx):
    height, width = image.shape[:2]
    side = int(round(scale * min(height, width)))
    top = int(round(fy * (height - side)))
    left = int(round(fx * (width - side)))
    return top, left, side


def crop(image, top, left, side):
    pixels = image[top:top + side, left:left + side].astype(np.float64)
    resized = skimage.transform.resize(pixels, (SIZE, SIZE), order=1, mode="edge", anti_aliasing=True,
                                       preserve_range=True)
    return np.clip(np.rint(resized), 0, 255).astype(np.uint8).transpose(2, 0, 1)  # HWC -> CHW


def make_set(name, windows, photos, records):
    crops = []
    for path, image in photos:
        for scale, fy, fx in windows:
            top, left, side = window(image, scale, fy, fx)
            records.append({"set": name, "index": len(crops), "photo": os.path.basename(path), "path": path,
                            "scale": scale,
                            "fy": fy, "fx": fx, "window": [top, left, side]})
            crops.append(crop(image, top, left, side))
    return np.stack(crops)


def save(outdir, name, raw):
    np.save(os.path.join(outdir, f"{name}-uint8.npy"), raw)
    preprocessed = ((raw.astype(np.float32) - np.float32(127.5)) / np.float32(127.5)).astype(np.float32)
    np.save(os.path.join(outdir, f"{name}.npy"), preprocessed)


def make_heldout(outdir):
    missing = [path for path in HELDOUT_PHOTOS if not os.path.exists(path)]
    if missing:
        sys.exit(f"make-photo-crops: {len(missing)} held-out photos are missing (first: {missing[0]}); "
                 f"install them with: apt-get install -y {HELDOUT_PACKAGES}")
    # Held out means no calibration crop comes from these photos: check it rather than trust the lists.
    shared = {os.path.basename(p) for p in HELDOUT_PHOTOS} & {os.path.basename(p) for p in photo_paths()}
    assert not shared, f"held-out photos also used for calibration: {sorted(shared)}"
    records = []
    heldout = make_set("heldout", HELDOUT_WINDOWS, [(path, load_rgb(path)) for path in HELDOUT_PHOTOS], records)
    save(outdir, "heldout", heldout)
    with open(os.path.join(outdir, "heldout.json"), "w") as f:
        json.dump(records, f, indent=1)
    print(f"wrote {len(heldout)} held-out crops of {len(HELDOUT_PHOTOS)} photos to {outdir}")


def main():
    args = sys.argv[1:]
    heldout = args[:1] == ["--heldout"]
    if heldout:
        args = args[1:]
    if len(args) != 1:
        sys.exit(f"usage: {sys.argv[0]} [--heldout] OUTDIR")
    outdir = args[0]
    os.makedirs(outdir, exist_ok=True)
    if heldout:
        make_heldout(outdir)
        return
    photos = [(path, load_rgb(path)) for path in photo_paths()]
    records = []
    test = make_set("test", TEST_WINDOWS, photos, records)
    calib = make_set("calib", CALIB_WINDOWS, photos, records)
    save(outdir, "test", test)
    save(outdir, "calib", calib)
    with open(os.path.join(outdir, "crops.json"), "w") as f:
        json.dump(records, f, indent=1)
    print(f"wrote {len(test)} test and {len(calib)} calibration crops to {outdir}")


if __name__ == "__main__":
    main()
