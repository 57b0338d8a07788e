/**
 * Running the design's own hand-off script (synth/yosys-<target>.tcl) on one synthesis unit at a time, in
 * parallel up to the machine's cores, each result cached by content hash (the unit's Verilog without
 * comments, the script, the Liberty file, the Yosys version): an unchanged module is never synthesized twice,
 * also across designs (the same layer at another K).
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { yosysScriptPath, type SynthTarget } from '../../generator/design/handoff.js';
import { cachedBuild } from '../sim/build-cache.js';
import { runTool, toolVersion } from '../sim/tools.js';
import type { SynthUnit } from './units.js';

/** The cache root: $FIXYNN_SYNTH_CACHE or <tmpdir>/fixynn-synth-cache. */
export function synthCacheRoot(): string {
  return process.env.FIXYNN_SYNTH_CACHE ?? join(tmpdir(), 'fixynn-synth-cache');
}

export interface UnitRun {
  readonly unit: SynthUnit;
  /** The folder holding stat.txt, memories.txt and the netlist (netlist.v / netlist.json). */
  readonly dir: string;
  readonly cached: boolean;
  readonly seconds: number;
}

export interface UnitJobOptions {
  readonly target: SynthTarget;
  /** Plain-text Liberty file (asic). */
  readonly liberty?: { readonly path: string; readonly sha256: string };
  /** Further environment settings of the script (FIXYNN_EXTRA, FIXYNN_CLOCK_PS, ...). */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra content the result depends on (e.g. a wrapper's text). */
  readonly salt?: string;
  readonly jobs?: number;
  readonly onProgress?: (message: string) => void;
}

/** The script as it acts: without comments and without its file list (the unit's files are hashed apart). */
function scriptContent(text: string): string {
  return text.split('\n').filter((l) => !l.startsWith('#') && !l.startsWith('foreach f [list')).join('\n');
}

export async function synthesizeUnits(design: LoadedDesign, units: readonly SynthUnit[], options: UnitJobOptions): Promise<UnitRun[]> {
  const scriptRel = yosysScriptPath(options.target);
  if (!existsSync(design.pathOf(scriptRel))) throw badInput(`${design.dir}: no ${scriptRel}; the design predates the synthesis hand-off bundle: regenerate it`);
  const script = design.pathOf(scriptRel);
  const yosys = await toolVersion('yosys');
  const common = createHash('sha256').update(`${options.target}\n${scriptContent(readFileSync(script, 'utf8'))}\n${yosys}\n${options.liberty?.sha256 ?? ''}\n`)
    .update(JSON.stringify(Object.entries(options.env ?? {}).sort())).update(options.salt ?? '').digest('hex');
  const jobs = Math.max(1, Math.min(options.jobs ?? availableParallelism(), units.length));
  const results: UnitRun[] = new Array(units.length);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < units.length) {
      const index = next++;
      const unit = units[index] as SynthUnit;
      const key = createHash('sha256').update(common).update(unit.contentHash).update(unit.module).digest('hex').slice(0, 32);
      options.onProgress?.(`synth ${options.target}: ${unit.module} ...`);
      const build = await cachedBuild(synthCacheRoot(), `${options.target}-${key}`, 'stat.txt', async (work) => {
        const env: Record<string, string> = {
          FIXYNN_TOP: unit.module, FIXYNN_BLACKBOX: unit.blackboxes.join(' '), FIXYNN_MACROS: unit.macros.join(' '), FIXYNN_OUT: work, ...(options.env ?? {}),
          ...(options.liberty ? { LIBERTY: options.liberty.path } : {}),
        };
        const r = await runTool('yosys', ['-q', '-l', join(work, 'yosys.log'), '-c', script], { env, timeoutMs: 4 * 3600_000 });
        if (r.exitCode !== 0 || !existsSync(join(work, 'stat.txt'))) {
          const log = existsSync(join(work, 'yosys.log')) ? readFileSync(join(work, 'yosys.log'), 'utf8') : r.stderr;
          const errors = log.split('\n').filter((l) => /ERROR|error/.test(l)).slice(-3).join(' | ');
          throw checkFailed(`yosys (${scriptRel}) failed on module ${unit.module}: ${errors || r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        }
      });
      done += 1;
      options.onProgress?.(`synth ${options.target}: ${unit.module} ${build.cached ? 'cached' : `done in ${build.seconds.toFixed(1)} s`} [${done}/${units.length}]`);
      results[index] = { unit, dir: build.dir, cached: build.cached, seconds: build.seconds };
    }
  };
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
}
