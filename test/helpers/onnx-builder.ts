/**
 * A small typed builder for ONNX models in tests, on onnx-proto's own types.
 *
 *   const b = new OnnxBuilder({ opset: 13 });
 *   b.input('x', [1, 3, 8, 8]);
 *   const w = b.initializer('w', new Float32Array(4 * 3 * 3 * 3).fill(0.5), [4, 3, 3, 3]);
 *   const y = b.node('Conv', ['x', w], ['y'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] });
 *   b.output(y, [1, 4, 8, 8]);
 *   b.save('/tmp/m.onnx');            // or b.encode() -> Buffer
 *
 * Attributes: an integer number / number[] becomes INT / INTS, a non-integer FLOAT / FLOATS, a string
 * STRING. Attributes whose ONNX type is float (epsilon, alpha, beta, min, max, ...) are written as FLOAT
 * even when the value is an integer; `float(v)` / `floats(v)` / `ints(v)` force a type explicitly.
 *
 * `qdqConv()` adds a whole QDQ conv layer (QuantizeLinear/DequantizeLinear around the weights and the
 * activations, int32 bias), quantizing float weights itself and returning the integers it stored.
 */
import { writeFileSync } from 'node:fs';
import onnxProto from 'onnx-proto';
import { seededRandom } from '../../generator/common/seeded-random.js';

const { onnx } = onnxProto;
type IModelProto = onnxProto.onnx.IModelProto;
type INodeProto = onnxProto.onnx.INodeProto;
type ITensorProto = onnxProto.onnx.ITensorProto;
type IValueInfoProto = onnxProto.onnx.IValueInfoProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

/** ONNX TensorProto.DataType codes used here. */
export const DataType = { FLOAT: 1, UINT8: 2, INT8: 3, INT32: 6, INT64: 7 } as const;
export type ElemType = (typeof DataType)[keyof typeof DataType];

export type TensorData = Float32Array | Int8Array | Uint8Array | Int32Array | BigInt64Array;

/** Explicitly typed attribute values (for when the automatic choice is not the wanted one). */
export interface TypedAttr {
  readonly attrType: 'float' | 'floats' | 'int' | 'ints' | 'tensor';
  readonly value: number | readonly number[] | ITensorProto;
}
export const float = (value: number): TypedAttr => ({ attrType: 'float', value });
export const floats = (value: readonly number[]): TypedAttr => ({ attrType: 'floats', value });
export const ints = (value: readonly number[]): TypedAttr => ({ attrType: 'ints', value });
export const tensorAttr = (value: ITensorProto): TypedAttr => ({ attrType: 'tensor', value });

export type AttrValue = number | readonly number[] | string | TypedAttr;

/** Attributes that ONNX types as FLOAT / FLOATS, so that `epsilon: 1` is still written as a float. */
const FLOAT_ATTRS = new Set(['epsilon', 'momentum', 'alpha', 'beta', 'min', 'max', 'ratio', 'value_float', 'bias', 'lambd', 'gamma']);
const FLOATS_ATTRS = new Set(['value_floats', 'scales']);

/** A dimension: a number, or a string for a symbolic dimension (e.g. 'N' for the batch). */
export type Dim = number | string;

export interface InitializerOptions {
  /** 'raw' (default) writes raw_data; 'typed' writes float_data / int32_data / int64_data. */
  readonly storage?: 'raw' | 'typed';
}

function elemTypeOf(data: TensorData): ElemType {
  if (data instanceof Float32Array) return DataType.FLOAT;
  if (data instanceof Int8Array) return DataType.INT8;
  if (data instanceof Uint8Array) return DataType.UINT8;
  if (data instanceof Int32Array) return DataType.INT32;
  return DataType.INT64;
}

/** A TensorProto from typed data; `dims` [] makes a scalar. */
export function makeTensor(name: string, data: TensorData, dims: readonly number[], options: InitializerOptions = {}): ITensorProto {
  const count = dims.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`makeTensor ${name}: ${data.length} values for dims [${dims.join(',')}]`);
  const dataType = elemTypeOf(data);
  const tensor: ITensorProto = { name, dims: [...dims], dataType };
  if (options.storage === 'typed') {
    if (data instanceof Float32Array) tensor.floatData = Array.from(data);
    else if (data instanceof BigInt64Array) tensor.int64Data = Array.from(data, (v) => Number(v));
    else tensor.int32Data = Array.from(data);
  } else {
    // Copy so that the proto owns exactly the tensor's bytes (little-endian, as ONNX requires).
    tensor.rawData = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
  }
  return tensor;
}

function makeAttribute(name: string, value: AttrValue): IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof value === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(value) };
  if (typeof value === 'number') {
    const asFloat = FLOAT_ATTRS.has(name) || !Number.isInteger(value);
    return asFloat ? { name, type: T.FLOAT, f: value } : { name, type: T.INT, i: value };
  }
  if (isTypedAttr(value)) {
    switch (value.attrType) {
      case 'float': return { name, type: T.FLOAT, f: value.value as number };
      case 'floats': return { name, type: T.FLOATS, floats: [...(value.value as number[])] };
      case 'int': return { name, type: T.INT, i: value.value as number };
      case 'ints': return { name, type: T.INTS, ints: [...(value.value as number[])] };
      case 'tensor': return { name, type: T.TENSOR, t: value.value as ITensorProto };
    }
  }
  const list = value as readonly number[];
  const asFloats = FLOATS_ATTRS.has(name) || list.some((v) => !Number.isInteger(v));
  return asFloats ? { name, type: T.FLOATS, floats: [...list] } : { name, type: T.INTS, ints: [...list] };
}

function isTypedAttr(value: AttrValue): value is TypedAttr {
  return typeof value === 'object' && value !== null && 'attrType' in value;
}

function valueInfo(name: string, shape: readonly Dim[] | undefined, elemType: ElemType): IValueInfoProto {
  const tensorType: onnxProto.onnx.TypeProto.ITensor = { elemType };
  if (shape) {
    tensorType.shape = { dim: shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  }
  return { name, type: { tensorType } };
}

export interface BuilderOptions {
  /** Default opset 13. */
  readonly opset?: number;
  /** Default IR version 8 (what onnx-proto's schema knows). */
  readonly irVersion?: number;
  readonly graphName?: string;
}

export class OnnxBuilder {
  readonly nodes: INodeProto[] = [];
  readonly initializers: ITensorProto[] = [];
  readonly inputs: IValueInfoProto[] = [];
  readonly outputs: IValueInfoProto[] = [];
  private readonly opset: number;
  private readonly irVersion: number;
  private readonly graphName: string;
  private nodeCounter = 0;

  constructor(options: BuilderOptions = {}) {
    this.opset = options.opset ?? 13;
    this.irVersion = options.irVersion ?? 8;
    this.graphName = options.graphName ?? 'test_graph';
  }

  /** A graph input; shape entries may be strings (symbolic dims). Returns the name. */
  input(name: string, shape: readonly Dim[], elemType: ElemType = DataType.FLOAT): string {
    this.inputs.push(valueInfo(name, shape, elemType));
    return name;
  }

  /** A graph output; the shape may be omitted. Returns the name. */
  output(name: string, shape?: readonly Dim[], elemType: ElemType = DataType.FLOAT): string {
    this.outputs.push(valueInfo(name, shape, elemType));
    return name;
  }

  /** An initializer from typed data (dims [] for a scalar). Returns the name. */
  initializer(name: string, data: TensorData, dims: readonly number[], options: InitializerOptions = {}): string {
    this.initializers.push(makeTensor(name, data, dims, options));
    return name;
  }

  /** A float initializer from plain numbers, a common case in tests. */
  floats(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(name, Float32Array.from(values), dims);
  }

  /** An int64 initializer (Reshape shapes, Pad pads, ...). */
  int64s(name: string, values: readonly number[], dims: readonly number[] = [values.length]): string {
    return this.initializer(name, BigInt64Array.from(values, (v) => BigInt(v)), dims);
  }

  /**
   * A node. `inputs` may contain '' for an omitted optional input. The node name defaults to
   * `<op>_<counter>`; pass `name: ''` for an unnamed node. Returns the first output's name.
   */
  node(opType: string, inputs: readonly string[], outputs: readonly string[], attrs: Record<string, AttrValue> = {}, name?: string): string {
    const node: INodeProto = {
      opType,
      name: name ?? `${opType.toLowerCase()}_${this.nodeCounter++}`,
      input: [...inputs],
      output: [...outputs],
      attribute: Object.entries(attrs).map(([key, value]) => makeAttribute(key, value)),
    };
    this.nodes.push(node);
    const first = outputs[0];
    if (first === undefined) throw new Error(`node ${opType}: needs at least one output`);
    return first;
  }

  /** The ModelProto (a plain object graph onnx-proto can encode). */
  model(): IModelProto {
    return {
      irVersion: this.irVersion,
      producerName: 'fixynn-test-builder',
      opsetImport: [{ domain: '', version: this.opset }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    };
  }

  encode(): Buffer {
    return Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.fromObject(this.model())).finish());
  }

  save(path: string): string {
    writeFileSync(path, this.encode());
    return path;
  }

  // ---- QDQ helpers -------------------------------------------------------------------------------

  /** Q then DQ of an activation: returns the dequantized tensor's name (`<name>_dq`). */
  qdq(tensor: string, quant: QuantSpec, prefix: string = tensor): string {
    const { scaleName, zpName } = this.quantParams(prefix, quant);
    this.node('QuantizeLinear', [tensor, scaleName, zpName], [`${prefix}_q`], {}, `${prefix}_quantize`);
    return this.node('DequantizeLinear', [`${prefix}_q`, scaleName, zpName], [`${prefix}_dq`], {}, `${prefix}_dequantize`);
  }

  private quantParams(prefix: string, quant: QuantSpec): { scaleName: string; zpName: string } {
    const scaleName = this.initializer(`${prefix}_scale`, Float32Array.of(quant.scale), []);
    const zp = quant.type === 'uint8' ? Uint8Array.of(quant.zeroPoint) : Int8Array.of(quant.zeroPoint);
    const zpName = this.initializer(`${prefix}_zp`, zp, []);
    return { scaleName, zpName };
  }

  /**
   * A QDQ conv layer: [Q/DQ on the input] -> Conv(DQ(w_q), DQ(b_q)) -> [Relu | Clip] -> Q/DQ on the output.
   * Float weights are quantized here (see WeightQuantSpec); the int32 bias is at scale
   * inputScale * weightScale[m], as ONNX Runtime's quantizer writes it. Returns the output tensor
   * (the DQ output) and the stored integers so that tests can compute expected values.
   */
  qdqConv(spec: QdqConvSpec): QdqConvResult {
    const { name } = spec;
    const outChannels = spec.weightShape[0] ?? 0;
    const input = spec.inputQuant ? this.qdq(spec.input, spec.inputQuant, `${name}_in`) : spec.input;
    const wq = quantizeWeights(spec.weights, outChannels, spec.weightQuant);
    const wScales = Float32Array.from(wq.scales);
    const perChannel = spec.weightQuant.perChannel;
    const scaleDims = perChannel ? [outChannels] : [];
    const wData = spec.weightQuant.type === 'uint8' ? Uint8Array.from(wq.q) : Int8Array.from(wq.q);
    const wZp = spec.weightQuant.type === 'uint8' ? Uint8Array.from(wq.zeroPoints) : Int8Array.from(wq.zeroPoints);
    this.initializer(`${name}_w_q`, wData, spec.weightShape);
    this.initializer(`${name}_w_scale`, perChannel ? wScales : wScales.subarray(0, 1), scaleDims);
    this.initializer(`${name}_w_zp`, perChannel ? wZp : wZp.subarray(0, 1), scaleDims);
    const dqAttrs = perChannel ? { axis: 0 } : {};
    this.node('DequantizeLinear', [`${name}_w_q`, `${name}_w_scale`, `${name}_w_zp`], [`${name}_w`], dqAttrs, `${name}_w_dequantize`);
    const convInputs = [input, `${name}_w`];
    let biasInt: Int32Array | undefined;
    if (spec.bias) {
      const inScale = spec.inputScale ?? spec.inputQuant?.scale;
      if (inScale === undefined) throw new Error(`qdqConv ${name}: a bias needs inputQuant or inputScale`);
      const biasScales = Float32Array.from(wScales, (s) => Math.fround(inScale * s));
      biasInt = Int32Array.from(spec.bias, (b, m) => Math.round(b / (biasScales[perChannel ? m : 0] ?? 1)));
      this.initializer(`${name}_b_q`, biasInt, [outChannels]);
      this.initializer(`${name}_b_scale`, perChannel ? biasScales : biasScales.subarray(0, 1), scaleDims);
      this.initializer(`${name}_b_zp`, new Int32Array(perChannel ? outChannels : 1), scaleDims);
      this.node('DequantizeLinear', [`${name}_b_q`, `${name}_b_scale`, `${name}_b_zp`], [`${name}_b`], dqAttrs, `${name}_b_dequantize`);
      convInputs.push(`${name}_b`);
    }
    const convAttrs: Record<string, AttrValue> = { kernel_shape: spec.weightShape.slice(2) };
    if (spec.group !== undefined) convAttrs['group'] = spec.group;
    if (spec.strides) convAttrs['strides'] = spec.strides;
    if (spec.pads) convAttrs['pads'] = spec.pads;
    let y = this.node('Conv', convInputs, [`${name}_conv`], convAttrs, name);
    if (spec.activation === 'relu') y = this.node('Relu', [y], [`${name}_relu`], {}, `${name}_relu`);
    if (spec.activation === 'relu6') {
      const lo = this.floats(`${name}_lo`, [0], []);
      const hi = this.floats(`${name}_hi`, [6], []);
      y = this.node('Clip', [y, lo, hi], [`${name}_relu6`], {}, `${name}_relu6`);
    }
    const output = this.qdq(y, spec.outputQuant, `${name}_out`);
    const result: QdqConvResult = { output, weightsQ: wq.q, weightScales: wq.scales, weightZeroPoints: wq.zeroPoints };
    return biasInt ? { ...result, biasInt } : result;
  }
}

export interface QuantSpec {
  readonly scale: number;
  readonly zeroPoint: number;
  readonly type: 'int8' | 'uint8';
}

export interface WeightQuantSpec {
  readonly type: 'int8' | 'uint8';
  readonly perChannel: boolean;
  /**
   * Zero point per tensor (or per channel when perChannel). Default: 0 for int8, 128 for uint8.
   * The scale is chosen so that the weights fit around the zero point.
   */
  readonly zeroPoint?: number | readonly number[];
}

export interface QdqConvSpec {
  /** Prefix for every tensor and node name of this layer; also the Conv node's name. */
  readonly name: string;
  /** The float input tensor (or an already dequantized tensor when inputQuant is omitted). */
  readonly input: string;
  /** Quantize/dequantize the input first (the first layer of a model). */
  readonly inputQuant?: QuantSpec;
  /** The input's scale when inputQuant is omitted (needed for the int32 bias). */
  readonly inputScale?: number;
  /** Float weights, [M, C/group, kH, kW]. */
  readonly weights: Float32Array;
  readonly weightShape: readonly number[];
  readonly weightQuant: WeightQuantSpec;
  readonly bias?: Float32Array;
  readonly group?: number;
  readonly strides?: readonly number[];
  readonly pads?: readonly number[];
  readonly activation?: 'none' | 'relu' | 'relu6';
  readonly outputQuant: QuantSpec;
}

export interface QdqConvResult {
  /** Name of the layer's dequantized output tensor. */
  readonly output: string;
  /** The stored integer weights q (before subtracting the zero point). */
  readonly weightsQ: readonly number[];
  readonly weightScales: readonly number[];
  readonly weightZeroPoints: readonly number[];
  readonly biasInt?: Int32Array;
}

/** ONNX QuantizeLinear's rounding: half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Quantize a float to int8/uint8 as ONNX QuantizeLinear does (round half to even, then saturate). */
export function quantizeValue(x: number, scale: number, zeroPoint: number, type: 'int8' | 'uint8'): number {
  const [lo, hi] = type === 'uint8' ? [0, 255] : [-128, 127];
  return Math.min(hi, Math.max(lo, roundHalfEven(x / scale) + zeroPoint));
}

/** Per-tensor or per-output-channel weight quantization around a given zero point. */
export function quantizeWeights(weights: Float32Array, outChannels: number, spec: WeightQuantSpec): { q: number[]; scales: number[]; zeroPoints: number[] } {
  const perChannel = spec.perChannel;
  const groups = perChannel ? outChannels : 1;
  const groupSize = weights.length / groups;
  const [lo, hi] = spec.type === 'uint8' ? [0, 255] : [-128, 127];
  const defaultZp = spec.type === 'uint8' ? 128 : 0;
  const scales: number[] = [];
  const zeroPoints: number[] = [];
  const q: number[] = [];
  for (let g = 0; g < groups; g++) {
    const zp = Array.isArray(spec.zeroPoint) ? (spec.zeroPoint[g] ?? defaultZp) : ((spec.zeroPoint as number | undefined) ?? defaultZp);
    const slice = weights.subarray(g * groupSize, (g + 1) * groupSize);
    // The scale lets the most negative weight reach `lo` and the most positive reach `hi` around zp.
    let scale = 0;
    for (const w of slice) scale = Math.max(scale, w > 0 ? w / (hi - zp) : w < 0 ? w / (lo - zp) : 0);
    scale = Math.fround(scale > 0 ? scale : 1);
    scales.push(scale);
    zeroPoints.push(zp);
    for (const w of slice) q.push(quantizeValue(w, scale, zp, spec.type));
  }
  return { q, scales, zeroPoints };
}


/** `count` seeded floats uniform in [-range, range). */
export function randomFloats(count: number, seed: number, range = 1): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: count }, () => (rand() * 2 - 1) * range);
}
