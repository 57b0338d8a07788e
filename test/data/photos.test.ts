import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { loadInputs } from '../../generator/data/load-inputs.js';
import { readNpy, writeNpy } from '../../generator/data/npy.js';
import { photoCrops, readCropIndex, topClasses, type PhotoCropFiles } from '../../scripts/photos.js';
import { MOBILENET_FLOAT, MOBILENET_QDQ, requireModels } from '../helpers/models.js';

// ImageNet classes in the MobileNet's 1001-class indexing (index 0 is "background"): 1000-class index + 1.
const CATS = [282, 283, 284, 285, 286]; // tabby, tiger cat, Persian, Siamese, Egyptian cat
const ESPRESSO = 968;
const MOPED = 666;
const MOTOR_SCOOTER = 671;

function concatenate(images: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(images.reduce((n, image) => n + image.length, 0));
  let offset = 0;
  for (const image of images) {
    out.set(image, offset);
    offset += image.length;
  }
  return out;
}

let crops: PhotoCropFiles | { missing: string };
beforeAll(async () => {
  crops = await photoCrops();
});

/** Skips with the reason where the Python packages are absent; in CI that is a failure, not a skip. */
function cropsOrSkip(ctx: TestContext): PhotoCropFiles {
  if ('missing' in crops) {
    if (process.env.CI) throw new Error(crops.missing);
    console.warn(`SKIPPED: ${crops.missing}`);
    ctx.skip(crops.missing);
  }
  return crops as PhotoCropFiles;
}


describe('real photo crops (scripts/make-photo-crops.py)', () => {
  it('has at least 64 test and 32 calibration crops, 224x224 RGB, from disjoint windows', (ctx) => {
    const files = cropsOrSkip(ctx);
    const test = readNpy(files.test);
    const calib = readNpy(files.calib);
    expect(test.dtype).toBe('f4');
    expect(test.shape.slice(1)).toEqual([3, 224, 224]);
    expect(calib.shape.slice(1)).toEqual([3, 224, 224]);
    expect(test.shape[0]).toBeGreaterThanOrEqual(64);
    expect(calib.shape[0]).toBeGreaterThanOrEqual(32);
    const records = readCropIndex(files);
    const key = (r: { photo: string; window: readonly number[] }) => `${r.photo}@${r.window.join(',')}`;
    const testWindows = new Set(records.filter((r) => r.set === 'test').map(key));
    const calibWindows = records.filter((r) => r.set === 'calib').map(key);
    expect(testWindows.size).toBe(test.shape[0]);
    expect(calibWindows.filter((w) => testWindows.has(w))).toEqual([]);
    expect(new Set(records.map((r) => r.photo)).size).toBeGreaterThanOrEqual(8);
  });

  it('the float crops are the uint8 crops preprocessed (pixel - 127.5) / 127.5, as loadInputs does it', (ctx) => {
    const files = cropsOrSkip(ctx);
    const fromFloat = loadInputs(files.calib, [3, 224, 224], { count: 4 });
    const fromRaw = loadInputs(files.calibRaw, [3, 224, 224], { count: 4, scale: 1, mean: 127.5, std: 127.5 });
    fromFloat.images.forEach((image, i) => {
      const raw = fromRaw.images[i] as Float32Array;
      let worst = 0;
      for (let j = 0; j < image.length; j++) worst = Math.max(worst, Math.abs((image[j] as number) - (raw[j] as number)));
      expect(worst).toBeLessThan(1e-6);
      expect(image.every((v) => v >= -1 && v <= 1)).toBe(true);
    });
  });
});

describe('the ImageNet MobileNetV1 0.25 on the photo crops (ONNX Runtime)', () => {
  it('finds sensible classes, and the float and QDQ forms mostly agree on the top-1 class', async (ctx) => {
    const files = cropsOrSkip(ctx);
    requireModels(ctx, MOBILENET_FLOAT, MOBILENET_QDQ);
    const records = readCropIndex(files).filter((r) => r.set === 'test');
    const float = await topClasses(MOBILENET_FLOAT, files.test);
    const qdq = await topClasses(MOBILENET_QDQ, files.test);
    const classOf = (photo: string, scale: number) => float[records.findIndex((r) => r.photo === photo && r.scale === scale)];
    // The whole-photo crops: wrong channel order or scaling would not find these.
    expect(CATS).toContain(classOf('chelsea.png', 1));
    expect(classOf('coffee.png', 1)).toBe(ESPRESSO);
    expect([MOPED, MOTOR_SCOOTER]).toContain(classOf('motorcycle_left.png', 1));
    const agree = float.slice(0, 64).filter((c, i) => c === qdq[i]).length;
    console.log(`float and QDQ MobileNet agree on the top-1 class of ${agree}/64 test crops`);
    // Measured 58/64 (the models' README: 60/64 on its own photo set).
    expect(agree).toBeGreaterThanOrEqual(54);
  });

  it('classifies whole photo files loaded by loadInputs (decode, bilinear cover-crop, preprocessing)', async (ctx) => {
    const files = cropsOrSkip(ctx);
    requireModels(ctx, MOBILENET_FLOAT, MOBILENET_QDQ);
    const photo = (name: string) => readCropIndex(files).find((r) => r.photo === name)?.path as string;
    const preprocessing = { scale: 1, mean: 127.5, std: 127.5 }; // the MobileNet's (pixel - 127.5) / 127.5
    const folder = mkdtempSync(path.join(tmpdir(), 'fixynn-photos-'));
    try {
      copyFileSync(photo('chelsea.png'), path.join(folder, '1-chelsea.png'));
      copyFileSync(photo('coffee.png'), path.join(folder, '2-coffee.png'));
      copyFileSync(photo('motorcycle_left.png'), path.join(folder, '3-motorcycle.png'));
      const inputs = loadInputs(folder, [3, 224, 224], preprocessing);
      const npy = path.join(folder, 'photos.npy');
      writeNpy(npy, concatenate(inputs.images), [inputs.images.length, 3, 224, 224]);
      const [cat, coffee, motorcycle] = await topClasses(MOBILENET_FLOAT, npy);
      expect(CATS).toContain(cat);
      expect(coffee).toBe(ESPRESSO);
      expect([MOPED, MOTOR_SCOOTER]).toContain(motorcycle);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });
});
