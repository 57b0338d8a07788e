/**
 * `fixynn synth DIR [--target generic|asic|ice40|xilinx] [--liberty FILE] [--jobs N] [--json]`: synthesizes a
 * generated design with its own hand-off scripts (verify/synth) and writes DIR/synth.json (the last run) and DIR/synth-<target>.json.
 */
import type { Command } from 'commander';
import { badInput, checkFailed } from '../common/errors.js';
import { SYNTH_TARGETS, type SynthTarget } from '../design/handoff.js';
import { readDesign } from '../design/read-design.js';
import { synthDesign, writeSynthReport, type SynthReport } from '../../verify/synth/synth-design.js';
import { optionalInt } from './options.js';
import { GATE_SIMULATORS, type GateSimulator } from '../../verify/synth/gate-level.js';

export interface SynthCliOptions {
  readonly target?: string;
  readonly liberty?: string;
  readonly jobs?: string;
  readonly images?: string;
  readonly data?: string;
  readonly gateSim?: string;
  readonly abcFast?: boolean;
  readonly json?: boolean;
}

export const DEFAULT_SYNTH_TARGET: SynthTarget = 'asic';

export function registerSynth(program: Command): void {
  program
    .command('synth')
    .description('synthesize a generated design with open tools (Yosys, OpenSTA): cells, area, timing; writes DIR/synth.json and DIR/synth-<target>.json (one per target)')
    .argument('<dir>', 'a design folder written by fixynn generate')
    .option('--target <t>', `${SYNTH_TARGETS.join(', ')} (default ${DEFAULT_SYNTH_TARGET})`)
    .option('--liberty <file>', 'asic: the standard-cell Liberty file, .lib or .lib.gz (default: ../shared/pdk sky130_fd_sc_hd where present)')
    .option('--jobs <n>', 'modules synthesized at once (default: the number of cores)')
    .option('--images <n>', 'asic: simulate the netlist gate-level (--gate-sim) on N images: bit-exact against the integer model (an accelerator: the ISA simulator, its SRAM macros simulated by a model), and energy per image from its toggles (default 0: none)')
    .option('--data <path>', 'the images of --images (as verify --data; default: the bundled MNIST test digits where the input fits)')
    .option('--gate-sim <s>', `the simulator of --images: ${GATE_SIMULATORS.join(' or ')} (default icarus, toggles from a VCD; verilator: an accelerator only, toggles from its toggle coverage; a long build, cached, then fast runs)`)
    .option('--abc-fast', 'asic: ABC\'s fast mapping (quicker on large designs such as an accelerator; somewhat larger netlists), buffered and sized like the default')
    .option('--json', 'print the report (synth-<target>.json) to stdout')
    .action(async (dir: string, options: SynthCliOptions) => {
      await runSynth(dir, options);
    });
}

export async function runSynth(dir: string, cli: SynthCliOptions): Promise<SynthReport> {
  const target = (cli.target ?? DEFAULT_SYNTH_TARGET) as SynthTarget;
  if (!SYNTH_TARGETS.includes(target)) throw badInput(`--target ${cli.target}: supported targets are ${SYNTH_TARGETS.join(', ')}`);
  const jobs = optionalInt(cli.jobs, '--jobs', 1, 256);
  const images = optionalInt(cli.images, '--images', 0, 100_000);
  const gateSimulator = cli.gateSim as GateSimulator | undefined;
  if (gateSimulator !== undefined && !GATE_SIMULATORS.includes(gateSimulator)) throw badInput(`--gate-sim ${cli.gateSim}: one of ${GATE_SIMULATORS.join(', ')}`);
  const design = readDesign(dir);
  const progress = (message: string): void => { process.stderr.write(`${message}\n`); };
  const { report } = await synthDesign(design, {
    target, ...(cli.liberty !== undefined ? { liberty: cli.liberty } : {}), ...(jobs !== undefined ? { jobs } : {}), onProgress: progress,
    ...(images !== undefined ? { images } : {}), ...(cli.data !== undefined ? { data: cli.data } : {}), ...(cli.abcFast ? { abcFast: true } : {}),
    ...(gateSimulator !== undefined ? { gateSimulator } : {}),
  });
  const file = writeSynthReport(design, report);
  if (cli.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(`${formatSynthReport(report)}\nwrote ${file}\n`);
  if (report.gateLevel && !report.gateLevel.bitExact) throw checkFailed(`the gate-level netlist differs from the integer model: ${report.gateLevel.firstMismatch ?? ''}`);
  return report;
}

const fmt = (x: number, digits = 0): string => x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

export function formatSynthReport(r: SynthReport): string {
  const lines: string[] = [];
  const asic = r.target === 'asic';
  lines.push(`synth ${r.target} of ${r.top}${r.liberty ? ` on ${r.liberty.library}` : ''} (${r.tools.yosys})`);
  lines.push(asic ? 'module                          cells   area um^2   memory um^2   memory bits' : 'module                          cells   memory bits');
  const row = (name: string, m: SynthReport['total']): string => asic
    ? `${name.padEnd(30)} ${fmt(m.cells).padStart(6)} ${fmt(m.area ?? 0).padStart(11)} ${fmt(m.memoryArea ?? 0).padStart(13)} ${fmt(m.memoryBits).padStart(13)}`
    : `${name.padEnd(30)} ${fmt(m.cells).padStart(6)} ${fmt(m.memoryBits).padStart(13)}`;
  for (const m of r.modules) lines.push(row(m.module, m));
  lines.push(row('total', r.total));
  if (!asic) {
    const top = Object.entries(r.total.cellsByType).sort((a, b) => b[1] - a[1]).slice(0, 12);
    lines.push(`cells by type: ${top.map(([t, n]) => `${t} ${fmt(n)}`).join(', ')}${Object.keys(r.total.cellsByType).length > 12 ? ', ...' : ''}`);
  }
  if (r.timing) {
    const t = r.timing;
    lines.push(`timing (${t.label}): worst path ${fmt(t.criticalPathNs, 3)} ns (${t.startpoint} -> ${t.endpoint}), max clock ${fmt(t.maxClockMhz, 1)} MHz; slack ${fmt(t.worstSlackNs, 3)} ns at the SDC's ${fmt(t.clockPeriodNs, 3)} ns`);
  }
  if (r.fpga) {
    const f = r.fpga;
    lines.push(`resources: ${fmt(f.luts)} LUTs, ${fmt(f.flipFlops)} flip-flops, ${fmt(f.carries)} carries, ${fmt(f.ramBlocks)} block RAMs, ${fmt(f.dsps)} DSPs`);
  }
  if (r.ice40) {
    lines.push(`${r.ice40.device}: ${fmt(r.ice40.logicCells.used)} of ${fmt(r.ice40.logicCells.available)} logic cells, max clock ${fmt(r.ice40.maxClockMhz, 1)} MHz (${r.ice40.label})`);
  }
  if (r.gateLevel) {
    const g = r.gateLevel;
    lines.push(`gate-level (${g.simulator}): ${g.images} image(s) from ${g.dataSource}: ${g.bitExact ? 'bit-exact with the integer model' : `MISMATCH, ${g.mismatches} differ; first: ${g.firstMismatch ?? '?'}`}${g.cycles ? `; ${fmt(g.cycles)} cycles (first image)` : ''}`);
  }
  if (r.energy) {
    const e = r.energy;
    lines.push(`energy per image: ${fmt(e.perImagePj / 1000, 2)} nJ (dynamic ${fmt(e.dynamicPj / 1000, 2)} nJ, leakage ${fmt(e.leakagePj / 1000, 3)} nJ at ${fmt(e.clockMhz, 1)} MHz), ${fmt(e.cyclesPerImage)} cycles per image`);
    lines.push(`ops per image ${fmt(e.opsPerImage)} (2 x dense MACs, zero weights included): ${fmt(e.topsPerWatt, 2)} TOPS/W`);
  }
  if (r.energyModel) {
    const m = r.energyModel;
    lines.push(`energy per image, modeled from the cost counts (activity ${m.activity}, ${fmt(m.cyclesPerImage)} cycles): ${fmt(m.perImagePj / 1000, 2)} nJ${m.errorVsMeasured === null ? '' : ` (${m.errorVsMeasured >= 0 ? '+' : ''}${fmt(100 * m.errorVsMeasured, 1)} % against the measurement)`}`);
  }
  for (const x of r.total.macros ?? []) {
    lines.push(`SRAM macro (modelled) ${x.name}: ${fmt(x.words)} x ${x.width} bits, ${x.readPorts} read / ${x.writePorts} write port(s), ${fmt(x.areaUm2)} um^2`);
  }
  if (r.accelerator) {
    const a = r.accelerator;
    const e = a.energy;
    lines.push(`accelerator (${a.modules.join(', ')}): ${fmt(a.areaUm2)} um^2 = ${fmt(a.cellAreaUm2)} logic (Liberty cells, pre-layout) + ${fmt(a.macroAreaUm2)} SRAM macros (${fmt(a.macroBits)} bits, modelled)`);
    lines.push(`accelerator energy per image, modelled (${fmt(a.cyclesPerImage)} cycles at ${fmt(a.clockMhz)} MHz): ${fmt(e.perImagePj / 1000, 2)} nJ = logic ${fmt(e.logicPj / 1000, 2)} + MACs ${fmt(e.macPj / 1000, 2)} + PPU ${fmt(e.ppuPj / 1000, 2)} + SRAM ${fmt(e.sramPj / 1000, 2)} + SRAM leakage ${fmt(e.sramLeakagePj / 1000, 3)} + off-chip ${fmt(e.externalPj / 1000, 2)} nJ`);
    const m = a.measuredEnergy;
    if (m !== undefined) {
      const l = m.logic;
      lines.push(`accelerator energy per image, measured (${fmt(m.cyclesPerImage)} cycles busy, leakage at ${fmt(m.clockMhz, 1)} MHz): ${fmt(m.perImagePj / 1000, 2)} nJ = logic ${fmt(l.perImagePj / 1000, 2)} (dynamic ${fmt(l.dynamicPj / 1000, 2)}, leakage ${fmt(l.leakagePj / 1000, 3)}) + SRAM ${fmt(m.sramPj / 1000, 2)} + SRAM leakage ${fmt(m.sramLeakagePj / 1000, 3)} nJ; ${fmt(m.topsPerWatt, 3)} TOPS/W`);
      lines.push(`SRAM accesses per image (measured): ${m.macros.map((x) => `${x.cell} ${fmt(x.readsPerImage)} reads, ${fmt(x.writesPerImage)} writes`).join('; ')}`);
      if (a.modelAtMeasuredClock !== undefined && a.energyErrorVsMeasured !== undefined) {
        lines.push(`accelerator energy model at ${fmt(m.clockMhz, 1)} MHz: ${fmt(a.modelAtMeasuredClock.perImagePj / 1000, 2)} nJ, ${a.energyErrorVsMeasured >= 0 ? '+' : ''}${fmt(100 * a.energyErrorVsMeasured, 1)} % against the measurement`);
      }
    }
  }
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join('\n');
}
