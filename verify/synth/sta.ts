/**
 * Static timing with OpenSTA (Debian's `opensta`, the command `sta`) on the joined gate-level netlist and the
 * design's SDC: the worst setup path and the highest clock it allows. Pre-layout: the Liberty's wire-load
 * model for wires, an ideal clock (no skew, no clock tree).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkFailed } from '../../generator/common/errors.js';
import { runTool } from '../sim/tools.js';

export interface TimingReport {
  readonly clockPeriodNs: number;
  readonly worstSlackNs: number;
  /** The clock period the worst path needs: period - slack (setup time included). */
  readonly criticalPathNs: number;
  readonly maxClockMhz: number;
  readonly startpoint: string;
  readonly endpoint: string;
  readonly arrivalNs: number;
  readonly label: string;
}

export const PRE_LAYOUT = 'pre-layout: wire-load model, ideal clock';

/**
 * A netlist as Debian's OpenSTA reads it: its Verilog reader has no parameter overrides, so the SRAM macros'
 * (black boxes, `$__fixynn_sram`) parameter blocks are dropped; OpenSTA then makes them black boxes (untimed).
 */
export function withoutMacroParameters(verilog: string): string {
  return verilog.replace(/(\\\$__fixynn_sram\s+)#\(\s*(?:\.[A-Za-z_]\w*\([^()]*\)\s*,?\s*)*\)\s*/g, '$1');
}

export async function staticTiming(liberty: string, netlists: readonly string[], top: string, sdc: string): Promise<TimingReport> {
  const dir = mkdtempSync(join(tmpdir(), 'fixynn-sta-'));
  try {
    netlists = netlists.map((n, i) => {
      const text = readFileSync(n, 'utf8');
      if (!text.includes('$__fixynn_sram')) return n;
      const copy = join(dir, `netlist-${i}.v`);
      writeFileSync(copy, withoutMacroParameters(text));
      return copy;
    });
    const script = join(dir, 'timing.tcl');
    writeFileSync(script, [
      `read_liberty ${liberty}`, ...netlists.map((n) => `read_verilog ${n}`), `link_design ${top}`, `read_sdc ${sdc}`,
      'report_checks -path_delay max -digits 4', 'exit', '',
    ].join('\n'));
    const r = await runTool('sta', ['-no_splash', '-exit', script], { timeoutMs: 3600_000 });
    const out = r.stdout + r.stderr;
    const slack = /(-?[\d.]+)\s+slack \((MET|VIOLATED)\)/.exec(out);
    const periodLine = [...out.matchAll(/^\s*([\d.]+)\s+([\d.]+)\s+clock \S+ \(rise edge\)/gm)].map((m) => Number(m[2]));
    if (r.exitCode !== 0 || slack === null || /^Error/m.test(out)) throw checkFailed(`OpenSTA found no timing path of ${top}: ${out.split('\n').filter((l) => /Error|Warning/.test(l)).slice(0, 3).join(' | ') || out.slice(-400)}`);
    const clockPeriodNs = Math.max(...periodLine);
    const worstSlackNs = Number(slack[1]);
    const criticalPathNs = clockPeriodNs - worstSlackNs;
    return {
      clockPeriodNs, worstSlackNs, criticalPathNs, maxClockMhz: 1000 / criticalPathNs,
      startpoint: /Startpoint: (.*)/.exec(out)?.[1]?.trim() ?? '?',
      endpoint: /Endpoint: (.*)/.exec(out)?.[1]?.trim() ?? '?',
      arrivalNs: Number(/([\d.]+)\s+data arrival time/.exec(out)?.[1] ?? NaN),
      label: PRE_LAYOUT,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
