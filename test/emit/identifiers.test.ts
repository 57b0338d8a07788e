import { describe, expect, it } from 'vitest';
import { MAX_IDENTIFIER_LENGTH, NameScope, isLegalIdentifier, verilogIdentifier } from '../../generator/emit/index.js';

describe('verilogIdentifier', () => {
  it('keeps plain names and fixes everything else readably', () => {
    expect(verilogIdentifier('conv0_weight')).toBe('conv0_weight');
    expect(verilogIdentifier('module')).toBe('module_v');
    expect(verilogIdentifier('always_ff')).toBe('always_ff_v');
    expect(verilogIdentifier('delete')).toBe('delete_v'); // C++ keyword: Verilator would warn
    expect(verilogIdentifier('/features/features.0/Conv_output_0')).toBe('features_features_0_Conv_output_0');
    expect(verilogIdentifier('3x3 conv')).toBe('n3x3_conv');
    expect(verilogIdentifier('Café_Größe')).toBe('Cafe_Gro_e');
    expect(verilogIdentifier('层1')).toBe('n1');
    expect(verilogIdentifier('')).toBe('n');
    expect(verilogIdentifier('\\escaped ')).toBe('escaped');
    expect(verilogIdentifier('a;b/*c*/ end')).toBe('a_b_c_end');
  });

  it('shortens very long names and keeps them distinct', () => {
    const a = verilogIdentifier('x'.repeat(300));
    const b = verilogIdentifier(`${'x'.repeat(299)}y`);
    expect(a.length).toBeLessThanOrEqual(MAX_IDENTIFIER_LENGTH);
    expect(b.length).toBeLessThanOrEqual(MAX_IDENTIFIER_LENGTH);
    expect(a).not.toBe(b);
    expect(a.startsWith('xxxxxxxx')).toBe(true);
  });

  it('always returns a legal identifier', () => {
    const nasty = ['wire', 'reg[3:0]', '   ', '__init__', '_', '123', 'a__b', 'π', '🙂🙂', 'NULL', 'int', 'end;', 'x'.repeat(500), 'a\nb', '$display'];
    for (const raw of nasty) expect(isLegalIdentifier(verilogIdentifier(raw)), `${JSON.stringify(raw)} -> ${verilogIdentifier(raw)}`).toBe(true);
  });
});

describe('NameScope', () => {
  it('makes duplicates unique, deterministically, and respects reserved names', () => {
    const names = ['conv', 'conv', 'conv!', 'CONV', 'conv_2', 'unused_ok'];
    const claim = () => {
      const scope = new NameScope(['unused_ok']);
      return names.map((n) => scope.claim(n));
    };
    const first = claim();
    expect(first).toEqual(['conv', 'conv_2', 'conv_3', 'CONV_4', 'conv_2_2', 'unused_ok_2']);
    expect(claim()).toEqual(first);
    expect(new Set(first.map((n) => n.toLowerCase())).size).toBe(first.length);
  });

  it('keeps duplicates of 300-character names within the length limit', () => {
    const scope = new NameScope();
    const long = 'layer'.repeat(60);
    const got = [scope.claim(long), scope.claim(long), scope.claim(long)];
    expect(new Set(got).size).toBe(3);
    for (const g of got) expect(isLegalIdentifier(g)).toBe(true);
  });
});
