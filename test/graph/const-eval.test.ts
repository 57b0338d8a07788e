/** Constant folding: the ops PyTorch's Shape chains use, broadcasting, and Q/DQ of weights. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { broadcastShapes, broadcastTo, evaluate, resolveReshape, roundHalfEven } from '../../generator/graph/const-eval.js';
import { makeTensor } from '../../generator/onnx/tensor.js';

const c = (dtype: Parameters<typeof makeTensor>[0], dims: number[], data: number[]) => ({ tensor: makeTensor(dtype, dims, data) });

describe('constant folding', () => {
  it('broadcasts like numpy: every output element reads the source at its index modulo the size-1 axes', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }), fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }), (shape, squash) => {
        const src = shape.map((d, i) => (squash[i] ? 1 : d));
        const t = makeTensor('float32', src, Array.from({ length: src.reduce((p, d) => p * d, 1) }, (_, i) => i));
        expect(broadcastShapes(src, shape)).toEqual(shape);
        const out = broadcastTo(t, shape);
        const idx = new Array<number>(shape.length).fill(0);
        for (let flat = 0; flat < out.length; flat++) {
          let source = 0;
          src.forEach((d, axis) => { source = source * d + (d === 1 ? 0 : idx[axis] ?? 0); });
          expect(out[flat]).toBe(source);
          for (let axis = shape.length - 1; axis >= 0; axis--) {
            idx[axis] = (idx[axis] ?? 0) + 1;
            if ((idx[axis] ?? 0) < (shape[axis] ?? 1)) break;
            idx[axis] = 0;
          }
        }
      }),
    );
    expect(() => broadcastShapes([2, 3], [4, 3])).toThrow(/do not broadcast/);
  });

  it('folds Gather / Unsqueeze / Concat / Reshape as PyTorch exports them', () => {
    const shape = c('int64', [4], [1, 32, 7, 7]);
    const n = evaluate('Gather', { axis: 0 }, [shape, c('int64', [], [0])], 13);
    expect(n.tensor.dims).toEqual([]);
    expect(Array.from(n.tensor.data)).toEqual([1]);
    const n1 = evaluate('Unsqueeze', {}, [n, c('int64', [1], [0])], 13);
    expect(n1.tensor.dims).toEqual([1]);
    const target = evaluate('Concat', { axis: 0 }, [n1, c('int64', [1], [-1])], 13);
    expect(Array.from(target.tensor.data)).toEqual([1, -1]);
    expect(resolveReshape([1, 32, 7, 7], [1, -1])).toEqual([1, 1568]);
    expect(resolveReshape([1, 32, 7, 7], [0, -1])).toEqual([1, 1568]);
    expect(() => resolveReshape([1, 32, 7, 7], [3, -1])).toThrow(/cannot reshape 1568/);
    expect(Array.from(evaluate('Gather', { axis: 0 }, [shape, c('int64', [2], [-1, 1])], 13).tensor.data)).toEqual([7, 32]);
    expect(() => evaluate('Gather', {}, [shape, c('int64', [], [4])], 13)).toThrow(/out of range/);
  });

  it('dequantizes weights per channel keeping q - zp, and quantizes with round half to even', () => {
    const q = c('uint8', [2, 2], [10, 20, 130, 140]);
    const dq = evaluate('DequantizeLinear', { axis: 0 }, [q, c('float32', [2], [0.5, 0.25]), c('uint8', [2], [10, 128])], 13);
    expect(Array.from(dq.quant?.int ?? [])).toEqual([0, 10, 2, 12]);
    expect(Array.from(dq.tensor.data)).toEqual([0, 5, 0.5, 3]);
    expect(dq.quant?.axis).toBe(0);
    const requant = evaluate('QuantizeLinear', {}, [c('float32', [4], [0.5, 1.5, 2.5, -2.5]), c('float32', [], [1]), c('int8', [], [0])], 13);
    expect(Array.from(requant.tensor.data)).toEqual([0, 2, 2, -2]);
    expect([roundHalfEven(0.5), roundHalfEven(1.5), roundHalfEven(-0.5), roundHalfEven(-1.5), roundHalfEven(2.4)]).toEqual([0, 2, -0, -2, 2]);
    expect(() => evaluate('DequantizeLinear', {}, [q, c('float32', [], [0])], 13)).toThrow(/scale 0 is not a positive/);
  });
});
