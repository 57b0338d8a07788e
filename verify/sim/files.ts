/** Verilog sources given either as paths on disk or as emitted text (written to a temp dir on demand). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EmittedFile } from '../../generator/emit/index.js';

export type SourceFile = string | EmittedFile;

/** Write the emitted files (paths pass through) and run `body` with the list of paths; cleans up after. */
export async function withSourcePaths<T>(files: readonly SourceFile[], body: (paths: string[], dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'fixynn-src-'));
  try {
    const paths = files.map((f) => {
      if (typeof f === 'string') return f;
      const p = join(dir, f.name);
      writeFileSync(p, f.text);
      return p;
    });
    return await body(paths, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
