/**
 * fixynn verify's expected beat files made on worker threads (verify/ffe/expect.ts): the same bytes as on
 * the calling thread and as packBinaryBeats of the integer model's values, buffers handed back and forth
 * between runs, and a verification whose integer model ran on workers reports exactly what one without
 * them reports: bit-exact for a correct design, and for a deliberately wrong expectation (a copy of the
 * design whose integer model has one bias changed) the same mismatches and first mismatch.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { partOf } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { expectedOf, inputsOf, stimulusImages } from '../../generator/design/stimulus.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { packBinaryBeats } from '../../verify/ffe/beat-files.js';
import { ExpectPool, expectWorkers, modelMacs, RunPacker, WORKER_MIN_MACS, type ExpectedStream } from '../../verify/ffe/expect.js';
import { verifyDesign } from '../../verify/ffe/index.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { quietly } from '../helpers/quietly.js';

let work: string;
let good: string;
let buggy: string;

/** 1 -> 3 -> 2 channels, 1x1 convolutions on MNIST-shaped input (ReLU between). */
function pointwiseModel(file: string): string {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('image', [1, 1, 28, 28]);
  const w0 = b.initializer('w0', randomFloats(3, 7), [3, 1, 1, 1]);
  const b0 = b.initializer('b0', randomFloats(3, 8, 0.2), [3]);
  const w1 = b.initializer('w1', randomFloats(6, 9), [2, 3, 1, 1]);
  const b1 = b.initializer('b1', randomFloats(2, 10, 0.2), [2]);
  b.node('Conv', ['image', w0, b0], ['c0'], { kernel_shape: [1, 1] }, 'pw0');
  b.node('Relu', ['c0'], ['r0'], {}, 'relu0');
  b.node('Conv', ['r0', w1, b1], ['features'], { kernel_shape: [1, 1] }, 'pw1');
  b.output('features', [1, 2, 28, 28]);
  return b.save(file);
}

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-expect-workers-'));
  good = path.join(work, 'good');
  await quietly(() => runGenerate(pointwiseModel(path.join(work, 'pointwise.onnx')), { fixedLayers: '2', out: good }));
  // The same RTL with a wrong expectation: layer 1's channel 1 bias made huge in the integer model the
  // manifest carries (its outputs clamp at the top of their range).
  buggy = path.join(work, 'buggy');
  cpSync(good, buggy, { recursive: true });
  const manifestFile = path.join(buggy, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { parts: Array<{ kind: string; quantization: { layers: Array<{ bias: number[] }> } }> };
  manifest.parts.find((p) => p.kind === 'ffe')!.quantization.layers[1]!.bias[1] = 1e9;
  writeFileSync(manifestFile, JSON.stringify(manifest));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('expected beat files on worker threads', () => {
  it('packs the bytes packBinaryBeats makes of the integer model\'s values, on this thread and on workers, run after run', async () => {
    const design = readDesign(good);
    const ffe = partOf(design.manifest, 'ffe', design.dir);
    const model = new IntegerModel(ffe.quantization);
    const inputs = inputsOf(ffe, stimulusImages(ffe, undefined, 7).images, undefined, model);
    const layers = ffe.quantization.layers;
    const streams: ExpectedStream[] = [
      ...ffe.layers.map((l, k) => ({ key: k, tensor: layers[k]!.output, format: l.out, withFlags: false })),
      { key: 'output', tensor: layers[layers.length - 1]!.output, format: design.manifest.top.output, withFlags: true },
    ];
    const reference = (run: readonly Int32Array[]): Array<number[] | null> => {
      const values = expectedOf(ffe, run, model);
      return streams.map((s) => {
        const k = s.key === 'output' ? layers.length - 1 : s.key;
        const packed = packBinaryBeats(values.map((v) => v[k]!), s.format, s.withFlags);
        return packed === null ? null : [...packed];
      });
    };
    const here = new RunPacker(ffe.quantization, streams);
    const pool = await ExpectPool.start(2, { graph: ffe.quantization, streams });
    try {
      // Runs of 4, 3 and 4 images: later runs pack into the buffers of earlier ones (recycled), a shorter one in between.
      for (const run of [inputs.slice(0, 4), inputs.slice(4, 7), inputs.slice(0, 4)]) {
        const want = reference(run);
        expect(want.every((w) => w !== null && w.length > 0)).toBe(true);
        expect(here.pack(run).map((p) => (p === null ? null : [...p]))).toEqual(want);
        const [a, b] = await Promise.all([pool.expect(run), pool.expect(run)]);
        expect(a.map((p) => (p === null ? null : [...p]))).toEqual(want);
        expect(b.map((p) => (p === null ? null : [...p]))).toEqual(want);
        pool.recycle(a);
        pool.recycle(b);
      }
    } finally {
      await pool.close();
    }
  });

  it('uses workers only on free cores, for a verification large enough to pay for their start-up', () => {
    const ffe = partOf(readDesign(good).manifest, 'ffe', good);
    const macs = modelMacs(ffe.quantization);
    // pw0: 3 weights, pw1: 6, over 28x28 pixels (none of the random weights quantizes to 0 here).
    expect(macs).toBe((3 + 6) * 28 * 28);
    const enough = Math.ceil(WORKER_MIN_MACS / macs);
    expect(expectWorkers(ffe.quantization, enough - 1, 10, 2)).toBe(0);
    expect(expectWorkers(ffe.quantization, enough, 1, 2)).toBe(0); // one run: nothing to overlap
    // Only on cores the simulator processes leave free, at most one per run.
    const cores = availableParallelism();
    expect(expectWorkers(ffe.quantization, enough, 10, cores)).toBe(0);
    expect(expectWorkers(ffe.quantization, enough, 10, 1)).toBe(Math.min(cores - 1, 10));
    expect(expectWorkers(ffe.quantization, enough, 2, 1)).toBe(Math.min(cores - 1, 2));
  });

  it('verify with the integer model on workers: bit-exact for a correct design, the same first mismatch for a wrong one', async () => {
    const options = { simulator: 'icarus', images: 4, jobs: 2, imagesPerRun: 2 } as const;
    const ok = await verifyDesign(good, { ...options, expectWorkers: 2 });
    expect(ok.expectWorkers).toBe(2);
    expect(ok.images).toBe(4);
    expect(ok.mismatches).toBe(0);
    const onWorkers = await verifyDesign(buggy, { ...options, expectWorkers: 2 });
    const here = await verifyDesign(buggy, { ...options, expectWorkers: 0 });
    expect(here.expectWorkers).toBe(0);
    expect(onWorkers.mismatches).toBeGreaterThan(0);
    expect(onWorkers.firstMismatch).toMatchObject({ frame: 0, layer: 1, layerName: 'pw1', row: 0, col: 0, channel: 1 });
    expect({ mismatches: onWorkers.mismatches, images: onWorkers.mismatchedImages, first: onWorkers.firstMismatch })
      .toEqual({ mismatches: here.mismatches, images: here.mismatchedImages, first: here.firstMismatch });
    expect(onWorkers.mismatchedImages).toBe(4);
  });
});
