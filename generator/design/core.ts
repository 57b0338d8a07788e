/**
 * The FFE core as `generate` uses it. generator/ffe/contract.ts fixes the interface in principle; the
 * core that landed (generator/ffe/index.ts) returns a DSL module and reports per hardware unit (a fused
 * depthwise + pointwise pair is one unit with one tap) and the graph it is bit-exact with (the raw-input
 * form with --raw-input). Both shapes are normalized here to `CoreDesign`, so that the rest of the
 * design folder code is independent of which one answers.
 *
 * The real core is imported on use and its result checked field by field at run time: an interface
 * drift shows up as one clear internal error, not as a broken design folder.
 */
import { emitDesign, type HeaderInfo } from '../emit/index.js';
import type { ArithStrategy, GenerateFfe, StreamFormat } from '../ffe/contract.js';
import type { Module } from '../hdl/index.js';
import type { QuantizedGraph } from '../quant/ir.js';

export interface CoreLayerCost {
  /** All adders of the layer's engine: constant products, requantization, pooling, accumulation. */
  readonly adders: number;
  /** Adders of the constant weight products alone (the arithmetic strategy's figure). */
  readonly productAdders: number;
  readonly adderBits: number;
  readonly registerBits: number;
  readonly memoryBits: number;
  readonly depth: number;
}

export interface CoreLayer {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  readonly module: string;
  /** Prefix of the top's `<tap>_valid` / `<tap>_data`; null where the core gives no tap (a layer fused inside a module). */
  readonly tap: string | null;
  readonly out: StreamFormat;
  readonly latencyCycles: number;
  readonly cost: CoreLayerCost;
}

export interface CoreDesign {
  readonly top: string;
  readonly files: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  readonly input: StreamFormat;
  readonly output: StreamFormat;
  readonly layers: readonly CoreLayer[];
  readonly latencyCycles: number;
  readonly idealCyclesPerFrame: number;
  /** The quantized graph the RTL is bit-exact with (differs from the input graph with --raw-input). */
  readonly graph: QuantizedGraph;
}

export interface CoreOptions {
  readonly arith: ArithStrategy;
  readonly pipeline: number;
  readonly rawInput: boolean;
  readonly header: HeaderInfo;
}

export type FfeCore = (graph: QuantizedGraph, fixedLayers: number, options: CoreOptions) => CoreDesign;

/** A core written to the contract (e.g. the test-only stand-in): one tap per layer, no graph change. */
export function coreFromContract(generateFfe: GenerateFfe): FfeCore {
  return (graph, k, options) => {
    const d = generateFfe(graph, k, {
      arith: options.arith, pipeline: options.pipeline, rawInput: options.rawInput,
      header: { modelFile: 'model.onnx', modelSha256: options.header.modelSha256 ?? '', options: Object.entries(options.header.options ?? {}).map(([k2, v]) => `${k2}=${String(v)}`).join(' ') },
    });
    return {
      ...d,
      graph,
      layers: d.layers.map((l) => ({ ...l, cost: { ...l.cost, productAdders: l.cost.adders } })),
    };
  };
}

/** The module name of every generated design's top (names from the model never name modules). */
export const TOP_NAME = 'fixynn_ffe';

// ---- The landed core (generator/ffe/index.ts), as far as generate relies on it --------------------

interface EngineShape { readonly channels: number; readonly height: number; readonly width: number; readonly type: { readonly bits: number; readonly signed: boolean } }
interface EngineCost { readonly productAdders: number; readonly otherAdders: number; readonly nonzeroWeights: number; readonly adderBits: number; readonly registerBits: number; readonly memoryBits: number; readonly depth: number; readonly stages: number }
interface EngineUnit {
  readonly module: string;
  readonly layers: ReadonlyArray<{ readonly index: number; readonly name: string; readonly kind: string }>;
  readonly kind: string;
  readonly output: EngineShape;
  readonly cost: EngineCost;
  readonly lagBeats: number;
  readonly input: EngineShape;
  readonly tap: number;
  /** A fused unit's depthwise layer tap (tap<i>_inner_*), where the core provides it. */
  readonly innerTap?: { readonly layer: number; readonly tap: string };
}
interface EngineDesign {
  readonly top: Module;
  readonly graph: QuantizedGraph;
  readonly units: readonly EngineUnit[];
  readonly input: EngineShape;
  readonly output: EngineShape;
  readonly throughput: { readonly inputBeatsPerFrame: number };
  readonly latencyEstimate: number;
}
type EngineGenerate = (graph: QuantizedGraph, options: { fixedLayers: number; strategy: ArithStrategy; pipeline: number; rawInput: boolean; name: string; taps: boolean }) => EngineDesign;

function formatOf(s: EngineShape): StreamFormat {
  return { channels: s.channels, height: s.height, width: s.width, bits: s.type.bits, signed: s.type.signed };
}

function fail(what: string): never {
  throw new Error(`internal: generator/ffe's generateFfe result does not have the expected shape (${what}); generator/design/core.ts must follow it`);
}

function checkEngineDesign(d: EngineDesign): void {
  if (typeof d?.top?.name !== 'string') fail('top is not a DSL module');
  if (!Array.isArray(d.units) || d.units.length === 0) fail('no units');
  if (typeof d.graph?.layers?.length !== 'number') fail('no graph');
  if (typeof d.throughput?.inputBeatsPerFrame !== 'number' || typeof d.latencyEstimate !== 'number') fail('no throughput or latency');
  for (const u of d.units) if (!Array.isArray(u.layers) || typeof u.tap !== 'number' || typeof u.cost?.productAdders !== 'number' || typeof u.output?.type?.bits !== 'number') fail(`unit ${String(u.module)}`);
}

/** Adapts the landed core: emits its DSL top to Verilog and spreads unit reports over their layers. */
export function coreFromEngine(generate: EngineGenerate): FfeCore {
  return (graph, k, options) => {
    const d = generate(graph, { fixedLayers: k, strategy: options.arith, pipeline: options.pipeline, rawInput: options.rawInput, name: TOP_NAME, taps: true });
    checkEngineDesign(d);
    const emitted = emitDesign(d.top, options.header);
    const frame = d.throughput.inputBeatsPerFrame;
    let latency = 0;
    const layers: CoreLayer[] = d.units.flatMap((unit) => {
      latency += Math.ceil((unit.lagBeats * frame) / (unit.input.height * unit.input.width)) + unit.cost.stages;
      return unit.layers.map((layer, j): CoreLayer => {
        const last = j === unit.layers.length - 1;
        const tensor = d.graph.tensors[d.graph.layers[layer.index]?.output ?? ''];
        if (!tensor) fail(`layer ${layer.index} has no output tensor`);
        const out: StreamFormat = last ? formatOf(unit.output) : { channels: tensor.shape[0], height: tensor.shape[1], width: tensor.shape[2], bits: tensor.quant.bits, signed: tensor.quant.signed };
        const c = unit.cost;
        // A fused unit's cost is its last layer's entry; the inner layer has no hardware of its own.
        const cost: CoreLayerCost = last
          ? { adders: c.productAdders + c.otherAdders, productAdders: c.productAdders, adderBits: c.adderBits, registerBits: c.registerBits, memoryBits: c.memoryBits, depth: c.depth }
          : { adders: 0, productAdders: 0, adderBits: 0, registerBits: 0, memoryBits: 0, depth: 0 };
        return { index: layer.index, name: layer.name, kind: unit.layers.length > 1 ? `${layer.kind} (fused in ${unit.kind})` : unit.kind, module: emittedName(emitted.files, unit.module), tap: last ? `tap${unit.tap}` : innerTapOf(unit, layer.index), out, latencyCycles: latency, cost };
      });
    });
    return {
      top: emitted.top, files: emitted.files, input: formatOf(d.input), output: formatOf(d.output), layers,
      latencyCycles: d.latencyEstimate, idealCyclesPerFrame: frame, graph: d.graph,
    };
  };
}

/** The tap of a layer inside a fused unit, or null when the core gives none. */
function innerTapOf(unit: EngineUnit, layer: number): string | null {
  return unit.innerTap !== undefined && unit.innerTap.layer === layer ? unit.innerTap.tap : null;
}

/** The emitted (legalized) module name for a DSL module name. */
function emittedName(files: ReadonlyArray<{ readonly name: string }>, dslName: string): string {
  const match = files.find((f) => f.name === `${dslName}.v`);
  return match ? dslName : fail(`module ${dslName} was not emitted under its own name`);
}

/** The real core, imported on use (other commands never load it). */
export async function loadFfeCore(): Promise<FfeCore> {
  const specifier = '../ffe/index.js';
  const core = (await import(specifier)) as { generateFfe?: unknown };
  if (typeof core.generateFfe !== 'function') throw new Error('internal: generator/ffe does not export generateFfe');
  // The contract's form takes (graph, k, options); the landed core takes (graph, options).
  return core.generateFfe.length === 3 ? coreFromContract(core.generateFfe as GenerateFfe) : coreFromEngine(core.generateFfe as EngineGenerate);
}
