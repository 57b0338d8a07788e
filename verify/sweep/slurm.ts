/**
 * `fixynn sweep --emit-slurm DIR`: the sweep's points handed to a cluster scheduler instead of run here. Writes
 * a Slurm job array (one task per point: the very command line a local worker runs, sweep.ts pointArgs), a
 * collect job (the same collect step as a local sweep) and submit.sh, which submits the array and the collect
 * job after it (afterok). The scripts are plain bash with #SBATCH comments, so they also run without Slurm:
 * `SLURM_ARRAY_TASK_ID=i bash points.sbatch` for each i, then `bash collect.sbatch` (the test does that).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXYNN_BIN, pointArgs, type SweepOptions, type SweepPlan } from './sweep.js';

export const SLURM_POINTS = 'points.sbatch';
export const SLURM_COLLECT = 'collect.sbatch';
export const SLURM_SUBMIT = 'submit.sh';

const quote = (s: string): string => (/^[\w./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function command(args: readonly string[]): string {
  return [process.execPath, FIXYNN_BIN, ...args].map(quote).join(' ');
}

/** Writes the three scripts into `dir`; returns their paths. */
export function emitSlurm(dir: string, o: SweepOptions, plan: SweepPlan): string[] {
  mkdirSync(dir, { recursive: true });
  const logs = path.join(path.resolve(o.out), 'slurm-%A_%a.log');
  const points = [
    '#!/bin/bash',
    `# fixynn sweep of ${plan.file}: one task per split K (${plan.ks.join(', ')}); task i runs K = KS[i].`,
    `#SBATCH --job-name=fixynn-sweep`,
    `#SBATCH --array=0-${plan.ks.length - 1}`,
    '#SBATCH --cpus-per-task=1',
    `#SBATCH --output=${logs}`,
    'set -euo pipefail',
    `KS=(${plan.ks.join(' ')})`,
    ': "${SLURM_ARRAY_TASK_ID:?set SLURM_ARRAY_TASK_ID to the task index (0-based)}"',
    'K=${KS[$SLURM_ARRAY_TASK_ID]}',
    `mkdir -p ${quote(path.resolve(o.out))}`,
    `exec ${command(pointArgs(o, '__K__')).replace('__K__', '"$K"')}`,
    '',
  ].join('\n');
  const collectArgs = [...pointArgs(o, 0).filter((_, i, all) => all[i - 1] !== '--point' && all[i] !== '--point'), '--collect',
    ...(o.maxK !== undefined ? ['--max-k', String(o.maxK)] : []), ...(o.areaBudgetUm2 !== undefined ? ['--area-budget', String(o.areaBudgetUm2 / 1e6)] : [])];
  const collect = [
    '#!/bin/bash',
    '# The collect step: joins every point into sweep.json (fails naming a point that has not run).',
    '#SBATCH --job-name=fixynn-sweep-collect',
    '#SBATCH --cpus-per-task=1',
    `#SBATCH --output=${path.join(path.resolve(o.out), 'slurm-collect-%j.log')}`,
    'set -euo pipefail',
    `exec ${command(collectArgs)}`,
    '',
  ].join('\n');
  const submit = [
    '#!/bin/bash',
    '# Submits the points as a job array, then the collect step once every task has succeeded.',
    'set -euo pipefail',
    'here=$(cd "$(dirname "$0")" && pwd)',
    `array=$(sbatch --parsable "$here/${SLURM_POINTS}")`,
    `sbatch --dependency=afterok:"\${array%%;*}" "$here/${SLURM_COLLECT}"`,
    '',
  ].join('\n');
  const written: string[] = [];
  for (const [name, text] of [[SLURM_POINTS, points], [SLURM_COLLECT, collect], [SLURM_SUBMIT, submit]] as const) {
    const file = path.join(dir, name);
    writeFileSync(`${file}.tmp`, text, { mode: 0o755 });
    renameSync(`${file}.tmp`, file);
    written.push(file);
  }
  return written;
}
