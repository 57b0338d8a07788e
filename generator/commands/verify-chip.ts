/**
 * `fixynn verify DIR [--program PROG] [--sim verilator|icarus] [--images N] [--data PATH] [--labels NPY]
 * [--stalls [--seed N]] [--trace FILE] [--json]` on a chip (a fixed part feeding the accelerator; verify/chip/verify-chip.ts). Exit 1 when a
 * rung differs, the RTL faults, or the measured frame period is off the reported one by more than 2%.
 */
import path from 'node:path';
import { badInput, checkFailed } from '../common/errors.js';
import { checkOutputFile } from '../common/output-path.js';
import { formatChipSummary, PERIOD_TOLERANCE, verifyChip, type ChipVerifySummary } from '../../verify/chip/verify-chip.js';
import type { SimulatorName } from '../../verify/sim/index.js';
import { writeVerifyRecord } from '../../verify/record.js';
import { toolVersion } from '../../verify/sim/tools.js';
import { optionalInt } from './options.js';

/** With --stalls: s_tvalid and m_tready each low about 1 cycle in 4 (the fixed part's verify too). */
export const STALL_CHANCE = 64;

export interface VerifyChipCliOptions {
  readonly sim?: string;
  readonly images?: string;
  readonly data?: string;
  readonly labels?: string;
  readonly program?: string;
  readonly stalls?: boolean;
  readonly seed?: string;
  readonly trace?: string;
  readonly json?: boolean;
}

export async function runVerifyChip(dir: string, cli: VerifyChipCliOptions, defaultImages: number): Promise<ChipVerifySummary> {
  const simulator = cli.sim ?? 'verilator';
  if (simulator !== 'verilator' && simulator !== 'icarus') throw badInput(`--sim ${simulator}: supported simulators are verilator, icarus`);
  const supported = new Set(['sim', 'images', 'data', 'labels', 'program', 'stalls', 'seed', 'trace', 'json']);
  const unsupported = Object.entries(cli as Record<string, unknown>).filter(([k, v]) => v !== undefined && !supported.has(k)).map(([k]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (unsupported.length > 0) throw badInput(`${unsupported.join(', ')}: not supported for a chip (it takes --sim, --images, --data, --labels, --program, --stalls, --seed, --trace, --json)`);
  const images = optionalInt(cli.images, '--images', 1, 1_000_000) ?? defaultImages;
  const seed = optionalInt(cli.seed, '--seed', 0, 2 ** 31 - 1) ?? 1;
  if (cli.trace !== undefined) checkOutputFile(cli.trace, '--trace');
  const summary = await verifyChip(dir, {
    simulator: simulator as SimulatorName,
    images,
    ...(cli.data !== undefined ? { data: cli.data } : {}),
    ...(cli.labels !== undefined ? { labels: cli.labels } : {}),
    ...(cli.program !== undefined ? { program: cli.program } : {}),
    ...(cli.stalls ? { stalls: { input: STALL_CHANCE, output: STALL_CHANCE, seed } } : {}),
    ...(cli.trace !== undefined ? { traceFile: cli.trace } : {}),
    onProgress: (message) => process.stderr.write(`${message}\n`),
  });
  if (cli.trace !== undefined) process.stderr.write(`wrote the VCD waveform of the run to ${path.resolve(cli.trace)}\n`);
  process.stdout.write(cli.json ? `${JSON.stringify(summary, null, 2)}\n` : formatChipSummary(summary));
  if (cli.program === undefined && cli.labels === undefined) {
    // The design's own program and task only: another task's run describes that task, not the design.
    const p = summary.framePeriod;
    writeVerifyRecord(dir, {
      kind: 'chip', passed: summary.fault === null && summary.isaMismatches === 0 && summary.rtlMismatches === 0 && !(p.deviation !== null && Math.abs(p.deviation) > PERIOD_TOLERANCE),
      images: summary.images, data: summary.dataSource,
      rungs: [
        { check: 'scores and class: ISA simulator (layers after the split) vs the integer model', simulator: 'fixynn ISA simulator', mismatches: summary.isaMismatches, first: summary.isaFirst },
        { check: 'scores and class: the whole chip\'s RTL vs the ISA simulator, frames back to back', simulator: await toolVersion(summary.simulator === 'icarus' ? 'iverilog' : 'verilator'), mismatches: summary.rtlMismatches, first: summary.rtlFirst },
      ],
      cycles: { predicted: p.reported, measured: summary.stalls === null ? p.measured : null }, accuracy: summary.accuracy, fault: summary.fault,
    });
  }
  if (summary.fault !== null) throw checkFailed(summary.fault);
  if (summary.isaMismatches > 0) throw checkFailed(`the ISA simulator differs from the integer model (a compiler bug): ${summary.isaFirst ?? ''}`);
  if (summary.rtlMismatches > 0) throw checkFailed(`the chip's RTL differs from the ISA simulator: ${summary.rtlFirst ?? ''}`);
  const p = summary.framePeriod;
  if (p.deviation !== null && Math.abs(p.deviation) > PERIOD_TOLERANCE) {
    throw checkFailed(`the measured frame period ${p.measured?.toFixed(1) ?? '?'} clocks is ${(100 * p.deviation).toFixed(2)}% off the reported ${p.reported} (tolerance ${100 * PERIOD_TOLERANCE}%)`);
  }
  return summary;
}
