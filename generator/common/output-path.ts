/**
 * Output paths checked before the work starts: a run that would fail only at its end (after minutes of
 * calibration or simulation) on a folder that cannot be created, a path below a regular file, or a
 * trace file that names a folder, fails at once instead, with one line and exit code 2.
 */
import { existsSync, mkdirSync, rmdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { badInput } from './errors.js';

/** `--out DIR`: DIR is a folder or can be created (its nearest existing ancestor is a writable folder). */
export function checkOutputFolder(dir: string, flag: string): void {
  const target = path.resolve(dir);
  if (existsSync(target)) {
    if (!statSync(target).isDirectory()) throw badInput(`${flag} ${dir}: exists and is not a folder`);
    probeWritable(target, `${flag} ${dir}`);
    return;
  }
  const ancestor = nearestExisting(path.dirname(target));
  if (!statSync(ancestor).isDirectory()) throw badInput(`${flag} ${dir}: cannot create the folder: ${ancestor} is a file, not a folder (ENOTDIR)`);
  probeWritable(ancestor, `${flag} ${dir}: cannot create the folder in ${ancestor}`);
}

/** `--trace FILE`: FILE is not a folder, and its folder exists and is writable (nothing is created). */
export function checkOutputFile(file: string, flag: string): void {
  const target = path.resolve(file);
  if (existsSync(target) && statSync(target).isDirectory()) throw badInput(`${flag} ${file}: names a folder; give a file name, e.g. ${path.join(file, 'trace.vcd')}`);
  const parent = path.dirname(target);
  if (!existsSync(parent)) throw badInput(`${flag} ${file}: the folder ${parent} does not exist (ENOENT)`);
  if (!statSync(parent).isDirectory()) throw badInput(`${flag} ${file}: ${parent} is a file, not a folder (ENOTDIR)`);
  probeWritable(parent, `${flag} ${file}: cannot write into ${parent}`);
}

function nearestExisting(start: string): string {
  let dir = start;
  while (!existsSync(dir)) {
    const up = path.dirname(dir);
    if (up === dir) return dir;
    dir = up;
  }
  return dir;
}

/**
 * Creating (and removing) an empty folder is the one test that answers as the real write will: the
 * permission bits say nothing for root, a read-only mount or a pseudo file system such as /proc.
 */
function probeWritable(dir: string, what: string): void {
  const probe = path.join(dir, `.fixynn-probe-${process.pid}`);
  try {
    mkdirSync(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    throw badInput(`${what} (${code ?? (err as Error).message})`);
  }
  rmdirSync(probe);
}
