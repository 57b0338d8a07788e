/**
 * The fixed-weight feature extractor (FFE): layers 0..K-1 of a QuantizedGraph as a streaming design
 * built with the DSL, every weight a constant in shift-add logic.
 *
 * ```ts
 * const design = generateFfe(quantized, { fixedLayers: 9, strategy: 'shared' });
 * emitDesign(design.top, header);            // Verilog, one file per module
 * design.units / design.cost / design.throughput / design.latencyCycles   // the manifest's figures
 * ```
 * Streams (AXI4-Stream, one pixel with all channels per beat, channel 0 in the low bits of tdata,
 * tuser = first pixel of a frame, tlast = last pixel of a row) enter at the top's s_* ports and leave
 * at m_*. Bit-exact with generator/golden's IntegerModel on `design.graph` (which differs from the input
 * graph only with `rawInput`, see raw-input.ts).
 */
import { BLOCK_STRATEGIES, PRODUCTS_ROLE, type BlockStrategy, type CmvmSolver } from '../arith/cmvm-block.js';
import type { Stream } from '../contract/stream.js';
import { FixynnError, badInput } from '../common/errors.js';
import { type CostFigures, type DesignCosts, type Module, ZERO_COSTS, addCosts, costFiguresOf, designCosts } from '../hdl/index.js';
import type { QuantizedGraph } from '../quant/ir.js';
import { foldRawInput } from './raw-input.js';
import { assembleTop, innerProbe, type StreamProbe, unitProbe } from './top.js';
import type { FfeUnit } from './types.js';
import { unitTimings } from './timing.js';

export { planUnits, isDepthwise, isPointwise, type StreamProbe } from './top.js';
export type { FfeUnit } from './types.js';
export { windowGeometry, type WindowGeometry } from './geometry.js';
export { foldRawInput, rawInputMapping } from './raw-input.js';
export { productJobs } from './presolve.js';

/** Constant arithmetic of every fixed product (`--arith`). */
export type ArithStrategy = BlockStrategy;

/**
 * A unit's (or the design's) hardware as the cost model counts it in the netlist (docs/costs.md):
 * every figure of CostFigures, and the part of them inside the constant weight products.
 */
export interface LayerCost extends CostFigures {
  /** Adders inside the constant weight products (the CMVM blocks), a part of `adders`. */
  readonly productAdders: number;
  /** Their result widths summed, a part of `adderBits`. */
  readonly productAdderBits: number;
}

export interface FfeOptions {
  /** Layers 0..K-1 become hardware (K >= 1). */
  readonly fixedLayers: number;
  /** Constant multiplication strategy of every weighted layer (default `shared`). */
  readonly strategy?: BlockStrategy;
  /**
   * A register stage every N adder levels inside the constant products (0, the default: products are
   * combinational between the layer's own product and requantization registers). N > 0 switches the
   * weighted layers to credit flow control (layer-module.ts).
   */
  readonly pipeline?: number;
  /** Take raw 8-bit pixels: fold the model's preprocessing and input quantization into layer 0 (raw-input.ts). */
  readonly rawInput?: boolean;
  /** Top module name (default `fixynn_ffe`); unit modules are `<name>_l<index>_<kind>`. */
  readonly name?: string;
  /** Greedy runs of the `shared` optimizer per layer (default: by size, generator/arith/shared-search.ts). */
  readonly effort?: number;
  /** Told layer by layer as the products are built. */
  readonly onProgress?: (message: string) => void;
  /** The adder graphs' solver (default solveCmvm; see presolve.ts and generator/arith/solve-pool.ts). */
  readonly solve?: CmvmSolver;
}

export interface FfeUnitReport {
  /** Verilog module name of the unit. */
  readonly module: string;
  /** Model layers inside (one, or a fused depthwise + pointwise pair). */
  readonly layers: ReadonlyArray<{ readonly index: number; readonly name: string; readonly kind: string }>;
  readonly kind: string;
  readonly inputTensor: string;
  readonly outputTensor: string;
  readonly input: Stream;
  readonly output: Stream;
  readonly cost: LayerCost;
  /** Input beats between a pixel and the output it carries (window geometry). */
  readonly lagBeats: number;
  /** Input beats a frame's last outputs need after its last pixel (made up when the input idles). */
  readonly tailBeats: number;
  /**
   * Clocks the unit's input may idle at a frame boundary before it flushes the tail with phantom beats:
   * the gap its upstream makes there at full rate (0 for a unit fed by the design's input; window.ts).
   */
  readonly idleBeforeFlush: number;
  /** Tap index: the verification wrapper's tap<i>_valid / tap<i>_data ports (generator/design/testbench.ts). */
  readonly tap: number;
  /** Where the unit's output beats are watched inside the top (the top has no tap ports). */
  readonly probe: StreamProbe;
  /** A fused unit's depthwise layer: its output, the wrapper's tap<i>_inner_valid / tap<i>_inner_data. */
  readonly innerTap?: { readonly layer: number; readonly tensor: string; readonly tap: string; readonly probe: StreamProbe };
  /** Clocks from the unit's first input beat to its first output beat (one frame, no stall; timing.ts). */
  readonly latencyCycles: number;
  /** Cycle of the unit's first output beat, counting from the design's first input beat. */
  readonly firstOutputCycle: number;
}

export interface FfeDesign {
  readonly top: Module;
  /** The graph the design is bit-exact with (the input graph, or its raw-input form). */
  readonly graph: QuantizedGraph;
  readonly fixedLayers: number;
  readonly strategy: BlockStrategy;
  readonly pipeline: number;
  readonly rawInput: boolean;
  readonly units: readonly FfeUnitReport[];
  readonly input: Stream & { readonly tensor: string };
  readonly output: Stream & { readonly tensor: string };
  /** The whole top, every unit and the glue between them (stream joins, framing check). */
  readonly cost: LayerCost;
  /** The top's own logic outside the units. */
  readonly glueCost: LayerCost;
  readonly throughput: {
    /** Input beats per frame: the ideal cycles per frame at one pixel per clock. */
    readonly inputBeatsPerFrame: number;
    readonly outputBeatsPerFrame: number;
  };
  /**
   * Clocks from a frame's first input beat to the first output beat on m_tvalid, pixels arriving one per
   * clock and no stall: exact for the RTL (timing.ts; the tests check it in simulation).
   */
  readonly latencyCycles: number;
}

/** No hardware (a layer fused inside another layer's unit). */
export const NO_COST: LayerCost = { ...ZERO_COSTS, productAdders: 0, productAdderBits: 0 };

function addLayerCosts(a: LayerCost, b: LayerCost): LayerCost {
  return { ...addCosts(a, b), productAdders: a.productAdders + b.productAdders, productAdderBits: a.productAdderBits + b.productAdderBits };
}

/** The cost model's figures of some disjoint modules (each with its instances) as one LayerCost. */
function costOf(modules: readonly Module[], cache: Map<Module, DesignCosts>): LayerCost {
  return modules.reduce<LayerCost>((sum, m) => {
    const c = designCosts(m, cache);
    const products = c.roles[PRODUCTS_ROLE] ?? ZERO_COSTS;
    return addLayerCosts(sum, { ...costFiguresOf(c), productAdders: products.adders, productAdderBits: products.adderBits });
  }, NO_COST);
}

function checkOptions(graph: QuantizedGraph, o: FfeOptions): void {
  if (!Number.isInteger(o.fixedLayers) || o.fixedLayers < 1 || o.fixedLayers > graph.layers.length) {
    throw badInput(`--fixed-layers ${o.fixedLayers}: the fixed part needs 1..${graph.layers.length} layers of ${graph.source.file}`);
  }
  if (o.strategy !== undefined && !BLOCK_STRATEGIES.includes(o.strategy)) throw badInput(`--arith ${String(o.strategy)}: supported are ${BLOCK_STRATEGIES.join(', ')}`);
  const p = o.pipeline ?? 0;
  if (!Number.isInteger(p) || p < 0) throw badInput(`--pipeline ${p}: a whole number >= 0 (a register stage every N adder levels; 0 = none inside the products)`);
}

/** A bad-input error from deep inside names the model file too (the layer is already in the message). */
function naming<T>(file: string, build: () => T): T {
  try {
    return build();
  } catch (err) {
    if (err instanceof FixynnError && err.exitCode === 2 && !err.message.includes(file)) throw badInput(`${file}: ${err.message}`);
    throw err;
  }
}

export function generateFfe(source: QuantizedGraph, options: FfeOptions): FfeDesign {
  return naming(source.source.file, () => buildFfe(source, options));
}

function buildFfe(source: QuantizedGraph, options: FfeOptions): FfeDesign {
  checkOptions(source, options);
  const graph = options.rawInput === true ? foldRawInput(source) : source;
  const strategy = options.strategy ?? 'shared';
  const name = options.name ?? 'fixynn_ffe';
  const assembly = assembleTop(graph, options.fixedLayers, {
    name, strategy, pipeline: options.pipeline ?? 0,
    ...(options.effort !== undefined ? { effort: options.effort } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.solve !== undefined ? { solve: options.solve } : {}),
  });
  const timings = unitTimings(graph, assembly.units);
  const cache = new Map<Module, DesignCosts>();
  const unitCosts = assembly.units.map((u) => costOf([u.built.module, ...(u.skipFifo ? [u.skipFifo] : [])], cache));
  const cost = costOf([assembly.top], cache);
  const inUnits = unitCosts.reduce(addLayerCosts, NO_COST);
  // The glue is the top's own logic: every instance of the top is a unit or a unit's skip FIFO.
  const glueCost: LayerCost = { ...NO_COST, ...designCosts(assembly.top, cache).own };
  const whole = addCosts(inUnits, glueCost);
  if (whole.adders !== cost.adders || whole.registerBits !== cost.registerBits || whole.memoryBits !== cost.memoryBits || inUnits.productAdders !== cost.productAdders) {
    throw new Error('internal: the units and the glue do not add up to the top\'s cost (an instance of the top belongs to no unit)');
  }
  const units = assembly.units.map((u: FfeUnit, i): FfeUnitReport => ({
    module: u.built.module.name,
    layers: u.layers.map((index) => ({ index, name: graph.layers[index]!.name, kind: graph.layers[index]!.kind })),
    kind: u.kind,
    inputTensor: u.inputTensor,
    outputTensor: u.outputTensor,
    input: u.built.input,
    output: u.built.output,
    cost: unitCosts[i]!,
    lagBeats: u.built.lagBeats,
    tailBeats: u.built.tailBeats,
    idleBeforeFlush: u.idleBeforeFlush,
    tap: i,
    probe: unitProbe(i),
    ...(u.layers.length === 2 ? { innerTap: { layer: u.layers[0]!, tensor: graph.layers[u.layers[0]!]!.output, tap: `tap${i}_inner`, probe: innerProbe(i) } } : {}),
    latencyCycles: timings[i]!.firstOutput - timings[i]!.firstInput,
    firstOutputCycle: timings[i]!.firstOutput,
  }));
  const frame = assembly.input.height * assembly.input.width;
  const latencyCycles = timings[timings.length - 1]!.firstOutput;
  return {
    top: assembly.top,
    graph,
    fixedLayers: options.fixedLayers,
    strategy,
    pipeline: options.pipeline ?? 0,
    rawInput: options.rawInput === true,
    units,
    input: { ...assembly.input, tensor: graph.input.tensor },
    output: { ...assembly.output, tensor: units[units.length - 1]!.outputTensor },
    cost,
    glueCost,
    throughput: { inputBeatsPerFrame: frame, outputBeatsPerFrame: assembly.output.height * assembly.output.width },
    latencyCycles,
  };
}
