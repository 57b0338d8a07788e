/**
 * A small reader of Liberty (.lib) files: what synthesis figures and our energy calculator need from a
 * standard-cell library (cell area, leakage, pin capacitance, pin functions, internal energy tables, the
 * wire-load model), not a general Liberty implementation. Reads plain or gzip-compressed text.
 *
 * Units are the library's own and are returned with it (`LibertyUnits`): sky130_fd_sc_hd uses ns, pF, nW
 * and V, and its internal_power tables hold energy per transition in pJ (1 V^2 x 1 pF).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { badInput } from '../../generator/common/errors.js';

export interface LibertyTable {
  /** index_1: input transition (time unit); index_2: output load (capacitance unit), where the table has it. */
  readonly index1: readonly number[];
  readonly index2: readonly number[];
  /** values[i1][i2] (a one-index table: values[i1][0]). */
  readonly values: readonly (readonly number[])[];
}

export interface InternalPower {
  readonly relatedPin: string | null;
  readonly rise: LibertyTable | null;
  readonly fall: LibertyTable | null;
}

export interface LibertyPin {
  readonly name: string;
  readonly direction: 'input' | 'output' | 'inout' | 'internal';
  /** Input capacitance (capacitance unit); 0 for outputs. */
  readonly capacitance: number;
  readonly func: string | null;
  readonly clock: boolean;
  readonly internalPower: readonly InternalPower[];
}

export interface LibertyCell {
  readonly name: string;
  readonly area: number;
  /** cell_leakage_power (leakage power unit). */
  readonly leakage: number;
  readonly pins: ReadonlyMap<string, LibertyPin>;
  /** A flip-flop or latch (an `ff`/`latch` group). */
  readonly sequential: boolean;
}

export interface LibertyUnits {
  readonly timeNs: number;
  readonly capacitancePf: number;
  readonly leakageNw: number;
  readonly voltage: number;
}

export interface Liberty {
  readonly name: string;
  readonly units: LibertyUnits;
  readonly cells: ReadonlyMap<string, LibertyCell>;
  /** The default wire-load model: capacitance per unit length and length by fanout (pre-layout wires). */
  readonly wireLoad: { readonly name: string; readonly capacitance: number; readonly slope: number; readonly fanoutLength: ReadonlyMap<number, number> } | null;
}

interface Group {
  readonly type: string;
  readonly args: string[];
  readonly attrs: Map<string, string>;
  readonly complex: Array<{ name: string; args: string[] }>;
  readonly groups: Group[];
}

const TOKEN = /\s+|\/\*[\s\S]*?\*\/|\\\r?\n|"(?:[^"\\]|\\.)*"|[(){}:;,]|[^\s(){}:;,"]+/g;

/** Parse Liberty text into its group tree. */
function parseGroups(text: string, file: string): Group {
  const root: Group = { type: 'root', args: [], attrs: new Map(), complex: [], groups: [] };
  const stack: Group[] = [root];
  let words: string[] = [];
  let args: string[] | null = null;
  let afterColon = false;
  let line = 1;
  for (const m of text.matchAll(TOKEN)) {
    const t = m[0];
    if (/^\s/.test(t) || t.startsWith('/*') || t.startsWith('\\')) {
      for (const ch of t) if (ch === '\n') line += 1;
      continue;
    }
    const top = stack[stack.length - 1] as Group;
    if (t === '(') {
      args = [];
    } else if (t === ')') {
      // arguments stay in `args` until `{` or `;`
    } else if (t === ',') {
      // separates arguments
    } else if (t === ':') {
      afterColon = true;
    } else if (t === '{') {
      const g: Group = { type: words[0] ?? '', args: args ?? [], attrs: new Map(), complex: [], groups: [] };
      top.groups.push(g);
      stack.push(g);
      words = [];
      args = null;
    } else if (t === '}') {
      if (stack.length === 1) throw badInput(`${file}:${line}: unbalanced '}' in the Liberty file`);
      stack.pop();
      words = [];
      args = null;
      afterColon = false;
    } else if (t === ';') {
      if (afterColon && words.length >= 2) top.attrs.set(words[0] as string, words.slice(1).join(' '));
      else if (args !== null && words.length >= 1) top.complex.push({ name: words[0] as string, args });
      words = [];
      args = null;
      afterColon = false;
    } else {
      const value = t.startsWith('"') ? t.slice(1, -1) : t;
      if (args !== null) args.push(value);
      else words.push(value);
    }
  }
  if (stack.length !== 1) throw badInput(`${file}: the Liberty file ends inside a group`);
  return root;
}

function numbers(text: string): number[] {
  return text.split(/[\s,]+/).filter((s) => s !== '').map(Number);
}

function table(g: Group | undefined): LibertyTable | null {
  if (g === undefined) return null;
  const index1 = numbers(g.complex.find((c) => c.name === 'index_1')?.args.join(',') ?? '');
  const index2 = numbers(g.complex.find((c) => c.name === 'index_2')?.args.join(',') ?? '');
  const rows = (g.complex.find((c) => c.name === 'values')?.args ?? []).map(numbers);
  if (rows.length === 0) return null;
  // A one-index table is one row of index_1 values.
  const values = index2.length === 0 && rows.length === 1 ? (rows[0] as number[]).map((v) => [v]) : rows;
  return { index1, index2, values };
}

function unitScale(text: string | undefined, units: Record<string, number>, what: string, file: string): number {
  const m = /^\s*([\d.eE+-]+)\s*([a-zA-Z]+)\s*$/.exec(text ?? '');
  const scale = m ? units[m[2]?.toLowerCase() ?? ''] : undefined;
  if (!m || scale === undefined) throw badInput(`${file}: cannot read the library's ${what} '${text ?? '(missing)'}'`);
  return Number(m[1]) * scale;
}

/** Read a Liberty file (.lib or .lib.gz). */
export function readLiberty(file: string): Liberty {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw badInput(`${file}: cannot read the Liberty file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const text = (bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes).toString('utf8');
  const root = parseGroups(text, file);
  const lib = root.groups.find((g) => g.type === 'library');
  if (lib === undefined) throw badInput(`${file}: no library group: not a Liberty file`);
  const capUnit = lib.complex.find((c) => c.name === 'capacitive_load_unit');
  const units: LibertyUnits = {
    timeNs: unitScale(lib.attrs.get('time_unit'), { ns: 1, ps: 1e-3, us: 1e3 }, 'time_unit', file),
    capacitancePf: capUnit ? Number(capUnit.args[0]) * ({ pf: 1, ff: 1e-3, nf: 1e3 }[(capUnit.args[1] ?? '').toLowerCase()] ?? NaN) : NaN,
    leakageNw: unitScale(lib.attrs.get('leakage_power_unit'), { nw: 1, pw: 1e-3, uw: 1e3, mw: 1e6 }, 'leakage_power_unit', file),
    voltage: Number(lib.attrs.get('nom_voltage') ?? lib.groups.find((g) => g.type === 'operating_conditions')?.attrs.get('voltage')),
  };
  if (!Number.isFinite(units.capacitancePf) || !Number.isFinite(units.voltage)) throw badInput(`${file}: the library states no capacitive_load_unit or nominal voltage`);
  const cells = new Map<string, LibertyCell>();
  for (const g of lib.groups.filter((c) => c.type === 'cell')) {
    const pins = new Map<string, LibertyPin>();
    for (const p of g.groups.filter((c) => c.type === 'pin')) {
      const name = p.args[0] ?? '';
      pins.set(name, {
        name,
        direction: (p.attrs.get('direction') ?? 'internal') as LibertyPin['direction'],
        capacitance: Number(p.attrs.get('capacitance') ?? 0),
        func: p.attrs.get('function') ?? null,
        clock: p.attrs.get('clock') === 'true',
        internalPower: p.groups.filter((c) => c.type === 'internal_power').map((ip) => ({
          relatedPin: ip.attrs.get('related_pin') ?? null,
          rise: table(ip.groups.find((c) => c.type === 'rise_power')),
          fall: table(ip.groups.find((c) => c.type === 'fall_power')),
        })),
      });
    }
    const name = g.args[0] ?? '';
    cells.set(name, {
      name, area: Number(g.attrs.get('area') ?? 0), leakage: Number(g.attrs.get('cell_leakage_power') ?? 0), pins,
      sequential: g.groups.some((c) => c.type === 'ff' || c.type === 'latch' || c.type === 'ff_bank' || c.type === 'latch_bank'),
    });
  }
  const wlName = lib.attrs.get('default_wire_load');
  const wl = lib.groups.find((c) => c.type === 'wire_load' && c.args[0] === wlName);
  const wireLoad = wl === undefined || wlName === undefined ? null : {
    name: wlName,
    capacitance: Number(wl.attrs.get('capacitance') ?? 0),
    slope: Number(wl.attrs.get('slope') ?? 0),
    fanoutLength: new Map(wl.complex.filter((c) => c.name === 'fanout_length').map((c) => [Number(c.args[0]), Number(c.args[1])])),
  };
  return { name: lib.args[0] ?? '', units, cells, wireLoad };
}

/** Bilinear interpolation (clamped to the table's range) at input transition x and load y. */
export function lookup(t: LibertyTable, x: number, y: number): number {
  const at = (index: readonly number[], v: number): [number, number, number] => {
    if (index.length <= 1) return [0, 0, 0];
    let i = 0;
    while (i < index.length - 2 && v > (index[i + 1] as number)) i += 1;
    const lo = index[i] as number;
    const hi = index[i + 1] as number;
    const f = Math.min(1, Math.max(0, (v - lo) / (hi - lo)));
    return [i, i + 1, f];
  };
  const [i0, i1, fx] = at(t.index1, x);
  const [j0, j1, fy] = at(t.index2, y);
  const v = (i: number, j: number): number => t.values[i]?.[j] ?? t.values[i]?.[0] ?? 0;
  const a = v(i0, j0) * (1 - fy) + v(i0, j1) * fy;
  const b = v(i1, j0) * (1 - fy) + v(i1, j1) * fy;
  return a * (1 - fx) + b * fx;
}

/** The pre-layout wire capacitance of a net with `fanout` loads under the default wire-load model. */
export function wireCapacitance(lib: Liberty, fanout: number): number {
  const wl = lib.wireLoad;
  if (wl === null || fanout <= 0) return 0;
  const known = [...wl.fanoutLength.keys()].sort((a, b) => a - b);
  const max = known[known.length - 1] ?? 0;
  const length = fanout <= max ? (wl.fanoutLength.get(fanout) ?? 0) : (wl.fanoutLength.get(max) ?? 0) + (fanout - max) * wl.slope;
  return length * wl.capacitance;
}
