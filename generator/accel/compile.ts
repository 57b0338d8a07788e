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
import { DW_MODES, type Deps, type Instruction, make, MEMORY_IDS, type MemoryName } from './isa.js';

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
  readonly input: { readonly tensor: string; readonly shape: readonly [number, number, number]; readonly addr: number; readonly blocks: number };
  /**
   * The result: ACC rows (raw scores, acc + bias, 4 bytes a lane) when the last layer is a conv/gemm,
   * else ACT rows of its requantized output; NHWC blocks either way.
   */
  readonly output: { readonly tensor: string; readonly shape: readonly [number, number, number]; readonly addr: number; readonly blocks: number; readonly memory: 'acc' | 'act' };
  /** Where each layer's output tensor lives in ACT (row of pixel (0,0) block 0), for per-layer checks. */
  readonly tensors: readonly { readonly layer: number; readonly tensor: string; readonly row: number; readonly blocks: number; readonly shape: readonly [number, number, number] }[];
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
}

type Shape = readonly [number, number, number];

/** The configuration a model needs on an R x C array: operand and accumulator widths from the model. */
export function configForModel(graph: QuantizedGraph, rows: number, cols: number, overrides: Partial<AccelConfig> = {}, options: CompileOptions = {}): AccelConfig {
  const layers = graph.layers.slice(options.fromLayer ?? 0);
  const tensors = [layers[0]?.inputs[0], ...layers.map((l) => l.output)].filter((n): n is string => n !== undefined).map((n) => tensorOf(graph, n));
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

  constructor(private readonly rows: number) {
    this.free = [{ start: 0, size: rows }];
  }

  alloc(name: string, size: number, layer: QLayer | undefined): number {
    const slot = this.free.find((f) => f.size >= size);
    if (!slot) {
      const live = this.rows - this.free.reduce((s, f) => s + f.size, 0);
      const msg = `tensor '${name}' needs ${size} ACT rows while ${live} rows hold live tensors; ACT has ${this.rows} rows (raise actRows, or issue 12's tiling through external memory)`;
      if (layer) refuse(layer, msg);
      throw badInput(`accelerator: input ${msg}`);
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

export function compileProgram(graph: QuantizedGraph, configIn: AccelConfig, options: CompileOptions = {}): CompiledProgram {
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
  const act = new ActAllocator(config.actRows);
  const input = tensorOf(graph, inputName);
  const inputRow = act.alloc(inputName, rowsOf(input), undefined);
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

  const image = new MemImage();
  const jobs: Job[] = [];
  const layerOfJob: number[] = [];
  let finalTile = 0;

  /** Serializes rows of lanes into MEM and returns the LOADs of them into `mem` at `sram`. */
  const loadRows = (mem: MemoryName, sram: number, rows: readonly (readonly number[])[]): Instruction[] => {
    const eb = elementBytes(config, mem);
    const rb = rowBytes(config, mem);
    const at = image.alloc(rows.length * rb);
    rows.forEach((row, r) => row.forEach((v, l) => image.writeLE(at + r * rb + l * eb, eb, mem === 'wgt' ? toUnsignedBits(v, config.weightBits) : v)));
    return contiguous('load', mem, sram, at, rows.length, rb);
  };
  const qpRecordRows = (a: readonly number[], b: readonly number[], s: readonly number[], blocks: number, channels: number): number[][] => {
    const rows: number[][] = [];
    for (let blk = 0; blk < blocks; blk++) {
      const lane = (arr: readonly number[], fill: number) => Array.from({ length: C }, (_, l) => (blk * C + l < channels ? arr[blk * C + l] ?? fill : fill));
      rows.push(lane(a, 0).map((v) => v >>> 0), lane(b, 0), lane(s, 1));
    }
    return rows;
  };

  for (let i = 0; i < layers.length; i++) {
    const layer = layers[i] as QLayer;
    const inT = tensorOf(graph, layer.inputs[0] as string);
    const outT = tensorOf(graph, layer.output);
    const isLast = i === layers.length - 1;
    const outInAcc = isLast && finalIsGemm;
    const outRow = outInAcc ? 0 : act.alloc(layer.output, rowsOf(outT), layer);
    if (!outInAcc) tensorRows.push({ layer: layer.index, tensor: layer.output, row: outRow, blocks: blocksOf(outT), shape: outT.shape });
    const inRow = act.where.get(layer.inputs[0] as string) as number;
    const cbIn = blocksOf(inT);
    const cbOut = blocksOf(outT);
    const [, inH, inW] = inT.shape;
    const [, outH, outW] = outT.shape;
    const r = layer.requant;
    const setq = (extra: { zpA?: number; zpB?: number; bSigned?: number } = {}): Instruction => make('setq', {
      zpA: 'inputZeroPoint' in layer ? layer.inputZeroPoint : 0, zo: r.outputZeroPoint, lo: r.clampMin, hi: r.clampMax,
      aSigned: inT.quant.signed ? 1 : 0, ...extra,
    });
    const startJob = (): Job => {
      const job: Job = { layer: layer.index, loads: [], ex: [], stores: [], finalTiles: [] };
      jobs.push(job);
      layerOfJob.push(i);
      // The input image (its MEM address is filled in once the input region is placed).
      if (jobs.length === 1) job.loads.push(...contiguous('load', 'act', inputRow, 0, rowsOf(input), rowBytes(config, 'act')));
      return job;
    };

    /** GEMM jobs (one per output slab) for a conv over `src` into `dst` (ACT rows) or the final ACC. */
    const emitGemm = (spec: {
      src: { row: number; shape: Shape }; dst: { row: number; shape: Shape };
      kh: number; kw: number; sy: number; sx: number; padTop: number; padLeft: number;
      weight: (m: number, ch: number, ky: number, kx: number) => number;
      bias: readonly number[]; multiplier: readonly number[]; shift: readonly number[];
      setq: Instruction; final: boolean;
    }): void => {
      const [inCh, sh, sw] = spec.src.shape;
      const [outCh, dh, dw] = spec.dst.shape;
      const cbSrc = Math.ceil(inCh / C);
      const cbDst = Math.ceil(outCh / C);
      const folds = spec.kh * spec.kw * cbSrc;
      if (folds * R > wgtHalf) refuse(layer, `one output slab needs ${folds * R} WGT rows (${folds} folds of ${R}); half of WGT holds ${wgtHalf} (raise wgtRows; issue 12 streams folds)`);
      if (dw > Math.min(accHalf, 4095)) refuse(layer, `one output row of ${dw} pixels exceeds the ACC tile of ${Math.min(accHalf, 4095)} rows`);
      // A tile's pixels are ACC rows (and, for the final layer, STORE row groups: ySize is 12 bits).
      const tileRows = Math.min(dh, Math.floor(Math.min(accHalf, 4095) / dw), 4095);
      for (let slab = 0; slab < cbDst; slab++) {
        const job = startJob();
        const h = (jobs.length - 1) % 2;
        const wgtBase = h * wgtHalf;
        const qpBase = h * qpHalf;
        const rows: number[][] = [];
        for (let f = 0; f < folds; f++) {
          const ky = Math.floor(f / (spec.kw * cbSrc));
          const kx = Math.floor(f / cbSrc) % spec.kw;
          const b = f % cbSrc;
          for (let rr = 0; rr < R; rr++) {
            const ch = b * C + rr;
            rows.push(Array.from({ length: C }, (_, c) => {
              const m = slab * C + c;
              return ch >= inCh || m >= outCh ? 0 : spec.weight(m, ch, ky, kx);
            }));
          }
        }
        job.loads.push(...loadRows('wgt', wgtBase, rows));
        const ch0 = slab * C;
        const slice = (a: readonly number[]) => a.slice(ch0, ch0 + C);
        job.loads.push(...loadRows('qp', qpBase, qpRecordRows(slice(spec.bias), slice(spec.multiplier), slice(spec.shift), 1, Math.min(C, outCh - ch0))));
        // The registers hold for every slab (the compute queue runs in order): set them once.
        if (slab === 0) job.ex.push(make('setg', { inH: sh, inW: sw, outW: dw, kh: spec.kh, kw: spec.kw, strideY: spec.sy, strideX: spec.sx, padTop: spec.padTop, padLeft: spec.padLeft, cbIn: cbSrc, cbOut: cbDst }), spec.setq);
        for (let oy0 = 0; oy0 < dh; oy0 += tileRows) {
          const nOy = Math.min(tileRows, dh - oy0);
          let accBase = 0;
          if (spec.final && finalVector) accBase = scoreBase + slab;
          else if (spec.final) accBase = (finalTile % 2) * accHalf;
          job.ex.push(make('gemm', { actBase: spec.src.row, wgtBase, qpBase, outBase: spec.dst.row + slab, accBase, oy0, nOy, toAcc: spec.final ? 1 : 0 }));
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
    };

    /** DWCONV jobs (as many channel blocks per job as WGT and QP halves hold). */
    const emitWindow = (spec: {
      src: { row: number; shape: Shape }; dst: { row: number; shape: Shape };
      kernel: readonly [number, number]; stride: readonly [number, number]; pads: readonly number[]; mode: number;
      weight: (ch: number, t: number) => number;
      bias: readonly number[]; multiplier: readonly number[]; shift: readonly number[]; setq: Instruction;
    }): void => {
      const [ch, sh, sw] = spec.src.shape;
      const [, dh, dw] = spec.dst.shape;
      const cb = Math.ceil(ch / C);
      const taps = spec.kernel[0] * spec.kernel[1];
      const perBlockW = spec.mode === DW_MODES.mac ? taps : 0;
      if (perBlockW > wgtHalf) refuse(layer, `${taps} taps per channel block exceed half of WGT (${wgtHalf} rows)`);
      const perJob = Math.max(1, Math.min(perBlockW ? Math.floor(wgtHalf / perBlockW) : cb, Math.floor(qpHalf / 3), 1023));
      for (let cb0 = 0; cb0 < cb; cb0 += perJob) {
        const nCb = Math.min(perJob, cb - cb0);
        const job = startJob();
        const h = (jobs.length - 1) % 2;
        const wgtBase = h * wgtHalf;
        const qpBase = h * qpHalf;
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
          job.loads.push(...loadRows('wgt', wgtBase, rows));
        }
        const ch0 = cb0 * C;
        const n = Math.min(nCb * C, ch - ch0);
        job.loads.push(...loadRows('qp', qpBase, qpRecordRows(spec.bias.slice(ch0, ch0 + n), spec.multiplier.slice(ch0, ch0 + n), spec.shift.slice(ch0, ch0 + n), nCb, n)));
        if (cb0 === 0) job.ex.push(make('setg', { inH: sh, inW: sw, outW: dw, kh: spec.kernel[0], kw: spec.kernel[1], strideY: spec.stride[0], strideX: spec.stride[1], padTop: spec.pads[0] ?? 0, padLeft: spec.pads[1] ?? 0, cbIn: cb, cbOut: cb }), spec.setq);
        job.ex.push(make('dwconv', { actBase: spec.src.row, wgtBase, qpBase, outBase: spec.dst.row, oy0: 0, nOy: dh, cb0, nCb, mode: spec.mode }));
      }
    };

    const src = { row: inRow, shape: inT.shape };
    const dst = { row: outRow, shape: outT.shape };
    if ((layer.kind === 'conv' && layer.group === 1) || layer.kind === 'gemm') {
      const g = gemmGeometry(layer, inT);
      const common = { bias: layer.bias, multiplier: r.multiplier, shift: r.shift, setq: setq(), final: outInAcc };
      const plan = layer.kind === 'conv' ? im2colPlan(layer, inT, outT, config, act) : undefined;
      if (plan && layer.kind === 'conv') {
        // Few input channels and a large kernel (the first layer at K = 0): the taps go into the array
        // rows instead of one fold each. Replicate every input channel T = kh*kw times (GEMM 1x1 with
        // weights 1), shift each copy by its tap (DWCONV with one-hot weights, the layer's stride and
        // pads), then one 1x1 GEMM with the weights laid out as (channel, tap). Both helpers requantize
        // with the identity (M = 2^15, s = 15, zo = zp_in), so every value and pad is exactly the input's.
        const T = g.kh * g.kw;
        const zp = layer.inputZeroPoint;
        const range = qRange(inT.quant);
        const identity = { bias: [] as number[], multiplier: Array.from({ length: plan.channels }, () => 2 ** 15), shift: Array.from({ length: plan.channels }, () => 15) };
        const idq = make('setq', { zpA: zp, zo: zp, lo: range.min, hi: range.max, aSigned: inT.quant.signed ? 1 : 0 });
        const repName = `${layer.output}#replicated`;
        const colName = `${layer.output}#im2col`;
        const rep = { row: act.alloc(repName, plan.replicatedRows, layer), shape: [plan.channels, inH, inW] as Shape };
        emitGemm({ src, dst: rep, kh: 1, kw: 1, sy: 1, sx: 1, padTop: 0, padLeft: 0, weight: (m, ch) => (Math.floor(m / T) === ch ? 1 : 0), ...identity, setq: idq, final: false });
        const col = { row: act.alloc(colName, plan.im2colRows, layer), shape: [plan.channels, outH, outW] as Shape };
        emitWindow({ src: rep, dst: col, kernel: [g.kh, g.kw], stride: [g.sy, g.sx], pads: layer.pads, mode: DW_MODES.mac, weight: (ch, t) => (ch % T === t ? 1 : 0), ...identity, setq: idq });
        act.release(repName, plan.replicatedRows);
        emitGemm({ src: col, dst, kh: 1, kw: 1, sy: 1, sx: 1, padTop: 0, padLeft: 0, weight: (m, ch) => g.weight(m, Math.floor(ch / T), Math.floor((ch % T) / g.kw), ch % g.kw), ...common });
        act.release(colName, plan.im2colRows);
      } else {
        emitGemm({ src, dst, kh: g.kh, kw: g.kw, sy: g.sy, sx: g.sx, padTop: g.padTop, padLeft: g.padLeft, weight: g.weight, ...common });
      }
    } else if (layer.kind === 'conv' || layer.kind === 'maxpool' || layer.kind === 'avgpool') {
      const kernel: readonly [number, number] = layer.kind === 'conv' ? [layer.kernel[0], layer.kernel[1]] : layer.kernel;
      const taps = kernel[0] * kernel[1];
      const mode = layer.kind === 'conv' ? DW_MODES.mac : layer.kind === 'maxpool' ? DW_MODES.max : DW_MODES.sum;
      if (!windowFits(config, kernel, layer.stride[1], outW)) {
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
      const perJob = Math.max(1, Math.min(Math.floor(qpHalf / 3), 1023));
      for (let cb0 = 0; cb0 < cbIn; cb0 += perJob) {
        const nCb = Math.min(perJob, cbIn - cb0);
        const job = startJob();
        const qpBase = ((jobs.length - 1) % 2) * qpHalf;
        const ch0 = cb0 * C;
        const n = Math.min(nCb * C, outT.shape[0] - ch0);
        job.loads.push(...loadRows('qp', qpBase, qpRecordRows([], r.multiplier.slice(ch0, ch0 + n), r.shift.slice(ch0, ch0 + n), nCb, n)));
        if (cb0 === 0) job.ex.push(make('setg', { inH, inW, outW: 1, kh: 1, kw: 1, strideY: 1, strideX: 1, padTop: 0, padLeft: 0, cbIn, cbOut }), setq());
        job.ex.push(make('gap', { actBase: inRow, outBase: outRow, qpBase, count: inH * inW, cb0, nCb }));
      }
    } else if (layer.kind === 'add') {
      const bT = tensorOf(graph, layer.inputs[1] as string);
      const bRow = act.where.get(layer.inputs[1] as string) as number;
      if (3 * cbIn > qpHalf) refuse(layer, `${cbIn} channel blocks need ${3 * cbIn} QP rows; half of QP holds ${qpHalf}`);
      const job = startJob();
      const qpBase = ((jobs.length - 1) % 2) * qpHalf;
      const ch = outT.shape[0];
      const fill = (v: number) => Array.from({ length: ch }, () => v);
      job.loads.push(...loadRows('qp', qpBase, qpRecordRows(fill(layer.inputMultipliers[0]), fill(layer.inputMultipliers[1]), r.shift, cbIn, ch)));
      job.ex.push(make('setg', { inH, inW, outW, kh: 1, kw: 1, strideY: 1, strideX: 1, padTop: 0, padLeft: 0, cbIn, cbOut }));
      job.ex.push(setq({ zpA: layer.inputZeroPoints[0], zpB: layer.inputZeroPoints[1], bSigned: bT.quant.signed ? 1 : 0 }));
      let remaining = rowsOf(outT);
      for (let offset = 0; remaining > 0; ) {
        // count is 16 bits; chunks stay whole pixels so the QP block cycling (i % cbIn) stays aligned.
        const count = Math.min(remaining, Math.floor(65535 / cbIn) * cbIn);
        job.ex.push(make('add', { aBase: inRow + offset, bBase: bRow + offset, outBase: outRow + offset, qpBase, count }));
        offset += count;
        remaining -= count;
      }
    } else {
      refuse(layer, 'is a grouped convolution that is not depthwise (group = C_in = C_out); the accelerator runs dense, depthwise and pointwise convolutions');
    }
    // Free tensors whose last reader was this layer (never the output of this layer).
    for (const name of new Set(layer.inputs)) {
      if (lastUse.get(name) === i) act.release(name, rowsOf(tensorOf(graph, name)));
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

  const inputAddr = image.alloc(rowsOf(input) * rowBytes(config, 'act'));
  const outMemory: 'acc' | 'act' = finalIsGemm ? 'acc' : 'act';
  const outRb = rowBytes(config, outMemory);
  const outputAddr = image.alloc(rowsOf(outputTensor) * outRb);
  const classAddr = finalVector ? image.alloc(rowBytes(config, 'acc')) : undefined;
  // The input LOADs (the first of job 0) read the input region.
  const job0 = jobs[0] as Job;
  const inputLoads = contiguous('load', 'act', inputRow, 0, rowsOf(input), rowBytes(config, 'act')).length;
  job0.loads.forEach((ins, k) => { if (k < inputLoads && ins.op === 'load') job0.loads[k] = { ...ins, memAddr: ins.memAddr + inputAddr }; });
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
  } else if (!finalIsGemm) {
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
      input: { tensor: inputName, shape: input.shape, addr: inputAddr, blocks: blocksOf(input) },
      output: { tensor: last.output, shape: outputTensor.shape, addr: outputAddr, blocks: outBlocks, memory: outMemory },
      ...(classAddr !== undefined ? { classAddr } : {}),
      layers: layerInfos,
      tensors: tensorRows,
      memUsed: image.size,
      usage: scratchpadUsage(program, act.peak),
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
  const emit = (ins: Instruction, job: number): void => {
    const layer = layerOfJob[job] as number;
    (pcsOfLayer[layer] ??= []).push(program.length);
    program.push(ins);
  };
  const withDeps = (ins: Instruction, deps: Partial<Deps>): Instruction => ({ ...ins, deps: { ...ins.deps, ...Object.fromEntries(Object.entries(deps).filter(([, v]) => v)) } }) as Instruction;

  const emitLoads = (k: number): void => {
    const job = jobs[k] as Job;
    job.loads.forEach((ins, n) => emit(withDeps(ins, { popNext: n === 0 && k >= 2, pushNext: n === job.loads.length - 1 }), k));
  };
  const emitCompute = (k: number): void => {
    const job = jobs[k] as Job;
    const isLastJob = k === jobs.length - 1;
    job.ex.forEach((ins, n) => {
      const tile = job.finalTiles.find((t) => t.at === n);
      const lastOfJob = n === job.ex.length - 1;
      const storesHere = job.stores.filter((s) => s.after === n);
      emit(withDeps(ins, {
        popPrev: n === 0,
        popNext: tile !== undefined && tile.tile >= 2,
        pushPrev: lastOfJob && k + 2 < jobs.length,
        pushNext: tile !== undefined || (storesHere.length > 0) || (lastOfJob && isLastJob),
      }), k);
      storesHere.forEach((s, si) => {
        const t = tile?.tile;
        const reuse = t !== undefined && t + 2 < finalTiles;
        emit(withDeps(s.store, { popPrev: si === 0, pushPrev: reuse && si === storesHere.length - 1 }), k);
      });
      if (lastOfJob && isLastJob && storesHere.length === 0) {
        // Nothing stored after the last instruction (tiles were stored as they came): FINISH pops it.
        emit(withDeps(make('finish', {}), { popPrev: true }), k);
      }
    });
    if (isLastJob && job.stores.some((s) => s.after === job.ex.length - 1)) emit(make('finish', {}), k);
  };
  if (jobs.length > 0) emitLoads(0);
  for (let k = 0; k < jobs.length; k++) {
    if (k + 1 < jobs.length) emitLoads(k + 1);
    emitCompute(k);
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
