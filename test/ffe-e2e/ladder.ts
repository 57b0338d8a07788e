/** Shared steps of the end-to-end tests: quiet generate with the real core, the RTL of a design folder. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { runGenerate, type GenerateCliOptions } from '../../generator/commands/generate.js';
import { readDesign } from '../../generator/design/read-design.js';
import type { EmittedFile } from '../../generator/emit/index.js';
import { quietly } from '../helpers/quietly.js';

export { quietly };


export async function generate(model: string, options: GenerateCliOptions): Promise<void> {
  await quietly(() => runGenerate(model, options));
}

/** The design's RTL as emitted files (for lint and yosys). */
export function rtlOf(dir: string): { files: EmittedFile[]; top: string } {
  const { manifest } = readDesign(dir);
  return { files: manifest.rtl.map((r) => ({ name: path.basename(r), text: readFileSync(path.join(dir, r), 'utf8') })), top: manifest.top.module };
}
