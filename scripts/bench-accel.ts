/**
 * `npm run bench:accel [-- --json] [-- --digits N] [-- --clock MHz] [-- --no-rtl] [-- --no-yosys]`: the
 * accelerator's figures (issue 12), each beside its target or baseline where one exists.
 *  - MobileNetV1 0.25 QDQ (../shared/models, read in place; said plainly where absent) at K = 0 on 16x16 with
 *    the default scratchpads, tiled through MEM: per layer MACs, predicted cycles, utilization, MACs/cycle and
 *    bytes moved with the reference memory (16 B/cycle, 100-cycle latency, no stalls), the whole network's
 *    frames/s at a nominal clock, the utilization after the first five layers.
 *  - The example model at 8x8 and 16x16: the same per layer (reference memory and on-chip MEM), and in
 *    Verilator (on-chip MEM, the RTL of main) the simulated cycles per layer beside the predicted ones, the
 *    build time and simulated cycles per second.
 *  - Yosys `synth` cell counts of the 8x8 and 16x16 accelerators (slow: minutes each).
 * The cycle model is generator/accel/cycle-model.ts; docs/accel-compiler.md explains the schedule.
 */
import { existsSync } from 'node:fs';
import { type AccelConfig, compileProgram, type CompiledProgram, configForModel, type CycleReport, REFERENCE_MEMORY, replayCycles } from '../generator/accel/index.js';
import { accelSources } from '../generator/accel/rtl/sources.js';
import { rtlConfig } from '../generator/accel/rtl/config.js';
import { DEFAULT_MNIST_CALIBRATION, mnistCalibration } from '../generator/data/index.js';
import { mnistTest } from '../generator/data/mnist.js';
import { IntegerModel } from '../generator/golden/integer-model.js';
import { importDecoded, importModel } from '../generator/import/index.js';
import { quantizeModel } from '../generator/calibrate/quantize-model.js';
import { readOnnxFile } from '../generator/onnx/decode.js';
import type { QuantizedGraph } from '../generator/quant/ir.js';
import { buildAccel } from '../verify/accel/rtl-sim.js';
import { verificationConfig } from '../verify/accel/configs.js';
import { runProgramOnRtl } from '../verify/accel/run-program.js';
import { yosysStat } from '../verify/sim/index.js';
import { MOBILENET_QDQ } from './photos.js';

const EXAMPLE = 'examples/mnist-mobilenet/model.onnx';
const args = process.argv.slice(2);
const json = args.includes('--json');
const flag = (name: string, fallback: number): number => { const i = args.indexOf(name); return i >= 0 ? Number(args[i + 1]) : fallback; };
const digits = flag('--digits', 20);
/** Nominal clock for frames/s (a figure to compare designs by, not a timing closure claim). */
const clockMHz = flag('--clock', 500);
const log = (line: string): void => { if (!json) console.log(line); };

/** Issue 12's targets (MobileNet on 16x16) and the published baseline the figures are printed beside. */
const TARGET = { pointwise14: 0.9, pointwise7: 0.8, depthwise14MacsPerCycle: 64, gemminiDepthwiseMacsPerCycle: 3 } as const;

interface LayerFigures {
  readonly index: number; readonly name: string; readonly kind: string; readonly map: string;
  readonly macs: number; readonly predictedCycles: number; readonly utilization: number; readonly macsPerCycle: number;
  readonly bytesMoved: number; readonly target?: string;
}

function layerFigures(graph: QuantizedGraph, report: CycleReport, targets: boolean): LayerFigures[] {
  return report.layers.map((l) => {
    const layer = graph.layers.find((x) => x.index === l.index)!;
    const [, h, w] = graph.tensors[layer.output]!.shape;
    const [, ih] = graph.tensors[layer.inputs[0]!]!.shape;
    let target: string | undefined;
    if (!targets) return { index: l.index, name: l.name, kind: l.kind, map: `${h}x${w}`, macs: l.macs, predictedCycles: l.cycles, utilization: l.utilization, macsPerCycle: l.macsPerCycle, bytesMoved: l.bytes.load + l.bytes.store };
    if (l.kind === 'conv 1x1' && h === 14 && w === 14) target = `>= ${100 * TARGET.pointwise14}%`;
    if (l.kind === 'conv 1x1' && h === 7 && w === 7) target = `>= ${100 * TARGET.pointwise7}%`;
    if (l.kind.startsWith('depthwise') && h === 14) target = `>= ${TARGET.depthwise14MacsPerCycle} MAC/cycle${ih !== 14 ? ' (stride 2 from 28x28)' : ''}; Gemmini <= ${TARGET.gemminiDepthwiseMacsPerCycle}`;
    return { index: l.index, name: l.name, kind: l.kind, map: `${h}x${w}`, macs: l.macs, predictedCycles: l.cycles, utilization: l.utilization, macsPerCycle: l.macsPerCycle, bytesMoved: l.bytes.load + l.bytes.store, ...(target ? { target } : {}) };
  });
}

function printLayers(title: string, layers: readonly LayerFigures[], extra?: (l: LayerFigures) => string): void {
  log(title);
  log('  layer kind            map      MACs        cycles   util   MAC/cyc  bytes moved  target/baseline');
  for (const l of layers) {
    log(`  ${String(l.index).padStart(5)} ${l.kind.padEnd(15)} ${l.map.padEnd(8)} ${String(l.macs).padStart(9)} ${String(l.predictedCycles).padStart(9)} ${(100 * l.utilization).toFixed(1).padStart(5)}% ${l.macsPerCycle.toFixed(1).padStart(8)} ${String(l.bytesMoved).padStart(11)}  ${l.target ?? ''}${extra ? extra(l) : ''}`);
  }
}

/** Utilization of the array from the start of layer `from` to the end (MACs / (R*C x cycles)). */
function utilizationFrom(report: CycleReport, from: number, config: AccelConfig): number {
  const start = report.layers[from]?.first ?? 0;
  const macs = report.layers.slice(from).reduce((s, l) => s + l.macs, 0);
  return macs / (config.rows * config.cols * (report.total - start));
}

const result: Record<string, unknown> = { clockMHz, referenceMemory: REFERENCE_MEMORY };

// MobileNet on 16x16, tiled.
if (existsSync(MOBILENET_QDQ)) {
  const onnx = readOnnxFile(MOBILENET_QDQ);
  const graph = await quantizeModel(onnx, importDecoded(onnx));
  const config = configForModel(graph, 16, 16, { memBytes: 1 << 24, imemWords: 1 << 14 });
  const t0 = performance.now();
  const compiled = compileProgram(graph, config);
  const compileSeconds = (performance.now() - t0) / 1000;
  const report = replayCycles(config, compiled.program, compiled.layout.layers, { memory: REFERENCE_MEMORY });
  const layers = layerFigures(graph, report, true);
  const after5 = utilizationFrom(report, 5, config);
  const fps = (clockMHz * 1e6) / report.total;
  result.mobilenet = { array: '16x16', instructions: compiled.program.length, compileSeconds, bandRows: compiled.layout.bandRows, memImageBytes: compiled.layout.memUsed, predictedCycles: report.total, utilization: report.utilization, utilizationAfterFirstFive: after5, framesPerSecond: fps, bytes: report.bytes, layers };
  printLayers(`MobileNetV1 0.25 QDQ, K = 0, 16x16, default scratchpads (tiled: ${compiled.layout.bandRows} ACT rows of band slots), reference memory: ${report.total} cycles/frame = ${fps.toFixed(1)} frames/s at ${clockMHz} MHz; utilization ${(100 * report.utilization).toFixed(1)}% (after the first five layers ${(100 * after5).toFixed(1)}%); ${report.bytes.load} bytes loaded, ${report.bytes.store} stored; ${compiled.program.length} instructions`, layers);
} else {
  result.mobilenet = { missing: MOBILENET_QDQ };
  log(`MobileNet: ${MOBILENET_QDQ} is absent (the real models are read from ../shared/models): NOT measured`);
}

// The example model: predicted per layer, and in Verilator.
const example = await quantizeModel(readOnnxFile(EXAMPLE), importModel(EXAMPLE), { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
const integer = new IntegerModel(example);
const inputs = mnistTest().images.slice(0, digits).map((img) => integer.quantizeInput(img));
const exampleResults: unknown[] = [];
for (const n of [8, 16]) {
  const { config, rtl } = verificationConfig(example, n);
  const compiled: CompiledProgram = compileProgram(example, config);
  const onChip = replayCycles(config, compiled.program, compiled.layout.layers);
  const reference = replayCycles(config, compiled.program, compiled.layout.layers, { memory: REFERENCE_MEMORY });
  const layers = layerFigures(example, reference, false);
  const entry: Record<string, unknown> = { array: `${n}x${n}`, predictedOnChip: onChip.total, predictedReference: reference.total, framesPerSecondReference: (clockMHz * 1e6) / reference.total, layers };
  let measured: number[] | undefined;
  if (!args.includes('--no-rtl')) {
    const build = await buildAccel(rtl, 'verilator', { onProgress: (m) => process.stderr.write(`${m}\n`) });
    const t0 = performance.now();
    const runs = await runProgramOnRtl(build, compiled, inputs, example.tensors[example.output]!);
    const seconds = (performance.now() - t0) / 1000;
    const r0 = runs[0]!;
    measured = compiled.layout.layers.map((l) => {
      const exPcs = l.pcs.filter((pc) => !['load', 'store'].includes(compiled.program[pc]!.op));
      const first = Math.min(...(exPcs.length > 0 ? exPcs : l.pcs).map((pc) => r0.startCycle.get(pc)!));
      return Math.max(...l.pcs.map((pc) => r0.endCycle.get(pc)! + 1)) - first;
    });
    entry.verilator = {
      buildSeconds: build.buildSeconds, cached: build.cached, digits: runs.length, allDone: runs.every((r) => r.run.status === 'done'),
      simulatedCyclesPerImage: r0.run.cycles, simulatedCyclesPerSecond: Math.round(runs.reduce((s, r) => s + r.run.cycles, 0) / seconds),
      layers: compiled.layout.layers.map((l, i) => ({ index: l.index, simulated: measured![i], predicted: onChip.layers[i]!.cycles })),
    };
  }
  exampleResults.push(entry);
  const v = entry.verilator as { buildSeconds: number; cached: boolean; simulatedCyclesPerImage: number; simulatedCyclesPerSecond: number; digits: number } | undefined;
  printLayers(`example model, ${n}x${n}: predicted ${onChip.total} cycles with the on-chip MEM${v ? ` (Verilator: ${v.simulatedCyclesPerImage} simulated; build ${v.buildSeconds.toFixed(1)} s${v.cached ? ' cached' : ''}, ${v.simulatedCyclesPerSecond} simulated cycles/s over ${v.digits} digits)` : ''}, ${reference.total} with the reference memory`, layers,
    (l) => { const i = compiled.layout.layers.findIndex((x) => x.index === l.index); return `  on-chip: predicted ${onChip.layers[i]!.cycles}${measured ? `, simulated ${measured[i]}` : ''}`; });
}
result.example = exampleResults;

// Yosys synth cell counts (slow).
if (!args.includes('--no-yosys')) {
  const cells: Record<string, unknown> = {};
  for (const n of [8, 16]) {
    const { config } = verificationConfig(example, n);
    const sources = accelSources(rtlConfig(config));
    const t0 = performance.now();
    try {
      const stat = await yosysStat(sources.rtl, sources.top, `synth -top ${sources.top}`);
      cells[`${n}x${n}`] = { cells: stat.cells, seconds: (performance.now() - t0) / 1000 };
      log(`yosys synth ${n}x${n}: ${stat.cells} cells in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    } catch (e) {
      cells[`${n}x${n}`] = { error: String(e) };
      log(`yosys synth ${n}x${n}: FAILED ${String(e)}`);
    }
  }
  result.yosys = cells;
}
if (json) console.log(JSON.stringify(result, null, 2));
