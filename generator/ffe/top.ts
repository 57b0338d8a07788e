/**
 * The top assembly: the fixed layers 0..K-1 of a QuantizedGraph as one streaming design — one module
 * per layer (a depthwise conv and the pointwise conv right after it share one fused module), chained by
 * AXI4-Stream handshakes, residual Adds fed by a delayed skip stream (residual.ts).
 *
 * Module names are generated (`<top>_l<index>_<kind>`), never taken from the model, so no model string
 * reaches the Verilog; the manifest maps them back to the model's layer names.
 */
import { badInput } from '../errors.js';
import { type Expr, Module, type Wire, mux, u } from '../hdl/index.js';
import type { QConvLayer, QLayer, QuantizedGraph } from '../quant/ir.js';
import { buildConvModule, fusedPointwise } from './conv.js';
import { gemmAsPointwise } from './gemm.js';
import { buildGlobalPoolModule } from './global-pool.js';
import type { StreamShape } from './layer-module.js';
import { buildPoolModule } from './pool.js';
import type { ProductOptions } from './products.js';
import { streamShapeOf } from './shapes.js';
import { counter } from './stream.js';
import type { BuiltLayer } from './types.js';

/** One hardware unit: a module covering one layer, or two (depthwise + pointwise). */
export interface FfeUnit {
  /** Indices of the model layers inside (one, or two when fused). */
  readonly layers: readonly number[];
  readonly kind: string;
  readonly built: BuiltLayer;
  /** The tensor the unit consumes and the one it produces. */
  readonly inputTensor: string;
  readonly outputTensor: string;
}

export interface TopOptions extends ProductOptions {
  readonly name: string;
  /** Add tap<i>_valid / tap<i>_data outputs: every unit's output beats as they pass (for verify's per-layer diagnosis). */
  readonly taps: boolean;
}

export function isDepthwise(layer: QLayer, graph: QuantizedGraph): layer is QConvLayer {
  if (layer.kind !== 'conv') return false;
  const channels = graph.tensors[layer.inputs[0] ?? '']?.shape[0];
  return layer.group > 1 && layer.group === channels && layer.weightShape[1] === 1;
}

export function isPointwise(layer: QLayer): layer is QConvLayer {
  return layer.kind === 'conv' && layer.group === 1 && layer.kernel.every((k) => k === 1) && layer.stride.every((s) => s === 1) && layer.pads.every((p) => p === 0);
}

function consumers(graph: QuantizedGraph, tensor: string): QLayer[] {
  return graph.layers.filter((l) => l.inputs.includes(tensor));
}

/** Decide which layers share a module: a depthwise conv whose only consumer is a pointwise conv right after it. */
export function planUnits(graph: QuantizedGraph, fixed: number): number[][] {
  const units: number[][] = [];
  for (let i = 0; i < fixed; i++) {
    const layer = graph.layers[i]!;
    const next = graph.layers[i + 1];
    const fusable = next !== undefined && i + 1 < fixed && isDepthwise(layer, graph) && isPointwise(next) && next.inputs[0] === layer.output && consumers(graph, layer.output).length === 1 && layer.output !== graph.output;
    units.push(fusable ? [i, i + 1] : [i]);
    if (fusable) i += 1;
  }
  return units;
}

function shapeOf(graph: QuantizedGraph, tensor: string): StreamShape {
  const t = graph.tensors[tensor];
  if (t === undefined) throw badInput(`quantized graph: tensor '${tensor}' is missing`);
  return streamShapeOf(t);
}

function buildUnit(graph: QuantizedGraph, indices: readonly number[], prefix: string, options: ProductOptions): FfeUnit {
  const first = graph.layers[indices[0]!]!;
  const last = graph.layers[indices[indices.length - 1]!]!;
  const input = shapeOf(graph, first.inputs[0] ?? '');
  const output = shapeOf(graph, first.output);
  const name = `${prefix}_l${first.index}_${indices.length === 2 ? 'dwpw' : first.kind}`;
  const unit = (kind: string, built: BuiltLayer): FfeUnit => ({ layers: indices, kind, built, inputTensor: first.inputs[0] ?? '', outputTensor: last.output });
  switch (first.kind) {
    case 'conv': {
      if (indices.length === 2) {
        const pw = last as QConvLayer;
        return unit('dw+pw', buildConvModule(name, first, input, output, options, fusedPointwise(pw, output, shapeOf(graph, pw.output), options)));
      }
      return unit(isDepthwise(first, graph) ? 'depthwise' : 'conv', buildConvModule(name, first, input, output, options));
    }
    case 'gemm':
      return unit('gemm', buildConvModule(name, gemmAsPointwise(first, input), input, output, options));
    case 'maxpool':
    case 'avgpool':
      return unit(first.kind, buildPoolModule(name, first, input, output));
    case 'globalavgpool':
      return unit('globalavgpool', buildGlobalPoolModule(name, first, input, output));
    case 'add':
      throw badInput(`layer ${first.index} '${first.name}': residual Add is not supported in the fixed part yet; fix fewer layers (--fixed-layers ${first.index})`);
  }
}

export interface TopAssembly {
  readonly top: Module;
  readonly units: readonly FfeUnit[];
  readonly input: StreamShape;
  readonly output: StreamShape;
}

/**
 * The top module. Ports: clk, rst, s_tvalid, s_tready, s_tdata, s_tuser, s_tlast, m_tvalid, m_tready,
 * m_tdata, m_tuser, m_tlast, frame_error (sticky: an accepted input beat whose tuser/tlast disagree with
 * the position the design counts; the design itself counts H x W beats per frame).
 */
export function assembleTop(graph: QuantizedGraph, fixed: number, options: TopOptions): TopAssembly {
  const plan = planUnits(graph, fixed);
  const units = plan.map((indices) => buildUnit(graph, indices, options.name, options));
  let tensor = graph.input.tensor;
  for (const u of units) {
    const layer = graph.layers[u.layers[0]!]!;
    if (layer.inputs.length !== 1 || layer.inputs[0] !== tensor) {
      throw badInput(`layer ${layer.index} '${layer.name}': its input '${layer.inputs.join("', '")}' is not the previous fixed layer's output; the fixed part supports a chain of layers`);
    }
    tensor = u.outputTensor;
  }
  const input = shapeOf(graph, graph.input.tensor);
  const output = units[units.length - 1]!.built.output;
  const m = new Module(options.name);
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(input.channels * input.type.bits));
  const sUser = m.input('s_tuser', u(1));
  const sLast = m.input('s_tlast', u(1));
  const mReady = m.input('m_tready', u(1));
  let valid: Expr = sValid;
  let data: Expr = sData;
  const readies: Wire[] = units.map((_, i) => m.wire(`u${i}_ready`, u(1)));
  const instances = units.map((unit, i) => {
    const downstreamReady = i + 1 < units.length ? readies[i + 1]! : mReady;
    const inst = m.instance(`u${i}`, unit.built.module, { rst, s_tvalid: valid, s_tdata: data, m_tready: downstreamReady });
    readies[i]!.drive(inst.out('s_tready'));
    valid = inst.out('m_tvalid');
    data = inst.out('m_tdata');
    if (options.taps) {
      m.output(`tap${i}_valid`, valid.and(downstreamReady));
      m.output(`tap${i}_data`, data);
    }
    return inst;
  });
  const lastInst = instances[instances.length - 1]!;
  m.output('s_tready', readies[0]!);
  m.output('m_tvalid', lastInst.out('m_tvalid'));
  m.output('m_tdata', lastInst.out('m_tdata'));
  m.output('m_tuser', lastInst.out('m_tuser'));
  m.output('m_tlast', lastInst.out('m_tlast'));
  m.output('frame_error', framingCheck(m, rst, sValid.and(readies[0]!), sUser, sLast, input));
  return { top: m, units, input, output };
}

/** Sticky flag: an accepted beat's tuser/tlast disagree with the counted position. */
function framingCheck(m: Module, rst: Expr, accept: Expr, user: Expr, last: Expr, shape: StreamShape): Expr {
  const col = counter(m, 'in_col', shape.width - 1, { step: accept, reset: rst });
  const endOfRow = col.eq(shape.width - 1);
  const row = counter(m, 'in_row', shape.height - 1, { step: accept.and(endOfRow), reset: rst });
  const first = row.eq(0).and(col.eq(0));
  const wrong = user.ne(first).or(last.ne(endOfRow));
  const error = m.reg('frame_error_flag', { min: 0n, max: 1n }, { reset: rst });
  error.next(mux(accept.and(wrong), 1, error));
  return error;
}
