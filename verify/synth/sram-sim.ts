/**
 * The SRAM macros in simulation: the accelerator's netlist keeps its large memories as `$__fixynn_sram` cells
 * (Yosys' $mem_v2 renamed by the ASIC script; sram-model.ts prices them), which a gate-level simulation needs
 * a model of. templates/synth-sram-sim.v.hbs is that model, one parameterized module elaborated per instance
 * from the cell's own parameters (words, width, read and write ports, clock polarity, resets), with the read
 * timing of the RTL memory it replaced (registered, read-first), counting its reads and writes.
 *
 * What the model does not cover is refused before simulating (an asynchronous read port, transparency, wide
 * ports): none of fixynn's macro memories has them.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { checkFailed } from '../../generator/common/errors.js';
import { renderHeader } from '../../generator/emit/header.js';
import type { JsonModule } from './netlist.js';
import { MACRO_MIN_BITS, macroAccessPj } from './sram-model.js';

/** The cell type the ASIC script gives the memories it keeps as SRAM macros (FIXYNN_MACROS). */
export const MACRO_CELL = '$__fixynn_sram';

const template = Handlebars.compile(readFileSync(new URL('../../templates/synth-sram-sim.v.hbs', import.meta.url), 'utf8'), { noEscape: true, strict: true });

/** The model's Verilog (module `\$__fixynn_sram `, the escaped name write_verilog gives the cells). */
export function sramSimModel(): string {
  return template({ header: renderHeader({}).trimEnd(), module: `\\${MACRO_CELL} ` });
}

/** A Yosys JSON parameter as bits, least significant first ('x' for undefined bits). */
function paramBits(value: unknown): string {
  if (typeof value === 'number') return value.toString(2).split('').reverse().join('');
  if (typeof value === 'string' && /^[01xz]+$/.test(value)) return value.split('').reverse().join('');
  return '';
}

function paramNumber(value: unknown): number {
  const bits = paramBits(value);
  return bits === '' || /[xz]/.test(bits) ? NaN : parseInt(bits.split('').reverse().join(''), 2);
}

/** A macro cell's shape from its Yosys parameters (NaN where one is unreadable). */
export function macroShape(cell: { readonly parameters?: Record<string, unknown> }): { words: number; width: number; readPorts: number; writePorts: number } {
  const p = cell.parameters ?? {};
  return { words: paramNumber(p.SIZE), width: paramNumber(p.WIDTH), readPorts: paramNumber(p.RD_PORTS), writePorts: paramNumber(p.WR_PORTS) };
}

/** One macro instance of a unit's netlist, as simulated: where it is, its shape, and its energy per access. */
export interface MacroInstance {
  /** The unit (module) whose netlist holds the cell, and the cell's name there. */
  readonly module: string;
  readonly cell: string;
  readonly words: number;
  readonly width: number;
  readonly readPorts: number;
  readonly writePorts: number;
  /** pJ per read or write of one word (sram-model.ts: ceil(width / 32) x 4.60 pJ). */
  readonly accessPj: number;
}

/** The macro cells of a unit's netlist, checked against what the model simulates. */
export function macroInstances(module: string, m: JsonModule): MacroInstance[] {
  const out: MacroInstance[] = [];
  for (const [cell, c] of Object.entries(m.cells)) {
    if (c.type !== MACRO_CELL) continue;
    const p = (c as { parameters?: Record<string, unknown> }).parameters ?? {};
    const { words, width, readPorts, writePorts } = macroShape(c as { parameters?: Record<string, unknown> });
    const unsupported: string[] = [];
    const all = (name: string, bit: '0' | '1', n: number): void => {
      const bits = paramBits(p[name]).padEnd(n, '0');
      if (bits.slice(0, n) !== bit.repeat(n)) unsupported.push(`${name} ${String(p[name])}`);
    };
    all('RD_CLK_ENABLE', '1', readPorts);
    all('WR_CLK_ENABLE', '1', writePorts);
    all('RD_TRANSPARENCY_MASK', '0', readPorts * writePorts);
    all('RD_WIDE_CONTINUATION', '0', readPorts);
    all('WR_WIDE_CONTINUATION', '0', writePorts);
    if (![words, width, readPorts, writePorts].every(Number.isFinite)) unsupported.push('SIZE, WIDTH, RD_PORTS or WR_PORTS unreadable');
    if (unsupported.length > 0) throw checkFailed(`${module}: SRAM macro ${cell}: the simulation model (templates/synth-sram-sim.v.hbs) has registered, non-transparent, single-word ports only; it has ${unsupported.join(', ')}`);
    out.push({ module, cell, words, width, readPorts, writePorts, accessPj: macroAccessPj(width) });
  }
  return out.sort((a, b) => a.cell.localeCompare(b.cell));
}

/** A port of a macro memory as the RTL writes it: the memory, read or write, the read register, its enable (null: none). */
export interface RtlMacroPort {
  readonly memory: string;
  readonly kind: 'read' | 'write';
  readonly name: string;
  readonly enable: string | null;
}

/**
 * The memories of a generated module's Verilog (generator/emit) that become macros (at least MACRO_MIN_BITS bits),
 * their widths, and their ports with their enables: `if (en) q <= mem[addr];` a read port (Yosys merges `en` into the
 * macro's RD_EN; without `if` the port reads every clock), `if (en) mem[addr] <= data;` a write port.
 */
export function rtlMacroPorts(verilog: string): { widths: Map<string, number>; ports: RtlMacroPort[] } {
  const widths = new Map<string, number>();
  for (const m of verilog.matchAll(/^reg (?:signed )?\[(\d+):0\] (\w+) \[0:(\d+)\];$/gm)) {
    const width = Number(m[1]) + 1;
    if (width * (Number(m[3]) + 1) >= MACRO_MIN_BITS) widths.set(m[2]!, width);
  }
  const ports: RtlMacroPort[] = [];
  for (const m of verilog.matchAll(/^\s*(?:if \((\w+)\) )?(\w+) <= (\w+)\[/gm)) {
    if (widths.has(m[3]!)) ports.push({ memory: m[3]!, kind: 'read', name: m[2]!, enable: m[1] ?? null });
  }
  for (const m of verilog.matchAll(/^\s*(?:if \((\w+)\) )?(\w+)\[\w+\] <= /gm)) {
    if (widths.has(m[2]!)) ports.push({ memory: m[2]!, kind: 'write', name: `${m[2]}_write`, enable: m[1] ?? null });
  }
  return { widths, ports };
}
