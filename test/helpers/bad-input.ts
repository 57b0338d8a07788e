/** The message of the one bad-input error (FixynnError, exit 2) that `run` must throw; fails the test otherwise. */
import { expect } from 'vitest';
import { FixynnError } from '../../generator/common/errors.js';

export function badInputMessage(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(FixynnError);
    expect((err as FixynnError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error('expected a bad-input error');
}
