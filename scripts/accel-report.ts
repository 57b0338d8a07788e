/**
 * `npx tsx scripts/accel-report.ts [model.onnx] [--accel 8x8,16x16] [--from K] [--json]`: compiles a model
 * (default: the example, calibrated on MNIST) for each accelerator shape and prints, per layer, the
 * instructions by opcode, the cycle model's predicted cycles, MACs, MACs per cycle and utilization; with
 * --digits N also runs N digits through the ISA simulator against the integer model (first mismatch named).
 * The figures of the issue 11 report come from this script.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkAgainstIntegerModel, compileProgram, configForModel, describeAccelMismatch, parseArrayShape, replayCycles, summarizeProgram } from '../generator/accel/index.js';
import { DEFAULT_MNIST_CALIBRATION, loadInputs, mnistCalibration } from '../generator/data/index.js';
import { IntegerModel } from '../generator/golden/integer-model.js';
import { importModel } from '../generator/import/index.js';
import { quantizeModel } from '../generator/calibrate/quantize-model.js';
import { readOnnxFile } from '../generator/onnx/decode.js';
import { scriptArgs } from './args.js';

const USAGE = 'npx tsx scripts/accel-report.ts [model.onnx] [--accel 8x8,16x16] [--from K] [--digits N] [--json]';
const { flags, positionals } = scriptArgs(USAGE, { json: 'boolean', accel: 'string', from: 'number', digits: 'number' }, { positionals: true });
if (positionals.length > 1) { console.error(`one model at most (got ${positionals.join(', ')})\nusage: ${USAGE}`); process.exit(2); }
const json = flags.json;
const model = positionals[0] ?? path.join(path.dirname(fileURLToPath(import.meta.url)), '../examples/mnist-mobilenet/model.onnx');
const shapes = (flags.accel ?? '8x8,16x16').split(',').map(parseArrayShape);
const from = flags.from ?? 0;
const digits = flags.digits ?? 0;

const graph = importModel(model);
const quantized = await quantizeModel(readOnnxFile(model), graph, { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
const integer = new IntegerModel(quantized);
const inputs = digits ? loadInputs(undefined, graph.input.shape, { count: digits }).images.map((i) => integer.quantizeInput(i)) : [];
const results = [];
for (const { rows, cols } of shapes) {
  const config = configForModel(quantized, rows, cols, {}, { fromLayer: from });
  const compiled = compileProgram(quantized, config, { fromLayer: from });
  const summary = summarizeProgram(compiled, replayCycles(config, compiled.program, compiled.layout.layers));
  let mismatches = 0;
  for (const q of inputs) {
    const check = checkAgainstIntegerModel(compiled, quantized, integer, q);
    if (check.mismatch) { if (!mismatches && !json) console.log(`  first mismatch: ${describeAccelMismatch(check.mismatch)}`); mismatches++; }
  }
  results.push({ array: `${rows}x${cols}`, ...summary, ...(digits ? { digits, mismatches } : {}) });
  if (json) continue;
  console.log(`${rows}x${cols}: ${summary.instructions} instructions ${JSON.stringify(summary.byOpcode)}; ${summary.predictedCycles} cycles predicted; ${summary.macs} MACs, utilization ${(100 * summary.utilization).toFixed(1)}%; MEM image ${summary.memBytes} bytes${digits ? `; ISA simulator: ${digits - mismatches}/${digits} inputs bit-exact` : ''}`);
  for (const l of summary.layers) {
    const ops = Object.entries(l.instructions).map(([op, n]) => `${n} ${op}`).join(', ');
    console.log(`  layer ${String(l.index).padStart(2)} ${l.kind.padEnd(15)} ${String(l.predictedCycles).padStart(6)} cycles ${String(l.macs).padStart(7)} MACs ${l.macsPerCycle.toFixed(1).padStart(6)} MAC/cycle ${(100 * l.utilization).toFixed(1).padStart(5)}%  [${ops}]`);
  }
}
if (json) console.log(JSON.stringify(results, null, 2));
