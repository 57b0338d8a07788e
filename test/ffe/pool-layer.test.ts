/**
 * Pooling, global pooling and the Gemm head as units of a small fixed chain, in the TypeScript evaluator
 * against the golden integer model, over back-to-back frames with and without random stalls.
 */
import { describe, expect, it } from 'vitest';
import { generateFfe } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { POOL_CASES, poolChain } from './networks.js';
import { randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

describe('pooling, global pooling and gemm units in the TypeScript evaluator', () => {
  for (const [k, c] of POOL_CASES.entries()) {
    for (const stalls of [false, true]) {
      it(`${c.label} -> GAP -> gemm${stalls ? ', random stalls' : ''}: every unit bit-exact over 3 frames`, () => {
        const graph = poolChain(900 + k, c.kind, c.h, c.w, [...c.kernel], [...c.stride], [...c.pads], 'excludePads' in c, 'dilation' in c ? c.dilation : [1, 1]);
        const rng = seededRandom(k);
        const model = new IntegerModel(graph);
        for (const fixed of [1, 3]) {
          const design = generateFfe(graph, { fixedLayers: fixed, name: `pool_t${fixed}` });
          const frames = [0, 1, 2].map(() => randomImage(rng, graph.tensors['x']!));
          const beats = frames.flatMap((f) => imageBeats(f, graph.tensors['x']!.shape, { channels: 3, ...design.input.type }));
          const per = design.throughput.outputBeatsPerFrame;
          const top = design.top;
          const run = driveStream(top, beats, { validRate: stalls ? 0.6 : 1, readyRate: stalls ? 0.5 : 1, rng, expectedBeats: 3 * per, tuser: design.input });
          expect(run.beats.length).toBe(3 * per);
          if (!stalls) expect(run.times[0], 'first output cycle = the computed latency').toBe(design.latencyCycles);
          const out = graph.tensors[design.output.tensor]!;
          frames.forEach((f, i) => {
            const got = beatsImage(run.beats.slice(i * per, (i + 1) * per), out.shape, { channels: design.output.channels, ...design.output.type });
            expect(Array.from(got), `K=${fixed} frame ${i}`).toEqual(Array.from(model.run(f).get(design.output.tensor)!));
          });
        }
      });
    }
  }
});
