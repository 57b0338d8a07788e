/**
 * Names from the model never reach Verilog or a testbench unescaped: node and tensor names that are
 * Verilog keywords, unicode, 300 characters long, or equal once legalized ('dup a', 'dup-a'; ONNX Runtime
 * itself refuses literally equal node names), through the real FFE core: the design
 * lints clean, simulates bit-exactly in Icarus, and no file but the manifest and the model copy carries
 * the raw names.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDesign } from '../../generator/design/read-design.js';
import { partOf } from '../../generator/design/manifest.js';
import { describeMismatch, verifyDesign } from '../../verify/ffe/index.js';
import { lint } from '../../verify/sim/index.js';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { generate, rtlOf } from './ladder.js';

const LONG = `layer_${'x'.repeat(294)}`;
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-hostile-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function hostileModel(file: string): string {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('input', [1, 1, 28, 28]);
  const w0 = b.initializer('w0', randomFloats(4 * 9, 1), [4, 1, 3, 3]);
  const w1 = b.initializer('w1', randomFloats(4 * 9, 2), [4, 1, 3, 3]);
  const w2 = b.initializer('w2', randomFloats(3 * 4, 3), [3, 4, 1, 1]);
  const bias = b.initializer('bias', randomFloats(4, 4, 0.2), [4]);
  b.node('Conv', ['input', w0, bias], ['wire'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'module');
  b.node('Relu', ['wire'], ['always @(posedge clk)'], {}, 'dup a');
  b.node('Conv', ['always @(posedge clk)', w1], ['ünïcødé €'], { kernel_shape: [3, 3], pads: [0, 1, 2, 1], strides: [2, 2], group: 4 }, 'dup-a');
  const lo = b.floats('lo', [0], []);
  const hi = b.floats('hi', [6], []);
  b.node('Clip', ['ünïcødé €', lo, hi], ['endmodule'], {}, 'ünïcødé €');
  b.node('Conv', ['endmodule', w2], [LONG], { kernel_shape: [1, 1] }, LONG);
  b.output(LONG);
  return b.save(file);
}

describe('hostile names through the real FFE core', () => {
  it('are legalized everywhere, and the design is lint clean and bit-exact', async () => {
    const out = path.join(work, 'design');
    await generate(hostileModel(path.join(work, 'hostile.onnx')), { fixedLayers: '3', out });
    const { manifest } = readDesign(out);
    const { layers } = partOf(manifest, 'ffe');
    expect(layers.map((l) => l.name)).toEqual(expect.arrayContaining(['module', LONG]));
    const taps = layers.map((l) => l.tap);
    expect(new Set(taps).size).toBe(taps.length);
    for (const dir of ['rtl', 'tb']) {
      for (const file of readdirSync(path.join(out, dir))) {
        const text = readFileSync(path.join(out, dir, file), 'utf8');
        expect(text, file).not.toContain('ünïcødé');
        expect(text, file).not.toContain('x'.repeat(100));
        expect(text, file).not.toMatch(/\bmodule module\b|\bwire wire\b/);
        expect(/[^\x00-\x7f]/.test(text), file).toBe(false);
      }
    }
    const { files, top } = rtlOf(out);
    expect(await lint(files, top)).toEqual([]);
    const s = await verifyDesign(out, { simulator: 'icarus', images: 2 });
    expect(s.mismatches, s.firstMismatch ? describeMismatch(s.firstMismatch) : '').toBe(0);
  });
});
