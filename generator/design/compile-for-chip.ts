/**
 * `fixynn compile other.onnx --chip DIR --out PROG` without the command line: a program for a chip that
 * already exists (DESIGN.md, "One chip, many tasks"). The chip's fixed part is silicon: its scales, zero
 * points, integer weights, biases and requantization come from the chip's manifest. The other model must
 * have the same front end: the same layers, and float weights that quantize to the chip's integers under
 * the chip's weight scales; the first layer and weight that differ are named. Only the layers after the
 * split are calibrated (the chip's front end in place, so the calibration sees the features the silicon
 * computes), and they must fit the chip's accelerator (the compiler names a layer that needs more memory
 * or another operator; wider operands than the chip's are refused here).
 *
 * A design with an accelerator and no fixed part (K = 0) takes any model that fits its accelerator.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type AccelConfig, type CompiledProgram, compileProgram, defaultConfig } from '../accel/index.js';
import { type BiasCorrection, quantizeModel } from '../calibrate/quantize-model.js';
import type { CalibrationMethod } from '../quant/calibrate.js';
import { badInput, FixynnError } from '../common/errors.js';
import { calibrationInputs, DEFAULT_SCALE } from '../data/index.js';
import { importDecoded } from '../import/index.js';
import { decodeOnnx } from '../onnx/decode.js';
import type { QLayer, QuantizedGraph, QuantParams } from '../quant/ir.js';
import { checkQuantizedGraph } from '../quant/check.js';
import { roundHalfEven } from '../quant/fixed-point.js';
import type { LayerGraph } from '../graph/ir.js';
import { partOf, type AccelPart, type FfePart } from './manifest.js';
import { readDesign } from './read-design.js';

export interface CompileForChipOptions {
  /** The calibration flags, meaning what they mean for generate (docs/inputs.md); the same defaults. */
  readonly calib?: string;
  readonly calibCount?: number;
  readonly calibMethod?: CalibrationMethod;
  readonly biasCorrection?: BiasCorrection;
  readonly onProgress?: (message: string) => void;
}

export interface ChipProgram {
  readonly quantized: QuantizedGraph;
  readonly compiled: CompiledProgram;
  readonly k: number;
  readonly accel: AccelPart;
}

export async function compileForChipDesign(modelPath: string, chipDir: string, options: CompileForChipOptions = {}): Promise<ChipProgram> {
  const design = readDesign(chipDir);
  const accel = partOf(design.manifest, 'accel', `${chipDir}/manifest.json`);
  const ffe = design.manifest.parts.find((p): p is FfePart => p.kind === 'ffe');
  const k = ffe?.fixedLayerCount ?? 0;
  let bytes: Buffer;
  try {
    bytes = readFileSync(modelPath);
  } catch (err) {
    throw badInput(`${modelPath}: cannot read the model (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const file = path.basename(modelPath);
  const onnx = decodeOnnx(bytes, file);
  const graph = importDecoded(onnx);
  const chipGraph = accel.quantization;
  const where = `${file} for the chip ${chipDir}`;
  if (graph.input.shape.join('x') !== chipGraph.input.shape.join('x')) {
    throw badInput(`${where}: the model takes ${graph.input.shape.join('x')} inputs, the chip ${chipGraph.input.shape.join('x')}`);
  }
  if (graph.layers.length <= k) throw badInput(`${where}: the model has ${graph.layers.length} layers, none after the chip's ${k} fixed layers`);
  const front = ffe?.quantization;
  // The front's tensors keep the chip's quantization: by position (layer i's output is layer i's output).
  const fixedTensors = new Map<string, QuantParams>();
  if (front !== undefined) {
    fixedTensors.set(graph.firstTensor, tensorQuant(front, front.input.tensor));
    for (let i = 0; i < k; i++) {
      const mine = graph.layers[i];
      const theirs = front.layers[i];
      if (mine === undefined || theirs === undefined) throw new Error(`internal: layer ${i} missing`);
      if (mine.kind !== theirs.kind) throw badInput(`${where}: layer ${i} '${mine.name}' is a ${mine.kind}, the chip's fixed layer ${i} '${theirs.name}' a ${theirs.kind}: a different front end`);
      fixedTensors.set(mine.output, tensorQuant(front, theirs.output));
    }
  }
  // The front's weights and biases are checked before any calibration: a model for another chip fails fast.
  if (front !== undefined) {
    checkFrontWeights(graph, front, k, where);
    checkFrontBiases(graph, chipSourceGraph(design.pathOf(design.manifest.source.copy), chipDir), front, k, where);
  }
  // The chip's recorded preprocessing, unless it is the default (left to loadInputs, as verify does).
  const recorded = ffe?.options.preprocess;
  const isDefault = recorded === undefined || (recorded.scale === DEFAULT_SCALE && recorded.mean.every((m) => m === 0) && recorded.std.every((v) => v === 1));
  const pixels = isDefault ? {} : { scale: recorded.scale, mean: recorded.mean, std: recorded.std };
  const calibration = graph.quantized ? undefined : calibrationInputs(file, graph.input.shape, options.calib, { ...pixels, ...(options.calibCount !== undefined ? { count: options.calibCount } : {}) });
  options.onProgress?.(calibration ? `calibrating layers ${k}.. on ${calibration.source} (layers 0..${k - 1}: the chip's)` : 'using the QDQ model\'s own quantization');
  const facts = chipGraph.calibration;
  // The front's requantization is the chip's: its multiplier width too (the model's front is compared with it).
  const requantBits = ffe?.options.requantBits ?? accel.options.requantBits;
  const quantized = await quantizeModel(onnx, graph, {
    ...(calibration ? { calibImages: calibration.images } : {}),
    ...(!graph.quantized && facts !== undefined ? { weightBits: facts.weightBits, actBits: facts.actBits } : {}),
    ...(requantBits !== undefined ? { requantBits } : {}),
    ...(options.calibMethod !== undefined ? { method: options.calibMethod } : {}),
    ...(options.biasCorrection !== undefined ? { biasCorrection: options.biasCorrection } : {}),
    ...(front !== undefined && !graph.quantized ? { fixedTensors, frozenFront: { fromLayer: k, splice: (q: QuantizedGraph) => spliceFront(q, front, k, where) } } : {}),
  });
  // A QDQ model brings its own front quantization: it must be the chip's too.
  const program = front !== undefined && graph.quantized ? spliceFront(quantized, front, k, where) : quantized;
  checkFitsAccelerator(program, k, accel, where);
  const config = accelConfigOf(accel);
  let compiled: CompiledProgram;
  try {
    compiled = compileProgram(program, config, { fromLayer: k });
  } catch (err) {
    if (!(err instanceof FixynnError)) throw err;
    const message = err.message;
    throw badInput(`${where}: the back end needs more than the chip's ${accel.array.rows}x${accel.array.cols} accelerator has: ${message}`);
  }
  return { quantized: { ...program, source: { file, sha256: createHash('sha256').update(bytes).digest('hex') } }, compiled, k, accel };
}

function tensorQuant(graph: QuantizedGraph, name: string): QuantParams {
  const t = graph.tensors[name];
  if (t === undefined) throw badInput(`chip manifest: the fixed part has no tensor '${name}'`);
  return t.quant;
}

/** The chip's AccelConfig from its manifest: the RTL's configuration without what only the RTL needs. */
export function accelConfigOf(accel: AccelPart): AccelConfig {
  const keys = Object.keys(defaultConfig(accel.array.rows, accel.array.cols)) as Array<keyof AccelConfig>;
  return Object.fromEntries(keys.map((key) => [key, accel.config[key]])) as unknown as AccelConfig;
}

/**
 * The model's quantized front replaced by the chip's: layer by layer the same kind, geometry and shapes,
 * and every integer that makes the front's outputs equal to the chip's (compareFrontLayer; the first
 * difference is named). A calibrated model's front biases are the chip's, bias correction included: they
 * were compared as floats before calibration (checkFrontBiases), the correction being the chip's data's.
 */
function spliceFront(q: QuantizedGraph, front: QuantizedGraph, k: number, where: string): QuantizedGraph {
  const rename = new Map<string, string>([[front.input.tensor, q.input.tensor]]);
  for (let i = 0; i < k; i++) rename.set(front.layers[i]!.output, q.layers[i]!.output);
  const inputQ = q.tensors[q.input.tensor]!.quant;
  const chipInputQ = front.tensors[front.input.tensor]!.quant;
  if (!sameQuant(inputQ, chipInputQ)) throw badInput(`${where}: the input quantization (scale ${inputQ.scale}, zero point ${inputQ.zeroPoint}) differs from the chip's (scale ${chipInputQ.scale}, zero point ${chipInputQ.zeroPoint})`);
  const preA = JSON.stringify(q.input.preprocess);
  const preB = JSON.stringify(front.input.preprocess);
  if (preA !== preB) throw badInput(`${where}: the input preprocessing (${preA}) differs from the chip's (${preB})`);
  const layers = q.layers.map((mine, i): QLayer => {
    if (i >= k) return mine;
    const chip = front.layers[i]!;
    compareFrontLayer(q, mine, front, chip, where);
    return { ...chip, index: i, name: mine.name, nodes: mine.nodes, inputs: chip.inputs.map((n) => rename.get(n) ?? n), output: mine.output };
  });
  const tensors = { ...q.tensors };
  for (let i = 0; i < k; i++) {
    const name = q.layers[i]!.output;
    tensors[name] = { ...tensors[name]!, quant: front.tensors[front.layers[i]!.output]!.quant };
  }
  const spliced: QuantizedGraph = { ...q, layers, tensors };
  checkQuantizedGraph(spliced);
  return spliced;
}

function sameQuant(a: QuantParams, b: QuantParams): boolean {
  return a.scale === b.scale && a.zeroPoint === b.zeroPoint && a.bits === b.bits && a.signed === b.signed;
}

function compareFrontLayer(q: QuantizedGraph, mine: QLayer, front: QuantizedGraph, chip: QLayer, where: string): void {
  const name = `layer ${mine.index} '${mine.name}'`;
  const differs = (what: string): never => { throw badInput(`${where}: ${name} differs from the chip's fixed layer ${chip.index} '${chip.name}': ${what}; the model's front end is not the chip's`); };
  if (mine.kind !== chip.kind) differs(`a ${mine.kind}, the chip's a ${chip.kind}`);
  const shapeOf = (g: QuantizedGraph, t: string): string => g.tensors[t]?.shape.join('x') ?? '?';
  if (shapeOf(q, mine.output) !== shapeOf(front, chip.output)) differs(`output ${shapeOf(q, mine.output)}, the chip's ${shapeOf(front, chip.output)}`);
  if (mine.kind === 'conv' && chip.kind === 'conv') {
    for (const key of ['group', 'kernel', 'stride', 'dilation', 'pads', 'weightShape'] as const) {
      if (JSON.stringify(mine[key]) !== JSON.stringify(chip[key])) differs(`${key} ${JSON.stringify(mine[key])}, the chip's ${JSON.stringify(chip[key])}`);
    }
  }
  if ((mine.kind === 'conv' || mine.kind === 'gemm') && (chip.kind === 'conv' || chip.kind === 'gemm')) {
    if (JSON.stringify(mine.weightShape) !== JSON.stringify(chip.weightShape)) differs(`weights ${mine.weightShape.join('x')}, the chip's ${chip.weightShape.join('x')}`);
  }
  if ((mine.kind === 'maxpool' || mine.kind === 'avgpool') && (chip.kind === 'maxpool' || chip.kind === 'avgpool')) {
    for (const key of ['kernel', 'stride', 'dilation', 'pads'] as const) {
      if (JSON.stringify(mine[key]) !== JSON.stringify(chip[key])) differs(`${key} ${JSON.stringify(mine[key])}, the chip's ${JSON.stringify(chip[key])}`);
    }
  }
  compareFrontIntegers(q, mine, front, chip, differs);
}

/**
 * Everything else that makes the layer's integers: the output's activation scale and zero point, the
 * input zero point, the weights and their width, the biases (a QDQ model's own; a calibrated model's
 * were compared as floats), the requantization per channel, and the pools' and adds' own constants.
 */
function compareFrontIntegers(q: QuantizedGraph, mine: QLayer, front: QuantizedGraph, chip: QLayer, differs: (what: string) => never): void {
  const outMine = q.tensors[mine.output]?.quant;
  const outChip = front.tensors[chip.output]?.quant;
  if (outMine !== undefined && outChip !== undefined) {
    for (const key of ['scale', 'zeroPoint', 'bits', 'signed'] as const) {
      if (outMine[key] !== outChip[key]) differs(`output activation ${key === 'scale' ? 'scale' : key === 'zeroPoint' ? 'zero point' : key} ${outMine[key]}, the chip's ${outChip[key]}`);
    }
  }
  const list = (what: string, a: readonly number[], b: readonly number[], shape?: readonly number[]): void => {
    if (a.length !== b.length) differs(`${what}: ${a.length} values, the chip's ${b.length}`);
    const j = a.findIndex((v, i) => v !== b[i]);
    if (j >= 0) differs(`${what} [${shape ? unravel(j, shape).join(', ') : j}] is ${a[j]}, the chip's ${b[j]}`);
  };
  const one = (what: string, a: number | undefined, b: number | undefined): void => { if (a !== b) differs(`${what} ${a}, the chip's ${b}`); };
  if ((mine.kind === 'conv' || mine.kind === 'gemm') && (chip.kind === 'conv' || chip.kind === 'gemm')) {
    list('weight', mine.weights, chip.weights, chip.weightShape);
    one('weight width (bits)', mine.weightBits, chip.weightBits);
    if (q.origin === 'qdq') list('bias', mine.bias, chip.bias);
  }
  if (mine.kind !== 'add' && chip.kind !== 'add') one('input zero point', mine.inputZeroPoint, chip.inputZeroPoint);
  if (mine.kind === 'add' && chip.kind === 'add') {
    list('input zero points', mine.inputZeroPoints, chip.inputZeroPoints);
    list('input multipliers', mine.inputMultipliers, chip.inputMultipliers);
  }
  const r = mine.requant;
  const c = chip.requant;
  list('requantization multiplier', r.multiplier, c.multiplier);
  list('requantization shift', r.shift, c.shift);
  one('requantization output zero point', r.outputZeroPoint, c.outputZeroPoint);
  one('activation clamp minimum', r.clampMin, c.clampMin);
  one('activation clamp maximum', r.clampMax, c.clampMax);
  if ((r.negative === undefined) !== (c.negative === undefined)) differs(r.negative ? 'a leaky activation, the chip\'s none' : 'no leaky activation, the chip\'s one');
  if (r.negative !== undefined && c.negative !== undefined) {
    list('negative-slope multiplier', r.negative.multiplier, c.negative.multiplier);
    list('negative-slope shift', r.negative.shift, c.negative.shift);
  }
  if (mine.kind === 'avgpool' && chip.kind === 'avgpool') {
    const border = (l: typeof mine): number[] => (l.borderDivisors ?? []).flatMap((d) => [d.count, d.multiplier, d.shift]);
    list('border divisors (count, multiplier, shift)', border(mine), border(chip));
  }
}

/** The chip's own source model (the copy in its design folder), imported: its front's float biases. */
function chipSourceGraph(file: string, chipDir: string): LayerGraph {
  try {
    return importDecoded(decodeOnnx(readFileSync(file), path.basename(file)));
  } catch (err) {
    if (err instanceof FixynnError) throw badInput(`${chipDir}: its source model ${path.basename(file)} does not import (${err.message})`);
    throw err;
  }
}

/**
 * The model's front biases must be the chip's model's: both quantized at the chip's accumulator scale
 * (input scale x weight scale[m]; a QDQ model's own int32 biases as they are) before the chip's bias
 * correction, which is the chip's calibration data's and so cannot be compared across models.
 */
function checkFrontBiases(graph: LayerGraph, chipModel: LayerGraph, front: QuantizedGraph, k: number, where: string): void {
  for (let i = 0; i < k; i++) {
    const mine = graph.layers[i];
    const source = chipModel.layers[i];
    const chip = front.layers[i];
    if (mine === undefined || source === undefined || chip === undefined) continue;
    if ((mine.kind !== 'conv' && mine.kind !== 'gemm') || (source.kind !== 'conv' && source.kind !== 'gemm') || (chip.kind !== 'conv' && chip.kind !== 'gemm')) continue;
    const inScale = tensorQuant(front, chip.inputs[0] ?? '').scale;
    const at = (l: typeof mine, m: number): number => l.weights.biasInt?.[m] ?? roundHalfEven((l.bias[m] ?? 0) / (inScale * (chip.weightScale[m] ?? 1)));
    for (let m = 0; m < chip.bias.length; m++) {
      const a = at(mine, m);
      const b = at(source, m);
      if (a === b) continue;
      const how = (l: typeof mine, v: number): string => (l.weights.biasInt !== undefined ? `${v} (int32)` : `${l.bias[m]} (${v})`);
      throw badInput(`${where}: layer ${i} '${mine.name}' differs from the chip's fixed layer ${i} '${chip.name}': bias [${m}] is ${how(mine, a)}, the chip's model's ${how(source, b)} (integers at the chip's accumulator scale ${inScale * (chip.weightScale[m] ?? 1)}); the model's front end is not the chip's`);
    }
  }
}

/**
 * The model's float front weights (BatchNorm folded) quantized under the chip's per-channel weight scales
 * must give the chip's integers (a QDQ model's own integers must be the chip's): the first that differs is named.
 */
function checkFrontWeights(graph: LayerGraph, front: QuantizedGraph, k: number, where: string): void {
  for (let i = 0; i < k; i++) {
    const mine = graph.layers[i];
    const chip = front.layers[i];
    if (mine === undefined || chip === undefined) continue;
    if ((mine.kind !== 'conv' && mine.kind !== 'gemm') || (chip.kind !== 'conv' && chip.kind !== 'gemm')) continue;
    const name = `layer ${i} '${mine.name}' differs from the chip's fixed layer ${i} '${chip.name}'`;
    if (mine.weights.shape.join('x') !== chip.weightShape.join('x')) throw badInput(`${where}: ${name}: weights ${mine.weights.shape.join('x')}, the chip's ${chip.weightShape.join('x')}; the model's front end is not the chip's`);
    const qMax = 2 ** (chip.weightBits - 1) - 1;
    const perChannel = chip.weights.length / chip.weightScale.length;
    for (let j = 0; j < chip.weights.length; j++) {
      const m = Math.floor(j / perChannel);
      const q = mine.weights.int !== undefined ? (mine.weights.int[j] ?? 0) : Math.max(-qMax, Math.min(qMax, roundHalfEven((mine.weights.float[j] ?? 0) / (chip.weightScale[m] ?? 1))));
      if (q !== chip.weights[j]) {
        const how = mine.weights.int !== undefined ? `is ${q} in the model` : `${mine.weights.float[j]} quantizes to ${q} under the chip's scale ${chip.weightScale[m]}`;
        throw badInput(`${where}: ${name}: weight [${unravel(j, chip.weightShape).join(', ')}] ${how}, the chip holds ${chip.weights[j]}; the model's front end is not the chip's`);
      }
    }
  }
}

function unravel(flat: number, shape: readonly number[]): number[] {
  const out: number[] = [];
  let rest = flat;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d] ?? 1;
    out.unshift(rest % n);
    rest = Math.floor(rest / n);
  }
  return out;
}

/** Operand widths the chip's accelerator was built for: a back end needing wider ones is refused. */
function checkFitsAccelerator(q: QuantizedGraph, k: number, accel: AccelPart, where: string): void {
  const c = accel.config;
  for (const layer of q.layers.slice(k)) {
    const name = `layer ${layer.index} '${layer.name}'`;
    const out = q.tensors[layer.output];
    if (out !== undefined && out.quant.bits > c.actBits) throw badInput(`${where}: ${name} needs ${out.quant.bits}-bit activations; the chip's accelerator has ${c.actBits}`);
    if ((layer.kind === 'conv' || layer.kind === 'gemm') && layer.weightBits > c.weightBits) {
      throw badInput(`${where}: ${name} needs ${layer.weightBits}-bit weights; the chip's accelerator has ${c.weightBits}`);
    }
    const widest = Math.max(...layer.requant.multiplier.map((m) => Math.abs(m).toString(2).length + 1));
    if (widest > c.multiplierBits) throw badInput(`${where}: ${name} needs ${widest}-bit requantization multipliers; the chip's accelerator has ${c.multiplierBits}`);
  }
}
