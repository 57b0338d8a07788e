/**
 * The Liberty file synthesis maps to: the user's --liberty, else the project's sky130 file, read once (our
 * parser) and copied unzipped into the synthesis cache for Yosys and OpenSTA (they read no gzip).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { badInput } from '../../generator/common/errors.js';
import { readLiberty, type Liberty } from './liberty.js';
import { synthCacheRoot } from './yosys-units.js';

/** The project's default Liberty: SkyWater sky130_fd_sc_hd, typical corner, in ../shared/pdk/ beside the checkout. */
export const DEFAULT_LIBERTY = resolve(dirname(fileURLToPath(import.meta.url)), '../../../shared/pdk/sky130_fd_sc_hd/sky130_fd_sc_hd__tt_025C_1v80.lib.gz');

export interface PreparedLiberty {
  /** Where the user's file is. */
  readonly file: string;
  /** A plain-text copy Yosys and OpenSTA can read (they do not read gzip), in the synthesis cache. */
  readonly plain: string;
  readonly sha256: string;
  readonly parsed: Liberty;
}

/** The Liberty file to map to: --liberty, else the project's sky130 file where present, else a clear error. */
export function prepareLiberty(option: string | undefined): PreparedLiberty {
  const file = option ?? (existsSync(DEFAULT_LIBERTY) ? DEFAULT_LIBERTY : undefined);
  if (file === undefined) throw badInput(`--target asic needs --liberty FILE (a standard-cell Liberty file); the default ${DEFAULT_LIBERTY} is not present`);
  if (!existsSync(file)) throw badInput(`--liberty ${file}: no such file`);
  const bytes = readFileSync(file);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const parsed = readLiberty(file);
  const plain = join(synthCacheRoot(), `liberty-${sha256.slice(0, 32)}.lib`);
  if (!existsSync(plain)) {
    mkdirSync(synthCacheRoot(), { recursive: true });
    const tmp = `${plain}.${process.pid}.tmp`;
    writeFileSync(tmp, bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes);
    renameSync(tmp, plain);
  }
  return { file, plain, sha256, parsed };
}

