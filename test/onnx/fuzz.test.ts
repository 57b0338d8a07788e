/**
 * Corrupted and truncated models (seeded byte flips, truncations, deleted and perturbed fields): each
 * either imports into a graph that passes the checker, or is refused with a FixynnError of exit code 2,
 * within 5 seconds. Nothing else may escape. Counts: 300 (npm test), FIXYNN_FUZZ_CASES or 3000 (full).
 */
import { readFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { describe, expect, it } from 'vitest';
import { FixynnError } from '../../generator/common/errors.js';
import { layerGraphProblems } from '../../generator/graph/check.js';
import { opGraphProblems } from '../../generator/graph/op-graph-check.js';
import { importModelBytes } from '../../generator/import/index.js';
import { seededRandom } from '../../generator/common/seeded-random.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { count } from '../helpers/env.js';
import { MOBILENET_QDQ, requireModels } from '../helpers/models.js';

const { onnx } = onnxProto;
const CASES = count('FUZZ_CASES', 3000, 300);

/** A float model touching many import paths: preprocessing, Pad, BN, pools, residual, Shape chain, Softmax. */
function floatModel(): Buffer {
  const b = new OnnxBuilder();
  b.input('x', ['N', 2, 8, 8]);
  b.floats('mean', [0.5], []);
  b.node('Sub', ['x', 'mean'], ['s'], {}, 'sub');
  b.int64s('pads', [0, 0, 1, 1, 0, 0, 1, 1]);
  b.node('Pad', ['s', 'pads'], ['p'], {}, 'pad');
  b.initializer('w0', randomFloats(4 * 2 * 9, 41), [4, 2, 3, 3]);
  b.node('Conv', ['p', 'w0'], ['c0'], { strides: [2, 2] }, 'conv0');
  b.floats('g', [1, 2, 0.5, 1]);
  b.floats('be', [0, 0.1, 0.2, 0.3]);
  b.floats('mu', [0, 0, 0.1, 0]);
  b.floats('va', [1, 1, 2, 0.5]);
  b.node('BatchNormalization', ['c0', 'g', 'be', 'mu', 'va'], ['bn'], {}, 'bn0');
  b.node('Relu', ['bn'], ['r0'], {}, 'relu0');
  b.initializer('w1', randomFloats(4 * 9, 42), [4, 1, 3, 3]);
  b.node('Conv', ['r0', 'w1'], ['c1'], { group: 4, pads: [1, 1, 1, 1] }, 'dw1');
  b.node('Add', ['c1', 'r0'], ['a'], {}, 'add');
  b.node('MaxPool', ['a'], ['m'], { kernel_shape: [2, 2], strides: [2, 2] }, 'pool');
  b.node('Shape', ['m'], ['shape'], {}, 'shape');
  b.int64s('zero', [0], []);
  b.node('Gather', ['shape', 'zero'], ['n'], { axis: 0 }, 'gather');
  b.int64s('axes', [0]);
  b.node('Unsqueeze', ['n', 'axes'], ['n1'], {}, 'unsqueeze');
  b.int64s('minus1', [-1]);
  b.node('Concat', ['n1', 'minus1'], ['target'], { axis: 0 }, 'concat');
  b.node('Reshape', ['m', 'target'], ['f'], {}, 'reshape');
  b.initializer('wf', randomFloats(5 * 16, 43), [5, 16]);
  b.floats('bf', [0, 1, 2, 3, 4]);
  b.node('Gemm', ['f', 'wf', 'bf'], ['logits'], { transB: 1 }, 'fc');
  b.node('Softmax', ['logits'], ['y'], { axis: 1 }, 'softmax');
  b.output('y', ['N', 5]);
  return b.encode();
}

function qdqModel(): Buffer {
  const b = new OnnxBuilder();
  b.input('x', [1, 2, 6, 6]);
  const l1 = b.qdqConv({
    name: 'c1', input: 'x', inputQuant: { scale: 0.02, zeroPoint: 3, type: 'uint8' },
    weights: randomFloats(3 * 2 * 9, 44), weightShape: [3, 2, 3, 3], weightQuant: { type: 'uint8', perChannel: false, zeroPoint: 120 },
    bias: Float32Array.of(0.1, -0.2, 0.3), pads: [1, 1, 1, 1], activation: 'relu6', outputQuant: { scale: 0.05, zeroPoint: 0, type: 'uint8' },
  });
  const l2 = b.qdqConv({
    name: 'c2', input: l1.output, inputScale: 0.05, weights: randomFloats(27, 45), weightShape: [3, 1, 3, 3], group: 3,
    weightQuant: { type: 'int8', perChannel: true }, bias: Float32Array.of(0, 0.1, 0.2), strides: [2, 2], pads: [0, 0, 1, 1],
    activation: 'relu', outputQuant: { scale: 0.03, zeroPoint: -5, type: 'int8' },
  });
  b.output(l2.output);
  return b.encode();
}

type Rand = () => number;
const pick = (rand: Rand, n: number): number => Math.floor(rand() * n);

function flipBytes(bytes: Buffer, rand: Rand): Uint8Array {
  const out = Uint8Array.from(bytes);
  const flips = 1 + pick(rand, 4);
  for (let i = 0; i < flips; i++) {
    const at = pick(rand, out.length);
    out[at] = (out[at] ?? 0) ^ (1 + pick(rand, 255));
  }
  return out;
}

function truncate(bytes: Buffer, rand: Rand): Uint8Array {
  return bytes.subarray(0, pick(rand, bytes.length));
}

/** Decode, delete or perturb one random field somewhere in the graph, re-encode. */
function editField(bytes: Buffer, rand: Rand): Uint8Array {
  const model = onnx.ModelProto.decode(bytes);
  const graph = model.graph as onnxProto.onnx.GraphProto;
  const removeOne = <T>(list: T[]): void => {
    if (list.length > 0) list.splice(pick(rand, list.length), 1);
  };
  const node = graph.node[pick(rand, graph.node.length)] as onnxProto.onnx.NodeProto;
  const init = graph.initializer[pick(rand, graph.initializer.length)] as onnxProto.onnx.TensorProto;
  const edits: Array<() => void> = [
    () => removeOne(graph.node),
    () => removeOne(node.input),
    () => removeOne(node.output),
    () => removeOne(node.attribute),
    () => { node.opType = ['Conv', 'Relu', 'Add', 'Foo', ''][pick(rand, 5)] as string; },
    () => { const a = node.attribute[0]; if (a) { a.i = pick(rand, 12) - 3; a.ints = (a.ints ?? []).map(() => pick(rand, 12) - 3); } },
    () => removeOne(graph.initializer),
    () => { init.rawData = init.rawData.subarray(0, pick(rand, init.rawData.length + 1)); },
    () => removeOne(init.dims),
    () => { init.dims = init.dims.map(() => pick(rand, 10) - 1); },
    () => { init.dataType = pick(rand, 17); },
    () => removeOne(graph.input),
    () => removeOne(graph.output),
    () => { model.opsetImport = []; },
    () => { const dims = graph.input[0]?.type?.tensorType?.shape?.dim; if (dims) removeOne(dims); },
    () => { node.input = node.input.map((i) => (rand() < 0.3 ? 'nowhere' : i)); },
  ];
  (edits[pick(rand, edits.length)] as () => void)();
  return onnx.ModelProto.encode(model).finish();
}

const MUTATIONS = [flipBytes, truncate, editField];

/** Import one corrupted model; returns 'imported' or 'refused', failing on anything else. */
function importCase(bytes: Uint8Array, label: string): 'imported' | 'refused' {
  const start = performance.now();
  try {
    const graph = importModelBytes(bytes, `${label}.onnx`, {
      afterPass: (pass, opGraph) => expect(opGraphProblems(opGraph), `${label} after ${pass}`).toEqual([]),
    });
    expect(layerGraphProblems(graph), label).toEqual([]);
    return 'imported';
  } catch (err) {
    if (!(err instanceof FixynnError) || err.exitCode !== 2) {
      throw new Error(`${label}: not a clean exit-2 error: ${String((err as Error).stack ?? err)}`);
    }
    expect(err.message, label).toMatch(new RegExp(`^${label}\\.onnx[: ]`));
    return 'refused';
  } finally {
    expect(performance.now() - start, `${label} took too long`).toBeLessThan(5000);
  }
}

describe('fuzz: corrupted models import cleanly or exit 2', () => {
  it(`${CASES} seeded corruptions of two valid models`, () => {
    const bases = [floatModel(), qdqModel()];
    for (const base of bases) expect(layerGraphProblems(importModelBytes(base, 'base.onnx'))).toEqual([]);
    const outcome = { imported: 0, refused: 0 };
    for (let i = 0; i < CASES; i++) {
      const rand = seededRandom(1000 + i);
      const base = bases[i % bases.length] as Buffer;
      const mutate = MUTATIONS[pick(rand, MUTATIONS.length)] as (b: Buffer, r: Rand) => Uint8Array;
      outcome[importCase(mutate(base, rand), `case${i}`)]++;
    }
    console.info(`fuzz: ${CASES} corrupted models, ${outcome.imported} imported and checked, ${outcome.refused} refused with exit 2`);
    // Both outcomes must occur, or the mutations are not exercising the importer.
    expect(outcome.imported).toBeGreaterThan(0);
    expect(outcome.refused).toBeGreaterThan(CASES / 4);
  });
});

const REAL_CASES = count('FUZZ_REAL_CASES', 200, 20);

describe('fuzz: the real QDQ MobileNet', () => {
  it(`${REAL_CASES} seeded corruptions`, (ctx) => {
    requireModels(ctx, MOBILENET_QDQ);
    const base = readFileSync(MOBILENET_QDQ);
    const outcome = { imported: 0, refused: 0 };
    for (let i = 0; i < REAL_CASES; i++) {
      const rand = seededRandom(5000 + i);
      const mutate = MUTATIONS[i % MUTATIONS.length] as (b: Buffer, r: Rand) => Uint8Array;
      outcome[importCase(mutate(base, rand), `mobilenet${i}`)]++;
    }
    console.info(`fuzz (real QDQ MobileNet): ${REAL_CASES} corrupted models, ${outcome.imported} imported and checked, ${outcome.refused} refused with exit 2`);
    expect(outcome.refused).toBeGreaterThan(0);
  });
});
