/**
 * The synthesis hand-off bundle `generate` writes (generator/design/handoff.ts): the FuseSoC core parses as
 * YAML with the fields FuseSoC requires and names only files that exist; the SDC carries --clock-mhz. The
 * ASIC script on a tiny design, with Debian's OpenSTA reading the SDC and the netlist, is
 * test/synth/synth.test.ts (`fixynn synth` runs these very scripts); the example through the generic
 * script as a user runs it is test:full.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { main } from '../../generator/cli.js';
import { runGenerate } from '../../generator/commands/generate.js';
import { corePath, sdcPath, SYNTH_TARGETS, yosysScriptPath } from '../../generator/design/handoff.js';
import { runTool } from '../../verify/sim/tools.js';
import { FULL } from '../helpers/env.js';
import { quietly } from '../helpers/quietly.js';
import { pointwiseModel } from './pointwise-model.js';
import { standInFfe } from './stand-in-ffe.js';

let work: string;
let model: string;
let design: string;
/** The stand-in core's top module. */
let top: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-handoff-test-'));
  model = pointwiseModel(path.join(work, 'pointwise.onnx'));
  design = path.join(work, 'design');
  await quietly(() => runGenerate(model, { fixedLayers: '1', out: design, clockMhz: '250' }, standInFfe()));
  top = (JSON.parse(readFileSync(path.join(design, 'manifest.json'), 'utf8')) as { top: { module: string } }).top.module;
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('hand-off bundle', () => {
  it('writes a FuseSoC CAPI2 core that parses as YAML with the fields FuseSoC requires', () => {
    const text = readFileSync(path.join(design, corePath(top)), 'utf8');
    expect(text.split('\n')[0]).toBe('CAPI=2:');
    const core = parse(text, { merge: true }) as {
      name: string;
      filesets: Record<string, { files: string[]; file_type: string }>;
      targets: Record<string, { filesets: string[]; toplevel: string; default_tool?: string; tools?: Record<string, unknown> }>;
    };
    // VLNV: vendor:library:name:version
    expect(core.name).toMatch(/^[\w.-]*:[\w.-]*:[\w.-]+:[\w.-]+$/);
    for (const [name, fileset] of Object.entries(core.filesets)) {
      expect(fileset.files.length, name).toBeGreaterThan(0);
      expect(['verilogSource', 'cppSource', 'SDC']).toContain(fileset.file_type);
      for (const f of fileset.files) expect(existsSync(path.join(design, f)), `${name}: ${f}`).toBe(true);
    }
    const rtl = readFileSync(path.join(design, 'files.f'), 'utf8').trim().split('\n');
    expect(core.filesets.rtl?.files).toEqual(rtl);
    expect(Object.keys(core.targets).sort()).toEqual(['default', 'sim_icarus', 'sim_verilator', 'synth']);
    for (const [name, target] of Object.entries(core.targets)) {
      for (const f of target.filesets) expect(core.filesets[f], `${name} uses fileset ${f}`).toBeDefined();
      expect([top, `${top}_tb`], name).toContain(target.toplevel);
      if (target.default_tool !== undefined) expect(target.tools?.[target.default_tool], `${name}: options of ${target.default_tool}`).toBeDefined();
    }
    expect(core.targets.sim_icarus?.default_tool).toBe('icarus');
    expect(core.targets.sim_verilator?.default_tool).toBe('verilator');
    expect(core.targets.synth?.default_tool).toBe('yosys');
    expect(core.targets.synth?.toplevel).toBe(top);
  });

  it('writes the SDC at --clock-mhz and one Yosys script per target, listed in the manifest', () => {
    const sdc = readFileSync(path.join(design, sdcPath(top)), 'utf8');
    expect(sdc).toContain('create_clock -name clk -period 4 [get_ports clk]');
    expect(sdc).toMatch(/set_input_delay 0 -clock clk \[get_ports \{ rst s_tvalid s_tdata s_tuser s_tlast m_tready \}\]/);
    const manifest = JSON.parse(readFileSync(path.join(design, 'manifest.json'), 'utf8')) as { files: Record<string, string> };
    for (const t of SYNTH_TARGETS) {
      const script = readFileSync(path.join(design, yosysScriptPath(t)), 'utf8');
      expect(script).toContain(`set top [setting FIXYNN_TOP ${top}]`);
      expect(manifest.files[yosysScriptPath(t)]).toMatch(/^[0-9a-f]{64}$/);
    }
    expect(readFileSync(path.join(design, yosysScriptPath('asic')), 'utf8')).toContain('FIXYNN_CLOCK_PS 4000]');
  });

  it('refuses a bad --clock-mhz with exit 2 and writes nothing', async () => {
    const dir = path.join(work, 'bad-clock');
    for (const bad of ['0', '-5', 'fast', '']) {
      expect(await quietly(() => main(['node', 'fixynn', 'generate', model, '--fixed-layers', '1', '--out', dir, '--clock-mhz', bad]))).toBe(2);
    }
    expect(existsSync(dir)).toBe(false);
  });

  it.runIf(FULL)('runs the generic script on the example at K = 1 (test:full)', async () => {
    const example = path.join(work, 'example');
    await quietly(() => runGenerate(path.resolve(import.meta.dirname, '../../examples/mnist-mobilenet/model.onnx'), { fixedLayers: '1', out: example }));
    const out = path.join(work, 'generic-out');
    const r = await runTool('yosys', ['-q', '-c', yosysScriptPath('generic')], { cwd: example, env: { FIXYNN_OUT: out } });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'stat.txt'), 'utf8')).toMatch(/Number of cells:\s+[1-9]\d{3,}/);
    expect(readFileSync(path.join(out, 'memories.txt'), 'utf8')).toMatch(/Number of memory bits:\s+448/);
  }, 600_000);
});
