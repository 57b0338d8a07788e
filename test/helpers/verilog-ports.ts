/**
 * The ports of a module as its Verilog text declares them (ANSI-style header, as fixynn emits): what a
 * synthesis tool or a user's instantiation sees, read independently of the generator's own records.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { readDesign } from '../../generator/design/read-design.js';

export interface VerilogPort {
  readonly name: string;
  readonly direction: 'input' | 'output';
  readonly width: number;
}

export function verilogPorts(text: string, module: string): VerilogPort[] {
  const header = new RegExp(`^module\\s+${module}\\s*\\(([^;]*?)\\);`, 'm').exec(text);
  if (header === null) throw new Error(`no module ${module} with an ANSI port list`);
  return (header[1] ?? '')
    .replace(/\/\/.*$/gm, '')
    .split(',')
    .map((decl) => decl.replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '')
    .map((line) => {
      const m = /^(input|output)\s+(?:wire|reg)?\s*(?:signed\s*)?(?:\[(\d+):(\d+)\]\s*)?([A-Za-z_][A-Za-z0-9_$]*)$/.exec(line);
      if (m === null) throw new Error(`module ${module}: cannot read the port declaration '${line}'`);
      return { name: m[4]!, direction: m[1] as 'input' | 'output', width: m[2] === undefined ? 1 : Number(m[2]) - Number(m[3]) + 1 };
    });
}

/**
 * Every module manifest.json names (the top, each part's module, every module its layers name, the
 * verification wrapper) is compared with its Verilog: the same ports, directions and widths, each with a
 * meaning. The testbench module itself has no ports. Returns the modules checked.
 */
export function checkManifestPorts(dir: string): string[] {
  const { manifest } = readDesign(dir);
  const verilogOf = (module: string, file?: string): string => readFileSync(path.join(dir, file ?? manifest.rtl.find((r) => path.basename(r) === `${module}.v`) ?? `rtl/${module}.v`), 'utf8');
  const listed = new Map<string, ReadonlyArray<{ name: string; direction: string; width: number; meaning: string }>>([[manifest.top.module, manifest.top.ports]]);
  for (const part of manifest.parts) {
    if (part.kind === 'ffe') {
      for (const m of part.modules) listed.set(m.module, m.ports);
      const missing = part.layers.map((l) => l.module).filter((m) => !listed.has(m));
      if (missing.length > 0) throw new Error(`manifest names modules without ports: ${missing.join(', ')}`);
    }
    if (!listed.has(part.module)) throw new Error(`part '${part.name}' names module ${part.module} without ports`);
  }
  const wrapper = manifest.testbench.wrapper;
  for (const [module, ports] of listed) {
    const inVerilog = verilogPorts(verilogOf(module), module);
    compare(module, ports, inVerilog);
  }
  if (wrapper !== undefined) compare(wrapper.module, wrapper.ports, verilogPorts(verilogOf(wrapper.module, wrapper.verilog), wrapper.module));
  return [...listed.keys(), ...(wrapper === undefined ? [] : [wrapper.module])];
}

function compare(module: string, listed: ReadonlyArray<{ name: string; direction: string; width: number; meaning: string }>, inVerilog: readonly VerilogPort[]): void {
  const key = (p: { name: string; direction: string; width: number }): string => `${p.name} ${p.direction} ${p.width}`;
  const a = listed.map(key).sort();
  const b = inVerilog.map(key).sort();
  if (JSON.stringify(a) !== JSON.stringify(b)) {
    throw new Error(`${module}: manifest ports [${a.filter((x) => !b.includes(x)).join(', ')}] are not in the Verilog, Verilog ports [${b.filter((x) => !a.includes(x)).join(', ')}] not in the manifest`);
  }
  const blank = listed.filter((p) => p.meaning.trim() === '').map((p) => p.name);
  if (blank.length > 0) throw new Error(`${module}: ports without a meaning: ${blank.join(', ')}`);
}
