/**
 * Decode an `.onnx` file into plain, validated data: nodes with typed attributes, initializers as
 * tensors, the graph's inputs and outputs with their shapes. Everything a corrupted or unsupported
 * file can get wrong is reported here as one badInput error naming the file (and node).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import onnxProto from 'onnx-proto';
import { badInput } from '../common/errors.js';
import { arityOf, isSupportedOp, MAX_OPSET, MIN_OPSET, parseAttributes, SUPPORTED_OPS_TEXT, type SupportedOp } from './ops.js';
import { decodeTensor, longToNumber, type Tensor } from './tensor.js';

const { onnx } = onnxProto;

/** A dimension of a declared shape: a number, or null for a symbolic/unknown one. */
export type DeclaredDim = number | null;

export interface ValueInfo {
  readonly name: string;
  /** ONNX element type code (1 = float). */
  readonly elemType: number;
  /** Undefined when the model declares no shape. */
  readonly shape: readonly DeclaredDim[] | undefined;
}

export interface OnnxNode {
  /** The node's name in the model ('' when unnamed). */
  readonly name: string;
  readonly op: SupportedOp;
  /** Names of input tensors; '' marks an omitted optional input. */
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  /** Validated attributes (see ops.ts). */
  readonly attrs: Readonly<Record<string, unknown>>;
  /** Position in the file, for stable ordering and messages. */
  readonly order: number;
}

export interface OnnxModel {
  /** File name without directory (for messages and the LayerGraph's source). */
  readonly file: string;
  readonly sha256: string;
  readonly opset: number;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: ReadonlyMap<string, Tensor>;
  /** Graph inputs that are not initializers. */
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Shapes the model declares for intermediate tensors (value_info), checked against inference. */
  readonly valueInfo: readonly ValueInfo[];
  /** The protobuf itself, for ONNX Runtime (runtime.ts), which runs the model as written (never changed). */
  readonly proto: onnxProto.onnx.ModelProto;
  /**
   * Nodes of an operator fixynn does not support, kept out of `nodes` (only with `keepUnsupported`: a
   * fixed part may end before them; import/index.ts supportedPrefix). Without it decoding refuses them.
   */
  readonly unsupported?: readonly UnsupportedNode[];
}

/** A node fixynn cannot import, and the message that refuses it. */
export interface UnsupportedNode {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly order: number;
  readonly message: string;
}

export interface DecodeOptions {
  /** Keep nodes of unsupported operators aside (`unsupported`) instead of refusing the model. */
  readonly keepUnsupported?: boolean;
}

/** "node "conv1" (Conv)" or "unnamed node #3 (Conv)": how messages name a node. */
export function describeNode(node: { name: string; op: string; order: number }): string {
  return node.name ? `node "${node.name}" (${node.op})` : `unnamed node #${node.order} (${node.op})`;
}

export function readOnnxFile(path: string): OnnxModel {
  const file = basename(path);
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw badInput(`${path}: cannot read the model (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return decodeOnnx(bytes, file);
}

export function decodeOnnx(bytes: Uint8Array, file: string, options: DecodeOptions = {}): OnnxModel {
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const proto = decodeProto(bytes, file);
  const graph = proto.graph;
  if (!graph) throw badInput(`${file}: not an ONNX model (no graph); is the file truncated or of another format?`);
  const opset = readOpset(proto, file);
  const initializers = readInitializers(graph, file);
  const nodes: OnnxNode[] = [];
  const unsupported: UnsupportedNode[] = [];
  (graph.node ?? []).forEach((n, order) => {
    const refusal = unsupportedOp(n, order, file);
    if (refusal === undefined) nodes.push(readNode(n, order, file, opset));
    else if (options.keepUnsupported === true) unsupported.push({ name: n.name ?? '', op: n.opType ?? '', inputs: [...(n.input ?? [])], outputs: [...(n.output ?? [])], order, message: refusal });
    else throw badInput(refusal);
  });
  if (nodes.length + unsupported.length === 0) throw badInput(`${file}: the graph has no nodes`);
  const inputs = (graph.input ?? []).filter((v) => !initializers.has(v.name ?? '')).map((v) => readValueInfo(v, file));
  const outputs = (graph.output ?? []).map((v) => readValueInfo(v, file));
  const valueInfo = (graph.valueInfo ?? []).map((v) => readValueInfo(v, file));
  return { file, sha256, opset, nodes, initializers, inputs, outputs, valueInfo, proto, ...(unsupported.length > 0 ? { unsupported } : {}) };
}

function decodeProto(bytes: Uint8Array, file: string): onnxProto.onnx.ModelProto {
  try {
    return onnx.ModelProto.decode(bytes);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw badInput(`${file}: not a valid ONNX model, the protobuf does not decode (${reason}); is the file truncated or corrupted?`);
  }
}

function readOpset(proto: onnxProto.onnx.ModelProto, file: string): number {
  const fail = (m: string) => badInput(`${file}: opset ${m}`);
  const entry = (proto.opsetImport ?? []).find((o) => !o.domain || o.domain === 'ai.onnx');
  if (!entry) throw badInput(`${file}: the model imports no default ONNX opset (supported: ${MIN_OPSET} to ${MAX_OPSET})`);
  const version = longToNumber(entry.version, fail);
  if (version < MIN_OPSET || version > MAX_OPSET) {
    throw badInput(`${file}: opset ${version} is not supported (supported: ${MIN_OPSET} to ${MAX_OPSET}); re-export the model with a supported opset`);
  }
  return version;
}

function readInitializers(graph: onnxProto.onnx.IGraphProto, file: string): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const t of graph.initializer ?? []) {
    const name = t.name ?? '';
    if (!name) throw badInput(`${file}: an initializer has no name`);
    out.set(name, decodeTensor(t, `${file}: initializer "${name}"`));
  }
  if ((graph.sparseInitializer ?? []).length > 0) throw badInput(`${file}: sparse initializers are not supported`);
  return out;
}

function readValueInfo(v: onnxProto.onnx.IValueInfoProto, file: string): ValueInfo {
  const name = v.name ?? '';
  if (!name) throw badInput(`${file}: a graph input or output has no name`);
  const tensorType = v.type?.tensorType;
  const dims = tensorType?.shape?.dim;
  const shape = dims
    ? dims.map((d) => (d.dimValue !== null && d.dimValue !== undefined && !d.dimParam ? longToNumber(d.dimValue, (m) => badInput(`${file}: tensor "${name}": dimension ${m}`)) : null))
    : undefined;
  return { name, elemType: tensorType?.elemType ?? 0, shape };
}

/** The refusal of a node whose operator fixynn does not support (another domain, or an op type outside ops.ts). */
function unsupportedOp(n: onnxProto.onnx.INodeProto, order: number, file: string): string | undefined {
  const opType = n.opType ?? '';
  const where = `${file}: ${describeNode({ name: n.name ?? '', op: opType || '?', order })}`;
  if (n.domain && n.domain !== 'ai.onnx') return `${where}: operator domain "${n.domain}" is not supported; supported ops (default domain): ${SUPPORTED_OPS_TEXT}`;
  if (!isSupportedOp(opType)) return `${where}: unsupported op type "${opType}"; supported ops: ${SUPPORTED_OPS_TEXT}`;
  return undefined;
}

function readNode(n: onnxProto.onnx.INodeProto, order: number, file: string, opset: number): OnnxNode {
  const name = n.name ?? '';
  const opType = n.opType ?? '';
  const where = `${file}: ${describeNode({ name, op: opType || '?', order })}`;
  if (!isSupportedOp(opType)) throw new Error(`internal: ${where} reached readNode`);
  const inputs = [...(n.input ?? [])];
  const outputs = [...(n.output ?? [])];
  while (inputs.length > 0 && inputs[inputs.length - 1] === '') inputs.pop();
  const { inputs: [minIn, maxIn], outputs: [minOut, maxOut] } = arityOf(opType);
  if (inputs.length < minIn || inputs.length > maxIn) throw badInput(`${where}: has ${inputs.length} inputs, expected ${minIn === maxIn ? minIn : `${minIn} to ${maxIn}`}`);
  if (outputs.length < minOut || outputs.length > maxOut || outputs.some((o, i) => o === '' && i === 0)) {
    throw badInput(`${where}: has ${outputs.length} outputs, expected ${minOut === maxOut ? minOut : `${minOut} to ${maxOut}`}`);
  }
  const raw = readAttributes(n.attribute ?? [], where);
  const parsed = parseAttributes(opType, raw);
  if (!parsed.ok) throw badInput(`${where}: ${parsed.error}`);
  checkOpsetSpecifics(opType, parsed.attrs, where, opset);
  return { name, op: opType, inputs, outputs: outputs.filter((o) => o !== ''), attrs: parsed.attrs, order };
}

/**
 * Attributes whose meaning changed with the opset, so a model mixing forms is caught and an older form
 * that the one form of the later stages cannot express is refused here.
 */
function checkOpsetSpecifics(op: SupportedOp, attrs: Record<string, unknown>, where: string, opset: number): void {
  if (op === 'Unsqueeze' || op === 'Squeeze') {
    if (opset >= 13 && attrs['axes'] !== undefined) throw badInput(`${where}: attribute axes is an input from opset 13 on`);
  }
  if (op === 'Add' || op === 'Sub' || op === 'Mul' || op === 'Div') {
    if (opset >= 7 && (attrs['broadcast'] !== undefined || attrs['axis'] !== undefined)) {
      throw badInput(`${where}: attributes broadcast and axis exist only up to opset 6 (from opset 7 on, broadcasting is numpy-style)`);
    }
    if (attrs['axis'] !== undefined) {
      throw badInput(`${where}: opset-6 broadcasting with an axis is not supported (supported: trailing alignment, i.e. no axis attribute)`);
    }
  }
}

function readAttributes(attributes: readonly onnxProto.onnx.IAttributeProto[], where: string): Record<string, unknown> {
  const T = onnx.AttributeProto.AttributeType;
  const out: Record<string, unknown> = {};
  for (const a of attributes) {
    const name = a.name ?? '';
    const fail = (m: string) => badInput(`${where}: attribute ${name}: ${m}`);
    switch (a.type) {
      case T.FLOAT: out[name] = a.f ?? 0; break;
      case T.INT: out[name] = longToNumber(a.i, fail); break;
      case T.STRING: out[name] = new TextDecoder().decode(a.s ?? new Uint8Array()); break;
      case T.FLOATS: out[name] = [...(a.floats ?? [])]; break;
      case T.INTS: out[name] = (a.ints ?? []).map((v) => longToNumber(v, fail)); break;
      case T.TENSOR: out[name] = decodeTensor(a.t ?? {}, `${where}: attribute ${name}`); break;
      default: out[name] = { unsupportedAttributeType: a.type ?? 0 };
    }
  }
  return out;
}
