/**
 * QuantizedGraph <-> JSON, for manifests: a later run (e.g. `compile --chip`) loads the fixed part's
 * quantization back. Writing is JSON.stringify with sorted keys (byte-identical output for identical
 * graphs); reading validates the shape with zod and then every invariant with checkQuantizedGraph.
 */
import { z } from 'zod';
import { badInput } from '../common/errors.js';
import { checkQuantizedGraph } from './check.js';
import type { QuantizedGraph } from './ir.js';

const int = z.number().int();
const ints = z.array(int);
const pair = z.tuple([int, int]);
const pads = z.tuple([int, int, int, int]);
const shape3 = z.tuple([int, int, int]);

const quantParams = z.object({ scale: z.number(), zeroPoint: int, bits: int, signed: z.boolean() }).strict();
const requant = z.object({
  multiplier: ints, shift: ints, outputZeroPoint: int, clampMin: int, clampMax: int,
  negative: z.object({ multiplier: ints, shift: ints }).strict().optional(),
}).strict();
const base = { index: int, name: z.string(), nodes: z.array(z.string()), inputs: z.array(z.string()), output: z.string(), requant };
const weighted = { weights: ints, weightBits: int, weightScale: z.array(z.number()), bias: ints, inputZeroPoint: int };

const layer = z.discriminatedUnion('kind', [
  // Manifests written before dilation was supported have none: their convs are dense.
  z.object({ kind: z.literal('conv'), ...base, ...weighted, group: int, kernel: pair, stride: pair, dilation: pair.default([1, 1]), pads, weightShape: z.tuple([int, int, int, int]) }).strict(),
  z.object({ kind: z.literal('gemm'), ...base, ...weighted, weightShape: pair }).strict(),
  z.object({
    kind: z.enum(['maxpool', 'avgpool']), ...base, kernel: pair, stride: pair, dilation: pair.default([1, 1]), pads, inputZeroPoint: int,
    borderDivisors: z.array(z.object({ count: int, multiplier: int, shift: int }).strict()).optional(),
  }).strict(),
  z.object({ kind: z.literal('globalavgpool'), ...base, inputZeroPoint: int }).strict(),
  z.object({ kind: z.literal('add'), ...base, inputZeroPoints: pair, inputMultipliers: pair }).strict(),
]);

const graphSchema = z.object({
  format: z.literal(1),
  source: z.object({ file: z.string(), sha256: z.string() }).strict(),
  origin: z.enum(['calibrated', 'qdq']),
  calibration: z.object({ images: int, method: z.string(), tensorMethods: z.record(z.string(), z.string()).optional(), methodErrors: z.record(z.string(), z.number()).optional(), weightBits: int, actBits: int, tensorBits: z.record(z.string(), int).optional(), biasCorrection: z.string().optional() }).strict().optional(),
  input: z.object({
    name: z.string(), shape: shape3, tensor: z.string(),
    preprocess: z.object({ scale: z.array(z.number()), offset: z.array(z.number()) }).strict(),
  }).strict(),
  tensors: z.record(z.string(), z.object({ name: z.string(), shape: shape3, quant: quantParams }).strict()),
  layers: z.array(layer),
  output: z.string(),
  softmaxOutside: z.boolean(),
}).strict();

/** Deterministic, compact JSON text of a quantized graph (keys sorted at every level); see print.ts for a readable form. */
export function serializeQuantizedGraph(qg: QuantizedGraph): string {
  return JSON.stringify(sortKeys(qg));
}

/** Parses and checks a quantized graph; `where` names the file in errors. */
export function parseQuantizedGraph(text: string, where: string): QuantizedGraph {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw badInput(`${where}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = graphSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${where}: not a quantized graph: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const qg = parsed.data as QuantizedGraph;
  checkQuantizedGraph(qg);
  return qg;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
