/**
 * Reading what Yosys writes: `stat` text (cells by type, chip area, memory bits) and the JSON netlist
 * (cells, their pins and the nets they drive), for counts, memory attribution and the energy calculator.
 */
import { readFileSync } from 'node:fs';
import { checkFailed } from '../../generator/common/errors.js';

export interface StatFigures {
  readonly cells: number;
  readonly byType: Readonly<Record<string, number>>;
  /** `stat -liberty`: the chip area of the module (library units, um^2 for sky130). */
  readonly area: number | null;
}

/** The module's block of `stat` output (the last one when the module is not named), black boxes left out. */
export function parseStatText(text: string, module: string, blackboxes: readonly string[]): StatFigures {
  const blocks = text.split(/^=== (.*) ===$/m);
  let body: string | undefined;
  for (let i = 1; i < blocks.length; i += 2) if (blocks[i] === module || blocks[i] === `\\${module}`) body = blocks[i + 1];
  body ??= blocks[blocks.length - 1];
  if (body === undefined) throw checkFailed(`no statistics of ${module} in the yosys output`);
  const byType: Record<string, number> = {};
  let cells = 0;
  const cellSection = body.split(/Number of cells:\s+\d+/)[1] ?? '';
  for (const m of cellSection.matchAll(/^\s+(\S+)\s+(\d+)\s*$/gm)) {
    const type = (m[1] as string).replace(/^\\/, '');
    if (blackboxes.includes(type)) continue;
    byType[type] = Number(m[2]);
    cells += Number(m[2]);
  }
  const area = /Chip area for module '[^']*':\s+([\d.]+)/.exec(body);
  return { cells, byType, area: area ? Number(area[1]) : null };
}

/** Memory bits as written in the RTL (`stat` after `proc`): the design hierarchy's total where printed. */
export function parseMemoryBits(text: string): number {
  const blocks = text.split(/^=== (.*) ===$/m);
  const hierarchy = blocks.indexOf('design hierarchy');
  const bits = (body: string): number => Number(/Number of memory bits:\s+(\d+)/.exec(body)?.[1] ?? 0);
  if (hierarchy >= 0) return bits(blocks[hierarchy + 1] ?? '');
  let total = 0;
  for (let i = 2; i < blocks.length; i += 2) total += bits(blocks[i] ?? '');
  return total;
}

export interface JsonCell {
  readonly type: string;
  readonly connections: Readonly<Record<string, ReadonlyArray<number | string>>>;
  readonly port_directions?: Readonly<Record<string, 'input' | 'output' | 'inout'>>;
}
export interface JsonModule {
  readonly ports: Readonly<Record<string, { readonly direction: string; readonly bits: ReadonlyArray<number | string> }>>;
  readonly cells: Readonly<Record<string, JsonCell>>;
  readonly netnames: Readonly<Record<string, { readonly bits: ReadonlyArray<number | string>; readonly hide_name?: number }>>;
}

/** One module of a Yosys JSON netlist. */
export function readJsonModule(file: string, module: string): JsonModule {
  const json = JSON.parse(readFileSync(file, 'utf8')) as { modules: Record<string, JsonModule> };
  const m = json.modules[module];
  if (m === undefined) throw checkFailed(`${file}: no module ${module} in the netlist`);
  return m;
}

/**
 * Cells that store memory words: flip-flops whose output drives a bit of a net named `<memory>[word][bit]`
 * (how Yosys' memory_map names the words of a Verilog array it turns into flip-flops).
 */
export function memoryStorageCells(m: JsonModule, memories: readonly string[], isOutput: (type: string, pin: string) => boolean): string[] {
  if (memories.length === 0) return [];
  const pattern = new RegExp(`^(${memories.map((x) => x.replace(/[$]/g, '\\$')).join('|')})\\[\\d+\\](\\[\\d+\\])?$`);
  const storageBits = new Set<number | string>();
  for (const [name, net] of Object.entries(m.netnames)) if (pattern.test(name)) for (const b of net.bits) storageBits.add(b);
  return Object.entries(m.cells)
    .filter(([, c]) => Object.entries(c.connections).some(([pin, bits]) => isOutput(c.type, pin) && bits.some((b) => storageBits.has(b))))
    .map(([name]) => name);
}
