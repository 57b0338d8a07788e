/**
 * Trust in the synthesized netlist: the joined gate-level netlist (every unit's netlist.v) simulated in Icarus
 * (or, for an accelerator, Verilator: --gate-sim) with cell models written from the Liberty itself (`yosys
 * read_liberty` + `write_verilog`), streamed real images through the design's own testbench and compared
 * bit-exactly with the integer model by verify/ffe or verify/accel, exactly as the RTL is. The same run counts
 * every net bit's toggles (the netlist's nets only, not the cell models' insides: Icarus's VCD through a named
 * pipe, or Verilator's toggle coverage) for the energy calculator (energy.ts).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { verifyAccelDesign } from '../accel/verify-design.js';
import { ICARUS_TIMESCALE } from '../ffe/build.js';
import { describeMismatch, verifyDesign } from '../ffe/index.js';
import { runTool, toolVersion } from '../sim/tools.js';
import { readJsonModule, type JsonModule } from './netlist.js';
import type { PreparedLiberty } from './liberty-file.js';
import { synthCacheRoot, type UnitRun } from './yosys-units.js';
import { readToggleCoverage, toggleCounterPipe, type PipeCounter, type ToggleCounts } from './vcd.js';
import { macroInstances, sramSimModel, type MacroInstance } from './sram-sim.js';

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

/** What the gate-level run found, for the fixed part's and the accelerator's checks alike. */
export interface GateLevelSummary {
  readonly images: number;
  readonly dataSource: string;
  readonly simulatorVersion: string;
  /** Values that differ from the integer model (fixed part), or images whose result differs (accelerator). */
  readonly mismatches: number;
  readonly firstMismatch: string | null;
  /** The accelerator: clock cycles of the first image's program run, measured on the netlist. */
  readonly cycles?: number | null;
}

export interface GateLevelResult {
  readonly summary: GateLevelSummary;
  readonly toggles: ToggleCounts | null;
  /** The dumped scopes and the unit (module) each one is. */
  readonly scopes: ReadonlyArray<{ readonly scope: string; readonly module: string }>;
  /**
   * The accelerator: toggles and accesses are counted only while its `busy` output is 1 (the program
   * running, not the testbench loading it); each SRAM macro's reads and writes in that window.
   */
  readonly window?: string;
  readonly macroAccesses?: ReadonlyArray<{ readonly instance: MacroInstance; readonly reads: number; readonly writes: number }>;
}

/** The accelerator's gate-level run's time limit. */
const GATE_LEVEL_TIMEOUT_MS = 24 * 3600_000;

/** The gate-level simulators: Icarus (the default), Verilator (compiled; toggles from its toggle coverage; the accelerator only). */
export const GATE_SIMULATORS = ['icarus', 'verilator'] as const;
export type GateSimulator = (typeof GATE_SIMULATORS)[number];

/**
 * Icarus, for every design. Verilator is not the default even for an accelerator: on the 4x4 accelerator's
 * netlist (315k cells) its build with toggle coverage writes 634 MB of C++ (about 60-70 % of it the coverage),
 * about 2.8 CPU hours to compile (extrapolated, docs/synthesis.md), against Icarus's 6-minute build and about 40
 * CPU minutes per image: it can pay off only over several images with the build cached.
 */
export const DEFAULT_GATE_SIMULATOR: GateSimulator = 'icarus';

export interface GateLevelOptions {
  readonly images: number;
  /** Default: DEFAULT_GATE_SIMULATOR. */
  readonly simulator?: GateSimulator;
  readonly data?: string;
  /** Record net value changes for the energy calculator (and, in an accelerator, the SRAM macros' accesses). */
  readonly toggles: boolean;
  readonly onProgress?: (message: string) => void;
}

/**
 * Every scope of the joined netlist under `scope` (a unit's instance), depth first: a unit's netlist holds
 * the other units it instantiates as black boxes (the top its layers and accelerator, the accelerator its
 * MAC array and depthwise engine).
 */
function unitScopes(scope: string, module: string, netlists: ReadonlyMap<string, JsonModule>): Array<{ scope: string; module: string }> {
  const m = netlists.get(module);
  if (m === undefined) return [];
  const children = Object.entries(m.cells).filter(([, c]) => netlists.has(c.type)).map(([instance, c]) => ({ instance, module: c.type }));
  return [{ scope, module }, ...children.flatMap((c) => unitScopes(`${scope}.${verilogName(c.instance)}`, c.module, netlists))];
}

/** A name as Verilog writes it in a hierarchical path (escaped where it is not a plain identifier). */
function verilogName(name: string): string {
  return /^[A-Za-z_][\w$]*$/.test(name) ? name : `\\${name} `;
}

/** The root module that records the netlist's own nets (depth 1 in each unit's scope: no cell internals) into the file of +net_dump. */
function netDumper(scopes: ReadonlyArray<{ scope: string }>): string {
  return [
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
}

/**
 * The root module of a windowed run: toggles recorded only while the window signal is 1 (`open` and `close`
 * start and stop the simulator's own recording), and the SRAM macros' access counters summed over the windows
 * into the file of +sram_counts (one line per macro after each window).
 */
function windowModule(window: CountWindow, recording: { readonly comment: string; readonly declarations: readonly string[]; readonly initial: readonly string[]; readonly open: readonly string[]; readonly close: readonly string[] }): string {
  const macros = window.macros;
  return [
    recording.comment,
    'module fixynn_net_dump;',
    ...recording.declarations.map((d) => `  ${d}`),
    '  reg [8*1024-1:0] counts_file;',
    '  integer fc;',
    '  reg in_window;',
    ...macros.map((_, i) => `  integer r0_${i}, w0_${i}, reads_${i}, writes_${i};`),
    '  initial begin',
    ...recording.initial.map((l) => `    ${l}`),
    '    in_window = 1\'b0;',
    '    fc = 0;',
    '    if ($value$plusargs("sram_counts=%s", counts_file)) fc = $fopen(counts_file, "w");',
    ...macros.map((_, i) => `    reads_${i} = 0; writes_${i} = 0;`),
    '  end',
    `  // The measured window: ${window.signal} is 1.`,
    `  always @(posedge ${window.signal}) if (${window.signal} === 1'b1 && !in_window) begin`,
    '    in_window = 1\'b1;',
    ...recording.open.map((l) => `    ${l}`),
    ...macros.map((m, i) => `    r0_${i} = ${m}.reads; w0_${i} = ${m}.writes;`),
    '  end',
    `  always @(negedge ${window.signal}) if (${window.signal} === 1'b0 && in_window) begin`,
    '    in_window = 1\'b0;',
    ...recording.close.map((l) => `    ${l}`),
    ...macros.map((m, i) => `    reads_${i} = reads_${i} + ${m}.reads - r0_${i}; writes_${i} = writes_${i} + ${m}.writes - w0_${i};`),
    '    if (fc != 0) begin',
    ...macros.map((_, i) => `      $fwrite(fc, "%0d %0d %0d\\n", ${i}, reads_${i}, writes_${i});`),
    '      $fflush(fc);',
    '    end',
    '  end',
    'endmodule',
    '',
  ].join('\n');
}

/** Icarus: the netlist's nets into the VCD of +net_dump, dumping on only while the window is open. */
function vcdWindow(scopes: ReadonlyArray<{ scope: string }>, window: CountWindow): string {
  return windowModule(window, {
    comment: '// Records the value changes of the netlist\'s own nets (depth 1 in each module: no cell internals) while the window is open.',
    declarations: ['reg [8*1024-1:0] file;', 'reg dumping;'],
    initial: [
      'dumping = 1\'b0;',
      'if ($value$plusargs("net_dump=%s", file)) begin',
      '  $dumpfile(file);',
      ...scopes.map((s) => `  $dumpvars(1, ${s.scope});`),
      '  dumping = 1\'b1;',
      '  $dumpoff;',
      'end',
    ],
    open: ['if (dumping) $dumpon;'],
    close: ['if (dumping) $dumpoff;'],
  });
}

/**
 * Verilator: toggles from its toggle coverage (verilatorToggleFlags), zeroed when the window opens and written
 * to `<+toggle_counts>.<n>` when the n-th window closes (C++ through $c: the coverage database is Verilator's).
 */
function coverageWindow(window: CountWindow): string {
  const cov = 'Verilated::threadContextp()->coveragep()';
  return windowModule(window, {
    comment: '// Counts the netlist\'s toggles (Verilator\'s toggle coverage) and the SRAM macros\' accesses while the window is open.',
    declarations: ['integer windows;'],
    initial: ['windows = 0;'],
    open: [`$c("${cov}->zero();");`],
    close: [
      `$c("{ const char* a = Verilated::commandArgsPlusMatch(\\"toggle_counts=\\"); if (a[0]) ${cov}->write((std::string(a + 15) + \\".\\" + std::to_string(", windows, ")).c_str()); }");`,
      'windows = windows + 1;',
    ],
  });
}

/** The Verilator configuration (a .vlt source) that keeps toggle coverage to the netlist's files. */
const NETLIST_FILE_PREFIX = 'netlist_';
const COVERAGE_CONFIG = { name: 'fixynn_coverage.vlt', text: ['`verilator_config', '// Toggle coverage on the netlist only: not the cell models, the SRAM model or the testbench.', 'coverage_off -file "*"', `coverage_on -file "*/${NETLIST_FILE_PREFIX}*"`, ''].join('\n') };

/**
 * Verilator's toggle coverage of every bit of every net: signals starting with an underscore too (Yosys
 * names most nets `_123_`) and of any width (the default stops at 256 bits).
 */
export const VERILATOR_TOGGLE_FLAGS = ['--coverage-toggle', '--coverage-underscore', '--coverage-max-width', '1048576'] as const;

/** A measured window: the signal that is 1 while it is open, and the SRAM macro instances whose accesses are summed. */
export interface CountWindow {
  readonly signal: string;
  readonly macros: readonly string[];
}

/** What a windowed run adds to a simulation, and how its counts are read back afterwards. */
export interface WindowedCounting {
  /** Sources before the netlist's (Icarus: the timescale; Verilator: the configuration keeping coverage to netlist_*.v). */
  readonly sources: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  /** The counter module, a root of its own beside the testbench. */
  readonly roots: ReadonlyArray<{ readonly module: string; readonly text: string }>;
  readonly plusargs: readonly string[];
  readonly verilatorFlags: readonly string[];
  /** Before the simulation (Icarus: the dump's named pipe and its reader). */
  start(): Promise<void>;
  /** Toggles of every net bit of `scopes` and each macro's reads and writes, summed over the windows. */
  read(): Promise<{ toggles: ToggleCounts; accesses: ReadonlyArray<{ reads: number; writes: number }> }>;
  /** On every path out (a failed simulation too): ends a pipe reader still waiting. */
  release(): void;
}

/**
 * Toggle and access counting in a window, for either simulator (the one place the choice matters):
 * Icarus dumps the nets of `scopes` while the window is open ($dumpon/$dumpoff) into a named pipe that vcd.ts
 * counts as it is written (no dump on disk); Verilator counts every net bit itself (toggle coverage, no dump file) and writes the counts when each
 * window closes. Files go to `dir`. Netlist sources must be named `netlist_*.v` (NETLIST_FILE_PREFIX).
 */
export function windowedCounting(simulator: GateSimulator, scopes: ReadonlyArray<{ scope: string; module: string }>, window: CountWindow, dir: string): WindowedCounting {
  const counts = join(dir, 'sram-counts.txt');
  const vcd = join(dir, 'nets.vcd');
  const coverage = join(dir, 'toggles');
  const verilator = simulator === 'verilator';
  const readAccesses = (): Array<{ reads: number; writes: number }> => {
    if (!existsSync(counts)) throw checkFailed(`the gate-level simulation wrote no counts: ${window.signal} never rose and fell`);
    const last = new Map<number, { reads: number; writes: number }>();
    for (const line of readFileSync(counts, 'utf8').split('\n')) {
      const m = /^(\d+) (\d+) (\d+)$/.exec(line.trim());
      if (m) last.set(Number(m[1]), { reads: Number(m[2]), writes: Number(m[3]) });
    }
    return window.macros.map((_, i) => last.get(i) ?? { reads: 0, writes: 0 });
  };
  let pipe: PipeCounter | null = null;
  return {
    sources: verilator ? [COVERAGE_CONFIG] : [{ name: 'fixynn_timescale.v', text: ICARUS_TIMESCALE }],
    roots: [{ module: 'fixynn_net_dump', text: verilator ? coverageWindow(window) : vcdWindow(scopes, window) }],
    plusargs: verilator ? [`+toggle_counts=${coverage}`, `+sram_counts=${counts}`] : [`+net_dump=${vcd}`, `+sram_counts=${counts}`],
    verilatorFlags: verilator ? VERILATOR_TOGGLE_FLAGS : [],
    async start() {
      if (!verilator) pipe = await toggleCounterPipe(vcd, scopes);
    },
    release() {
      pipe?.release();
    },
    async read() {
      const accesses = readAccesses();
      if (verilator) {
        const files = readdirSync(dir).filter((f) => f.startsWith('toggles.')).sort().map((f) => readFileSync(join(dir, f), 'utf8'));
        if (files.length === 0) throw checkFailed('the gate-level simulation wrote no toggle counts');
        return { toggles: readToggleCoverage(files, scopes), accesses };
      }
      if (pipe === null) throw new Error('internal: windowedCounting.read before start');
      return { toggles: await pipe.finish().catch((err: unknown) => { throw checkFailed(`the gate-level simulation wrote no usable value-change dump: ${err instanceof Error ? err.message : String(err)}`); }), accesses };
    },
  };
}

export async function simulateGateLevel(design: LoadedDesign, runs: readonly UnitRun[], liberty: PreparedLiberty, options: GateLevelOptions): Promise<GateLevelResult> {
  const cells = await cellModels(liberty);
  const top = runs[runs.length - 1] as UnitRun;
  const netlists = new Map(runs.map((r) => [r.unit.module, readJsonModule(join(r.dir, 'netlist.json'), r.unit.module)]));
  // The testbench's `dut` is the verification wrapper where there is one; the top is its instance inside.
  const wrapper = design.manifest.testbench.wrapper;
  const inWrapper = wrapper === undefined ? null : new RegExp(`^\\s*${top.unit.module}\\s+([A-Za-z_][\\w$]*)\\s*\\(`, 'm').exec(readFileSync(design.pathOf(wrapper.verilog), 'utf8'))?.[1];
  if (inWrapper === undefined) throw checkFailed(`${wrapper?.verilog ?? ''}: no instance of ${top.unit.module} in the verification wrapper`);
  const testbench = design.manifest.testbench.module;
  const topScope = `${testbench}.dut${inWrapper === null ? '' : `.${inWrapper}`}`;
  const scopes = unitScopes(topScope, top.unit.module, netlists);
  const ffe = design.manifest.parts.some((p) => p.kind === 'ffe');
  const accel = design.manifest.parts.some((p) => p.kind === 'accel');
  if (ffe && accel) throw badInput(`${design.dir}: gate-level simulation of a chip (fixed part and accelerator together) is not supported: generate and synthesize the parts as designs of their own (--fixed-layers K without --accel; --fixed-layers 0 --accel RxC)`);
  const dir = mkdtempSync(join(tmpdir(), 'fixynn-gate-'));
  // Readers of named pipes (the Icarus dumps) to end on every path out.
  const releases: Array<() => void> = [];
  try {
    const vcd = join(dir, 'nets.vcd');
    const sim = options.simulator ?? DEFAULT_GATE_SIMULATOR;
    if (sim === 'verilator' && !accel) throw badInput(`${design.dir}: --gate-sim verilator is for an accelerator design; the fixed part's gate-level simulation runs in Icarus (--gate-sim icarus, the default)`);
    const simulator = await toolVersion(sim === 'verilator' ? 'verilator' : 'iverilog');
    options.onProgress?.(`gate-level: ${options.images} image(s) through the netlist in ${sim === 'verilator' ? 'Verilator' : 'Icarus'} (${simulator})`);
    let summary: GateLevelSummary;
    let toggles: ToggleCounts | null = null;
    let macroAccesses: GateLevelResult['macroAccesses'];
    let window: string | undefined;
    if (!accel) {
      const rtl = [
        { relative: 'cells.v', text: readFileSync(cells, 'utf8') },
        ...runs.map((r) => ({ relative: `netlist/${r.unit.module}.v`, text: readFileSync(join(r.dir, 'netlist.v'), 'utf8') })),
      ];
      // One simulator process (imagesPerRun: all), its dump counted as it is written.
      const pipe = options.toggles ? await toggleCounterPipe(vcd, scopes) : null;
      if (pipe !== null) releases.push(pipe.release);
      const s = await verifyDesign(design.dir, {
        simulator: 'icarus', images: options.images, imagesPerRun: options.images, rtl,
        ...(options.data !== undefined ? { data: options.data } : {}),
        ...(options.toggles ? { extraRoots: [{ module: 'fixynn_net_dump', text: netDumper(scopes) }], plusargs: [`+net_dump=${vcd}`] } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      summary = { images: s.images, dataSource: s.dataSource, simulatorVersion: s.simulatorVersion, mismatches: s.mismatches, firstMismatch: s.firstMismatch ? describeMismatch(s.firstMismatch) : null };
      if (pipe !== null) {
        options.onProgress?.('gate-level: counting toggles');
        toggles = await pipe.finish().catch((err: unknown) => { throw checkFailed(`the gate-level simulation wrote no usable value-change dump: ${err instanceof Error ? err.message : String(err)}`); });
      }
    } else {
      // The SRAM macros (black boxes in the netlist) get their behavioural model; the window is the
      // accelerator's busy output (the program running), seen from the testbench.
      const instances = scopes.flatMap((s) => {
        const m = netlists.get(s.module);
        return m === undefined ? [] : macroInstances(s.module, m).map((instance) => ({ instance, path: `${s.scope}.${verilogName(instance.cell)}` }));
      });
      window = `${testbench}.busy`;
      const counting = windowedCounting(sim, scopes, { signal: window, macros: instances.map((i) => i.path) }, dir);
      const rtl = [
        ...counting.sources,
        { name: 'cells.v', text: readFileSync(cells, 'utf8') },
        { name: 'fixynn_sram_sim.v', text: sramSimModel() },
        ...runs.map((r) => ({ name: `${NETLIST_FILE_PREFIX}${r.unit.module}.v`, text: readFileSync(join(r.dir, 'netlist.v'), 'utf8') })),
      ];
      releases.push(() => counting.release());
      if (options.toggles) await counting.start();
      const s = await verifyAccelDesign(design.dir, {
        // Icarus runs the 4x4 accelerator's netlist at about 15 cycles per CPU second: an hour or more per image.
        simulator: sim, images: options.images, rtl, timeoutMs: GATE_LEVEL_TIMEOUT_MS,
        ...(options.data !== undefined ? { data: options.data } : {}),
        ...(options.toggles ? { extraRoots: counting.roots, plusargs: counting.plusargs, verilatorFlags: counting.verilatorFlags } : {}),
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
      summary = {
        images: s.images, dataSource: s.dataSource, simulatorVersion: simulator, mismatches: s.isaMismatches + s.rtlMismatches,
        firstMismatch: s.fault ?? s.isaFirst?.text ?? s.rtlFirst, cycles: s.totalCycles.measured,
      };
      if (options.toggles) {
        options.onProgress?.('gate-level: counting toggles');
        const counted = await counting.read();
        toggles = counted.toggles;
        macroAccesses = instances.map((x, i) => ({ instance: x.instance, ...counted.accesses[i] ?? { reads: 0, writes: 0 } }));
      }
    }
    return { summary, toggles, scopes, ...(window !== undefined ? { window } : {}), ...(macroAccesses !== undefined ? { macroAccesses } : {}) };
  } finally {
    for (const release of releases) release();
    rmSync(dir, { recursive: true, force: true });
  }
}
