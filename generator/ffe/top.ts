/**
 * The top assembly: the fixed layers 0..K-1 of a QuantizedGraph as one streaming design — one module
 * per layer (a depthwise conv and the pointwise conv right after it share one fused module), chained by
 * AXI4-Stream handshakes, residual Adds fed by a delayed skip stream (residual.ts).
 *
 * Module names are generated (`<top>_l<index>_<kind>`), never taken from the model, so no model string
 * reaches the Verilog; the manifest maps them back to the model's layer names.
 */
import { badInput } from '../common/errors.js';
import { type Expr, Module, type Wire, mux, u } from '../hdl/index.js';
import type { QAddLayer, QConvLayer, QLayer, QuantizedGraph } from '../quant/ir.js';
import { buildAddModule, skipDepth, skipFifoModule } from './residual.js';
import { buildConvModule, fusedPointwise } from './conv.js';
import { gemmAsPointwise } from './gemm.js';
import { buildGlobalPoolModule } from './global-pool.js';
import { buildPoolModule } from './pool.js';
import type { ProductOptions } from './products.js';
import { packingOf, type Stream, streamOfTensor, streamPortMeanings } from '../contract/stream.js';
import { counter } from './stream.js';
import { flushPatience, type SteadyStream, steadyInput, steadyOutput, windowOf } from './timing.js';
import { windowGeometry } from './geometry.js';
import type { BuiltLayer, FfeUnit } from './types.js';
import type { FrontOptions } from './window.js';

export interface TopOptions extends ProductOptions {
  readonly name: string;
}

/** The instance name of unit i inside the top (probes address the unit's ports through it). */
export function unitInstance(i: number): string {
  return `u${i}`;
}

/**
 * Where verification watches a stream inside the top without a port of its own (the synthesis top has
 * only the stream ports): dotted paths from the top, as in Verilog hierarchical names and the DSL
 * simulators' `get`. A beat passes in a clock where every `valid` path is 1.
 */
export interface StreamProbe {
  readonly valid: readonly string[];
  readonly data: string;
}

/** Unit i's output beats as they are accepted downstream. */
export function unitProbe(i: number): StreamProbe {
  const u = unitInstance(i);
  return { valid: [`${u}.m_tvalid`, `${u}.m_tready`], data: `${u}.m_tdata` };
}

/** A fused unit's depthwise output as it enters the pointwise products (conv.ts inner_tap_*). */
export function innerProbe(i: number): StreamProbe {
  const u = unitInstance(i);
  return { valid: [`${u}.inner_tap_valid`], data: `${u}.inner_tap_data` };
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

function shapeOf(graph: QuantizedGraph, tensor: string): Stream {
  const t = graph.tensors[tensor];
  if (t === undefined) throw badInput(`quantized graph: tensor '${tensor}' is missing`);
  return streamOfTensor(t);
}

function buildUnit(graph: QuantizedGraph, indices: readonly number[], prefix: string, options: ProductOptions, front: FrontOptions): FfeUnit {
  const first = graph.layers[indices[0]!]!;
  const last = graph.layers[indices[indices.length - 1]!]!;
  const input = shapeOf(graph, first.inputs[0] ?? '');
  const output = shapeOf(graph, first.output);
  const name = `${prefix}_l${first.index}_${indices.length === 2 ? 'dwpw' : first.kind}`;
  const unit = (kind: string, built: BuiltLayer): FfeUnit => ({ layers: indices, kind, built, inputTensor: first.inputs[0] ?? '', outputTensor: last.output, idleBeforeFlush: front.idleBeforeFlush ?? 0 });
  switch (first.kind) {
    case 'conv': {
      if (indices.length === 2) {
        const pw = last as QConvLayer;
        return unit('dw+pw', buildConvModule(name, first, input, output, options, fusedPointwise(pw, output, shapeOf(graph, pw.output), options), front));
      }
      return unit(isDepthwise(first, graph) ? 'depthwise' : 'conv', buildConvModule(name, first, input, output, options, undefined, front));
    }
    case 'gemm':
      return unit('gemm', buildConvModule(name, gemmAsPointwise(first, input), input, output, options, undefined, front));
    case 'maxpool':
    case 'avgpool':
      return unit(first.kind, buildPoolModule(name, first, input, output, front));
    case 'globalavgpool':
      return unit('globalavgpool', buildGlobalPoolModule(name, first, input, output));
    case 'add':
      throw new Error('residual units are built by assembleTop');
  }
}

/** Which Add operand is the skip: the one whose producer comes earlier (the fork point). */
function addOperands(graph: QuantizedGraph, layer: QAddLayer): { main: string; skip: string; skipIsFirst: boolean } {
  const producer = (t: string): number => (t === graph.input.tensor ? -1 : graph.layers.findIndex((l) => l.output === t));
  const [a, b] = [layer.inputs[0] ?? '', layer.inputs[1] ?? ''];
  if (a === b) throw badInput(`layer ${layer.index} '${layer.name}': Add of a tensor with itself is not supported in the fixed part`);
  return producer(a) < producer(b) ? { main: b, skip: a, skipIsFirst: true } : { main: a, skip: b, skipIsFirst: false };
}

export interface TopAssembly {
  readonly top: Module;
  readonly units: readonly FfeUnit[];
  readonly input: Stream;
  readonly output: Stream;
}

/** A stream inside the top: its valid and data, and the ready its consumer drives. */
interface Endpoint {
  readonly valid: Expr;
  readonly data: Expr;
  readonly ready: Wire;
}

/**
 * Streams by tensor. A tensor with two consumers (a residual fork) hands out two endpoints: a beat
 * leaves only when both consumers take it (each sees valid only while the other is ready; consumers'
 * readies never depend on their valid, so there is no combinational loop).
 */
class StreamTable {
  private readonly pending = new Map<string, Endpoint[]>();
  private count = 0;
  constructor(private readonly m: Module, private readonly fanout: (tensor: string) => number) {}

  /** Register a produced stream; its ready is driven here from the consumers' readies. */
  produce(tensor: string, valid: Expr, data: Expr): Wire {
    const ready = this.m.wire(`t${this.count}_ready`, u(1));
    const n = this.fanout(tensor);
    if (n <= 1) {
      this.pending.set(tensor, [{ valid, data, ready }]);
    } else {
      const branches = [0, 1].map((k) => this.m.wire(`t${this.count}_ready${k}`, u(1)));
      ready.drive(branches[0]!.and(branches[1]!));
      this.pending.set(tensor, branches.map((r, k) => ({ valid: valid.and(branches[1 - k]!), data, ready: r })));
    }
    this.count += 1;
    return ready;
  }

  take(tensor: string, where: string): Endpoint {
    const list = this.pending.get(tensor);
    const e = list?.shift();
    if (e === undefined) throw badInput(`${where}: tensor '${tensor}' is not produced by an earlier fixed layer (or is used more than twice); the fixed part supports chains with residual skips`);
    return e;
  }
}

/**
 * The top module. Ports: clk, rst, s_tvalid, s_tready, s_tdata, s_tuser, s_tlast, m_tvalid, m_tready,
 * m_tdata, m_tuser, m_tlast, frame_error (sticky: an accepted input beat whose tuser/tlast disagree with
 * the position the design counts; the design itself counts H x W beats per frame).
 */
export function assembleTop(graph: QuantizedGraph, fixed: number, options: TopOptions): TopAssembly {
  const plan = planUnits(graph, fixed);
  const inFixed = new Set(plan.flat());
  const fanout = (tensor: string): number => graph.layers.filter((l) => inFixed.has(l.index) && l.inputs.includes(tensor)).length;
  const input = shapeOf(graph, graph.input.tensor);
  const output = shapeOf(graph, graph.layers[fixed - 1]?.output ?? '');
  const m = new Module(options.name, { description: topDescription(fixed, input, output) });
  m.addClock();
  const rst = m.input('rst', u(1));
  const sValid = m.input('s_tvalid', u(1));
  const sData = m.input('s_tdata', u(input.channels * input.type.bits));
  const sUser = m.input('s_tuser', u(1));
  const sLast = m.input('s_tlast', u(1));
  const mReady = m.input('m_tready', u(1));
  const streams = new StreamTable(m, fanout);
  const inputReady = streams.produce(graph.input.tensor, sValid, sData);
  const units: FfeUnit[] = [];
  // Each stream's steady state (timing.ts): a unit whose tail flush does not fit in the gap its input
  // makes at a frame boundary at full rate waits that gap out before flushing, so a bursty upstream
  // never makes it refuse the next frame's first pixels (which would stall the design for the tail).
  const steady = new Map<string, SteadyStream>([[graph.input.tensor, steadyInput(input.height * input.width)]]);
  const steadyOf = (tensor: string): SteadyStream => {
    const s = steady.get(tensor);
    if (s === undefined) throw new Error(`internal: no steady-state stream for tensor '${tensor}'`);
    return s;
  };
  let lastOut: { valid: Expr; data: Expr; user: Expr; last: Expr; ready: Wire } | undefined;
  for (const [i, indices] of plan.entries()) {
    const layer = graph.layers[indices[0]!]!;
    const where = `layer ${layer.index} '${layer.name}'`;
    let unit: FfeUnit;
    const connections: Record<string, Expr> = { rst };
    if (layer.kind === 'add') {
      const ops = addOperands(graph, layer);
      const main = streams.take(ops.main, where);
      const skip = streams.take(ops.skip, where);
      const forkAt = units.findIndex((u) => u.outputTensor === ops.skip);
      const mainPath = units.slice(forkAt + 1).map((u) => u.built);
      const fifo = skipFifoModule(`${options.name}_l${layer.index}_skip`, shapeOf(graph, ops.skip), skipDepth(mainPath));
      const fifoReady = m.wire(`u${i}_skip_ready`, u(1));
      const fifoInst = m.instance(`u${i}_skip`, fifo.module, { rst, s_tvalid: skip.valid, s_tdata: skip.data, m_tready: fifoReady });
      skip.ready.drive(fifoInst.out('s_tready'));
      const built = buildAddModule(`${options.name}_l${layer.index}_add`, layer, shapeOf(graph, ops.main), shapeOf(graph, ops.skip), shapeOf(graph, layer.output), ops.skipIsFirst);
      unit = { layers: indices, kind: 'add', built, skipFifo: fifo.module, inputTensor: ops.main, skipTensor: ops.skip, outputTensor: layer.output, idleBeforeFlush: 0 };
      Object.assign(connections, { s_tvalid: main.valid, s_tdata: main.data, k_tvalid: fifoInst.out('m_tvalid'), k_tdata: fifoInst.out('m_tdata') });
      lastOut = instantiate(m, i, unit, connections, main.ready, streams, (ready) => fifoReady.drive(ready));
    } else {
      const source = streams.take(layer.inputs[0] ?? '', where);
      unit = buildUnit(graph, indices, options.name, options, { idleBeforeFlush: patienceOf(graph, layer, steadyOf(layer.inputs[0] ?? '')) });
      Object.assign(connections, { s_tvalid: source.valid, s_tdata: source.data });
      lastOut = instantiate(m, i, unit, connections, source.ready, streams);
    }
    units.push(unit);
    steady.set(unit.outputTensor, steadyOutput(graph, unit, steadyOf(unit.inputTensor), unit.skipTensor === undefined ? undefined : steadyOf(unit.skipTensor)));
  }
  const final = lastOut!;
  final.ready.drive(mReady);
  m.output('s_tready', inputReady);
  m.output('m_tvalid', final.valid);
  m.output('m_tdata', final.data);
  m.output('m_tuser', final.user);
  m.output('m_tlast', final.last);
  m.output('frame_error', framingCheck(m, rst, sValid.and(inputReady), sUser, sLast, input));
  m.describePorts({ ...streamPortMeanings(input, output), frame_error: FRAME_ERROR_MEANING });
  for (const unit of units) describeUnitPorts(graph, unit);
  return { top: m, units, input, output: units[units.length - 1]!.built.output };
}

const FRAME_ERROR_MEANING = 'sticky until rst: an accepted input beat whose s_tuser/s_tlast disagree with the position the design counts (H x W beats per frame)';

/** The top's comment: what it is and its stream format (its port block follows, from the port descriptions). */
function topDescription(fixed: number, input: Stream, output: Stream): string {
  const shape = (x: Stream): string => `${x.channels}x${x.height}x${x.width}`;
  return [
    `fixynn fixed feature extractor: the model's layers 0..${fixed - 1} as constant shift-add logic, one input pixel per clock.`,
    'The synthesis top: stream ports and frame_error only (the per-layer verification taps are on the testbench\'s wrapper).',
    'Streams (AXI4-Stream): one pixel, all channels, per beat in raster order; a beat moves when tvalid && tready;',
    'tuser = first pixel of a frame, tlast = last pixel of each row; frames may follow back to back.',
    `Input ${shape(input)}: ${packingOf(input)}.`,
    `Output ${shape(output)}: ${packingOf(output)}.`,
  ].join('\n');
}

/** A unit module's ports: the stream contract's, a fused unit's inner tap and an Add's skip stream. */
function describeUnitPorts(graph: QuantizedGraph, unit: FfeUnit): void {
  const b = unit.built;
  const inner = unit.layers.length === 2 ? shapeOf(graph, graph.layers[unit.layers[0]!]!.output) : undefined;
  const skip = unit.skipTensor === undefined ? undefined : shapeOf(graph, unit.skipTensor);
  b.module.describePorts({
    ...streamPortMeanings(b.input, b.output),
    ...(inner === undefined ? {} : {
      inner_tap_valid: 'verification: the depthwise layer\'s output beat enters the pointwise products this clock',
      inner_tap_data: `verification: that beat, ${packingOf(inner)}`,
    }),
    ...(skip === undefined ? {} : {
      k_tvalid: 'skip stream (the residual operand, from the skip FIFO): a beat is offered',
      k_tready: 'skip stream: the Add takes the offered beat this clock',
      k_tdata: `skip stream: one pixel per beat, ${packingOf(skip)}`,
    }),
  });
}

/** A window unit's patience before a tail flush (timing.ts); 0 for units without a window. */
function patienceOf(graph: QuantizedGraph, layer: QLayer, input: SteadyStream): number {
  if (layer.kind !== 'conv' && layer.kind !== 'maxpool' && layer.kind !== 'avgpool') return 0;
  const shape = shapeOf(graph, layer.inputs[0] ?? '');
  return flushPatience(windowGeometry({ height: shape.height, width: shape.width, ...windowOf(layer) }, `layer ${layer.index} '${layer.name}'`), input);
}

/**
 * Instantiate a unit, drive its input ready, and register its output stream (the last unit's output
 * is returned to the caller, who drives its ready from m_tready).
 */
function instantiate(
  m: Module,
  i: number,
  unit: FfeUnit,
  connections: Record<string, Expr>,
  inputReady: Wire,
  streams: StreamTable,
  driveSkipReady?: (ready: Expr) => void,
): { valid: Expr; data: Expr; user: Expr; last: Expr; ready: Wire } {
  const downstream = m.wire(`u${i}_out_ready`, u(1));
  const b = unit.built;
  const shape = (x: Stream): string => `${x.channels}x${x.height}x${x.width}`;
  const inst = m
    .instance(unitInstance(i), unit.built.module, { ...connections, m_tready: downstream })
    .describe(`---- layer ${unit.layers.join(' + ')} (${unit.kind}): ${shape(b.input)} -> ${shape(b.output)} ----`);
  inputReady.drive(inst.out('s_tready'));
  if (driveSkipReady !== undefined) driveSkipReady(inst.out('k_tready'));
  const valid = inst.out('m_tvalid');
  const data = inst.out('m_tdata');
  const ready = streams.produce(unit.outputTensor, valid, data);
  downstream.drive(ready);
  return { valid, data, user: inst.out('m_tuser'), last: inst.out('m_tlast'), ready };
}
/** Sticky flag: an accepted beat's tuser/tlast disagree with the counted position. */
function framingCheck(m: Module, rst: Expr, accept: Expr, user: Expr, last: Expr, shape: Stream): Expr {
  const col = counter(m, 'in_col', shape.width - 1, { step: accept, reset: rst });
  const endOfRow = col.eq(shape.width - 1);
  const row = counter(m, 'in_row', shape.height - 1, { step: accept.and(endOfRow), reset: rst });
  const first = row.eq(0).and(col.eq(0));
  const wrong = user.ne(first).or(last.ne(endOfRow));
  const error = m.reg('frame_error_flag', { min: 0n, max: 1n }, { reset: rst });
  error.next(mux(accept.and(wrong), 1, error));
  return error;
}
