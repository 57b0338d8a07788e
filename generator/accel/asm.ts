/**
 * Assembler and disassembler for the accelerator (docs/isa.md §9). The disassembler prints every field of
 * every instruction, so text -> instructions -> text is the identity; both sides read the ISA table.
 *
 *     LOAD +pushNext mem=wgt sramAddr=0 memAddr=4096 ySize=1 xSize=9 memStride=0 sramStride=0
 */
import { badInput } from '../common/errors.js';
import type { LayerInfo } from './compile.js';
import { DW_MODES, type Deps, type Instruction, ISA, IsaError, make, MEMORY_IDS, NO_DEPS, type OpName, type OpSpec } from './isa.js';

const DEP_NAMES: readonly (keyof Deps)[] = ['popPrev', 'popNext', 'pushPrev', 'pushNext'];
const MEMORY_BY_ID = Object.fromEntries(Object.entries(MEMORY_IDS).map(([k, v]) => [v, k]));
const MODE_BY_ID = Object.fromEntries(Object.entries(DW_MODES).map(([k, v]) => [v, k]));
const QUEUE_NAMES = ['ld', 'ex', 'st'];

/** Symbolic names some fields print with (and accept). */
function symbolOf(op: OpName, field: string, value: number): string | undefined {
  if (field === 'mem' && (op === 'load' || op === 'store')) return MEMORY_BY_ID[value];
  if (field === 'mode' && op === 'dwconv') return MODE_BY_ID[value];
  if (field === 'queue' && op === 'nop') return QUEUE_NAMES[value];
  return undefined;
}

function valueOf(op: OpName, field: string, text: string): number | undefined {
  if (/^-?\d+$/.test(text)) return Number(text);
  if (/^0x[0-9a-f]+$/i.test(text)) return Number.parseInt(text.slice(2), 16);
  if (field === 'mem' && (op === 'load' || op === 'store')) return MEMORY_IDS[text as keyof typeof MEMORY_IDS];
  if (field === 'mode' && op === 'dwconv') return DW_MODES[text as keyof typeof DW_MODES];
  if (field === 'queue' && op === 'nop') { const i = QUEUE_NAMES.indexOf(text); return i < 0 ? undefined : i; }
  return undefined;
}

function specOf(op: OpName): OpSpec {
  return ISA.find((s) => s.name === op) as OpSpec;
}

export function formatInstruction(ins: Instruction): string {
  const spec = specOf(ins.op);
  const parts: string[] = [ins.op.toUpperCase()];
  for (const d of DEP_NAMES) if (ins.deps[d]) parts.push(`+${d}`);
  const values = ins as unknown as Record<string, number>;
  for (const f of spec.fields) {
    const v = values[f.name] as number;
    parts.push(`${f.name}=${symbolOf(ins.op, f.name, v) ?? v}`);
  }
  return parts.join(' ');
}

/** The program as text; with the layer table, a comment wherever the instructions move to another layer. */
export function disassemble(program: readonly Instruction[], layers: readonly LayerInfo[] = []): string {
  const layerOf = new Map<number, LayerInfo>();
  for (const l of layers) for (const pc of l.pcs) layerOf.set(pc, l);
  const lines: string[] = [];
  let current: LayerInfo | undefined;
  program.forEach((ins, pc) => {
    const l = layerOf.get(pc);
    if (l && l !== current) lines.push(`# layer ${l.index} '${l.name.replace(/[\r\n]/g, ' ')}' ${l.kind}`);
    current = l ?? current;
    lines.push(formatInstruction(ins));
  });
  return lines.join('\n') + '\n';
}

/** Reads assembly text; a bad line is refused with its line number. */
export function assemble(text: string, file = 'program'): Instruction[] {
  const program: Instruction[] = [];
  text.split('\n').forEach((raw, n) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (!line) return;
    const where = `${file}:${n + 1}`;
    const [head, ...words] = line.split(/\s+/);
    const op = (head ?? '').toLowerCase() as OpName;
    const spec = ISA.find((s) => s.name === op);
    if (!spec) throw badInput(`${where}: unknown instruction '${head}' (known: ${ISA.map((s) => s.name.toUpperCase()).join(', ')})`);
    const deps: Record<keyof Deps, boolean> = { ...NO_DEPS };
    const fields: Record<string, number> = {};
    for (const w of words) {
      if (w.startsWith('+')) {
        const d = w.slice(1) as keyof Deps;
        if (!DEP_NAMES.includes(d)) throw badInput(`${where}: unknown token flag '${w}' (${DEP_NAMES.map((x) => `+${x}`).join(' ')})`);
        deps[d] = true;
        continue;
      }
      const eq = w.indexOf('=');
      const name = w.slice(0, eq);
      if (eq < 1 || !spec.fields.some((f) => f.name === name)) throw badInput(`${where}: ${op.toUpperCase()} has no field '${w}' (fields: ${spec.fields.map((f) => f.name).join(', ') || 'none'})`);
      const v = valueOf(op, name, w.slice(eq + 1));
      if (v === undefined) throw badInput(`${where}: ${name}=${w.slice(eq + 1)} is not a number`);
      fields[name] = v;
    }
    try {
      program.push(make(op, fields as never, deps) as Instruction);
    } catch (e) {
      if (e instanceof IsaError) throw badInput(`${where}: ${e.message}`);
      throw e;
    }
  });
  return program;
}
