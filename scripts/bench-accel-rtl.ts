/**
 * The accelerator's RTL on the example model at K = 0: Verilator build time, simulated cycles per second,
 * and per layer the cycles measured in the RTL beside the cycle model's prediction (generator/accel/
 * cycle-model.ts, replaying the same program). `npx tsx scripts/bench-accel-rtl.ts [N ...] [--digits D]
 * [--memory onchip|reference] [--simulator verilator|icarus] [--json]`; the array sides default to 8 and 16.
 * `--memory reference` builds the AXI variant (memory 'axi') and runs it on issue 12's reference memory
 * (16 bytes per clock, 100 clocks read latency, no stalls): the measured cycles then include the memory
 * traffic, which the on-chip cycle model does not predict; per layer the bytes LOAD/STORE move are printed.
 */
import { rowBytes } from '../generator/accel/config.js';
import { compileProgram } from '../generator/accel/compile.js';
import { replayCycles } from '../generator/accel/cycle-model.js';
import { DEFAULT_MNIST_CALIBRATION, mnistCalibration } from '../generator/data/index.js';
import { mnistTest } from '../generator/data/mnist.js';
import { IntegerModel } from '../generator/golden/integer-model.js';
import { importModel } from '../generator/import/index.js';
import { quantizeModel } from '../generator/calibrate/quantize-model.js';
import { REFERENCE_MEMORY, buildAccel } from '../verify/accel/rtl-sim.js';
import { axiVerificationConfig, verificationConfig } from '../verify/accel/configs.js';
import { runProgramOnRtl } from '../verify/accel/run-program.js';
import { scriptArgs } from './args.js';
import { readOnnxFile } from '../generator/onnx/decode.js';

const MODEL = 'examples/mnist-mobilenet/model.onnx';
const USAGE = 'npx tsx scripts/bench-accel-rtl.ts [N ...] [--digits D] [--memory onchip|reference] [--simulator verilator|icarus] [--json]';
const { flags, positionals } = scriptArgs(USAGE, { json: 'boolean', digits: 'number', memory: 'string', simulator: 'string' }, { positionals: true });
const json = flags.json;
const digits = flags.digits ?? 20;
const memory = flags.memory ?? 'onchip';
const simulator = flags.simulator ?? 'verilator';
if (!['onchip', 'reference'].includes(memory) || !['verilator', 'icarus'].includes(simulator) || positionals.some((a) => !/^\d+$/.test(a))) {
  console.error(`--memory onchip|reference, --simulator verilator|icarus, array sides as numbers\nusage: ${USAGE}`);
  process.exit(2);
}
const sides = positionals.map(Number);

const graph = await quantizeModel(readOnnxFile(MODEL), importModel(MODEL), { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
const model = new IntegerModel(graph);
const inputs = mnistTest().images.slice(0, digits).map((img) => model.quantizeInput(img));
const report: unknown[] = [];
for (const n of sides.length > 0 ? sides : [8, 16]) {
  const { config, rtl } = memory === 'reference' ? axiVerificationConfig(graph, n) : verificationConfig(graph, n);
  const compiled = compileProgram(graph, config);
  const build = await buildAccel(rtl, simulator as 'verilator' | 'icarus', { onProgress: (m) => process.stderr.write(`${m}\n`) });
  const t0 = performance.now();
  const runs = await runProgramOnRtl(build, compiled, inputs, graph.tensors[graph.output]!, memory === 'reference' ? { memory: REFERENCE_MEMORY } : {});
  const seconds = (performance.now() - t0) / 1000;
  const simulated = runs.reduce((s, r) => s + r.run.cycles, 0);
  const predicted = replayCycles(config, compiled.program, compiled.layout.layers);
  const r0 = runs[0]!;
  const layers = compiled.layout.layers.map((l, i) => {
    const exPcs = l.pcs.filter((pc) => ['gemm', 'dwconv', 'add', 'gap', 'argmax', 'setg', 'setq'].includes(compiled.program[pc]!.op));
    const first = Math.min(...(exPcs.length > 0 ? exPcs : l.pcs).map((pc) => r0.startCycle.get(pc)!));
    const last = Math.max(...l.pcs.map((pc) => r0.endCycle.get(pc)! + 1));
    const p = predicted.layers[i]!;
    // Bytes the layer's LOADs and STOREs move between MEM and the scratchpads.
    const bytes = l.pcs.reduce((sum, pc) => {
      const ins = compiled.program[pc]!;
      return ins.op === 'load' || ins.op === 'store' ? sum + ins.ySize * ins.xSize * rowBytes(config, (['act', 'wgt', 'qp', 'acc'] as const)[ins.mem]!) : sum;
    }, 0);
    return { index: l.index, name: l.name, kind: l.kind, measured: last - first, predicted: p.cycles, error: p.cycles === 0 ? 0 : (p.cycles - (last - first)) / (last - first), bytes };
  });
  const entry = {
    array: `${n}x${n}`,
    memory: memory === 'reference' ? `AXI, reference memory (${REFERENCE_MEMORY.bytesPerCycle} B/clock, ${REFERENCE_MEMORY.readLatency} clocks read latency, ${rtl.memPortBytes}-byte bus)` : 'on chip',
    simulator,
    counters: r0.run.counters,
    buildSeconds: build.buildSeconds,
    cached: build.cached,
    digits: runs.length,
    allDone: runs.every((r) => r.run.status === 'done'),
    cyclesPerImage: r0.run.cycles,
    predictedTotal: predicted.total,
    simulatedCyclesPerSecond: Math.round(simulated / seconds),
    layers,
  };
  report.push(entry);
  if (!json) {
    console.log(`${entry.array}, MEM ${entry.memory}: ${simulator} build ${entry.buildSeconds.toFixed(1)} s${entry.cached ? ' (cached)' : ''}; ${entry.digits} digits, ${entry.cyclesPerImage} cycles each (model ${entry.predictedTotal}); ${entry.simulatedCyclesPerSecond} simulated cycles/s (with host-port loading)`);
    if (entry.counters !== undefined) console.log(`  counters: ${JSON.stringify(entry.counters)}`);
    for (const l of layers) console.log(`  layer ${String(l.index).padStart(2)} ${l.kind.padEnd(14)} measured ${String(l.measured).padStart(6)}  predicted ${String(l.predicted).padStart(6)}  ${(100 * l.error).toFixed(1)}%  ${String(l.bytes).padStart(7)} bytes`);
  }
}
if (json) console.log(JSON.stringify(report, null, 2));
