/**
 * Compiler refusals (the layer named, what is supported) and the cycle model on a hand-timed program.
 */
import { describe, expect, it } from 'vitest';
import { compileProgram, configForModel, defaultConfig, describeAccelerator, replayCycles, runOnSimulator, summarizeProgram } from '../../generator/accel/index.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { finalAccumulators } from './reference.js';
import { graphOf, outSize, randomConvLayer, randomImage, randomPoolLayer, randomQuant, tensor } from '../ffe/random-graphs.js';
import { simulate } from '../../generator/accel/simulator.js';
import { checkAgainstIntegerModel } from '../../generator/accel/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadInputs } from '../../generator/data/index.js';
import { importModel } from '../../generator/import/index.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import { randomNetwork } from '../helpers/random-network.js';
import { make } from '../../generator/accel/isa.js';
import { streamRegisters } from '../../generator/accel/run.js';
import type { CompiledProgram } from '../../generator/accel/index.js';
import { FixynnError } from '../../generator/common/errors.js';
import type { QConvLayer, QuantizedGraph } from '../../generator/quant/ir.js';
import { randomConvGraph } from '../ffe/random-graphs.js';
import { poolChain } from '../ffe/networks.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { seededRandom } from '../../generator/common/seeded-random.js';

function convGraph(choice: { inChannels: number; outChannels: number; group: number; height?: number; width?: number; weightBits?: number; kernel?: number }): QuantizedGraph {
  const { kernel = 3, ...rest } = choice;
  return randomConvGraph(seededRandom(3), { stride: [1, 1], pads: [1, 1, 1, 1], height: 5, width: 5, ...rest, kernel: [kernel, kernel] });
}

describe('compiler refusals name the layer', () => {
  it('a grouped convolution that is not depthwise', () => {
    const g = convGraph({ inChannels: 4, outChannels: 4, group: 2 });
    expect(() => compileProgram(g, configForModel(g, 4, 4))).toThrow(/layer 0 '.*' \(conv\): grouped convolution with group 2 .* not depthwise/);
  });

  it('a dilated convolution (the window instructions step through dense kernels)', () => {
    const g = randomConvGraph(seededRandom(4), { inChannels: 2, outChannels: 3, group: 1, kernel: [3, 3], stride: [1, 1], dilation: [2, 1], pads: [2, 1, 2, 1], height: 6, width: 5 });
    expect(() => compileProgram(g, configForModel(g, 4, 4))).toThrow(/^accelerator: layer 0 '.*' \(conv\): a dilated convolution \(dilation 2x1\); .* \(such a layer can be fixed instead\)$/);
    const pooled = poolChain(7, 'maxpool', 6, 7, [2, 2], [1, 1], [1, 0, 0, 1], false, [2, 2]);
    expect(() => compileProgram(pooled, configForModel(pooled, 4, 4))).toThrow(/^accelerator: layer 0 '.*' \(maxpool\): a dilated pooling window \(dilation 2x2\)/);
  });

  it('a LeakyRelu folded into the requantization (the PPU has clamps only)', () => {
    const g = convGraph({ inChannels: 2, outChannels: 2, group: 1 });
    const conv = g.layers[0] as QConvLayer;
    const leaky = { ...g, layers: [{ ...conv, requant: { ...conv.requant, negative: { multiplier: conv.requant.multiplier, shift: conv.requant.shift.map((s) => s + 3) } } }] };
    expect(() => compileProgram(leaky, configForModel(leaky, 4, 4))).toThrow(/layer 0 '.*' \(conv\): a LeakyRelu\/PRelu/);
  });

  it('weights wider than the accelerator', () => {
    const g = convGraph({ inChannels: 2, outChannels: 2, group: 1, weightBits: 10 });
    expect((g.layers[0] as QConvLayer).weightBits).toBe(10);
    expect(() => compileProgram(g, configForModel(g, 4, 4, { weightBits: 8 }))).toThrow(/layer 0 .*10-bit weights; the accelerator's weights are 8 bits/);
    expect(() => compileProgram(g, configForModel(g, 4, 4))).not.toThrow();
  });

  it('activations that do not fit ACT: tiled through MEM, refused only when one band cannot fit a slot', () => {
    // (the single conv's output goes to ACC as the final scores, so only the input lives in ACT)
    const g = convGraph({ inChannels: 2, outChannels: 2, group: 1, height: 20, width: 20 });
    // 300 rows: the input (400 rows) goes to MEM; a band slot (300/4/2 = 37 rows) cannot hold the 3 input rows of one output row
    expect(() => compileProgram(g, configForModel(g, 4, 4, { actRows: 300 }))).toThrow(/layer 0 'conv0' \(conv\): one output row needs 60 ACT rows of a band slot .*a slot holds 37 rows \(half of the 75 band rows/);
    expect(compileProgram(g, configForModel(g, 4, 4, { actRows: 400 })).layout.bandRows).toBe(0);
    expect(compileProgram(g, configForModel(g, 4, 4, { actRows: 300 }), { bandRows: 200 }).layout.bandRows).toBe(200);
  });

  it('a slab whose weights do not fit half of WGT', () => {
    const g = convGraph({ inChannels: 9, outChannels: 2, group: 1, kernel: 5 });
    expect(() => compileProgram(g, configForModel(g, 4, 4, { wgtRows: 64 }))).toThrow(/layer 0 .*one output slab needs 300 WGT rows \(75 folds of 4\); half of WGT holds 32/);
  });

  it('R != C is refused by the configuration', () => {
    expect(() => defaultConfig(8, 16)).toThrow(/needs R = C/);
  });
});

describe('split inside a residual block', () => {
  it('is refused naming the layer that reads a tensor from before the split', async () => {
    const net = randomNetwork({ seed: 1, layers: 3 }); // starts with a residual block: conv, add
    const dir = mkdtempSync(path.join(tmpdir(), 'fixynn-accel-split-'));
    try {
      const model = net.builder.save(path.join(dir, 'net.onnx'));
      const graph = importModel(model);
      const q = await quantizeModel(readOnnxFile(model), graph, { calibImages: loadInputs('random', graph.input.shape, { count: 4, seed: 1 }).images });
      expect(q.layers[1]!.kind).toBe('add');
      expect(() => compileProgram(q, configForModel(q, 8, 8, {}, { fromLayer: 1 }), { fromLayer: 1 })).toThrow(/layer 1 '.*' \(add\): reads tensor '.*' from before the split at layer 1/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('what the depthwise engine cannot take', () => {
  it('a depthwise conv beyond its window runs on the array as a block-diagonal conv, bit-exact', () => {
    const g = randomConvGraph(seededRandom(4), { inChannels: 6, outChannels: 6, group: 6, kernel: [5, 5], stride: [1, 1], pads: [2, 2, 2, 2], height: 7, width: 6 });
    const compiled = compileProgram(g, configForModel(g, 4, 4)); // 3x3 window (dwTaps 9)
    expect(compiled.program.some((i) => i.op === 'dwconv')).toBe(false);
    const model = new IntegerModel(g);
    for (let i = 0; i < 3; i++) expect(checkAgainstIntegerModel(compiled, g, model, randomImage(seededRandom(40 + i), g.tensors[g.input.tensor]!)).mismatch).toBeUndefined();
    const wide = configForModel(g, 4, 4, { dwTaps: 25 }); // a 5x5 window takes it on the engine
    const onEngine = compileProgram(g, wide);
    expect(onEngine.program.some((i) => i.op === 'dwconv')).toBe(true);
    expect(checkAgainstIntegerModel(onEngine, g, model, randomImage(seededRandom(50), g.tensors[g.input.tensor]!)).mismatch).toBeUndefined();
  });

  it('a max pool beyond the window or the line buffers is refused with the layer named', () => {
    const rng = seededRandom(8);
    const x = tensor('x', [2, 9, 9], randomQuant(rng));
    const mid = tensor('mid', [3, 9, 9], randomQuant(rng));
    const y = tensor('y', [3, outSize(9, 5, 1, 2, 2), outSize(9, 5, 1, 2, 2)], mid.quant);
    const conv = randomConvLayer(rng, 0, x, mid, { inChannels: 2, outChannels: 3, group: 1, kernel: [1, 1], stride: [1, 1], pads: [0, 0, 0, 0] });
    const pool = randomPoolLayer(rng, 1, 'maxpool', mid, y, [5, 5], [1, 1], [2, 2, 2, 2]);
    const g = graphOf(x, [mid, y], [conv, pool]);
    expect(() => compileProgram(g, configForModel(g, 4, 4))).toThrow(/layer 1 '.*' \(maxpool\): kernel 5x5, padded row 13: the depthwise engine takes up to 3x3 and 64 columns/);
    expect(() => compileProgram(g, configForModel(g, 4, 4, { dwTaps: 25, dwMaxWidth: 12 }))).toThrow(/padded row 13/);
    expect(() => compileProgram(g, configForModel(g, 4, 4, { dwTaps: 25 }))).not.toThrow();
  });
});

describe('limits of the machine', () => {
  it('a program longer than the program memory is refused; SETQ values outside the element range fault', () => {
    const g = convGraph({ inChannels: 3, outChannels: 6, group: 1 });
    expect(() => compileProgram(g, configForModel(g, 4, 4, { imemWords: 4 }))).toThrow(/the program has \d+ instructions; the program memory holds 4/);
    const config = defaultConfig(4, 4);
    expect(() => simulate(config, [make('setq', { zo: 300 }), make('finish', {})], new Uint8Array(16))).toThrow(/pc 0: SETQ zo = 300 outside the 8-bit element range/);
    expect(() => simulate({ ...config, imemWords: 1 }, [make('nop', {}), make('finish', {})], new Uint8Array(16))).toThrow(/exceeds the program memory/);
  });
  it('an output larger than the output stream\'s 16-bit word count is refused (the RTL would clamp the register)', () => {
    // 16 channels at 4x4: 4 ACC rows of 16 bytes a pixel, 16 words: 63x63 is 63,504 words, 64x64 one too many.
    const pointwise = (side: number): CompiledProgram => {
      const g = randomConvGraph(seededRandom(3), { stride: [1, 1], pads: [0, 0, 0, 0], height: side, width: side, inChannels: 1, outChannels: 16, group: 1, kernel: [1, 1] });
      return compileProgram(g, configForModel(g, 4, 4, { memBytes: 1 << 22 }));
    };
    expect(streamRegisters(pointwise(63)).outWords).toBe(63_504);
    const refusal = ((): unknown => { try { streamRegisters(pointwise(64)); } catch (e) { return e; } return undefined; })();
    expect(refusal).toBeInstanceOf(FixynnError);
    expect((refusal as FixynnError).exitCode).toBe(2);
    expect((refusal as FixynnError).message).toMatch(/^accelerator output stream: the output 'y' \(16x64x64\) is 65536 32-bit words in MEM; the stream's word count register holds at most 65535/);
  });
});

describe('wide multipliers', () => {
  it('32-bit M (the widths the quantization issue may choose) are exact in the PPU', () => {
    const rng = seededRandom(21);
    const x = tensor('x', [3, 6, 6], randomQuant(rng));
    const mid = tensor('mid', [5, 6, 6], randomQuant(rng));
    const y = tensor('y', [4, 6, 6], randomQuant(rng));
    const choice = { group: 1, kernel: [3, 3] as const, stride: [1, 1] as const, pads: [1, 1, 1, 1] as const };
    const l0 = randomConvLayer(rng, 0, x, mid, { ...choice, inChannels: 3, outChannels: 5 });
    const l1 = randomConvLayer(rng, 1, mid, y, { ...choice, inChannels: 5, outChannels: 4 });
    const base = graphOf(x, [mid, y], [l0, l1]);
    // The same real multipliers widened to 32 bits: M * 2^k + a random low part, s + k (k as far as the
    // rule's largest shift, 62, allows).
    const extra = l0.requant.multiplier.map((m, o) => Math.min(32 - m.toString(2).length, 62 - l0.requant.shift[o]!));
    const multiplier = l0.requant.multiplier.map((m, o) => m * 2 ** extra[o]! + Math.floor(rng() * 2 ** extra[o]!));
    const wide = { ...l0, requant: { ...l0.requant, multiplier, shift: l0.requant.shift.map((s, o) => s + extra[o]!) } };
    const graph = { ...base, layers: [wide, l1] };
    const config = configForModel(graph, 4, 4);
    expect(config.multiplierBits).toBe(32);
    const compiled = compileProgram(graph, config);
    const model = new IntegerModel(graph);
    for (let i = 0; i < 3; i++) {
      const check = checkAgainstIntegerModel(compiled, graph, model, randomImage(rng, x));
      expect(check.mismatch).toBeUndefined();
    }
  });
});

describe('large tensors', () => {
  it('an input of more than 4,095 rows loads in 2-D groups; final tiles store through both ACC halves', () => {
    const g = convGraph({ inChannels: 1, outChannels: 3, group: 1, height: 70, width: 71 });
    const compiled = compileProgram(g, configForModel(g, 4, 4));
    const loads = compiled.program.filter((i) => i.op === 'load' && i.mem === 0);
    expect(loads.map((i) => i.op === 'load' && [i.ySize, i.xSize])).toEqual([[1, 4095], [1, 70 * 71 - 4095]]);
    const q = randomImage(seededRandom(9), g.tensors[g.input.tensor]!);
    const expected = finalAccumulators(g, g.layers[0]!, q);
    expect(new IntegerModel(g).run(q).get(g.output)!.length).toBe(expected.length);
    expect(Array.from(runOnSimulator(compiled, q, g.tensors[g.output]!).output)).toEqual(Array.from(expected));
  });
});

describe('cycle model', () => {
  it('replays a hand-timed program: fetch, tokens, per-instruction costs from the table', () => {
    const config = defaultConfig(4, 4); // MEM port = one 4-byte ACT row
    expect(config.memPortBytes).toBe(4);
    const program = [
      make('load', { mem: 0, sramAddr: 0, memAddr: 0, ySize: 1, xSize: 4 }, { pushNext: true }), // 2 + 16/4 = 6
      make('setg', { inH: 2, inW: 2, outW: 2, kh: 1, kw: 1, strideY: 1, strideX: 1, cbIn: 1, cbOut: 1 }, { popPrev: true }), // 1
      make('gemm', { nOy: 2, toAcc: 1 }, { pushNext: true }), // R + (F-1)*max(P,R) + P + 4 = 4 + 0 + 4 + 4 = 12
      make('store', { mem: 3, ySize: 1, xSize: 4, memAddr: 0 }, { popPrev: true }), // 2 + 64/4 = 18
      make('finish', {}), // 1
    ];
    const r = replayCycles(config, program);
    expect(r.timings.map((t) => [t.fetch, t.start, t.end])).toEqual([[0, 1, 7], [1, 7, 8], [2, 8, 20], [3, 20, 38], [4, 38, 39]]);
    expect(r.total).toBe(39);
    expect(r.busy).toEqual({ ld: 6, ex: 13, st: 19 });
  });

  it('a full queue stalls fetch (queueDepth)', () => {
    const config = defaultConfig(4, 4, { queueDepth: 1 });
    const setg = make('setg', { inH: 1, inW: 1, outW: 1, kh: 1, kw: 1, strideY: 1, strideX: 1, cbIn: 1, cbOut: 1 });
    const program = [make('load', { mem: 0, ySize: 1, xSize: 32 }, { pushNext: true }), setg, setg, make('nop', { queue: 1 }, { popPrev: true, pushNext: true }), make('finish', {}, { popPrev: true })];
    const r = replayCycles(config, program);
    // LOAD: 2 + 32*4/4 = 34 cycles; the EX queue holds one waiting instruction, so fetch of the third
    // EX instruction waits until the second has started.
    expect(r.timings.map((t) => [t.fetch, t.start, t.end])).toEqual([[0, 1, 35], [1, 2, 3], [3, 4, 5], [5, 35, 36], [6, 36, 37]]);
    expect(r.total).toBe(37);
  });
});

describe('summaries for the CLI', () => {
  it('describe the accelerator and the program per layer', () => {
    const g = convGraph({ inChannels: 3, outChannels: 6, group: 1 });
    const config = configForModel(g, 4, 4);
    const d = describeAccelerator(config);
    expect(d.peakMacsPerCycle).toEqual({ array: 16, depthwise: 36 });
    expect(d.memoryBytes.act).toBe(config.actRows * 4 * config.actBits / 8);
    const compiled = compileProgram(g, config);
    const cycles = replayCycles(config, compiled.program, compiled.layout.layers);
    const summary = summarizeProgram(compiled, cycles);
    expect(summary.instructions).toBe(compiled.program.length);
    expect(Object.values(summary.byOpcode).reduce((a, b) => a + b, 0)).toBe(compiled.program.length);
    expect(summary.layers).toHaveLength(1);
    expect(summary.layers[0]!.macs).toBe(6 * 5 * 5 * 3 * 9);
    expect(summary.layers[0]!.instructions['gemm']).toBe(2); // two output slabs of 4 lanes
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
  });
});
