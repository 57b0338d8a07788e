/**
 * Toggle counts from a value-change dump, read as a stream (a gate-level dump runs to hundreds of MB): per
 * scope, per net, per bit, the number of 0 <-> 1 transitions (changes from or to x/z are not toggles).
 */
import { createReadStream } from 'node:fs';
import { checkFailed } from '../../generator/common/errors.js';

export interface ToggleCounts {
  /** Per scope path (e.g. `tb.dut.u0`), per net name, toggles per bit (index 0 = the least significant bit). */
  readonly scopes: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
  /** Rising edges of `clk` in the first scope: the clock cycles simulated. */
  readonly cycles: number;
  /** Simulated time span (the dump's time unit). */
  readonly time: number;
}

interface VarInfo {
  readonly width: number;
  readonly counts: Float64Array;
  value: string;
}

/** Count toggles of every net in `scopes` (other scopes are skipped). */
export async function countToggles(file: string, scopes: ReadonlyArray<{ readonly scope: string }>): Promise<ToggleCounts> {
  const wanted = new Set(scopes.map((s) => s.scope));
  const byId = new Map<string, VarInfo>();
  const named = new Map<string, Map<string, VarInfo>>();
  const path: string[] = [];
  let header = true;
  let time = 0;
  let firstTime: number | null = null;
  let clockId: string | null = null;
  let cycles = 0;
  let rest = '';
  let headerText = '';

  const change = (id: string, raw: string): void => {
    const v = byId.get(id);
    if (v === undefined) return;
    const value = raw.length >= v.width ? raw.slice(raw.length - v.width) : (raw[0] === 'x' || raw[0] === 'z' ? raw[0] : '0').repeat(v.width - raw.length) + raw;
    const old = v.value;
    for (let i = 0; i < v.width; i++) {
      const a = old.charCodeAt(v.width - 1 - i);
      const b = value.charCodeAt(v.width - 1 - i);
      // '0' = 48, '1' = 49: a toggle is a change between the two
      if (a !== b && (a === 48 || a === 49) && (b === 48 || b === 49)) v.counts[i] = (v.counts[i] as number) + 1;
    }
    if (id === clockId && old === '0' && value === '1') cycles += 1;
    v.value = value;
  };

  const parseHeader = (text: string): void => {
    for (const m of text.matchAll(/\$(scope|upscope|var)\b([^$]*)\$end/g)) {
      const kind = m[1];
      const body = (m[2] ?? '').trim().split(/\s+/);
      if (kind === 'scope') path.push(body[1] ?? '');
      else if (kind === 'upscope') path.pop();
      else {
        const scope = path.join('.');
        if (!wanted.has(scope)) continue;
        const width = Number(body[1]);
        const id = body[2] ?? '';
        const name = (body[3] ?? '').replace(/^\\/, '');
        let v = byId.get(id);
        if (v === undefined) {
          v = { width, counts: new Float64Array(width), value: 'x'.repeat(width) };
          byId.set(id, v);
        }
        let nets = named.get(scope);
        if (nets === undefined) named.set(scope, (nets = new Map()));
        nets.set(name, v);
        if (name === 'clk' && scope === scopes[0]?.scope) clockId = id;
      }
    }
  };

  for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 22 })) {
    let text = rest + (chunk as string);
    if (header) {
      const end = text.indexOf('$enddefinitions');
      if (end < 0) {
        rest = text;
        continue;
      }
      const close = text.indexOf('$end', end + 15);
      headerText = text.slice(0, close + 4);
      parseHeader(headerText);
      text = text.slice(close + 4);
      header = false;
    }
    const lastNewline = text.lastIndexOf('\n');
    rest = text.slice(lastNewline + 1);
    const body = text.slice(0, lastNewline + 1);
    let start = 0;
    while (start < body.length) {
      let nl = body.indexOf('\n', start);
      if (nl < 0) nl = body.length;
      const line = body.slice(start, nl).trim();
      start = nl + 1;
      if (line === '') continue;
      const c = line[0];
      if (c === '#') {
        time = Number(line.slice(1));
        firstTime ??= time;
      } else if (c === 'b' || c === 'B') {
        const space = line.indexOf(' ');
        change(line.slice(space + 1), line.slice(1, space).toLowerCase());
      } else if (c === '0' || c === '1' || c === 'x' || c === 'X' || c === 'z' || c === 'Z') {
        change(line.slice(1), c.toLowerCase());
      }
      // $dumpvars / $end / $comment lines carry no changes of their own
    }
  }
  if (header) throw checkFailed(`${file}: not a value-change dump (no $enddefinitions)`);
  const scopesOut = new Map<string, Map<string, number[]>>();
  for (const [scope, nets] of named) scopesOut.set(scope, new Map([...nets].map(([name, v]) => [name, Array.from(v.counts)])));
  return { scopes: scopesOut, cycles, time: time - (firstTime ?? 0) };
}
