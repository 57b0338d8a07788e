import { afterEach, beforeEach, vi } from 'vitest';

/** Collects what each test of the calling file writes to stdout (a command's report); read it with the returned function. */
export function captureStdout(): () => string {
  let stdout = '';
  beforeEach(() => {
    stdout = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout += String(chunk);
      return true;
    });
  });
  afterEach(() => vi.restoreAllMocks());
  return () => stdout;
}
