/**
 * The real models of ../shared/models (read in place, never copied). Where the folder is absent a test
 * that needs it is skipped with the missing path as the reason, visible in the report; where the run asks
 * for the models (FIXYNN_REQUIRE_MODELS=1, as .ci/run sets it) it fails instead.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { TestContext } from 'vitest';
import { MOBILENET_DIR, MOBILENET_FLOAT, MOBILENET_QDQ } from '../../scripts/photos.js';
import { envSwitch } from './env.js';

export { MOBILENET_DIR, MOBILENET_FLOAT, MOBILENET_QDQ };

const REQUIRED = envSwitch('FIXYNN_REQUIRE_MODELS');

/** Why `files` cannot be used ('' when all are there); throws when the run requires the models. */
export function missingModels(...files: string[]): string {
  const absent = files.find((f) => !existsSync(f));
  if (absent === undefined) return '';
  const folder = existsSync(path.dirname(absent)) ? absent : path.dirname(absent);
  const reason = `${path.relative(process.cwd(), folder)} is absent (the real models are read from ../shared/models)`;
  if (REQUIRED) throw new Error(`FIXYNN_REQUIRE_MODELS=1 and ${reason}`);
  return reason;
}

/** At the start of a test: skips it, naming what is missing (fails under FIXYNN_REQUIRE_MODELS=1). */
export function requireModels(ctx: TestContext, ...files: string[]): void {
  const reason = missingModels(...files);
  if (reason) {
    console.warn(`SKIPPED: ${reason}`);
    ctx.skip(reason);
  }
}
