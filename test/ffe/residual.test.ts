/**
 * A residual block in the fixed part: x -> conv 3x3 -> t0; t0 -> depthwise 3x3 -> pointwise (fused) ->
 * t2; add(t2, t0) -> t3 -> pointwise -> y. The skip stream t0 waits in a FIFO while the main path's
 * line buffers fill. TypeScript evaluator against the integer model, back-to-back frames, with and
 * without random stalls; the skip operand first or second.
 */
import { describe, expect, it } from 'vitest';
import { generateFfe } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { residualGraph } from './networks.js';
import { randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

describe('residual Add with the skip stream delayed in a FIFO (TypeScript evaluator)', () => {
  for (const skipFirst of [false, true]) {
    for (const stalls of [false, true]) {
      it(`skip operand ${skipFirst ? 'first' : 'second'}${stalls ? ', random stalls' : ''}: bit-exact over 3 frames at full rate`, () => {
        const graph = residualGraph(skipFirst ? 31 : 32, 5, 7, skipFirst);
        const design = generateFfe(graph, { fixedLayers: 5, name: 'res_t' });
        expect(design.units.map((u) => u.kind)).toEqual(['conv', 'dw+pw', 'add', 'conv']);
        const rng = seededRandom(3);
        const model = new IntegerModel(graph);
        const frames = [0, 1, 2].map(() => randomImage(rng, graph.tensors['x']!));
        const beats = frames.flatMap((f) => imageBeats(f, graph.tensors['x']!.shape, { channels: 2, ...design.input.type }));
        const per = design.throughput.outputBeatsPerFrame;
        const run = driveStream(design.top, beats, { validRate: stalls ? 0.6 : 1, readyRate: stalls ? 0.5 : 1, rng, expectedBeats: 3 * per, tuser: design.input });
        expect(run.beats.length).toBe(3 * per);
        frames.forEach((f, i) => {
          const got = beatsImage(run.beats.slice(i * per, (i + 1) * per), graph.tensors['y']!.shape, { channels: 2, ...design.output.type });
          expect(Array.from(got), `frame ${i}`).toEqual(Array.from(model.run(f).get('y')!));
        });
        if (!stalls) {
          expect(run.times[0], 'first output cycle = the computed latency').toBe(design.latencyCycles);
          const starts = run.times.filter((_, k) => run.users[k] === 1);
          for (let k = 1; k < starts.length; k++) expect(starts[k]! - starts[k - 1]!).toBeLessThanOrEqual(1.05 * 35);
        }
      });
    }
  }
});
