/**
 * The synthesis hand-off bundle `generate` writes beside the RTL, so that a user's own tools take the design
 * as it is: the top-level SDC, one Yosys script per target (generic gates, ASIC on a Liberty file, iCE40,
 * Xilinx) and a FuseSoC CAPI2 core. All boilerplate, rendered from templates/synth-*.hbs; every name in
 * them is a Verilog identifier the generator chose, and paths are relative to the design folder.
 *
 * The Yosys scripts are Tcl (`yosys -c`), so that `fixynn synth` runs the very same script on one module at
 * a time, choosing the module and the output folder through environment variables (FIXYNN_TOP, ...).
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { badInput } from '../common/errors.js';
import { renderHeader, type HeaderInfo } from '../emit/index.js';
import type { ManifestPort } from './manifest.js';

export const SYNTH_TARGETS = ['generic', 'asic', 'ice40', 'xilinx'] as const;
export type SynthTarget = (typeof SYNTH_TARGETS)[number];

/** `--clock-mhz` when not given: a round figure the example's layers roughly meet on sky130 at the typical corner. */
export const DEFAULT_CLOCK_MHZ = 100;

/** The library-specific cells of the ASIC script's defaults: SkyWater sky130_fd_sc_hd (../shared/pdk/). */
export const DEFAULT_BUF_CELL = 'sky130_fd_sc_hd__buf_2 A X';
export const DEFAULT_TIE_CELL = 'sky130_fd_sc_hd__conb_1 HI LO';
/**
 * ABC's timing constraints (`abc -constr`), without which it neither buffers nor sizes: every module input driven
 * by the flow's own buffer cell (a middle-strength driver, standing for the register or logic of another unit),
 * every output loaded with 0.01 pF (about four sky130_fd_sc_hd input pins of 1.7-2.4 fF plus their wire).
 */
export const DEFAULT_DRIVE_CELL = DEFAULT_BUF_CELL.split(' ')[0]!;
export const DEFAULT_LOAD_PF = 0.01;
/** Cells ABC must not pick (FIXYNN_DONT_USE, a regular expression): sky130_fd_sc_hd's lpflow_* power-management cells. */
export const DEFAULT_DONT_USE = 'sky130_fd_sc_hd__lpflow_[A-Za-z0-9_]*';

export const SYNTH_DIR = 'synth';
export function sdcPath(top: string): string {
  return `${SYNTH_DIR}/${top}.sdc`;
}
export function yosysScriptPath(target: SynthTarget): string {
  return `${SYNTH_DIR}/yosys-${target}.tcl`;
}
export function corePath(top: string): string {
  return `${top}.core`;
}

function template(name: string): HandlebarsTemplateDelegate {
  return Handlebars.compile(readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8'), { noEscape: true, strict: true });
}
const handlebars = Handlebars.create();
handlebars.registerPartial('read', readFileSync(new URL('../../templates/synth-yosys-read.hbs', import.meta.url), 'utf8'));
const scriptTemplates: Record<SynthTarget, HandlebarsTemplateDelegate> = Object.fromEntries(
  SYNTH_TARGETS.map((t) => [t, handlebars.compile(readFileSync(new URL(`../../templates/synth-yosys-${t}.tcl.hbs`, import.meta.url), 'utf8'), { noEscape: true, strict: true })]),
) as Record<SynthTarget, HandlebarsTemplateDelegate>;
const sdcTemplate = template('synth-sdc.hbs');
const coreTemplate = template('synth-core.hbs');

export interface HandoffDesign {
  readonly top: string;
  /** The RTL in compile order, relative to the design folder. */
  readonly rtl: readonly string[];
  readonly ports: readonly ManifestPort[];
  readonly testbench: { readonly module: string; readonly verilog: string; readonly harness?: string; readonly wrapper?: string };
  readonly header: HeaderInfo;
}

/** `--clock-mhz`: a positive finite frequency; one clear error otherwise. */
export function checkClockMhz(value: number): number {
  if (!Number.isFinite(value) || value <= 0 || value > 10_000) throw badInput(`--clock-mhz ${value}: expected a clock frequency in MHz, above 0 and at most 10000`);
  return value;
}

/** The header as `#` comments (SDC, Tcl and YAML all read `#`). */
function hashHeader(header: HeaderInfo): string {
  return renderHeader(header).trimEnd().split('\n').map((l) => l.replace(/^\/\//, '#')).join('\n');
}

/** Every file of the bundle, by path relative to the design folder. */
export function renderHandoff(design: HandoffDesign, clockMhz: number): Map<string, string> {
  checkClockMhz(clockMhz);
  const header = hashHeader(design.header);
  const periodNs = 1000 / clockMhz;
  const files = new Map<string, string>();
  const portList = (dir: 'input' | 'output'): string => design.ports.filter((p) => p.direction === dir && p.name !== 'clk').map((p) => p.name).join(' ');
  files.set(sdcPath(design.top), sdcTemplate({
    header, top: design.top, clockMhz: formatNumber(clockMhz), defaultClockMhz: DEFAULT_CLOCK_MHZ, periodNs: formatNumber(periodNs),
    inputs: portList('input'), outputs: portList('output'),
  }));
  for (const target of SYNTH_TARGETS) {
    files.set(yosysScriptPath(target), scriptTemplates[target]({
      header, top: design.top, target, script: yosysScriptPath(target), files: design.rtl,
      clockPs: Math.round(periodNs * 1000), bufCell: DEFAULT_BUF_CELL, tieCell: DEFAULT_TIE_CELL,
      driveCell: DEFAULT_DRIVE_CELL, loadPf: DEFAULT_LOAD_PF, dontUse: DEFAULT_DONT_USE, dontUseTcl: `{${DEFAULT_DONT_USE}}`,
    }));
  }
  files.set(corePath(design.top), coreTemplate({
    header, name: `fixynn:generated:${design.top}:0`, description: `${design.top}, generated by fixynn`, top: design.top, rtl: design.rtl,
    tb: design.testbench.module, tbVerilog: [...(design.testbench.wrapper === undefined ? [] : [design.testbench.wrapper]), design.testbench.verilog], harness: design.testbench.harness ?? false, sdc: sdcPath(design.top),
    verilatorOptions: design.testbench.harness === undefined ? '--binary, --timing' : '-DFIXYNN_EXTERNAL_CLOCK, --exe',
  }));
  return files;
}

/** Short decimal text without float noise (10 ns, not 10.000000000000002). */
function formatNumber(x: number): string {
  return String(Number(x.toPrecision(9)));
}
