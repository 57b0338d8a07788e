/**
 * Trust in the synthesized netlist: the joined gate-level netlist (every unit's netlist.v) simulated in Icarus
 * with cell models written from the Liberty itself (`yosys read_liberty` + `write_verilog`), streamed real
 * images through the design's own testbench and compared bit-exactly with the integer model by verify/ffe,
 * exactly as the RTL is. The same run records every net's value changes (a VCD of the netlist's nets only,
 * not the cell models' insides) for the energy calculator (energy.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFailed } from '../../generator/common/errors.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { verifyDesign, type VerifySummary } from '../ffe/index.js';
import { runTool, toolVersion } from '../sim/tools.js';
import { readJsonModule, type JsonModule } from './netlist.js';
import type { PreparedLiberty } from './liberty-file.js';
import { synthCacheRoot, type UnitRun } from './yosys-units.js';
import { countToggles, type ToggleCounts } from './vcd.js';

/** Behavioural Verilog of every cell of the Liberty, cached beside the plain Liberty copy. */
export async function cellModels(liberty: PreparedLiberty): Promise<string> {
  const file = join(synthCacheRoot(), `cells-${liberty.sha256.slice(0, 32)}.v`);
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    // Cells whose function Yosys cannot read (scan flops, clock gates) become empty shells: a netlist that
    // used one would fail to simulate rather than pass, and synthesis never picks them here.
    const r = await runTool('yosys', ['-q', '-p', `read_liberty -ignore_miss_func -ignore_miss_dir ${liberty.plain}; write_verilog -noattr ${tmp}`]);
    if (r.exitCode !== 0 || !existsSync(tmp)) throw checkFailed(`yosys could not write cell models from ${liberty.file}: ${r.stderr.split('\n').filter((l) => /ERROR/.test(l)).join(' ')}`);
    mkdirSync(synthCacheRoot(), { recursive: true });
    renameSync(tmp, file);
  }
  return file;
}

export interface GateLevelResult {
  readonly summary: VerifySummary;
  readonly toggles: ToggleCounts | null;
  /** The dumped scopes and the unit (module) each one is. */
  readonly scopes: ReadonlyArray<{ readonly scope: string; readonly module: string }>;
}

export interface GateLevelOptions {
  readonly images: number;
  readonly data?: string;
  /** Record net value changes for the energy calculator. */
  readonly toggles: boolean;
  readonly onProgress?: (message: string) => void;
}

/** Instances of the layer modules in the top's netlist, by instance name. */
function layerInstances(top: JsonModule, layerModules: ReadonlySet<string>): Array<{ instance: string; module: string }> {
  return Object.entries(top.cells).filter(([, c]) => layerModules.has(c.type)).map(([instance, c]) => ({ instance, module: c.type }));
}

export async function simulateGateLevel(design: LoadedDesign, runs: readonly UnitRun[], liberty: PreparedLiberty, options: GateLevelOptions): Promise<GateLevelResult> {
  const cells = await cellModels(liberty);
  const rtl = [
    { relative: 'cells.v', text: readFileSync(cells, 'utf8') },
    ...runs.map((r) => ({ relative: `netlist/${r.unit.module}.v`, text: readFileSync(join(r.dir, 'netlist.v'), 'utf8') })),
  ];
  const top = runs[runs.length - 1] as UnitRun;
  const topJson = readJsonModule(join(top.dir, 'netlist.json'), top.unit.module);
  const instances = layerInstances(topJson, new Set(top.unit.blackboxes));
  // The testbench's `dut` is the verification wrapper where there is one; the top is its instance inside.
  const wrapper = design.manifest.testbench.wrapper;
  const inWrapper = wrapper === undefined ? null : new RegExp(`^\\s*${top.unit.module}\\s+([A-Za-z_][\\w$]*)\\s*\\(`, 'm').exec(readFileSync(design.pathOf(wrapper.verilog), 'utf8'))?.[1];
  if (inWrapper === undefined) throw checkFailed(`${wrapper?.verilog ?? ''}: no instance of ${top.unit.module} in the verification wrapper`);
  const topScope = `${design.manifest.testbench.module}.dut${inWrapper === null ? '' : `.${inWrapper}`}`;
  const scopes = [{ scope: topScope, module: top.unit.module }, ...instances.map((i) => ({ scope: `${topScope}.${i.instance}`, module: i.module }))];
  const dir = mkdtempSync(join(tmpdir(), 'fixynn-gate-'));
  try {
    const vcd = join(dir, 'nets-{run}.vcd');
    const dumper = [
      '// Records the value changes of the netlist\'s own nets (depth 1 in each module: no cell internals).',
      'module fixynn_net_dump;',
      '  reg [8*1024-1:0] file;',
      '  initial if ($value$plusargs("net_dump=%s", file)) begin',
      '    $dumpfile(file);',
      ...scopes.map((s) => `    $dumpvars(1, ${s.scope});`),
      '  end',
      'endmodule',
      '',
    ].join('\n');
    options.onProgress?.(`gate-level: ${options.images} image(s) through the netlist in Icarus (${await toolVersion('iverilog')})`);
    const summary = await verifyDesign(design.dir, {
      simulator: 'icarus', images: options.images, imagesPerRun: options.images, rtl,
      ...(options.data !== undefined ? { data: options.data } : {}),
      ...(options.toggles ? { extraRoots: [{ module: 'fixynn_net_dump', text: dumper }], plusargs: [`+net_dump=${vcd}`] } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
    let toggles: ToggleCounts | null = null;
    if (options.toggles) {
      const file = vcd.replace('{run}', '0');
      if (!existsSync(file)) throw checkFailed('the gate-level simulation wrote no value-change dump');
      options.onProgress?.('gate-level: counting toggles');
      toggles = await countToggles(file, scopes);
    }
    return { summary, toggles, scopes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
