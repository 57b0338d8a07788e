/**
 * manifest.json: the complete, versioned description of a generated design. Later commands (verify now;
 * compile --chip, synth, report later) read nothing else to understand the design: where it came from
 * (model SHA-256), its top (module, ports, streams, latency, throughput, the cost of the whole), its
 * parts (today one, the fixed feature extractor `ffe`; next the accelerator), each with its own section
 * (options, layers, quantization, cost), the testbench, and a SHA-256 of every file in the folder so that
 * a hand-edited design is noticed.
 *
 * Versions: format `fixynn-design` from version 2 on. Version 1 was the format `fixynn-ffe-design` (the
 * fixed part alone, no parts list); it is refused with a message naming both versions (a design is
 * regenerated in seconds, and a reader of two schemas would have to be kept forever). Adding a part kind
 * or a field bumps MANIFEST_VERSION once; the README of this folder says how.
 *
 * Writing sorts keys at every level (byte-identical output for identical designs); reading validates the
 * shape with zod (each part's section by its kind) and each part's facts with its own check.
 */
import { z } from 'zod';
import type { Stream } from '../contract/stream.js';
import { badInput } from '../common/errors.js';
import type { QuantizedGraph } from '../quant/ir.js';
import { parseQuantizedGraph, serializeQuantizedGraph } from '../quant/serialize.js';
import { type AccelConfig, checkConfig } from '../accel/config.js';
import { type RtlConfig, type RtlOptions, rtlConfig } from '../accel/rtl/config.js';

export const MANIFEST_FORMAT = 'fixynn-design';
/** Bump on every change of the schema (a new part kind or field); readers refuse other versions clearly. */
export const MANIFEST_VERSION = 5;
/** The format before parts (version 1): recognized only to be refused by name. */
export const PREVIOUS_FORMAT = 'fixynn-ffe-design';

const int = z.number().int();
const count = int.nonnegative();

const streamSchema = z.object({
  channels: int.positive(), height: int.positive(), width: int.positive(),
  type: z.object({ bits: int.positive(), signed: z.boolean() }).strict(),
}).strict();

/** The cost model's figures (generator/hdl/stats.ts; docs/costs.md defines each). */
const costSchema = z.object({
  adders: count, adderBits: count, productAdders: count, productAdderBits: count, comparators: count, comparatorBits: count,
  multipliers: count, multiplierBits: count, registerBits: count, memoryBits: count, adderDepth: count,
}).strict();
const transportSchema = z.enum(['stream', 'memory']);
export type Transport = z.infer<typeof transportSchema>;

/** A port of a module the manifest names, with its one-line meaning (version 4). */
const port = z.object({ name: z.string(), direction: z.enum(['input', 'output']), width: int.positive(), meaning: z.string().min(1) }).strict();
/** A module and its ports, as its Verilog declares them. */
const moduleSchema = z.object({ module: z.string(), ports: z.array(port).min(1) }).strict();

const ffeLayerSchema = z.object({
  index: count,
  name: z.string(),
  kind: z.string(),
  module: z.string(),
  /** null: no tap (a layer fused inside the next layer's module, where the core does not tap it). */
  tap: z.string().nullable(),
  out: streamSchema,
  latencyCycles: count,
  /** The hardware unit's cost on its last layer; a layer fused inside a unit has zeros. */
  cost: costSchema,
  nonzeroWeights: count,
  /** Widths of the layer's requantization multipliers M, min and max over channels (docs/arithmetic.md §3). */
  multiplierBits: z.object({ min: count, max: count }).strict(),
}).strict();

/** How 8-bit pixels became the model's input when calibrating: (pixel * scale - mean[c]) / std[c]. */
export const preprocessSchema = z.object({ scale: z.number(), mean: z.array(z.number()), std: z.array(z.number()) }).strict();

/** Part kind `ffe`: the fixed feature extractor, layers 0..K-1 of the model as constant logic. */
const ffePartSchema = z.object({
  kind: z.literal('ffe'),
  name: z.string(),
  /** The part's own top module. */
  module: z.string(),
  options: z.object({
    fixedLayers: z.string(),
    arith: z.enum(['shared', 'csd', 'multiply']),
    pipeline: count,
    rawInput: z.boolean(),
    weightBits: int.optional(),
    requantBits: int.optional(),
    actBits: int.optional(),
    calibration: z.string(),
    /**
     * How 8-bit pixels became the model's input when calibrating: (pixel * scale - mean[c]) / std[c];
     * verify reads its images the same way unless told otherwise.
     */
    preprocess: preprocessSchema,
  }).strict(),
  fixedLayerCount: int.positive(),
  input: streamSchema,
  output: streamSchema,
  layers: z.array(ffeLayerSchema).min(1),
  /** Every module the layers name (version 4), with its ports. */
  modules: z.array(moduleSchema).min(1),
  latencyCycles: count,
  /** The part's whole netlist (its units and the glue between them). */
  cost: costSchema.extend({ nonzeroWeights: count, addersPerNonzeroWeight: z.number().nullable() }).strict(),
  /** The part's own top logic outside its layer units (stream joins, the framing check). */
  glueCost: costSchema,
  /** The integer model the part is bit-exact with (a serialized QuantizedGraph; also inline as quantization). */
  integerModel: z.string(),
  quantization: z.unknown(),
}).strict();

/** Memory accesses of a program or layer (generator/accel/accesses.ts); absent in designs generated before them. */
const accessesSchema = z.object({
  actReads: count, actWrites: count, wgtReads: count, wgtWrites: count, accReads: count, accWrites: count, qpReads: count, qpWrites: count,
  memReadBeats: count, memWriteBeats: count, imemReads: count, ppuRows: count,
}).strict();

const accelLayerSchema = z.object({
  index: count, name: z.string(), kind: z.string(), instructions: count, predictedCycles: count, macs: count, utilization: z.number(),
  accesses: accessesSchema.optional(),
}).strict();

/**
 * Part kind `accel` (version 3): the programmable accelerator, layers fromLayer.. of the model as a program
 * (generator/accel; docs/isa.md). Its parameters, the program's files and its per-layer predictions.
 */
const accelPartSchema = z.object({
  kind: z.literal('accel'),
  name: z.string(),
  module: z.string(),
  /** The first layer the accelerator runs (the split K). */
  fromLayer: count,
  /** The quantization flags and where the calibration came from; verify reads its images with preprocess. */
  options: z.object({ weightBits: int.optional(), actBits: int.optional(), requantBits: int.optional(), calibration: z.string(), preprocess: preprocessSchema }).strict(),
  input: streamSchema,
  output: streamSchema,
  isaVersion: count,
  array: z.object({ rows: int.positive(), cols: int.positive() }).strict(),
  peakMacsPerCycle: z.object({ array: count, depthwise: count }).strict(),
  widths: z.object({ activation: int.positive(), weight: int.positive(), accumulator: int.positive(), multiplier: int.positive() }).strict(),
  memoryBytes: z.object({ act: count, wgt: count, acc: count, qp: count, mem: count }).strict(),
  /** The full configuration (generator/accel/config.ts AccelConfig and the RTL's limits, rtl/config.ts; with MEM over AXI4 `memory` and `axi`). */
  config: z.record(z.string(), z.union([z.number(), z.enum(['onchip', 'axi']), z.literal(true), z.object({ maxBurst: int, maxOutstanding: int }).strict()])),
  /** The model's program: its folder (program.bin, mem.bin, program.json, program.s) and the cycle model's figures. */
  program: z.object({
    dir: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), instructions: count, predictedCycles: count, macs: count, utilization: z.number(),
    layers: z.array(accelLayerSchema).min(1),
    accesses: accessesSchema.optional(),
  }).strict(),
  cost: costSchema,
  integerModel: z.string(),
  quantization: z.unknown(),
}).strict();

/**
 * The split of a chip (version 4): a fixed part feeding an accelerator. Both sides work on different
 * frames at once, so the chip's frame period is the slower side's (generator/design/chip.ts).
 */
const splitSchema = z.object({
  fixedLayers: int.positive(),
  /** The tensor crossing the cut: the fixed part's output, the accelerator's input. */
  tensor: z.string(),
  /**
   * Where the frame crossing the cut waits (absent in chips written before it: 'onchip'): 'onchip', the
   * frame FIFO; 'axi', two DRAM frame slots written through the accelerator's AXI4 master (chip-spill.ts).
   */
  frameBuffer: z.enum(['onchip', 'axi']).optional(),
  fixedCyclesPerFrame: int.positive(),
  acceleratorCyclesPerFrame: int.positive(),
  cyclesPerFrame: int.positive(),
  bottleneck: z.enum(['fixed part', 'accelerator']),
  clockMHz: z.number().positive(),
  framesPerSecond: z.number().positive(),
  balancingArray: z.object({ rows: int.positive(), cols: int.positive(), cyclesPerFrame: int.positive() }).strict().nullable(),
}).strict();

/** One schema per part kind; a new kind is one more member (and a version bump). */
const partSchema = z.discriminatedUnion('kind', [ffePartSchema, accelPartSchema]);

const manifestSchema = z.object({
  format: z.literal(MANIFEST_FORMAT),
  version: z.literal(MANIFEST_VERSION),
  generator: z.object({ name: z.string(), version: z.string() }).strict(),
  source: z.object({ file: z.string(), copy: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).strict(),
  /** The design's top: the module a user instantiates, its ports and streams (generator/contract/stream.ts). */
  top: z.object({
    module: z.string(),
    ports: z.array(port),
    input: streamSchema,
    output: streamSchema,
    /**
     * How the input reaches the top and the output leaves it (version 5): `stream`, the AXI4-Stream ports
     * (s_t* in, m_t* out); `memory`, in MEM behind the accelerator's AXI4 master (the input written there
     * before a run, the results read from there after it). `input` and `output` describe the tensors either way.
     */
    transport: z.object({ input: transportSchema, output: transportSchema }).strict(),
    latencyCycles: count,
    throughput: z.object({ inputPixelsPerCycle: z.number(), idealCyclesPerFrame: int.positive() }).strict(),
  }).strict(),
  /** The parts in stream order: the top's input enters the first, the last one's output leaves the top. */
  parts: z.array(partSchema).min(1),
  /** Present on a chip (a fixed part and an accelerator): the split and the throughput of the whole. */
  split: splitSchema.optional(),
  /** The cost model's figures of the whole top (every part and the glue between them). */
  cost: costSchema,
  rtl: z.array(z.string()).min(1),
  fileList: z.string(),
  /**
   * harness: the Verilator C++ harness of designs that have one (the fixed part's). wrapper (version 4):
   * the verification wrapper the testbench instantiates, the top plus tap ports (simulation only).
   */
  testbench: z.object({
    module: z.string(), verilog: z.string(), harness: z.string().optional(),
    wrapper: z.object({ module: z.string(), verilog: z.string(), ports: z.array(port).min(1) }).strict().optional(),
    /** A run without fixynn (version 4): file list, stimulus and expected output in tb/, the frames and their source. */
    standalone: z.object({ fileList: z.string(), stimulus: z.string(), expected: z.string(), frames: int.positive(), source: z.string() }).strict().optional(),
  }).strict(),
  files: z.record(z.string(), z.string().regex(/^[0-9a-f]{64}$/)),
}).strict();

type ParsedManifest = z.infer<typeof manifestSchema>;
type ParsedFfePart = z.infer<typeof ffePartSchema>;
export type FfePart = Omit<ParsedFfePart, 'quantization'> & { readonly quantization: QuantizedGraph };
export type AccelPart = Omit<z.infer<typeof accelPartSchema>, 'quantization' | 'config'> & { readonly quantization: QuantizedGraph; readonly config: RtlConfig };
/** Every part kind's section (a discriminated union on `kind`). */
export type Part = FfePart | AccelPart;
export type PartKind = Part['kind'];
export type ManifestLayer = z.infer<typeof ffeLayerSchema>;
export type ManifestPort = z.infer<typeof port>;
export type ManifestCost = z.infer<typeof costSchema>;
export type ManifestSplit = z.infer<typeof splitSchema>;
export type Manifest = Omit<ParsedManifest, 'parts'> & { readonly parts: readonly Part[] };

/** The one part of a kind (a design has at most one of each today); a clear error when it has none. */
export function partOf<K extends PartKind>(manifest: Manifest, kind: K, where = 'manifest.json'): Extract<Part, { kind: K }> {
  const part = manifest.parts.find((p): p is Extract<Part, { kind: K }> => p.kind === kind);
  if (part === undefined) throw badInput(`${where}: the design has no part of kind '${kind}' (parts: ${manifest.parts.map((p) => p.kind).join(', ')})`);
  return part;
}

/** Deterministic text: keys sorted at every level, one trailing newline. */
export function serializeManifest(manifest: Manifest): string {
  const parts = manifest.parts.map((p) => ({ ...p, quantization: JSON.parse(serializeQuantizedGraph(p.quantization)) as unknown }));
  return `${JSON.stringify(sortKeys({ ...manifest, parts }), null, 1)}\n`;
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
  const format = header.success ? header.data.format : undefined;
  const wanted = `${MANIFEST_FORMAT} version ${MANIFEST_VERSION}`;
  if (format === PREVIOUS_FORMAT) {
    throw badInput(`${where}: manifest format ${PREVIOUS_FORMAT} version ${String(header.data?.version)} (a fixed part alone, before designs had parts) is not read by this fixynn, which reads ${wanted}; regenerate the design with fixynn generate`);
  }
  if (!header.success || format !== MANIFEST_FORMAT) throw badInput(`${where}: not a fixynn design manifest (expected "format": "${MANIFEST_FORMAT}")`);
  if (header.data.version !== MANIFEST_VERSION) {
    throw badInput(`${where}: manifest version ${String(header.data.version)} is not supported by this fixynn (supported: ${wanted}); regenerate the design`);
  }
  const parsed = manifestSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${where}: invalid manifest: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const parts = parsed.data.parts.map((p, i) => readPart(p, `${where} (part ${i} '${p.name}')`));
  const manifest: Manifest = { ...parsed.data, parts };
  checkWhole(manifest, where);
  return manifest;
}

/** One part's section: its own facts beyond the schema, per kind. */
function readPart(p: z.infer<typeof partSchema>, where: string): Part {
  switch (p.kind) {
    case 'ffe': {
      const part: FfePart = { ...p, quantization: parseQuantizedGraph(JSON.stringify(p.quantization), `${where}: quantization`) };
      checkFfePart(part, where);
      return part;
    }
    case 'accel': {
      const quantization = parseQuantizedGraph(JSON.stringify(p.quantization), `${where}: quantization`);
      let config: RtlConfig;
      try {
        config = rtlConfig(checkConfig(p.config as unknown as AccelConfig), p.config as RtlOptions);
      } catch (err) {
        throw badInput(`${where}: config: ${(err as Error).message}`);
      }
      if (config.rows !== p.array.rows || config.cols !== p.array.cols) throw badInput(`${where}: array ${p.array.rows}x${p.array.cols} disagrees with config ${config.rows}x${config.cols}`);
      if (p.fromLayer >= quantization.layers.length) throw badInput(`${where}: fromLayer ${p.fromLayer}, but the model has ${quantization.layers.length} layers`);
      return { ...p, quantization, config };
    }
  }
}

/** The fixed part: layer count and shapes agree with its quantized graph. */
function checkFfePart(p: FfePart, where: string): void {
  const q = p.quantization;
  if (p.layers.length !== p.fixedLayerCount || q.layers.length !== p.fixedLayerCount) {
    throw badInput(`${where}: ${p.fixedLayerCount} fixed layers, but ${p.layers.length} layer entries and ${q.layers.length} quantized layers`);
  }
  p.layers.forEach((layer, i) => {
    const tensor = q.tensors[q.layers[i]?.output ?? ''];
    const shape = tensor ? tensor.shape.join('x') : '?';
    if (layer.index !== i || shape !== `${layer.out.channels}x${layer.out.height}x${layer.out.width}`) {
      throw badInput(`${where}: layer ${i} ('${layer.name}') disagrees with the quantized graph (output ${shape})`);
    }
  });
}

/** The whole: part names unique, the parts chained stream to stream from the top's input to its output. */
function checkWhole(m: Manifest, where: string): void {
  const names = m.parts.map((p) => p.name);
  if (new Set(names).size !== names.length) throw badInput(`${where}: two parts share a name (${names.join(', ')})`);
  const same = (a: Stream, b: Stream): boolean => JSON.stringify(a) === JSON.stringify(b);
  let stream = m.top.input;
  let from = 'the top\'s input';
  for (const p of m.parts) {
    if (!same(stream, p.input)) throw badInput(`${where}: part '${p.name}' takes ${formatStream(p.input)}, but ${from} is ${formatStream(stream)}`);
    stream = p.output;
    from = `part '${p.name}''s output`;
  }
  if (!same(stream, m.top.output)) throw badInput(`${where}: the top's output is ${formatStream(m.top.output)}, but ${from} is ${formatStream(stream)}`);
  checkTransport(m, where);
  if (m.split !== undefined) {
    const [ffe, accel] = m.parts;
    if (m.parts.length !== 2 || ffe?.kind !== 'ffe' || accel?.kind !== 'accel') throw badInput(`${where}: a split needs the parts ffe then accel (parts: ${m.parts.map((p) => p.kind).join(', ')})`);
    if (ffe.fixedLayerCount !== m.split.fixedLayers || accel.fromLayer !== m.split.fixedLayers) {
      throw badInput(`${where}: split after ${m.split.fixedLayers} layers, but the fixed part has ${ffe.fixedLayerCount} and the accelerator starts at layer ${accel.fromLayer}`);
    }
    if (ffe.quantization.output !== m.split.tensor) throw badInput(`${where}: split tensor '${m.split.tensor}', but the fixed part outputs '${ffe.quantization.output}'`);
  }
}

/** A stream transport has the top's stream ports; a memory transport has none and the AXI4 master instead. */
function checkTransport(m: Manifest, where: string): void {
  const has = (name: string): boolean => m.top.ports.some((p) => p.name === name);
  for (const [side, port] of [['input', 's_tdata'], ['output', 'm_tdata']] as const) {
    const transport = m.top.transport[side];
    if (transport === 'stream' && !has(port)) throw badInput(`${where}: the top's ${side} is a stream, but the top has no port ${port}`);
    if (transport === 'memory' && (has(port) || !has('m_axi_araddr'))) throw badInput(`${where}: the top's ${side} is in memory, but the top ${has(port) ? `has the stream port ${port}` : 'has no AXI4 master'}`);
  }
}

export function formatStream(s: Stream): string {
  return `${s.channels}x${s.height}x${s.width} (${s.type.signed ? 'signed' : 'unsigned'} ${s.type.bits}-bit)`;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
