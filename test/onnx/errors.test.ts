/**
 * Bad models through the CLI: each gives exit 2 and one message naming the file, the node and op where
 * there is one, what is wrong and what is supported. No stack trace, no hang.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../generator/cli.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';

const { onnx } = onnxProto;
const dir = mkdtempSync(join(tmpdir(), 'fixynn-onnx-errors-'));
let stderr = '';

beforeEach(() => {
  stderr = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => vi.restoreAllMocks());

async function inspect(bytes: Uint8Array, name: string): Promise<{ code: number; message: string }> {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  const code = await main(['node', 'fixynn', 'inspect', path]);
  return { code, message: stderr };
}

/** x -> Conv -> Relu, with a hook to change the model before encoding. */
function model(edit: (b: OnnxBuilder) => void = () => {}, opset = 13): OnnxBuilder {
  const b = new OnnxBuilder({ opset });
  b.input('x', [1, 2, 4, 4]);
  b.initializer('w', randomFloats(3 * 2 * 9, 31), [3, 2, 3, 3]);
  edit(b);
  return b;
}

function finish(b: OnnxBuilder, from = 'x'): OnnxBuilder {
  b.node('Conv', [from, 'w'], ['c'], { pads: [1, 1, 1, 1] }, 'conv1');
  b.node('Relu', ['c'], ['y'], {}, 'relu1');
  b.output('y');
  return b;
}

describe('bad models give exit 2 with one clear message', () => {
  it('an unsupported op names the file, node, op type and the supported ops', async () => {
    const b = model();
    b.node('Conv', ['x', 'w'], ['c'], { pads: [1, 1, 1, 1] }, 'conv1');
    b.node('Elu', ['c'], ['y'], { alpha: 0.1 }, 'elu');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'elu.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/^fixynn: elu\.onnx: node "elu" \(Elu\): unsupported op type "Elu"; supported ops: .*Conv.*LeakyRelu.*PRelu.*QuantizeLinear/);
    expect(message).not.toMatch(/\n\s+at /);
  });

  it('a LeakyRelu after a pool, and a PRelu with a negative slope', async () => {
    const pool = model();
    pool.node('MaxPool', ['x'], ['p'], { kernel_shape: [2, 2] }, 'pool');
    pool.node('LeakyRelu', ['p'], ['y'], { alpha: 0.1 }, 'leaky');
    pool.output('y');
    const afterPool = await inspect(pool.encode(), 'leaky.onnx');
    expect(afterPool.code).toBe(2);
    expect(afterPool.message).toMatch(/leaky\.onnx: node "leaky" \(LeakyRelu\): .*supported only directly after a Conv, Gemm, MatMul/);
    const b = model();
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv1');
    b.floats('slope', [-0.5], []);
    b.node('PRelu', ['c', 'slope'], ['y'], {}, 'prelu');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'prelu.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/prelu\.onnx: node "prelu" \(PRelu\): slope -0\.5 of channel 0 is negative; supported: slopes >= 0/);
  });

  it('a truncated file', async () => {
    const bytes = finish(model()).encode();
    const { code, message } = await inspect(bytes.subarray(0, Math.floor(bytes.length * 0.6)), 'truncated.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/truncated\.onnx: not a valid ONNX model.*truncated or corrupted/);
  });

  it('a missing initializer', async () => {
    const b = model();
    b.node('Conv', ['x', 'w_missing'], ['y'], {}, 'conv1');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'missing.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/missing\.onnx: node "conv1" \(Conv\): input "w_missing" is neither a graph input, an initializer nor any node's output \(missing initializer\?\)/);
  });

  it('a cycle', async () => {
    const b = model();
    b.node('Add', ['x', 'loop'], ['a'], {}, 'add');
    b.node('Relu', ['a'], ['loop'], {}, 'relu');
    b.node('Conv', ['a', 'w'], ['y'], {}, 'conv1');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'cycle.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/cycle\.onnx: the graph has a cycle \(involving node "add" \(Add\), node "relu" \(Relu\)/);
  });

  it.each([5, 22])('opset %i', async (opset) => {
    const { code, message } = await inspect(finish(model(() => {}, opset)).encode(), `opset${opset}.onnx`);
    expect(code).toBe(2);
    expect(message).toContain(`opset${opset}.onnx: opset ${opset} is not supported (supported: 6 to 21)`);
  });

  it('inconsistent shapes: weights for the wrong channel count', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 3, 4, 4]);
    b.initializer('w', randomFloats(3 * 2 * 9, 31), [3, 2, 3, 3]);
    finish(b);
    const { code, message } = await inspect(b.encode(), 'shapes.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/shapes\.onnx: node "conv1" \(Conv\): weight "w" \[3, 2, 3, 3\] with group 1 does not fit an input of 3 channels \(inconsistent shapes\)/);
  });

  it('inconsistent shapes: a declared intermediate shape (value_info) that the nodes do not compute', async () => {
    const b = finish(model());
    const proto = onnx.ModelProto.decode(b.encode());
    proto.graph?.valueInfo?.push(onnx.ValueInfoProto.fromObject({ name: 'c', type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 5 }, { dimValue: 4 }, { dimValue: 4 }] } } } }));
    const { code, message } = await inspect(onnx.ModelProto.encode(proto).finish(), 'valueinfo.onnx');
    expect(code).toBe(2);
    expect(message).toContain('valueinfo.onnx: tensor "c" is declared [1, 5, 4, 4] but the graph computes [1, 3, 4, 4] (inconsistent shapes)');
  });

  it('an unsupported attribute value (3-D dilations)', async () => {
    const b = model();
    b.node('MaxPool', ['x'], ['y'], { kernel_shape: [2, 2], dilations: [2, 2, 2] }, 'dilated');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'dilated.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/dilated\.onnx: node "dilated" \(MaxPool\): attribute dilations: dilations must have 2 entries/);
  });

  it('a dilated pool window whose taps all fall in the padding', async () => {
    const b = model();
    b.node('MaxPool', ['x'], ['y'], { kernel_shape: [2, 1], dilations: [5, 1], pads: [1, 0, 1, 0] }, 'holey');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'holey.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/holey\.onnx: .*the 2x1 window dilated 5x1 at output row 0 holds no pixel of the image/);
  });

  it('a dilated convolution whose span does not fit its input', async () => {
    const b = model();
    b.node('Conv', ['x', 'w'], ['y'], { dilations: [2, 2] }, 'dilated');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'dilated.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/dilated\.onnx: node "dilated" \(Conv\): a 5-wide window with stride 1 does not fit an input of 4/);
  });

  it('an op from another domain', async () => {
    const b = model();
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv1');
    b.node('FusedGelu', ['c'], ['y'], {}, 'gelu');
    (b.nodes[b.nodes.length - 1] as { domain?: string }).domain = 'com.microsoft';
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'domain.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/domain\.onnx: node "gelu" \(FusedGelu\): operator domain "com\.microsoft" is not supported; supported ops/);
  });

  it('a Mul in the middle of the network', async () => {
    const b = model();
    b.node('Conv', ['x', 'w'], ['c'], {}, 'conv1');
    b.floats('k', [2], []);
    b.node('Mul', ['c', 'k'], ['y'], {}, 'scale');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'mul.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/mul\.onnx: node "scale" \(Mul\): Mul is supported here only as input preprocessing/);
  });

  it('integer weights without DequantizeLinear', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 1, 2, 2]);
    b.initializer('w', Int8Array.of(3), [1, 1, 1, 1]);
    b.node('Conv', ['x', 'w'], ['y'], {}, 'int_conv');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'intw.onnx');
    expect(code).toBe(2);
    expect(message).toContain('intw.onnx: node "int_conv" (Conv): weight "w" is int8; it must be float (integer weights need a DequantizeLinear)');
  });

  it('a model without any layer', async () => {
    const b = new OnnxBuilder();
    b.input('x', [1, 2, 2, 2]);
    b.node('Flatten', ['x'], ['y'], {}, 'flatten');
    b.output('y');
    const { code, message } = await inspect(b.encode(), 'empty.onnx');
    expect(code).toBe(2);
    expect(message).toContain('empty.onnx: the model has no layers (no Conv, Gemm, MatMul, pool or residual Add)');
  });

  it('a file that does not exist, and a non-ONNX file', async () => {
    expect(await main(['node', 'fixynn', 'inspect', join(dir, 'nope.onnx')])).toBe(2);
    expect(stderr).toMatch(/nope\.onnx: cannot read the model \(ENOENT\)/);
    const { code, message } = await inspect(new TextEncoder().encode('just some text, not a protobuf'), 'text.onnx');
    expect(code).toBe(2);
    expect(message).toMatch(/text\.onnx: not/);
  });
});
