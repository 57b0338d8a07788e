/**
 * The accelerator compiler: the layers of a QuantizedGraph after the split (all of them at K = 0) -> one
 * program (three token-linked instruction streams in one word list) + a MEM image + a layout saying where
 * the input and outputs live. docs/isa.md is the target's specification.
 *
 * Lowering (the layer graph accepted is exactly what the integer model runs):
 *   conv group 1, gemm           -> GEMM per output slab of C channels and per tile of output rows
 *                                   (few input channels, kh*kw > 1: replicate + DWCONV shift + 1x1 GEMM,
 *                                   so the taps fill the array rows; see im2colPlan)
 *   conv depthwise (group = C_in = C_out) -> DWCONV mode mac
 *   maxpool / avgpool            -> DWCONV mode max / sum (1/N folded into M by the quantizer)
 *   globalavgpool                -> GAP
 *   add                          -> ADD
 *   the last layer, conv/gemm    -> GEMM with toAcc (scores at accumulator precision) + ARGMAX when 1x1
 * Anything else (a grouped conv that is not depthwise, a kernel or pad beyond the fields) is refused with
 * the layer named.
 *
 * Schedule: work is cut into jobs, each with its own loads (weights and QP of one GEMM slab, or of a
 * depthwise/pooling/add layer) into one half of WGT and QP (job k uses half k % 2). The load queue runs
 * one job ahead: loads(k+1) are emitted before compute(k), so the next slab's weights arrive while the
 * current one computes; a token e2l from compute(k) lets loads(k+2) reuse the half. Final-layer results
 * leave through the store queue, with ACC halves double-buffered the same way (tokens e2s / s2e).
 */
import { badInput } from '../common/errors.js';
import type { QConvLayer, QGemmLayer, QLayer, QuantizedGraph, QuantTensor } from '../quant/ir.js';
import { qRange } from '../quant/ir.js';
import type { AccelConfig } from './config.js';
import { checkConfig, defaultConfig, dwKernel, elementBytes, lanes, rowBytes } from './config.js';
import { DW_MODES, type Deps, type Instruction, make, MEMORY_IDS, type MemoryName, queueOf } from './isa.js';

export interface LayerInfo {
  readonly index: number;
  readonly name: string;
  readonly kind: string;
  /** Program counters of the layer's instructions (all queues), ascending. */
  readonly pcs: readonly number[];
  /** Useful multiply-accumulates of the layer (the model's own, no padding lanes). */
  readonly macs: number;
}

export interface ProgramLayout {
  /** The tensor the accelerator reads (the split's crossing tensor) and where the host writes it. */
  readonly input: { readonly tensor: string; readonly shape: readonly [number, number, number]; readonly addr: number; readonly blocks: number; readonly inMem?: boolean };
  /**
   * The result: ACC rows (raw scores, acc + bias, 4 bytes a lane) when the last layer is a conv/gemm,
   * else ACT rows of its requantized output; NHWC blocks either way.
   */
  readonly output: { readonly tensor: string; readonly shape: readonly [number, number, number]; readonly addr: number; readonly blocks: number; readonly memory: 'acc' | 'act' };
  /**
   * Where each layer's output tensor lives, for per-layer checks: in ACT (row of pixel (0,0) block 0), or,
   * when the program is tiled and the tensor does not stay on chip, in MEM (`addr`, ACT row format, NHWC
   * blocks; `row` is -1).
   */
  readonly tensors: readonly { readonly layer: number; readonly tensor: string; readonly row: number; readonly addr?: number; readonly blocks: number; readonly shape: readonly [number, number, number] }[];
  /** Tiled programs: rows of ACT kept for the two band slots (0 when every tensor stays in ACT). */
  readonly bandRows: number;
  /** MEM byte address of the class (a 32-bit word) when the output is a 1x1 vector. */
  readonly classAddr?: number;
  readonly layers: readonly LayerInfo[];
  /** MEM bytes the image uses (weights, QP, input, output). */
  readonly memUsed: number;
  /** Rows of each scratchpad the program touches (the smallest memories it would run on, tiling unchanged). */
  readonly usage: { readonly actRows: number; readonly wgtRows: number; readonly qpRows: number; readonly accRows: number };
}

export interface CompiledProgram {
  readonly config: AccelConfig;
  readonly program: readonly Instruction[];
  /** Initial MEM contents (weights and QP; input and output regions zero). */
  readonly mem: Uint8Array;
  readonly layout: ProgramLayout;
}

export interface CompileOptions {
  /** First layer on the accelerator (the split K). Default 0. */
  readonly fromLayer?: number;
  /**
   * Rows of ACT given to the two band slots of tiled layers (the rest holds the tensors that stay on chip).
   * Default: 0 (every tensor in ACT) when the network fits, else a quarter of ACT. A tensor that does not
   * fit beside the live ones lives in MEM and its layers run in row bands through the slots.
   */
  readonly bandRows?: number;
}

type Shape = readonly [number, number, number];

/** The configuration a model needs on an R x C array: operand and accumulator widths from the model. */
export function configForModel(graph: QuantizedGraph, rows: number, cols: number, overrides: Partial<AccelConfig> = {}, options: CompileOptions = {}): AccelConfig {
  const layers = graph.layers.slice(options.fromLayer ?? 0);
  const tensors = [layers[0]?.inputs[0], ...layers.map((l) => l.output)].filter((n): n is string => n !== undefined).map((n) => tensorOf(graph, n));
  // --wide-acts gives single tensors their own width: free in the fixed part, wired per layer, but here one
  // width serves every layer, so a widened tensor read or written by the accelerator is refused, not absorbed.
  const widened = tensors.find((t) => graph.calibration?.tensorBits?.[t.name] !== undefined);
  if (widened !== undefined) {
    const from = options.fromLayer ?? 0;
    throw badInput(`--wide-acts: tensor '${widened.name}' (${widened.quant.bits}-bit) is on the accelerator (which runs layers ${from}..${graph.layers.length - 1}, from layer ${from}'s input on), whose activations have one width for every layer; `
      + (from === 0 ? 'with --fixed-layers 0 there is no fixed part to widen; use --act-bits to widen every tensor'
        : from === 1 ? 'with --fixed-layers 1 no tensor lies inside the fixed part (its output feeds the accelerator); use --act-bits to widen every tensor'
          : `widen only tensors inside the fixed part (with --fixed-layers ${from}: the outputs of layers 0..${from - 2}, e.g. --wide-acts ${from - 1}), or use --act-bits to widen every tensor`));
  }
  const actBits = Math.max(8, ...tensors.map((t) => t.quant.bits));
  const weightBits = Math.max(8, ...layers.map((l) => ('weightBits' in l ? l.weightBits : 0)));
  const multiplierBits = Math.max(16, ...layers.flatMap((l) => [...l.requant.multiplier, ...(l.kind === 'add' ? l.inputMultipliers : [])].map(bitsOf)));
  const bound = Math.max(0, ...layers.map((l) => accumulatorBound(graph, l)));
  // Sized from the largest accumulator the model can produce; a model needing more than 32 bits is
  // refused by compileProgram with the layer named.
  const accBits = Math.min(32, Math.max(8, bitsOf(bound) + 1));
  return defaultConfig(rows, cols, { actBits, weightBits, multiplierBits: Math.min(32, multiplierBits), accBits, ...overrides });
}

function bitsOf(n: number): number {
  return n <= 0 ? 1 : Math.floor(Math.log2(n)) + 1;
}

function tensorOf(graph: QuantizedGraph, name: string): QuantTensor {
  const t = graph.tensors[name];
  if (!t) throw badInput(`quantized graph: tensor '${name}' is missing`);
  return t;
}

function maxCentered(t: QuantTensor): number {
  const { min, max } = qRange(t.quant);
  return Math.max(max - t.quant.zeroPoint, t.quant.zeroPoint - min);
}

/** Largest |acc + bias| (or |partial sum|) a layer can produce: what ACC and the DWE must hold. */
function accumulatorBound(graph: QuantizedGraph, layer: QLayer): number {
  const input = tensorOf(graph, layer.inputs[0] ?? '');
  const x = maxCentered(input);
  switch (layer.kind) {
    case 'conv': case 'gemm': {
      const [outC] = layer.weightShape;
      const per = layer.weights.length / outC;
      let bound = 0;
      for (let m = 0; m < outC; m++) {
        let sum = 0;
        for (let k = 0; k < per; k++) sum += Math.abs(layer.weights[m * per + k] ?? 0);
        bound = Math.max(bound, sum * x + Math.abs(layer.bias[m] ?? 0));
      }
      return bound;
    }
    case 'avgpool': return layer.kernel[0] * layer.kernel[1] * x;
    case 'maxpool': return x;
    case 'globalavgpool': return input.shape[1] * input.shape[2] * x;
    case 'add': return 0; // the PPU computes ADD at full width; nothing is stored in ACC
  }
}

/** Refusal with the layer named. */
function refuse(layer: QLayer, what: string): never {
  throw badInput(`accelerator: layer ${layer.index} '${layer.name}' (${layer.kind}): ${what}`);
}

interface Job {
  readonly layer: number;
  /** Loads of this job (token bits filled in by the scheduler). */
  readonly loads: Instruction[];
  /** Compute instructions. */
  readonly ex: Instruction[];
  /**
   * The job's loads wait (token e2l) for every STORE of the layer before (they may read what it stored, or
   * overwrite a band slot it is storing from): the scheduler emits them after the previous job's compute.
   */
  barrier?: boolean;
  /** Stores issued after the compute instruction at the given index of `ex` (its results). */
  readonly stores: { readonly after: number; readonly store: Instruction; readonly outOffset?: number }[];
  /** Index within `ex` of GEMMs that write a final ACC tile, with their tile number. */
  readonly finalTiles: { readonly at: number; readonly tile: number }[];
}

/** Byte writer for the MEM image. */
class MemImage {
  private bytes = new Uint8Array(1 << 16);
  size = 0;

  alloc(n: number): number {
    const at = this.size;
    this.size = align(this.size + n, 16);
    if (this.size > this.bytes.length) {
      const grown = new Uint8Array(Math.max(this.size, this.bytes.length * 2));
      grown.set(this.bytes);
      this.bytes = grown;
    }
    return at;
  }

  writeLE(at: number, n: number, value: number): void {
    let v = value < 0 ? value + 2 ** (8 * n) : value;
    for (let i = 0; i < n; i++) { this.bytes[at + i] = v % 256; v = Math.floor(v / 256); }
  }

  result(): Uint8Array {
    return this.bytes.slice(0, this.size);
  }
}

function align(n: number, to: number): number {
  return Math.ceil(n / to) * to;
}

/** ACT rows by first fit; tensors are freed after their last reader. */
class ActAllocator {
  private free: { start: number; size: number }[];
  readonly where = new Map<string, number>();
  peak = 0;

  /** `untiled`: the compile that keeps every tensor in ACT; running out of ACT there retries tiled. */
  constructor(private readonly rows: number, private readonly untiled = false) {
    this.free = [{ start: 0, size: rows }];
  }

  /** First fit, or undefined when no free range is large enough. */
  tryAlloc(name: string, size: number): number | undefined {
    const slot = this.free.find((f) => f.size >= size);
    if (!slot) return undefined;
    return this.alloc(name, size, undefined);
  }

  alloc(name: string, size: number, layer: QLayer | undefined): number {
    const slot = this.free.find((f) => f.size >= size);
    if (!slot) {
      const live = this.rows - this.free.reduce((s, f) => s + f.size, 0);
      const msg = `tensor '${name}' needs ${size} ACT rows while ${live} rows hold live tensors; ACT has ${this.rows} rows (raise actRows, or let the compiler tile through MEM)`;
      const refusal = badInput(layer ? `accelerator: layer ${layer.index} '${layer.name}' (${layer.kind}): ${msg}` : `accelerator: input ${msg}`);
      if (this.untiled) throw new ActFull(refusal);
      throw refusal;
    }
    const at = slot.start;
    slot.start += size;
    slot.size -= size;
    this.free = this.free.filter((f) => f.size > 0);
    this.where.set(name, at);
    this.peak = Math.max(this.peak, at + size);
    return at;
  }

  /** Largest free range (rows). */
  largestFree(): number {
    return Math.max(0, ...this.free.map((f) => f.size));
  }

  release(name: string, size: number): void {
    const at = this.where.get(name);
    if (at === undefined) return;
    this.free.push({ start: at, size });
    this.free.sort((a, b) => a.start - b.start);
    const merged: { start: number; size: number }[] = [];
    for (const f of this.free) {
      const last = merged[merged.length - 1];
      if (last && last.start + last.size === f.start) last.size += f.size;
      else merged.push({ ...f });
    }
    this.free = merged;
  }
}

/** Weight beats one GEMM job loads at least (slabs are grouped up to it): a ~100-cycle DRAM latency stays < 10%. */
const GROUP_BEATS = 1024;

/** Thrown (and caught by compileProgram) when a tensor does not fit ACT beside the live ones. */
class ActFull extends Error {
  constructor(readonly refusal: Error) {
    super(refusal.message);
  }
}

export function compileProgram(graph: QuantizedGraph, configIn: AccelConfig, options: CompileOptions = {}): CompiledProgram {
  try {
    return compileWith(graph, configIn, { ...options, bandRows: options.bandRows ?? 0 });
  } catch (e) {
    if (!(e instanceof ActFull)) throw e;
    if (options.bandRows !== undefined) throw e.refusal;
    // The tensors do not all fit on chip: tile through MEM with a quarter of ACT for the band slots.
    return compileWith(graph, configIn, { ...options, bandRows: Math.floor(configIn.actRows / 4) });
  }
}

function compileWith(graph: QuantizedGraph, configIn: AccelConfig, options: CompileOptions): CompiledProgram {
  const config = checkConfig(configIn);
  const from = options.fromLayer ?? 0;
  const layers = graph.layers.slice(from);
  const C = lanes(config);
  const R = config.rows;
  if (!layers.some((l) => l.kind === 'conv' || l.kind === 'gemm')) {
    throw badInput(`accelerator: no weighted layer (conv/gemm) after the split at ${from}; the accelerator runs conv, gemm, pooling and add layers, at least one weighted`);
  }
  const first = layers[0] as QLayer;
  const inputName = first.inputs[0] as string;
  const blocksOf = (t: QuantTensor): number => Math.ceil(t.shape[0] / C);
  const rowsOf = (t: QuantTensor): number => t.shape[1] * t.shape[2] * blocksOf(t);
  const last = layers[layers.length - 1] as QLayer;
  const outputTensor = tensorOf(graph, last.output);
  if (last.output !== graph.output) throw badInput(`accelerator: the last layer's output '${last.output}' is not the network output '${graph.output}'`);

  checkLayers(graph, layers, config);
  const available = new Set([inputName]);
  for (const l of layers) {
    const outside = l.inputs.find((n) => !available.has(n));
    if (outside !== undefined) refuse(l, `reads tensor '${outside}' from before the split at layer ${from}; only one tensor may cross the split (the accelerator's input '${inputName}')`);
    available.add(l.output);
  }

  // Last use of each tensor (layer position), for liveness.
  const lastUse = new Map<string, number>();
  layers.forEach((l, i) => l.inputs.forEach((n) => lastUse.set(n, i)));
  const bandRows = options.bandRows ?? 0;
  const tiled = bandRows > 0;
  if (bandRows < 0 || bandRows >= config.actRows) throw badInput(`accelerator: bandRows ${bandRows} must be in 0..${config.actRows - 1}`);
  const act = new ActAllocator(config.actRows - bandRows, !tiled);
  const image = new MemImage();
  const actRb = rowBytes(config, 'act');
  /** MEM byte address of each tensor that lives in MEM (tiled programs). */
  const memAddr = new Map<string, number>();
  const input = tensorOf(graph, inputName);
  const inputRow = tiled ? act.tryAlloc(inputName, rowsOf(input)) : act.alloc(inputName, rowsOf(input), undefined);
  if (inputRow === undefined) memAddr.set(inputName, image.alloc(rowsOf(input) * actRb));
  const tensorRows: ProgramLayout['tensors'][number][] = [];

  const wgtHalf = Math.floor(config.wgtRows / 2);
  const qpHalf = Math.floor(config.qpRows / 2);
  const finalIsGemm = (last.kind === 'conv' && last.group === 1) || last.kind === 'gemm';
  const finalPixels = outputTensor.shape[1] * outputTensor.shape[2];
  const finalVector = finalIsGemm && finalPixels === 1;
  const scoreRows = finalVector ? blocksOf(outputTensor) + 1 : 0;
  const accHalf = Math.floor((config.accRows - scoreRows) / 2);
  const scoreBase = 2 * accHalf;
  if (accHalf < 1) refuse(last, `ACC (${config.accRows} rows) cannot hold the ${scoreRows - 1} score rows and the class`);

  const jobs: Job[] = [];
  const layerOfJob: number[] = [];
  let finalTile = 0;

  // Band slots (tiled programs): two halves of the top `bandRows` rows of ACT, used alternately by the
  // bands that load an input from MEM or store an output to MEM. Band c uses slot c % 2. Its input rows
  // are loaded by its first job (token l2e); a load into slot c % 2 waits (e2l) for the job two before,
  // which ends after every job of band c - 2 (each band has at least one job). Its output is stored after
  // its last compute (e2s); the last STORE pushes s2e, which the compute unit pops (a NOP) before band
  // c + 2 writes the same slot, and, for what is left, at the end of the layer, before the barrier that
  // lets the next layer's loads read what this one stored.
  const slotRows = Math.floor(bandRows / 2);
  const bandTop = config.actRows - bandRows;
  let slotUses = 0;
  let bandPeak = 0;
  /** Slot uses whose STOREs push s2e that the compute unit has not popped yet, oldest first. */
  const pendingStores: number[] = [];
  let barrierNext = false;
  const ackStore = (): Instruction => make('nop', { queue: 1 }, { popNext: true });

  /** Serializes rows of lanes into MEM; returns their address. */
  const storeRows = (mem: MemoryName, rows: readonly (readonly number[])[]): number => {
    const eb = elementBytes(config, mem);
    const rb = rowBytes(config, mem);
    const at = image.alloc(rows.length * rb);
    rows.forEach((row, r) => row.forEach((v, l) => image.writeLE(at + r * rb + l * eb, eb, mem === 'wgt' ? toUnsignedBits(v, config.weightBits) : v)));
    return at;
  };
  /** The LOADs of `rows` rows at MEM `at` into `mem` at `sram`. */
  const loadAt = (mem: MemoryName, sram: number, at: number, rows: number): Instruction[] => contiguous('load', mem, sram, at, rows, rowBytes(config, mem));
  /** Serializes rows into MEM and returns the LOADs of them into `mem` at `sram`. */
  const loadRows = (mem: MemoryName, sram: number, rows: readonly (readonly number[])[]): Instruction[] => loadAt(mem, sram, storeRows(mem, rows), rows.length);
  const qpRecordRows = (a: readonly number[], b: readonly number[], s: readonly number[], blocks: number, channels: number): number[][] => {
    const rows: number[][] = [];
    for (let blk = 0; blk < blocks; blk++) {
      const lane = (arr: readonly number[], fill: number) => Array.from({ length: C }, (_, l) => (blk * C + l < channels ? arr[blk * C + l] ?? fill : fill));
      rows.push(lane(a, 0).map((v) => v >>> 0), lane(b, 0), lane(s, 1));
    }
    return rows;
  };

  /** Where a tensor lives: ACT (`row`) or MEM (`addr`). */
  interface Operand { readonly row?: number; readonly addr?: number; readonly shape: Shape }
  const operand = (name: string): Operand => {
    const shape = tensorOf(graph, name).shape;
    const addr = memAddr.get(name);
    return addr !== undefined ? { addr, shape } : { row: act.where.get(name) as number, shape };
  };
  const blocksOfShape = (s: Shape): number => Math.ceil(s[0] / C);

  interface Band {
    /** Output rows oy0 .. oy0+n-1 and the input rows iyLo .. iyHi they read. */
    readonly oy0: number; readonly n: number; readonly iyLo: number; readonly iyHi: number;
  }
  /**
   * Output row bands of a layer reading `srcs` (all of one shape) through a kh-row window: one band when
   * everything is in ACT, else the tallest band whose MEM operands fit one slot, evened out.
   */
  const planBands = (layer: QLayer, srcs: readonly Operand[], dst: Operand, kh: number, sy: number, padTop: number): Band[] => {
    const [, inH, inW] = (srcs[0] as Operand).shape;
    const [, outH, outW] = dst.shape;
    const span = (oy0: number, n: number): Band => ({
      oy0, n, iyLo: Math.max(0, oy0 * sy - padTop), iyHi: Math.min(inH - 1, (oy0 + n - 1) * sy - padTop + kh - 1),
    });
    if (srcs.every((s) => s.addr === undefined) && dst.addr === undefined) return [span(0, outH)];
    const need = (n: number): number => {
      let rows = 0;
      for (const s of srcs) if (s.addr !== undefined) rows += Math.min((n - 1) * sy + kh, inH) * inW * blocksOfShape(s.shape);
      if (dst.addr !== undefined) rows += n * outW * blocksOfShape(dst.shape);
      return rows;
    };
    let nMax = 0;
    while (nMax < outH && need(nMax + 1) <= slotRows) nMax++;
    if (nMax === 0) refuse(layer, `one output row needs ${need(1)} ACT rows of a band slot (input rows and output row through MEM); a slot holds ${slotRows} rows (half of the ${bandRows} band rows of ACT's ${config.actRows}; raise actRows)`);
    const n = Math.ceil(outH / Math.ceil(outH / nMax));
    const bands: Band[] = [];
    for (let oy0 = 0; oy0 < outH; oy0 += n) {
      const band = span(oy0, Math.min(n, outH - oy0));
      if (band.iyHi < band.iyLo) refuse(layer, `output rows ${oy0}.. read only padding; a band needs at least one input row`);
      bands.push(band);
    }
    return bands;
  };

  /**
   * A band's operands: ACT rows of each source's first input row (in place, or loaded into the band's slot)
   * and of the output's first row (in place, or in the slot and stored after the band), with the LOADs,
   * the NOPs popping the stores of band c - 2 out of this slot, and the STOREs.
   */
  /**
   * A column strip of MEM operands (depthwise layers wider than the engine's line buffers): the operands'
   * shapes are the strip's widths, `inW`/`outW` the maps' full widths (MEM row pitch), `ixLo`/`ox0` the
   * strip's first input and output column; its rows are 2-D LOADs/STOREs.
   */
  interface Strip { readonly inW: number; readonly outW: number; readonly ixLo: number; readonly ox0: number }
  /**
   * Slot rows each MEM source reserves: its tallest band's input rows, the same in every band of the layer
   * (every strip), so a band's LOAD never overwrites output rows band c - 2 of the same slot may still be storing.
   */
  const reserveOf = (bands: readonly Band[], srcs: readonly Operand[]): number[] =>
    srcs.map((s) => Math.max(...bands.map((b) => (b.iyHi - b.iyLo + 1) * s.shape[2] * blocksOfShape(s.shape))));
  const bandOperands = (band: Band, reserve: readonly number[], srcs: readonly Operand[], dst: Operand, strip?: Strip) => {
    const usesSlot = srcs.some((s) => s.addr !== undefined) || dst.addr !== undefined;
    const c = usesSlot ? slotUses++ : -1;
    let at = usesSlot ? bandTop + (c % 2) * slotRows : 0;
    const loads: Instruction[] = [];
    const acks: Instruction[] = [];
    const stores: Instruction[] = [];
    const bases = srcs.map((s, si) => {
      const [, , w] = s.shape;
      const perRow = w * blocksOfShape(s.shape);
      if (s.addr === undefined) return (s.row as number) + band.iyLo * perRow;
      const rows = (band.iyHi - band.iyLo + 1) * perRow;
      const base = at;
      if (!strip) loads.push(...loadAt('act', base, s.addr + band.iyLo * perRow * actRb, rows));
      else {
        const cb = blocksOfShape(s.shape);
        loads.push(make('load', { mem: MEMORY_IDS.act, sramAddr: base, memAddr: s.addr + (band.iyLo * strip.inW + strip.ixLo) * cb * actRb, ySize: band.iyHi - band.iyLo + 1, xSize: perRow, memStride: strip.inW * cb * actRb, sramStride: perRow }));
      }
      at += reserve[si] as number;
      return base;
    });
    const perOut = dst.shape[2] * blocksOfShape(dst.shape);
    let out: number;
    if (dst.addr === undefined) out = (dst.row as number) + band.oy0 * perOut;
    else {
      out = at;
      at += band.n * perOut;
      while (pendingStores.length && (pendingStores[0] as number) <= c - 2) { acks.push(ackStore()); pendingStores.shift(); }
      if (!strip) stores.push(...contiguous('store', 'act', out, dst.addr + band.oy0 * perOut * actRb, band.n * perOut, actRb));
      else {
        const cb = blocksOfShape(dst.shape);
        stores.push(make('store', { mem: MEMORY_IDS.act, sramAddr: out, memAddr: dst.addr + (band.oy0 * strip.outW + strip.ox0) * cb * actRb, ySize: band.n, xSize: perOut, memStride: strip.outW * cb * actRb, sramStride: perOut }));
      }
      const lastStore = stores[stores.length - 1] as Instruction;
      stores[stores.length - 1] = { ...lastStore, deps: { ...lastStore.deps, pushPrev: true } } as Instruction;
      pendingStores.push(c);
    }
    bandPeak = Math.max(bandPeak, at);
    return { bases, out, loads, acks, stores };
  };

  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i] as QLayer;
    const inT = tensorOf(graph, layer.inputs[0] as string);
    const outT = tensorOf(graph, layer.output);
    const isLast = i === layers.length - 1;
    const outInAcc = isLast && finalIsGemm;
    if (!outInAcc) {
      const got = tiled ? act.tryAlloc(layer.output, rowsOf(outT)) : act.alloc(layer.output, rowsOf(outT), layer);
      if (got === undefined) {
        const addr = image.alloc(rowsOf(outT) * actRb);
        memAddr.set(layer.output, addr);
        tensorRows.push({ layer: layer.index, tensor: layer.output, row: -1, addr, blocks: blocksOf(outT), shape: outT.shape });
      } else tensorRows.push({ layer: layer.index, tensor: layer.output, row: got, blocks: blocksOf(outT), shape: outT.shape });
    }
    const cbIn = blocksOf(inT);
    const [, inH, inW] = inT.shape;
    const [, , outW] = outT.shape;
    const r = layer.requant;
    const setq = (extra: { zpA?: number; zpB?: number; bSigned?: number } = {}): Instruction => make('setq', {
      zpA: 'inputZeroPoint' in layer ? layer.inputZeroPoint : 0, zo: r.outputZeroPoint, lo: r.clampMin, hi: r.clampMax,
      aSigned: inT.quant.signed ? 1 : 0, ...extra,
    });
    const startJob = (): Job => {
      const job: Job = { layer: layer.index, loads: [], ex: [], stores: [], finalTiles: [] };
      if (barrierNext) {
        // The layer before stored to MEM: its compute unit pops those stores (the NOPs at its end), then
        // pushes one e2l that this job's loads wait for (they may read what it stored).
        (jobs[jobs.length - 1] as Job).ex.push(make('nop', { queue: 1 }, { pushPrev: true }));
        job.barrier = true;
        barrierNext = false;
      }
      jobs.push(job);
      layerOfJob.push(i);
      // The input image (its MEM address is filled in once the input region is placed).
      if (jobs.length === 1 && inputRow !== undefined) job.loads.push(...contiguous('load', 'act', inputRow, 0, rowsOf(input), actRb));
      return job;
    };

    /** GEMM jobs (per band, one per output slab) for a conv over `src` into `dst` or the final ACC. */
    const emitGemm = (spec: {
      src: Operand; dst: Operand;
      kh: number; kw: number; sy: number; sx: number; padTop: number; padLeft: number;
      weight: (m: number, ch: number, ky: number, kx: number) => number;
      bias: readonly number[]; multiplier: readonly number[]; shift: readonly number[];
      setq: Instruction; final: boolean;
    }): void => {
      const [inCh, , sw] = spec.src.shape;
      const [outCh, , dw] = spec.dst.shape;
      const cbSrc = Math.ceil(inCh / C);
      const cbDst = Math.ceil(outCh / C);
      const folds = spec.kh * spec.kw * cbSrc;
      if (folds * R > wgtHalf) refuse(layer, `one output slab needs ${folds * R} WGT rows (${folds} folds of ${R}); half of WGT holds ${wgtHalf} (a GEMM reduces over all its folds in ACC: raise wgtRows)`);
      if (dw > Math.min(accHalf, 4095)) refuse(layer, `one output row of ${dw} pixels exceeds the ACC tile of ${Math.min(accHalf, 4095)} rows`);
      // Weights and QP of each slab go into MEM once; every band loads them again.
      // Weights and QP of all slabs go into MEM once, slab after slab (one LOAD takes a group of slabs);
      // every band loads them again.
      const weightRows: number[][] = [];
      const qpRows: number[][] = [];
      for (let slab = 0; slab < cbDst; slab++) {
        for (let f = 0; f < folds; f++) {
          const ky = Math.floor(f / (spec.kw * cbSrc));
          const kx = Math.floor(f / cbSrc) % spec.kw;
          const b = f % cbSrc;
          for (let rr = 0; rr < R; rr++) {
            const ch = b * C + rr;
            weightRows.push(Array.from({ length: C }, (_, c) => {
              const m = slab * C + c;
              return ch >= inCh || m >= outCh ? 0 : spec.weight(m, ch, ky, kx);
            }));
          }
        }
        const ch0 = slab * C;
        const slice = (a: readonly number[]) => a.slice(ch0, ch0 + C);
        qpRows.push(...qpRecordRows(slice(spec.bias), slice(spec.multiplier), slice(spec.shift), 1, Math.min(C, outCh - ch0)));
      }
      const wgtAll = storeRows('wgt', weightRows);
      const qpAll = storeRows('qp', qpRows);
      const perSlab = folds * R;
      // Slabs per job: enough that one job's weight LOAD is GROUP_BEATS beats (a DRAM latency of ~100
      // cycles costs < 10% of it), as many as a WGT/QP half holds.
      const slabBeats = Math.ceil((perSlab * rowBytes(config, 'wgt')) / config.memPortBytes);
      // Final-layer (toAcc) slabs stay one per job: two toAcc GEMMs back to back without a token between
      // them take 8 cycles fewer than the cost table in the on-chip RTL of main and give other scores than
      // the ISA simulator (seen on the example model at 8x8), so the compiler does not emit that pair.
      const group = spec.final ? 1 : Math.max(1, Math.min(Math.floor(wgtHalf / perSlab), Math.floor(qpHalf / 3), Math.ceil(GROUP_BEATS / slabBeats)));
      // The final layer writes ACC, not a tensor: only its source takes part in the band plan.
      const dstForPlan: Operand = spec.final ? { row: 0, shape: spec.dst.shape } : spec.dst;
      const bands = planBands(layer, [spec.src], dstForPlan, spec.kh, spec.sy, spec.padTop);
      for (const [bi, band] of bands.entries()) {
        const io = bandOperands(band, reserveOf(bands, [spec.src]), [spec.src], dstForPlan);
        // One job per band: the job two before loaded the same slabs into the same WGT/QP half; a band
        // that loads its input keeps them (its loads still push l2e).
        const keepWeights = group >= cbDst && bi >= 2 && io.loads.length > 0;
        // A tile's pixels are ACC rows (and, for the final layer, STORE row groups: ySize is 12 bits).
        const tileRows = Math.min(band.n, Math.floor(Math.min(accHalf, 4095) / dw), 4095);
        let job = undefined as Job | undefined;
        for (let s0 = 0; s0 < cbDst; s0 += group) {
          const G = Math.min(group, cbDst - s0);
          job = startJob();
          const h = (jobs.length - 1) % 2;
          const wgtHalfBase = h * wgtHalf;
          const qpHalfBase = h * qpHalf;
          if (s0 === 0) job.loads.push(...io.loads);
          if (!keepWeights) {
            job.loads.push(
              ...loadAt('wgt', wgtHalfBase, wgtAll + s0 * perSlab * rowBytes(config, 'wgt'), G * perSlab),
              ...loadAt('qp', qpHalfBase, qpAll + s0 * 3 * rowBytes(config, 'qp'), 3 * G),
            );
          }
          // The registers hold for every slab of the band (the compute queue runs in order): set them once.
          if (s0 === 0) {
            job.ex.push(...io.acks);
            job.ex.push(make('setg', {
              inH: band.iyHi - band.iyLo + 1, inW: sw, outW: dw, kh: spec.kh, kw: spec.kw, strideY: spec.sy, strideX: spec.sx,
              padTop: spec.padTop + band.iyLo - band.oy0 * spec.sy, padLeft: spec.padLeft, cbIn: cbSrc, cbOut: cbDst,
            }), spec.setq);
          }
          for (let g = 0; g < G; g++) {
            const slab = s0 + g;
            const wgtBase = wgtHalfBase + g * perSlab;
            const qpBase = qpHalfBase + 3 * g;
            for (let t = 0; t < band.n; t += tileRows) {
              const nOy = Math.min(tileRows, band.n - t);
              const oy0 = band.oy0 + t;
              let accBase = 0;
              if (spec.final && finalVector) accBase = scoreBase + slab;
              else if (spec.final) accBase = (finalTile % 2) * accHalf;
              job.ex.push(make('gemm', { actBase: io.bases[0] as number, wgtBase, qpBase, outBase: io.out + slab, accBase, oy0: t, nOy, toAcc: spec.final ? 1 : 0 }));
              if (spec.final && !finalVector) {
                const at = job.ex.length - 1;
                job.finalTiles.push({ at, tile: finalTile });
                const rb = rowBytes(config, 'acc');
                // memAddr is relative to the output region until that region is placed (below).
                job.stores.push({ after: at, outOffset: (oy0 * dw * cbDst + slab) * rb, store: make('store', { mem: MEMORY_IDS.acc, sramAddr: accBase, memAddr: 0, ySize: nOy * dw, xSize: 1, memStride: cbDst * rb, sramStride: 1 }) });
                finalTile++;
              }
            }
          }
        }
        const lastJob = job as Job;
        for (const store of io.stores) lastJob.stores.push({ after: lastJob.ex.length - 1, store });
      }
    };

    /** DWCONV jobs (per band, as many channel blocks per job as WGT and QP halves hold). */
    const emitWindow = (spec: {
      src: Operand; dst: Operand;
      kernel: readonly [number, number]; stride: readonly [number, number]; pads: readonly number[]; mode: number;
      weight: (ch: number, t: number) => number;
      bias: readonly number[]; multiplier: readonly number[]; shift: readonly number[]; setq: Instruction;
    }): void => {
      const [ch, , sw] = spec.src.shape;
      const [, , dw] = spec.dst.shape;
      const cb = Math.ceil(ch / C);
      const taps = spec.kernel[0] * spec.kernel[1];
      const perBlockW = spec.mode === DW_MODES.mac ? taps : 0;
      if (perBlockW > wgtHalf) refuse(layer, `${taps} taps per channel block exceed half of WGT (${wgtHalf} rows)`);
      const perJob = Math.max(1, Math.min(perBlockW ? Math.floor(wgtHalf / perBlockW) : cb, Math.floor(qpHalf / 3), 1023));
      const groupAt: { wgt?: number; qp: number; nCb: number }[] = [];
      for (let cb0 = 0; cb0 < cb; cb0 += perJob) {
        const nCb = Math.min(perJob, cb - cb0);
        let wgt: number | undefined;
        if (perBlockW) {
          const rows: number[][] = [];
          for (let j = 0; j < nCb; j++) {
            for (let t = 0; t < taps; t++) {
              rows.push(Array.from({ length: C }, (_, l) => {
                const c = (cb0 + j) * C + l;
                return c < ch ? spec.weight(c, t) : 0;
              }));
            }
          }
          wgt = storeRows('wgt', rows);
        }
        const ch0 = cb0 * C;
        const n = Math.min(nCb * C, ch - ch0);
        groupAt.push({ ...(wgt !== undefined ? { wgt } : {}), qp: storeRows('qp', qpRecordRows(spec.bias.slice(ch0, ch0 + n), spec.multiplier.slice(ch0, ch0 + n), spec.shift.slice(ch0, ch0 + n), nCb, n)), nCb });
      }
      // Column strips when the padded row is wider than the line buffers (both maps in MEM: 2-D LOAD/STORE).
      const [kh, kw] = spec.kernel;
      const [sy, sx] = spec.stride;
      const padLeft = spec.pads[1] ?? 0;
      const perStrip = Math.floor((config.dwMaxWidth - kw) / sx) + 1;
      const nStrips = (dw - 1) * sx + kw > config.dwMaxWidth ? Math.ceil(dw / perStrip) : 1;
      const stripW = Math.ceil(dw / nStrips);
      const plans = [];
      for (let ox0 = 0; ox0 < dw; ox0 += stripW) {
        const ow = Math.min(stripW, dw - ox0);
        const ixLo = Math.max(0, ox0 * sx - padLeft);
        const ixHi = Math.min(sw - 1, (ox0 + ow - 1) * sx - padLeft + kw - 1);
        const strip: Strip | undefined = nStrips > 1 ? { inW: sw, outW: dw, ixLo, ox0 } : undefined;
        const stripSrc: Operand = strip ? { ...spec.src, shape: [ch, spec.src.shape[1], ixHi - ixLo + 1] } : spec.src;
        const stripDst: Operand = strip ? { ...spec.dst, shape: [ch, spec.dst.shape[1], ow] } : spec.dst;
        plans.push({ ox0, ow, ixLo, strip, stripSrc, stripDst, bands: planBands(layer, [stripSrc], stripDst, kh, sy, spec.pads[0] ?? 0) });
      }
      // One slot layout for every strip (their input widths differ).
      const reserve = [Math.max(...plans.map((p) => reserveOf(p.bands, [p.stripSrc])[0] as number))];
      for (const { ox0, ow, ixLo, strip, stripSrc, stripDst, bands } of plans) {
      if (reserve[0] as number + (stripDst.addr !== undefined ? Math.max(...bands.map((b) => b.n)) * ow * cb : 0) > slotRows && stripSrc.addr !== undefined) refuse(layer, `a column strip's band does not fit a band slot of ${slotRows} rows (raise actRows)`);
      for (const [bi, band] of bands.entries()) {
        const io = bandOperands(band, reserve, [stripSrc], stripDst, strip);
        const keepWeights = groupAt.length === 1 && bi >= 2 && io.loads.length > 0;
        let job = undefined as Job | undefined;
        groupAt.forEach((g, gi) => {
          const cb0 = gi * perJob;
          job = startJob();
          const h = (jobs.length - 1) % 2;
          const wgtBase = h * wgtHalf;
          const qpBase = h * qpHalf;
          if (gi === 0) job.loads.push(...io.loads);
          if (!keepWeights) {
            if (g.wgt !== undefined) job.loads.push(...loadAt('wgt', wgtBase, g.wgt, g.nCb * taps));
            job.loads.push(...loadAt('qp', qpBase, g.qp, 3 * g.nCb));
          }
          if (gi === 0) {
            job.ex.push(...io.acks);
            job.ex.push(make('setg', {
              inH: band.iyHi - band.iyLo + 1, inW: stripSrc.shape[2], outW: ow, kh, kw, strideY: sy, strideX: sx,
              padTop: (spec.pads[0] ?? 0) + band.iyLo - band.oy0 * sy, padLeft: padLeft + ixLo - ox0 * sx, cbIn: cb, cbOut: cb,
            }), spec.setq);
          }
          job.ex.push(make('dwconv', { actBase: io.bases[0] as number, wgtBase, qpBase, outBase: io.out, oy0: 0, nOy: band.n, cb0, nCb: g.nCb, mode: spec.mode }));
        });
        const lastJob = job as Job | undefined;
        if (lastJob) for (const store of io.stores) lastJob.stores.push({ after: lastJob.ex.length - 1, store });
      }
      }
    };

    const src = operand(layer.inputs[0] as string);
    const dst: Operand = outInAcc ? { row: 0, shape: outT.shape } : operand(layer.output);
    if ((layer.kind === 'conv' && layer.group === 1) || layer.kind === 'gemm') {
      const g = gemmGeometry(layer, inT);
      const common = { bias: layer.bias, multiplier: r.multiplier, shift: r.shift, setq: setq(), final: outInAcc };
      const inAct = src.addr === undefined && dst.addr === undefined;
      const plan = layer.kind === 'conv' && inAct ? im2colPlan(layer, inT, outT, config, act) : undefined;
      if (plan && layer.kind === 'conv') {
        // Few input channels and a large kernel (the first layer at K = 0): the taps go into the array
        // rows instead of one fold each. Replicate every input channel T = kh*kw times (GEMM 1x1 with
        // weights 1), shift each copy by its tap (DWCONV with one-hot weights, the layer's stride and
        // pads), then one 1x1 GEMM with the weights laid out as (channel, tap). Both helpers requantize
        // with the identity (M = 2^15, s = 15, zo = zp_in), so every value and pad is exactly the input's.
        const T = g.kh * g.kw;
        const zp = layer.inputZeroPoint;
        const range = qRange(inT.quant);
        const [, outH] = outT.shape;
        const identity = { bias: [] as number[], multiplier: Array.from({ length: plan.channels }, () => 2 ** 15), shift: Array.from({ length: plan.channels }, () => 15) };
        const idq = make('setq', { zpA: zp, zo: zp, lo: range.min, hi: range.max, aSigned: inT.quant.signed ? 1 : 0 });
        const repName = `${layer.output}#replicated`;
        const colName = `${layer.output}#im2col`;
        const rep: Operand = { row: act.alloc(repName, plan.replicatedRows, layer), shape: [plan.channels, inH, inW] };
        emitGemm({ src, dst: rep, kh: 1, kw: 1, sy: 1, sx: 1, padTop: 0, padLeft: 0, weight: (m, ch) => (Math.floor(m / T) === ch ? 1 : 0), ...identity, setq: idq, final: false });
        const col: Operand = { row: act.alloc(colName, plan.im2colRows, layer), shape: [plan.channels, outH, outW] };
        emitWindow({ src: rep, dst: col, kernel: [g.kh, g.kw], stride: [g.sy, g.sx], pads: layer.pads, mode: DW_MODES.mac, weight: (ch, t) => (ch % T === t ? 1 : 0), ...identity, setq: idq });
        act.release(repName, plan.replicatedRows);
        emitGemm({ src: col, dst, kh: 1, kw: 1, sy: 1, sx: 1, padTop: 0, padLeft: 0, weight: (m, ch) => g.weight(m, Math.floor(ch / T), Math.floor((ch % T) / g.kw), ch % g.kw), ...common });
        act.release(colName, plan.im2colRows);
      } else {
        emitGemm({ src, dst, kh: g.kh, kw: g.kw, sy: g.sy, sx: g.sx, padTop: g.padTop, padLeft: g.padLeft, weight: g.weight, ...common });
      }
    } else if (layer.kind === 'avgpool' && layer.kernel[0] === inH && layer.kernel[1] === inW && outT.shape[1] === 1 && outT.shape[2] === 1 && layer.pads.every((p) => p === 0)) {
      // An average pool whose window is the whole map (MobileNet's 7x7 AveragePool) is a global pool:
      // GAP (the quantizer folded 1/N into M, as for GlobalAveragePool), whatever the engine's window.
      emitGap(layer, src, dst, setq());
    } else if (layer.kind === 'conv' || layer.kind === 'maxpool' || layer.kind === 'avgpool') {
      const kernel: readonly [number, number] = layer.kind === 'conv' ? [layer.kernel[0], layer.kernel[1]] : layer.kernel;
      const taps = kernel[0] * kernel[1];
      const mode = layer.kind === 'conv' ? DW_MODES.mac : layer.kind === 'maxpool' ? DW_MODES.max : DW_MODES.sum;
      // A window that fits the engine but a row wider than its line buffers runs in column strips when
      // both maps live in MEM (tiled programs); otherwise on the array.
      const strips = src.addr !== undefined && dst.addr !== undefined && windowFits(config, kernel, layer.stride[1], Math.floor((config.dwMaxWidth - kernel[1]) / layer.stride[1]) + 1);
      if (!strips && !windowFits(config, kernel, layer.stride[1], outW)) {
        // Beyond the depthwise engine's window or line buffers: a depthwise conv or an average pool is a
        // block-diagonal conv on the array (1/C of its MACs useful, but exact); a max pool has no such form.
        const why = `kernel ${kernel[0]}x${kernel[1]}, padded row ${(outW - 1) * layer.stride[1] + kernel[1]}: the depthwise engine takes up to ${dwKernel(config)}x${dwKernel(config)} and ${config.dwMaxWidth} columns`;
        if (layer.kind === 'maxpool') refuse(layer, `${why} (raise dwTaps / dwMaxWidth)`);
        emitGemm({
          src, dst, kh: kernel[0], kw: kernel[1], sy: layer.stride[0], sx: layer.stride[1], padTop: layer.pads[0], padLeft: layer.pads[1],
          weight: (m, ch, ky, kx) => (m !== ch ? 0 : layer.kind === 'conv' ? layer.weights[m * taps + ky * kernel[1] + kx] ?? 0 : 1),
          bias: layer.kind === 'conv' ? layer.bias : [], multiplier: r.multiplier, shift: r.shift, setq: setq(), final: outInAcc,
        });
      } else emitWindow({
        src, dst, kernel, stride: layer.stride, pads: layer.pads, mode,
        weight: (ch, t) => (layer.kind === 'conv' ? layer.weights[ch * taps + t] ?? 0 : 0),
        bias: layer.kind === 'conv' ? layer.bias : [], multiplier: r.multiplier, shift: r.shift, setq: setq(),
      });
    } else if (layer.kind === 'globalavgpool') {
      emitGap(layer, src, dst, setq());
    } else if (layer.kind === 'add') {
      const bT = tensorOf(graph, layer.inputs[1] as string);
      const srcB = operand(layer.inputs[1] as string);
      if (3 * cbIn > qpHalf) refuse(layer, `${cbIn} channel blocks need ${3 * cbIn} QP rows; half of QP holds ${qpHalf}`);
      const ch = outT.shape[0];
      const fill = (v: number) => Array.from({ length: ch }, () => v);
      const qpAt = storeRows('qp', qpRecordRows(fill(layer.inputMultipliers[0]), fill(layer.inputMultipliers[1]), r.shift, cbIn, ch));
      const bands = planBands(layer, [src, srcB], dst, 1, 1, 0);
      for (const [bi, band] of bands.entries()) {
        const io = bandOperands(band, reserveOf(bands, [src, srcB]), [src, srcB], dst);
        const job = startJob();
        const qpBase = ((jobs.length - 1) % 2) * qpHalf;
        job.loads.push(...io.loads);
        if (bi < 2 || io.loads.length === 0) job.loads.push(...loadAt('qp', qpBase, qpAt, 3 * cbIn));
        job.ex.push(...io.acks);
        job.ex.push(make('setg', { inH: band.n, inW, outW, kh: 1, kw: 1, strideY: 1, strideX: 1, padTop: 0, padLeft: 0, cbIn, cbOut: cbIn }));
        job.ex.push(setq({ zpA: layer.inputZeroPoints[0], zpB: layer.inputZeroPoints[1], bSigned: bT.quant.signed ? 1 : 0 }));
        let remaining = band.n * inW * cbIn;
        for (let offset = 0; remaining > 0; ) {
          // count is 16 bits; chunks stay whole pixels so the QP block cycling (i % cbIn) stays aligned.
          const count = Math.min(remaining, Math.floor(65535 / cbIn) * cbIn);
          job.ex.push(make('add', { aBase: (io.bases[0] as number) + offset, bBase: (io.bases[1] as number) + offset, outBase: io.out + offset, qpBase, count }));
          offset += count;
          remaining -= count;
        }
        for (const store of io.stores) job.stores.push({ after: job.ex.length - 1, store });
      }
    } else {
      refuse(layer, 'is a grouped convolution that is not depthwise (group = C_in = C_out); the accelerator runs dense, depthwise and pointwise convolutions');
    }
    // What this layer stored to MEM: the compute unit pops the stores still owed (NOPs at the end of its
    // last job), and the next job's loads wait for that (barrier).
    if (pendingStores.length) {
      const lastJob = jobs[jobs.length - 1] as Job;
      while (pendingStores.length) { lastJob.ex.push(ackStore()); pendingStores.shift(); }
      barrierNext = true;
    }
    // Free tensors whose last reader was this layer (never the output of this layer).
    for (const name of new Set(layer.inputs)) {
      if (lastUse.get(name) === i) act.release(name, rowsOf(tensorOf(graph, name)));
    }

    /** GAP jobs: the whole input in one band (a global sum cannot be split across bands). */
    function emitGap(layer: QLayer, src: Operand, dst: Operand, setqIns: Instruction): void {
      const perJob = Math.max(1, Math.min(Math.floor(qpHalf / 3), 1023));
      const [, h, w] = src.shape;
      const [band] = planBands(layer, [src], dst, h, 1, 0);
      if (!band || band.n !== 1) refuse(layer, 'global pooling over a map that does not fit one band slot');
      const io = bandOperands(band, reserveOf([band], [src]), [src], dst);
      let job = undefined as Job | undefined;
      for (let cb0 = 0; cb0 < cbIn; cb0 += perJob) {
        const nCb = Math.min(perJob, cbIn - cb0);
        job = startJob();
        const qpBase = ((jobs.length - 1) % 2) * qpHalf;
        const ch0 = cb0 * C;
        const n = Math.min(nCb * C, outT.shape[0] - ch0);
        if (cb0 === 0) job.loads.push(...io.loads);
        job.loads.push(...loadRows('qp', qpBase, qpRecordRows([], r.multiplier.slice(ch0, ch0 + n), r.shift.slice(ch0, ch0 + n), nCb, n)));
        if (cb0 === 0) job.ex.push(...io.acks, make('setg', { inH: h, inW: w, outW: 1, kh: 1, kw: 1, strideY: 1, strideX: 1, padTop: 0, padLeft: 0, cbIn, cbOut: cbIn }), setqIns);
        job.ex.push(make('gap', { actBase: io.bases[0] as number, outBase: io.out, qpBase, count: h * w, cb0, nCb }));
      }
      const lastJob = job as Job;
      for (const store of io.stores) lastJob.stores.push({ after: lastJob.ex.length - 1, store });
    }
  }

  // The argmax job (its own copy of the final layer's M and s) and the output region.
  const lastGemm = last as QConvLayer | QGemmLayer;
  const outBlocks = blocksOf(outputTensor);
  if (finalVector) {
    const job: Job = { layer: last.index, loads: [], ex: [], stores: [], finalTiles: [] };
    jobs.push(job);
    layerOfJob.push(layers.length - 1);
    const qpBase = ((jobs.length - 1) % 2) * qpHalf;
    if (3 * outBlocks > qpHalf) refuse(last, `ARGMAX over ${outputTensor.shape[0]} scores needs ${3 * outBlocks} QP rows; half of QP holds ${qpHalf}`);
    job.loads.push(...loadRows('qp', qpBase, qpRecordRows(lastGemm.bias, lastGemm.requant.multiplier, lastGemm.requant.shift, outBlocks, outputTensor.shape[0])));
    job.ex.push(make('argmax', { accBase: scoreBase, qpBase, count: outputTensor.shape[0], outAcc: scoreBase + outBlocks }));
  }

  // A tiled program's input or last tensor that lives in MEM is the input / output region itself.
  const inputAddr = memAddr.get(inputName) ?? image.alloc(rowsOf(input) * actRb);
  const outMemory: 'acc' | 'act' = finalIsGemm ? 'acc' : 'act';
  const outRb = rowBytes(config, outMemory);
  const outputInMem = !finalIsGemm ? memAddr.get(last.output) : undefined;
  const outputAddr = outputInMem ?? image.alloc(rowsOf(outputTensor) * outRb);
  const classAddr = finalVector ? image.alloc(rowBytes(config, 'acc')) : undefined;
  // The input LOADs (the first of job 0) read the input region.
  const job0 = jobs[0] as Job;
  if (inputRow !== undefined) {
    const inputLoads = contiguous('load', 'act', inputRow, 0, rowsOf(input), actRb).length;
    job0.loads.forEach((ins, k) => { if (k < inputLoads && ins.op === 'load') job0.loads[k] = { ...ins, memAddr: ins.memAddr + inputAddr }; });
  }
  for (const job of jobs) {
    job.stores.forEach((s, k) => {
      const st = s.store;
      if (st.op === 'store' && s.outOffset !== undefined) job.stores[k] = { ...s, store: { ...st, memAddr: outputAddr + s.outOffset } };
    });
  }
  // Final stores: the score rows and the class (vector), or the ACT output tensor.
  const lastJob = jobs[jobs.length - 1] as Job;
  if (finalVector) {
    lastJob.stores.push({ after: lastJob.ex.length - 1, store: make('store', { mem: MEMORY_IDS.acc, sramAddr: scoreBase, memAddr: outputAddr, ySize: 1, xSize: outBlocks, memStride: 0, sramStride: 0 }) });
    lastJob.stores.push({ after: lastJob.ex.length - 1, store: make('store', { mem: MEMORY_IDS.acc, sramAddr: scoreBase + outBlocks, memAddr: classAddr as number, ySize: 1, xSize: 1, memStride: 0, sramStride: 0 }) });
  } else if (!finalIsGemm && outputInMem === undefined) {
    const at = act.where.get(last.output) as number;
    for (const store of contiguous('store', 'act', at, outputAddr, rowsOf(outputTensor), outRb)) lastJob.stores.push({ after: lastJob.ex.length - 1, store });
  }
  if (image.size > config.memBytes) throw badInput(`accelerator: the memory image needs ${image.size} bytes of MEM; the configuration has ${config.memBytes}`);

  const { program, pcsOfLayer } = schedule(jobs, layerOfJob, finalTile);
  if (program.length > config.imemWords) throw badInput(`accelerator: the program has ${program.length} instructions; the program memory holds ${config.imemWords} (raise imemWords)`);
  const layerInfos: LayerInfo[] = layers.map((l, i) => ({ index: l.index, name: l.name, kind: kindOf(l), pcs: pcsOfLayer[i] ?? [], macs: usefulMacs(graph, l) }));
  return {
    config,
    program,
    mem: image.result(),
    layout: {
      input: { tensor: inputName, shape: input.shape, addr: inputAddr, blocks: blocksOf(input), ...(inputRow === undefined ? { inMem: true } : {}) },
      output: { tensor: last.output, shape: outputTensor.shape, addr: outputAddr, blocks: outBlocks, memory: outMemory },
      ...(classAddr !== undefined ? { classAddr } : {}),
      layers: layerInfos,
      tensors: tensorRows,
      bandRows,
      memUsed: image.size,
      usage: scratchpadUsage(program, Math.max(act.peak, bandPeak)),
    },
  };
}

/** Whether the depthwise engine's window and line buffers take a kernel at this stride and output width. */
function windowFits(config: AccelConfig, kernel: readonly number[], strideX: number, outW: number): boolean {
  const side = dwKernel(config);
  return (kernel[0] ?? 1) <= side && (kernel[1] ?? 1) <= side && (outW - 1) * strideX + (kernel[1] ?? 1) <= config.dwMaxWidth;
}

/**
 * Whether a dense conv runs faster with its taps packed into the array rows (the im2col lowering in
 * compileProgram), estimated with the GEMM/DWCONV costs of docs/isa.md: taken when it saves a fifth of the
 * compute cycles and ACT has room for the two helper tensors.
 */
function im2colPlan(layer: QConvLayer, inT: QuantTensor, outT: QuantTensor, config: AccelConfig, act: ActAllocator): { channels: number; replicatedRows: number; im2colRows: number } | undefined {
  const C = lanes(config);
  const R = config.rows;
  const [inC, inH, inW] = inT.shape;
  const [outC, outH, outW] = outT.shape;
  const T = layer.kernel[0] * layer.kernel[1];
  if (T === 1 || !windowFits(config, layer.kernel, layer.stride[1], outW)) return undefined;
  const channels = inC * T;
  const cbIn = Math.ceil(inC / C);
  const cbRep = Math.ceil(channels / C);
  const cbOut = Math.ceil(outC / C);
  const direct = cbOut * T * cbIn * Math.max(outH * outW, R);
  const packed = cbRep * Math.max(inH * inW, R) + cbRep * (T + inH * inW) + cbOut * cbRep * Math.max(outH * outW, R);
  if (packed > 0.8 * direct) return undefined;
  const replicatedRows = inH * inW * cbRep;
  const im2colRows = outH * outW * cbRep;
  if (replicatedRows + im2colRows > act.largestFree()) return undefined;
  return { channels, replicatedRows, im2colRows };
}

/** Highest row + 1 each scratchpad is addressed at by the program's instructions. */
function scratchpadUsage(program: readonly Instruction[], actPeak: number): ProgramLayout['usage'] {
  const top = { actRows: actPeak, wgtRows: 0, qpRows: 0, accRows: 0 };
  const key = ['actRows', 'wgtRows', 'qpRows', 'accRows'] as const;
  let outW = 1;
  for (const ins of program) {
    if (ins.op === 'setg') outW = ins.outW;
    if (ins.op === 'load' || ins.op === 'store') {
      const k = key[ins.mem] as (typeof key)[number];
      top[k] = Math.max(top[k], ins.sramAddr + (ins.ySize - 1) * ins.sramStride + ins.xSize);
    } else if (ins.op === 'gemm') {
      top.accRows = Math.max(top.accRows, ins.accBase + ins.nOy * outW);
    } else if (ins.op === 'argmax') {
      top.accRows = Math.max(top.accRows, ins.outAcc + 1);
    }
  }
  return top;
}

function kindOf(l: QLayer): string {
  if (l.kind === 'conv') return l.group === 1 ? `conv ${l.kernel[0]}x${l.kernel[1]}` : `depthwise ${l.kernel[0]}x${l.kernel[1]}`;
  return l.kind;
}

export function usefulMacs(graph: QuantizedGraph, l: QLayer): number {
  const out = tensorOf(graph, l.output).shape;
  if (l.kind === 'conv') return out[0] * out[1] * out[2] * l.weightShape[1] * l.weightShape[2] * l.weightShape[3];
  if (l.kind === 'gemm') return l.weightShape[0] * l.weightShape[1];
  return 0;
}

/**
 * Interleaves the jobs' instructions into one program with token bits: loads run one job ahead of
 * compute; compute pops l2e at each job's start and pushes e2l at the end of job k when job k+2 loads
 * into the same half; final-layer tiles push e2s to their store, which pushes s2e back when tile t+2
 * reuses the ACC half; FINISH follows the last store.
 */
function schedule(jobs: Job[], layerOfJob: readonly number[], finalTiles: number): { program: Instruction[]; pcsOfLayer: number[][] } {
  const program: Instruction[] = [];
  const pcsOfLayer: number[][] = [];
  const emitOne = (ins: Instruction, job: number): void => {
    const layer = layerOfJob[job] as number;
    (pcsOfLayer[layer] ??= []).push(program.length);
    program.push(ins);
  };
  /**
   * Emits `ins` with the token bits `deps` added. A bit the instruction already carries (a band's NOP or
   * STORE placed by the compiler) goes on a NOP of the same queue: before it for a pop, after it for a push.
   */
  const emit = (ins: Instruction, job: number, deps: Partial<Deps> = {}): void => {
    const queue = ({ ld: 0, ex: 1, st: 2 } as const)[queueOf(ins)];
    const own: Partial<Record<keyof Deps, boolean>> = {};
    const before: Partial<Record<keyof Deps, boolean>> = {};
    const after: Partial<Record<keyof Deps, boolean>> = {};
    for (const [k, v] of Object.entries(deps) as [keyof Deps, boolean][]) {
      if (!v) continue;
      if (!ins.deps[k]) own[k] = true;
      else if (k.startsWith('pop')) before[k] = true;
      else after[k] = true;
    }
    if (Object.keys(before).length) emitOne(make('nop', { queue }, before), job);
    emitOne({ ...ins, deps: { ...ins.deps, ...own } } as Instruction, job);
    if (Object.keys(after).length) emitOne(make('nop', { queue }, after), job);
  };

  const emitLoads = (k: number): void => {
    const job = jobs[k] as Job;
    // A barrier job pops one more e2l: the NOP its previous job pushes after popping the stores.
    if (job.barrier) emitOne(make('nop', { queue: 0 }, { popNext: true }), k);
    job.loads.forEach((ins, n) => emit(ins, k, { popNext: n === 0 && k >= 2, pushNext: n === job.loads.length - 1 }));
  };
  const emitCompute = (k: number): void => {
    const job = jobs[k] as Job;
    const isLastJob = k === jobs.length - 1;
    job.ex.forEach((ins, n) => {
      const tile = job.finalTiles.find((t) => t.at === n);
      const lastOfJob = n === job.ex.length - 1;
      const storesHere = job.stores.filter((s) => s.after === n);
      emit(ins, k, {
        popPrev: n === 0,
        popNext: tile !== undefined && tile.tile >= 2,
        pushPrev: lastOfJob && k + 2 < jobs.length,
        pushNext: tile !== undefined || (storesHere.length > 0) || (lastOfJob && isLastJob),
      });
      storesHere.forEach((s, si) => {
        const t = tile?.tile;
        const reuse = t !== undefined && t + 2 < finalTiles;
        emit(s.store, k, { popPrev: si === 0, pushPrev: reuse && si === storesHere.length - 1 });
      });
      if (lastOfJob && isLastJob && storesHere.length === 0) {
        // Nothing stored after the last instruction (tiles were stored as they came): FINISH pops it.
        emitOne(make('finish', {}, { popPrev: true }), k);
      }
    });
    if (isLastJob && job.stores.some((s) => s.after === job.ex.length - 1)) emitOne(make('finish', {}), k);
  };
  // Loads run one job ahead of compute, except a barrier job's: they wait for the compute before them,
  // so they follow it in the program (fetch never blocks on a queue whose head waits for later words).
  if (jobs.length > 0) emitLoads(0);
  for (let k = 0; k < jobs.length; k++) {
    const next = jobs[k + 1];
    if (next && !next.barrier) emitLoads(k + 1);
    emitCompute(k);
    if (next?.barrier) emitLoads(k + 1);
  }
  return { program, pcsOfLayer };
}

interface GemmGeometry {
  readonly inH: number; readonly inW: number;
  readonly kh: number; readonly kw: number;
  readonly sy: number; readonly sx: number;
  readonly padTop: number; readonly padLeft: number;
  /** Weight for output channel m, input channel c, tap (ky, kx). */
  readonly weight: (m: number, c: number, ky: number, kx: number) => number;
}

function gemmGeometry(layer: QConvLayer | QGemmLayer, inT: QuantTensor): GemmGeometry {
  const [, inH, inW] = inT.shape;
  if (layer.kind === 'gemm') {
    // A fully connected layer over the C-major flattened [C, H, W] input: a conv with an H x W kernel.
    const n = layer.weightShape[1];
    return {
      inH, inW, kh: inH, kw: inW, sy: 1, sx: 1, padTop: 0, padLeft: 0,
      weight: (m, c, ky, kx) => layer.weights[m * n + (c * inH + ky) * inW + kx] ?? 0,
    };
  }
  const [, perGroup, kh, kw] = layer.weightShape;
  return {
    inH, inW, kh, kw, sy: layer.stride[0], sx: layer.stride[1], padTop: layer.pads[0], padLeft: layer.pads[1],
    weight: (m, c, ky, kx) => layer.weights[((m * perGroup + c) * kh + ky) * kw + kx] ?? 0,
  };
}

/** Everything the fields and widths cannot express, refused with the layer named. */
function checkLayers(graph: QuantizedGraph, layers: readonly QLayer[], config: AccelConfig): void {
  const C = lanes(config);
  for (const layer of layers) {
    const inT = tensorOf(graph, layer.inputs[0] as string);
    const outT = tensorOf(graph, layer.output);
    for (const t of [inT, outT, ...(layer.kind === 'add' ? [tensorOf(graph, layer.inputs[1] as string)] : [])]) {
      if (t.quant.bits > config.actBits) refuse(layer, `tensor '${t.name}' has ${t.quant.bits}-bit values; the accelerator's activations are ${config.actBits} bits`);
      if (t.shape[1] > 4095 || t.shape[2] > 4095) refuse(layer, `tensor '${t.name}' is ${t.shape[1]}x${t.shape[2]}; images up to 4095x4095`);
      if (Math.ceil(t.shape[0] / C) > 1023) refuse(layer, `tensor '${t.name}' has ${t.shape[0]} channels; up to ${1023 * C} (1023 blocks of ${C})`);
    }
    const r = layer.requant;
    const mMax = 2 ** config.multiplierBits - 1;
    if (r.multiplier.some((m) => m > mMax) || (layer.kind === 'add' && layer.inputMultipliers.some((m) => m > mMax))) refuse(layer, `a multiplier exceeds the PPU's ${config.multiplierBits} bits`);
    if (r.shift.some((s) => s < 1 || s > 63)) refuse(layer, 'a shift outside 1..63');
    for (const [name, v] of [['zero point', 'inputZeroPoint' in layer ? layer.inputZeroPoint : 0], ['output zero point', r.outputZeroPoint], ['clamp low', r.clampMin], ['clamp high', r.clampMax]] as const) {
      if (v < -65536 || v > 65535) refuse(layer, `${name} ${v} outside the 17-bit signed field`);
    }
    if ('weightBits' in layer && layer.weightBits > config.weightBits) refuse(layer, `${layer.weightBits}-bit weights; the accelerator's weights are ${config.weightBits} bits`);
    if ('bias' in layer && layer.bias.some((b) => b < -(2 ** 31) || b >= 2 ** 31)) refuse(layer, 'a bias beyond 32 bits');
    const bound = accumulatorBound(graph, layer);
    if (bound >= 2 ** (config.accBits - 1)) refuse(layer, `accumulators up to ${bound} need more than the ${config.accBits}-bit ACC`);
    if (layer.kind === 'conv' || layer.kind === 'maxpool' || layer.kind === 'avgpool') {
      const [kh, kw] = layer.kind === 'conv' ? [layer.kernel[0], layer.kernel[1]] : layer.kernel;
      if (kh > 15 || kw > 15) refuse(layer, `kernel ${kh}x${kw}; up to 15x15`);
      if (layer.stride[0] > 15 || layer.stride[1] > 15) refuse(layer, `stride ${layer.stride.join('x')}; up to 15`);
      if (layer.pads[0] > 15 || layer.pads[1] > 15) refuse(layer, `pads ${layer.pads.join(',')}; top/left up to 15`);
    }
    if ((layer.kind === 'conv' || layer.kind === 'maxpool' || layer.kind === 'avgpool') && layer.dilation.some((d) => d !== 1)) {
      refuse(layer, `a dilated ${layer.kind === 'conv' ? 'convolution' : 'pooling window'} (dilation ${layer.dilation.join('x')}); the accelerator's window instructions step through dense kernels only (such a layer can be fixed instead)`);
    }
    if (layer.kind === 'conv' && layer.group > 1) {
      const [outC, perGroup] = layer.weightShape;
      if (!(perGroup === 1 && layer.group === inT.shape[0] && outC === inT.shape[0])) refuse(layer, `grouped convolution with group ${layer.group} (${inT.shape[0]} -> ${outC} channels) is not depthwise; the accelerator runs dense (group 1) and depthwise (group = C_in = C_out) convolutions`);
    }
    if (layer.kind === 'globalavgpool' && inT.shape[1] * inT.shape[2] > 65535) refuse(layer, `global pooling over ${inT.shape[1] * inT.shape[2]} pixels; GAP counts up to 65,535`);
    if (layer.kind === 'gemm' && (inT.shape[1] > 15 || inT.shape[2] > 15)) refuse(layer, `a fully connected layer over a ${inT.shape[1]}x${inT.shape[2]} map; up to 15x15 (GEMM runs it as a kernel of that size)`);
    if (layer.kind === 'add') {
      if (r.multiplier.some((m) => m !== 1)) refuse(layer, 'an Add whose output multiplier is not 1 (docs/arithmetic.md §5)');
      const bT = tensorOf(graph, layer.inputs[1] as string);
      if (bT.shape.join() !== inT.shape.join()) refuse(layer, `inputs of shapes ${inT.shape.join('x')} and ${bT.shape.join('x')}; Add needs equal shapes`);
    }
    if (layer.kind === 'maxpool' && (layer.pads[0] >= layer.kernel[0] || layer.pads[1] >= layer.kernel[1])) refuse(layer, 'a MaxPool window entirely in the padding');
    // Folded into the fixed part and the integer model (docs/arithmetic.md), not yet into the PPU.
    if (r.negative !== undefined) refuse(layer, 'a LeakyRelu/PRelu (a second multiplier for negative accumulators); the accelerator\'s post-processing has ReLU/ReLU6 clamps only (such a layer can be fixed instead)');
    if (layer.kind === 'avgpool' && layer.borderDivisors !== undefined && layer.borderDivisors.length > 0) refuse(layer, 'an AveragePool that leaves the padding out of its divisor (count_include_pad = 0 with pads); the accelerator divides every window by the full kernel size (such a layer can be fixed instead)');
  }
}

/**
 * LOADs/STOREs of `n` rows contiguous in both memories: one 2-D instruction of 4,095-row groups (xSize is
 * 12 bits) plus one for the remainder.
 */
function contiguous(op: 'load' | 'store', mem: MemoryName, sram: number, memAddr: number, n: number, rb: number): Instruction[] {
  const X = 4095;
  const out: Instruction[] = [];
  const groups = Math.floor(n / X);
  if (groups > 0) out.push(make(op, { mem: MEMORY_IDS[mem], sramAddr: sram, memAddr, ySize: groups, xSize: X, memStride: X * rb, sramStride: X }));
  const rest = n - groups * X;
  if (rest > 0 || n === 0) out.push(make(op, { mem: MEMORY_IDS[mem], sramAddr: sram + groups * X, memAddr: memAddr + groups * X * rb, ySize: 1, xSize: rest, memStride: 0, sramStride: 0 }));
  return out;
}

function toUnsignedBits(v: number, bits: number): number {
  const full = 2 ** bits;
  return ((v % full) + full) % full;
}
