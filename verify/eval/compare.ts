/**
 * Agreement between the integer model and a float reference (ONNX Runtime), accumulated over images:
 * SQNR of the dequantized integer output, absolute differences, and agreement in LSBs of the tensor's
 * quantization (for QDQ models, whose ORT run is itself quantized).
 */
import { quantizeReal } from '../../generator/quant/fixed-point.js';
import type { QuantTensor } from '../../generator/quant/ir.js';

export interface LayerAgreement {
  readonly tensor: string;
  readonly values: number;
  /** 10 log10(sum ref^2 / sum (ref - deq)^2); Infinity when equal. */
  readonly sqnrDb: number;
  readonly maxAbsDiff: number;
  readonly meanAbsDiff: number;
  /** Fraction of values whose integer differs by at most 1 from the reference quantized to the tensor's grid. */
  readonly within1Lsb: number;
  /** Fraction of values equal to the reference quantized to the tensor's grid. */
  readonly exact: number;
  /** Largest integer difference against the reference quantized to the tensor's own scale. */
  readonly maxLsbDiff: number;
}

export class AgreementAccumulator {
  private signal = 0;
  private noise = 0;
  private maxAbs = 0;
  private sumAbs = 0;
  private count = 0;
  private near = 0;
  private same = 0;
  private maxLsb = 0;

  constructor(readonly tensor: QuantTensor) {}

  /** `q`: the integer model's values; `reference`: the float reference's values of the same tensor. */
  add(q: Int32Array, reference: Float32Array): void {
    const { scale, zeroPoint } = this.tensor.quant;
    for (let i = 0; i < q.length; i++) {
      const ref = reference[i] as number;
      const deq = scale * ((q[i] as number) - zeroPoint);
      const d = Math.abs(ref - deq);
      this.signal += ref * ref;
      this.noise += d * d;
      this.sumAbs += d;
      if (d > this.maxAbs) this.maxAbs = d;
      // The reference on the tensor's integer grid, as QuantizeLinear puts it there (round half to even,
      // saturate): for a QDQ model this is exactly the integer ONNX Runtime passes to the next layer.
      const lsb = Math.abs(quantizeReal(ref, this.tensor.quant) - (q[i] as number));
      if (lsb <= 1) this.near++;
      if (lsb === 0) this.same++;
      if (lsb > this.maxLsb) this.maxLsb = lsb;
    }
    this.count += q.length;
  }

  result(): LayerAgreement {
    return {
      tensor: this.tensor.name,
      values: this.count,
      sqnrDb: sqnrDb(this.signal, this.noise),
      maxAbsDiff: this.maxAbs,
      meanAbsDiff: this.count ? this.sumAbs / this.count : 0,
      within1Lsb: this.count ? this.near / this.count : 1,
      exact: this.count ? this.same / this.count : 1,
      maxLsbDiff: this.maxLsb,
    };
  }
}

export function sqnrDb(signal: number, noise: number): number {
  if (noise === 0) return Infinity;
  if (signal === 0) return -Infinity;
  return 10 * Math.log10(signal / noise);
}

/** Index of the largest value (first on ties). */
export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if ((values[i] as number) > (values[best] as number)) best = i;
  return best;
}

/** Every index holding the largest value: a quantized output can tie, and then each is a valid top-1. */
export function topClasses(values: ArrayLike<number>): number[] {
  const best = values[argmax(values)];
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) if (values[i] === best) out.push(i);
  return out;
}
