/** Writing an emitted design to disk: the Verilog files and a `files.f` list in compile order. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EmittedDesign } from './verilog.js';

/** `files.f`: one file name per line, children before parents, relative to the list's folder. */
export function fileList(design: EmittedDesign): string {
  return design.files.map((f) => `${f.name}\n`).join('');
}

/** Write every file of the design and its files.f into `dir` (created if missing); returns the Verilog paths. */
export function writeDesign(dir: string, design: EmittedDesign): string[] {
  mkdirSync(dir, { recursive: true });
  const paths = design.files.map((f) => {
    const p = join(dir, f.name);
    writeFileSync(p, f.text);
    return p;
  });
  writeFileSync(join(dir, 'files.f'), fileList(design));
  return paths;
}
