/**
 * Loading a generated design folder back: the manifest (validated), and a check that every file it lists
 * still has the SHA-256 it was written with (a hand-edited or half-copied design is named, not simulated).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { badInput } from '../common/errors.js';
import { MANIFEST } from './generate-design.js';
import { parseManifest, type Manifest } from './manifest.js';

export interface LoadedDesign {
  readonly dir: string;
  readonly manifest: Manifest;
  /** Absolute path of a file of the design given its manifest-relative path. */
  readonly pathOf: (relative: string) => string;
}

export function readDesign(dir: string): LoadedDesign {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw badInput(`${dir}: not a folder (expected a design folder written by fixynn generate)`);
  const manifestPath = path.join(dir, MANIFEST);
  if (!existsSync(manifestPath)) throw badInput(`${dir}: no ${MANIFEST}; is this a folder written by fixynn generate?`);
  const manifest = parseManifest(readFileSync(manifestPath, 'utf8'), manifestPath);
  const root = path.resolve(dir);
  const pathOf = (relative: string): string => {
    const full = path.resolve(root, relative);
    if (!full.startsWith(`${root}${path.sep}`)) throw badInput(`${manifestPath}: file '${relative}' lies outside the design folder`);
    return full;
  };
  for (const [relative, expected] of Object.entries(manifest.files)) {
    const full = pathOf(relative);
    if (!existsSync(full)) throw badInput(`${dir}: ${relative} is missing (listed in ${MANIFEST})`);
    const actual = createHash('sha256').update(readFileSync(full)).digest('hex');
    if (actual !== expected) throw badInput(`${dir}: ${relative} was changed after generation (SHA-256 differs from ${MANIFEST}); regenerate the design`);
  }
  for (const required of [...manifest.rtl, manifest.testbench.verilog, ...(manifest.testbench.harness === undefined ? [] : [manifest.testbench.harness]), ...(manifest.testbench.wrapper === undefined ? [] : [manifest.testbench.wrapper.verilog]), ...manifest.parts.map((p) => p.integerModel)]) {
    if (!(required in manifest.files)) throw badInput(`${manifestPath}: '${required}' has no SHA-256 entry in "files"`);
  }
  return { dir: root, manifest, pathOf };
}
