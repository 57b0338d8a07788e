/**
 * Toggle counts from a value-change dump, read as a stream (a gate-level dump runs to hundreds of MB): per
 * scope, per net, per bit, the number of 0 <-> 1 transitions (changes from or to x/z are not toggles).
 */
import { closeSync, constants, createReadStream, existsSync, openSync } from 'node:fs';
import { checkFailed } from '../../generator/common/errors.js';
import { runTool } from '../sim/tools.js';

export interface ToggleCounts {
  /** Per scope path (e.g. `tb.dut.u0`), per net name, toggles per bit (index 0 = the least significant bit). */
  readonly scopes: ReadonlyMap<string, ReadonlyMap<string, readonly number[]>>;
  /** Rising edges of `clk` in the first scope: the clock cycles simulated. */
  readonly cycles: number;
  /** Simulated time span (the dump's time unit); null from toggle coverage (readToggleCoverage: no times). */
  readonly time: number | null;
}

interface VarInfo {
  readonly width: number;
  readonly counts: Float64Array;
  value: string;
}

/** A toggle counter reading a named pipe while the simulator writes its dump into it (toggleCounterPipe). */
export interface PipeCounter {
  /** After the simulator exited: the counts (an error when it never wrote a dump). */
  finish(): Promise<ToggleCounts>;
  /** Ends a reader still waiting for a writer (the simulator never opened the pipe); safe to call at any time. */
  release(): void;
}

/**
 * A named pipe at `file` (mkfifo) whose reader counts toggles as the simulator writes the dump: nothing on
 * disk, and the count runs beside the simulation (the simulator waits when the counter falls behind). Call
 * `release` on every path out (finish does): a reader waiting for a writer that never comes would keep
 * the process alive.
 */
export async function toggleCounterPipe(file: string, scopes: ReadonlyArray<{ readonly scope: string }>): Promise<PipeCounter> {
  const r = await runTool('mkfifo', [file]);
  if (r.exitCode !== 0) throw checkFailed(`mkfifo ${file}: ${r.stderr.trim()}`);
  const counting = countToggles(file, scopes);
  let settled = false;
  counting.then(() => { settled = true; }, () => { settled = true; }); // the result is observed by finish()
  // Opening for writing (not blocking) and closing again gives a reader waiting in open() its end of file.
  // It fails while no reader has the pipe open (it finished, or has not reached open() yet): so it is
  // repeated until the count settles or the pipe is gone.
  const poke = (): void => {
    try {
      closeSync(openSync(file, constants.O_WRONLY | constants.O_NONBLOCK));
    } catch {
      // No reader at the moment.
    }
  };
  let releasing = false;
  const release = (): void => {
    poke();
    if (releasing) return;
    releasing = true;
    const timer = setInterval(() => {
      if (settled || !existsSync(file)) clearInterval(timer);
      else poke();
    }, 20);
  };
  return {
    release,
    async finish() {
      release();
      return counting;
    },
  };
}

/** Count toggles of every net in `scopes` (other scopes are skipped); `file` may be a named pipe. */
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

  // Token by token: an identifier code may itself contain `$` (Icarus uses every printable character).
  const parseHeader = (text: string): void => {
    const tokens = text.split(/\s+/).filter((t) => t !== '');
    for (let k = 0; k < tokens.length; k++) {
      const t = tokens[k];
      if (t === '$scope') {
        path.push(tokens[k + 2] ?? '');
        k += 2;
      } else if (t === '$upscope') {
        path.pop();
      } else if (t === '$var') {
        const width = Number(tokens[k + 2]);
        const id = tokens[k + 3] ?? '';
        const name = (tokens[k + 4] ?? '').replace(/^\\/, '');
        k += 4;
        const scope = path.join('.');
        if (!wanted.has(scope)) continue;
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

/**
 * Toggle counts from Verilator's toggle coverage (`--coverage-toggle`): one or more coverage files (one per
 * measured window), each point one bit of a signal with the number of times it changed (Verilator is
 * two-state: every change is a 0 <-> 1 toggle). Verilator writes one point per module and signal bit,
 * summed over the module's instances, so a module's counts go to the first of its scopes (the energy of a
 * bit is its module's, so the total is the same as per instance). `clk` of the first scope gives the cycles
 * (two changes per cycle).
 */
export function readToggleCoverage(texts: readonly string[], scopes: ReadonlyArray<{ readonly scope: string; readonly module: string }>): ToggleCounts {
  const scopeOf = new Map<string, string>();
  for (const s of scopes) if (!scopeOf.has(s.module)) scopeOf.set(s.module, s.scope);
  // Per module, per signal: bit index -> count (the declared index; shifted to the least significant bit below).
  const raw = new Map<string, Map<string, Map<number, number>>>();
  for (const text of texts) {
    if (!text.startsWith('# SystemC::Coverage')) throw checkFailed('a toggle coverage file is not Verilator\'s coverage format (no "# SystemC::Coverage" header)');
    for (const line of text.split('\n')) {
      if (!line.startsWith('C \'')) continue;
      const close = line.lastIndexOf('\' ');
      const count = Number(line.slice(close + 2));
      const fields = new Map<string, string>();
      for (const f of line.slice(3, close).split('\x01')) {
        const sep = f.indexOf('\x02');
        if (sep > 0) fields.set(f.slice(0, sep), f.slice(sep + 1));
      }
      const page = fields.get('page') ?? '';
      if (!page.startsWith('v_toggle/')) continue;
      const module = page.slice('v_toggle/'.length);
      if (!scopeOf.has(module)) continue;
      // The bit index first, then the name's encoding undone (an escaped `\x.y[3] ` is `x__02ey__05b3__05d`).
      const o = fields.get('o') ?? '';
      const m = /^(.*?)(?:\[(\d+)\])?$/.exec(o);
      const name = (m?.[1] ?? o).replace(/__0([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
      const bit = m?.[2] === undefined ? 0 : Number(m[2]);
      let nets = raw.get(module);
      if (nets === undefined) raw.set(module, (nets = new Map()));
      let bits = nets.get(name);
      if (bits === undefined) nets.set(name, (bits = new Map()));
      bits.set(bit, (bits.get(bit) ?? 0) + count);
    }
  }
  const out = new Map<string, Map<string, number[]>>();
  for (const [module, nets] of raw) {
    const counts = new Map<string, number[]>();
    for (const [name, bits] of nets) {
      const lsb = Math.min(...bits.keys());
      const width = Math.max(...bits.keys()) - lsb + 1;
      const v = new Array<number>(width).fill(0);
      for (const [b, n] of bits) v[b - lsb] = n;
      counts.set(name, v);
    }
    out.set(scopeOf.get(module) as string, counts);
  }
  const first = scopes[0];
  const clock = first === undefined ? undefined : out.get(first.scope)?.get('clk')?.[0];
  if (clock === undefined) throw checkFailed(`the toggle coverage has no clk in ${first?.module ?? 'the first scope'}'s module`);
  return { scopes: out, cycles: Math.round(clock / 2), time: null };
}
