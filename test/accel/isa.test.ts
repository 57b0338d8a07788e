import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DOC_BEGIN, DOC_END, isaTableMarkdown } from '../../generator/accel/isa-doc.js';
import { decode, encode, fieldRange, ISA, IsaError, make, type Instruction, type OpName, WORD_BITS } from '../../generator/accel/isa.js';

/** A random legal instruction of every opcode, from the table alone. */
const anyInstruction: fc.Arbitrary<Instruction> = fc.constantFrom(...ISA).chain((spec) =>
  fc.record({
    values: fc.tuple(...spec.fields.map((f) => { const r = fieldRange(f); return fc.integer({ min: r.min, max: r.max }); }), fc.constant(0)),
    deps: fc.record({ popPrev: fc.boolean(), popNext: fc.boolean(), pushPrev: fc.boolean(), pushNext: fc.boolean() }),
  }).map(({ values, deps }) => make(spec.name as OpName, Object.fromEntries(spec.fields.map((f, i) => [f.name, values[i] as number])) as never, deps) as Instruction));

describe('the ISA table', () => {
  it('fields do not overlap and fit 128 bits', () => {
    for (const op of ISA) {
      let next = 8;
      for (const f of op.fields) { expect(f.lsb).toBe(next); next += f.width; }
      expect(next).toBeLessThanOrEqual(WORD_BITS);
    }
    expect(new Set(ISA.map((o) => o.code)).size).toBe(ISA.length);
  });

  it('encode/decode round trip on random instructions of every opcode', () => {
    fc.assert(fc.property(anyInstruction, (ins) => {
      const word = encode(ins);
      expect(word >> 128n).toBe(0n);
      expect(decode(word)).toEqual(ins);
    }), { numRuns: 3000 });
  });

  it('extreme field values survive (all ones, most negative)', () => {
    const ins = make('setq', { zpA: -65536, zpB: 65535, zo: -1, lo: -65536, hi: 65535, aSigned: 1, bSigned: 1 }, { popPrev: true, pushNext: true });
    expect(decode(encode(ins))).toEqual(ins);
    const ld = make('load', { mem: 3, sramAddr: 65535, memAddr: 2 ** 32 - 1, ySize: 4095, xSize: 4095, memStride: 2 ** 24 - 1, sramStride: 65535 });
    expect(decode(encode(ld))).toEqual(ld);
  });

  it('refuses out-of-range values, unknown opcodes and nonzero unused bits', () => {
    expect(() => make('gemm', { nOy: 4096 })).toThrow(IsaError);
    expect(() => make('setq', { zo: 65536 })).toThrow(IsaError);
    expect(() => make('gemm', { bogus: 1 } as never)).toThrow(/no field/);
    expect(() => decode(10n)).toThrow(/illegal opcode 10/);
    expect(() => decode(encode(make('finish', {})) | (1n << 100n))).toThrow(/nonzero bits/);
    expect(() => decode(1n << 128n)).toThrow(IsaError);
  });

  it('docs/isa.md holds the current encoding tables', () => {
    const doc = fs.readFileSync(new URL('../../docs/isa.md', import.meta.url), 'utf8');
    const begin = doc.indexOf(DOC_BEGIN);
    const end = doc.indexOf(DOC_END);
    expect(begin).toBeGreaterThan(0);
    expect(doc.slice(begin + DOC_BEGIN.length, end).trim()).toBe(isaTableMarkdown().trim());
  });
});
