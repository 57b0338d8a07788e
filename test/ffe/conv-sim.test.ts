/**
 * The single conv layer cases in Verilator and Icarus (one batch build per simulator), with random
 * stalls on s_tvalid and m_tready over three back-to-back frames, against the golden integer model;
 * plus lint (`verilator --lint-only -Wall`) of every layer module. The TypeScript evaluator runs the
 * same vectors for the first case and must agree cycle for cycle.
 */
import { describe, expect, it } from 'vitest';
import { buildConvModule } from '../../generator/ffe/conv.js';
import { streamOfTensor } from '../../generator/contract/stream.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QConvLayer, QuantizedGraph } from '../../generator/quant/ir.js';
import { buildBatch, evaluateVectors, fromVerilogResponse, lint, simDesignOf, toVerilogVector, type DslSimDesign, type Vector } from '../../verify/sim/index.js';
import { emitDesign } from '../../generator/emit/index.js';
import { CONV_CASES } from './conv-cases.js';
import { randomConvGraph, randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, imageBeats } from './stream-driver.js';
import { streamWrapper, takenBeats, wrapperVectors } from './sim-wrapper.js';

interface Prepared {
  readonly label: string;
  readonly graph: QuantizedGraph;
  readonly design: DslSimDesign;
  readonly frames: Int32Array[];
  readonly vectors: Vector[];
  readonly loadCycles: number;
  readonly layerModule: ReturnType<typeof buildConvModule>['module'];
}

const FRAMES = 3;

function prepare(index: number): Prepared {
  const c = CONV_CASES[index]!;
  const rng = seededRandom(500 + index);
  const graph = randomConvGraph(rng, c);
  const input = streamOfTensor(graph.tensors['x']!);
  const output = streamOfTensor(graph.tensors['y']!);
  const built = buildConvModule(`conv_case${index}`, graph.layers[0] as QConvLayer, input, output, { strategy: c.strategy, pipeline: c.pipeline ?? 0 });
  const frames = Array.from({ length: FRAMES }, () => randomImage(rng, graph.tensors['x']!));
  const beats = frames.flatMap((f) => imageBeats(f, graph.tensors['x']!.shape, { channels: input.channels, ...input.type }));
  const wrapper = streamWrapper(`wrap_case${index}`, built.module, beats.length, input.channels * input.type.bits);
  const outBeats = FRAMES * output.height * output.width;
  const vectors = wrapperVectors(beats, Math.ceil((beats.length / 0.6 + outBeats / 0.6) * 1.5) + 100, rng, 0.6, 0.6);
  return { label: c.label, graph, design: simDesignOf(wrapper), frames, vectors, loadCycles: beats.length + 2, layerModule: built.module };
}

function checkAgainstModel(p: Prepared, responses: ReadonlyArray<Record<string, bigint | null>>): void {
  const out = p.graph.tensors['y']!;
  const shape = streamOfTensor(out);
  const taken = takenBeats(responses, p.loadCycles);
  const perFrame = shape.height * shape.width;
  expect(taken.data.length, `${p.label}: output beats`).toBe(FRAMES * perFrame);
  const model = new IntegerModel(p.graph);
  p.frames.forEach((f, i) => {
    const got = beatsImage(taken.data.slice(i * perFrame, (i + 1) * perFrame), out.shape, { channels: shape.channels, ...shape.type });
    expect(Array.from(got), `${p.label}: frame ${i}`).toEqual(Array.from(model.run(f).get('y')!));
  });
  expect(taken.user.filter((u) => u === 1).length, `${p.label}: frame starts`).toBe(FRAMES);
}

describe('conv layer modules in Verilator and Icarus', () => {
  const prepared = CONV_CASES.map((_, i) => prepare(i));

  it('the TypeScript evaluator runs the wrapped first case bit-exactly (the same vectors as the simulators)', () => {
    const p = prepared[0]!;
    checkAgainstModel(p, evaluateVectors(p.design.module, p.vectors));
  });

  for (const simulator of ['verilator', 'icarus'] as const) {
    it(`${simulator}: every case bit-exact under random stalls`, async () => {
      const build = await buildBatch(simulator, prepared.map((p) => p.design));
      const results = await build.run(new Map(prepared.map((p) => [p.design.top, p.vectors.map((v) => toVerilogVector(p.design, v))])));
      for (const p of prepared) checkAgainstModel(p, results.get(p.design.top)!.map((r) => fromVerilogResponse(p.design, r)));
    }, 600_000);
  }

  it('every layer module is clean under verilator --lint-only -Wall', async () => {
    for (const p of prepared) {
      const emitted = emitDesign(p.layerModule);
      const result = await lint(emitted.files, emitted.top);
      expect(result, p.label).toEqual([]);
    }
  }, 300_000);
});
