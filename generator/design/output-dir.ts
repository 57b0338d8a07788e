/**
 * Atomic replacement of an output folder: the new content is written to a sibling temporary folder
 * (same file system, so rename is atomic) and swapped in only once complete. A failure at any point
 * leaves the old folder untouched and no temporary folder behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { badInput } from '../common/errors.js';

/** Relative path (with '/') -> content. */
export type FolderContent = ReadonlyMap<string, string | Uint8Array>;

/**
 * Only a folder we wrote before (it has `marker`, e.g. manifest.json) or an empty one may be replaced:
 * `--out .` or `--out ~` must never wipe a user's files.
 */
export function assertReplaceable(dir: string, marker: string): void {
  const target = path.resolve(dir);
  if (!existsSync(target)) return;
  if (!statSync(target).isDirectory()) throw badInput(`--out ${dir}: exists and is not a folder`);
  const entries = readdirSync(target);
  if (entries.length > 0 && !entries.includes(marker)) {
    throw badInput(`--out ${dir}: the folder exists and is not a design written by fixynn (no ${marker}); refusing to replace it: choose a new or empty folder`);
  }
}

export function writeFolderAtomically(dir: string, content: FolderContent, marker: string): void {
  assertReplaceable(dir, marker);
  const target = path.resolve(dir);
  const parent = path.dirname(target);
  if (!existsSync(parent)) mkdirSync(parent, { recursive: true });
  const tag = `${process.pid}-${randomBytes(4).toString('hex')}`;
  const fresh = path.join(parent, `.${path.basename(target)}.new-${tag}`);
  const old = path.join(parent, `.${path.basename(target)}.old-${tag}`);
  try {
    writeAll(fresh, content);
    if (existsSync(target)) renameSync(target, old);
    try {
      renameSync(fresh, target);
    } catch (err) {
      if (existsSync(old)) renameSync(old, target);
      throw err;
    }
  } finally {
    rmSync(fresh, { recursive: true, force: true });
  }
  rmSync(old, { recursive: true, force: true });
}

function writeAll(root: string, content: FolderContent): void {
  mkdirSync(root);
  for (const [relative, data] of [...content.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const normalized = path.posix.normalize(relative);
    if (normalized.startsWith('..') || path.posix.isAbsolute(normalized)) throw new Error(`internal: output path '${relative}' leaves the folder`);
    const file = path.join(root, ...normalized.split('/'));
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, data);
  }
}
