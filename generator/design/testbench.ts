/**
 * The testbenches and the file list of a generated design, rendered from templates/ffe-*.hbs (fixed
 * boilerplate only; every name in them is checked to be a legal identifier first, so nothing from the
 * model reaches a testbench unescaped).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { isLegalIdentifier, MAX_IDENTIFIER_LENGTH, NameScope, renderHeader, type HeaderInfo } from '../emit/index.js';
import { beatWidth, packingOf, type Stream } from '../contract/stream.js';
import type { CoreDesign, ModulePort } from './core.js';
import type { StreamProbe } from '../ffe/index.js';

export const TB_VERILOG = 'tb/ffe_tb.v';
/** The verification wrapper's file: the top plus tap ports (simulation only; files.f, the synthesis list, lacks it). */
export function wrapperFile(module: string): string {
  return `tb/${module}.v`;
}
export const TB_HARNESS = 'tb/ffe_harness.cpp';
export const FILE_LIST = 'files.f';
/** The standalone run's files in tb/: the simulation file list (paths relative to tb/), the stimulus and the expected output. */
export const TB_FILE_LIST = 'tb/sim.f';
export const TB_STIMULUS = 'tb/stim.hex';
export const TB_EXPECTED = 'tb/expected.hex';

/** What generate put in tb/ for a standalone run (stimulus.ts standaloneFiles). */
export interface StandaloneRun {
  readonly frames: number;
  readonly source: string;
}

function template(name: string): HandlebarsTemplateDelegate {
  return Handlebars.compile(readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8'), { noEscape: true, strict: true });
}
const tbTemplate = template('ffe-tb.v.hbs');
const harnessTemplate = template('ffe-harness.cpp.hbs');
const wrapperTemplate = template('ffe-taps.v.hbs');
const fileListTemplate = template('ffe-files.f.hbs');

export interface Testbench {
  readonly module: string;
  readonly verilog: string;
  readonly harness: string;
  /** The verification wrapper: its module name, file (named after the module), ports and text. */
  readonly wrapper: { readonly module: string; readonly file: string; readonly ports: readonly ModulePort[]; readonly verilog: string };
}

/** The testbench's and the wrapper's module names (`<top>_tb`, `<top>_taps`), distinct from every module of the design. */
export function testbenchNames(design: CoreDesign): { tb: string; wrapper: string } {
  const scope = new NameScope([design.top, ...design.layers.map((l) => l.module)]);
  return { tb: scope.claim(`${design.top}_tb`), wrapper: scope.claim(`${design.top}_taps`) };
}

/** Every tap of the design: the wrapper's port prefix, the layer, its beat width and where it is watched. */
function tapsOf(design: CoreDesign): Array<{ index: number; name: string; width: number; out: Stream; probe: StreamProbe; beats: number }> {
  return design.layers.flatMap((layer) => {
    if (layer.tap === null) return [];
    if (layer.probe === null) throw new Error(`internal: layer ${layer.index} has a tap but no probe`);
    return [{ index: layer.index, name: layer.tap, width: beatWidth(layer.out), out: layer.out, probe: layer.probe, beats: layer.out.height * layer.out.width }];
  });
}

/** The wrapper's ports: the top's, then each tap's valid and data. */
export function wrapperPorts(design: CoreDesign): ModulePort[] {
  return [...design.ports, ...tapsOf(design).flatMap((t): ModulePort[] => [
    { name: `${t.name}_valid`, direction: 'output', width: 1, meaning: `verification tap: a beat of layer ${t.index}'s output passes this clock` },
    { name: `${t.name}_data`, direction: 'output', width: t.width, meaning: `verification tap: that beat, ${packingOf(t.out)}` },
  ])];
}

function renderWrapper(design: CoreDesign, wrapper: string, headerText: string): string {
  const decl = (p: ModulePort): string => `${p.direction} wire ${p.width > 1 ? `[${p.width - 1}:0] ` : ''}${p.name}`;
  // The instance is `core`: a probe's path (relative to the top) becomes core.<path>.
  const at = (p: string): string => `core.${p}`;
  const assigns = tapsOf(design).flatMap((t) => [
    `assign ${t.name}_valid = ${t.probe.valid.map(at).join(' && ')};`,
    `assign ${t.name}_data = ${at(t.probe.data)};`,
  ]);
  return wrapperTemplate({
    header: headerText, top: design.top, wrapper,
    ports: wrapperPorts(design).map(decl),
    connections: design.ports.map((p) => `.${p.name}(${p.name})`),
    assigns,
  });
}

export function renderTestbench(design: CoreDesign, header: HeaderInfo, standalone: StandaloneRun): Testbench {
  assertLegalNames(design);
  const { tb, wrapper } = testbenchNames(design);
  const headerText = renderHeader(header).trimEnd();
  const verilog = tbTemplate({
    header: headerText,
    tb,
    top: design.top,
    wrapper,
    wrapperFile: wrapperFile(wrapper),
    frames: standalone.frames,
    source: standalone.source.replace(/[^\x20-\x7e]/g, '?'),
    stimFile: path.basename(TB_STIMULUS),
    expectedFile: path.basename(TB_EXPECTED),
    fileList: path.basename(TB_FILE_LIST),
    inWidth: beatWidth(design.input),
    outWidth: beatWidth(design.output),
    inHeight: design.input.height,
    inWidthPixels: design.input.width,
    outBeats: design.output.height * design.output.width,
    // Beats per frame of each tap: the testbench runs until every tap has them all (templates/ffe-tb.v.hbs).
    taps: tapsOf(design).map((t) => ({ index: t.index, name: t.name, beats: t.beats })),
  });
  const harness = harnessTemplate({ header: headerText, tb, tbFile: TB_VERILOG, harnessFile: TB_HARNESS, wrapperFile: wrapperFile(wrapper) });
  return { module: tb, verilog, harness, wrapper: { module: wrapper, file: wrapperFile(wrapper), ports: wrapperPorts(design), verilog: renderWrapper(design, wrapper, headerText) } };
}

/** files.f: the RTL in compile order, one path per line relative to the design folder. */
export function renderFileList(rtlPaths: readonly string[]): string {
  return fileListTemplate({ files: rtlPaths });
}

/** tb/sim.f: everything the testbench needs, relative to tb/ (the RTL, the wrapper, the testbench). */
export function renderSimFileList(rtlPaths: readonly string[], tb: Testbench): string {
  const fromTb = (p: string): string => path.posix.relative(path.posix.dirname(TB_FILE_LIST), p);
  return fileListTemplate({ files: [...rtlPaths, tb.wrapper.file, TB_VERILOG].map(fromTb) });
}

/** The FFE core promises legal names; a broken promise must fail here, not in a simulator. */
function assertLegalNames(design: CoreDesign): void {
  const names = [design.top, ...design.layers.flatMap((l) => [l.module, ...(l.tap === null ? [] : [`${l.tap}_valid`, `${l.tap}_data`])])];
  // Plain identifier syntax and no keyword; long or underscore-heavy names are legal, only not our style.
  const styleOnly = (n: string): boolean => n.length > MAX_IDENTIFIER_LENGTH || n.includes('__') || n.endsWith('_');
  const bad = names.filter((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || (!isLegalIdentifier(n) && !styleOnly(n)));
  if (bad.length > 0) throw new Error(`internal: the FFE design uses illegal Verilog names: ${bad.slice(0, 5).join(', ')}`);
}
