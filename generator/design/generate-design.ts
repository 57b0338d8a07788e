/**
 * `fixynn generate` without the command line: import, quantize (calibrating where the model is float),
 * generate the fixed feature extractor, and write the self-contained design folder atomically:
 *
 *   rtl/*.v             the Verilog, one module per fixed layer plus the top (FFE core)
 *   files.f             RTL compile order, paths relative to the folder
 *   tb/ffe_tb.v         plain Verilog testbench (Icarus, or `verilator --binary --timing`)
 *   tb/fixynn_ffe_taps.v verification wrapper: the top plus per-layer tap ports (the top itself has none)
 *   tb/sim.f, tb/stim.hex, tb/expected.hex   a standalone run of the testbench (its header: the command)
 *   tb/ffe_harness.cpp  Verilator C++ harness around the same testbench
 *   model.onnx          a copy of the source model
 *   integer-model.json  the integer model's parameters (the fixed part's QuantizedGraph; parseQuantizedGraph)
 *   manifest.json       everything above described and hashed (generator/design/manifest.ts)
 *
 * The FFE generator is a parameter so that tests can run the whole flow with a stand-in core.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { badInput } from '../common/errors.js';
import { checkOutputFolder } from '../common/output-path.js';
import { type ArithStrategy, productJobs } from '../ffe/index.js';
import { type PresolveStats, SolvedGraphs, presolve } from '../arith/solve-pool.js';
import type { CoreDesign, FfeCore } from './core.js';
import { calibrationInputs, loadInputs, resolvePreprocessing, type LoadInputsOptions } from '../data/index.js';
import type { BiasCorrection } from '../calibrate/quantize-model.js';
import type { CalibrationMethod } from '../quant/calibrate.js';
import { inputRangeWarning } from '../quant/input-range.js';
import { NOTHING_FIXED_REASON, resolveFixedLayers } from '../graph/split.js';
import { importDecoded, supportedPrefix } from '../import/index.js';
import { decodeOnnx, describeNode, type OnnxModel, type UnsupportedNode } from '../onnx/decode.js';
import type { LayerGraph } from '../graph/ir.js';
import { quantizeModel } from '../calibrate/quantize-model.js';
import type { QLayer, QuantizedGraph } from '../quant/ir.js';
import { serializeQuantizedGraph } from '../quant/serialize.js';
import { multiplierWidths } from '../quant/print.js';
import { version } from '../common/version.js';
import { fixedPartOf } from './fixed-part.js';
import { MANIFEST_FORMAT, MANIFEST_VERSION, serializeManifest, type AccelPart, type FfePart, type Manifest } from './manifest.js';
import { assertReplaceable, writeFolderAtomically } from './output-dir.js';
import { checkClockMhz, DEFAULT_CLOCK_MHZ, renderHandoff } from './handoff.js';
import { FILE_LIST, renderFileList, renderSimFileList, renderTestbench, type StandaloneRun, TB_EXPECTED, TB_FILE_LIST, TB_HARNESS, TB_STIMULUS, TB_VERILOG } from './testbench.js';
import { standaloneFiles } from './stimulus.js';
import { accelShape } from './accel-part.js';
import type { MemoryKind } from '../accel/rtl/config.js';
import { type AssembledChip, assembleChip, checkAcceleratorHasWork, chooseFrameBuffer, type FrameBuffer } from './chip.js';

export const MODEL_COPY = 'model.onnx';
export const INTEGER_MODEL = 'integer-model.json';
export const MANIFEST = 'manifest.json';

export interface GenerateDesignOptions {
  /** `--fixed-layers`: a number or a node name (DESIGN.md). */
  readonly fixedLayers: string;
  readonly out: string;
  readonly calib?: string;
  /** --scale/--mean/--std: how 8-bit calibration pixels become the model's input (recorded for verify). */
  readonly preprocess?: Pick<LoadInputsOptions, 'scale' | 'mean' | 'std'>;
  readonly calibCount?: number;
  readonly calibMethod?: CalibrationMethod;
  readonly biasCorrection?: BiasCorrection;
  readonly arith: ArithStrategy;
  readonly pipeline: number;
  readonly rawInput: boolean;
  readonly weightBits?: number;
  readonly actBits?: number;
  /** `--wide-acts`: tensors given another width than actBits (generator/quant/wide-acts.ts). */
  readonly wideActs?: string;
  /** Force the width of every requantization multiplier M (8..32; docs/arithmetic.md §3). */
  readonly requantBits?: number;
  /** `--effort`: greedy runs of the shared optimizer per layer (default by size: generator/arith/shared-search.ts). */
  readonly effort?: number;
  /** `--clock-mhz`: the clock of the hand-off bundle's SDC and ABC's delay target (default DEFAULT_CLOCK_MHZ). */
  readonly clockMhz?: number;
  /** `--accel RxC`: the chip (issue 13): the fixed part feeding an R x C accelerator that runs layers K.. */
  readonly accel?: string;
  /** `--accel-mem axi` with K > 0: the frame buffer over AXI (MEM off chip, frames in DRAM slots: chip-spill.ts) even where the cut fits on chip. */
  readonly accelMem?: MemoryKind;
  /** `--workers`: threads solving the layers' adder graphs (default: the cores; generator/arith/solve-pool.ts). */
  readonly workers?: number;
  /** Where solved adder graphs are kept (default $FIXYNN_ARITH_CACHE or <tmpdir>/fixynn-arith-cache); null: nowhere. */
  readonly arithCache?: string | null;
  readonly onProgress?: (message: string) => void;
}

export interface GeneratedDesign {
  readonly manifest: Manifest;
  readonly design: CoreDesign;
  /**
   * Wall time per stage: quantize; generate = optimize (the adder graphs, solve-pool.ts) + build (the
   * hardware, its Verilog and its cost); files (testbench, stimulus, manifest, writing); total.
   */
  readonly seconds: { readonly quantize: number; readonly optimize: number; readonly build: number; readonly generate: number; readonly files: number; readonly total: number };
  /** The adder-graph solves: distinct products, how many came from the cache, the worker threads used. */
  readonly optimizer: PresolveStats;
}

/** `core` is the FFE generator; it runs only once the model and the flags have been checked. */
export async function generateDesign(modelPath: string, options: GenerateDesignOptions, core: FfeCore): Promise<GeneratedDesign> {
  const start = performance.now();
  if (options.clockMhz !== undefined) checkClockMhz(options.clockMhz);
  checkOutputFolder(options.out, '--out');
  assertReplaceable(options.out, MANIFEST);
  const shape = options.accel !== undefined ? accelShape(options.accel) : undefined;
  // A fixed part alone needs only its own layers; a chip runs every layer (the accelerator the rest).
  const loaded = loadModel(modelPath, options.fixedLayers, shape !== undefined ? undefined : { fixedPartOnly: true, ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}) });
  const { modelBytes, sha256, graph, k } = loaded;
  if (k === 0) throw badInput(`--fixed-layers ${options.fixedLayers} on ${graph.source.file}: ${NOTHING_FIXED_REASON}`);
  const { quantized, calibration, preprocess } = await quantizeLoaded(loaded, options);
  fixedPartOf(quantized, k); // a clear error for an invalid cut before the core runs
  let frameBuffer: FrameBuffer = 'onchip';
  if (options.accel !== undefined) {
    checkAcceleratorHasWork(quantized, k, options.accel);
    frameBuffer = chooseFrameBuffer(quantized, k, options.accel, options.accelMem);
  }
  const afterQuantize = performance.now();
  const headerOptions = recordedOptions(options, k);
  const solved = await solveAhead(quantized, k, options);
  const afterOptimize = performance.now();
  const design = core(quantized, k, { arith: options.arith, pipeline: options.pipeline, rawInput: options.rawInput,
    ...(options.effort !== undefined ? { effort: options.effort } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    solve: solved.solve,
    header: { modelFile: path.basename(modelPath), modelSha256: sha256, options: headerOptions } });
  // The integer model the RTL answers to: the core's graph (the raw-input form with --raw-input).
  const fixed = fixedPartOf(design.graph, k);
  checkDesignAgainstGraph(design, fixed);
  const afterGenerate = performance.now();
  const ctx: DescribeContext = { sourceFile: path.basename(modelPath), sha256, options, k, calibration, preprocess };
  let files: Map<string, string | Uint8Array>;
  let manifest: Manifest;
  if (shape === undefined) {
    // The testbench folder's own stimulus and expected output: it runs without fixynn (testbench.ts).
    const standalone = standaloneFiles({ quantization: fixed, options: { rawInput: options.rawInput, preprocess } }, design.input, design.output);
    files = designFiles(design, fixed, modelBytes, { modelFile: path.basename(modelPath), sha256, headerOptions, clockMhz: options.clockMhz ?? DEFAULT_CLOCK_MHZ }, standalone);
    manifest = describeDesign(design, fixed, files, standalone, ctx);
  } else {
    options.onProgress?.(`compiling layers ${k}..${design.graph.layers.length - 1} for the ${shape.rows}x${shape.cols} accelerator`);
    const chip = assembleChip(design, k, shape, { modelFile: path.basename(modelPath), modelSha256: sha256, options: headerOptions }, frameBuffer);
    files = chip.files;
    files.set(MODEL_COPY, modelBytes);
    files.set(INTEGER_MODEL, `${serializeQuantizedGraph(fixed)}\n`);
    manifest = describeChip(chip, ffePart(design, fixed, ctx), files, ctx);
  }
  files.set(MANIFEST, serializeManifest(manifest));
  writeFolderAtomically(options.out, files, MANIFEST);
  const end = performance.now();
  const seconds = (from: number, to: number): number => (to - from) / 1000;
  return {
    manifest, design, optimizer: solved.stats,
    seconds: { quantize: seconds(start, afterQuantize), optimize: seconds(afterQuantize, afterOptimize), build: seconds(afterOptimize, afterGenerate), generate: seconds(afterQuantize, afterGenerate), files: seconds(afterGenerate, end), total: seconds(start, end) },
  };
}

/**
 * The fixed layers' adder graphs, solved before the hardware is built: on worker threads, from the cache
 * where a layer's integer weights and options were solved before (generator/arith/solve-pool.ts).
 */
async function solveAhead(quantized: QuantizedGraph, k: number, options: GenerateDesignOptions): Promise<SolvedGraphs> {
  if (options.arith !== 'shared') return new SolvedGraphs();
  const jobs = productJobs(quantized, { fixedLayers: k, strategy: options.arith, rawInput: options.rawInput, ...(options.effort !== undefined ? { effort: options.effort } : {}) });
  options.onProgress?.(`solving the adder graphs of ${jobs.length} constant product(s)`);
  return presolve(jobs, {
    ...(options.workers !== undefined ? { workers: options.workers } : {}),
    ...(options.arithCache !== undefined ? { cacheDir: options.arithCache } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  });
}

/** The flags that shape the quantization, the same for every kind of design (generator/commands/input-flags.ts). */
export type QuantizeOptions = Pick<GenerateDesignOptions, 'calib' | 'preprocess' | 'calibCount' | 'calibMethod' | 'biasCorrection' | 'weightBits' | 'actBits' | 'wideActs' | 'requantBits' | 'onProgress'>;

export interface LoadedModel {
  readonly modelBytes: Buffer;
  readonly sha256: string;
  readonly onnx: ReturnType<typeof decodeOnnx>;
  readonly graph: ReturnType<typeof importDecoded>;
  /** The split: layers 0..k-1 fixed. */
  readonly k: number;
}

export interface QuantizedModel {
  readonly quantized: QuantizedGraph;
  /** Where the calibration came from (or that the QDQ model brought its own), for the manifest. */
  readonly calibration: string;
  /** How 8-bit pixels became the model's input (the flags or the defaults), for the manifest and verify. */
  readonly preprocess: { scale: number; mean: number[]; std: number[] };
}

/**
 * The model read and imported, the split point resolved: every design's first step. With `fixedPartOnly`
 * (a fixed part alone) the model is read up to its first unsupported node: the fixed part needs only its
 * own layers, so an operator after the split does not block it (the accelerator's flows refuse it).
 */
export function loadModel(modelPath: string, fixedLayers: string, fixed?: { readonly fixedPartOnly: true; readonly onProgress?: (message: string) => void }): LoadedModel {
  const modelBytes = readModel(modelPath);
  const sha256 = createHash('sha256').update(modelBytes).digest('hex');
  if (fixed === undefined) {
    const onnx = decodeOnnx(modelBytes, path.basename(modelPath));
    const graph = importDecoded(onnx);
    return { modelBytes, sha256, onnx, graph, k: resolveFixedLayers(graph, fixedLayers) };
  }
  const whole = decodeOnnx(modelBytes, path.basename(modelPath), { keepUnsupported: true });
  const { model: onnx, cut } = supportedPrefix(whole);
  const graph = importDecoded(onnx);
  const k = resolveFixedLayersBefore(graph, fixedLayers, cut, whole);
  if (cut !== null && k > 0) fixed.onProgress?.(`note: the model continues with ${describeNode(cut)}, which fixynn does not support; the fixed part (layers 0..${k - 1}) lies before it`);
  return { modelBytes, sha256, onnx, graph, k };
}

/**
 * The one quantize step of every design and of `compile`: calibrate a float model (on --calib, read
 * with --scale/--mean/--std, or the default data), take a QDQ model's own parameters (its data, when
 * given, only checked against the preprocessing).
 */
export async function quantizeLoaded(loaded: LoadedModel, options: QuantizeOptions): Promise<QuantizedModel> {
  const { onnx, graph } = loaded;
  const pixels = options.preprocess ?? {};
  const preprocess = resolvePreprocessing(graph.input.shape[0], pixels, '--scale/--mean/--std');
  const calibration = graph.quantized ? undefined : calibrationInputs(graph.source.file, graph.input.shape, options.calib, { ...pixels, ...(options.calibCount !== undefined ? { count: options.calibCount } : {}) });
  options.onProgress?.(calibration ? `calibrating on ${calibration.source}` : 'using the QDQ model\'s own quantization');
  const quantized = await quantizeModel(onnx, graph, {
    ...(calibration ? { calibImages: calibration.images } : {}),
    ...(options.weightBits !== undefined ? { weightBits: options.weightBits } : {}),
    ...(options.actBits !== undefined ? { actBits: options.actBits } : {}),
    ...(options.wideActs !== undefined ? { wideActs: options.wideActs } : {}),
    ...(options.requantBits !== undefined ? { requantBits: options.requantBits } : {}),
    ...(options.calibMethod !== undefined ? { method: options.calibMethod } : {}),
    ...(options.biasCorrection !== undefined ? { biasCorrection: options.biasCorrection } : {}),
  });
  if (graph.quantized && options.calib !== undefined) {
    // A QDQ model needs no calibration; its data still say whether the preprocessing fits the model.
    const sample = loadInputs(options.calib, graph.input.shape, { ...pixels, count: options.calibCount ?? 64 });
    const warning = inputRangeWarning(quantized, sample.images, sample.source);
    if (warning !== undefined) options.onProgress?.(`warning: ${warning}`);
  }
  return { quantized, calibration: calibration?.source ?? 'the QDQ model\'s own parameters', preprocess };
}

/** loadModel then quantizeLoaded. */
export async function loadAndQuantize(modelPath: string, options: QuantizeOptions & { readonly fixedLayers: string }): Promise<LoadedModel & QuantizedModel> {
  const loaded = loadModel(modelPath, options.fixedLayers);
  return { ...loaded, ...(await quantizeLoaded(loaded, options)) };
}

/**
 * resolveFixedLayers on the part of the model before an unsupported node (`cut`): a split past that
 * node names it (it would lie inside the fixed part), instead of saying the layer or node does not exist.
 */
function resolveFixedLayersBefore(graph: LayerGraph, spec: string, cut: UnsupportedNode | null, whole: OnnxModel): number {
  if (cut === null) return resolveFixedLayers(graph, spec);
  const n = graph.layers.length;
  const inside = (): Error => badInput(`${cut.message}. It lies inside the fixed part asked for (--fixed-layers ${spec}): the fixed part can hold layers 0..${n - 1}, the ones before it (--fixed-layers ${n} at most)`);
  const trimmed = spec.trim();
  if (/^\d+$/.test(trimmed) && Number(trimmed) > n) throw inside();
  if (!/^\d+$/.test(trimmed) && !graph.layers.some((l) => l.nodes.includes(trimmed) || l.name === trimmed) && (whole.proto.graph?.node ?? []).some((node) => node.name === trimmed)) throw inside();
  return resolveFixedLayers(graph, spec);
}

function readModel(modelPath: string): Buffer {
  try {
    return readFileSync(modelPath);
  } catch (err) {
    throw badInput(`${modelPath}: cannot read the model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}


/** How the accelerator part's model was quantized (the whole model's, in a chip): the flags and the data. */
function accelOptions(ctx: DescribeContext): AccelPart['options'] {
  const o = ctx.options;
  return {
    calibration: ctx.calibration, preprocess: ctx.preprocess,
    ...(o.weightBits !== undefined ? { weightBits: o.weightBits } : {}),
    ...(o.actBits !== undefined ? { actBits: o.actBits } : {}),
    ...(o.requantBits !== undefined ? { requantBits: o.requantBits } : {}),
  };
}

/** A chip's manifest: the two parts, the split, the chip top's streams, ports and cost. */
function describeChip(chip: AssembledChip, ffe: FfePart, files: ReadonlyMap<string, string | Uint8Array>, ctx: DescribeContext): Manifest {
  const hashes: Record<string, string> = {};
  for (const [name, data] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) hashes[name] = createHash('sha256').update(data).digest('hex');
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generator: { name: 'fixynn', version },
    source: { file: ctx.sourceFile, copy: MODEL_COPY, sha256: ctx.sha256 },
    top: chip.top,
    parts: [ffe, { ...chip.accel, options: accelOptions(ctx) }],
    split: chip.split,
    cost: chip.cost,
    rtl: [...chip.rtl],
    fileList: FILE_LIST,
    testbench: chip.testbench,
    files: hashes,
  };
}

/** The options that shaped the design, for file headers: no paths, so that the bytes depend on content only. */
function recordedOptions(options: GenerateDesignOptions, k: number): Record<string, string | number | boolean> {
  return {
    'fixed-layers': k,
    arith: options.arith,
    pipeline: options.pipeline,
    'raw-input': options.rawInput,
    ...(options.weightBits !== undefined ? { 'weight-bits': options.weightBits } : {}),
    ...(options.actBits !== undefined ? { 'act-bits': options.actBits } : {}),
    ...(options.wideActs !== undefined ? { 'wide-acts': options.wideActs } : {}),
    ...(options.requantBits !== undefined ? { 'requant-bits': options.requantBits } : {}),
    ...(options.effort !== undefined ? { effort: options.effort } : {}),
    ...(options.accel !== undefined ? { accel: options.accel } : {}),
    ...(options.accelMem === 'axi' ? { 'accel-mem': 'axi' } : {}),
  };
}

/** The FFE core and the quantized graph must describe the same layers; a disagreement is a generator bug. */
function checkDesignAgainstGraph(design: CoreDesign, fixed: QuantizedGraph): void {
  if (design.layers.length !== fixed.layers.length) throw new Error(`internal: the FFE core returned ${design.layers.length} layers for ${fixed.layers.length} fixed layers`);
  design.layers.forEach((layer, i) => {
    const shape = fixed.tensors[fixed.layers[i]?.output ?? '']?.shape;
    if (!shape || shape.join('x') !== `${layer.out.channels}x${layer.out.height}x${layer.out.width}`) {
      throw new Error(`internal: FFE layer ${i} outputs ${layer.out.channels}x${layer.out.height}x${layer.out.width}, the integer model ${shape?.join('x') ?? '?'}`);
    }
  });
}

function designFiles(design: CoreDesign, fixed: QuantizedGraph, modelBytes: Buffer, h: { modelFile: string; sha256: string; headerOptions: Record<string, string | number | boolean>; clockMhz: number }, standalone: StandaloneRun & { stim: string; expected: string }): Map<string, string | Uint8Array> {
  const files = new Map<string, string | Uint8Array>();
  const rtl = design.files.map((f) => `rtl/${f.name}`);
  design.files.forEach((f, i) => files.set(rtl[i] as string, f.text));
  if (new Set(rtl).size !== rtl.length) throw new Error('internal: the FFE core returned two files with one name');
  const tb = renderTestbench(design, { modelFile: h.modelFile, modelSha256: h.sha256, options: h.headerOptions }, standalone);
  files.set(FILE_LIST, renderFileList(rtl));
  files.set(TB_FILE_LIST, renderSimFileList(rtl, tb));
  files.set(TB_STIMULUS, standalone.stim);
  files.set(TB_EXPECTED, standalone.expected);
  files.set(TB_VERILOG, tb.verilog);
  files.set(tb.wrapper.file, tb.wrapper.verilog);
  files.set(TB_HARNESS, tb.harness);
  files.set(MODEL_COPY, modelBytes);
  files.set(INTEGER_MODEL, `${serializeQuantizedGraph(fixed)}\n`);
  const header = { modelFile: h.modelFile, modelSha256: h.sha256, options: h.headerOptions };
  const handoff = renderHandoff({
    top: design.top, rtl, ports: design.ports, header,
    testbench: { module: tb.module, verilog: TB_VERILOG, harness: TB_HARNESS, wrapper: tb.wrapper.file },
  }, h.clockMhz);
  for (const [name, text] of handoff) files.set(name, text);
  return files;
}

interface DescribeContext {
  readonly sourceFile: string;
  readonly sha256: string;
  readonly options: GenerateDesignOptions;
  readonly k: number;
  readonly calibration: string;
  readonly preprocess: { scale: number; mean: number[]; std: number[] };
}

function describeDesign(design: CoreDesign, fixed: QuantizedGraph, files: ReadonlyMap<string, string | Uint8Array>, standalone: StandaloneRun, ctx: DescribeContext): Manifest {
  const hashes: Record<string, string> = {};
  for (const [name, data] of [...files.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) hashes[name] = createHash('sha256').update(data).digest('hex');
  const ffe = ffePart(design, fixed, ctx);
  return {
    format: MANIFEST_FORMAT,
    version: MANIFEST_VERSION,
    generator: { name: 'fixynn', version },
    source: { file: ctx.sourceFile, copy: MODEL_COPY, sha256: ctx.sha256 },
    // One part today, whose module is the top itself: the whole is that part.
    top: {
      module: design.top,
      ports: [...design.ports],
      input: design.input,
      output: design.output,
      transport: { input: 'stream', output: 'stream' },
      latencyCycles: design.latencyCycles,
      throughput: { inputPixelsPerCycle: 1, idealCyclesPerFrame: design.idealCyclesPerFrame },
    },
    parts: [ffe],
    cost: design.cost,
    rtl: design.files.map((f) => `rtl/${f.name}`),
    fileList: FILE_LIST,
    testbench: testbenchSection(design, standalone),
    files: hashes,
  };
}

function testbenchSection(design: CoreDesign, standalone: StandaloneRun): Manifest['testbench'] {
  const tb = renderTestbench(design, {}, standalone);
  return {
    module: tb.module, verilog: TB_VERILOG, harness: TB_HARNESS, wrapper: { module: tb.wrapper.module, verilog: tb.wrapper.file, ports: [...tb.wrapper.ports] },
    standalone: { fileList: TB_FILE_LIST, stimulus: TB_STIMULUS, expected: TB_EXPECTED, frames: standalone.frames, source: standalone.source },
  };
}

/** The fixed part's section of the manifest. */
function ffePart(design: CoreDesign, fixed: QuantizedGraph, ctx: DescribeContext): FfePart {
  const nonzero = fixed.layers.map(nonzeroWeights);
  const totalNonzero = nonzero.reduce((a, b) => a + b, 0);
  const { options } = ctx;
  return {
    kind: 'ffe',
    name: 'ffe',
    module: design.top,
    options: {
      fixedLayers: options.fixedLayers, arith: options.arith, pipeline: options.pipeline, rawInput: options.rawInput,
      ...(options.weightBits !== undefined ? { weightBits: options.weightBits } : {}),
      ...(options.actBits !== undefined ? { actBits: options.actBits } : {}),
      ...(options.requantBits !== undefined ? { requantBits: options.requantBits } : {}),
      calibration: ctx.calibration,
      preprocess: ctx.preprocess,
    },
    fixedLayerCount: ctx.k,
    input: design.input,
    output: design.output,
    layers: design.layers.map((l, i) => ({
      index: l.index, name: l.name, kind: l.kind, module: l.module, tap: l.tap, out: l.out, latencyCycles: l.latencyCycles, cost: l.cost,
      nonzeroWeights: nonzero[i] ?? 0,
      multiplierBits: fixed.layers[i] ? multiplierWidths(fixed.layers[i]) : { min: 0, max: 0 },
    })),
    modules: design.modules.map((m) => ({ module: m.name, ports: [...m.ports] })),
    latencyCycles: design.latencyCycles,
    cost: { ...design.cost, nonzeroWeights: totalNonzero, addersPerNonzeroWeight: totalNonzero === 0 ? null : design.cost.productAdders / totalNonzero },
    glueCost: design.glueCost,
    integerModel: INTEGER_MODEL,
    quantization: fixed,
  };
}

function nonzeroWeights(layer: QLayer): number {
  return layer.kind === 'conv' || layer.kind === 'gemm' ? layer.weights.filter((w) => w !== 0).length : 0;
}
