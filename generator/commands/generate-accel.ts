/**
 * `fixynn generate model.onnx --fixed-layers 0 --accel RxC [--accel-mem onchip|axi] --out DIR [--calib PATH]
 * [--weight-bits N] [--act-bits N] [--json]`: the programmable accelerator alone running the whole model
 * (generator/design/generate-accel-design.ts).
 */
import { badInput } from '../common/errors.js';
import { generateAccelDesign } from '../design/generate-accel-design.js';
import { partOf } from '../design/manifest.js';
import { accelMemory } from '../design/accel-part.js';
import { type CalibrationFlags, type PreprocessingFlags, parseQuantizeFlags } from './input-flags.js';

/** generate's flags (generator/commands/generate.ts); the fixed part's own ones are refused here. */
export interface GenerateAccelCliOptions extends PreprocessingFlags, CalibrationFlags {
  readonly fixedLayers?: string;
  readonly out?: string;
  readonly arith?: string;
  readonly pipeline?: string;
  readonly rawInput?: boolean;
  readonly weightBits?: string;
  readonly requantBits?: string;
  readonly actBits?: string;
  readonly effort?: string;
  readonly workers?: string;
  readonly json?: boolean;
  readonly accel?: string;
  readonly accelMem?: string;
}

export async function runGenerateAccel(modelPath: string, cli: GenerateAccelCliOptions): Promise<void> {
  if (cli.fixedLayers === undefined || cli.fixedLayers.trim() === '') throw badInput('--fixed-layers is required (0 with --accel: every layer on the accelerator)');
  if (cli.out === undefined || cli.out.trim() === '') throw badInput('--out is required (the design folder to write)');
  if (cli.accel === undefined) throw badInput('--accel RxC is required');
  for (const [flag, value] of [['--arith', cli.arith], ['--pipeline', cli.pipeline], ['--raw-input', cli.rawInput], ['--effort', cli.effort], ['--workers', cli.workers]] as const) {
    if (value !== undefined) throw badInput(`${flag} shapes the fixed part; with --fixed-layers 0 --accel there is none`);
  }
  // Any other generate flag (e.g. --clock-mhz) is not wired into the accelerator's flow yet: refused rather than ignored.
  const supported = new Set(['fixedLayers', 'out', 'accel', 'accelMem', 'json', 'arith', 'pipeline', 'rawInput', 'effort', 'workers', 'calib', 'calibCount', 'calibMethod', 'biasCorrection', 'scale', 'mean', 'std', 'weightBits', 'actBits', 'wideActs', 'requantBits']);
  const unsupported = Object.entries(cli as Record<string, unknown>).filter(([k, v]) => v !== undefined && !supported.has(k)).map(([k]) => `--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  if (unsupported.length > 0) throw badInput(`${unsupported.join(', ')}: not supported with --accel yet (the accelerator design takes the calibration, preprocessing and width flags)`);
  const progress = (message: string): void => { if (!cli.json) process.stderr.write(`${message}\n`); };
  const { manifest: m, seconds } = await generateAccelDesign(modelPath, {
    fixedLayers: cli.fixedLayers, accel: cli.accel, out: cli.out, ...parseQuantizeFlags(cli), onProgress: progress,
    ...(cli.accelMem !== undefined ? { accelMem: accelMemory(cli.accelMem) } : {}),
  });
  const a = partOf(m, 'accel');
  if (cli.json) {
    process.stdout.write(`${JSON.stringify({ out: cli.out, top: m.top.module, accelerator: { array: a.array, peakMacsPerCycle: a.peakMacsPerCycle, widths: a.widths, memoryBytes: a.memoryBytes }, program: a.program, cost: m.cost, seconds }, null, 2)}\n`);
    return;
  }
  const p = a.program;
  process.stdout.write([
    `wrote ${cli.out}: top ${m.top.module}, the ${a.array.rows}x${a.array.cols} accelerator running layers ${a.fromLayer}..${a.quantization.layers.length - 1}, ${m.rtl.length} Verilog file(s)`,
    `peak ${a.peakMacsPerCycle.array} MACs/cycle (array), ${a.peakMacsPerCycle.depthwise} (depthwise engine); operands ${a.widths.activation}/${a.widths.weight} bits, accumulators ${a.widths.accumulator} bits`,
    `memories: ACT ${a.memoryBytes.act} B, WGT ${a.memoryBytes.wgt} B, ACC ${a.memoryBytes.acc} B, QP ${a.memoryBytes.qp} B, MEM ${a.memoryBytes.mem} B${a.config.memory === 'axi' ? ' (off chip, behind the AXI4 master; control over AXI4-Lite)' : ''}`,
    `program: ${p.instructions} instructions, ${p.predictedCycles} cycles predicted per frame, ${p.macs} MACs, utilization ${(100 * p.utilization).toFixed(1)}%`,
    ...p.layers.map((l) => `  layer ${l.index} ${l.name} (${l.kind}): ${l.instructions} instr, ${l.predictedCycles} cycles, ${l.macs} MACs, ${(100 * l.utilization).toFixed(1)}%`),
    `cost (docs/costs.md): ${m.cost.multipliers} multipliers (${m.cost.multiplierBits} bits), ${m.cost.adders} adders, ${m.cost.registerBits} register bits, ${m.cost.memoryBits} memory bits`,
    `generated in ${seconds.toFixed(1)} s`,
  ].join('\n') + '\n');
}
