import { describe, expect, it } from 'vitest';
import { MNIST_PIXELS, mnistSplit } from '../../generator/data/mnist.js';

describe('the MNIST split (last 100 digits of each class are the test set)', () => {
  const { train, test } = mnistSplit();

  it('has 1,000 test digits, 100 per class, and all the other 9,000 digits train', () => {
    expect(test.images).toHaveLength(1000);
    expect(test.labels).toHaveLength(1000);
    expect(train.images.length + test.images.length).toBe(10000);
    expect(train.labels).toHaveLength(train.images.length);
    for (let digit = 0; digit < 10; digit++) {
      expect(test.labels.filter((label) => label === digit)).toHaveLength(100);
    }
  });

  it('orders the test digits round-robin over the classes, so every prefix is balanced', () => {
    test.labels.forEach((label, i) => expect(label).toBe(i % 10));
  });

  it('holds 28x28 digits in [0,1], and no test digit also appears in the training set', () => {
    for (const image of [...test.images, ...train.images.slice(0, 500)]) {
      expect(image).toHaveLength(MNIST_PIXELS);
      expect(image.every((v) => v >= 0 && v <= 1)).toBe(true);
    }
    const key = (image: Float32Array) => Buffer.from(image.buffer, image.byteOffset, image.byteLength).toString('base64');
    const trainKeys = new Set(train.images.map(key));
    const overlap = test.images.filter((image) => trainKeys.has(key(image)));
    expect(overlap).toHaveLength(0);
  });

  it('takes the test digits from the end of each class file', () => {
    // The last training digit of a class is the digit just before its first test digit in the file:
    // the training set keeps class order, so labels are non-decreasing.
    for (let i = 1; i < train.labels.length; i++) expect(train.labels[i]).toBeGreaterThanOrEqual(train.labels[i - 1] as number);
    expect(train.labels.filter((label) => label === 1)).toHaveLength(1127 - 100);
  });
});
