/**
 * The cost model (generator/hdl/stats.ts, docs/costs.md) checked independently of the DSL: a small
 * parser of its own reads the EMITTED Verilog (declarations, `wire x = ...;` / `assign x = ...;`
 * statements, a register group's block with its variables and `x = ...;` statements, instances) and recounts adders and their bits, comparators, constant multipliers,
 * register bits and memory bits per module, then over the hierarchy; the figures must equal the
 * manifest's (the whole design, and each layer's unit), on the example model at K = 1 and 3 with every
 * arithmetic, and on pooling and residual networks.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { ffeCore, type CoreDesign, type CoreLayer } from '../../generator/design/core.js';
import { partOf } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { DEFAULT_MNIST_CALIBRATION, mnistCalibration } from '../../generator/data/index.js';
import type { ArithStrategy, LayerCost } from '../../generator/ffe/index.js';
import { importDecoded } from '../../generator/import/index.js';
import { readOnnxFile } from '../../generator/onnx/decode.js';
import { quantizeModel } from '../../generator/calibrate/quantize-model.js';
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import { poolChain, residualGraph } from '../ffe/networks.js';
import { quietly } from '../helpers/quietly.js';

const MODEL = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../examples/mnist-mobilenet/model.onnx');

/** What the parser recounts (the manifest's names). */
interface Recount {
  adders: number;
  adderBits: number;
  comparators: number;
  multipliers: number;
  registerBits: number;
  memoryBits: number;
}

interface ParsedModule {
  readonly own: Recount;
  /** Module names of the instances, one entry per instance. */
  readonly instances: string[];
}

const ZERO: Recount = { adders: 0, adderBits: 0, comparators: 0, multipliers: 0, registerBits: 0, memoryBits: 0 };

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/\/\/[^\n]*/g, '');
}

/** Width of `[hi:lo]` (1 when absent). */
function widthOf(range: string | undefined): number {
  if (range === undefined) return 1;
  const m = /\[(\d+):(\d+)\]/.exec(range);
  if (!m) throw new Error(`parser: range ${range}`);
  return Number(m[1]) - Number(m[2]) + 1;
}

/** Operators of one right-hand side, literals removed first (a negative literal is `(-8'sd5)`). */
function operatorsOf(rhs: string): { plus: number; minus: number; times: number; ordering: number } {
  const bare = rhs
    .replace(/\(-\d+'s?[dbh][0-9a-fA-F_]+\)/g, ' L ')
    .replace(/\d+'s?[dbh][0-9a-fA-F_]+/g, ' L ')
    .replace(/\[[^\]]*\]/g, ''); // bit selects hold ':' and digits only, never an operator we count
  const count = (re: RegExp): number => (bare.match(re) ?? []).length;
  return {
    plus: count(/\+/g),
    minus: count(/-/g),
    times: count(/\*/g),
    // <, <=, >, >= (the printer emits no shifts; == and != have no carry chain and are not counted).
    ordering: count(/[<>]=?/g),
  };
}

/** One emitted file: its module's own figures and its instances. */
function parseModule(text: string, knownModules: ReadonlySet<string>): { name: string; parsed: ParsedModule } {
  const code = stripComments(text);
  const name = /\bmodule\s+(\w+)/.exec(code)?.[1];
  if (name === undefined) throw new Error('parser: no module');
  const widths = new Map<string, number>();
  const own = { ...ZERO };
  // Variables of a named block (`begin : name` then its declarations) hold combinational values.
  const locals = new Set<string>();
  for (const m of code.matchAll(/begin\s*:\s*\w+\s*\n((?:\s*reg\b[^;]*;\s*\n)*)/g)) {
    for (const d of m[1]!.matchAll(/(\w+)\s*;/g)) locals.add(d[1]!);
  }
  // Declarations: ports, wires, regs; a reg with an unpacked range is a memory.
  for (const m of code.matchAll(/\b(input|output)?\s*\b(wire|reg)\s+(signed\s+)?(\[\d+:\d+\]\s*)?(\w+)\s*(\[0:(\d+)\])?/g)) {
    const [, , kind, , range, id, memory, last] = m;
    const w = widthOf(range);
    widths.set(id!, w);
    if (kind === 'reg' && !locals.has(id!)) {
      if (memory !== undefined) own.memoryBits += (Number(last) + 1) * w;
      else own.registerBits += w;
    }
  }
  // Combinational statements: `wire [..] x = rhs;`, `assign x = rhs;` and a block variable's `x = rhs;`.
  for (const m of code.matchAll(/(?:^|\n)\s*(?:wire\s+(?:signed\s+)?(?:\[\d+:\d+\]\s*)?(\w+)|assign\s+(\w+)|(\w+))\s*=([^;]*);/g)) {
    const target = (m[1] ?? m[2] ?? m[3])!;
    if (m[3] !== undefined && !locals.has(target)) throw new Error(`parser: blocking assignment to '${target}', not a block variable`);
    const ops = operatorsOf(m[4]!);
    const adders = ops.plus + ops.minus;
    own.adders += adders;
    own.adderBits += adders * (widths.get(target) ?? NaN);
    own.multipliers += ops.times;
    own.comparators += ops.ordering;
  }
  const instances: string[] = [];
  for (const m of code.matchAll(/(?:^|\n)\s*(\w+)\s+(?:#\([\s\S]*?\)\s*)?(\w+)\s*\(/g)) {
    if (knownModules.has(m[1]!) && m[1] !== name) instances.push(m[1]!);
  }
  return { name, parsed: { own, instances } };
}

/** Every module's figures with its instances, from the emitted files alone. */
function recountDesign(files: ReadonlyArray<{ readonly name: string; readonly text: string }>): Map<string, Recount> {
  const names = new Set(files.map((f) => f.name.replace(/\.v$/, '')));
  const modules = new Map(files.map((f) => {
    const { name, parsed } = parseModule(f.text, names);
    return [name, parsed] as const;
  }));
  const totals = new Map<string, Recount>();
  const total = (name: string): Recount => {
    const hit = totals.get(name);
    if (hit) return hit;
    const m = modules.get(name);
    if (!m) throw new Error(`parser: no module ${name}`);
    const sum = m.instances.map(total).reduce((a, c) => ({
      adders: a.adders + c.adders, adderBits: a.adderBits + c.adderBits, comparators: a.comparators + c.comparators,
      multipliers: a.multipliers + c.multipliers, registerBits: a.registerBits + c.registerBits, memoryBits: a.memoryBits + c.memoryBits,
    }), m.own);
    totals.set(name, sum);
    return sum;
  };
  for (const name of modules.keys()) total(name);
  return totals;
}

function recounted(c: LayerCost): Recount {
  return { adders: c.adders, adderBits: c.adderBits, comparators: c.comparators, multipliers: c.multipliers, registerBits: c.registerBits, memoryBits: c.memoryBits };
}

/** The whole and every layer unit without a skip FIFO beside it (an Add's FIFO is a separate instance of the top). */
function expectSameCounts(design: Pick<CoreDesign, 'files' | 'top' | 'cost'> & { layers: ReadonlyArray<Omit<CoreLayer, 'probe'>> }, label: string): void {
  const counts = recountDesign(design.files);
  expect(counts.get(design.top), `${label}: whole design`).toEqual(recounted(design.cost));
  for (const layer of design.layers) {
    if (layer.cost.adders === 0 && layer.cost.registerBits === 0) continue; // a layer fused inside its unit
    if (layer.kind === 'add') continue;
    expect(counts.get(layer.module), `${label}: layer ${layer.index} ${layer.name} (${layer.module})`).toEqual(recounted(layer.cost));
  }
}

const header = { modelFile: 'm.onnx', modelSha256: '0'.repeat(64), options: {} };
const core = (graph: QuantizedGraph, k: number, arith: ArithStrategy): CoreDesign => ffeCore(graph, k, { arith, pipeline: 0, rawInput: false, header });

let work: string;
let example: QuantizedGraph;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-costs-'));
  const onnx = readOnnxFile(MODEL);
  example = await quantizeModel(onnx, importDecoded(onnx), { calibImages: mnistCalibration(DEFAULT_MNIST_CALIBRATION).images });
}, 120_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('cost figures recounted from the emitted Verilog', () => {
  it('the parser counts what it reads (a hand-written module)', () => {
    const text = [
      'module m (', '  input wire [7:0] a,', '  output wire [8:0] y', ');', '',
      'reg [3:0] r;', 'reg [7:0] mem [0:15];', "wire [8:0] t0_add = {1'b0, a} + 9'd3;", "wire signed [9:0] t1 = (-10'sd4) - {2'd0, a};",
      "assign y = a * 9'd5;", "wire t2 = $signed(t1) < $signed(10'sd0);", "wire t3 = r == 4'd2;", 'endmodule', '',
    ].join('\n');
    expect(recountDesign([{ name: 'm.v', text }]).get('m')).toEqual({ adders: 2, adderBits: 19, comparators: 1, multipliers: 1, registerBits: 4, memoryBits: 128 });
  });

  it('equals the manifest of a generated design (the example at K = 3, shared)', async () => {
    const out = path.join(work, 'k3');
    await quietly(() => runGenerate(MODEL, { fixedLayers: '3', out }));
    const { manifest } = readDesign(out);
    const files = manifest.rtl.map((r) => ({ name: path.basename(r), text: readFileSync(path.join(out, r), 'utf8') }));
    const ffe = partOf(manifest, 'ffe');
    expectSameCounts({ files, top: manifest.top.module, cost: manifest.cost, layers: ffe.layers }, 'manifest K=3');
    expect(manifest.cost.productAdders).toBeGreaterThan(0);
    expect(manifest.cost.productAdders).toBeLessThan(manifest.cost.adders);
  }, 120_000);

  for (const k of [1, 3]) {
    for (const arith of ['shared', 'csd', 'multiply'] as const) {
      it(`the example at K = ${k}, ${arith}`, () => {
        const d = core(example, k, arith);
        expectSameCounts(d, `K=${k} ${arith}`);
        if (arith === 'multiply') expect(d.cost.multipliers).toBeGreaterThan(0);
        else expect(d.cost.multipliers).toBe(0);
      }, 60_000);
    }
  }

  it('pooling chains (max and average pooling, global pooling, Gemm) and a residual block', () => {
    expectSameCounts(core(poolChain(5, 'maxpool', 7, 9, [3, 3], [2, 2], [1, 1, 1, 1]), 3, 'shared'), 'maxpool chain');
    expectSameCounts(core(poolChain(6, 'avgpool', 5, 6, [3, 3], [1, 1], [1, 0, 1, 2]), 3, 'csd'), 'avgpool chain');
    const residual = residualGraph(7, 6, 5, false);
    expectSameCounts(core(residual, residual.layers.length, 'shared'), 'residual block');
    expectSameCounts(core(residual, residual.layers.length, 'multiply'), 'residual block, multiply');
  });
});
