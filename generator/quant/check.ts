/**
 * The QuantizedGraph checker: every invariant the integer model and the hardware generators rely on.
 * Run after quantization and after loading a graph back from a manifest; a violation is bad input (exit 2).
 */
import { badInput } from '../common/errors.js';
import type { QLayer, QuantizedGraph, QuantTensor, Requantization } from './ir.js';
import { qRange } from './ir.js';
import { MULTIPLIER_MAX, SHIFT_MAX } from './fixed-point.js';
import { windowSpan } from '../graph/check.js';

export function checkQuantizedGraph(qg: QuantizedGraph): void {
  const fail = (msg: string): never => { throw badInput(`quantized graph of ${qg.source.file}: ${msg}`); };
  if (qg.format !== 1) fail(`format ${String(qg.format)} is not supported (supported: 1)`);
  for (const [name, t] of Object.entries(qg.tensors)) checkTensor(name, t, fail);
  for (const [name, bits] of Object.entries(qg.calibration?.tensorBits ?? {})) {
    if (qg.tensors[name]?.quant.bits !== bits) fail(`calibration facts give tensor '${name}' ${bits} bits (--wide-acts), the tensor has ${qg.tensors[name]?.quant.bits ?? 'no entry'}`);
  }
  const available = new Set([qg.input.tensor]);
  if (!qg.tensors[qg.input.tensor]) fail(`input tensor '${qg.input.tensor}' is missing`);
  qg.layers.forEach((layer, i) => {
    if (layer.index !== i) fail(`layer ${i} carries index ${layer.index}`);
    for (const name of layer.inputs) if (!available.has(name)) fail(`layer ${i} '${layer.name}' reads '${name}' before it is produced`);
    if (!qg.tensors[layer.output]) fail(`layer ${i} '${layer.name}' writes '${layer.output}', which has no tensor entry`);
    checkLayer(qg, layer, (msg) => fail(`layer ${i} '${layer.name}': ${msg}`));
    available.add(layer.output);
  });
  if (!available.has(qg.output)) fail(`output '${qg.output}' is not produced by any layer`);
}

function checkTensor(name: string, t: QuantTensor, fail: (m: string) => never): void {
  const q = t.quant;
  if (t.name !== name) fail(`tensor entry '${name}' is named '${t.name}'`);
  if (!(q.scale > 0) || !Number.isFinite(q.scale)) fail(`tensor '${name}': scale ${q.scale} is not positive and finite`);
  if (!Number.isInteger(q.bits) || q.bits < 2 || q.bits > 16) fail(`tensor '${name}': ${q.bits} bits (supported: 2..16)`);
  const { min, max } = qRange(q);
  if (!Number.isInteger(q.zeroPoint) || q.zeroPoint < min || q.zeroPoint > max) fail(`tensor '${name}': zero point ${q.zeroPoint} outside [${min}, ${max}]`);
  if (t.shape.length !== 3 || t.shape.some((d) => !Number.isInteger(d) || d < 1)) fail(`tensor '${name}': shape [${t.shape.join(', ')}] is not a [C, H, W] of positive integers`);
}

function checkLayer(qg: QuantizedGraph, layer: QLayer, fail: (m: string) => never): void {
  const input = qg.tensors[layer.inputs[0] ?? ''];
  const output = qg.tensors[layer.output];
  if (!input || !output) return fail('input or output tensor missing');
  checkRequant(layer.requant, output, fail);
  const izp = layer.kind === 'add' ? layer.inputZeroPoints[0] : layer.inputZeroPoint;
  if (izp !== input.quant.zeroPoint) fail(`input zero point ${izp} differs from tensor '${input.name}' (${input.quant.zeroPoint})`);
  switch (layer.kind) {
    case 'conv': {
      const [m, cg, kh, kw] = layer.weightShape;
      if (m !== output.shape[0]) fail(`${m} output channels, output tensor has ${output.shape[0]}`);
      if (cg * layer.group !== input.shape[0]) fail(`${cg} channels per group x ${layer.group} groups != ${input.shape[0]} input channels`);
      if (kh !== layer.kernel[0] || kw !== layer.kernel[1]) fail('kernel differs from the weight shape');
      if (!layer.dilation.every((d) => Number.isInteger(d) && d >= 1)) fail(`dilation [${layer.dilation.join(', ')}] is not whole numbers >= 1`);
      checkWindow(windowSpan(layer.kernel, layer.dilation), layer.stride, layer.pads, input, output, fail);
      return checkWeights(layer.weights, m * cg * kh * kw, layer.weightBits, layer.weightScale, layer.bias, m, fail);
    }
    case 'gemm': {
      const [m, n] = layer.weightShape;
      if (m !== output.shape[0]) fail(`${m} outputs, output tensor has ${output.shape[0]}`);
      if (n !== input.shape[0] * input.shape[1] * input.shape[2]) fail(`${n} inputs, input tensor holds ${input.shape.join('x')}`);
      return checkWeights(layer.weights, m * n, layer.weightBits, layer.weightScale, layer.bias, m, fail);
    }
    case 'maxpool':
    case 'avgpool':
      if (input.shape[0] !== output.shape[0]) fail('pooling changes the channel count');
      for (const d of layer.borderDivisors ?? []) {
        if (layer.kind !== 'avgpool') fail('only an average pool has border divisors');
        if (!Number.isInteger(d.count) || d.count < 1 || d.count >= layer.kernel[0] * layer.kernel[1]) fail(`border divisor count ${d.count} is not 1..${layer.kernel[0] * layer.kernel[1] - 1}`);
        if (!Number.isInteger(d.multiplier) || d.multiplier < 0 || d.multiplier > MULTIPLIER_MAX || !Number.isInteger(d.shift) || d.shift < 1) fail(`border divisor ${d.count}: multiplier ${d.multiplier} or shift ${d.shift} out of range`);
      }
      if (!layer.dilation.every((d) => Number.isInteger(d) && d >= 1)) fail(`dilation [${layer.dilation.join(', ')}] is not whole numbers >= 1`);
      return checkWindow(windowSpan(layer.kernel, layer.dilation), layer.stride, layer.pads, input, output, fail);
    case 'globalavgpool':
      if (input.shape[0] !== output.shape[0] || output.shape[1] !== 1 || output.shape[2] !== 1) fail('global pooling output must be [C, 1, 1]');
      return;
    case 'add': {
      const other = qg.tensors[layer.inputs[1] ?? ''];
      if (!other || other.shape.join() !== input.shape.join() || output.shape.join() !== input.shape.join()) fail('Add inputs and output must have one shape');
      if (layer.inputZeroPoints[1] !== other?.quant.zeroPoint) fail('second input zero point differs from its tensor');
      for (const m of layer.inputMultipliers) if (!Number.isInteger(m) || m < 0 || m > MULTIPLIER_MAX) fail(`input multiplier ${m} is not an integer 0..${MULTIPLIER_MAX}`);
      if (layer.requant.multiplier.some((m) => m !== 1)) fail('Add carries its multipliers per input; the requantization multiplier must be 1');
      return;
    }
  }
}

function checkRequant(r: Requantization, output: QuantTensor, fail: (m: string) => never): void {
  const channels = output.shape[0];
  if (r.multiplier.length !== channels || r.shift.length !== channels) fail(`requantization has ${r.multiplier.length} multipliers / ${r.shift.length} shifts for ${channels} channels`);
  for (const m of r.multiplier) if (!Number.isInteger(m) || m < 0 || m > MULTIPLIER_MAX) fail(`multiplier ${m} is not an integer 0..${MULTIPLIER_MAX}`);
  for (const s of r.shift) if (!Number.isInteger(s) || s < 1 || s > SHIFT_MAX) fail(`shift ${s} is not an integer 1..${SHIFT_MAX}`);
  if (r.negative) {
    const n = r.negative;
    if (n.multiplier.length !== channels || n.shift.length !== channels) fail(`negative-side requantization has ${n.multiplier.length} multipliers / ${n.shift.length} shifts for ${channels} channels`);
    for (const m of n.multiplier) if (!Number.isInteger(m) || m < 0 || m > MULTIPLIER_MAX) fail(`negative-side multiplier ${m} is not an integer 0..${MULTIPLIER_MAX}`);
    for (const s of n.shift) if (!Number.isInteger(s) || s < 1 || s > SHIFT_MAX) fail(`negative-side shift ${s} is not an integer 1..${SHIFT_MAX}`);
  }
  const { min, max } = qRange(output.quant);
  if (r.outputZeroPoint !== output.quant.zeroPoint) fail(`output zero point ${r.outputZeroPoint} differs from tensor '${output.name}'`);
  if (!(min <= r.clampMin && r.clampMin <= r.clampMax && r.clampMax <= max)) fail(`clamp [${r.clampMin}, ${r.clampMax}] is not inside the output range [${min}, ${max}]`);
}

function checkWindow(
  kernel: readonly [number, number], stride: readonly [number, number], pads: readonly [number, number, number, number],
  input: QuantTensor, output: QuantTensor, fail: (m: string) => never,
): void {
  const outH = Math.floor((input.shape[1] + pads[0] + pads[2] - kernel[0]) / stride[0]) + 1;
  const outW = Math.floor((input.shape[2] + pads[1] + pads[3] - kernel[1]) / stride[1]) + 1;
  if (outH !== output.shape[1] || outW !== output.shape[2]) fail(`window gives ${outH}x${outW}, output tensor is ${output.shape[1]}x${output.shape[2]}`);
}

function checkWeights(
  weights: readonly number[], count: number, bits: number, scale: readonly number[], bias: readonly number[], channels: number,
  fail: (m: string) => never,
): void {
  if (weights.length !== count) fail(`${weights.length} weights, shape needs ${count}`);
  const limit = 2 ** (bits - 1) - 1;
  for (const w of weights) if (!Number.isInteger(w) || Math.abs(w) > limit) fail(`weight ${w} is not an integer of ${bits} signed bits`);
  if (scale.length !== channels || bias.length !== channels) fail(`${scale.length} weight scales and ${bias.length} biases for ${channels} channels`);
  for (const b of bias) if (!Number.isSafeInteger(b)) fail(`bias ${b} is not an exact integer`);
}
