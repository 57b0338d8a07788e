/**
 * `fixynn synth` (verify/synth) on a tiny design (the stand-in core's pointwise layers): generic cells
 * per module and in total, the content-hash cache, asic area that equals Yosys' own `stat -liberty`, OpenSTA
 * timing, the refusals; the Liberty reader on a small inline library. The ASIC flow (Yosys on sky130 and
 * OpenSTA) and the example at K = 1 are test:full.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import { runGenerate } from '../../generator/commands/generate.js';
import { runSynth } from '../../generator/commands/synth.js';
import { DEFAULT_DRIVE_CELL, DEFAULT_LOAD_PF, yosysScriptPath } from '../../generator/design/handoff.js';
import { readDesign } from '../../generator/design/read-design.js';
import { runTool } from '../../verify/sim/tools.js';
import { prepareLiberty } from '../../verify/synth/liberty-file.js';
import { lookup, readLiberty, wireCapacitance } from '../../verify/synth/liberty.js';
import { type JsonModule, parseMemoryBits, parseStatText, readJsonModule } from '../../verify/synth/netlist.js';
import { DEFAULT_LIBERTY } from '../../verify/synth/synth-design.js';
import { synthUnits, verilogContent } from '../../verify/synth/units.js';
import { FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';
import { pointwiseModel } from '../design/pointwise-model.js';
import { standInFfe } from '../design/stand-in-ffe.js';

let work: string;
let design: string;
const savedCache = process.env.FIXYNN_SYNTH_CACHE;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-synth-test-'));
  process.env.FIXYNN_SYNTH_CACHE = path.join(work, 'cache');
  const model = pointwiseModel(path.join(work, 'pointwise.onnx'));
  design = path.join(work, 'design');
  await quietly(() => runGenerate(model, { fixedLayers: '2', out: design }, standInFfe()));
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.FIXYNN_SYNTH_CACHE;
  else process.env.FIXYNN_SYNTH_CACHE = savedCache;
  rmSync(work, { recursive: true, force: true });
});

const TINY_LIBERTY = `library (tiny) {
  time_unit : "1ns"; voltage_unit : "1V"; leakage_power_unit : "1nW"; capacitive_load_unit(1.0, "pf");
  nom_voltage : 1.2; default_wire_load : "W";
  wire_load("W") { capacitance : 0.5; slope : 2; fanout_length(1, 1.0); fanout_length(2, 3.0); }
  cell (NAND) {
    area : 2.5; cell_leakage_power : 0.01;
    pin (A) { direction : input; capacitance : 0.002;
      internal_power () { rise_power (t1) { index_1("0.1, 0.3"); values("0.001, 0.003"); } fall_power (t1) { index_1("0.1, 0.3"); values("0.002, 0.004"); } } }
    pin (Y) { direction : output; function : "!(A)";
      internal_power () { related_pin : "A";
        rise_power (t2) { index_1("0.1, 0.3"); index_2("0.01, 0.03"); values("1, 2", \\
          "3, 4"); } } }
  }
  cell (DFF) { area : 10; ff (IQ, IQN) { next_state : "D"; clocked_on : "CK"; } pin (CK) { direction : input; clock : true; capacitance : 0.003; } }
}
`;

describe('synth building blocks', () => {
  it('reads a Liberty file: units, areas, pins, tables, wire load', () => {
    const file = path.join(work, 'tiny.lib');
    writeFileSync(file, TINY_LIBERTY);
    const lib = readLiberty(file);
    expect(lib.units).toEqual({ timeNs: 1, capacitancePf: 1, leakageNw: 1, voltage: 1.2 });
    expect(lib.cells.get('NAND')?.area).toBe(2.5);
    expect(lib.cells.get('DFF')?.sequential).toBe(true);
    expect(lib.cells.get('NAND')?.sequential).toBe(false);
    expect(lib.cells.get('DFF')?.pins.get('CK')?.clock).toBe(true);
    const y = lib.cells.get('NAND')?.pins.get('Y')?.internalPower[0];
    expect(y?.relatedPin).toBe('A');
    expect(lookup(y?.rise ?? { index1: [], index2: [], values: [] }, 0.2, 0.02)).toBeCloseTo(2.5, 9);
    expect(lookup(y?.rise ?? { index1: [], index2: [], values: [] }, 9, 9)).toBe(4); // clamped
    expect(lookup(lib.cells.get('NAND')?.pins.get('A')?.internalPower[0]?.fall ?? { index1: [], index2: [], values: [] }, 0.2, 0)).toBeCloseTo(0.003, 9);
    expect(wireCapacitance(lib, 2)).toBeCloseTo(1.5, 9);
    expect(wireCapacitance(lib, 4)).toBeCloseTo((3 + 2 * 2) * 0.5, 9);
  });

  it('parses Yosys stat text per module, leaving black boxes out', () => {
    const text = '=== a ===\n\n   Number of cells:                  3\n     $_AND_                          2\n     sub                             1\n\n   Chip area for module \'\\a\': 12.5\n\n=== design hierarchy ===\n\n   Number of memories:               1\n   Number of memory bits:           64\n';
    expect(parseStatText(text, 'a', ['sub'])).toEqual({ cells: 2, byType: { $_AND_: 2 }, area: 12.5 });
    expect(parseMemoryBits(text)).toBe(64);
  });

  it('splits a design into units whose hash ignores comments', () => {
    const units = synthUnits(readDesign(design));
    const top = units[units.length - 1];
    expect(top?.blackboxes.length).toBe(units.length - 1);
    expect(units.every((u) => u.files.length > 0)).toBe(true);
    expect(verilogContent('// a\nmodule m; /* x\n y */ wire w; // c\n\nendmodule\n')).toBe('module m;  wire w;\nendmodule');
  });
});

describe('fixynn synth (tiny design)', () => {
  it('generic: cells per module and in total; the second run comes from the cache', async () => {
    const first = await quietly(() => runSynth(design, { target: 'generic' }));
    expect(first.modules.length).toBeGreaterThan(1);
    expect(first.total.cells).toBe(first.modules.reduce((a, m) => a + m.cells, 0));
    expect(first.total.cells).toBeGreaterThan(50);
    expect(first.modules.every((m) => !m.cached)).toBe(true);
    const second = await quietly(() => runSynth(design, { target: 'generic' }));
    expect(second.modules.every((m) => m.cached)).toBe(true);
    expect(second.total).toEqual(first.total);
    for (const name of ['synth.json', 'synth-generic.json']) expect(JSON.parse(readFileSync(path.join(design, name), 'utf8'))).toMatchObject({ format: 'fixynn-synth', target: 'generic' });
  }, 120_000);

  it.runIf(FULL && existsSync(DEFAULT_LIBERTY))('asic: area equal to Yosys\' stat -liberty, and OpenSTA reads the SDC with the netlist (test:full)', async () => {
    const r = await quietly(() => runSynth(design, {}));
    expect(r.target).toBe('asic');
    for (const m of r.modules) {
      const cacheDir = readFileSync(path.join(design, 'synth-asic.json'), 'utf8');
      expect(cacheDir).toContain(m.module);
      expect(m.area).toBeGreaterThanOrEqual(0);
      expect((m.logicArea ?? 0) + (m.memoryArea ?? 0)).toBeCloseTo(m.area ?? 0, 6);
    }
    // Our sum of Liberty areas over the JSON netlist against Yosys' own figure, module by module.
    const root = process.env.FIXYNN_SYNTH_CACHE as string;
    const yosysAreas = (await import('node:fs')).readdirSync(root).filter((d) => d.startsWith('asic-'))
      .map((d) => readFileSync(path.join(root, d, 'stat.txt'), 'utf8'))
      .map((t) => Number(/Chip area for module '[^']*':\s+([\d.]+)/.exec(t)?.[1] ?? 0));
    expect(yosysAreas.reduce((a, b) => a + b, 0)).toBeCloseTo(r.total.area ?? 0, 2);
    expect(r.total.area).toBeGreaterThan(0);
    expect(r.timing?.label).toMatch(/pre-layout/);
    expect(r.timing?.maxClockMhz).toBeGreaterThan(10);
    expect(r.timing?.criticalPathNs).toBeCloseTo((r.timing?.clockPeriodNs ?? 0) - (r.timing?.worstSlackNs ?? 0), 6);
  }, 180_000);

  it.runIf(FULL && existsSync(DEFAULT_LIBERTY))('asic: ABC buffers a 256-load net, in its default and its fast mode, without lpflow cells (test:full)', async () => {
    // One register bit selecting in 256 multiplexers, as a line buffer's column counter does: without -constr
    // ABC leaves it one net of 256 loads (checked by hand with the flow before this test), with it at most 10.
    const verilog = path.join(work, 'fanout.v');
    writeFileSync(verilog, 'module fanout(input clk, input s, input [255:0] a, b, output reg [255:0] y);\n  reg s_q;\n  always @(posedge clk) begin s_q <= s; y <= s_q ? a : b; end\nendmodule\n');
    const liberty = prepareLiberty(undefined).plain;
    for (const fast of ['0', '1']) {
      const out = path.join(work, `fanout-fast-${fast}`);
      const r = await runTool('yosys', ['-q', '-c', path.join(design, yosysScriptPath('asic'))], {
        env: { LIBERTY: liberty, FIXYNN_TOP: 'fanout', FIXYNN_EXTRA: verilog, FIXYNN_OUT: out, FIXYNN_ABC_FAST: fast },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(readFileSync(path.join(out, 'abc.constr'), 'utf8')).toBe(`set_driving_cell ${DEFAULT_DRIVE_CELL}\nset_load ${DEFAULT_LOAD_PF}\n`);
      const loads = maxLoads(readJsonModule(path.join(out, 'netlist.json'), 'fanout'));
      expect(loads).toBeGreaterThan(1);
      expect(loads).toBeLessThanOrEqual(16);
      // sky130's lpflow_* cells (keep-alive clock buffers, isolation cells) are don't-use (FIXYNN_DONT_USE).
      expect(readFileSync(path.join(out, 'netlist.v'), 'utf8')).not.toMatch(/sky130_fd_sc_hd__lpflow_/);
      expect(existsSync(path.join(out, 'abc-dont-use.lib'))).toBe(false);
    }
    // The control: with every cell allowed, ABC's buffering picks lpflow buffers for this net.
    const out = path.join(work, 'fanout-all-cells');
    const r = await runTool('yosys', ['-q', '-c', path.join(design, yosysScriptPath('asic'))], {
      env: { LIBERTY: liberty, FIXYNN_TOP: 'fanout', FIXYNN_EXTRA: verilog, FIXYNN_OUT: out, FIXYNN_ABC_FAST: '1', FIXYNN_DONT_USE: 'none' },
    });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'netlist.v'), 'utf8')).toMatch(/sky130_fd_sc_hd__lpflow_/);
  }, 300_000);

  it('refuses bad flags and a missing Liberty with exit 2', async () => {
    const exit = (args: string[]): Promise<number> => quietly(() => main(['node', 'fixynn', 'synth', ...args]));
    expect(await exit([design, '--target', 'vhdl'])).toBe(2);
    expect(await exit([design, '--liberty', path.join(work, 'none.lib')])).toBe(2);
    expect(await exit([design, '--target', 'generic', '--liberty', path.join(work, 'tiny.lib')])).toBe(2);
    expect(await exit([path.join(work, 'no-design')])).toBe(2);
  });

  it('names the install command when a tool is missing (exit 2)', async () => {
    const saved = process.env.PATH;
    process.env.PATH = path.join(work, 'empty-path');
    let stderr = '';
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
    try {
      expect(await main(['node', 'fixynn', 'synth', design, '--target', 'xilinx'])).toBe(2);
    } finally {
      process.env.PATH = saved;
      process.stderr.write = write;
    }
    expect(stderr).toMatch(/'yosys' was not found on PATH; install it \(Debian: apt-get install -y yosys\)/);
  });

  it.runIf(FULL)('asic on the example at K = 1 (test:full)', async () => {
    const example = path.join(work, 'example');
    await quietly(() => runGenerate(path.resolve(import.meta.dirname, '../../examples/mnist-mobilenet/model.onnx'), { fixedLayers: '1', out: example }));
    const r = await quietly(() => runSynth(example, {}));
    expect(r.total.memoryBits).toBe(448);
    expect(r.total.memoryArea).toBeGreaterThan(0);
    expect(r.total.area).toBeGreaterThan(50_000);
    expect(r.timing?.maxClockMhz).toBeGreaterThan(30);
  }, 900_000);
});

/** The most cell input pins any one net bit of a mapped netlist drives, the clock (ideal, no tree here) aside. */
function maxLoads(m: JsonModule): number {
  const clock = new Set(m.ports.clk?.bits ?? []);
  const loads = new Map<number | string, number>();
  for (const cell of Object.values(m.cells)) {
    for (const [pin, bits] of Object.entries(cell.connections)) {
      if (cell.port_directions?.[pin] !== 'input') continue;
      for (const b of bits) if (typeof b === 'number' && !clock.has(b)) loads.set(b, (loads.get(b) ?? 0) + 1);
    }
  }
  return Math.max(0, ...loads.values());
}
