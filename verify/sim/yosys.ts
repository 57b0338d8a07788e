/** Yosys synthesis statistics for benchmarks: cell counts after a generic gate-level mapping. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkFailed } from '../../generator/common/errors.js';
import { type SourceFile, withSourcePaths } from './files.js';
import { runTool } from './tools.js';

export interface YosysStat {
  /** Total number of cells in the top module after the script. */
  readonly cells: number;
  /** Cells per type, e.g. { $_AND_: 10, $_XOR_: 4 }. */
  readonly byType: Readonly<Record<string, number>>;
  readonly wires: number;
  readonly wireBits: number;
}

/** The gate-level mapping our benchmarks count cells in (a common basis for all strategies). */
export function defaultSynthScript(top: string): string {
  return `synth -flatten -top ${top}; abc -g AND,NAND,OR,NOR,XOR,XNOR,MUX`;
}

/** Read the files, run `script` (default: defaultSynthScript), then `stat`, and parse the counts. */
export async function yosysStat(files: readonly SourceFile[], top: string, script: string = defaultSynthScript(top), options: { timeoutMs?: number } = {}): Promise<YosysStat> {
  return withSourcePaths(files, async (paths, dir) => {
    const statFile = join(dir, 'stat.txt');
    const commands = `read_verilog ${paths.join(' ')}; ${script}; tee -q -o ${statFile} stat -top ${top}`;
    const r = await runTool('yosys', ['-q', '-p', commands], { cwd: dir, ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }) });
    if (r.exitCode !== 0) throw checkFailed(`yosys failed on '${top}': ${(r.stderr + r.stdout).trim().split('\n').slice(-5).join(' | ')}`);
    return parseStat(readFileSync(statFile, 'utf8'));
  });
}

/** Parse the last module block of Yosys `stat` output (after -flatten, the top). */
export function parseStat(text: string): YosysStat {
  const blocks = text.split(/^=== .* ===$/m);
  const block = blocks[blocks.length - 1] ?? '';
  const number = (label: string): number => Number(new RegExp(`Number of ${label}:\\s+(\\d+)`).exec(block)?.[1] ?? NaN);
  const byType: Record<string, number> = {};
  for (const m of block.matchAll(/^\s+(\$\S+)\s+(\d+)\s*$/gm)) byType[m[1]!] = Number(m[2]);
  const cells = number('cells');
  if (Number.isNaN(cells)) throw checkFailed(`could not find a cell count in the yosys stat output:\n${text.slice(0, 500)}`);
  return { cells, byType, wires: number('wires'), wireBits: number('wire bits') };
}
