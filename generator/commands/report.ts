/**
 * `fixynn report DIR [--k K] [--out FILE] [--liberty F]`: one self-contained HTML page of a sweep folder or of
 * a chip/accelerator design folder (verify/report; docs/sweep.md).
 */
import type { Command } from 'commander';
import { checkOutputFile } from '../common/output-path.js';
import { writeReport } from '../../verify/report/report.js';
import { sweepTables } from '../../verify/sweep/point.js';
import { optionalInt } from './options.js';

export interface ReportCliOptions {
  readonly k?: string;
  readonly out?: string;
  readonly liberty?: string;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('one self-contained HTML page (no network): the split, per-layer figures, the sweep as charts, the verification results; writes DIR/report.html')
    .argument('<dir>', 'a sweep folder (fixynn sweep --out) or a chip/accelerator design folder (fixynn generate --accel)')
    .option('--k <k>', 'a sweep: the point detailed per layer (default: the best K, else the last)')
    .option('--out <file>', 'the page to write (default DIR/report.html)')
    .option('--liberty <file>', 'a design folder: the Liberty file of the area and energy tables (default: ../shared/pdk sky130_fd_sc_hd)')
    .action(async (dir: string, options: ReportCliOptions) => {
      await runReport(dir, options);
    });
}

export async function runReport(dir: string, cli: ReportCliOptions): Promise<string> {
  if (cli.out !== undefined) checkOutputFile(cli.out, '--out');
  const k = optionalInt(cli.k, '--k', 0, 100_000);
  const file = await writeReport(dir, () => sweepTables(cli.liberty), { ...(k !== undefined ? { k } : {}), ...(cli.out !== undefined ? { out: cli.out } : {}) });
  process.stdout.write(`wrote ${file}\n`);
  return file;
}
