/**
 * The real MobileNetV1 0.25 QDQ (../shared/models, read in place) through the RTL on real photo crops
 * (FIXYNN_FULL only: Verilator builds of minutes, ~10 s of simulation a frame):
 *  - issue 12: the whole network at K = 0 on the 16x16 accelerator (the large chip, generator/design/
 *    accel-part.ts), pixels in and scores out through the streams: scores and class bit-exact with the
 *    integer model and the ISA simulator; every layer's cycles as the cycle model predicts (on-chip MEM);
 *    with MEM off chip behind the AXI4 master and issue 12's reference memory, every layer within 5% (or 64
 *    cycles) of the cycle model's reference-memory prediction and the whole network within 2%;
 *  - issue 13: the chip at K = 5 (the fixed part streaming 32x56x56 into the 16x16 accelerator): every
 *    frame bit-exact with the integer model, frames back to back at the reported period (2%).
 * FIXYNN_MOBILENET_RTL_PHOTOS sets the number of photos (4).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompiledProgram, REFERENCE_MEMORY as MODEL_REFERENCE, replayCycles, runOnSimulator } from '../../generator/accel/index.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { loadInputs } from '../../generator/data/index.js';
import { accelChipConfig, compileForChip, withAxiMemory } from '../../generator/design/accel-part.js';
import { ffeCore } from '../../generator/design/core.js';
import { generateDesign } from '../../generator/design/generate-design.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { buildAccel, REFERENCE_MEMORY } from '../../verify/accel/rtl-sim.js';
import { runProgramOnRtl } from '../../verify/accel/run-program.js';
import { layerCycles } from '../../verify/accel/verify-design.js';
import { verifyChip } from '../../verify/chip/verify-chip.js';
import { photoCrops, type PhotoCropFiles, topClasses } from '../../scripts/photos.js';
import { count, FULL } from '../helpers/env.js';
import { MOBILENET_QDQ, missingModels } from '../helpers/models.js';
import { chipAnswer, finalAccumulators } from './reference.js';

const PHOTOS = count('MOBILENET_RTL_PHOTOS', 4, 4);
const quiet = { onProgress: (): void => {} };

describe.runIf(FULL)('MobileNetV1 0.25 QDQ through the RTL (FIXYNN_FULL)', () => {
  let missing = '';
  let crops: PhotoCropFiles;
  let quantized: QuantizedGraph;
  let integer: IntegerModel;
  let inputs: Int32Array[];
  let compiled: CompiledProgram;
  let chip: ReturnType<typeof accelChipConfig>;
  const root = mkdtempSync(path.join(tmpdir(), 'fixynn-mobilenet-rtl-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  beforeAll(async () => {
    missing = missingModels(MOBILENET_QDQ);
    if (missing) return;
    const found = await photoCrops();
    if ('missing' in found) { missing = `photo crops unavailable (${found.missing})`; return; }
    crops = found;
    const onnx = readOnnxFile(MOBILENET_QDQ);
    const graph = importDecoded(onnx);
    quantized = await quantizeModel(onnx, graph);
    integer = new IntegerModel(quantized);
    inputs = loadInputs(crops.test, graph.input.shape, { count: PHOTOS }).images.map((img) => integer.quantizeInput(img));
    chip = accelChipConfig(quantized, 16, 16, 0);
    compiled = compileForChip(quantized, chip, 0);
  }, 300_000);

  /** The integer model's scores (acc + bias of the last layer) and the chip's class over them. */
  function answer(q: Int32Array): { scores: Int32Array; cls: number } {
    const last = quantized.layers[quantized.layers.length - 1]!;
    const scores = finalAccumulators(quantized, last, integer.run(q).get(last.inputs[0]!)!);
    return { scores, cls: chipAnswer(scores, last.requant.multiplier, last.requant.shift) };
  }

  it(`K = 0 on 16x16, Verilator through the streams: ${PHOTOS} photos bit-exact, every layer's cycles as predicted`, async (ctx) => {
    if (missing) { console.warn(`SKIPPED: ${missing}`); ctx.skip(missing); return; }
    // MobileNet does not fit the standard chip: the large one, MEM and program memory sized to the program.
    expect(chip.config.actRows).toBe(8192);
    const build = await buildAccel(chip.rtl, 'verilator');
    const outT = quantized.tensors[quantized.output]!;
    const start = performance.now();
    const runs = await runProgramOnRtl(build, compiled, inputs, outT, { maxCycles: 3_000_000 });
    const seconds = (performance.now() - start) / 1000;
    runs.forEach((r, i) => {
      const want = answer(inputs[i]!);
      expect(r.run.status, `photo ${i}`).toBe('done');
      expect(r.framing, `photo ${i}`).toBe('ok');
      expect([...r.output], `photo ${i}: RTL vs integer model`).toEqual([...want.scores]);
      expect([...r.output], `photo ${i}: RTL vs ISA simulator`).toEqual([...runOnSimulator(compiled, inputs[i]!, outT).output]);
      expect(r.class, `photo ${i}: class`).toBe(want.cls);
    });
    const layers = layerCycles(compiled, runs[0]);
    const off = layers.filter((l) => l.measured !== l.predicted).map((l) => `layer ${l.index}: RTL ${l.measured}, model ${l.predicted}`);
    expect(off).toEqual([]);
    const total = replayCycles(compiled.config, compiled.program, compiled.layout.layers).total;
    expect(runs.every((r) => r.run.cycles === total)).toBe(true);
    const cycles = runs.reduce((s, r) => s + r.run.cycles, 0);
    console.log(`MobileNet K = 0 16x16 in Verilator: ${runs.length} photos bit-exact, classes ${runs.map((r) => r.class).join(' ')}; ${total} cycles a frame (model ${total}); build ${build.buildSeconds.toFixed(0)} s${build.cached ? ' (cached)' : ''}, ${Math.round(cycles / seconds)} cycles/s`);
  }, 3_600_000);

  it('K = 0 on 16x16 with MEM over AXI4 and the reference memory: bit-exact, every layer within 5% (or 64 cycles) of the prediction, the network within 2%', async (ctx) => {
    if (missing) { console.warn(`SKIPPED: ${missing}`); ctx.skip(missing); return; }
    const build = await buildAccel(withAxiMemory(chip).rtl, 'verilator');
    const outT = quantized.tensors[quantized.output]!;
    const [r] = await runProgramOnRtl(build, compiled, inputs.slice(0, 1), outT, { memory: REFERENCE_MEMORY, maxCycles: 3_000_000 });
    const want = answer(inputs[0]!);
    expect(r!.run.status).toBe('done');
    expect([...r!.output]).toEqual([...want.scores]);
    expect(r!.class).toBe(want.cls);
    const predicted = replayCycles(compiled.config, compiled.program, compiled.layout.layers, { memory: MODEL_REFERENCE });
    const layers = layerCycles(compiled, r).map((l, i) => ({ ...l, reference: predicted.layers[i]!.cycles }));
    const table = layers.map((l) => `${String(l.index).padStart(2)} ${l.kind.padEnd(14)} model ${String(l.reference).padStart(7)} RTL ${String(l.measured).padStart(7)} ${(100 * ((l.measured ?? 0) - l.reference) / l.reference).toFixed(2).padStart(6)}%`);
    console.log(`MobileNet K = 0 16x16, MEM over AXI4, reference memory: RTL ${r!.run.cycles} cycles, model ${predicted.total} (${(100 * (r!.run.cycles - predicted.total) / predicted.total).toFixed(2)}%); build ${build.buildSeconds.toFixed(0)} s\n${table.join('\n')}`);
    const off = layers.filter((l) => l.measured === null || Math.abs(l.measured - l.reference) > Math.max(64, 0.05 * l.reference)).map((l) => `layer ${l.index}: RTL ${l.measured}, model ${l.reference}`);
    expect(off).toEqual([]);
    expect(Math.abs(r!.run.cycles - predicted.total)).toBeLessThanOrEqual(0.02 * predicted.total);
  }, 3_600_000);

  it(`the chip at K = 5 with 16x16: ${PHOTOS} photos back to back bit-exact with the integer model, the frame period within 2% of the reported one`, async (ctx) => {
    if (missing) { console.warn(`SKIPPED: ${missing}`); ctx.skip(missing); return; }
    const dir = path.join(root, 'chip-k5');
    const { manifest } = await generateDesign(MOBILENET_QDQ, { fixedLayers: '5', accel: '16x16', out: dir, arith: 'shared', pipeline: 0, rawInput: false, ...quiet }, ffeCore);
    const s = await verifyChip(dir, { simulator: 'verilator', images: PHOTOS, data: crops.test, ...quiet });
    expect({ isa: s.isaMismatches, rtl: s.rtlMismatches, fault: s.fault }).toEqual({ isa: 0, rtl: 0, fault: null });
    expect(s.classes).toEqual(inputs.map((q) => answer(q).cls));
    // Top-1 against ONNX Runtime on the QDQ model: verify counts the frames whose class equals ORT's.
    const ort = (await topClasses(MOBILENET_QDQ, crops.test)).slice(0, PHOTOS);
    expect(s.onnxRuntime).toEqual({ agree: s.classes.filter((c, i) => c === ort[i]).length, images: PHOTOS });
    expect(s.framePeriod.reported).toBe(manifest.split!.cyclesPerFrame);
    expect(s.framePeriod.measured).not.toBeNull();
    expect(Math.abs(s.framePeriod.deviation!)).toBeLessThanOrEqual(0.02);
    console.log(`MobileNet chip K = 5 16x16: ${s.images} photos bit-exact, classes ${s.classes.join(' ')} (ONNX Runtime ${ort.join(' ')}: ${s.onnxRuntime!.agree}/${PHOTOS} agree); frame period measured ${s.framePeriod.measured} clocks, reported ${s.framePeriod.reported} (${(100 * s.framePeriod.deviation!).toFixed(2)}%); build ${s.buildSeconds.toFixed(0)} s, simulation ${s.simulationSeconds.toFixed(1)} s`);
  }, 3_600_000);
});
