import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { loadInputs, type LoadInputsOptions } from '../../generator/data/load-inputs.js';
import { writeNpy } from '../../generator/data/npy.js';
import { parseNumberList } from '../../generator/data/flags.js';
import { resizeCoverCrop } from '../../generator/data/images.js';
import { badInputMessage } from '../helpers/bad-input.js';

const temp = mkdtempSync(path.join(tmpdir(), 'fixynn-inputs-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

type Pixel = (x: number, y: number) => [number, number, number];

function rgba(width: number, height: number, pixel: Pixel): Buffer {
  const data = Buffer.alloc(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = pixel(x, y);
      data.set([r, g, b, 255], 4 * (y * width + x));
    }
  }
  return data;
}

function writePng(file: string, width: number, height: number, pixel: Pixel): void {
  const png = new PNG({ width, height });
  rgba(width, height, pixel).copy(png.data);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, PNG.sync.write(png));
}

function writeJpeg(file: string, width: number, height: number, pixel: Pixel, quality = 100): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, jpeg.encode({ width, height, data: rgba(width, height, pixel) }, quality).data);
}

function folder(name: string): string {
  const dir = path.join(temp, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}


describe('a folder of PNG and JPEG images', () => {
  const dir = folder('flat');
  // 4x3 RGB with distinct channels, written in an order that differs from the sorted order.
  const pixel: Pixel = (x, y) => [10 * x + y, 100 + y, 200 - x];
  writePng(path.join(dir, 'b.png'), 4, 3, pixel);
  writeJpeg(path.join(dir, 'a.JPG'), 4, 3, () => [90, 90, 90]);
  writeFileSync(path.join(dir, 'notes.txt'), 'not an image');
  writeFileSync(path.join(dir, '.hidden.png'), 'ignored: hidden files are skipped');

  it('loads RGB in [C,H,W] order, files sorted by name, other files skipped, default scale 1/255', () => {
    const inputs = loadInputs(dir, [3, 3, 4]);
    expect(inputs.images).toHaveLength(2);
    expect(inputs.random).toBe(false);
    expect(inputs.labels).toBeUndefined();
    const png = inputs.raw?.[1] as Uint8Array;
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 4; x++) {
        expect([png[y * 4 + x], png[12 + y * 4 + x], png[24 + y * 4 + x]]).toEqual(pixel(x, y));
      }
    }
    expect(inputs.images[1]?.[5]).toBeCloseTo((png[5] as number) / 255, 6);
    // A flat gray JPEG at quality 100 decodes to (nearly) its value.
    for (const v of inputs.raw?.[0] ?? []) expect(Math.abs(v - 90)).toBeLessThanOrEqual(1);
  });

  it('grayscale for a 1-channel input uses the BT.601 luma, rounded', () => {
    const inputs = loadInputs(dir, [1, 3, 4]);
    const [r, g, b] = pixel(2, 1);
    expect(inputs.raw?.[1]?.[1 * 4 + 2]).toBe(Math.round(0.299 * r + 0.587 * g + 0.114 * b));
  });

  it('scale, per-channel mean and std: (pixel * scale - mean[c]) / std[c]', () => {
    const options: LoadInputsOptions = { scale: 1, mean: [10, 20, 30], std: [2, 4, 5] };
    const inputs = loadInputs(dir, [3, 3, 4], options);
    const raw = inputs.raw?.[1] as Uint8Array;
    const image = inputs.images[1] as Float32Array;
    for (const [c, i] of [[0, 0], [1, 12 + 7], [2, 24 + 11]] as const) {
      expect(image[i]).toBeCloseTo(((raw[i] as number) - [10, 20, 30][c]!) / [2, 4, 5][c]!, 5);
    }
    expect(inputs.source).toMatch(/mean \[10, 20, 30\]/);
  });

  it('count limits the images', () => {
    expect(loadInputs(dir, [3, 3, 4], { count: 1 }).images).toHaveLength(1);
  });

  it('a JPEG photo-like gradient decodes close to its pixels (quality 95)', () => {
    const gradient = folder('gradient');
    const smooth: Pixel = (x, y) => [4 * x + 2 * y, 255 - 3 * x, 128 + Math.round(60 * Math.sin(y / 5))];
    writeJpeg(path.join(gradient, 'g.jpg'), 48, 32, smooth, 95);
    const raw = loadInputs(gradient, [3, 32, 48]).raw?.[0] as Uint8Array;
    let worst = 0;
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 48; x++) {
        smooth(x, y).forEach((v, c) => (worst = Math.max(worst, Math.abs(v - (raw[c * 32 * 48 + y * 48 + x] as number)))));
      }
    }
    expect(worst).toBeLessThanOrEqual(8);
  });

  it('a count decodes only the images it uses', () => {
    const partly = folder('partly-broken');
    writePng(path.join(partly, 'a.png'), 2, 2, () => [5, 5, 5]);
    writeFileSync(path.join(partly, 'b.png'), 'broken');
    expect(loadInputs(partly, [1, 2, 2], { count: 1 }).images).toHaveLength(1);
    expect(badInputMessage(() => loadInputs(partly, [1, 2, 2]))).toMatch(/b\.png/);
  });

  it('a corrupt image names the file', () => {
    const broken = folder('broken');
    writeFileSync(path.join(broken, 'x.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]));
    expect(badInputMessage(() => loadInputs(broken, [1, 2, 2]))).toMatch(/x\.png: cannot decode the image/);
    writeFileSync(path.join(broken, 'x.png'), 'GIF89a');
    expect(badInputMessage(() => loadInputs(broken, [1, 2, 2]))).toMatch(/x\.png: not a PNG or JPEG/);
  });
});

describe('resizing: cover the target, bilinear with half-pixel centers, center crop', () => {
  it('leaves an image of the target size unchanged', () => {
    const plane = Float64Array.from({ length: 20 }, (_, i) => (i * 37) % 256);
    expect(Array.from(resizeCoverCrop(plane, 4, 5, 4, 5))).toEqual(Array.from(plane));
  });

  it('halving averages 2x2 blocks (the sample points fall between the pixels)', () => {
    const plane = Float64Array.from([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150]);
    expect(Array.from(resizeCoverCrop(plane, 4, 4, 2, 2))).toEqual([Math.round(25), 45, 105, 125]);
  });

  it('a wide image is scaled to the target height and its center kept', () => {
    // 2x6 image whose columns are 0..5 * 10; target 2x2: scale 1, columns 2 and 3 survive.
    const plane = Float64Array.from({ length: 12 }, (_, i) => (i % 6) * 10);
    expect(Array.from(resizeCoverCrop(plane, 2, 6, 2, 2))).toEqual([20, 30, 20, 30]);
  });

  it('a folder of differently sized images comes out at the model size', () => {
    const dir = folder('sizes');
    writePng(path.join(dir, 'big.png'), 60, 40, () => [200, 100, 50]);
    writePng(path.join(dir, 'small.png'), 5, 9, () => [1, 2, 3]);
    const inputs = loadInputs(dir, [3, 28, 28], { scale: 1 });
    expect(inputs.images.map((image) => image.length)).toEqual([28 * 28 * 3, 28 * 28 * 3]);
    // Constant images stay constant whatever the scaling.
    expect(new Set(inputs.raw?.[0]?.subarray(0, 784))).toEqual(new Set([200]));
    expect(new Set(inputs.raw?.[1]?.subarray(784 * 2))).toEqual(new Set([3]));
  });
});

describe('labels', () => {
  it('from class subfolders: numeric names are the class numbers', () => {
    const dir = folder('numeric-classes');
    for (const cls of ['2', '10', '7']) writePng(path.join(dir, cls, 'img.png'), 2, 2, () => [Number(cls), 0, 0]);
    writePng(path.join(dir, '10', 'img2.png'), 2, 2, () => [11, 0, 0]);
    const inputs = loadInputs(dir, [1, 2, 2], { scale: 1 });
    expect(Array.from(inputs.labels ?? [])).toEqual([2, 7, 10, 10]);
    expect(inputs.classNames).toEqual(['2', '7', '10']);
  });

  it('from class subfolders: other names are their index in sorted order', () => {
    const dir = folder('named-classes');
    writePng(path.join(dir, 'dog', 'a.png'), 2, 2, () => [1, 1, 1]);
    writePng(path.join(dir, 'cat', 'a.png'), 2, 2, () => [2, 2, 2]);
    writePng(path.join(dir, 'cat', 'b.png'), 2, 2, () => [3, 3, 3]);
    const inputs = loadInputs(dir, [1, 2, 2], { count: 2 });
    expect(inputs.classNames).toEqual(['cat', 'dog']);
    expect(Array.from(inputs.labels ?? [])).toEqual([0, 0]);
    expect(Array.from(loadInputs(dir, [1, 2, 2]).labels ?? [])).toEqual([0, 0, 1]);
  });

  it('from a .npy of integers, for a .npy of images; its length must match', () => {
    const images = path.join(temp, 'three.npy');
    writeNpy(images, new Float32Array(3 * 4).fill(0.5), [3, 1, 2, 2]);
    const labels = path.join(temp, 'labels.npy');
    writeNpy(labels, new BigInt64Array([4n, 1n, 3n]), [3]);
    expect(Array.from(loadInputs(images, [1, 2, 2], { labels }).labels ?? [])).toEqual([4, 1, 3]);
    expect(Array.from(loadInputs(images, [1, 2, 2], { labels, count: 2 }).labels ?? [])).toEqual([4, 1]);
    const short = path.join(temp, 'short.npy');
    writeNpy(short, new Int32Array([1, 2]), [2]);
    expect(badInputMessage(() => loadInputs(images, [1, 2, 2], { labels: short }))).toMatch(/short\.npy: labels have shape \[2\]; expected \[3\]/);
    const floats = path.join(temp, 'float-labels.npy');
    writeNpy(floats, new Float32Array([1, 2, 3]), [3]);
    expect(badInputMessage(() => loadInputs(images, [1, 2, 2], { labels: floats }))).toMatch(/labels must be integers/);
  });

  it('class subfolders and --labels together, or images beside class subfolders, are refused', () => {
    const dir = folder('named-classes');
    const labels = path.join(temp, 'labels.npy');
    expect(badInputMessage(() => loadInputs(dir, [1, 2, 2], { labels }))).toMatch(/class subfolders: labels come from their names/);
    writePng(path.join(dir, 'stray.png'), 2, 2, () => [0, 0, 0]);
    expect(badInputMessage(() => loadInputs(dir, [1, 2, 2]))).toMatch(/both images and class subfolders/);
  });
});

describe('.npy inputs', () => {
  it('float32 [N,C,H,W] is used as it is', () => {
    const file = path.join(temp, 'pre.npy');
    const data = Float32Array.from({ length: 2 * 3 * 2 * 2 }, (_, i) => i / 10 - 1);
    writeNpy(file, data, [2, 3, 2, 2]);
    const inputs = loadInputs(file, [3, 2, 2]);
    expect(inputs.images).toHaveLength(2);
    expect(Array.from(inputs.images[1] as Float32Array)).toEqual(Array.from(data.subarray(12)));
    expect(inputs.raw).toBeUndefined();
    expect(badInputMessage(() => loadInputs(file, [3, 2, 2], { scale: 2 }))).toMatch(/already preprocessed/);
  });

  it('uint8 [N,C,H,W] are raw pixels and get scale/mean/std', () => {
    const file = path.join(temp, 'raw.npy');
    writeNpy(file, Uint8Array.from([0, 255, 127, 128]), [1, 1, 2, 2]);
    const inputs = loadInputs(file, [1, 2, 2], { scale: 1, mean: 127.5, std: 127.5 });
    expect(Array.from(inputs.images[0] as Float32Array)).toEqual([-1, 1, -0.5 / 127.5, 0.5 / 127.5].map(Math.fround));
  });

  it('a shape that does not fit the model names both shapes', () => {
    const file = path.join(temp, 'pre.npy');
    expect(badInputMessage(() => loadInputs(file, [1, 28, 28]))).toMatch(/pre\.npy: array shape \[2, 3, 2, 2\] does not fit the model's input: expected \[N, 1, 28, 28\]/);
    const flat = path.join(temp, 'flat.npy');
    writeNpy(flat, new Float32Array(12), [12]);
    expect(badInputMessage(() => loadInputs(flat, [3, 2, 2]))).toMatch(/array shape \[12\]/);
  });

  it('non-finite values and unsupported integer dtypes are refused', () => {
    const nan = path.join(temp, 'nan.npy');
    writeNpy(nan, Float32Array.from([0, 1, NaN, 2]), [1, 1, 2, 2]);
    expect(badInputMessage(() => loadInputs(nan, [1, 2, 2]))).toMatch(/image 0 holds a non-finite value \(NaN\) at element 2/);
    const ints = path.join(temp, 'ints.npy');
    writeNpy(ints, new Int32Array(4), [1, 1, 2, 2]);
    expect(badInputMessage(() => loadInputs(ints, [1, 2, 2]))).toMatch(/dtype i4 is not supported for images/);
  });
});

describe('random and the bundled digits', () => {
  it('random inputs are seeded, labeled random, and preprocessed like images', () => {
    const a = loadInputs('random', [3, 4, 5], { count: 3, seed: 7 });
    const b = loadInputs('random', [3, 4, 5], { count: 3, seed: 7 });
    const c = loadInputs('random', [3, 4, 5], { count: 3, seed: 8 });
    expect(a.random).toBe(true);
    expect(a.source).toMatch(/^random \(seed 7/);
    expect(a.images.map((i) => Array.from(i))).toEqual(b.images.map((i) => Array.from(i)));
    expect(Array.from(a.images[0] as Float32Array)).not.toEqual(Array.from(c.images[0] as Float32Array));
    expect(a.images[0]?.every((v) => v >= 0 && v <= 1)).toBe(true);
    expect(a.images.length).toBe(3);
    expect(badInputMessage(() => loadInputs('random', [1, 2, 2], { labels: 'x.npy' }))).toMatch(/random inputs have no labels/);
  });

  it('no spec: the MNIST test digits for a [1,28,28] input, and a clear error otherwise', () => {
    const inputs = loadInputs(undefined, [1, 28, 28], { count: 30 });
    expect(inputs.images).toHaveLength(30);
    expect(inputs.random).toBe(false);
    expect(Array.from(inputs.labels ?? []).slice(0, 12)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(badInputMessage(() => loadInputs(undefined, [3, 224, 224]))).toMatch(/input is \[3, 224, 224\]; the bundled MNIST digits are \[1, 28, 28\]\. Pass --data/);
  });

  it('a path that does not exist, an unsupported file and a bad count', () => {
    expect(badInputMessage(() => loadInputs(path.join(temp, 'missing'), [1, 2, 2]))).toMatch(/missing: no such file or folder/);
    const txt = path.join(temp, 'data.csv');
    writeFileSync(txt, '1,2,3');
    expect(badInputMessage(() => loadInputs(txt, [1, 2, 2]))).toMatch(/data\.csv: unsupported input file/);
    expect(badInputMessage(() => loadInputs('random', [1, 2, 2], { count: 0 }))).toMatch(/positive integer/);
    expect(badInputMessage(() => loadInputs('random', [3, 2, 2], { mean: [1, 2] }))).toMatch(/--mean has 2 values; the model's input has 3 channels/);
    expect(badInputMessage(() => loadInputs('random', [1, 2, 2, 2]))).toMatch(/input shape \[1, 2, 2, 2\] is not supported/);
  });

  it('number lists for --mean/--std/--scale', () => {
    expect(parseNumberList('0.485,0.456, 0.406', '--mean')).toEqual([0.485, 0.456, 0.406]);
    expect(parseNumberList('1/255', '--scale')).toEqual([1 / 255]);
    expect(parseNumberList('-1e-3', '--mean')).toEqual([-0.001]);
    expect(badInputMessage(() => parseNumberList('0.5,abc', '--std'))).toMatch(/--std 0\.5,abc: expected a number/);
  });
});
