/**
 * A design's synthesis units: each layer module (with the modules it instantiates) on its own, and the top
 * with the layer modules as black boxes. Synthesized apart, they run in parallel and are cached apart (an
 * unchanged layer is not synthesized again when another changes); their netlists joined are the design.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { MACRO_MIN_BITS } from './sram-model.js';

export interface SynthUnit {
  /** The module synthesized (the top, or a layer module). */
  readonly module: string;
  /** Modules kept as black boxes while synthesizing this unit (the top's layer modules). */
  readonly blackboxes: readonly string[];
  /** The RTL files this unit's netlist depends on (relative to the design folder). */
  readonly files: readonly string[];
  /** SHA-256 of those files with comments and blank lines removed (comments do not change a netlist). */
  readonly contentHash: string;
  /** Memories (Verilog arrays) declared in the unit's own files: the line buffers, the accelerator's RAMs. */
  readonly memories: readonly string[];
  /**
   * The memories synthesis keeps as SRAM macros (black boxes) rather than flip-flops: in the accelerator's
   * units, every memory of at least MACRO_MIN_BITS bits (sram-model.ts); none in a fixed part.
   */
  readonly macros: readonly string[];
}

/** A memory declaration `reg [hi:lo] name [a:b];`: its name and bits (width x words). */
export function memoryDeclarations(verilog: string): Array<{ name: string; bits: number }> {
  const range = (r: string | undefined): number => {
    if (r === undefined) return 1;
    const [a, b] = r.split(':').map((x) => Number(x.trim()));
    return Number.isFinite(a) && Number.isFinite(b) ? Math.abs((a as number) - (b as number)) + 1 : NaN;
  };
  return [...verilog.matchAll(/^\s*reg\s+(?:signed\s+)?(?:\[([^\]]+)\]\s*)?([A-Za-z_][\w$]*)\s*\[([^\]]+)\]\s*;/gm)]
    .map((x) => ({ name: x[2] as string, bits: range(x[1]) * range(x[3]) }));
}

/** Verilog text without comments or blank lines: the part of a file a netlist depends on. */
export function verilogContent(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').split('\n').map((l) => l.replace(/\/\/.*$/, '').trimEnd()).filter((l) => l !== '').join('\n');
}

/**
 * The layer modules of every part, the accelerator's module and each module it instantiates (its MAC array,
 * depthwise engine: kept apart so that no one ABC run holds the whole accelerator), then the top: one unit each.
 */
export function synthUnits(design: LoadedDesign): SynthUnit[] {
  const m = design.manifest;
  const text = new Map(m.rtl.map((f) => [f, verilogContent(readFileSync(design.pathOf(f), 'utf8'))]));
  const definedIn = new Map<string, string>();
  for (const [f, t] of text) for (const d of t.matchAll(/^\s*module\s+([A-Za-z_][\w$]*)/gm)) definedIn.set(d[1] as string, f);
  const instantiates = (file: string): string[] => {
    const t = text.get(file) ?? '';
    return [...definedIn.keys()].filter((mod) => definedIn.get(mod) !== file && new RegExp(`^\\s*${mod}\\s+(#\\s*\\(|[A-Za-z_][\\w$]*\\s*\\()`, 'm').test(t));
  };
  const closure = (mod: string, stop: ReadonlySet<string>): string[] => {
    const seen = new Set<string>();
    const visit = (x: string): void => {
      const f = definedIn.get(x);
      if (f === undefined || seen.has(f)) return;
      seen.add(f);
      for (const child of instantiates(f)) if (!stop.has(child)) visit(child);
    };
    visit(mod);
    return m.rtl.filter((f) => seen.has(f));
  };
  const layerModules = [...new Set(m.parts.flatMap((p) => (p.kind === 'ffe' ? p.layers.map((l) => l.module) : [p.module])))].filter((x) => x !== m.top.module && definedIn.has(x));
  const accelModules = m.parts.flatMap((p) => (p.kind === 'accel' ? [p.module] : []));
  const accelChildren = new Map(accelModules.map((a) => [a, instantiates(definedIn.get(a) ?? '')]));
  const inAccel = new Set(accelModules.flatMap((a) => [a, ...(accelChildren.get(a) ?? [])]));
  const children = [...accelChildren.values()].flat();
  const unit = (module: string, blackboxes: readonly string[]): SynthUnit => {
    const files = closure(module, new Set(blackboxes));
    const hash = createHash('sha256');
    for (const f of files) hash.update(`${f}\n${text.get(f) ?? ''}\n`);
    hash.update(`blackboxes ${blackboxes.join(' ')}`);
    const declared = files.flatMap((f) => memoryDeclarations(text.get(f) ?? ''));
    const macros = inAccel.has(module) ? declared.filter((d) => d.bits >= MACRO_MIN_BITS).map((d) => d.name) : [];
    if (macros.length > 0) hash.update(`macros ${macros.join(' ')}`);
    return { module, blackboxes, files, contentHash: hash.digest('hex'), memories: declared.map((d) => d.name), macros };
  };
  const childUnits = children.filter((c) => c !== m.top.module).map((c) => unit(c, []));
  const layerUnits = layerModules.map((x) => unit(x, accelChildren.get(x) ?? []));
  return [...childUnits, ...layerUnits, unit(m.top.module, [...layerModules, ...(accelChildren.get(m.top.module) ?? [])])];
}
