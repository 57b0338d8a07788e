/**
 * A readable text form of a QuantizedGraph that diffs cleanly: one line per tensor and per layer, with
 * the quantization that matters to a reviewer (zero points, clamp, the range of M and s, weight widths);
 * the full integers are in the JSON form (serialize.ts).
 */
import type { QLayer, QuantizedGraph, QuantParams, Requantization } from './ir.js';
import { multiplierBits } from './fixed-point.js';

/** Widths of a layer's multipliers M (min and max over channels; Add: over its input multipliers). */
export function multiplierWidths(l: QLayer): { min: number; max: number } {
  const widths = (l.kind === 'add' ? l.inputMultipliers : l.requant.multiplier).map(multiplierBits);
  return { min: Math.min(...widths), max: Math.max(...widths) };
}

/** "16" or "14..31": the width span of multiplierWidths. */
export function formatMultiplierWidths(l: QLayer): string {
  const { min, max } = multiplierWidths(l);
  return min === max ? String(min) : `${min}..${max}`;
}

export function printQuantizedGraph(qg: QuantizedGraph): string {
  const lines = [
    `quantized ${qg.source.file} (${qg.origin}${qg.calibration ? `, ${qg.calibration.method} on ${qg.calibration.images} image(s), w${qg.calibration.weightBits} a${qg.calibration.actBits}` : ''})`,
    `input ${qg.input.name} [${qg.input.shape.join(',')}] -> ${qg.input.tensor}`,
    ...Object.values(qg.tensors).map((t) => `tensor ${t.name} [${t.shape.join(',')}] ${quant(t.quant)}`),
    ...qg.layers.map(layerLine),
    `output ${qg.output}${qg.softmaxOutside ? ' (softmax outside)' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

function quant(q: QuantParams): string {
  return `${q.signed ? 'i' : 'u'}${q.bits} scale=${q.scale.toPrecision(6)} zp=${q.zeroPoint}`;
}

function requant(r: Requantization): string {
  const span = (xs: readonly number[]): string => {
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return lo === hi ? String(lo) : `${lo}..${hi}`;
  };
  const negative = r.negative ? ` below0 M=${span(r.negative.multiplier)} s=${span(r.negative.shift)}` : '';
  return `M=${span(r.multiplier)} s=${span(r.shift)}${negative} zo=${r.outputZeroPoint} clamp=[${r.clampMin},${r.clampMax}]`;
}

function layerLine(l: QLayer): string {
  const head = `layer ${l.index} ${l.kind} ${JSON.stringify(l.name)} ${l.inputs.join('+')} -> ${l.output} Mbits=${formatMultiplierWidths(l)}`;
  switch (l.kind) {
    case 'conv':
      return `${head} w[${l.weightShape.join(',')}]/g${l.group} k${l.kernel.join('x')} s${l.stride.join('x')}${l.dilation.every((d) => d === 1) ? '' : ` d${l.dilation.join('x')}`} pads[${l.pads.join(',')}] w${l.weightBits}b zi=${l.inputZeroPoint} ${requant(l.requant)}`;
    case 'gemm':
      return `${head} w[${l.weightShape.join(',')}] w${l.weightBits}b zi=${l.inputZeroPoint} ${requant(l.requant)}`;
    case 'maxpool':
    case 'avgpool':
      return `${head} k${l.kernel.join('x')} s${l.stride.join('x')}${l.dilation.every((d) => d === 1) ? '' : ` d${l.dilation.join('x')}`} pads[${l.pads.join(',')}] zi=${l.inputZeroPoint} ${requant(l.requant)}${
        l.borderDivisors ? ` border ${l.borderDivisors.map((d) => `n${d.count}:M=${d.multiplier},s=${d.shift}`).join(' ')}` : ''}`;
    case 'globalavgpool':
      return `${head} zi=${l.inputZeroPoint} ${requant(l.requant)}`;
    case 'add':
      return `${head} zi=${l.inputZeroPoints.join(',')} Mi=${l.inputMultipliers.join(',')} ${requant(l.requant)}`;
  }
}
