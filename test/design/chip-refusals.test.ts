/**
 * Refusals of the chip flows (issue 13), on small test models, no simulation.
 *
 * `generate --fixed-layers K --accel RxC`: a tensor crossing the cut too large for the on-chip frame FIFO
 * spills over AXI (the frame buffer 'axi', generator/design/chip-spill.ts; simulated in chip-spill.test.ts).
 *
 * `compile other.onnx --chip DIR`: the frozen front end is compared integer for integer, not
 * only its weights. Small chips (K = 1) built from test models: a float model whose only difference is
 * one front bias, and a QDQ model whose only difference is one front activation scale, are refused
 * (exit 2, nothing written) naming the layer and the parameter; the chip's own model compiles with the
 * calibration flags honoured and the same default calibration data as generate.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCompile } from '../../generator/commands/compile.js';
import { FixynnError } from '../../generator/common/errors.js';
import { ffeCore } from '../../generator/design/core.js';
import { generateDesign } from '../../generator/design/generate-design.js';
import { FRAME_FIFO_MAX_BITS } from '../../generator/design/chip.js';
import { parseQuantizedGraph } from '../../generator/quant/serialize.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { quietly } from '../helpers/quietly.js';

let root: string;
beforeAll(() => { root = mkdtempSync(path.join(tmpdir(), 'fixynn-front-check-')); });
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Float: conv 3x3 1->4 + ReLU (the front), conv 3x3 4->4 stride 2 + ReLU, conv 1x1 4->3 (the back). */
function floatModel(file: string, bias0: Float32Array): string {
  const b = new OnnxBuilder();
  b.input('image', [1, 1, 28, 28]);
  const w0 = b.initializer('w0', randomFloats(4 * 9, 31, 0.6), [4, 1, 3, 3]);
  const b0 = b.initializer('b0', bias0, [4]);
  const w1 = b.initializer('w1', randomFloats(4 * 4 * 9, 32, 0.3), [4, 4, 3, 3]);
  const b1 = b.initializer('b1', randomFloats(4, 33, 0.1), [4]);
  const w2 = b.initializer('w2', randomFloats(3 * 4, 34, 0.5), [3, 4, 1, 1]);
  b.node('Conv', ['image', w0, b0], ['c0'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'front');
  b.node('Relu', ['c0'], ['r0'], {}, 'front_relu');
  b.node('Conv', ['r0', w1, b1], ['c1'], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, 'back');
  b.node('Relu', ['c1'], ['r1'], {}, 'back_relu');
  b.node('Conv', ['r1', w2], ['scores'], { kernel_shape: [1, 1] }, 'head');
  b.output('scores', [1, 3, 14, 14]);
  return b.save(path.join(root, file));
}

/** QDQ: the same shape of network with its own quantization; `frontScale` is layer 0's output scale. */
function qdqModel(file: string, frontScale: number): string {
  const b = new OnnxBuilder();
  b.input('image', [1, 1, 28, 28]);
  const l0 = b.qdqConv({
    name: 'front', input: 'image', inputQuant: { scale: 1 / 255, zeroPoint: 0, type: 'uint8' },
    weights: randomFloats(4 * 9, 41, 0.6), weightShape: [4, 1, 3, 3], weightQuant: { type: 'int8', perChannel: true },
    bias: randomFloats(4, 42, 0.1), pads: [1, 1, 1, 1], activation: 'relu', outputQuant: { scale: frontScale, zeroPoint: 0, type: 'uint8' },
  });
  const l1 = b.qdqConv({
    name: 'back', input: l0.output, inputScale: frontScale,
    weights: randomFloats(4 * 4 * 9, 43, 0.3), weightShape: [4, 4, 3, 3], weightQuant: { type: 'int8', perChannel: true },
    bias: randomFloats(4, 44, 0.1), strides: [2, 2], pads: [1, 1, 1, 1], activation: 'relu', outputQuant: { scale: 0.02, zeroPoint: 0, type: 'uint8' },
  });
  b.output(l1.output, [1, 4, 14, 14]);
  return b.save(path.join(root, file));
}

async function chipOf(model: string, name: string): Promise<string> {
  const out = path.join(root, name);
  await generateDesign(model, { fixedLayers: '1', accel: '8x8', out, arith: 'shared', pipeline: 0, rawInput: false, onProgress: () => {} }, ffeCore);
  return out;
}

async function refusal(model: string, chip: string, out: string): Promise<string> {
  const err = await quietly(() => runCompile(model, { chip, out, json: true })).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(FixynnError);
  expect((err as FixynnError).exitCode).toBe(2);
  expect(existsSync(out)).toBe(false);
  return (err as FixynnError).message;
}

describe('compile --chip compares the whole frozen front end', () => {
  const bias0 = Float32Array.of(0.05, -0.1, 0.02, 0.08);

  it('float: the chip\'s own model compiles with the calibration flags honoured; a bias-only difference is refused naming layer and index', async () => {
    const model = floatModel('float.onnx', bias0);
    const chip = await chipOf(model, 'float-chip');
    const prog = path.join(root, 'float-prog');
    // No --calib: the default calibration data of generate (MNIST training digits for a [1,28,28] input).
    await quietly(() => runCompile(model, { chip, out: prog, json: true, calibCount: '16', calibMethod: 'minmax', biasCorrection: 'analytic' }));
    const integer = parseQuantizedGraph(readFileSync(path.join(prog, 'integer-model.json'), 'utf8'), 'integer-model.json');
    expect(integer.calibration).toMatchObject({ images: 16, method: 'minmax', biasCorrection: 'analytic' });
    const other = Float32Array.from(bias0);
    other[2] = 0.3;
    const message = await refusal(floatModel('float-bias.onnx', other), chip, path.join(root, 'float-bias-prog'));
    expect(message).toMatch(/float-bias\.onnx for the chip .*: layer 0 'front' differs from the chip's fixed layer 0 'front': bias \[2\] is 0\.3\d* \(\d+\), the chip's model's 0\.0199\d* \(\d+\) \(integers at the chip's accumulator scale \S+\); the model's front end is not the chip's/);
  }, 300_000);

  it('QDQ: the chip\'s own model compiles; a model differing only in a front activation scale is refused naming it', async () => {
    const model = qdqModel('qdq.onnx', 0.05);
    const chip = await chipOf(model, 'qdq-chip');
    await quietly(() => runCompile(model, { chip, out: path.join(root, 'qdq-prog'), json: true }));
    const message = await refusal(qdqModel('qdq-scale.onnx', 0.06), chip, path.join(root, 'qdq-scale-prog'));
    expect(message).toMatch(/qdq-scale\.onnx for the chip .*: layer 0 'front' differs from the chip's fixed layer 0 'front': output activation scale 0\.059\d*, the chip's 0\.050\d*; the model's front end is not the chip's/);
  }, 300_000);

  it('width and preprocessing flags are the chip\'s: refused with --chip', async () => {
    const chip = path.join(root, 'float-chip');
    const model = path.join(root, 'float.onnx');
    for (const [flags, pattern] of [[{ requantBits: '16' }, /--requant-bits with --chip: the chip's widths apply/], [{ scale: '1/127.5' }, /--scale with --chip: .*recorded preprocessing applies/]] as const) {
      const err = await runCompile(model, { chip, out: path.join(root, 'flag-prog'), json: true, ...flags }).then(() => undefined, (e: unknown) => e);
      expect((err as FixynnError).exitCode).toBe(2);
      expect((err as Error).message).toMatch(pattern);
    }
  });
});

describe('generate --accel: a cut tensor over the on-chip frame FIFO budget spills over AXI', () => {
  it('a 16x128x128 cut of 8 bits gets the frame buffer over AXI: MEM behind the AXI4 master, two DRAM frame slots, recorded in the manifest', async () => {
    const b = new OnnxBuilder();
    b.input('image', [1, 1, 128, 128]);
    const l0 = b.qdqConv({
      name: 'wide', input: 'image', inputQuant: { scale: 1 / 255, zeroPoint: 0, type: 'uint8' },
      weights: randomFloats(16 * 9, 51, 0.6), weightShape: [16, 1, 3, 3], weightQuant: { type: 'int8', perChannel: true },
      pads: [1, 1, 1, 1], activation: 'relu', outputQuant: { scale: 0.05, zeroPoint: 0, type: 'uint8' },
    });
    const l1 = b.qdqConv({
      name: 'head', input: l0.output, inputScale: 0.05,
      weights: randomFloats(4 * 16, 52, 0.3), weightShape: [4, 16, 1, 1], weightQuant: { type: 'int8', perChannel: true },
      outputQuant: { scale: 0.02, zeroPoint: 0, type: 'uint8' },
    });
    b.output(l1.output, [1, 4, 128, 128]);
    const model = b.save(path.join(root, 'wide.onnx'));
    const out = path.join(root, 'wide-chip');
    const bits = 128 * 128 * (16 * 8 + 2);
    expect(bits).toBeGreaterThan(FRAME_FIFO_MAX_BITS);
    const { manifest } = await generateDesign(model, { fixedLayers: '1', accel: '8x8', out, arith: 'shared', pipeline: 0, rawInput: false, onProgress: () => {} }, ffeCore);
    expect(manifest.split?.frameBuffer).toBe('axi');
    const accel = manifest.parts[1];
    expect(accel?.kind === 'accel' ? [accel.config.memory, accel.config.frameStart] : null).toEqual(['axi', true]);
    const ports = manifest.top.ports.map((p) => p.name);
    expect(ports).toEqual(expect.arrayContaining(['spill_in_addr', 'm_axi_awaddr', 'm_axi_wdata', 'm_axi_araddr', 's_axil_awaddr']));
    expect(ports.filter((p) => p.startsWith('m_t'))).toEqual([]);
    expect(readFileSync(path.join(out, 'rtl/fixynn_chip_spill.v'), 'utf8')).toMatch(/module fixynn_chip_spill/);
  }, 300_000);
});
