import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FixynnError } from '../../generator/common/errors.js';
import { Module, s, u } from '../../generator/hdl/index.js';
import { buildBatch, buildKey, lint, parseStat, runTool, simDesignOf, simulateDsl, toolVersions } from '../../verify/sim/index.js';

describe('lint', () => {
  it('reports what verilator -Wall finds, file names relative', async () => {
    const bad = { name: 'bad.v', text: 'module bad (input wire [7:0] a, output wire [3:0] y);\n  assign y = a;\nendmodule\n' };
    const messages = await lint([bad], 'bad');
    expect(messages.length).toBeGreaterThan(0);
    expect(messages.join('\n')).toMatch(/%Warning-WIDTH.*bad\.v/);
    expect(messages.join('\n')).not.toContain(tmpdir());
  });
});

describe('tools', () => {
  it('names a missing tool and how to install it (exit code 2)', async () => {
    const err = await runTool('fixynn-no-such-tool', ['--version']).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FixynnError);
    expect((err as FixynnError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/'fixynn-no-such-tool' was not found on PATH; install it/);
  });

  it('reports tool versions', async () => {
    const v = await toolVersions();
    expect(v.verilator).toMatch(/^Verilator \d/);
    expect(v.iverilog).toMatch(/Icarus Verilog/);
    expect(v.yosys).toMatch(/^Yosys /);
  });
});

describe('yosys stat parsing', () => {
  it('reads the cell counts of the last module block', () => {
    const text = `\n=== top ===\n\n   Number of wires:                 12\n   Number of wire bits:             45\n   Number of cells:                 7\n     $_AND_                          3\n     $_XOR_                          4\n`;
    expect(parseStat(text)).toEqual({ cells: 7, byType: { $_AND_: 3, $_XOR_: 4 }, wires: 12, wireBits: 45 });
    expect(() => parseStat('nothing here')).toThrow(/could not find a cell count/);
  });
});

describe('build cache key', () => {
  it('changes with any flag, the tool version or a source, so a changed flag rebuilds', () => {
    const files = [{ name: 'a.v', text: 'module a; endmodule\n' }];
    const key = buildKey('batch', 'verilator', 'Verilator 5', ['-MAKEFLAGS', 'OPT_FAST=-O1'], files);
    expect(key).toMatch(/^batch-verilator-[0-9a-f]{24}$/);
    expect(buildKey('batch', 'verilator', 'Verilator 5', ['-MAKEFLAGS', 'OPT_FAST=-O1'], files)).toBe(key);
    expect(buildKey('batch', 'verilator', 'Verilator 5', ['-MAKEFLAGS', 'OPT_FAST=-O2'], files)).not.toBe(key);
    expect(buildKey('batch', 'verilator', 'Verilator 5', ['-MAKEFLAGS OPT_FAST=-O1'], files)).not.toBe(key);
    expect(buildKey('batch', 'verilator', 'Verilator 6', ['-MAKEFLAGS', 'OPT_FAST=-O1'], files)).not.toBe(key);
    expect(buildKey('batch', 'verilator', 'Verilator 5', ['-MAKEFLAGS', 'OPT_FAST=-O1'], [{ name: 'a.v', text: 'module a ; endmodule\n' }])).not.toBe(key);
  });
});

describe('batch builds', () => {
  function counter(name: string): Module {
    const m = new Module(name);
    m.addClock();
    const en = m.input('en', u(1));
    const r = m.reg('count', u(4), { enable: en }); // no reset: unknown until loaded in Icarus
    r.next(r.add(1).truncate(4));
    m.output('q', r);
    m.output('x_echo', m.input('x', s(70))); // wider than 64 bits through the stimulus files
    return m;
  }

  it('refuses two designs with one top name, unknown inputs and unknown designs', async () => {
    const a = simDesignOf(counter('same_name'));
    await expect(buildBatch('icarus', [a, a])).rejects.toThrow(/share the top module name 'same_name'/);
    const build = await buildBatch('icarus', [simDesignOf(counter('harness_counter'))]);
    await expect(build.run({ harness_counter: [{ enable: 1n }] })).rejects.toThrow(/has no input 'enable' \(inputs: en, x\)/);
    await expect(build.run({ other: [] })).rejects.toThrow(/design 'other' is not in this build/);
  });

  it('returns null for unknown (x) values, wide values exactly, and writes a trace when asked', async () => {
    const design = simDesignOf(counter('harness_counter_trace'));
    const build = await buildBatch('icarus', [design], { trace: true });
    const dir = mkdtempSync(join(tmpdir(), 'fixynn-trace-test-'));
    try {
      const vcd = join(dir, 'run.vcd');
      const wide = -(1n << 69n) + 12345n;
      const out = (await build.run({ harness_counter_trace: [{ en: 0n, x: wide }, { en: 0n, x: 1n }] }, { trace: vcd })).get('harness_counter_trace')!;
      expect(out.map((r) => r.q)).toEqual([null, null]);
      expect(out.map((r) => r.x_echo)).toEqual([wide, 1n]);
      expect(existsSync(vcd)).toBe(true);
      expect(readFileSync(vcd, 'utf8')).toContain('$var');
      const plain = await buildBatch('icarus', [design]);
      await expect(plain.run({}, { trace: vcd })).rejects.toThrow(/no waveform support/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('simulateDsl', () => {
  it('runs DSL modules by DSL port names (even names that are not legal Verilog)', async () => {
    const m = new Module('dsl_names');
    const a = m.input('in put', s(6));
    m.output('out-put', a.mul(-3));
    const vectors = [-32n, 0n, 31n].map((v) => ({ 'in put': v }));
    const [responses] = await simulateDsl('icarus', [{ module: m, vectors }]);
    expect(responses).toEqual([{ 'out-put': 96n }, { 'out-put': 0n }, { 'out-put': -93n }]);
  });
});
