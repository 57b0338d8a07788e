/**
 * --pipeline N: the constant products registered every N adder levels inside the arith CMVM block
 * (free-running registers), the layer in credit flow control with an output FIFO. Bit-exact against the
 * integer model with random stalls; without stalls, one pixel per clock (frame period = input pixels).
 */
import { describe, expect, it } from 'vitest';
import { generateFfe } from '../../generator/ffe/index.js';
import { streamOfTensor } from '../../generator/contract/stream.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { CONV_CASES } from './conv-cases.js';
import { randomConvGraph, randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

describe('pipelined constant products with credit flow control (TypeScript evaluator)', () => {
  for (const index of [0, 1, 2, 7]) {
    const c = CONV_CASES[index]!;
    for (const pipeline of [1, 2]) {
      for (const stalls of [false, true]) {
        it(`${c.label} (${c.strategy}), --pipeline ${pipeline}${stalls ? ', random stalls' : ''}`, () => {
          const rng = seededRandom(700 + index);
          const graph = randomConvGraph(rng, c);
          const input = streamOfTensor(graph.tensors['x']!);
          const output = streamOfTensor(graph.tensors['y']!);
          const design = generateFfe(graph, { fixedLayers: 1, strategy: c.strategy, pipeline, name: `conv_p${pipeline}` });
          const model = new IntegerModel(graph);
          const frames = [0, 1, 2].map(() => randomImage(rng, graph.tensors['x']!));
          const beats = frames.flatMap((f) => imageBeats(f, graph.tensors['x']!.shape, { channels: input.channels, ...input.type }));
          const per = output.height * output.width;
          const run = driveStream(design.top, beats, { validRate: stalls ? 0.7 : 1, readyRate: stalls ? 0.5 : 1, rng, expectedBeats: 3 * per, tuser: design.input });
          expect(run.beats.length).toBe(3 * per);
          frames.forEach((f, i) => {
            const got = beatsImage(run.beats.slice(i * per, (i + 1) * per), graph.tensors['y']!.shape, { channels: output.channels, ...output.type });
            expect(Array.from(got), `frame ${i}`).toEqual(Array.from(model.run(f).get('y')!));
          });
          if (!stalls) {
            expect(run.times[0], 'first output cycle = the computed latency').toBe(design.latencyCycles);
            const starts = run.times.filter((_, k) => run.users[k] === 1);
            for (let k = 1; k < starts.length; k++) expect(starts[k]! - starts[k - 1]!).toBe(c.height * c.width);
          }
        });
      }
    }
  }
});
