/**
 * `npx tsx scripts/quant-study.ts MODE [--count N] [--on-test] [--more-calib] [--first-only]`: where the float MobileNetV1 0.25 loses top-1
 * agreement when fixynn quantizes it (issue 8; figures in docs/arithmetic.md §9). Calibration: the 40
 * calibration crops of scripts/make-photo-crops.py (min/max, empirical bias correction); measured on the 222
 * held-out crops (scripts/photos.ts), or with --on-test on the 70 test crops (other windows of the
 * calibration photos), strict top-1 against ONNX Runtime's float model, beside the chip's answer and the
 * mean squared error of the scores. A diagnosis tool: slow (about a minute per configuration on 70 crops).
 *
 * Modes:
 *  - split: W8A8 (the default quantization) beside W8 with wide activations and wide weights with A8, and
 *    the chip's answer (final accumulators, no output requantization) of each;
 *  - weights: every weighted layer alone with 8-bit weights (the rest wide);
 *  - acts: every activation tensor alone at 8 bits (the rest wide);
 *  - wide: the default, then `--wide-acts SPEC` for each SPEC of `--specs 'S1 S2 ...'` (default 1:10 1:12 2:12
 *    3:12 4:12), each with the crops it gets right that the default gets wrong and the reverse (paired).
 * --more-calib calibrates on the 70 test crops too (110 crops of the 10 calibration photos); --first-only
 * stops split after the default quantization.
 * "Wide" is WIDE bits (12: fine enough to be near float, narrow enough for the integer model's exact numbers).
 */
import path from 'node:path';
import { quantizeModel, type QuantizeModelOptions } from '../generator/calibrate/quantize-model.js';
import { readNpy } from '../generator/data/npy.js';
import { dequantize, IntegerModel, quantizeInput } from '../generator/golden/integer-model.js';
import type { Layer, LayerGraph } from '../generator/graph/ir.js';
import { importDecoded } from '../generator/import/index.js';
import { readOnnxFile } from '../generator/onnx/decode.js';
import { openWithOutputs } from '../generator/onnx/runtime.js';
import { RangeCollector } from '../generator/quant/calibrate.js';
import { quantParamsForRange } from '../generator/quant/fixed-point.js';
import type { QuantizedGraph, QuantParams, QuantTensor } from '../generator/quant/ir.js';
import { quantizeWeightsPerChannel } from '../generator/quant/quantize.js';
import { wilson } from '../verify/eval/format-report.js';
import { argmax } from '../verify/eval/compare.js';
import { heldoutCrops, MOBILENET_FLOAT, photoCrops } from './photos.js';
import { scriptArgs } from './args.js';

const WIDE = 12;

function images(file: string, limit?: number): Float32Array[] {
  const a = readNpy(file);
  const [n = 0, ...chw] = a.shape;
  const size = chw.reduce((x, y) => x * y, 1);
  const data = a.data as Float32Array;
  return Array.from({ length: Math.min(n, limit ?? n) }, (_, i) => data.slice(i * size, (i + 1) * size));
}

interface Agreement { strict: number; chip: number; n: number; mse: number; right: boolean[] }

let floatScores: Float32Array[] = [];

function agreement(qg: QuantizedGraph, inputs: readonly Float32Array[], floatTop: readonly number[]): Agreement {
  const model = new IntegerModel(qg);
  let strict = 0;
  let chip = 0;
  let mse = 0;
  const right: boolean[] = [];
  inputs.forEach((image, i) => {
    const values = model.run(quantizeInput(qg, image));
    const out = dequantize(qg.tensors[qg.output] as QuantTensor, values.get(qg.output) ?? new Int32Array());
    const ref = floatScores[i] ?? new Float32Array();
    for (let k = 0; k < out.length; k++) mse += ((out[k] ?? 0) - (ref[k] ?? 0)) ** 2 / (out.length * inputs.length);
    right.push(argmax(values.get(qg.output) ?? new Int32Array()) === floatTop[i]);
    if (right[i]) strict++;
    if (model.chipAnswer(values) === floatTop[i]) chip++;
  });
  return { strict, chip, n: inputs.length, mse, right };
}

/** One configuration's line; with `base`, the crops it gets right that `base` gets wrong and the reverse (paired). */
function show(what: string, a: Agreement, base?: Agreement): void {
  const f = a.strict / a.n;
  const { lo, hi } = wilson(f, a.n);
  const gained = base ? a.right.filter((r, i) => r && !base.right[i]).length : 0;
  const lost = base ? a.right.filter((r, i) => !r && base.right[i]).length : 0;
  console.log(`${what.padEnd(48)} strict ${a.strict}/${a.n} = ${(100 * f).toFixed(1)}% [${(100 * lo).toFixed(1)}-${(100 * hi).toFixed(1)}]  chip ${a.chip}/${a.n}  output mse ${a.mse.toFixed(4)}${base ? `  vs default: +${gained} -${lost} crops` : ''}`);
}

/** The graph with one weighted layer's float weights replaced by their 8-bit per-channel values. */
function withWeightsOnGrid(graph: LayerGraph, index: number, bits: number): LayerGraph {
  const layers = graph.layers.map((l): Layer => {
    if (l.index !== index || (l.kind !== 'conv' && l.kind !== 'gemm')) return l;
    const out = l.weights.shape[0] ?? 1;
    const { ints, scale } = quantizeWeightsPerChannel(l.weights.float, out, bits);
    const per = ints.length / out;
    const float = Float32Array.from(ints, (q, k) => q * (scale[Math.floor(k / per)] ?? 0));
    return { ...l, weights: { ...l.weights, float } } as Layer;
  });
  return { ...graph, layers };
}

async function main(): Promise<void> {
  const { flags, positionals } = scriptArgs("npx tsx scripts/quant-study.ts split|weights|acts|wide [--count N] [--on-test] [--more-calib] [--first-only] [--specs 'SPEC ...']",
    { count: 'number', 'on-test': 'boolean', 'more-calib': 'boolean', 'first-only': 'boolean', specs: 'string' }, { positionals: true });
  const mode = positionals[0] ?? 'split';
  const count = flags.count;
  const cal = await photoCrops();
  if ('missing' in cal) throw new Error(cal.missing);
  // --on-test: the 70 test crops of the calibration photos (other windows), where the held-out set is missing.
  const held = flags['on-test'] ? { heldout: cal.test } : await heldoutCrops();
  if ('missing' in held) throw new Error(held.missing);
  const onnx = readOnnxFile(MOBILENET_FLOAT);
  const graph = importDecoded(onnx);
  const test = images(held.heldout, count);
  // --more-calib: the 70 test crops too (other windows of the same 10 calibration photos).
  const calib = [...images(cal.calib), ...(flags['more-calib'] ? images(cal.test) : [])];
  const runner = await openWithOutputs(onnx, [graph.modelOutput], graph.input.shape);
  const floatTop: number[] = [];
  for (const image of test) floatScores.push((await runner.run(image)).get(graph.modelOutput) ?? new Float32Array());
  floatTop.push(...floatScores.map((s) => argmax(s)));
  await runner.release();
  const base: QuantizeModelOptions = { calibImages: calib, method: 'minmax' };
  const q = (g: LayerGraph, o: Partial<QuantizeModelOptions> = {}): Promise<QuantizedGraph> => quantizeModel(onnx, g, { ...base, ...o });
  const t0 = Date.now();
  if (mode === 'split') {
    show(`W8 A8 (default), ${calib.length} calibration crops`, agreement(await q(graph), test, floatTop));
    if (flags['first-only']) return;
    console.error(`(${((Date.now() - t0) / 1000).toFixed(0)} s per configuration)`);
    show(`W8 A${WIDE}`, agreement(await q(graph, { actBits: WIDE, weightBits: 8 }), test, floatTop));
    show(`W${WIDE} A8`, agreement(await q(graph, { actBits: 8, weightBits: WIDE }), test, floatTop));
    show(`W${WIDE} A${WIDE}`, agreement(await q(graph, { actBits: WIDE, weightBits: WIDE }), test, floatTop));
    show('W8 A8 analytic bias only', agreement(await q(graph, { biasCorrection: 'analytic' }), test, floatTop));
    show('W8 A8 no bias correction', agreement(await q(graph, { biasCorrection: 'none' }), test, floatTop));
    return;
  }
  if (mode === 'weights') {
    for (const layer of graph.layers) {
      if (layer.kind !== 'conv' && layer.kind !== 'gemm') continue;
      const g = withWeightsOnGrid(graph, layer.index, 8);
      const what = `layer ${layer.index} ${layer.kind}${layer.kind === 'conv' && layer.group > 1 ? ' dw' : ''} W8 alone`;
      show(what, agreement(await q(g, { actBits: WIDE, weightBits: WIDE }), test, floatTop));
    }
    return;
  }
  if (mode === 'acts') {
    const stats = new RangeCollector(calib.length);
    const names = [graph.firstTensor, ...graph.layers.map((l) => l.output)];
    const r = await openWithOutputs(onnx, graph.layers.map((l) => l.output), graph.input.shape);
    for (const image of calib) for (const [name, values] of await r.run(image)) stats.observe(name, values);
    await r.release();
    const ranges = stats.ranges('minmax', 8);
    for (const name of names) {
      const range = ranges.get(name);
      if (!range) continue;
      const fixed = new Map<string, QuantParams>([[name, quantParamsForRange(range.min, range.max, 8)]]);
      show(`tensor ${name} A8 alone`, agreement(await q(graph, { actBits: WIDE, weightBits: WIDE, fixedTensors: fixed }), test, floatTop));
    }
    return;
  }
  if (mode === 'wide') {
    // --wide-acts configurations (generator/quant/wide-acts.ts) beside the default, the rest at 8 bits.
    const specs = flags.specs !== undefined ? flags.specs.split(' ').filter((x) => x !== '') : ['1:10', '1:12', '2:12', '3:12', '4:12'];
    const base = agreement(await q(graph), test, floatTop);
    show('default (all --act-bits 8)', base);
    for (const spec of specs) show(`--wide-acts ${spec}`, agreement(await q(graph, { wideActs: spec }), test, floatTop), base);
    return;
  }
  throw new Error(`unknown mode ${mode}`);
}

await main();
