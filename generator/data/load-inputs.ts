/**
 * The one entry point for input data (`--data`, `--calib`, `--labels` of every command); docs/inputs.md
 * is the user's description of the same rules.
 *
 * spec:
 *   undefined / ''          the bundled MNIST test digits (only for a [1,28,28] input), with labels
 *   'random'                seeded uniform 8-bit pixels, preprocessed like images; labeled random
 *   a folder                PNG/JPEG images (sorted by name), or class subfolders of images (labels)
 *   an image file           one PNG/JPEG image
 *   a .npy file             float32/float64 [N,C,H,W] already preprocessed, or uint8 [N,C,H,W] raw pixels
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { badInput } from '../common/errors.js';
import { decodeImageFile, isImageFile, toPixels } from './images.js';
import { MNIST_SIDE, mnistTest } from './mnist.js';
import { isIntegerDtype, npyToNumbers, readNpy, type NpyArray } from './npy.js';
import { seededRandom } from '../common/seeded-random.js';
import { randomBytes } from './random.js';

export type InputShape = readonly [number, number, number];

export interface LoadInputsOptions {
  /** Use at most this many images (the first ones, in the source's order). */
  readonly count?: number;
  /** A .npy of integer class labels, one per image of the source (before `count`). */
  readonly labels?: string;
  /** 8-bit pixels become `(pixel * scale - mean[c]) / std[c]`. Defaults: scale 1/255, mean 0, std 1. */
  readonly scale?: number;
  readonly mean?: number | readonly number[];
  readonly std?: number | readonly number[];
  /** Seed of `random` inputs (default 1). */
  readonly seed?: number;
}

export interface LoadedInputs {
  /** Each image [C,H,W] in C order, as the model's input takes it. */
  readonly images: Float32Array[];
  readonly labels?: Int32Array;
  /** Names of the classes where they come from subfolders (label i is classNames[i], or the number). */
  readonly classNames?: readonly string[];
  /** The 8-bit pixels before scale/mean/std, where the source has them (images, uint8 .npy, random). */
  readonly raw?: Uint8Array[];
  /** A human-readable description for reports, e.g. "random (seed 1, 16 images)". */
  readonly source: string;
  /** True for seeded random inputs: every report must say so. */
  readonly random: boolean;
}

export const DEFAULT_RANDOM_COUNT = 16;
export const DEFAULT_SCALE = 1 / 255;

/** Loads inputs for a model whose input is `inputShape` = [C, H, W]; bad input is a badInput error. */
export function loadInputs(spec: string | undefined, inputShape: readonly number[], options: LoadInputsOptions = {}): LoadedInputs {
  const shape = checkShape(inputShape);
  checkCount(options.count);
  return limit(loadSource(spec, shape, options), options.count);
}

function loadSource(spec: string | undefined, shape: InputShape, options: LoadInputsOptions): LoadedInputs {
  if (spec === undefined || spec === '') return loadMnist(shape, options);
  if (spec === 'random') return loadRandom(shape, options);
  let isFolder: boolean;
  try {
    isFolder = statSync(spec).isDirectory();
  } catch {
    throw badInput(`${spec}: no such file or folder (--data takes a folder of PNG/JPEG images, an image, a .npy file, or "random").`);
  }
  if (isFolder) return loadImageFolder(spec, shape, options);
  if (spec.toLowerCase().endsWith('.npy')) return withLabelFile(loadNpyImages(spec, shape, options), options.labels);
  if (isImageFile(spec)) return withLabelFile(fromPixels([pixelsOf(spec, shape)], spec, shape, options), options.labels);
  throw badInput(`${spec}: unsupported input file (supported: a folder of PNG/JPEG images, a .png/.jpg/.jpeg image, a .npy file, "random").`);
}

function checkShape(inputShape: readonly number[]): InputShape {
  if (inputShape.length !== 3 || inputShape.some((d) => !Number.isInteger(d) || d < 1)) {
    throw badInput(`model input shape [${inputShape.join(', ')}] is not supported: inputs are images [C, H, W] (batch 1).`);
  }
  return inputShape as InputShape;
}

function checkCount(count: number | undefined): void {
  if (count !== undefined && (!Number.isInteger(count) || count < 1)) {
    throw badInput(`the image count must be a positive integer, got ${count}.`);
  }
}

const formatShape = (shape: readonly number[]) => `[${shape.join(', ')}]`;

// ---- MNIST and random ----

function loadMnist(shape: InputShape, options: LoadInputsOptions): LoadedInputs {
  if (shape[0] !== 1 || shape[1] !== MNIST_SIDE || shape[2] !== MNIST_SIDE) {
    throw badInput(
      `the model's input is ${formatShape(shape)}; the bundled MNIST digits are [1, 28, 28]. ` +
        'Pass --data: a folder of PNG/JPEG images, a .npy [N, C, H, W], or "random".',
    );
  }
  if (options.scale !== undefined || options.mean !== undefined || options.std !== undefined) {
    throw badInput('--scale/--mean/--std apply to 8-bit pixels; the bundled MNIST digits are already floats in [0, 1].');
  }
  refuseLabelFile(options.labels, 'the bundled MNIST digits carry their own labels; pass --data with it.');
  const { images, labels } = mnistTest();
  // Copies, so that a caller that writes into an image cannot change the shared split.
  return { images: images.map((image) => image.slice()), labels: labels.slice(), source: 'MNIST test digits (bundled, last 100 of each class)', random: false };
}

function loadRandom(shape: InputShape, options: LoadInputsOptions): LoadedInputs {
  refuseLabelFile(options.labels, 'random inputs have no labels.');
  const seed = options.seed ?? 1;
  const count = options.count ?? DEFAULT_RANDOM_COUNT;
  const next = seededRandom(seed);
  const raw = Array.from({ length: count }, () => randomBytes(next, shape[0] * shape[1] * shape[2]));
  const pre = preprocessing(shape[0], options, 'random');
  return {
    images: raw.map((pixels) => applyPreprocessing(pixels, shape, pre)),
    raw,
    source: `random (seed ${seed}: uniform 8-bit pixels, ${pre.text})`,
    random: true,
  };
}

// ---- 8-bit pixels -> model input ----

interface Preprocessing {
  readonly scale: number;
  readonly mean: readonly number[];
  readonly std: readonly number[];
  readonly text: string;
}

function perChannel(value: number | readonly number[] | undefined, fallback: number, channels: number, flag: string, source: string): number[] {
  const list = value === undefined ? [fallback] : typeof value === 'number' ? [value] : [...value];
  if (list.length !== 1 && list.length !== channels) {
    throw badInput(`${source}: ${flag} has ${list.length} values; the model's input has ${channels} channels (give 1 or ${channels}).`);
  }
  if (list.some((v) => !Number.isFinite(v))) throw badInput(`${source}: ${flag} must be finite numbers, got ${list.join(',')}.`);
  return Array.from({ length: channels }, (_, c) => (list.length === 1 ? list[0] : list[c]) as number);
}

/** The per-channel preprocessing `options` give for a `channels`-channel input (defaults filled in). */
export function resolvePreprocessing(channels: number, options: LoadInputsOptions, source = 'preprocessing'): { scale: number; mean: number[]; std: number[] } {
  const { scale, mean, std } = preprocessing(channels, options, source);
  return { scale, mean: [...mean], std: [...std] };
}

function preprocessing(channels: number, options: LoadInputsOptions, source: string): Preprocessing {
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!Number.isFinite(scale) || scale === 0) throw badInput(`${source}: --scale must be a nonzero number, got ${scale}.`);
  const mean = perChannel(options.mean, 0, channels, '--mean', source);
  const std = perChannel(options.std, 1, channels, '--std', source);
  if (std.some((s) => s === 0)) throw badInput(`${source}: --std must not be 0.`);
  const text = `(pixel * ${scale} - mean [${mean.join(', ')}]) / std [${std.join(', ')}]`;
  return { scale, mean, std, text };
}

function applyPreprocessing(pixels: Uint8Array, shape: InputShape, pre: Preprocessing): Float32Array {
  const plane = shape[1] * shape[2];
  const out = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) {
    const c = Math.floor(i / plane);
    out[i] = ((pixels[i] as number) * pre.scale - (pre.mean[c] as number)) / (pre.std[c] as number);
  }
  return out;
}

function fromPixels(raw: Uint8Array[], source: string, shape: InputShape, options: LoadInputsOptions, labels?: Int32Array, classNames?: readonly string[]): LoadedInputs {
  const pre = preprocessing(shape[0], options, source);
  const images = raw.map((pixels) => applyPreprocessing(pixels, shape, pre));
  return {
    images,
    raw,
    source: `${source} (${pre.text})`,
    random: false,
    ...(labels ? { labels } : {}),
    ...(classNames ? { classNames } : {}),
  };
}

function pixelsOf(file: string, shape: InputShape): Uint8Array {
  return toPixels(decodeImageFile(file), shape[0], shape[1], shape[2], file);
}

// ---- folders of images ----

interface FolderListing {
  readonly files: string[];
  readonly labels?: Int32Array;
  readonly classNames?: string[];
}

function visibleEntries(folder: string) {
  return readdirSync(folder, { withFileTypes: true })
    .filter((entry) => !entry.name.startsWith('.'))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)); // code-point order: the same everywhere
}

function imagesIn(folder: string): string[] {
  return visibleEntries(folder)
    .filter((entry) => entry.isFile() && isImageFile(entry.name))
    .map((entry) => path.join(folder, entry.name));
}

function listFolder(folder: string): FolderListing {
  const topImages = imagesIn(folder);
  const classFolders = visibleEntries(folder)
    .filter((entry) => entry.isDirectory())
    .map((entry) => ({ name: entry.name, files: imagesIn(path.join(folder, entry.name)) }))
    .filter((cls) => cls.files.length > 0);
  if (classFolders.length === 0) {
    if (topImages.length === 0) throw badInput(`${folder}: no PNG or JPEG images in this folder or its class subfolders.`);
    return { files: topImages };
  }
  if (topImages.length > 0) {
    throw badInput(`${folder}: holds both images and class subfolders of images; use one layout (subfolder name = class).`);
  }
  return classLayout(classFolders);
}

/** Class subfolders: all-numeric names are the class numbers themselves, other names their sorted index. */
function classLayout(classFolders: { name: string; files: string[] }[]): FolderListing {
  const numeric = classFolders.every((cls) => /^\d+$/.test(cls.name));
  const ordered = numeric ? [...classFolders].sort((a, b) => Number(a.name) - Number(b.name)) : classFolders;
  const files: string[] = [];
  const labels: number[] = [];
  ordered.forEach((cls, index) => {
    for (const file of cls.files) {
      files.push(file);
      labels.push(numeric ? Number(cls.name) : index);
    }
  });
  return { files, labels: Int32Array.from(labels), classNames: ordered.map((cls) => cls.name) };
}

function loadImageFolder(folder: string, shape: InputShape, options: LoadInputsOptions): LoadedInputs {
  const listing = listFolder(folder);
  if (listing.labels) refuseLabelFile(options.labels, `${folder} has class subfolders: labels come from their names.`);
  // --labels must match the whole folder, not only the decoded prefix.
  const labelFile = options.labels === undefined ? undefined : readLabels(options.labels, listing.files.length);
  // Decode only what is used: a count limit on a large folder should not read every file.
  const files = options.count === undefined ? listing.files : listing.files.slice(0, options.count);
  const raw = files.map((file) => pixelsOf(file, shape));
  const labels = (listing.labels ?? labelFile)?.slice(0, files.length);
  const described = `${folder}: ${files.length} of ${listing.files.length} images${listing.classNames ? `, ${listing.classNames.length} class subfolders` : ''}`;
  return fromPixels(raw, described, shape, options, labels, listing.classNames);
}

// ---- .npy ----

function loadNpyImages(file: string, shape: InputShape, options: LoadInputsOptions): LoadedInputs {
  const array = readNpy(file);
  const [n] = checkNpyShape(array, shape, file);
  const size = shape[0] * shape[1] * shape[2];
  if (array.dtype === 'u1') {
    const data = array.data as Uint8Array;
    const raw = Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size));
    return fromPixels(raw, `${file}: ${n} images of 8-bit pixels`, shape, options);
  }
  if (isIntegerDtype(array.dtype)) {
    throw badInput(`${file}: dtype ${array.dtype} is not supported for images (supported: float32/float64 already preprocessed, uint8 raw pixels).`);
  }
  if (options.scale !== undefined || options.mean !== undefined || options.std !== undefined) {
    throw badInput(`${file}: holds ${array.dtype === 'f4' ? 'float32' : 'float64'} values already preprocessed; --scale/--mean/--std apply only to 8-bit pixels (images, uint8 .npy).`);
  }
  return { images: floatImages(array, n, size, file), source: `${file}: ${n} preprocessed images`, random: false };
}

function checkNpyShape(array: NpyArray, shape: InputShape, file: string): [number] {
  const [n, ...rest] = array.shape;
  if (array.shape.length !== 4 || rest.some((d, i) => d !== shape[i])) {
    throw badInput(`${file}: array shape [${array.shape.join(', ')}] does not fit the model's input: expected [N, ${shape.join(', ')}].`);
  }
  if (n === undefined || n < 1) throw badInput(`${file}: the array holds no images.`);
  return [n];
}

function floatImages(array: NpyArray, n: number, size: number, file: string): Float32Array[] {
  const data = array.data as Float32Array | Float64Array;
  const images: Float32Array[] = [];
  for (let i = 0; i < n; i++) {
    const image = Float32Array.from(data.subarray(i * size, (i + 1) * size));
    const bad = image.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw badInput(`${file}: image ${i} holds a non-finite value (${image[bad]}) at element ${bad}.`);
    images.push(image);
  }
  return images;
}

// ---- labels and count ----

/** A .npy of integer labels with exactly `expected` entries, shape [N] or [N, 1]. */
export function readLabels(file: string, expected: number): Int32Array {
  const array = readNpy(file);
  if (!isIntegerDtype(array.dtype)) {
    throw badInput(`${file}: labels must be integers (dtype i1/u1/i2/u2/i4/u4/i8), got ${array.dtype}.`);
  }
  const [n, second] = array.shape;
  if (!(array.shape.length === 1 || (array.shape.length === 2 && second === 1)) || n !== expected) {
    throw badInput(`${file}: labels have shape [${array.shape.join(', ')}]; expected [${expected}] (one per input image).`);
  }
  const values = npyToNumbers(array, file);
  if (values.some((v) => v < -(2 ** 31) || v >= 2 ** 31)) throw badInput(`${file}: a label does not fit 32 bits.`);
  return Int32Array.from(values);
}

/** Labels from --labels for sources that have none of their own (a .npy of images, one image file). */
function withLabelFile(loaded: LoadedInputs, labelFile: string | undefined): LoadedInputs {
  return labelFile === undefined ? loaded : { ...loaded, labels: readLabels(labelFile, loaded.images.length) };
}

function refuseLabelFile(labelFile: string | undefined, why: string): void {
  if (labelFile !== undefined) throw badInput(`--labels ${labelFile}: ${why}`);
}

function limit(loaded: LoadedInputs, count: number | undefined): LoadedInputs {
  if (count === undefined || count >= loaded.images.length) return loaded;
  return {
    ...loaded,
    images: loaded.images.slice(0, count),
    ...(loaded.raw ? { raw: loaded.raw.slice(0, count) } : {}),
    ...(loaded.labels ? { labels: loaded.labels.slice(0, count) } : {}),
  };
}
