import { describe, expect, it } from 'vitest';
import { parseGenerateOptions } from '../../generator/commands/generate.js';

describe('generate options', () => {
  const base = { fixedLayers: '3', out: '/tmp/x' };

  it('--effort: absent means the size-based default; 1..16 passes through; anything else is a clear error', () => {
    expect(parseGenerateOptions(base).effort).toBeUndefined();
    expect(parseGenerateOptions({ ...base, effort: '3' }).effort).toBe(3);
    expect(() => parseGenerateOptions({ ...base, effort: '0' })).toThrow(/--effort 0: expected an integer from 1 to 16/);
    expect(() => parseGenerateOptions({ ...base, effort: 'max' })).toThrow(/--effort max/);
  });

  it('--workers: absent means the cores; 1..64 passes through; anything else is a clear error', () => {
    expect(parseGenerateOptions(base).workers).toBeUndefined();
    expect(parseGenerateOptions({ ...base, workers: '2' }).workers).toBe(2);
    expect(() => parseGenerateOptions({ ...base, workers: '0' })).toThrow(/--workers 0: expected an integer from 1 to 64/);
  });
});
