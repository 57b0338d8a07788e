/**
 * `npm run bench:accel [-- --json] [-- --digits N] [-- --clock MHz] [-- --no-rtl] [-- --no-yosys] [-- --yosys-minutes M] [-- --yosys-arrays 8,16]`: the
 * accelerator's figures (issue 12), each beside its target or baseline where one exists. Every figure is with
 * issue 12's reference memory (16 B/cycle, 100-cycle read latency, no stalls): the cycle model's prediction
 * and, in Verilator, the accelerator with MEM behind its AXI4 master on the testbench's reference memory.
 *  - MobileNetV1 0.25 QDQ (../shared/models, read in place; said plainly where absent) at K = 0 on the 16x16
 *    chip `fixynn generate --fixed-layers 0 --accel 16x16` builds (generator/design/accel-part.ts: the large
 *    chip, tiled through MEM): per layer MACs, predicted and simulated cycles, utilization (predicted and
 *    simulated), MACs/cycle and bytes moved; the whole network's frames/s at a nominal clock, the utilization
 *    after the first five layers; one photo crop in Verilator, its scores checked against the integer model.
 *  - The example model at 8x8 and 16x16: the same per layer, N digits in Verilator, each checked.
 *  - Verilator build time and simulated cycles per second of each build.
 *  - Yosys `synth` cell counts of the 8x8 and 16x16 accelerators (MEM off chip, AXI4): the scratchpads are
 *    left as memory cells and counted apart in bits (mapped to flip-flops they would be most of the count and
 *    take Yosys hours; a chip holds them in SRAM macros). Slow: minutes each.
 * The cycle model is generator/accel/cycle-model.ts; docs/accel-compiler.md explains the schedule.
 */
import { existsSync } from 'node:fs';
import { type AccelConfig, checkAgainstIntegerModel, type CompiledProgram, type CycleReport, REFERENCE_MEMORY as MODEL_REFERENCE, replayCycles, runOnSimulator } from '../generator/accel/index.js';
import { accelSources } from '../generator/accel/rtl/sources.js';
import type { RtlConfig } from '../generator/accel/rtl/config.js';
import { DEFAULT_MNIST_CALIBRATION, loadInputs, mnistCalibration } from '../generator/data/index.js';
import { mnistTest } from '../generator/data/mnist.js';
import { accelChipConfig, compileForChip, withAxiMemory } from '../generator/design/accel-part.js';
import { IntegerModel } from '../generator/golden/integer-model.js';
import { importDecoded, importModel } from '../generator/import/index.js';
import { quantizeModel } from '../generator/calibrate/quantize-model.js';
import { readOnnxFile } from '../generator/onnx/decode.js';
import type { QuantizedGraph } from '../generator/quant/ir.js';
import { buildAccel, REFERENCE_MEMORY } from '../verify/accel/rtl-sim.js';
import { axiVerificationConfig } from '../verify/accel/configs.js';
import { runProgramOnRtl } from '../verify/accel/run-program.js';
import { layerCycles } from '../verify/accel/verify-design.js';
import { yosysStat } from '../verify/sim/index.js';
import { MOBILENET_QDQ, photoCrops } from './photos.js';
import { scriptArgs } from './args.js';

const EXAMPLE = 'examples/mnist-mobilenet/model.onnx';
const { flags } = scriptArgs('npm run bench:accel [-- --json] [-- --digits N] [-- --clock MHz] [-- --no-rtl] [-- --no-yosys] [-- --yosys-minutes M] [-- --yosys-arrays 8,16]', {
  json: 'boolean', digits: 'number', clock: 'number', 'no-rtl': 'boolean', 'no-yosys': 'boolean', 'yosys-minutes': 'number', 'yosys-arrays': 'string',
});
const json = flags.json;
const digits = flags.digits ?? 20;
/** Nominal clock for frames/s (a figure to compare designs by, not a timing closure claim). */
const clockMHz = flags.clock ?? 500;
const rtl = !flags['no-rtl'];
/** Yosys' time limit per accelerator: the 8x8 synth outlasted the default 15 minutes on the loaded 2-core machine. */
const yosysMinutes = flags['yosys-minutes'] ?? 180;
/** The square arrays whose Yosys cells are counted (each is a long run: --yosys-arrays 16 for one alone). */
const yosysArrays = (flags['yosys-arrays'] ?? '8,16').split(',').map(Number);
const log = (line: string): void => { if (!json) console.log(line); };
const progress = { onProgress: (m: string): void => { process.stderr.write(`${m}\n`); } };

/** Issue 12's targets (MobileNet on 16x16) and the published baseline the figures are printed beside. */
const TARGET = { pointwise14: 0.9, pointwise7: 0.8, depthwise14MacsPerCycle: 64, gemminiDepthwiseMacsPerCycle: 3, layerError: 0.05, layerSlack: 64, networkError: 0.02 } as const;

interface LayerFigures {
  readonly index: number; readonly name: string; readonly kind: string; readonly map: string;
  readonly macs: number; readonly predictedCycles: number; readonly simulatedCycles: number | null;
  readonly utilization: number; readonly simulatedUtilization: number | null; readonly macsPerCycle: number;
  readonly bytesMoved: number; readonly target?: string; readonly meetsTarget?: boolean; readonly withinBound: boolean | null;
}

/** Issue 12's utilization target of a MobileNet layer (16x16), and whether the prediction meets it. */
function targetOf(graph: QuantizedGraph, l: CycleReport['layers'][number]): { target: string; meets: boolean } | undefined {
  const layer = graph.layers.find((x) => x.index === l.index)!;
  const [, h, w] = graph.tensors[layer.output]!.shape;
  const [, ih] = graph.tensors[layer.inputs[0]!]!.shape;
  if (l.kind === 'conv 1x1' && h === 14 && w === 14) return { target: `util >= ${100 * TARGET.pointwise14}%`, meets: l.utilization >= TARGET.pointwise14 };
  if (l.kind === 'conv 1x1' && h === 7 && w === 7) return { target: `util >= ${100 * TARGET.pointwise7}%`, meets: l.utilization >= TARGET.pointwise7 };
  if (l.kind.startsWith('depthwise') && h === 14) {
    return { target: `>= ${TARGET.depthwise14MacsPerCycle} MAC/cycle${ih !== 14 ? ' (stride 2 from 28x28)' : ''}; Gemmini <= ${TARGET.gemminiDepthwiseMacsPerCycle}`, meets: l.macsPerCycle >= TARGET.depthwise14MacsPerCycle };
  }
  return undefined;
}

function layerFigures(graph: QuantizedGraph, config: AccelConfig, report: CycleReport, simulated: ReadonlyArray<number | null> | undefined, targets: boolean): LayerFigures[] {
  return report.layers.map((l, i) => {
    const layer = graph.layers.find((x) => x.index === l.index)!;
    const [, h, w] = graph.tensors[layer.output]!.shape;
    const sim = simulated?.[i] ?? null;
    // The layer's peak (the array, or the depthwise engine) as the cycle model counts it: utilization * cycles.
    const peakMacs = l.utilization > 0 ? l.macs / l.utilization / l.cycles : config.rows * config.cols;
    const t = targets ? targetOf(graph, l) : undefined;
    return {
      index: l.index, name: l.name, kind: l.kind, map: `${h}x${w}`, macs: l.macs, predictedCycles: l.cycles, simulatedCycles: sim,
      utilization: l.utilization, simulatedUtilization: sim ? l.macs / (peakMacs * sim) : null, macsPerCycle: l.macsPerCycle,
      bytesMoved: l.bytes.load + l.bytes.store, withinBound: sim === null ? null : Math.abs(l.cycles - sim) <= Math.max(TARGET.layerSlack, TARGET.layerError * sim),
      ...(t ? { target: t.target, meetsTarget: t.meets } : {}),
    };
  });
}

function printLayers(title: string, layers: readonly LayerFigures[]): void {
  log(title);
  log('  layer kind            map        MACs predicted simulated   diff   util  simutil MAC/cyc bytes moved  target/baseline');
  for (const l of layers) {
    const diff = l.simulatedCycles ? `${(100 * (l.predictedCycles - l.simulatedCycles) / l.simulatedCycles).toFixed(1)}%${l.withinBound ? '' : '!'}` : '';
    log(`  ${String(l.index).padStart(5)} ${l.kind.padEnd(15)} ${l.map.padEnd(8)} ${String(l.macs).padStart(9)} ${String(l.predictedCycles).padStart(9)} ${String(l.simulatedCycles ?? '-').padStart(9)} ${diff.padStart(6)} ${(100 * l.utilization).toFixed(1).padStart(5)}% ${l.simulatedUtilization === null ? '      -' : `${(100 * l.simulatedUtilization).toFixed(1).padStart(6)}%`} ${l.macsPerCycle.toFixed(1).padStart(7)} ${String(l.bytesMoved).padStart(11)}  ${l.target ? `${l.target}: ${l.meetsTarget ? 'met' : 'MISSED'}` : ''}`);
  }
}

/** Utilization of the array from the start of layer `from` to the end (MACs / (R*C x cycles)). */
function utilizationFrom(report: CycleReport, from: number, config: AccelConfig): number {
  const start = report.layers[from]?.first ?? 0;
  const macs = report.layers.slice(from).reduce((s, l) => s + l.macs, 0);
  return macs / (config.rows * config.cols * (report.total - start));
}

interface Simulation {
  readonly buildSeconds: number; readonly cached: boolean; readonly frames: number; readonly bitExact: number;
  readonly simulatedCyclesPerFrame: number; readonly simulatedCyclesPerSecond: number; readonly layers: ReadonlyArray<number | null>;
}

/**
 * The program on the AXI variant of the chip in Verilator with the reference memory: per layer the cycles of
 * the first frame, each frame's scores against the integer model (and the ISA simulator's).
 */
async function simulate(graph: QuantizedGraph, axi: RtlConfig, compiled: CompiledProgram, inputs: readonly Int32Array[], integer: IntegerModel): Promise<Simulation> {
  const build = await buildAccel(axi, 'verilator', progress);
  const outT = graph.tensors[graph.output]!;
  const t0 = performance.now();
  const runs = await runProgramOnRtl(build, compiled, inputs, outT, { memory: REFERENCE_MEMORY, maxCycles: 5_000_000 });
  const seconds = (performance.now() - t0) / 1000;
  // Bit-exact: the RTL's output equals the ISA simulator's, and the ISA simulator agrees with the integer model.
  const bitExact = runs.filter((r, i) => r.run.status === 'done' && [...r.output].join() === [...runOnSimulator(compiled, inputs[i]!, outT).output].join()
    && checkAgainstIntegerModel(compiled, graph, integer, inputs[i]!).mismatch === undefined).length;
  return {
    buildSeconds: build.buildSeconds, cached: build.cached, frames: runs.length, bitExact,
    simulatedCyclesPerFrame: runs[0]!.run.cycles, simulatedCyclesPerSecond: Math.round(runs.reduce((s, r) => s + r.run.cycles, 0) / seconds),
    layers: layerCycles(compiled, runs[0]).map((l) => l.measured),
  };
}

/**
 * Yosys `synth` without `memory_map`: the scratchpads stay memory cells (SRAM macros on a chip; as flip-flops
 * ACT alone is 512 kbit at 16x16), the rest is mapped to gates as `synth` does.
 */
const SYNTH_KEEPING_MEMORIES = (top: string): string => `synth -flatten -top ${top} -run begin:fine; opt -fast -full; techmap; opt -fast; abc -fast; opt -fast`;

function network(report: CycleReport, config: AccelConfig, sim: Simulation | undefined): Record<string, unknown> {
  const error = sim ? (report.total - sim.simulatedCyclesPerFrame) / sim.simulatedCyclesPerFrame : null;
  return {
    predictedCycles: report.total, simulatedCycles: sim?.simulatedCyclesPerFrame ?? null, error, withinBound: error === null ? null : Math.abs(error) <= TARGET.networkError,
    framesPerSecond: (clockMHz * 1e6) / report.total, framesPerSecondSimulated: sim ? (clockMHz * 1e6) / sim.simulatedCyclesPerFrame : null,
    utilization: report.utilization, utilizationAfterFirstFive: utilizationFrom(report, 5, config), bytes: report.bytes,
  };
}

function describeSimulation(sim: Simulation | undefined, unit: string): string {
  if (!sim) return 'Verilator: not run (--no-rtl)';
  return `Verilator (AXI4, reference memory): ${sim.simulatedCyclesPerFrame} cycles; ${sim.bitExact}/${sim.frames} ${unit} bit-exact; build ${sim.buildSeconds.toFixed(0)} s${sim.cached ? ' (cached)' : ''}, ${sim.simulatedCyclesPerSecond} simulated cycles/s`;
}

const result: Record<string, unknown> = { clockMHz, referenceMemory: MODEL_REFERENCE, targets: TARGET };

// MobileNet at K = 0 on the 16x16 chip, tiled.
const crops = existsSync(MOBILENET_QDQ) ? await photoCrops() : { missing: MOBILENET_QDQ };
if (!('missing' in crops)) {
  const onnx = readOnnxFile(MOBILENET_QDQ);
  const decoded = importDecoded(onnx);
  const graph = await quantizeModel(onnx, decoded);
  const chip = accelChipConfig(graph, 16, 16, 0);
  const t0 = performance.now();
  const compiled = compileForChip(graph, chip, 0);
  const compileSeconds = (performance.now() - t0) / 1000;
  const report = replayCycles(chip.config, compiled.program, compiled.layout.layers, { memory: MODEL_REFERENCE });
  const integer = new IntegerModel(graph);
  const input = loadInputs(crops.test, decoded.input.shape, { count: 1 }).images.map((img) => integer.quantizeInput(img));
  const sim = rtl ? await simulate(graph, withAxiMemory(chip).rtl, compiled, input, integer) : undefined;
  const layers = layerFigures(graph, chip.config, report, sim?.layers, true);
  const whole = network(report, chip.config, sim);
  result.mobilenet = { array: '16x16', chip: { actRows: chip.config.actRows, memBytes: chip.config.memBytes, imemWords: chip.config.imemWords }, instructions: compiled.program.length, compileSeconds, bandRows: compiled.layout.bandRows, ...whole, verilator: sim ?? null, layers };
  printLayers(`MobileNetV1 0.25 QDQ, K = 0, the 16x16 chip (ACT ${chip.config.actRows} rows, tiled: ${compiled.layout.bandRows} rows of band slots), reference memory: predicted ${report.total} cycles/frame = ${(whole.framesPerSecond as number).toFixed(1)} frames/s at ${clockMHz} MHz${whole.error === null ? '' : ` (${(100 * (whole.error as number)).toFixed(2)}% of simulated, bound 2%)`}; utilization ${(100 * report.utilization).toFixed(1)}% (after the first five layers ${(100 * (whole.utilizationAfterFirstFive as number)).toFixed(1)}%); ${report.bytes.load} bytes loaded, ${report.bytes.store} stored; ${compiled.program.length} instructions\n  ${describeSimulation(sim, 'photo')}`, layers);
} else {
  result.mobilenet = { missing: crops.missing };
  log(`MobileNet: ${crops.missing} is absent (the real model is read from ../shared/models, the crops made by scripts/photos.ts): NOT measured`);
}

// The example model at 8x8 and 16x16.
const example = await quantizeModel(readOnnxFile(EXAMPLE), importModel(EXAMPLE), { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
const integer = new IntegerModel(example);
const inputs = mnistTest().images.slice(0, digits).map((img) => integer.quantizeInput(img));
const exampleResults: unknown[] = [];
for (const n of [8, 16]) {
  const { config, rtl: axi } = axiVerificationConfig(example, n);
  const compiled = compileForChip(example, { config, rtl: axi }, 0);
  const report = replayCycles(config, compiled.program, compiled.layout.layers, { memory: MODEL_REFERENCE });
  const sim = rtl ? await simulate(example, axi, compiled, inputs, integer) : undefined;
  const layers = layerFigures(example, config, report, sim?.layers, false);
  const whole = network(report, config, sim);
  exampleResults.push({ array: `${n}x${n}`, ...whole, verilator: sim ?? null, layers });
  printLayers(`example model, ${n}x${n}, reference memory: predicted ${report.total} cycles/frame = ${(whole.framesPerSecond as number).toFixed(0)} frames/s at ${clockMHz} MHz${whole.error === null ? '' : ` (${(100 * (whole.error as number)).toFixed(2)}% of simulated)`}\n  ${describeSimulation(sim, 'digits')}`, layers);
}
result.example = exampleResults;

// Yosys synth cell counts (slow): the AXI variant, scratchpads left as memories.
if (!flags['no-yosys']) {
  const cells: Record<string, unknown> = {};
  for (const n of yosysArrays) {
    const { rtl: axi } = axiVerificationConfig(example, n);
    const sources = accelSources(axi);
    const t0 = performance.now();
    try {
      const stat = await yosysStat(sources.rtl, sources.top, SYNTH_KEEPING_MEMORIES(sources.top), { timeoutMs: yosysMinutes * 60_000 });
      const memories = Object.entries(stat.byType).filter(([t]) => t.startsWith('$mem')).reduce((s, [, k]) => s + k, 0);
      const seconds = (performance.now() - t0) / 1000;
      cells[`${n}x${n}`] = { cells: stat.cells, memoryCells: memories, byType: stat.byType, seconds };
      log(`yosys synth ${n}x${n} (MEM over AXI4, scratchpads as ${memories} memory cells): ${stat.cells} cells in ${seconds.toFixed(0)} s`);
    } catch (e) {
      cells[`${n}x${n}`] = { error: String(e) };
      log(`yosys synth ${n}x${n}: FAILED ${String(e)}`);
    }
  }
  result.yosys = cells;
}
if (json) console.log(JSON.stringify(result, null, 2));
