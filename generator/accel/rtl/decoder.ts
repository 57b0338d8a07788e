/**
 * The instruction decoder, generated from the ISA table (generator/accel/isa.ts), the same table the
 * ISA simulator's decoder reads, so the two cannot drift: for a 128-bit word, one "is this opcode" bit
 * per instruction, every field as a slice (sign-extended where the table says signed), the queue it
 * dispatches to, and whether the word is legal (known opcode, zero bits above its last field, token bits
 * the queue allows: docs/isa.md §1).
 */
import { type Expr, constant, mux } from '../../hdl/index.js';
import { HEADER_BITS, ISA, type OpName, type OpSpec, WORD_BITS } from '../isa.js';

export const QUEUE_CODE = { ld: 0, ex: 1, st: 2 } as const;

export interface DecodedWord {
  /** 1 when the word's opcode is `op`. */
  readonly is: Record<OpName, Expr>;
  /** Field `name` of opcode `op`, read from the word whatever its opcode (qualify with `is`). */
  field(op: OpName, name: string): Expr;
  readonly popPrev: Expr;
  readonly popNext: Expr;
  readonly pushPrev: Expr;
  readonly pushNext: Expr;
  /** 0 ld, 1 ex, 2 st. */
  readonly queue: Expr;
  readonly legal: Expr;
}

function spec(op: OpName): OpSpec {
  return ISA.find((s) => s.name === op)!;
}

export function decodeWord(word: Expr): DecodedWord {
  if (word.width !== WORD_BITS) throw new Error(`decoder: the word must be ${WORD_BITS} bits, got ${word.width}`);
  const opcode = word.slice(3, 0);
  const is = Object.fromEntries(ISA.map((s) => [s.name, opcode.eq(s.code)])) as Record<OpName, Expr>;
  const [popPrev, popNext, pushPrev, pushNext] = [4, 5, 6, 7].map((b) => word.bit(b)) as [Expr, Expr, Expr, Expr];
  const field = (op: OpName, name: string): Expr => {
    const f = spec(op).fields.find((x) => x.name === name);
    if (f === undefined) throw new Error(`decoder: ${op} has no field '${name}'`);
    const bits = word.slice(f.lsb + f.width - 1, f.lsb);
    return f.signed ? bits.resize(f.width, { wrap: true, signed: true }) : bits;
  };
  // The queue: fixed per opcode, named by the NOP's field (3 runs in ex, as the ISA simulator's queueOf).
  let queue: Expr = constant(QUEUE_CODE.ex);
  for (const s of ISA) {
    if (s.queue === 'any') {
      const q = field(s.name, 'queue');
      queue = mux(is[s.name], mux(q.eq(QUEUE_CODE.ld), QUEUE_CODE.ld, mux(q.eq(QUEUE_CODE.st), QUEUE_CODE.st, QUEUE_CODE.ex)), queue);
    } else {
      queue = mux(is[s.name], QUEUE_CODE[s.queue], queue);
    }
  }
  // Legal: a known opcode, nothing above its last field, and no token to a neighbour the queue lacks.
  let legal: Expr = constant(0);
  for (const s of ISA) {
    const last = s.fields.reduce((end, f) => Math.max(end, f.lsb + f.width), HEADER_BITS);
    const clean = last >= WORD_BITS ? constant(1) : word.slice(WORD_BITS - 1, last).eq(0);
    legal = mux(is[s.name], clean, legal);
  }
  const noPrev = popPrev.or(pushPrev).not();
  const noNext = popNext.or(pushNext).not();
  const tokensOk = mux(queue.eq(QUEUE_CODE.ld), noPrev, mux(queue.eq(QUEUE_CODE.st), noNext, 1));
  return { is, field, popPrev, popNext, pushPrev, pushNext, queue, legal: legal.and(tokensOk) };
}
