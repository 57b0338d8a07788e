/**
 * Errors a user can act on. The CLI prints `message` alone (no stack) and exits with `exitCode`:
 * 2 for bad input or usage (a malformed or unsupported model, a wrong flag, a missing tool),
 * 1 for a check that ran and failed (a mismatch).
 */
export class FixynnError extends Error {
  readonly exitCode: 1 | 2;
  constructor(message: string, exitCode: 1 | 2 = 2) {
    super(message);
    this.name = 'FixynnError';
    this.exitCode = exitCode;
  }
}

/** Bad input: names what is wrong and what is supported. Exit code 2. */
export function badInput(message: string): FixynnError {
  return new FixynnError(message, 2);
}

/** A check ran and failed (e.g. RTL differs from the integer model). Exit code 1. */
export function checkFailed(message: string): FixynnError {
  return new FixynnError(message, 1);
}
