/**
 * Tiling through MEM (issue 12, compiler side): networks whose tensors do not fit ACT run in row bands
 * through two band slots, tensors that do not stay on chip live in MEM (docs/accel-compiler.md).
 *  - The real MobileNetV1 0.25 QDQ (../shared/models, read in place) whole network at K = 0 on 16x16 with the
 *    default scratchpads: compiles; the ISA simulator is bit-exact with the integer model, layer by layer
 *    (MEM tensors included) and on the class, on real photo crops (64 in test:full, 1 in npm test;
 *    FIXYNN_ACCEL_MOBILENET_CROPS overrides); per layer utilization with the reference memory.
 *  - Random back ends (test/helpers/random-network.ts) on memories cut below what they need untiled: bit-exact,
 *    identical whether loads or compute race ahead (30 in test:full, 4 in npm test; FIXYNN_ACCEL_TILED; a network that drew no weighted layer checks the refusal).
 */
import path from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AccelConfig, checkAgainstIntegerModel, compileProgram, type CompiledProgram, configForModel, describeAccelMismatch, REFERENCE_MEMORY, replayCycles, runOnSimulator } from '../../generator/accel/index.js';
import { loadInputs } from '../../generator/data/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded, importModel } from '../../generator/import/index.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { photoCrops, type PhotoCropFiles } from '../../scripts/photos.js';
import { randomNetwork } from '../helpers/random-network.js';
import { count } from '../helpers/env.js';
import { MOBILENET_QDQ, missingModels } from '../helpers/models.js';
import { chipAnswer, finalAccumulators } from './reference.js';

const CROPS = count('ACCEL_MOBILENET_CROPS', 64, 1);
const TILED = count('ACCEL_TILED', 30, 4);

describe('MobileNetV1 0.25 QDQ, whole network at K = 0 on 16x16 (tiled through MEM)', () => {
  let missing = missingModels(MOBILENET_QDQ);
  let crops: PhotoCropFiles | undefined;
  let quantized: QuantizedGraph | undefined;
  let compiled: CompiledProgram | undefined;
  let inputShape: readonly number[] = [];
  beforeAll(async () => {
    if (missing) return;
    const found = await photoCrops();
    if ('missing' in found) missing = `photo crops unavailable (${found.missing})`;
    else crops = found;
    const onnx = readOnnxFile(MOBILENET_QDQ);
    const graph = importDecoded(onnx);
    inputShape = graph.input.shape;
    quantized = await quantizeModel(onnx, graph);
    // Default scratchpads; MEM and the program memory are external in issue 12 (DRAM over AXI).
    compiled = compileProgram(quantized, configForModel(quantized, 16, 16, { memBytes: 1 << 24, imemWords: 1 << 14 }));
  }, 120_000);

  it('compiles with the default scratchpads; per layer utilization with the reference memory meets the pointwise and depthwise targets', (ctx) => {
    if (missing && !quantized) { console.warn(`SKIPPED: ${missing}`); ctx.skip(missing); return; }
    const c = compiled as CompiledProgram;
    expect(c.layout.bandRows).toBe(c.config.actRows / 4);
    expect(c.layout.tensors.filter((t) => t.addr !== undefined).length).toBeGreaterThan(0);
    const report = replayCycles(c.config, c.program, c.layout.layers, { memory: REFERENCE_MEMORY });
    const q = quantized as QuantizedGraph;
    const mapOf = (index: number) => q.tensors[q.layers[index]!.output]!.shape;
    const inMapOf = (index: number) => q.tensors[q.layers[index]!.inputs[0]!]!.shape;
    const lines = report.layers.map((l) => `${String(l.index).padStart(2)} ${l.kind.padEnd(14)} ${mapOf(l.index).join('x').padEnd(10)} ${String(l.cycles).padStart(7)} cycles ${(100 * l.utilization).toFixed(1).padStart(5)}% ${l.macsPerCycle.toFixed(1).padStart(6)} MAC/cycle ${String(l.bytes.load + l.bytes.store).padStart(8)} B`);
    const after5 = report.layers.slice(5);
    const cyclesAfter5 = report.total - (report.layers[5]?.first ?? 0);
    const macsAfter5 = after5.reduce((s, l) => s + l.macs, 0);
    console.log(`MobileNet 16x16, reference memory: ${report.total} cycles, utilization ${(100 * report.utilization).toFixed(1)}%; after the first five layers ${(100 * macsAfter5 / (256 * cyclesAfter5)).toFixed(1)}%\n${lines.join('\n')}`);
    for (const l of report.layers) {
      const [, h, w] = mapOf(l.index);
      if (l.kind === 'conv 1x1' && h === 14 && w === 14) expect(l.utilization, `layer ${l.index}`).toBeGreaterThanOrEqual(0.9);
      if (l.kind === 'conv 1x1' && h === 7 && w === 7) expect(l.utilization, `layer ${l.index}`).toBeGreaterThanOrEqual(0.8);
      // Depthwise on 14x14 maps, stride 1 and the stride-2 layer from 28x28 (two input positions a clock).
      if (l.kind === 'depthwise 3x3' && h === 14 && w === 14) expect(l.macsPerCycle, `layer ${l.index} (input ${inMapOf(l.index).join('x')})`).toBeGreaterThanOrEqual(64);
    }
  }, 120_000);

  it(`ISA simulator bit-exact with the integer model, every layer and the class (${CROPS} photo crops)`, (ctx) => {
    if (missing) { console.warn(`SKIPPED: ${missing}`); ctx.skip(missing); return; }
    const q = quantized as QuantizedGraph;
    const c = compiled as CompiledProgram;
    const integer = new IntegerModel(q);
    const images = loadInputs((crops as PhotoCropFiles).test, inputShape, { count: CROPS }).images;
    const last = q.layers[q.layers.length - 1]!;
    const classes: number[] = [];
    for (const image of images) {
      const x = integer.quantizeInput(image);
      const check = checkAgainstIntegerModel(c, q, integer, x);
      expect(check.mismatch ? describeAccelMismatch(check.mismatch) : '').toBe('');
      const values = integer.run(x);
      const want = chipAnswer(finalAccumulators(q, last, values.get(last.inputs[0]!)!), last.requant.multiplier, last.requant.shift);
      expect(check.class).toBe(want);
      classes.push(check.class as number);
    }
    console.log(`MobileNet on the ISA simulator: ${images.length} crops bit-exact, classes ${classes.join(' ')}`);
  }, 1_800_000);
});

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-tiled-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe(`${TILED} random back ends larger than ACT, tiled through MEM, bit-exact in the ISA simulator`, () => {
  for (let k = 1; k <= TILED; k++) {
    it(`network ${k}`, async () => {
      const seed = 100 + k;
      const net = randomNetwork({ seed, layers: 3 + (k % 3), size: [24 + (k % 5) * 4, 20 + (k % 7) * 3] });
      const model = net.builder.save(path.join(work, `tiled${k}.onnx`));
      const graph = importModel(model);
      const calib = loadInputs('random', graph.input.shape, { count: 8, seed: 3000 + k }).images;
      const quantized = await quantizeModel(readOnnxFile(model), graph, { calibImages: calib });
      const n = [4, 8, 16][k % 3] as number;
      const why = `tiled network ${k} (seed ${seed}) on ${n}x${n}:\n  ${net.description.join('\n  ')}`;
      if (!quantized.layers.some((l) => l.kind === 'conv' || l.kind === 'gemm')) {
        expect(() => compileProgram(quantized, configForModel(quantized, n, n)), why).toThrow(/no weighted layer/);
        return;
      }
      // Every other network: small ACC/QP/WGT and queues; every third: line buffers of 16 columns, so
      // depthwise layers between MEM maps run in column strips.
      let small: Partial<AccelConfig> = { ...(k % 2 === 0 ? { accRows: 100, qpRows: 16, wgtRows: 1024, queueDepth: 2 } : {}), ...(k % 3 === 0 ? { dwMaxWidth: 16 } : {}) };
      const untiledWith = (c: Partial<AccelConfig>): CompiledProgram => compileProgram(quantized, configForModel(quantized, n, n, c));
      let untiled: CompiledProgram;
      try {
        untiled = untiledWith(small);
      } catch (e) {
        // A max pool too wide for 16-column line buffers whose maps stay in ACT (no strips): default buffers.
        if (!/raise dwTaps \/ dwMaxWidth/.test(String(e)) || small.dwMaxWidth === undefined) throw e;
        const { dwMaxWidth: _, ...rest } = small;
        small = rest;
        untiled = untiledWith(small);
      }
      const needs = untiled.layout.usage.actRows;
      // ACT cut below what the untiled program needs (half of it band slots: these maps are tiny); raised
      // until one band fits a slot.
      let actRows = Math.max(8, Math.floor(needs * 0.6));
      let compiled: CompiledProgram | undefined;
      while (!compiled) {
        const config = configForModel(quantized, n, n, { ...small, actRows, imemWords: 1 << 14 });
        try {
          compiled = compileProgram(quantized, config, { bandRows: Math.floor(actRows / 2) });
        } catch (e) {
          // A max pool too wide for 16-column line buffers whose maps stay in ACT (no strips): default buffers.
          if (/raise dwTaps \/ dwMaxWidth/.test(String(e)) && small.dwMaxWidth !== undefined) { const { dwMaxWidth: _, ...rest } = small; small = rest; continue; }
          if (!/band slot/.test(String(e)) || actRows >= needs - 1) throw e;
          actRows = Math.min(needs - 1, Math.ceil(actRows * 1.15));
        }
      }
      expect(compiled.layout.bandRows, why).toBeGreaterThan(0);
      expect(compiled.layout.input.inMem === true || compiled.layout.tensors.some((t) => t.addr !== undefined), `${why}\n(some tensor lives in MEM)`).toBe(true);
      const integer = new IntegerModel(quantized);
      const last = quantized.layers[quantized.layers.length - 1]!;
      const outT = quantized.tensors[quantized.output]!;
      const data = loadInputs('random', graph.input.shape, { count: 2, seed: 4000 + k }).images;
      for (const [i, image] of data.entries()) {
        const q = integer.quantizeInput(image);
        if (i === 0) {
          const check = checkAgainstIntegerModel(compiled, quantized, integer, q);
          expect(check.mismatch ? describeAccelMismatch(check.mismatch) : '', why).toBe('');
        }
        const values = integer.run(q);
        const run = runOnSimulator(compiled, q, outT);
        const expected = compiled.layout.output.memory === 'acc' ? finalAccumulators(quantized, last, values.get(last.inputs[0]!)!) : values.get(quantized.output)!;
        expect(Array.from(run.output), why).toEqual(Array.from(expected));
        if (compiled.layout.classAddr !== undefined) expect(run.class, why).toBe(chipAnswer(expected, last.requant.multiplier, last.requant.shift));
        const racing = runOnSimulator(compiled, q, outT, { priority: ['ex', 'st', 'ld'] });
        expect(Array.from(racing.output), `${why}\n(compute racing ahead)`).toEqual(Array.from(run.output));
        const storing = runOnSimulator(compiled, q, outT, { priority: ['st', 'ex', 'ld'] });
        expect(Array.from(storing.output), `${why}\n(stores racing ahead)`).toEqual(Array.from(run.output));
      }
      const report = replayCycles(compiled.config, compiled.program, compiled.layout.layers, { memory: REFERENCE_MEMORY });
      expect(report.bytes.load, why).toBeGreaterThan(0);
      expect(report.layers.every((l) => l.cycles > 0), why).toBe(true);
    }, 120_000);
  }
});
