/**
 * Trust in the netlist (verify/synth/gate-level.ts) and the measured energy (vcd.ts, energy.ts): a
 * tiny design's sky130 netlist (two pointwise layers) simulated gate-level in Icarus on MNIST digits is bit-exact with the
 * integer model, and the same netlist with one gate changed (the control) is not; toggle counting on a
 * hand-written dump; energy figures that add up. Everything but the dump is test:full (Yosys, Icarus).
 */
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { runSynth } from '../../generator/commands/synth.js';
import { readDesign } from '../../generator/design/read-design.js';
import { defaultRtlConfig } from '../../generator/accel/rtl/config.js';
import { buildAccelFiles } from '../../verify/accel/rtl-sim.js';
import { runTool } from '../../verify/sim/tools.js';
import { simulateGateLevel, windowedCounting, type GateSimulator, type WindowedCounting } from '../../verify/synth/gate-level.js';
import { DEFAULT_LIBERTY, synthDesign } from '../../verify/synth/synth-design.js';
import { countToggles, readToggleCoverage, toggleCounterPipe, type ToggleCounts } from '../../verify/synth/vcd.js';
import type { UnitRun } from '../../verify/synth/yosys-units.js';
import { FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';
import { pointwiseModel } from '../design/pointwise-model.js';

let work: string;
const savedCache = process.env.FIXYNN_SYNTH_CACHE;

beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-gate-test-'));
  process.env.FIXYNN_SYNTH_CACHE = path.join(work, 'cache');
});
afterAll(() => {
  if (savedCache === undefined) delete process.env.FIXYNN_SYNTH_CACHE;
  else process.env.FIXYNN_SYNTH_CACHE = savedCache;
  rmSync(work, { recursive: true, force: true });
});

describe('toggle counting', () => {
  it('counts 0 <-> 1 changes per bit in the chosen scopes only, and clock cycles', async () => {
    const vcd = path.join(work, 'small.vcd');
    writeFileSync(vcd, [
      '$timescale 1ps $end', '$scope module tb $end', '$scope module dut $end',
      // Identifier codes may contain '$' (Icarus uses every printable character).
      '$var wire 1 ! clk $end', '$var wire 3 " bus [2:0] $end', '$var wire 1 $a \\esc[0] $end', '$upscope $end',
      '$var wire 1 % other $end', '$upscope $end', '$enddefinitions $end',
      '#0', '$dumpvars', '0!', 'bx "', 'x$a', '0%', '$end',
      '#5', '1!', 'b101 "', '1%', '#10', '0!', 'b1 "', '0$a', '#15', '1!', 'b110 "', '1$a', '#20', '0!', '',
    ].join('\n'));
    const t = await countToggles(vcd, [{ scope: 'tb.dut' }]);
    expect(t.cycles).toBe(2);
    expect(t.time).toBe(20);
    const nets = t.scopes.get('tb.dut');
    expect(nets?.get('clk')).toEqual([4]);
    // x -> 101 (no toggles), 101 -> 001 (bit 2), 001 -> 110 (bits 0, 1, 2)
    expect(nets?.get('bus')).toEqual([1, 1, 2]);
    expect(nets?.get('esc[0]')).toEqual([1]);
    expect(t.scopes.has('tb')).toBe(false);
  });
});

describe('toggle counts from Verilator\'s toggle coverage', () => {
  // Points as Verilator 5 writes them: fields \x01 key \x02 value; one point per module and bit, instances summed.
  const point = (module: string, o: string, count: number): string =>
    `C '\x01f\x02/x/netlist_${module}.v\x01l\x021\x01n\x0218\x01page\x02v_toggle/${module}\x01o\x02${o}\x01h\x02TOP.tb.u' ${count}`;
  const scopes = [{ scope: 'tb.dut', module: 'top' }, { scope: 'tb.dut.a', module: 'unit' }, { scope: 'tb.dut.b', module: 'unit' }];

  it('sums the windows, maps declared bit indices to the least significant bit, decodes escaped names and counts cycles on clk', () => {
    const window = (k: number): string => ['# SystemC::Coverage-3',
      point('top', 'clk', 20 * k + 1), point('top', 'q[10]', 3 * k), point('top', 'q[8]', k), point('top', '_12_', 5),
      point('top', 'x__02ey__05b3__05d', 2), point('unit', 'd[1]', 7), point('unit', 'd[0]', 0), point('other', 'z', 9), ''].join('\n');
    const t = readToggleCoverage([window(1), window(2)], scopes);
    expect(t.cycles).toBe(31); // (21 + 41) / 2
    expect(t.time).toBeNull();
    const top = t.scopes.get('tb.dut');
    expect(top?.get('q')).toEqual([3, 0, 9]);
    expect(top?.get('_12_')).toEqual([10]);
    expect(top?.get('x.y[3]')).toEqual([4]);
    // Both instances of `unit` in one point: counted once, under the module's first scope.
    expect(t.scopes.get('tb.dut.a')?.get('d')).toEqual([0, 14]);
    expect(t.scopes.has('tb.dut.b')).toBe(false);
  });

  it('refuses a file that is not Verilator coverage, and counts without a clock', () => {
    expect(() => readToggleCoverage(['$timescale 1ps $end'], scopes)).toThrow(/coverage format/);
    expect(() => readToggleCoverage(['# SystemC::Coverage-3\n' + point('top', 'q[0]', 1)], scopes)).toThrow(/no clk/);
  });
});

describe('windowed toggle and access counting in Verilator and Icarus', () => {
  // A netlist-like unit (plain nets, an underscore net, an escaped name, a vector declared [6:3]) with a stand-in
  // macro counting reads; the inputs change on the falling edge, the registers on the rising edge and the
  // window 3 ns after it, so no net changes twice in one time step (zero-delay glitches would count in Icarus only).
  const netlist = [
    'module tiny(input clk, input [3:0] a, output [6:3] q);',
    '  wire [3:0] _1_;',
    '  wire \\n.x[1] ;',
    '  reg [6:3] r;',
    '  assign _1_ = a ^ {a[0], a[3:1]};',
    '  assign \\n.x[1] = a[2] & r[4];',
    '  assign q = r;',
    '  always @(posedge clk) r <= _1_ ^ {a[2:0], a[3]};',
    '  counted \\m.0 (.clk(clk), .en(a[0]));',
    'endmodule',
    'module counted(input clk, input en);',
    '  integer reads;',
    '  integer writes;',
    '  initial begin reads = 0; writes = 0; end',
    '  always @(posedge clk) if (en) reads = reads + 1;',
    'endmodule',
    '',
  ].join('\n');
  const tb = [
    'module tb;',
    '  reg clk = 0; reg busy = 0; reg [3:0] a = 0; wire [6:3] q;',
    '  tiny dut (.clk(clk), .a(a), .q(q));',
    '  integer i;',
    '  initial begin',
    '    for (i = 0; i < 40; i = i + 1) begin',
    '      #5 clk = 1;',
    '      #3 busy = (i >= 5 && i < 15) || (i >= 25 && i < 31);',
    '      #2 clk = 0; a = a * 5 + 3;',
    '    end',
    '    $finish;',
    '  end',
    'endmodule',
    '',
  ].join('\n');
  const scopes = [{ scope: 'tb.dut', module: 'tiny' }];
  const window = { signal: 'tb.busy', macros: ['tb.dut.\\m.0 '] };

  async function counted(simulator: GateSimulator): Promise<Awaited<ReturnType<WindowedCounting['read']>>> {
    const dir = mkdtempSync(path.join(work, `count-${simulator}-`));
    const counting = windowedCounting(simulator, scopes, window, dir);
    const build = await buildAccelFiles([...counting.sources, { name: 'netlist_tiny.v', text: netlist }, { name: 'tb.v', text: tb }, ...counting.roots.map((r) => ({ name: `${r.module}.v`, text: r.text }))], defaultRtlConfig(4), simulator, {
      top: 'tb', extraRoots: counting.roots.map((r) => r.module), verilatorFlags: counting.verilatorFlags,
    });
    await counting.start();
    try {
      const r = simulator === 'verilator'
        ? await runTool(path.join(build.dir, 'Vtb'), counting.plusargs, { cwd: dir })
        : await runTool('vvp', ['-n', path.join(build.dir, 'tb.vvp'), ...counting.plusargs], { cwd: dir });
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      // Icarus wrote its dump into a named pipe, counted as it came: nothing left on disk.
      if (simulator === 'icarus') expect(statSync(path.join(dir, 'nets.vcd')).isFIFO()).toBe(true);
      return await counting.read();
    } finally {
      counting.release();
    }
  }

  it('a dump pipe nobody writes ends with a clear error instead of waiting for ever', async () => {
    const pipe = await toggleCounterPipe(path.join(mkdtempSync(path.join(work, 'pipe-')), 'nets.vcd'), scopes);
    await expect(pipe.finish()).rejects.toThrow(/not a value-change dump/);
  });

  it('counts the same toggles, cycles and accesses in both, only while the window is open', async () => {
    const [v, i] = [await counted('verilator'), await counted('icarus')];
    expect(v.toggles.cycles).toBe(16);
    expect(i.toggles.cycles).toBe(16);
    const nets = (t: ToggleCounts): Record<string, readonly number[]> => Object.fromEntries(t.scopes.get('tb.dut') ?? []);
    expect(nets(v.toggles)).toEqual(nets(i.toggles));
    expect(nets(v.toggles).clk).toEqual([32]);
    expect(nets(v.toggles).q).toHaveLength(4);
    expect(nets(v.toggles)['n.x[1]']?.length).toBe(1);
    expect(nets(v.toggles)._1_?.reduce((a, b) => a + b, 0)).toBeGreaterThan(10);
    expect(v.accesses).toEqual(i.accesses);
    expect(v.accesses[0]?.reads).toBeGreaterThan(0);
    expect(v.accesses[0]?.reads).toBeLessThan(16);
  }, 120_000);
});

describe.runIf(FULL && existsSync(DEFAULT_LIBERTY))('gate-level simulation (tiny design, test:full)', () => {
  let design: string;
  beforeAll(async () => {
    design = path.join(work, 'design');
    // The real fixed-part generator (the stand-in core's taps are internal wires a netlist does not keep).
    await quietly(() => runGenerate(pointwiseModel(path.join(work, 'pointwise.onnx')), { fixedLayers: '2', out: design }));
  });

  it('is bit-exact with the integer model, and a broken netlist (one gate changed) is not', async () => {
    const r = await quietly(() => runSynth(design, { images: '2' }));
    expect(r.gateLevel?.bitExact).toBe(true);
    expect(r.gateLevel?.images).toBe(2);
    expect(r.gateLevel?.dataSource).toMatch(/MNIST/);
    const e = r.energy;
    expect(e?.dynamicPj).toBeGreaterThan(0);
    expect(e?.perImagePj).toBeCloseTo((e?.dynamicPj ?? 0) + (e?.leakagePj ?? 0), 6);
    expect(e?.topsPerWatt).toBeCloseTo((e?.opsPerImage ?? 0) / (e?.perImagePj ?? 1), 6);
    expect(e?.opsPerImage).toBe(2 * 28 * 28 * (3 * 1 + 2 * 3)); // the stand-in model: 1 -> 3 -> 2 channels, 1x1
    expect(e?.modules.reduce((a, m) => a + m.toggles, 0)).toBeGreaterThan(1000);

    // The control: the same netlists with one XOR gate of an adder turned into an XNOR must fail the comparison.
    const loaded = readDesign(design);
    const { runs, liberty } = await quietly(() => synthDesign(loaded, { target: 'asic' }));
    let broken = false;
    const copies: UnitRun[] = runs.map((run, i) => {
      const dir = path.join(work, `broken-${i}`);
      cpSync(run.dir, dir, { recursive: true });
      const file = path.join(dir, 'netlist.v');
      const text = readFileSync(file, 'utf8');
      const xor = /sky130_fd_sc_hd__xor2_1 (\S+) \(([^;]*?)\.X\(/.exec(text);
      if (!broken && xor !== null) {
        writeFileSync(file, text.replace(xor[0], `sky130_fd_sc_hd__xnor2_1 ${xor[1] ?? ''} (${xor[2] ?? ''}.Y(`));
        broken = true;
      }
      return { ...run, dir };
    });
    expect(broken).toBe(true);
    const sim = await quietly(() => simulateGateLevel(loaded, copies, liberty ?? (() => { throw new Error('no liberty'); })(), { images: 2, toggles: false }));
    expect(sim.summary.mismatches).toBeGreaterThan(0);
  }, 300_000);
});

describe.runIf(FULL && existsSync(DEFAULT_LIBERTY))('gate-level simulation of the example at K = 1 (test:full)', () => {
  it('is bit-exact on 3 digits and gives an energy per image', async () => {
    const example = path.join(work, 'example');
    await quietly(() => runGenerate(path.resolve(import.meta.dirname, '../../examples/mnist-mobilenet/model.onnx'), { fixedLayers: '1', out: example }));
    const r = await quietly(() => runSynth(example, { images: '3' }));
    expect(r.gateLevel?.bitExact).toBe(true);
    expect(r.energy?.perImagePj).toBeGreaterThan(1000);
  }, 1_800_000);
});
