/**
 * The testbenches and the file list of a generated design, rendered from templates/ffe-*.hbs (fixed
 * boilerplate only; every name in them is checked to be a legal identifier first, so nothing from the
 * model reaches a testbench unescaped).
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { isLegalIdentifier, MAX_IDENTIFIER_LENGTH, NameScope, renderHeader, type HeaderInfo } from '../emit/index.js';
import { beatWidth } from '../contract/stream.js';
import type { CoreDesign } from './core.js';

export const TB_VERILOG = 'tb/ffe_tb.v';
export const TB_HARNESS = 'tb/ffe_harness.cpp';
export const FILE_LIST = 'files.f';

function template(name: string): HandlebarsTemplateDelegate {
  return Handlebars.compile(readFileSync(new URL(`../../templates/${name}`, import.meta.url), 'utf8'), { noEscape: true, strict: true });
}
const tbTemplate = template('ffe-tb.v.hbs');
const harnessTemplate = template('ffe-harness.cpp.hbs');
const fileListTemplate = template('ffe-files.f.hbs');

export interface Testbench {
  readonly module: string;
  readonly verilog: string;
  readonly harness: string;
}

/** The testbench module's name: `<top>_tb`, kept distinct from every module of the design. */
export function testbenchName(design: CoreDesign): string {
  const scope = new NameScope([design.top, ...design.layers.map((l) => l.module)]);
  return scope.claim(`${design.top}_tb`);
}

export function renderTestbench(design: CoreDesign, header: HeaderInfo): Testbench {
  assertLegalNames(design);
  const tb = testbenchName(design);
  const headerText = renderHeader(header).trimEnd();
  const verilog = tbTemplate({
    header: headerText,
    tb,
    top: design.top,
    inWidth: beatWidth(design.input),
    outWidth: beatWidth(design.output),
    inHeight: design.input.height,
    inWidthPixels: design.input.width,
    outBeats: design.output.height * design.output.width,
    // Beats per frame of each tap: the testbench runs until every tap has them all (templates/ffe-tb.v.hbs).
    taps: design.layers.flatMap((layer) => (layer.tap === null ? [] : [{ index: layer.index, name: layer.tap, beats: layer.out.height * layer.out.width }])),
  });
  const harness = harnessTemplate({ header: headerText, tb, tbFile: TB_VERILOG, harnessFile: TB_HARNESS });
  return { module: tb, verilog, harness };
}

/** files.f: the RTL in compile order, one path per line relative to the design folder. */
export function renderFileList(rtlPaths: readonly string[]): string {
  return fileListTemplate({ files: rtlPaths });
}

/** The FFE core promises legal names; a broken promise must fail here, not in a simulator. */
function assertLegalNames(design: CoreDesign): void {
  const names = [design.top, ...design.layers.flatMap((l) => [l.module, ...(l.tap === null ? [] : [`${l.tap}_valid`, `${l.tap}_data`])])];
  // Plain identifier syntax and no keyword; long or underscore-heavy names are legal, only not our style.
  const styleOnly = (n: string): boolean => n.length > MAX_IDENTIFIER_LENGTH || n.includes('__') || n.endsWith('_');
  const bad = names.filter((n) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) || (!isLegalIdentifier(n) && !styleOnly(n)));
  if (bad.length > 0) throw new Error(`internal: the FFE design uses illegal Verilog names: ${bad.slice(0, 5).join(', ')}`);
}
