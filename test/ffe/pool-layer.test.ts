/**
 * Pooling, global pooling and the Gemm head as units of a small fixed chain, in the TypeScript evaluator
 * against the golden integer model, over back-to-back frames with and without random stalls.
 */
import { describe, expect, it } from 'vitest';
import { generateFfe } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { graphOf, outSize, randomGemmLayer, randomGlobalPoolLayer, randomImage, randomPoolLayer, randomQuant, seeded, tensor } from './random-graphs.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

/** input -> pool (max or avg) -> global average pool -> gemm. */
export function poolChain(seed: number, kind: 'maxpool' | 'avgpool', h: number, w: number, kernel: [number, number], stride: [number, number], pads: [number, number, number, number]): QuantizedGraph {
  const rng = seeded(seed);
  const c = 3;
  const x = tensor('x', [c, h, w], randomQuant(rng));
  const p = tensor('p', [c, outSize(h, kernel[0], stride[0], pads[0], pads[2]), outSize(w, kernel[1], stride[1], pads[1], pads[3])], kind === 'maxpool' ? x.quant : randomQuant(rng));
  const g = tensor('g', [c, 1, 1], randomQuant(rng));
  const y = tensor('y', [4, 1, 1], randomQuant(rng));
  return graphOf(x, [p, g, y], [randomPoolLayer(rng, 0, kind, x, p, kernel, stride, pads), randomGlobalPoolLayer(rng, 1, p, g), randomGemmLayer(rng, 2, g, y)]);
}

export const POOL_CASES = [
  { label: 'maxpool 3x3 s2 pads (1,1,1,1)', kind: 'maxpool', h: 7, w: 9, kernel: [3, 3], stride: [2, 2], pads: [1, 1, 1, 1] },
  { label: 'maxpool 2x2 s2 no pad', kind: 'maxpool', h: 6, w: 5, kernel: [2, 2], stride: [2, 2], pads: [0, 0, 0, 0] },
  { label: 'avgpool 3x3 s1 pads (1,0,1,2)', kind: 'avgpool', h: 5, w: 6, kernel: [3, 3], stride: [1, 1], pads: [1, 0, 1, 2] },
  { label: 'avgpool 2x3 s(1,2) pads (0,1,1,1)', kind: 'avgpool', h: 4, w: 9, kernel: [2, 3], stride: [1, 2], pads: [0, 1, 1, 1] },
] as const;

describe('pooling, global pooling and gemm units in the TypeScript evaluator', () => {
  for (const [k, c] of POOL_CASES.entries()) {
    for (const stalls of [false, true]) {
      it(`${c.label} -> GAP -> gemm${stalls ? ', random stalls' : ''}: every unit bit-exact over 3 frames`, () => {
        const graph = poolChain(900 + k, c.kind, c.h, c.w, [...c.kernel], [...c.stride], [...c.pads]);
        const rng = seeded(k);
        const model = new IntegerModel(graph);
        for (const fixed of [1, 3]) {
          const design = generateFfe(graph, { fixedLayers: fixed, name: `pool_t${fixed}` });
          const frames = [0, 1, 2].map(() => randomImage(rng, graph.tensors['x']!));
          const beats = frames.flatMap((f) => imageBeats(f, graph.tensors['x']!.shape, { channels: 3, ...design.input.type }));
          const per = design.throughput.outputBeatsPerFrame;
          const top = design.top;
          const run = driveStream(top, beats, { validRate: stalls ? 0.6 : 1, readyRate: stalls ? 0.5 : 1, rng, expectedBeats: 3 * per, tuser: design.input });
          expect(run.beats.length).toBe(3 * per);
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
