/**
 * The header comment of every generated Verilog file, rendered from templates/verilog-header.hbs: the
 * generator and its version, the source model's SHA-256 and the options. No dates and no absolute paths,
 * so that identical inputs give identical bytes.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import Handlebars from 'handlebars';
import { version } from '../common/version.js';

export interface HeaderInfo {
  /** File name of the source model, without its directory (the header never holds a path). */
  readonly modelFile?: string;
  /** SHA-256 (hex) of the source model file; omitted for designs that come from no model (tests, benches). */
  readonly modelSha256?: string;
  /** The options that shaped the design (flag name -> value); printed sorted by name. */
  readonly options?: Readonly<Record<string, string | number | boolean>>;
}

const template = Handlebars.compile(readFileSync(new URL('../../templates/verilog-header.hbs', import.meta.url), 'utf8'), {
  noEscape: true,
  strict: true,
});

/** One line, no comment terminators: option values may come from users. */
function commentSafe(value: string): string {
  return value.replace(/[\r\n\u2028\u2029]+/g, ' ').replace(/[^\x20-\x7e]/g, '?');
}

export function renderHeader(info: HeaderInfo): string {
  const options = Object.entries(info.options ?? {})
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => ({ key: commentSafe(key), value: commentSafe(String(value)) }));
  return template({
    generator: 'fixynn',
    version,
    modelFile: info.modelFile === undefined ? '' : commentSafe(basename(info.modelFile)),
    modelSha256: info.modelSha256 === undefined ? '(none)' : commentSafe(info.modelSha256),
    options,
  });
}
