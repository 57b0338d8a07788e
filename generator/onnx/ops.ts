/**
 * The operators fixynn imports, with their input/output counts and attribute schemas (zod). Attributes
 * arrive decoded to plain values (see decode.ts); a schema checks their types and ranges once, at the
 * boundary, so the passes can rely on them. Unknown attributes are ignored (exporters add harmless
 * extras); attributes we do not implement are refused where they would change the result.
 */
import { z } from 'zod';
import type { Tensor } from './tensor.js';

const int = z.number().int();
const nonNegInt = int.min(0);
const posInt = int.min(1);
const ints = z.array(int);
const autoPad = z.enum(['NOTSET', 'SAME_UPPER', 'SAME_LOWER', 'VALID']);
const tensorValue = z.custom<Tensor>((v) => typeof v === 'object' && v !== null && 'dtype' in v && 'data' in v, 'a tensor');

const spatial = {
  kernel_shape: z.array(posInt).length(2, 'kernel_shape must have 2 entries (2-D only)').optional(),
  strides: z.array(posInt).length(2, 'strides must have 2 entries').optional(),
  pads: z.array(nonNegInt).length(4, 'pads must have 4 entries [top, left, bottom, right]').optional(),
  dilations: z.array(posInt).length(2, 'dilations must have 2 entries').optional(),
  auto_pad: autoPad.optional(),
};

/**
 * Opset 6 arithmetic broadcasts only with broadcast = 1; an `axis` aligns B inside A. Without axis it is the
 * trailing alignment every later opset uses; with an axis decode.ts refuses it (the rest has one form).
 */
const legacyBroadcast = z.object({ broadcast: z.union([z.literal(0), z.literal(1)]).optional(), axis: int.optional() });

const schemas = {
  Conv: z.object({ ...spatial, group: posInt.optional() }),
  MaxPool: z.object({
    ...spatial,
    kernel_shape: spatial.kernel_shape.unwrap(),
    ceil_mode: z.literal(0, 'ceil_mode 1 is not supported').optional(),
    storage_order: z.literal(0, 'storage_order 1 is not supported').optional(),
  }),
  AveragePool: z.object({
    ...spatial,
    kernel_shape: spatial.kernel_shape.unwrap(),
    ceil_mode: z.literal(0, 'ceil_mode 1 is not supported').optional(),
    count_include_pad: z.union([z.literal(0), z.literal(1)]).optional(),
  }),
  GlobalAveragePool: z.object({}),
  BatchNormalization: z.object({
    epsilon: z.number().positive().optional(),
    momentum: z.number().optional(),
    training_mode: z.literal(0, 'training_mode must be 0 (inference)').optional(),
    // Opsets 6 to 8: spatial 0 (statistics per element) is not a per-channel affine; is_test (opset 6) must be 1.
    spatial: z.literal(1, 'spatial 0 (per-element statistics) is not supported').optional(),
    is_test: z.literal(1, 'is_test 0 (training mode) is not supported').optional(),
  }),
  Relu: z.object({}),
  LeakyRelu: z.object({ alpha: z.number().optional() }),
  PRelu: z.object({}),
  Clip: z.object({ min: z.number().optional(), max: z.number().optional() }),
  Add: legacyBroadcast,
  Sub: legacyBroadcast,
  Mul: legacyBroadcast,
  Div: legacyBroadcast,
  Flatten: z.object({ axis: int.optional() }),
  Reshape: z.object({ allowzero: z.literal(0, 'allowzero 1 is not supported').optional() }),
  Gemm: z.object({
    broadcast: z.union([z.literal(0), z.literal(1)]).optional(), // opset 6; C of [M] broadcasts either way in later opsets
    alpha: z.number().optional(),
    beta: z.number().optional(),
    transA: z.literal(0, 'transA 1 is not supported (the input is a flattened vector)').optional(),
    transB: z.union([z.literal(0), z.literal(1)]).optional(),
  }),
  MatMul: z.object({}),
  Pad: z.object({
    mode: z.literal('constant', 'only mode "constant" (zero padding) is supported').optional(),
    // Opsets 6 to 10 give pads and value as attributes (11 on: inputs); infer-shapes reads either form.
    pads: ints.optional(),
    value: z.number().optional(),
  }),
  Identity: z.object({}),
  Dropout: z.object({ ratio: z.number().optional(), seed: int.optional() }),
  Constant: z.object({
    value: tensorValue.optional(),
    value_float: z.number().optional(),
    value_floats: z.array(z.number()).optional(),
    value_int: int.optional(),
    value_ints: ints.optional(),
  }),
  Shape: z.object({ start: int.optional(), end: int.optional() }),
  Gather: z.object({ axis: int.optional() }),
  Unsqueeze: z.object({ axes: ints.optional() }),
  Squeeze: z.object({ axes: ints.optional() }),
  Concat: z.object({ axis: int }),
  Cast: z.object({ to: int, saturate: int.optional() }),
  Softmax: z.object({ axis: int.optional() }),
  QuantizeLinear: z.object({
    axis: int.optional(),
    saturate: int.optional(),
    block_size: z.literal(0, 'blocked quantization (block_size > 0) is not supported').optional(),
    output_dtype: z.union([z.literal(0), z.literal(2), z.literal(3)], 'output_dtype must be uint8 (2) or int8 (3)').optional(),
  }),
  DequantizeLinear: z.object({
    axis: int.optional(),
    block_size: z.literal(0, 'blocked quantization (block_size > 0) is not supported').optional(),
  }),
} as const;

export type SupportedOp = keyof typeof schemas;
export type OpAttributes<Op extends SupportedOp> = z.infer<(typeof schemas)[Op]>;

/** How many inputs (optional ones may be '') and outputs each op takes. */
const arity: Record<SupportedOp, { inputs: readonly [number, number]; outputs: readonly [number, number] }> = {
  Conv: { inputs: [2, 3], outputs: [1, 1] },
  MaxPool: { inputs: [1, 1], outputs: [1, 1] }, // the optional Indices output is refused
  AveragePool: { inputs: [1, 1], outputs: [1, 1] },
  GlobalAveragePool: { inputs: [1, 1], outputs: [1, 1] },
  BatchNormalization: { inputs: [5, 5], outputs: [1, 1] },
  Relu: { inputs: [1, 1], outputs: [1, 1] },
  LeakyRelu: { inputs: [1, 1], outputs: [1, 1] },
  PRelu: { inputs: [2, 2], outputs: [1, 1] },
  Clip: { inputs: [1, 3], outputs: [1, 1] },
  Add: { inputs: [2, 2], outputs: [1, 1] },
  Sub: { inputs: [2, 2], outputs: [1, 1] },
  Mul: { inputs: [2, 2], outputs: [1, 1] },
  Div: { inputs: [2, 2], outputs: [1, 1] },
  Flatten: { inputs: [1, 1], outputs: [1, 1] },
  Reshape: { inputs: [2, 2], outputs: [1, 1] },
  Gemm: { inputs: [2, 3], outputs: [1, 1] },
  MatMul: { inputs: [2, 2], outputs: [1, 1] },
  Pad: { inputs: [1, 4], outputs: [1, 1] },
  Identity: { inputs: [1, 1], outputs: [1, 1] },
  Dropout: { inputs: [1, 3], outputs: [1, 2] },
  Constant: { inputs: [0, 0], outputs: [1, 1] },
  Shape: { inputs: [1, 1], outputs: [1, 1] },
  Gather: { inputs: [2, 2], outputs: [1, 1] },
  Unsqueeze: { inputs: [1, 2], outputs: [1, 1] },
  Squeeze: { inputs: [1, 2], outputs: [1, 1] },
  Concat: { inputs: [1, 64], outputs: [1, 1] },
  Cast: { inputs: [1, 1], outputs: [1, 1] },
  Softmax: { inputs: [1, 1], outputs: [1, 1] },
  QuantizeLinear: { inputs: [2, 3], outputs: [1, 1] },
  DequantizeLinear: { inputs: [2, 3], outputs: [1, 1] },
};

export const SUPPORTED_OPS: readonly SupportedOp[] = Object.keys(schemas).sort() as SupportedOp[];
export const SUPPORTED_OPS_TEXT = SUPPORTED_OPS.join(', ');
/** Opsets 6 to 10 use older attribute forms; decode.ts maps them (legacyForm) so the rest sees one form. */
export const MIN_OPSET = 6;
export const MAX_OPSET = 21;

export function isSupportedOp(op: string): op is SupportedOp {
  return Object.hasOwn(schemas, op);
}

export function arityOf(op: SupportedOp): { inputs: readonly [number, number]; outputs: readonly [number, number] } {
  return arity[op];
}

/** Validate raw attributes against the op's schema; returns the typed attributes or an error text. */
export function parseAttributes<Op extends SupportedOp>(op: Op, raw: Record<string, unknown>): { ok: true; attrs: OpAttributes<Op> } | { ok: false; error: string } {
  const result = schemas[op].safeParse(raw);
  if (result.success) return { ok: true, attrs: result.data as OpAttributes<Op> };
  const issue = result.error.issues[0];
  const where = issue && issue.path.length > 0 ? `attribute ${issue.path.join('.')}: ` : '';
  return { ok: false, error: `${where}${issue?.message ?? 'invalid attributes'}` };
}
