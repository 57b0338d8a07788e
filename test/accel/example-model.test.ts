/**
 * The example MNIST model, whole network at K = 0, compiled for 8x8 and 16x16 accelerators and run in the
 * ISA simulator: final scores (acc + bias) equal to the accumulators recomputed from the integer model's
 * input to the last layer, and requantizing them gives the integer model's output exactly; the class is
 * the chip's answer over the reference accumulators; class agreement with ONNX Runtime's float model.
 * npm test: 50 digits; FIXYNN_FULL: 1,000 (FIXYNN_ACCEL_DIGITS overrides).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkAgainstIntegerModel, compileProgram, configForModel, type CompiledProgram, describeAccelMismatch, formatCycleReport, replayCycles, runOnSimulator } from '../../generator/accel/index.js';
import { DEFAULT_MNIST_CALIBRATION, loadInputs, mnistCalibration } from '../../generator/data/index.js';
import { evaluate } from '../../verify/eval/evaluate.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { channelRequant, requantizeBig } from '../../generator/golden/requantize.js';
import { importModel } from '../../generator/import/index.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { chipAnswer, finalAccumulators } from './reference.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { count } from '../helpers/env.js';

const DIGITS = count('ACCEL_DIGITS', 1000, 50);
const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');

let quantized: QuantizedGraph;
let images: Float32Array[];
let floatTop1: readonly number[];

beforeAll(async () => {
  const graph = importModel(MODEL);
  quantized = await quantizeModel(readOnnxFile(MODEL), graph, { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
  images = loadInputs(undefined, graph.input.shape, { count: DIGITS }).images;
  floatTop1 = (await evaluate({ onnx: readOnnxFile(MODEL), graph, quantized, images })).floatTop1;
}, 300_000);

function checkDigits(compiled: CompiledProgram): { agree: number } {
  const model = new IntegerModel(quantized);
  const last = quantized.layers[quantized.layers.length - 1]!;
  const outT = quantized.tensors[quantized.output]!;
  const channels = last.requant.multiplier.map((m, c) => channelRequant(m, last.requant.shift[c]!));
  let agree = 0;
  images.forEach((image, i) => {
    const q = model.quantizeInput(image);
    const values = model.run(q);
    const ref = finalAccumulators(quantized, last, values.get(last.inputs[0]!)!);
    const run = runOnSimulator(compiled, q, outT);
    expect(Array.from(run.output), `digit ${i}: scores`).toEqual(Array.from(ref));
    const requantized = Array.from(run.output, (acc, c) => requantizeBig(acc, channels[c]!, last.requant.outputZeroPoint, last.requant.clampMin, last.requant.clampMax));
    expect(requantized, `digit ${i}: requantized scores`).toEqual(Array.from(values.get(quantized.output)!));
    expect(run.class, `digit ${i}: class`).toBe(chipAnswer(ref, last.requant.multiplier, last.requant.shift));
    if (run.class === floatTop1[i]) agree++;
  });
  return { agree };
}

describe('example model on the accelerator (ISA simulator, K = 0)', () => {
  for (const n of [8, 16]) {
    it(`${n}x${n}: ${DIGITS} digits bit-exact with the integer model; class agrees with ONNX Runtime float on >= 99%`, () => {
      const config = configForModel(quantized, n, n);
      const compiled = compileProgram(quantized, config);
      const { agree } = checkDigits(compiled);
      const report = replayCycles(config, compiled.program, compiled.layout.layers);
      console.log(`${formatCycleReport(report, config)}\n${compiled.program.length} instructions; class agreement with ORT float ${agree}/${DIGITS}`);
      expect(agree / DIGITS).toBeGreaterThanOrEqual(0.99);
      expect(report.layers.map((l) => l.index)).toEqual(quantized.layers.map((l) => l.index));
      // The program runs unchanged on memories cut to what it uses.
      const { usage } = compiled.layout;
      const tight = { ...config, actRows: Math.max(8, usage.actRows), wgtRows: Math.max(8, usage.wgtRows), qpRows: Math.max(8, usage.qpRows), accRows: Math.max(8, usage.accRows) };
      const q = new IntegerModel(quantized).quantizeInput(images[0]!);
      const tightRun = runOnSimulator({ ...compiled, config: tight }, q, quantized.tensors[quantized.output]!);
      expect(Array.from(tightRun.output)).toEqual(Array.from(runOnSimulator(compiled, q, quantized.tensors[quantized.output]!).output));
      expect(usage.actRows).toBeLessThan(config.actRows);
      console.log(`${n}x${n} scratchpad rows used: ${JSON.stringify(usage)}`);
    }, 600_000);
  }

  it('the same results whichever unit races ahead (the tokens order every hazard)', () => {
    const config = configForModel(quantized, 8, 8, { accRows: 64, wgtRows: 256, qpRows: 16, queueDepth: 2 });
    const compiled = compileProgram(quantized, config);
    const model = new IntegerModel(quantized);
    const outT = quantized.tensors[quantized.output]!;
    for (const image of images.slice(0, 3)) {
      const q = model.quantizeInput(image);
      const a = runOnSimulator(compiled, q, outT, { priority: ['ld', 'ex', 'st'] });
      const b = runOnSimulator(compiled, q, outT, { priority: ['st', 'ex', 'ld'] });
      const c = runOnSimulator(compiled, q, outT, { priority: ['ex', 'st', 'ld'] });
      expect(Array.from(b.output)).toEqual(Array.from(a.output));
      expect(Array.from(c.output)).toEqual(Array.from(a.output));
      expect(b.class).toBe(a.class);
    }
  });

  it('a wrong weight is located: first differing layer, pixel, channel and the instruction that wrote it', () => {
    const config = configForModel(quantized, 8, 8);
    const compiled = compileProgram(quantized, config);
    const model = new IntegerModel(quantized);
    const q = model.quantizeInput(images[0]!);
    expect(checkAgainstIntegerModel(compiled, quantized, model, q).mismatch).toBeUndefined();
    // Corrupt layer 2's first weight row in the memory image (lane 0 of its first fold).
    const layer2 = compiled.layout.layers.find((l) => l.index === 2)!;
    const load = layer2.pcs.map((pc) => compiled.program[pc]!).find((ins) => ins.op === 'load' && ins.mem === 1)!;
    if (load.op !== 'load') throw new Error('no weight load');
    const mem = Uint8Array.from(compiled.mem);
    for (let lane = 0; lane < 8; lane++) mem[load.memAddr + lane] = 100;
    const check = checkAgainstIntegerModel({ ...compiled, mem }, quantized, model, q);
    expect(check.mismatch, 'mismatch').toBeDefined();
    const m = check.mismatch!;
    expect(m.layer).toBe(2);
    expect(m.instruction).toMatch(/^GEMM /);
    expect(layer2.pcs).toContain(m.pc);
    expect(describeAccelMismatch(m)).toMatch(/^layer 2 '.*' \(tensor '.*'\), pixel \(y \d+, x \d+\), channel \d+: expected -?\d+, accelerator -?\d+; written by pc \d+: GEMM /);
  });

  it('a wrong bias of the last layer is located at the GEMM that wrote the scores', () => {
    const config = configForModel(quantized, 16, 16);
    const compiled = compileProgram(quantized, config);
    const model = new IntegerModel(quantized);
    const q = model.quantizeInput(images[0]!);
    const last = compiled.layout.layers[compiled.layout.layers.length - 1]!;
    const qpLoad = last.pcs.map((pc) => compiled.program[pc]!).find((ins) => ins.op === 'load' && ins.mem === 2)!;
    if (qpLoad.op !== 'load') throw new Error('no QP load');
    const mem = Uint8Array.from(compiled.mem);
    mem[qpLoad.memAddr + 1] = (mem[qpLoad.memAddr + 1]! + 40) & 255; // bias of class 0 moves by 40 * 256
    const m = checkAgainstIntegerModel({ ...compiled, mem }, quantized, model, q).mismatch!;
    expect(m.layer).toBe(last.index);
    expect(m.channel).toBe(0);
    expect(m.instruction).toMatch(/^GEMM .*toAcc=1 \(scores -?\d+ requantized\)$/);
  });

  it('after a split (K = 9: global pooling and the Gemm head on the accelerator) from the crossing tensor', () => {
    const from = 9;
    const config = configForModel(quantized, 8, 8, {}, { fromLayer: from });
    const compiled = compileProgram(quantized, config, { fromLayer: from });
    expect(compiled.layout.input.tensor).toBe(quantized.layers[from]!.inputs[0]);
    expect(compiled.layout.layers.map((l) => l.index)).toEqual([9, 10]);
    const model = new IntegerModel(quantized);
    const last = quantized.layers[quantized.layers.length - 1]!;
    for (const image of images.slice(0, 5)) {
      const values = model.run(model.quantizeInput(image));
      const run = runOnSimulator(compiled, values.get(compiled.layout.input.tensor)!, quantized.tensors[quantized.output]!);
      const ref = finalAccumulators(quantized, last, values.get(last.inputs[0]!)!);
      expect(Array.from(run.output)).toEqual(Array.from(ref));
      expect(run.class).toBe(chipAnswer(ref, last.requant.multiplier, last.requant.shift));
    }
    // K = 10 leaves only the Gemm, K = 11 nothing weighted.
    expect(() => compileProgram(quantized, config, { fromLayer: 11 })).toThrow(/no weighted layer/);
  });
});
