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
import { residualGraph, shrinkingPair, tinyMapGraph } from './networks.js';
import { randomConvGraph, randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, driveStream, imageBeats } from './stream-driver.js';

const GAPS = [0, 1, 3, 0, 7, 40, 2, 0];

const SHRINK_WAITS = shrinkingPair(65, 13, 5, { kernel: [5, 5], stride: [1, 1], pads: [3, 3, 1, 0] }, { kernel: [5, 5], pads: [3, 0, 1, 4] });
const SHRINK_FLUSHES = shrinkingPair(66, 9, 8, { kernel: [3, 3], stride: [2, 2], pads: [0, 0, 0, 0] }, { kernel: [3, 3], pads: [1, 1, 1, 1] });

const designs: Array<{ label: string; graph: QuantizedGraph; fixed: number; pipeline: number }> = [
  { label: 'conv 5x5 asymmetric pads', graph: randomConvGraph(seededRandom(61), CONV_CASES[2]!), fixed: 1, pipeline: 0 },
  { label: 'depthwise 5x5 s2, pipelined', graph: randomConvGraph(seededRandom(62), CONV_CASES[7]!), fixed: 1, pipeline: 2 },
  { label: 'residual block', graph: residualGraph(63, 5, 6, false), fixed: 5, pipeline: 0 },
  { label: 'maps smaller than the window', graph: tinyMapGraph(64, 1, 2), fixed: 2, pipeline: 0 },
  // The second unit's input pauses 1 clock at every frame boundary; its tail (8) does not fit: it waits the pause out.
  { label: 'after a narrower layer (tail waits out the pause)', graph: SHRINK_WAITS, fixed: 2, pipeline: 0 },
  // The second unit's input pauses for more than its tail: it flushes in the pause.
  { label: 'after a stride-2 layer (tail flushed in the pause)', graph: SHRINK_FLUSHES, fixed: 2, pipeline: 0 },
];

describe('gaps at frame boundaries (TypeScript evaluator)', () => {
  for (const d of designs) {
    it(`${d.label}: bit-exact over ${GAPS.length} frames with gaps ${GAPS.join(', ')}`, () => {
      const design = generateFfe(d.graph, { fixedLayers: d.fixed, pipeline: d.pipeline, name: 'gap_t' });
      const rng = seededRandom(9);
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

/**
 * Frames back to back (no gap at all) through a unit whose input pauses at every frame boundary because
 * the unit before it shrinks the frame: the pause must not start a tail flush that refuses the next
 * frame's pixels. Exactly one frame per `pixels` clocks, on both sides, and the first output at the
 * computed latency.
 */
describe('back to back after a frame-shrinking layer (TypeScript evaluator)', () => {
  const cases = [
    { label: 'tail waits out the pause', graph: SHRINK_WAITS, patience: [0, 1] },
    { label: 'tail flushed in the pause', graph: SHRINK_FLUSHES, patience: [0, 0] },
  ];
  for (const c of cases) {
    it(`${c.label}: one frame per input-frame pixels, bit-exact, latency as computed`, () => {
      const design = generateFfe(c.graph, { fixedLayers: 2, name: 'b2b_t' });
      expect(design.units[1]!.tailBeats).toBeGreaterThan(0);
      const rng = seededRandom(17);
      const x = c.graph.tensors[c.graph.input.tensor]!;
      const frames = [0, 1, 2, 3, 4].map(() => randomImage(rng, x));
      const beats = frames.flatMap((f) => imageBeats(f, x.shape, { channels: design.input.channels, ...design.input.type }));
      const pixels = design.throughput.inputBeatsPerFrame;
      const per = design.throughput.outputBeatsPerFrame;
      const run = driveStream(design.top, beats, { validRate: 1, readyRate: 1, rng, expectedBeats: frames.length * per, tuser: design.input });
      const model = new IntegerModel(c.graph);
      const out = c.graph.tensors[design.output.tensor]!;
      frames.forEach((f, i) => {
        const got = beatsImage(run.beats.slice(i * per, (i + 1) * per), out.shape, { channels: design.output.channels, ...design.output.type });
        expect(Array.from(got), `frame ${i}`).toEqual(Array.from(model.run(f).get(design.output.tensor)!));
      });
      const starts = run.times.filter((_, k) => run.users[k] === 1);
      expect(starts[0], 'first output cycle = the computed latency').toBe(design.latencyCycles);
      // The last frame's tail is flushed once the input stops, so its start is left out.
      for (let i = 1; i < starts.length - 1; i++) expect(starts[i]! - starts[i - 1]!, `frame ${i}`).toBe(pixels);
      expect(design.units.map((u) => u.idleBeforeFlush)).toEqual(c.patience);
    });
  }
});
