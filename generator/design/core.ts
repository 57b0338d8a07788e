/**
 * The generate hook of part kind `ffe` (the fixed feature extractor) as the design folder sees it: the
 * Verilog files, streams, the cost model's figures, and one entry per fixed layer (the core reports per
 * hardware unit; a fused depthwise + pointwise pair is one unit with two layers). `ffeCore` adapts
 * generator/ffe; tests may pass another `FfeCore` (test/design/stand-in-ffe.ts) to exercise the folder,
 * testbenches and verify runner on their own.
 */
import { type Stream, streamOf, streamOfTensor } from '../contract/stream.js';
import { emitDesign, type EmittedModule, type EmittedPort, type HeaderInfo } from '../emit/index.js';
import { NO_COST, generateFfe, type ArithStrategy, type FfeUnitReport, type LayerCost, type StreamProbe } from '../ffe/index.js';
import type { Module } from '../hdl/index.js';
import type { CmvmSolver } from '../arith/cmvm-block.js';
import type { QuantizedGraph } from '../quant/ir.js';


export interface CoreLayer {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  readonly module: string;
  /**
   * Prefix of the verification wrapper's `<tap>_valid` / `<tap>_data` ports (testbench.ts); null where the
   * core gives no tap (a layer fused inside a module). The synthesis top has no tap ports.
   */
  readonly tap: string | null;
  /** Where the tap's beats are watched inside the top (hierarchical paths); null exactly when `tap` is. */
  readonly probe: StreamProbe | null;
  readonly out: Stream;
  /** Cycle of the first output beat of the unit holding this layer, counted from the first input beat. */
  readonly latencyCycles: number;
  /** The cost model's figures (docs/costs.md) of the layer's unit (zeros for a layer fused inside one). */
  readonly cost: LayerCost;
}

/** A port of a Verilog module, with its one-line meaning. */
export type ModulePort = EmittedPort;

export interface CoreDesign {
  /** The synthesis top: stream ports (and the core's own status outputs such as frame_error), no taps. */
  readonly top: string;
  /** The top's ports in declaration order. */
  readonly ports: readonly ModulePort[];
  /** Every module the layers name (`CoreLayer.module`), with its ports. */
  readonly modules: readonly EmittedModule[];
  readonly files: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  readonly input: Stream;
  readonly output: Stream;
  readonly layers: readonly CoreLayer[];
  /** The core's whole netlist; its layers' costs plus glueCost. */
  readonly cost: LayerCost;
  /** The core top's own logic outside its layer units. */
  readonly glueCost: LayerCost;
  readonly latencyCycles: number;
  readonly idealCyclesPerFrame: number;
  /** The quantized graph the RTL is bit-exact with (differs from the input graph with --raw-input). */
  readonly graph: QuantizedGraph;
  /** The core's DSL top, where the core has one (a chip's top instantiates it beside the accelerator). */
  readonly module?: Module;
}

export interface CoreOptions {
  readonly arith: ArithStrategy;
  readonly pipeline: number;
  readonly rawInput: boolean;
  readonly header: HeaderInfo;
  /** `--effort`: greedy runs of the shared optimizer per layer (default by size). */
  readonly effort?: number;
  readonly onProgress?: (message: string) => void;
  /** The adder graphs solved ahead (generate-design.ts: worker threads, cache), else solved in place. */
  readonly solve?: CmvmSolver;
}

export type FfeCore = (graph: QuantizedGraph, fixedLayers: number, options: CoreOptions) => CoreDesign;

/** The module name of every generated design's top (names from the model never name modules). */
export const TOP_NAME = 'fixynn_ffe';

/** The real core: generator/ffe's design emitted to Verilog, its unit reports spread over their layers. */
export const ffeCore: FfeCore = (graph, k, options) => {
  const d = generateFfe(graph, { fixedLayers: k, strategy: options.arith, pipeline: options.pipeline, rawInput: options.rawInput, name: TOP_NAME,
    ...(options.effort !== undefined ? { effort: options.effort } : {}),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
    ...(options.solve !== undefined ? { solve: options.solve } : {}),
  });
  const emitted = emitDesign(d.top, options.header);
  const layers = d.units.flatMap((unit) => unit.layers.map((layer, j) => coreLayer(d.graph, unit, layer, j === unit.layers.length - 1)));
  return {
    top: emitted.top, ports: emitted.moduleOf(d.top).ports, modules: layerModules(d.top.instances.map((i) => emitted.moduleOf(i.module)), layers), files: emitted.files, input: streamOf(d.input), output: streamOf(d.output), layers, cost: d.cost, glueCost: d.glueCost,
    latencyCycles: d.latencyCycles, idealCyclesPerFrame: d.throughput.inputBeatsPerFrame, graph: d.graph, module: d.top,
  };
};

/** The modules the layers name, once each, in layer order. */
export function layerModules(modules: readonly EmittedModule[], layers: readonly CoreLayer[]): EmittedModule[] {
  const names = [...new Set(layers.map((l) => l.module))];
  return names.map((name) => {
    const m = modules.find((x) => x.name === name);
    if (m === undefined) throw new Error(`internal: layer module '${name}' is not instantiated by the top`);
    return m;
  });
}

/** One layer of a unit: the unit's last layer owns its stream, tap and cost; a fused inner layer its inner tap. */
function coreLayer(graph: QuantizedGraph, unit: FfeUnitReport, layer: FfeUnitReport['layers'][number], last: boolean): CoreLayer {
  const tensor = graph.tensors[graph.layers[layer.index]?.output ?? ''];
  if (!tensor) throw new Error(`internal: layer ${layer.index} has no output tensor in the core's graph`);
  const c = unit.cost;
  return {
    index: layer.index,
    name: layer.name,
    kind: unit.layers.length > 1 ? `${layer.kind} (fused in ${unit.kind})` : unit.kind,
    module: unit.module,
    tap: last ? `tap${unit.tap}` : unit.innerTap?.layer === layer.index ? unit.innerTap.tap : null,
    probe: last ? unit.probe : unit.innerTap?.layer === layer.index ? unit.innerTap.probe : null,
    out: last ? streamOf(unit.output) : streamOfTensor(tensor),
    latencyCycles: unit.firstOutputCycle,
    // A fused unit's cost is its last layer's entry; the inner layer has no hardware of its own.
    cost: last ? c : NO_COST,
  };
}
