/**
 * verify/ffe/spawner.ts: simulator runs started by a shell instead of by fixynn's process. Arguments reach
 * the program word for word (spaces, quotes, shell characters), exit codes and output come back, runs
 * overlap, and CPU seconds are measured where GNU time is installed.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Spawner } from '../../verify/ffe/spawner.js';

const work = mkdtempSync(path.join(tmpdir(), "fixynn spawner's "));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('Spawner', () => {
  it('passes every argument unchanged and returns exit codes and output, runs side by side', async () => {
    const spawner = new Spawner();
    try {
      const words = ['a b', "it's", '$HOME', '`id`', '"q"', '*', ';', ''];
      // Each run in its own folder (its output files are kept there), as verify's runs are.
      const [one, two] = ['one', 'two'].map((name) => { const dir = path.join(work, name); mkdirSync(dir); return dir; }) as [string, string];
      const [echoed, failed] = await Promise.all([
        spawner.run('/bin/sh', ['-c', 'sleep 0.2; printf "%s|" "$@"', 'sh', ...words], one),
        spawner.run('/bin/sh', ['-c', 'echo out; echo err >&2; exit 3'], two),
      ]);
      expect(echoed.exitCode).toBe(0);
      expect(echoed.stdout).toBe(words.map((w) => `${w}|`).join(''));
      expect(failed).toMatchObject({ exitCode: 3, stdout: 'out\n', stderr: 'err\n' });
      const timed = await spawner.run('/bin/sh', ['-c', 'i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done'], work);
      expect(timed.exitCode).toBe(0);
      if (existsSync('/usr/bin/time')) expect(timed.cpuSeconds).toBeGreaterThanOrEqual(0); // GNU time's figure (0.00 for a short run)
      else expect(timed.cpuSeconds).toBeNull();
    } finally {
      spawner.close();
    }
  });
});
