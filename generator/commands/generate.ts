/**
 * `fixynn generate model.onnx --fixed-layers K --out DIR [--calib PATH] [--calib-count N] [--calib-method M]
 * [--bias-correction M] [--scale X --mean L --std L] [--arith shared|csd|multiply] [--pipeline N] [--raw-input]
 * [--weight-bits N] [--act-bits N] [--requant-bits N]`: the fixed feature extractor of the
 * model's first K layers as a self-contained design folder (generator/design/generate-design.ts).
 */
import type { Command } from 'commander';
import { badInput } from '../common/errors.js';
import { addCalibrationOptions, addPreprocessingOptions, parseQuantizeFlags, type CalibrationFlags, type PreprocessingFlags } from './input-flags.js';
import { generateDesign, type GenerateDesignOptions } from '../design/generate-design.js';
import type { ArithStrategy } from '../ffe/index.js';
import { type FfeCore, ffeCore } from '../design/core.js';
import { formatStream, type Manifest, partOf } from '../design/manifest.js';
import { formatThroughput } from '../design/chip.js';
import { runGenerateAccel } from './generate-accel.js';
import { accelMemory } from '../design/accel-part.js';
import { optionalInt } from './options.js';
import { checkClockMhz, DEFAULT_CLOCK_MHZ } from '../design/handoff.js';

export { optionalInt } from './options.js';

export const ARITH_STRATEGIES: readonly ArithStrategy[] = ['shared', 'csd', 'multiply'];
/**
 * 0: no register stages inside the constant products (each weighted layer registers its products and its
 * requantization once). N > 0 adds a stage every N adder levels; those layers then use credit flow control
 * (generator/ffe/layer-module.ts), at the same one pixel per clock.
 */
export const DEFAULT_PIPELINE = 0;

export interface GenerateCliOptions extends PreprocessingFlags, CalibrationFlags {
  readonly fixedLayers?: string;
  readonly out?: string;
  readonly arith?: string;
  readonly pipeline?: string;
  readonly rawInput?: boolean;
  readonly weightBits?: string;
  readonly requantBits?: string;
  readonly actBits?: string;
  readonly json?: boolean;
  readonly effort?: string;
  /** `--clock-mhz`: the hand-off bundle's clock (generator/design/handoff.ts). */
  readonly clockMhz?: string;
  /** `--accel RxC`: the programmable accelerator (generator/commands/generate-accel.ts). */
  readonly accel?: string;
  /** `--accel-mem onchip|axi`: where the accelerator's MEM lives (K = 0: the accelerator alone; K > 0: axi spills the frame buffer over AXI). */
  readonly accelMem?: string;
  /** `--workers N`: threads solving the layers' adder graphs. */
  readonly workers?: string;
}

export function registerGenerate(program: Command): void {
  const command = program
    .command('generate')
    .description('emit the fixed-weight feature extractor (Verilog, testbenches, manifest) of the first K layers')
    .argument('<model>', 'the ONNX model (float, or QDQ with its own quantization)')
    .option('--fixed-layers <k>', 'layers to fix: a number K (layers 0..K-1) or a node name (up to and including its layer)')
    .option('--out <dir>', 'the design folder to write (replaced only once the new one is complete)')
    .option('--arith <strategy>', `constant arithmetic: ${ARITH_STRATEGIES.join(', ')} (default shared)`)
    .option('--pipeline <n>', `a register stage every N adder levels, 0 = none (default ${DEFAULT_PIPELINE})`)
    .option('--raw-input', 'take raw 8-bit pixels; the model\'s affine preprocessing is folded into the first layer')
    .option('--weight-bits <n>', 'weight width for a float model, 2..16 (default 8)')
    .option('--requant-bits <n>', 'force the width of every requantization multiplier M, 8..32 (default: per channel, the fewest bits reproducing ONNX Runtime for a QDQ model; 16 for a float model)')
    .option('--act-bits <n>', 'activation width for a float model, 2..16 (default 8)')
    .option('--effort <n>', 'greedy runs of the shared optimizer per layer, 1..16 (default: by size, 4 up to 2,000 nonzero weights, else 1; an explicit value also tries the output-differencing candidates on large layers)')
    .option('--workers <n>', 'threads solving the layers\' adder graphs, 1..64 (default: the cores, one below 10,000 nonzero weights to solve); the Verilog is the same for any number. Solved graphs are kept in $FIXYNN_ARITH_CACHE (default <tmpdir>/fixynn-arith-cache), keyed by content')
    .option('--clock-mhz <f>', `the clock of the synthesis hand-off (the SDC in synth/, ABC's delay target), in MHz (default ${DEFAULT_CLOCK_MHZ})`)
    .option('--accel <RxC>', 'the programmable accelerator (RxC MAC array, e.g. 8x8) running the layers after the split, its program and images: with --fixed-layers 0 alone, with K > 0 fed by the fixed part (the chip)')
    .option('--accel-mem <kind>', 'where the accelerator\'s MEM lives: onchip (default) or axi (off chip behind an AXI4 master, control over AXI4-Lite; on the chip (K > 0) the fixed part\'s frames then go into two DRAM frame slots through that master, as they do by default when the cut tensor exceeds the on-chip frame FIFO)')
    .option('--json', 'print a JSON summary');
  addCalibrationOptions(command);
  addPreprocessingOptions(command);
  command.action(async (model: string, options: GenerateCliOptions) => {
    // K = 0 with --accel: the accelerator alone; K > 0 with --accel: the chip (the fixed part feeding it).
    if (options.accel !== undefined && /^\s*0+\s*$/.test(options.fixedLayers ?? '')) await runGenerateAccel(model, options);
    else await runGenerate(model, options);
  });
}

/** `core` is generator/ffe; tests pass a stand-in to check the design folder on its own. */
export async function runGenerate(modelPath: string, cli: GenerateCliOptions, core: FfeCore = ffeCore): Promise<void> {
  const options = parseGenerateOptions(cli);
  // Progress goes to stderr, with --json too: stdout carries only the summary.
  const progress = (message: string): void => { process.stderr.write(`${message}\n`); };
  const result = await generateDesign(modelPath, { ...options, onProgress: progress }, core);
  const m = result.manifest;
  const ffe = partOf(m, 'ffe');
  const wide = ffe.quantization.calibration?.tensorBits;
  if (wide !== undefined) progress(`wide activations (--wide-acts): ${Object.entries(wide).map(([t, b]) => `${t} ${b}-bit`).join(', ')}`);
  if (m.split !== undefined) {
    printChip(m, options.out, result.seconds.total, cli.json === true);
    return;
  }
  if (cli.json) {
    process.stdout.write(`${JSON.stringify({
      out: options.out, top: m.top.module, fixedLayers: ffe.fixedLayerCount, files: Object.keys(m.files).length, latencyCycles: m.top.latencyCycles,
      idealCyclesPerFrame: m.top.throughput.idealCyclesPerFrame, cost: m.cost, nonzeroWeights: ffe.cost.nonzeroWeights, seconds: result.seconds,
      optimizer: result.optimizer,
    }, null, 2)}\n`);
    return;
  }
  const c = m.cost;
  const perWeight = ffe.cost.addersPerNonzeroWeight === null ? 'n/a' : ffe.cost.addersPerNonzeroWeight.toFixed(2);
  const multipliers = c.multipliers > 0 ? `, ${c.multipliers} constant multipliers left to synthesis` : '';
  process.stdout.write([
    `wrote ${options.out}: top ${m.top.module}, ${ffe.fixedLayerCount} fixed layer(s), ${m.rtl.length} Verilog file(s)`,
    `input ${formatStream(m.top.input)}, output ${formatStream(m.top.output)}`,
    `latency ${m.top.latencyCycles} cycles, ${m.top.throughput.idealCyclesPerFrame} cycles per frame (one input pixel per clock)`,
    `arithmetic ${ffe.options.arith}: ${c.productAdders} product adders for ${ffe.cost.nonzeroWeights} nonzero weights (${perWeight} per weight)${multipliers}`,
    `cost (docs/costs.md): ${c.adders} adders (${c.adderBits} bits), ${c.comparators} comparators, ${c.registerBits} register bits, ${c.memoryBits} memory bits`,
    `generated in ${result.seconds.total.toFixed(1)} s`,
  ].join('\n') + '\n');
}

export function parseGenerateOptions(cli: GenerateCliOptions): Omit<GenerateDesignOptions, 'onProgress'> {
  if (cli.fixedLayers === undefined || cli.fixedLayers.trim() === '') throw badInput('--fixed-layers is required (a number of layers, or a node name)');
  if (cli.out === undefined || cli.out.trim() === '') throw badInput('--out is required (the design folder to write)');
  if (/^0+$/.test(cli.fixedLayers.trim())) throw badInput(`--fixed-layers ${cli.fixedLayers}: K = 0 fixes no layer, so every layer runs on the programmable accelerator: add --accel RxC (e.g. --accel 8x8)`);
  const arith = cli.arith ?? 'shared';
  if (!(ARITH_STRATEGIES as readonly string[]).includes(arith)) throw badInput(`--arith ${arith}: supported strategies are ${ARITH_STRATEGIES.join(', ')}`);
  const effort = optionalInt(cli.effort, '--effort', 1, 16);
  const workers = optionalInt(cli.workers, '--workers', 1, 64);
  const clockMhz = cli.clockMhz === undefined ? undefined : checkClockMhz(Number(cli.clockMhz.trim() === '' ? NaN : cli.clockMhz));
  // --accel-mem axi on the chip: MEM off chip and the frame buffer over AXI (the fixed part's frames in
  // DRAM slots written through the accelerator's AXI4 master), even where the cut fits the on-chip FIFO.
  const accelMem = cli.accelMem === undefined ? undefined : accelMemory(cli.accelMem);
  if (accelMem !== undefined && cli.accel === undefined) throw badInput(`--accel-mem ${cli.accelMem}: applies to the accelerator; add --accel RxC`);
  return {
    fixedLayers: cli.fixedLayers,
    out: cli.out,
    ...parseQuantizeFlags(cli),
    arith: arith as ArithStrategy,
    pipeline: optionalInt(cli.pipeline, '--pipeline', 0, 64) ?? DEFAULT_PIPELINE,
    rawInput: cli.rawInput === true,
    ...(accelMem !== undefined ? { accelMem } : {}),
    ...(effort !== undefined ? { effort } : {}),
    ...(workers !== undefined ? { workers } : {}),
    ...(clockMhz !== undefined ? { clockMhz } : {}),
    ...(cli.accel !== undefined ? { accel: cli.accel } : {}),
  };
}

/** The chip's summary: both parts, the split and the throughput of the whole. */
function printChip(m: Manifest, out: string, seconds: number, json: boolean): void {
  const ffe = partOf(m, 'ffe');
  const accel = partOf(m, 'accel');
  const split = m.split;
  if (split === undefined) return;
  if (json) {
    process.stdout.write(`${JSON.stringify({
      out, top: m.top.module, fixedLayers: split.fixedLayers, files: Object.keys(m.files).length, split,
      fixedPart: { cyclesPerFrame: split.fixedCyclesPerFrame, adders: ffe.cost.adders, productAdders: ffe.cost.productAdders, nonzeroWeights: ffe.cost.nonzeroWeights },
      accelerator: { array: accel.array, peakMacsPerCycle: accel.peakMacsPerCycle, program: accel.program },
      cost: m.cost, seconds,
    }, null, 2)}\n`);
    return;
  }
  const p = accel.program;
  process.stdout.write([
    `wrote ${out}: top ${m.top.module}: the fixed part (layers 0..${split.fixedLayers - 1}) streaming '${split.tensor}' ${formatStream(ffe.output)} into the ${accel.array.rows}x${accel.array.cols} accelerator (layers ${split.fixedLayers}..${accel.quantization.layers.length - 1}); ${m.rtl.length} Verilog file(s)`,
    split.frameBuffer === 'axi'
      ? `input ${formatStream(m.top.input)}; frame buffer over AXI: the fixed part's frames go into two DRAM frame slots through the accelerator's AXI4 master (MEM off chip; set MEM_BASE, PROG_LEN and spill_in_addr before streaming); scores and class in MEM after each run`
      : `input ${formatStream(m.top.input)}, output ${formatStream(m.top.output)} (scores, then the class)`,
    `fixed part: ${ffe.cost.productAdders} product adders for ${ffe.cost.nonzeroWeights} nonzero weights, ${ffe.cost.adders} adders in all; ${split.fixedCyclesPerFrame} cycles per frame (one input pixel per clock)`,
    `accelerator: ${accel.peakMacsPerCycle.array} MACs/cycle peak; program ${p.instructions} instructions, ${p.predictedCycles} cycles per frame predicted, ${p.macs} MACs, utilization ${(100 * p.utilization).toFixed(1)}%`,
    formatThroughput({ ...split, balancingArray: split.balancingArray }),
    `cost (docs/costs.md): ${m.cost.adders} adders, ${m.cost.multipliers} multipliers, ${m.cost.registerBits} register bits, ${m.cost.memoryBits} memory bits`,
    `generated in ${seconds.toFixed(1)} s`,
  ].join('\n') + '\n');
}
