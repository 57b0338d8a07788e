/**
 * manifest.json: the complete, versioned description of a generated fixed feature extractor. Later
 * commands (verify now; compile --chip, synth, report later) read nothing else to understand the design:
 * layers, shapes, bit widths, the quantization of the fixed part (a full QuantizedGraph), ports, latency,
 * throughput, cost figures, where the design came from (model SHA-256, options) and a SHA-256 of every
 * file in the folder so that a hand-edited design is noticed.
 *
 * Writing sorts keys at every level (byte-identical output for identical designs); reading validates the
 * shape with zod and the quantized graph with its own checker.
 */
import { z } from 'zod';
import { badInput } from '../common/errors.js';
import type { StreamFormat } from '../ffe/contract.js';
import type { CoreDesign } from './core.js';
import type { QuantizedGraph } from '../quant/ir.js';
import { parseQuantizedGraph, serializeQuantizedGraph } from '../quant/serialize.js';

export const MANIFEST_FORMAT = 'fixynn-ffe-design';
/** Bump on an incompatible change; readers reject other versions with a clear message. */
export const MANIFEST_VERSION = 1;

const int = z.number().int();
const count = int.nonnegative();

const streamFormat = z.object({ channels: int.positive(), bits: int.positive(), signed: z.boolean(), height: int.positive(), width: int.positive() }).strict();
const cost = z.object({ adders: count, productAdders: count, adderBits: count, registerBits: count, memoryBits: count, depth: count }).strict();
const port = z.object({ name: z.string(), direction: z.enum(['input', 'output']), width: int.positive() }).strict();

const layerSchema = z.object({
  index: count,
  name: z.string(),
  kind: z.string(),
  module: z.string(),
  /** null: no tap (a layer fused inside the next layer's module, where the core does not tap it). */
  tap: z.string().nullable(),
  out: streamFormat,
  latencyCycles: count,
  cost,
  nonzeroWeights: count,
}).strict();

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: int,
  generator: z.object({ name: z.string(), version: z.string() }).strict(),
  source: z.object({ file: z.string(), copy: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
  options: z.object({
    fixedLayers: z.string(),
    arith: z.enum(['shared', 'csd', 'multiply']),
    pipeline: count,
    rawInput: z.boolean(),
    weightBits: int.optional(),
    actBits: int.optional(),
    calibration: z.string(),
  }).strict(),
  fixedLayerCount: int.positive(),
  top: z.string(),
  rtl: z.array(z.string()).min(1),
  fileList: z.string(),
  testbench: z.object({ module: z.string(), verilog: z.string(), harness: z.string() }).strict(),
  ports: z.array(port),
  input: streamFormat,
  output: streamFormat,
  layers: z.array(layerSchema).min(1),
  latencyCycles: count,
  throughput: z.object({ inputPixelsPerCycle: z.number(), idealCyclesPerFrame: int.positive() }).strict(),
  cost: cost.extend({ nonzeroWeights: count, addersPerNonzeroWeight: z.number().nullable() }).strict(),
  integerModel: z.string(),
  quantization: z.unknown(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
}).strict();

type ParsedManifest = z.infer<typeof manifestSchema>;
export type ManifestLayer = z.infer<typeof layerSchema>;
export type ManifestPort = z.infer<typeof port>;
export type Manifest = Omit<ParsedManifest, 'quantization'> & { readonly quantization: QuantizedGraph };

/** The top module's ports as the contract (generator/ffe/contract.ts) fixes them. */
export function topPorts(input: StreamFormat, output: StreamFormat): ManifestPort[] {
  const inWidth = input.channels * input.bits;
  const outWidth = output.channels * output.bits;
  return [
    { name: 'clk', direction: 'input', width: 1 },
    { name: 'rst', direction: 'input', width: 1 },
    { name: 's_tvalid', direction: 'input', width: 1 },
    { name: 's_tready', direction: 'output', width: 1 },
    { name: 's_tdata', direction: 'input', width: inWidth },
    { name: 's_tuser', direction: 'input', width: 1 },
    { name: 's_tlast', direction: 'input', width: 1 },
    { name: 'm_tvalid', direction: 'output', width: 1 },
    { name: 'm_tready', direction: 'input', width: 1 },
    { name: 'm_tdata', direction: 'output', width: outWidth },
    { name: 'm_tuser', direction: 'output', width: 1 },
    { name: 'm_tlast', direction: 'output', width: 1 },
  ];
}

/** Summed cost figures of all layers, and product adders per nonzero weight (the arithmetic's efficiency). */
export function totalCost(design: CoreDesign, nonzeroWeights: readonly number[]): Manifest['cost'] {
  const sum = (pick: (c: CoreDesign['layers'][number]['cost']) => number): number => design.layers.reduce((s, l) => s + pick(l.cost), 0);
  const productAdders = sum((c) => c.productAdders);
  const nonzero = nonzeroWeights.reduce((a, b) => a + b, 0);
  return {
    adders: sum((c) => c.adders),
    productAdders,
    adderBits: sum((c) => c.adderBits),
    registerBits: sum((c) => c.registerBits),
    memoryBits: sum((c) => c.memoryBits),
    depth: design.layers.reduce((d, l) => Math.max(d, l.cost.depth), 0),
    nonzeroWeights: nonzero,
    addersPerNonzeroWeight: nonzero === 0 ? null : productAdders / nonzero,
  };
}

/** Deterministic text: keys sorted at every level, one trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  const quantization = JSON.parse(serializeQuantizedGraph(manifest.quantization)) as unknown;
  return `${JSON.stringify(sortKeys({ ...manifest, quantization }), null, 1)}\n`;
}

/** Parses and checks manifest text; `where` names the file in errors. */
export function parseManifest(text: string, where: string): Manifest {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw badInput(`${where}: not valid JSON (${(err as Error).message})`);
  }
  const header = z.object({ format: z.string(), version: z.unknown() }).safeParse(data);
  if (!header.success || header.data.format !== MANIFEST_FORMAT) throw badInput(`${where}: not a fixynn design manifest (expected "format": "${MANIFEST_FORMAT}")`);
  if (header.data.version !== MANIFEST_VERSION) {
    throw badInput(`${where}: manifest version ${String(header.data.version)} is not supported by this fixynn (supported: ${MANIFEST_VERSION}); regenerate the design`);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${where}: invalid manifest: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const quantization = parseQuantizedGraph(JSON.stringify(parsed.data.quantization), `${where} (quantization)`);
  const manifest: Manifest = { ...parsed.data, quantization };
  checkConsistency(manifest, where);
  return manifest;
}

/** Facts the schema cannot express: layer count and shapes agree with the quantized graph. */
function checkConsistency(m: Manifest, where: string): void {
  const q = m.quantization;
  if (m.layers.length !== m.fixedLayerCount || q.layers.length !== m.fixedLayerCount) {
    throw badInput(`${where}: ${m.fixedLayerCount} fixed layers, but ${m.layers.length} layer entries and ${q.layers.length} quantized layers`);
  }
  m.layers.forEach((layer, i) => {
    const tensor = q.tensors[q.layers[i]?.output ?? ''];
    const shape = tensor ? tensor.shape.join('x') : '?';
    if (layer.index !== i || shape !== `${layer.out.channels}x${layer.out.height}x${layer.out.width}`) {
      throw badInput(`${where}: layer ${i} ('${layer.name}') disagrees with the quantized graph (output ${shape})`);
    }
  });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
