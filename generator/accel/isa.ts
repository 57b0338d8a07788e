/**
 * The accelerator's instruction set: ONE declarative table of opcodes and fields. The TypeScript
 * encoder/decoder below, the ISA simulator, the assembler, docs/isa.md and the RTL decoder (built with
 * generator/hdl by the accelerator's RTL generator) all read this table, so they cannot drift.
 *
 * Word: 128 bits, little-endian (byte 0 = bits 7:0). Every instruction starts with the same header:
 *
 *   [3:0] opcode   [4] popPrev   [5] popNext   [6] pushPrev   [7] pushNext
 *
 * and its own fields follow from bit 8 upwards, packed in the order listed (lsb first). Unused high bits
 * are zero; a word with a nonzero unused bit or an unknown opcode is illegal (the machine faults).
 * docs/isa.md gives every instruction's exact semantics.
 */

/** The three in-order instruction queues (VTA's decoupled load / compute / store). */
export type Queue = 'ld' | 'ex' | 'st';

export interface FieldSpec {
  readonly name: string;
  readonly width: number;
  /** Two's complement when true (the decoder sign-extends). */
  readonly signed: boolean;
  readonly doc: string;
}

export interface PlacedField extends FieldSpec {
  /** Bit offset of the field's lsb in the 128-bit word. */
  readonly lsb: number;
}

function field<N extends string>(name: N, width: number, doc: string, signed = false): FieldSpec & { readonly name: N } {
  return { name, width, signed, doc };
}

/** Version of the instruction set (part of every image's configuration fingerprint). */
export const ISA_VERSION = 1;

export const WORD_BITS = 128;
export const HEADER_BITS = 8;
export const OPCODE_BITS = 4;

/** The memories an instruction can name (LOAD's destination, STORE's source). */
export const MEMORY_IDS = { act: 0, wgt: 1, qp: 2, acc: 3 } as const;
export type MemoryName = keyof typeof MEMORY_IDS;

/** DWCONV modes. */
export const DW_MODES = { mac: 0, max: 1, sum: 2 } as const;
export type DwMode = keyof typeof DW_MODES;

/**
 * The table. `queue` is where the fetch unit dispatches the instruction; `nop` names its queue in a
 * field. Field widths bound the configurations: 16-bit scratchpad row addresses (<= 65,536 rows per
 * memory), 32-bit MEM byte addresses, 12-bit image sizes (<= 4,095), 4-bit kernels/strides/pads (<= 15),
 * 10-bit channel-block counts (<= 1,023 blocks).
 */
export const OPCODES = {
  nop: {
    code: 0, queue: 'any',
    doc: 'Does nothing but its token operations, in the queue named by `queue`.',
    fields: [field('queue', 2, 'queue to run in: 0 ld, 1 ex, 2 st')],
  },
  load: {
    code: 1, queue: 'ld',
    doc: 'MEM -> scratchpad, a 2-D block of rows: for y < ySize, x < xSize: SP[sramAddr + y*sramStride + x] = MEM row at memAddr + y*memStride + x*rowBytes(mem).',
    fields: [
      field('mem', 2, 'destination scratchpad: 0 ACT, 1 WGT, 2 QP, 3 ACC'),
      field('sramAddr', 16, 'first scratchpad row'),
      field('memAddr', 32, 'first MEM byte address (aligned, see docs/isa.md)'),
      field('ySize', 12, 'number of row groups'),
      field('xSize', 12, 'rows per group (contiguous in MEM and in the scratchpad)'),
      field('memStride', 24, 'MEM bytes between groups'),
      field('sramStride', 16, 'scratchpad rows between groups'),
    ],
  },
  store: {
    code: 2, queue: 'st',
    doc: 'Scratchpad -> MEM, the same 2-D block as LOAD (source ACT or ACC).',
    fields: [
      field('mem', 2, 'source scratchpad: 0 ACT, 3 ACC (WGT and QP are illegal)'),
      field('sramAddr', 16, 'first scratchpad row'),
      field('memAddr', 32, 'first MEM byte address (aligned)'),
      field('ySize', 12, 'number of row groups'),
      field('xSize', 12, 'rows per group'),
      field('memStride', 24, 'MEM bytes between groups'),
      field('sramStride', 16, 'scratchpad rows between groups'),
    ],
  },
  setg: {
    code: 3, queue: 'ex',
    doc: 'Sets the compute unit\'s geometry registers (used by GEMM, DWCONV, ADD, GAP until the next SETG).',
    fields: [
      field('inH', 12, 'input height'),
      field('inW', 12, 'input width'),
      field('outW', 12, 'output width'),
      field('kh', 4, 'kernel height (>= 1)'),
      field('kw', 4, 'kernel width (>= 1)'),
      field('strideY', 4, 'vertical stride (>= 1)'),
      field('strideX', 4, 'horizontal stride (>= 1)'),
      field('padTop', 4, 'rows of padding above'),
      field('padLeft', 4, 'columns of padding on the left'),
      field('cbIn', 10, 'channel blocks per input pixel (ACT rows between input pixels, >= 1)'),
      field('cbOut', 10, 'channel blocks per output pixel (ACT rows between output pixels, >= 1)'),
    ],
  },
  setq: {
    code: 4, queue: 'ex',
    doc: 'Sets the post-processing unit\'s scalar registers (zero points, output zero point, clamp).',
    fields: [
      field('zpA', 17, 'zero point of input A (the only input of GEMM/DWCONV/GAP)', true),
      field('zpB', 17, 'zero point of input B (ADD)', true),
      field('zo', 17, 'output zero point', true),
      field('lo', 17, 'clamp low bound', true),
      field('hi', 17, 'clamp high bound', true),
      field('aSigned', 1, 'ACT elements of input A are two\'s complement (else unsigned)'),
      field('bSigned', 1, 'ACT elements of input B are two\'s complement'),
    ],
  },
  gemm: {
    code: 5, queue: 'ex',
    doc: 'Convolution / fully connected on the RxC array for one output slab of C channels and output rows oy0..oy0+nOy-1 (implicit im2col over kh, kw, strides, pads; all kh*kw*cbIn folds).',
    fields: [
      field('actBase', 16, 'ACT row of the input tensor\'s pixel (0,0), block 0'),
      field('wgtBase', 16, 'WGT row of fold 0 (R rows per fold)'),
      field('qpBase', 16, 'QP row of this slab\'s record (bias, M, s)'),
      field('outBase', 16, 'ACT row of the output pixel (0,0) of this slab (toAcc = 0)'),
      field('accBase', 16, 'ACC row of the tile\'s first pixel'),
      field('oy0', 12, 'first output row'),
      field('nOy', 12, 'output rows (the tile has nOy*outW pixels)'),
      field('toAcc', 1, '1: leave acc + bias in ACC (final scores); 0: requantize into ACT'),
    ],
  },
  dwconv: {
    code: 6, queue: 'ex',
    doc: 'Depthwise convolution, max pooling or sum (average) pooling on the depthwise engine, channel blocks cb0..cb0+nCb-1, output rows oy0..oy0+nOy-1, requantized into ACT.',
    fields: [
      field('actBase', 16, 'ACT row of the input pixel (0,0), block 0'),
      field('wgtBase', 16, 'WGT row of block cb0\'s first tap (kh*kw rows per block; mode mac only)'),
      field('qpBase', 16, 'QP row of block cb0\'s record'),
      field('outBase', 16, 'ACT row of the output pixel (0,0), block 0'),
      field('oy0', 12, 'first output row'),
      field('nOy', 12, 'output rows'),
      field('cb0', 10, 'first channel block'),
      field('nCb', 10, 'channel blocks'),
      field('mode', 2, '0 mac (depthwise conv), 1 max, 2 sum'),
    ],
  },
  add: {
    code: 7, queue: 'ex',
    doc: 'Residual add of two ACT row ranges through the post-processing unit, rows i < count.',
    fields: [
      field('aBase', 16, 'ACT row of input A'),
      field('bBase', 16, 'ACT row of input B'),
      field('outBase', 16, 'ACT row of the output'),
      field('qpBase', 16, 'QP row of block 0\'s record (MA, MB, s)'),
      field('count', 16, 'rows (pixels x channel blocks)'),
    ],
  },
  gap: {
    code: 8, queue: 'ex',
    doc: 'Global average pooling: per channel block, the sum over `count` pixels, requantized into one ACT row.',
    fields: [
      field('actBase', 16, 'ACT row of input pixel 0, block 0'),
      field('outBase', 16, 'ACT row of the output, block 0 (blocks contiguous)'),
      field('qpBase', 16, 'QP row of block cb0\'s record'),
      field('count', 16, 'pixels (H*W)'),
      field('cb0', 10, 'first channel block'),
      field('nCb', 10, 'channel blocks'),
    ],
  },
  argmax: {
    code: 9, queue: 'ex',
    doc: 'The chip\'s answer: argmax over `count` scores in ACC brought to one scale (acc*M*2^(S-s)), lowest index on ties; the index goes to ACC row outAcc lane 0.',
    fields: [
      field('accBase', 16, 'ACC row of scores 0..C-1 (score i in row accBase + i/C, lane i%C)'),
      field('qpBase', 16, 'QP row of block 0\'s record (its M and s rows give the scale)'),
      field('count', 16, 'number of scores (>= 1)'),
      field('outAcc', 16, 'ACC row receiving the class index (lane 0; other lanes 0)'),
    ],
  },
  finish: {
    code: 15, queue: 'st',
    doc: 'Ends the program: the machine stops (done) once FINISH has popped its tokens; every queue must be empty.',
    fields: [],
  },
} as const satisfies Record<string, { code: number; queue: Queue | 'any'; doc: string; fields: readonly FieldSpec[] }>;

export type OpName = keyof typeof OPCODES;
type FieldsOf<O extends OpName> = (typeof OPCODES)[O]['fields'][number]['name'];

/** The four dependency-token bits every instruction carries (VTA's scheme, docs/isa.md). */
export interface Deps {
  readonly popPrev: boolean;
  readonly popNext: boolean;
  readonly pushPrev: boolean;
  readonly pushNext: boolean;
}

export const NO_DEPS: Deps = { popPrev: false, popNext: false, pushPrev: false, pushNext: false };

/** A decoded instruction: its opcode name, token bits and one number per field of the table. */
export type Instruction = { [O in OpName]: { readonly op: O; readonly deps: Deps } & { readonly [F in FieldsOf<O>]: number } }[OpName];
export type InstructionOf<O extends OpName> = Extract<Instruction, { op: O }>;

export interface OpSpec {
  readonly name: OpName;
  readonly code: number;
  readonly queue: Queue | 'any';
  readonly doc: string;
  readonly fields: readonly PlacedField[];
}

/** The table with every field's bit offset filled in (fields packed from bit 8, in order). */
export const ISA: readonly OpSpec[] = (Object.keys(OPCODES) as OpName[]).map((name) => {
  const spec = OPCODES[name];
  let lsb = HEADER_BITS;
  const fields = (spec.fields as readonly FieldSpec[]).map((f) => {
    const placed = { ...f, lsb };
    lsb += f.width;
    return placed;
  });
  if (lsb > WORD_BITS) throw new Error(`isa: ${name} needs ${lsb} bits`);
  return { name, code: spec.code, queue: spec.queue, doc: spec.doc, fields };
});

const BY_NAME = new Map(ISA.map((s) => [s.name, s]));
const BY_CODE = new Map(ISA.map((s) => [s.code, s]));

export function opSpec(name: OpName): OpSpec {
  return BY_NAME.get(name) as OpSpec;
}

/** The queue an instruction runs in. */
export function queueOf(ins: Instruction): Queue {
  const q = opSpec(ins.op).queue;
  if (q !== 'any') return q;
  return (['ld', 'ex', 'st'] as const)[(ins as InstructionOf<'nop'>).queue] ?? 'ex';
}

/** Range of a field's values. */
export function fieldRange(f: FieldSpec): { min: number; max: number } {
  return f.signed ? { min: -(2 ** (f.width - 1)), max: 2 ** (f.width - 1) - 1 } : { min: 0, max: 2 ** f.width - 1 };
}

export class IsaError extends Error {}

/** Builds an instruction from partial fields (missing fields are 0) with range checks. */
export function make<O extends OpName>(op: O, fields: Partial<Record<FieldsOf<O>, number>>, deps: Partial<Deps> = {}): InstructionOf<O> {
  const spec = opSpec(op);
  const out: Record<string, unknown> = { op, deps: { ...NO_DEPS, ...deps } };
  const given = fields as Record<string, number | undefined>;
  for (const name of Object.keys(given)) {
    if (!spec.fields.some((f) => f.name === name)) throw new IsaError(`${op}: no field '${name}'`);
  }
  for (const f of spec.fields) {
    const v = given[f.name] ?? 0;
    const { min, max } = fieldRange(f);
    if (!Number.isInteger(v) || v < min || v > max) throw new IsaError(`${op}.${f.name} = ${v} does not fit ${f.width} ${f.signed ? 'signed' : 'unsigned'} bits (${min}..${max})`);
    out[f.name] = v;
  }
  return out as InstructionOf<O>;
}

/** Encodes to the 128-bit word. */
export function encode(ins: Instruction): bigint {
  const spec = opSpec(ins.op);
  const d = ins.deps;
  let word = BigInt(spec.code) | (BigInt(d.popPrev) << 4n) | (BigInt(d.popNext) << 5n) | (BigInt(d.pushPrev) << 6n) | (BigInt(d.pushNext) << 7n);
  const values = ins as unknown as Record<string, number>;
  for (const f of spec.fields) {
    const v = values[f.name] ?? 0;
    const { min, max } = fieldRange(f);
    if (!Number.isInteger(v) || v < min || v > max) throw new IsaError(`${ins.op}.${f.name} = ${v} does not fit ${f.width} bits`);
    const raw = BigInt.asUintN(f.width, BigInt(v));
    word |= raw << BigInt(f.lsb);
  }
  return word;
}

/** Decodes a 128-bit word; throws IsaError for an unknown opcode or a nonzero unused bit (illegal). */
export function decode(word: bigint): Instruction {
  if (word < 0n || word >> BigInt(WORD_BITS) !== 0n) throw new IsaError('instruction word wider than 128 bits');
  const code = Number(word & 0xfn);
  const spec = BY_CODE.get(code);
  if (!spec) throw new IsaError(`illegal opcode ${code}`);
  const last = spec.fields.reduce((end, f) => Math.max(end, f.lsb + f.width), HEADER_BITS);
  if (word >> BigInt(last) !== 0n) throw new IsaError(`${spec.name}: nonzero bits above bit ${last - 1}`);
  const deps: Deps = { popPrev: ((word >> 4n) & 1n) === 1n, popNext: ((word >> 5n) & 1n) === 1n, pushPrev: ((word >> 6n) & 1n) === 1n, pushNext: ((word >> 7n) & 1n) === 1n };
  const out: Record<string, unknown> = { op: spec.name, deps };
  for (const f of spec.fields) {
    const raw = (word >> BigInt(f.lsb)) & ((1n << BigInt(f.width)) - 1n);
    out[f.name] = Number(f.signed ? BigInt.asIntN(f.width, raw) : raw);
  }
  return out as Instruction;
}

/** 16 little-endian bytes per word. */
export function wordToBytes(word: bigint, into: Uint8Array, offset: number): void {
  for (let i = 0; i < 16; i++) into[offset + i] = Number((word >> BigInt(8 * i)) & 0xffn);
}

export function bytesToWord(bytes: Uint8Array, offset: number): bigint {
  let word = 0n;
  for (let i = 15; i >= 0; i--) word = (word << 8n) | BigInt(bytes[offset + i] ?? 0);
  return word;
}
