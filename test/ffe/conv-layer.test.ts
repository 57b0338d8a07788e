/**
 * Single conv layers (dense / depthwise, kernels 1/3/5, strides 1/2, asymmetric pads, dilations, odd
 * and non-square sizes) in the TypeScript evaluator against the golden integer model, over back-to-back
 * frames with and without random stalls on both handshakes.
 */
import { describe, expect, it } from 'vitest';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { buildConvModule } from '../../generator/ffe/conv.js';
import type { QConvLayer } from '../../generator/quant/ir.js';
import { CONV_CASES } from './conv-cases.js';
import { randomConvGraph, randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';
import { streamOfTensor } from '../../generator/contract/stream.js';
import { designCosts } from '../../generator/hdl/index.js';

const cases = CONV_CASES;

describe('conv layer module in the TypeScript evaluator', () => {
  for (const [k, c] of cases.entries()) {
    for (const stalls of [false, true]) {
      it(`${c.label} (${c.strategy})${stalls ? ', random stalls' : ''}: bit-exact over 3 back-to-back frames`, () => {
        const rng = seededRandom(100 + k);
        const graph = randomConvGraph(rng, c);
        const layer = graph.layers[0] as QConvLayer;
        const input = streamOfTensor(graph.tensors['x']!);
        const output = streamOfTensor(graph.tensors['y']!);
        const built = buildConvModule('conv_t', layer, input, output, { strategy: c.strategy, pipeline: c.pipeline ?? 0 });
        // Storage from the DSL: the line buffer is exactly spanH-1 rows of W pixels of all channels (plus
        // the output FIFO in credit mode; rows of 1-2 pixels are registers), the register window spanW-1
        // columns of every tap row (span = (k-1)*d+1: a dilated window keeps the rows between its taps).
        const [dy, dx] = c.dilation ?? [1, 1];
        const span = [(c.kernel[0] - 1) * dy + 1, (c.kernel[1] - 1) * dx + 1] as const;
        const pixelBits = c.inChannels * (c.actBits ?? 8);
        const lineBuffer = (span[0] - 1) * c.width * pixelBits;
        const cost = designCosts(built.module);
        if (c.width <= 2) expect(cost.registerBits).toBeGreaterThan(lineBuffer);
        else if (c.pipeline === undefined) expect(cost.memoryBits).toBe(lineBuffer);
        else expect(cost.memoryBits).toBeGreaterThan(lineBuffer);
        expect(cost.registerBits).toBeGreaterThan((span[1] - 1) * c.kernel[0] * pixelBits);
        const model = new IntegerModel(graph);
        const frames = [0, 1, 2].map(() => randomImage(rng, graph.tensors['x']!));
        const beats = frames.flatMap((f) => imageBeats(f, graph.tensors['x']!.shape, { channels: input.channels, ...input.type }));
        const perFrame = output.height * output.width;
        const run = driveStream(built.module, beats, { validRate: stalls ? 0.7 : 1, readyRate: stalls ? 0.6 : 1, rng, expectedBeats: 3 * perFrame });
        expect(run.beats.length).toBe(3 * perFrame);
        frames.forEach((f, i) => {
          const expected = model.run(f).get('y')!;
          const got = beatsImage(run.beats.slice(i * perFrame, (i + 1) * perFrame), graph.tensors['y']!.shape, { channels: output.channels, ...output.type });
          expect(Array.from(got)).toEqual(Array.from(expected));
        });
        expect(run.users.filter((u) => u === 1).length).toBe(3);
        expect(run.lasts.filter((u) => u === 1).length).toBe(3 * output.height);
      });
    }
  }
});
