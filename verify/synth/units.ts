/**
 * A design's synthesis units: each layer module (with the modules it instantiates) on its own, and the top
 * with the layer modules as black boxes. Synthesized apart, they run in parallel and are cached apart (an
 * unchanged layer is not synthesized again when another changes); their netlists joined are the design.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { LoadedDesign } from '../../generator/design/read-design.js';

export interface SynthUnit {
  /** The module synthesized (the top, or a layer module). */
  readonly module: string;
  /** Modules kept as black boxes while synthesizing this unit (the top's layer modules). */
  readonly blackboxes: readonly string[];
  /** The RTL files this unit's netlist depends on (relative to the design folder). */
  readonly files: readonly string[];
  /** SHA-256 of those files with comments and blank lines removed (comments do not change a netlist). */
  readonly contentHash: string;
  /** Memories (Verilog arrays) declared in the unit's own files: the line buffers. */
  readonly memories: readonly string[];
}

/** Verilog text without comments or blank lines: the part of a file a netlist depends on. */
export function verilogContent(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').split('\n').map((l) => l.replace(/\/\/.*$/, '').trimEnd()).filter((l) => l !== '').join('\n');
}

/** The layer modules of every part, then the top: one unit each. */
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
  const unit = (module: string, blackboxes: readonly string[]): SynthUnit => {
    const files = closure(module, new Set(blackboxes));
    const hash = createHash('sha256');
    for (const f of files) hash.update(`${f}\n${text.get(f) ?? ''}\n`);
    hash.update(`blackboxes ${blackboxes.join(' ')}`);
    const memories = files.flatMap((f) => [...(text.get(f) ?? '').matchAll(/^\s*reg\s+(?:signed\s+)?(?:\[[^\]]+\]\s*)?([A-Za-z_][\w$]*)\s*\[[^\]]+\]\s*;/gm)].map((x) => x[1] as string));
    return { module, blackboxes, files, contentHash: hash.digest('hex'), memories };
  };
  return [...layerModules.map((x) => unit(x, [])), unit(m.top.module, layerModules)];
}
