/**
 * `fixynn verify DIR [--program PROG] [--sim verilator|icarus] [--images N] [--data PATH] [--json]` on a
 * design with an accelerator part (verify/accel/verify-design.ts). Exit 1 when a rung of the ladder differs
 * or the RTL faults.
 */
import { badInput, checkFailed } from '../common/errors.js';
import { formatAccelSummary, verifyAccelDesign, type AccelVerifySummary } from '../../verify/accel/verify-design.js';
import type { SimulatorName } from '../../verify/sim/index.js';
import { writeVerifyRecord } from '../../verify/record.js';
import { toolVersion } from '../../verify/sim/tools.js';
import { optionalInt } from './options.js';
import { parsePreprocessing } from './input-flags.js';

/** verify's flags (generator/commands/verify.ts); the stream-only ones are refused here. */
export interface VerifyAccelCliOptions {
  readonly sim?: string;
  readonly images?: string;
  readonly data?: string;
  readonly program?: string;
  readonly trace?: string;
  readonly stalls?: boolean;
  readonly seed?: string;
  readonly json?: boolean;
  readonly scale?: string;
  readonly mean?: string;
  readonly std?: string;
}

export async function runVerifyAccel(dir: string, cli: VerifyAccelCliOptions, defaultImages: number): Promise<AccelVerifySummary> {
  const simulator = cli.sim ?? 'verilator';
  if (simulator !== 'verilator' && simulator !== 'icarus') throw badInput(`--sim ${simulator}: supported simulators are verilator, icarus`);
  for (const [flag, value] of [['--trace', cli.trace], ['--stalls', cli.stalls], ['--seed', cli.seed]] as const) {
    if (value !== undefined) throw badInput(`${flag}: applies to stream designs (a fixed part); this design is the accelerator alone`);
  }
  const supported = new Set(['sim', 'images', 'data', 'program', 'json', 'trace', 'stalls', 'seed', 'scale', 'mean', 'std']);
  if ((cli as Record<string, unknown>).labels !== undefined) throw badInput('--labels: applies to chips (a fixed part feeding the accelerator)');
  const unsupported = Object.entries(cli as Record<string, unknown>).filter(([k, v]) => v !== undefined && !supported.has(k)).map(([k]) => `--${k}`);
  if (unsupported.length > 0) throw badInput(`${unsupported.join(', ')}: not supported for accelerator designs yet (they take --sim, --images, --data, --program, --scale, --mean, --std, --json)`);
  const images = optionalInt(cli.images, '--images', 1, 1_000_000) ?? defaultImages;
  const summary = await verifyAccelDesign(dir, {
    simulator: simulator as SimulatorName,
    images,
    ...(cli.data !== undefined ? { data: cli.data } : {}),
    ...(cli.program !== undefined ? { program: cli.program } : {}),
    preprocess: parsePreprocessing(cli),
    onProgress: (message) => process.stderr.write(`${message}\n`),
  });
  process.stdout.write(cli.json ? `${JSON.stringify(summary, null, 2)}\n` : formatAccelSummary(summary));
  if (cli.program === undefined) {
    // The design's own program only: a record of another program would describe that program, not the design.
    writeVerifyRecord(dir, {
      kind: 'accelerator', passed: summary.fault === null && summary.isaMismatches === 0 && summary.rtlMismatches === 0, images: summary.images, data: summary.dataSource,
      rungs: [
        { check: 'scores and class: ISA simulator vs the integer model', simulator: 'fixynn ISA simulator', mismatches: summary.isaMismatches, first: summary.isaFirst?.text ?? null },
        { check: 'scores and class: RTL vs the ISA simulator', simulator: await toolVersion(summary.simulator === 'icarus' ? 'iverilog' : 'verilator'), mismatches: summary.rtlMismatches, first: summary.rtlFirst },
      ],
      cycles: { predicted: summary.memory === 'axi' ? summary.totalCycles.predictedReferenceMemory : summary.totalCycles.predicted, measured: summary.totalCycles.measured }, accuracy: null, fault: summary.fault,
    });
  }
  if (summary.fault !== null) throw checkFailed(summary.fault);
  if (summary.isaMismatches > 0) throw checkFailed(`the ISA simulator differs from the integer model (a compiler bug): ${summary.isaFirst?.text ?? ''}`);
  if (summary.rtlMismatches > 0) throw checkFailed(`the RTL differs from the ISA simulator: ${summary.rtlFirst ?? ''}`);
  return summary;
}
