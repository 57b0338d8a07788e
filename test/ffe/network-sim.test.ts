/**
 * Small fixed networks with every unit kind (pooling, dilated pooling, global pooling, gemm head, residual Add with its
 * skip FIFO, fused dw+pw, maps smaller than the window) in Verilator and Icarus, one batch build per simulator: random stalls on both
 * handshakes over back-to-back frames, every output against the golden integer model; lint of each top.
 */
import { describe, expect, it } from 'vitest';
import { emitDesign } from '../../generator/emit/index.js';
import { type FfeDesign, generateFfe } from '../../generator/ffe/index.js';
import { ffeCore } from '../../generator/design/core.js';
import { renderTestbench } from '../../generator/design/testbench.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { buildBatch, evaluateVectors, fromVerilogResponse, lint, simDesignOf, toVerilogVector, type DslSimDesign, type Vector } from '../../verify/sim/index.js';
import { POOL_CASES, poolChain, residualGraph, tinyMapGraph } from './networks.js';
import { randomImage } from './random-graphs.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { beatsImage, imageBeats } from './stream-driver.js';
import { streamWrapper, takenBeats, wrapperVectors } from './sim-wrapper.js';

const FRAMES = 3;

interface Net {
  readonly label: string;
  readonly graph: QuantizedGraph;
  readonly design: FfeDesign;
  readonly sim: DslSimDesign;
  readonly frames: Int32Array[];
  readonly vectors: Vector[];
  readonly loadCycles: number;
}

function net(label: string, graph: QuantizedGraph, fixed: number, strategy: 'shared' | 'csd' | 'multiply', seed: number): Net {
  const design = generateFfe(graph, { fixedLayers: fixed, name: `net_${label}`, strategy });
  const rng = seededRandom(seed);
  const x = graph.tensors[graph.input.tensor]!;
  const frames = Array.from({ length: FRAMES }, () => randomImage(rng, x));
  const beats = frames.flatMap((f) => imageBeats(f, x.shape, { channels: design.input.channels, ...design.input.type }));
  const sim = simDesignOf(streamWrapper(`wrap_${label}`, design.top, beats.length, design.input.channels * design.input.type.bits, design.input));
  const vectors = wrapperVectors(beats, Math.ceil(beats.length * 4) + 200, rng, 0.6, 0.55);
  return { label, graph, design, sim, frames, vectors, loadCycles: beats.length + 2 };
}

function check(n: Net, responses: ReadonlyArray<Record<string, bigint | null>>): void {
  expect(responses[responses.length - 1]!['frame_error'], `${n.label}: framing`).toBe(0n);
  const data = takenBeats(responses, n.loadCycles).data;
  const per = n.design.throughput.outputBeatsPerFrame;
  expect(data.length, `${n.label}: output beats`).toBe(FRAMES * per);
  const model = new IntegerModel(n.graph);
  const out = n.graph.tensors[n.design.output.tensor]!;
  n.frames.forEach((f, i) => {
    const got = beatsImage(data.slice(i * per, (i + 1) * per), out.shape, { channels: n.design.output.channels, ...n.design.output.type });
    expect(Array.from(got), `${n.label}: frame ${i}`).toEqual(Array.from(model.run(f).get(n.design.output.tensor)!));
  });
}

describe('small fixed networks in Verilator and Icarus', () => {
  const nets = [
    net('maxpool', poolChain(900, POOL_CASES[0].kind, POOL_CASES[0].h, POOL_CASES[0].w, [...POOL_CASES[0].kernel], [...POOL_CASES[0].stride], [...POOL_CASES[0].pads]), 3, 'shared', 1),
    net('avgpool', poolChain(902, POOL_CASES[2].kind, POOL_CASES[2].h, POOL_CASES[2].w, [...POOL_CASES[2].kernel], [...POOL_CASES[2].stride], [...POOL_CASES[2].pads]), 3, 'csd', 2),
    net('avgpool_same', poolChain(905, POOL_CASES[5].kind, POOL_CASES[5].h, POOL_CASES[5].w, [...POOL_CASES[5].kernel], [...POOL_CASES[5].stride], [...POOL_CASES[5].pads], true), 3, 'shared', 6),
    net('residual', residualGraph(31, 5, 7, true), 5, 'multiply', 3),
    net('tiny_1x2', tinyMapGraph(41, 1, 2), 2, 'shared', 4),
    net('tiny_5x1', tinyMapGraph(42, 5, 1), 2, 'csd', 5),
    net('avgpool_dilated', poolChain(907, POOL_CASES[7].kind, POOL_CASES[7].h, POOL_CASES[7].w, [...POOL_CASES[7].kernel], [...POOL_CASES[7].stride], [...POOL_CASES[7].pads], true, POOL_CASES[7].dilation), 3, 'csd', 7),
  ];

  it('the TypeScript evaluator agrees on the tiny maps (same vectors)', () => {
    for (const n of nets.filter((x) => x.label.startsWith('tiny'))) check(n, evaluateVectors(n.sim.module, n.vectors));
  });

  for (const simulator of ['verilator', 'icarus'] as const) {
    it(`${simulator}: bit-exact under random stalls`, async () => {
      const build = await buildBatch(simulator, nets.map((n) => n.sim));
      const results = await build.run(new Map(nets.map((n) => [n.sim.top, n.vectors.map((v) => toVerilogVector(n.sim, v))])));
      for (const n of nets) check(n, results.get(n.sim.top)!.map((r) => fromVerilogResponse(n.sim, r)));
    }, 600_000);
  }

  it('every top is clean under verilator --lint-only -Wall, and so is the verification wrapper with its taps (unit and fused depthwise taps)', async () => {
    for (const n of nets) {
      const emitted = emitDesign(n.design.top);
      expect(await lint(emitted.files, emitted.top), n.label).toEqual([]);
    }
    const core = ffeCore(nets.find((n) => n.label === 'residual')!.graph, 5, { arith: 'shared', pipeline: 0, rawInput: false, header: {} });
    const { wrapper } = renderTestbench(core, {}, { frames: 1, source: 'none' });
    expect(wrapper.ports.some((p) => p.name.endsWith('_inner_data'))).toBe(true);
    expect(await lint([...core.files, { name: `${wrapper.module}.v`, text: wrapper.verilog }], wrapper.module)).toEqual([]);
  }, 300_000);
});
