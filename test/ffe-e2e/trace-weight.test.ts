/**
 * The README's "Tracing a weight to its adders" holds, checked from outside the generator: build a QDQ
 * model, change one stored integer weight w[o][c][ky][kx], regenerate, and diff the Verilog. Every
 * statement that changed must define a name the README's method computes from (layer, o, c, ky, kx)
 * alone — no generator table is consulted — and the product's output comment must show the new weight.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OnnxBuilder, randomFloats } from '../helpers/onnx-builder.js';
import { generate } from './ladder.js';

const work = mkdtempSync(path.join(tmpdir(), 'fixynn-trace-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const [OUT_C, IN_C, KH, KW] = [4, 2, 3, 3];
/** The traced weight: w[o][c][ky][kx] of layer 0. */
const [O, C, KY, KX] = [2, 1, 0, 2];

/** Two QDQ conv layers; `bump` adds that many quantization steps to the traced float weight. */
function model(file: string, bump: number): { file: string; weightsQ: readonly number[] } {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('x', [1, IN_C, 10, 10]);
  const weights = randomFloats(OUT_C * IN_C * KH * KW, 11, 0.5);
  const flat = ((O * IN_C + C) * KH + KY) * KW + KX;
  // One step of channel O's per-channel scale (max |w| / 127); the weight stays below the maximum, so
  // the scale, the bias and every other integer weight stay as they were.
  const row = weights.subarray(O * IN_C * KH * KW, (O + 1) * IN_C * KH * KW);
  const step = Math.max(...row.map(Math.abs)) / 127;
  weights[flat] = weights[flat]! + bump * step;
  const c0 = b.qdqConv({
    name: 'c0', input: 'x', inputQuant: { scale: 1 / 64, zeroPoint: 128, type: 'uint8' },
    weights, weightShape: [OUT_C, IN_C, KH, KW], weightQuant: { type: 'int8', perChannel: true },
    bias: randomFloats(OUT_C, 12, 0.3), pads: [1, 1, 1, 1], activation: 'relu',
    outputQuant: { scale: 4 / 255, zeroPoint: 0, type: 'uint8' },
  });
  const c1 = b.qdqConv({
    name: 'c1', input: c0.output, inputScale: 4 / 255,
    weights: randomFloats(3 * OUT_C * 9, 13, 0.5), weightShape: [3, OUT_C, 3, 3], weightQuant: { type: 'int8', perChannel: true },
    bias: randomFloats(3, 14, 0.3), pads: [1, 1, 1, 1], outputQuant: { scale: 0.05, zeroPoint: 0, type: 'int8' },
  });
  b.output(c1.output, [1, 3, 10, 10]);
  return { file: b.save(file), weightsQ: c0.weightsQ };
}

/**
 * The README's method: the names that carry w[o][c][ky][kx] of layer 0 (an ordinary conv, so the
 * input channel is c), per Verilog file of the design `fixynn_ffe`.
 */
function tracedNames(o: number, c: number, ky: number, kx: number): { input: string; owns: (file: string, name: string) => boolean } {
  const i = (c * KH + ky) * KW + kx;
  const product = (name: string): boolean => name === `y${o}` || name.startsWith(`y${o}_`);
  const layer = (name: string): boolean =>
    name === `conv_cmvm_y${o}` || name === `conv_rq${o}` || name.startsWith(`conv_rq${o}_`);
  return {
    input: `x${i}`,
    owns: (file, name) => (file === 'fixynn_ffe_l0_conv_conv_cmvm.v' ? product(name) : file === 'fixynn_ffe_l0_conv.v' ? layer(name) : false),
  };
}

/** A file as statements: each code line with the comment lines above it; the header is dropped. */
function statements(text: string): string[] {
  const body = text.slice(text.indexOf('\nmodule ') + 1);
  const out: string[] = [];
  let pending: string[] = [];
  for (const line of body.split('\n')) {
    if (line.trimStart().startsWith('//')) pending.push(line);
    else {
      out.push([...pending, line].join('\n'));
      pending = [];
    }
  }
  return out;
}

/** Statements only in `a` and only in `b` (a longest-common-subsequence diff). */
function diff(a: readonly string[], b: readonly string[]): { removed: string[]; added: string[] } {
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let x = a.length - 1; x >= 0; x--) for (let y = b.length - 1; y >= 0; y--) lcs[x]![y] = a[x] === b[y] ? lcs[x + 1]![y + 1]! + 1 : Math.max(lcs[x + 1]![y]!, lcs[x]![y + 1]!);
  const removed: string[] = [];
  const added: string[] = [];
  let x = 0;
  let y = 0;
  while (x < a.length || y < b.length) {
    if (x < a.length && y < b.length && a[x] === b[y]) [x, y] = [x + 1, y + 1];
    else if (y < b.length && (x === a.length || lcs[x]![y + 1]! >= lcs[x + 1]![y]!)) added.push(b[y++]!);
    else removed.push(a[x++]!);
  }
  return { removed, added };
}

const KEYWORDS = new Set(['wire', 'reg', 'signed', 'assign', 'input', 'output']);

/** The name a statement defines: the first identifier of its code line that is not a keyword. */
function definedName(statement: string): string {
  const code = statement.split('\n').pop()!.replace(/\[[^\]]*\]/g, ' ');
  const name = code.match(/[A-Za-z_][A-Za-z0-9_]*/g)?.find((t) => !KEYWORDS.has(t));
  return name ?? code.trim();
}

/** Items of the unused-bits sink, without bit ranges. */
function sinkItems(statement: string): Set<string> {
  return new Set(statement.slice(statement.indexOf('{')).match(/[A-Za-z_][A-Za-z0-9_]*/g) ?? []);
}

async function generateRtl(name: string, bump: number, arith: string): Promise<{ rtl: Map<string, string>; weightsQ: readonly number[] }> {
  const built = model(path.join(work, `${name}.onnx`), bump);
  const out = path.join(work, name);
  await generate(built.file, { fixedLayers: '2', out, arith });
  const dir = path.join(out, 'rtl');
  return { rtl: new Map(readdirSync(dir).sort().map((f) => [f, readFileSync(path.join(dir, f), 'utf8')])), weightsQ: built.weightsQ };
}

/** An unused-bits sink: the module's (`unused_ok`) or a register group's block's (`<block>_unused`). */
function isSink(name: string): boolean {
  return name === 'unused_ok' || name.endsWith('_unused');
}

/** Names defined by the statements that differ, by file (a sink contributes the items that differ). */
function changedNames(before: Map<string, string>, after: Map<string, string>): Map<string, Set<string>> {
  expect([...after.keys()]).toEqual([...before.keys()]);
  const changed = new Map<string, Set<string>>();
  for (const [file, text] of before) {
    const d = diff(statements(text), statements(after.get(file)!));
    const names = new Set<string>();
    const sinks = new Map<string, string[]>();
    for (const s of [...d.removed, ...d.added]) {
      const name = definedName(s);
      // A sink's declaration (`reg <block>_unused;`) changes nothing a reader traces.
      if (isSink(name)) sinks.set(name, [...(sinks.get(name) ?? []), ...(s.includes('{') ? [s] : [])]);
      else names.add(name);
    }
    for (const [sink, found] of sinks) {
      if (found.length === 2) {
        const [a, b] = found.map(sinkItems);
        for (const item of [...a!].filter((n) => !b!.has(n)).concat([...b!].filter((n) => !a!.has(n)))) names.add(item);
      } else for (const s of found) for (const item of sinkItems(s)) if (item !== sink) names.add(item);
    }
    if (names.size > 0) changed.set(file, names);
  }
  return changed;
}

describe('tracing a weight to its adders (README)', () => {
  it('csd: changing w[o][c][ky][kx] changes only the names the README derives from (o, c, ky, kx)', async () => {
    const before = await generateRtl('csd-before', 0, 'csd');
    const after = await generateRtl('csd-after', 3, 'csd');
    const flat = ((O * IN_C + C) * KH + KY) * KW + KX;
    const differs = before.weightsQ.flatMap((w, k) => (w !== after.weightsQ[k] ? [k] : []));
    expect(differs, 'the model change is one integer weight').toEqual([flat]);
    const traced = tracedNames(O, C, KY, KX);
    const changed = changedNames(before.rtl, after.rtl);
    expect([...changed.keys()].sort()).toEqual(['fixynn_ffe_l0_conv.v', 'fixynn_ffe_l0_conv_conv_cmvm.v']);
    for (const [file, names] of changed) for (const name of names) expect(traced.owns(file, name), `${file}: ${name}`).toBe(true);
    expect(changed.get('fixynn_ffe_l0_conv_conv_cmvm.v')).toContain(`y${O}`);
    // The output's comment names the weight at its input: `<w>*x<i>` in the row of y<o>.
    const w = after.weightsQ[flat]!;
    const term = Math.abs(w) === 1 ? traced.input : `${Math.abs(w)}*${traced.input}`;
    const comment = after.rtl.get('fixynn_ffe_l0_conv_conv_cmvm.v')!.match(new RegExp(`// y${O} = ([^\\n]*(\\n//    [^\\n]*)*)`))![1]!;
    const terms = comment.replace(/\n\/\/ +/g, ' ').replace(/ - /g, ' + -').split(' + ');
    expect(terms).toContain(`${w < 0 ? '-' : ''}${term}`);
  }, 120_000);

  it('shared: the change stays inside layer 0, and outside its product module inside channel o', async () => {
    const before = await generateRtl('shared-before', 0, 'shared');
    const after = await generateRtl('shared-after', 3, 'shared');
    const traced = tracedNames(O, C, KY, KX);
    const changed = changedNames(before.rtl, after.rtl);
    for (const file of changed.keys()) expect(['fixynn_ffe_l0_conv.v', 'fixynn_ffe_l0_conv_conv_cmvm.v'], file).toContain(file);
    for (const name of changed.get('fixynn_ffe_l0_conv.v') ?? []) expect(traced.owns('fixynn_ffe_l0_conv.v', name), name).toBe(true);
  }, 120_000);
});
