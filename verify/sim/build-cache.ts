/**
 * The on-disk cache every simulator build uses: a build lives in `<root>/<name>` (name = a content hash of
 * its sources, tool and options), is made in a temporary folder beside it and renamed into place when
 * complete, so a crash never leaves a half build under the real name and two processes building the same
 * sources both end with a usable one.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The cache root: $FIXYNN_SIM_CACHE or <tmpdir>/fixynn-sim-cache. */
export function simCacheRoot(override?: string): string {
  return override ?? process.env.FIXYNN_SIM_CACHE ?? join(tmpdir(), 'fixynn-sim-cache');
}

/**
 * The cache name of a build: `<kind>-<simulator>-<hash>` over the tool's version, every flag the build
 * passes (in order) and every source file, so a change to any of them is a new build. Flags that do not
 * change the product (parallel jobs, the temporary folders' paths) stay out.
 */
export function buildKey(kind: string, simulator: string, tool: string, flags: readonly string[], files: ReadonlyArray<{ readonly name: string; readonly text: string }>): string {
  const hash = createHash('sha256').update(`${kind}\n${simulator}\n${tool}\n${flags.length}\n${flags.join('\n')}\n`);
  for (const f of files) hash.update(`${f.name}\n${f.text.length}\n${f.text}`);
  return `${kind}-${simulator}-${hash.digest('hex').slice(0, 24)}`;
}

export interface CachedBuild {
  readonly dir: string;
  readonly cached: boolean;
  /** Seconds spent building (0 when cached). */
  readonly seconds: number;
}

/**
 * The build `name` under `root`, made by `build(workDir)` when `product` (a file the build leaves in its
 * folder) is missing.
 */
export async function cachedBuild(root: string, name: string, product: string, build: (work: string) => Promise<void>): Promise<CachedBuild> {
  const dir = join(root, name);
  if (existsSync(join(dir, product))) return { dir, cached: true, seconds: 0 };
  mkdirSync(root, { recursive: true });
  const work = mkdtempSync(join(root, `.build-${name.slice(0, 16)}-`));
  const start = performance.now();
  try {
    await build(work);
    try {
      renameSync(work, dir);
    } catch (err) {
      // Another process finished the same build first: use theirs.
      if (!existsSync(join(dir, product))) throw err;
      rmSync(work, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return { dir, cached: false, seconds: (performance.now() - start) / 1000 };
}
