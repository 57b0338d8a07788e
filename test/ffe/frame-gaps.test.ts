/**
 * Gaps exactly at frame boundaries exercise the frame tail: a gap shorter than a unit's tail makes it
 * start phantom beats and hold the next frame's first pixel until the tail is out; a longer gap lets it
 * finish and restart. Frames full rate inside, gaps of 0, 1, a few, and many clocks between them;
 * bit-exact on every frame, and each frame period at most its pixels + gap + the largest tail.
 */
import { describe, expect, it } from 'vitest';
import { generateFfe } from '../../generator/ffe/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { CONV_CASES } from './conv-cases.js';
import { residualGraph, tinyMapGraph } from './networks.js';
import { randomConvGraph, randomImage, seeded } from './random-graphs.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

const GAPS = [0, 1, 3, 0, 7, 40, 2, 0];

const designs: Array<{ label: string; graph: QuantizedGraph; fixed: number; pipeline: number }> = [
  { label: 'conv 5x5 asymmetric pads', graph: randomConvGraph(seeded(61), CONV_CASES[2]!), fixed: 1, pipeline: 0 },
  { label: 'depthwise 5x5 s2, pipelined', graph: randomConvGraph(seeded(62), CONV_CASES[7]!), fixed: 1, pipeline: 2 },
  { label: 'residual block', graph: residualGraph(63, 5, 6, false), fixed: 5, pipeline: 0 },
  { label: 'maps smaller than the window', graph: tinyMapGraph(64, 1, 2), fixed: 2, pipeline: 0 },
];

describe('gaps at frame boundaries (TypeScript evaluator)', () => {
  for (const d of designs) {
    it(`${d.label}: bit-exact over ${GAPS.length} frames with gaps ${GAPS.join(', ')}`, () => {
      const design = generateFfe(d.graph, { fixedLayers: d.fixed, pipeline: d.pipeline, name: 'gap_t' });
      const rng = seeded(9);
      const x = d.graph.tensors[d.graph.input.tensor]!;
      const frames = GAPS.map(() => randomImage(rng, x));
      const beats = frames.flatMap((f) => imageBeats(f, x.shape, { channels: design.input.channels, ...design.input.type }));
      const pixels = design.throughput.inputBeatsPerFrame;
      const per = design.throughput.outputBeatsPerFrame;
      const run = driveStream(design.top, beats, {
        validRate: 1, readyRate: 1, rng, expectedBeats: GAPS.length * per, tuser: design.input,
        gapBefore: (k) => (k % pixels === 0 ? GAPS[k / pixels]! : 0),
      });
      const model = new IntegerModel(d.graph);
      const out = d.graph.tensors[design.output.tensor]!;
      frames.forEach((f, i) => {
        const got = beatsImage(run.beats.slice(i * per, (i + 1) * per), out.shape, { channels: design.output.channels, ...design.output.type });
        expect(Array.from(got), `frame ${i}`).toEqual(Array.from(model.run(f).get(design.output.tensor)!));
      });
      const starts = run.times.filter((_, k) => run.users[k] === 1);
      const tail = Math.max(...design.units.map((u) => u.tailBeats));
      for (let i = 1; i < starts.length; i++) expect(starts[i]! - starts[i - 1]!, `frame ${i}`).toBeLessThanOrEqual(pixels + GAPS[i]! + tail);
    });
  }
});
