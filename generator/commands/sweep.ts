/**
 * `fixynn sweep model.onnx --out OUT [--accel RxC] [--max-k K] [--jobs N] [--arith A] [--synth] [--liberty F]
 * [--area-budget MM2] [--emit-slurm DIR] [--json]`: the chip at every split K, tabulated (verify/sweep; docs/sweep.md).
 * `--point K` runs one point (what each worker process and each job-array task runs); `--collect` joins the
 * points already run into OUT/sweep.json.
 */
import type { Command } from 'commander';
import { badInput } from '../common/errors.js';
import { accelShape } from '../design/accel-part.js';
import type { ArithStrategy } from '../ffe/index.js';
import { runPoint, sweepTables } from '../../verify/sweep/point.js';
import { emitSlurm } from '../../verify/sweep/slurm.js';
import { collectSweep, formatSweep, planSweep, runSweep, type SweepOptions } from '../../verify/sweep/sweep.js';
import { ARITH_STRATEGIES } from './generate.js';
import { optionalInt } from './options.js';

export interface SweepCliOptions {
  readonly out?: string;
  readonly accel?: string;
  readonly maxK?: string;
  readonly jobs?: string;
  readonly arith?: string;
  readonly synth?: boolean;
  readonly liberty?: string;
  readonly areaBudget?: string;
  readonly emitSlurm?: string;
  readonly point?: string;
  readonly collect?: boolean;
  readonly json?: boolean;
}

export const DEFAULT_SWEEP_ACCEL = '8x8';

export function registerSweep(program: Command): void {
  program
    .command('sweep')
    .description('generate the chip at every split K and tabulate adders, area, RAM bits, cycles, bottleneck, energy and TOPS/W per K; writes OUT/sweep.json')
    .argument('<model>', 'the ONNX model')
    .option('--out <dir>', 'the sweep folder: OUT/sweep.json and each point\'s design in OUT/k<K>')
    .option('--accel <RxC>', `the accelerator array (default ${DEFAULT_SWEEP_ACCEL})`)
    .option('--max-k <k>', 'the largest K swept (default: the last split leaving the accelerator a weighted layer)')
    .option('--jobs <n>', 'points generated at once, each in its own process (default: the number of cores)')
    .option('--arith <strategy>', `the fixed part's constant arithmetic: ${ARITH_STRATEGIES.join(', ')} (default shared)`)
    .option('--synth', 'measure the fixed part\'s area with synth --target asic (slow; default: the area model)')
    .option('--liberty <file>', 'the Liberty file of the area and energy tables (default: ../shared/pdk sky130_fd_sc_hd)')
    .option('--area-budget <mm2>', 'choose the best K by energy per image among the points within this area, in mm^2 (default: no budget)')
    .option('--emit-slurm <dir>', 'write a Slurm job array (one task per K), a collect job and submit.sh to DIR instead of running the points')
    .option('--point <k>', 'run only the point K (what each worker and job-array task runs)')
    .option('--collect', 'join the points already in OUT into OUT/sweep.json (the job array\'s collect step)')
    .option('--json', 'print sweep.json to stdout')
    .action(async (model: string, options: SweepCliOptions) => {
      await runSweepCommand(model, options);
    });
}

function parseSweepOptions(model: string, cli: SweepCliOptions): SweepOptions {
  if (cli.out === undefined || cli.out.trim() === '') throw badInput('--out is required (the sweep folder to write)');
  const arith = cli.arith ?? 'shared';
  if (!(ARITH_STRATEGIES as readonly string[]).includes(arith)) throw badInput(`--arith ${arith}: supported strategies are ${ARITH_STRATEGIES.join(', ')}`);
  const budget = cli.areaBudget === undefined ? undefined : Number(cli.areaBudget);
  if (budget !== undefined && !(Number.isFinite(budget) && budget > 0)) throw badInput(`--area-budget ${cli.areaBudget}: expected a positive area in mm^2 (e.g. 2.5)`);
  const maxK = optionalInt(cli.maxK, '--max-k', 0, 100_000);
  const jobs = optionalInt(cli.jobs, '--jobs', 1, 256);
  return {
    model, out: cli.out, accel: accelShape(cli.accel ?? DEFAULT_SWEEP_ACCEL), arith: arith as ArithStrategy, synth: cli.synth === true,
    ...(maxK !== undefined ? { maxK } : {}), ...(jobs !== undefined ? { jobs } : {}),
    ...(cli.liberty !== undefined ? { liberty: cli.liberty } : {}), ...(budget !== undefined ? { areaBudgetUm2: budget * 1e6 } : {}),
    onProgress: (message) => process.stderr.write(`${message}\n`),
  };
}

export async function runSweepCommand(model: string, cli: SweepCliOptions): Promise<void> {
  const o = parseSweepOptions(model, cli);
  const modes = [cli.point !== undefined, cli.collect === true, cli.emitSlurm !== undefined].filter(Boolean).length;
  if (modes > 1) throw badInput('--point, --collect and --emit-slurm are different steps: give at most one');
  const tables = sweepTables(o.liberty);
  const plan = planSweep(model, o.maxK);
  if (cli.point !== undefined) {
    const k = optionalInt(cli.point, '--point', 0, 100_000) as number;
    if (!plan.ks.includes(k)) throw badInput(`--point ${k}: not a split of this sweep (K = ${plan.ks.join(', ')})`);
    const point = await runPoint({ model, out: o.out, k, accel: o.accel, arith: o.arith, synth: o.synth, ...(o.liberty !== undefined ? { liberty: o.liberty } : {}), ...(o.onProgress ? { onProgress: o.onProgress } : {}) }, tables);
    process.stdout.write('refused' in point ? `K = ${k}: refused: ${point.refused}\n` : `K = ${k}: ${(point.energyPerImagePj / 1e6).toFixed(3)} uJ per image, ${(point.areaUm2 / 1e6).toFixed(3)} mm^2, ${point.seconds.toFixed(1)} s\n`);
    return;
  }
  if (cli.emitSlurm !== undefined) {
    const files = emitSlurm(cli.emitSlurm, o, plan);
    process.stdout.write(`wrote ${files.join(', ')}: ${plan.ks.length} tasks (K = ${plan.ks.join(', ')}); run ${files[2]} on the cluster\n`);
    return;
  }
  const sweep = cli.collect === true ? collectSweep(o, plan, tables) : await runSweep(o, tables);
  process.stdout.write(cli.json ? `${JSON.stringify(sweep, null, 2)}\n` : `${formatSweep(sweep)}\nwrote ${o.out}/sweep.json\n`);
}
