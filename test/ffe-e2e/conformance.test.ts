/**
 * ONNX's conformance image models (libonnx-testdata, test/helpers/conformance.ts's IMAGE_MODELS) as
 * users get them: each that the fixed feature extractor can stream is generated with every layer fixed
 * (`generate --fixed-layers <all>`, calibrated on its own test inputs) and verified in Verilator on its
 * own test_data_set inputs, bit-exact with the integer model on every tap, at one pixel per clock, lint
 * clean. Each model the FFE refuses is listed below with its reason, and generate must refuse it with
 * that one clear message. (The integer model against each model's expected outputs is
 * test/onnx/conformance.test.ts.)
 * npm test: the two models below that cover what the other tests' plain convolutions do not (a dilated
 * conv, SAME average pooling without the pads in its divisor); FIXYNN_FULL: all 37 the FFE streams but
 * the one too large to simulate (TOO_LARGE).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FixynnError } from '../../generator/common/errors.js';
import { writeNpy } from '../../generator/data/index.js';
import { generateAccelDesign } from '../../generator/design/generate-accel-design.js';
import { importDecoded } from '../../generator/import/index.js';
import { decodeOnnx } from '../../generator/onnx/decode.js';
import { describeMismatch, verifyDesign } from '../../verify/ffe/index.js';
import { lint } from '../../verify/sim/index.js';
import { bindConstantInputs, IMAGE_MODELS, readTestDataSets } from '../helpers/conformance.js';
import { FULL } from '../helpers/env.js';
import { generate, rtlOf } from './ladder.js';

/**
 * The models the streaming line buffer cannot serve, and why: it pads at most the window's span - 1 per
 * axis (geometry.ts), so that one beat never carries two outputs; these pad 2 on each side of a 3x3 window.
 */
const REFUSED: Readonly<Record<string, RegExp>> = {
  'node/test_averagepool_2d_pads': /pads \[2, 2, 2, 2\] with a 3x3 kernel are not supported; the streaming line buffer needs top \+ bottom <= 2/,
  'node/test_averagepool_2d_pads_count_include_pad': /pads \[2, 2, 2, 2\] with a 3x3 kernel are not supported; the streaming line buffer needs top \+ bottom <= 2/,
  'node/test_maxpool_2d_pads': /pads \[2, 2, 2, 2\] with a 3x3 kernel are not supported; the streaming line buffer needs top \+ bottom <= 2/,
};
/**
 * Streamable, but not simulated here: a 1000x1000 frame through a 60x80 max pool dilated 10 (a 591x791
 * window: a line buffer of 590 rows of 1,000 pixels and a 4,800-input max tree), minutes of Verilator
 * build for one layer. Its integer model is checked against the expected outputs in test/onnx.
 */
const TOO_LARGE = ['pytorch-converted/test_MaxPool2d_stride_padding_dilation'];
const QUICK = ['pytorch-converted/test_Conv2d_dilated', 'node/test_averagepool_2d_same_upper'];
const STREAMED = IMAGE_MODELS.filter((m) => !(m in REFUSED) && !TOO_LARGE.includes(m) && (FULL || QUICK.includes(m)));

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-conformance-rtl-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The model (its weights bound as initializers) and its test inputs, one image per batch entry, as files. */
function materialize(model: string): { file: string; data: string; images: number; layers: number } {
  const sets = readTestDataSets(model);
  const first = sets[0];
  if (first === undefined) throw new Error(`${model}: no test_data_set`);
  const bytes = bindConstantInputs(model, first.inputs);
  const name = model.replace('/', '_');
  const file = path.join(work, `${name}.onnx`);
  writeFileSync(file, bytes);
  const graph = importDecoded(decodeOnnx(bytes, `${name}.onnx`));
  const size = graph.input.shape.reduce((a, b) => a * b, 1);
  const inputs = sets.map((s) => s.inputs[0]?.data ?? new Float32Array());
  const images = inputs.reduce((n, x) => n + x.length / size, 0);
  const flat = new Float32Array(images * size);
  let at = 0;
  for (const x of inputs) { flat.set(x, at); at += x.length; }
  const data = path.join(work, `${name}.npy`);
  writeNpy(data, flat, [images, ...graph.input.shape]);
  return { file, data, images, layers: graph.layers.length };
}

describe('conformance image models: generated with every layer fixed, bit-exact in Verilator on their own inputs', () => {
  it('every refused or skipped model is one of the image models', () => {
    for (const m of [...Object.keys(REFUSED), ...TOO_LARGE]) expect(IMAGE_MODELS as readonly string[]).toContain(m);
  });

  it.each(Object.keys(REFUSED))('%s: generate refuses it with one clear reason', async (model) => {
    const { file, data, layers } = materialize(model);
    await expect(generate(file, { fixedLayers: String(layers), out: path.join(work, 'refused'), calib: data })).rejects.toThrow(REFUSED[model]!);
  });

  it('the dilated model on the accelerator (--fixed-layers 0 --accel 8x8) is refused with one clear message, nothing written', async () => {
    const { file, data } = materialize('pytorch-converted/test_Conv2d_dilated');
    const out = path.join(work, 'dilated-accel');
    const err = await generateAccelDesign(file, { fixedLayers: '0', accel: '8x8', out, calib: data, onProgress: () => {} }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(FixynnError);
    expect((err as FixynnError).message).toMatch(/accelerator: layer 0 '.*' \(conv\): a dilated convolution \(dilation 2x2\)/);
    expect(existsSync(out)).toBe(false);
  });

  it.each(STREAMED)('%s', async (model) => {
    const { file, data, images, layers } = materialize(model);
    const out = path.join(work, model.replace('/', '_'));
    // Calibrated on its own inputs, as test/onnx/conformance.test.ts quantizes it.
    await generate(file, { fixedLayers: String(layers), out, calib: data });
    const summary = await verifyDesign(out, { simulator: 'verilator', images, data });
    expect(summary.mismatches, summary.firstMismatch ? describeMismatch(summary.firstMismatch) : '').toBe(0);
    if (summary.cyclesPerFrame !== null) expect(summary.cyclesPerFrame).toBeLessThanOrEqual(1.05 * summary.idealCyclesPerFrame);
    const { files, top } = rtlOf(out);
    expect(await lint(files, top)).toEqual([]);
  }, 1_800_000); // test_operator_conv (16 channels in, 50x40, 20 images): its Verilator build alone took over 10 minutes on a shared machine
});
