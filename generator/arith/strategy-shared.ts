/**
 * Cross-input common subexpression elimination (Hosangadi-style CSE, as da4ml does it).
 *
 * Every output starts as the list of CSD digits of its row: terms ±(x_i << s). A pattern is two terms
 * up to a common shift and sign: `x_a ± (x_b << d)`. Repeatedly the pattern that occurs most often
 * across all outputs becomes a new variable (one adder), and every non-overlapping occurrence collapses
 * into one term of it; an extraction with f occurrences saves f - 1 adders. Patterns within one input
 * (x + (x << 2) = 5x) are patterns too, so per-input sharing comes out of the same loop. When no pattern
 * occurs twice, each output sums its remaining terms with a depth-balanced tree.
 *
 * Depth: among equally frequent patterns the one whose new variable is shallowest wins, and a pattern
 * deeper than `maxVariableDepth` is never extracted; the final sums add the earliest-arriving terms first.
 */
import type { AdderGraph, ConstMatrix } from './adder-graph.js';
import { badInput } from '../common/errors.js';
import { toCsd } from './csd.js';
import { CountTable } from './count-table.js';
import { GraphBuilder, type Term } from './graph-builder.js';

interface CseTerm {
  readonly v: number;
  readonly s: number;
  readonly g: 1 | -1;
  alive: boolean;
}

interface Column {
  /**
   * The live terms by input block (blockOf): patterns pair terms of one block only, so the pair counts
   * and every update scan a block's terms, not the whole column.
   */
  readonly groups: CseTerm[][];
  readonly byVar: Map<number, CseTerm[]>;
  /**
   * Kraft sum of the terms, sum of 2^depth. The terms can be added up within L levels exactly when this
   * is at most 2^L (a binary tree with a leaf at level L - depth for every term exists iff Kraft's
   * inequality holds), and the depth-ordered final sum attains it. Keeping every column within 2^L during
   * extraction therefore guarantees the depth limit by construction.
   */
  kraft: number;
}

/** A new variable: (x_v1 << max(0, -ds)) + sign * (x_v2 << max(0, ds)). */
interface VariableDef {
  readonly v1: number;
  readonly v2: number;
  readonly ds: number;
  readonly sign: 1 | -1;
}

/**
 * How ties and trade-offs between patterns are decided.
 * - `shallow`: most occurrences first, then the shallower new variable (least depth).
 * - `weighted`: occurrences times (2 + depth of the new variable), then the deeper: it favours growing
 *   large common subexpressions out of earlier ones (as da4ml's weighted score favours wide operands),
 *   which measured fewer adders on the benchmark at the price of depth, hence the depth search below.
 */
export type SelectionRule = 'shallow' | 'weighted';

/** One run of the greedy extraction. */
export interface SharedRunOptions {
  readonly rule?: SelectionRule;
  /** New variables deeper than this many adder levels are not extracted (default: no limit). */
  readonly maxVariableDepth?: number;
  /** Adder levels allowed from input to output, kept by construction (default: no limit). */
  readonly maxDepth?: number;
  /** A depth limit per output, overriding maxDepth (the decomposed strategy needs them). */
  readonly maxDepthPerOutput?: readonly number[];
  /** Equally ranked patterns compared by the conflicts they cause (default 1: the first one is taken). */
  readonly lookahead?: number;
  /**
   * Inputs per block (default: all inputs in one block). Patterns pair only terms whose inputs lie in
   * the same block of consecutive inputs, so the pairs to count fall from T^2/2 to T^2/(2B) per output
   * of T terms in B blocks: the price of a large matrix grows near-linearly in its nonzeros, for the
   * cross-block sharing given up. Depth limits stay exact: the Kraft sums are per output, over all blocks.
   */
  readonly blockSize?: number;
}

// Pattern keys pack (v1, v2, ds, sign) into one safe integer: v < 2^20, |ds| < 128.
const VAR_LIMIT = 2 ** 20;
const SHIFT_OFFSET = 128;
const DEPTH_SLOTS = 64;

function pairKey(a: CseTerm, b: CseTerm): number {
  const aFirst = a.v < b.v || (a.v === b.v && a.s < b.s);
  const p = aFirst ? a : b;
  const q = aFirst ? b : a;
  return ((p.v * VAR_LIMIT + q.v) * 256 + (q.s - p.s + SHIFT_OFFSET)) * 2 + (p.g === q.g ? 1 : 0);
}

function decodeKey(key: number): VariableDef {
  const sameSign = key % 2;
  let rest = (key - sameSign) / 2;
  const shiftField = rest % 256;
  rest = (rest - shiftField) / 256;
  const v2 = rest % VAR_LIMIT;
  return { v1: (rest - v2) / VAR_LIMIT, v2, ds: shiftField - SHIFT_OFFSET, sign: sameSign === 1 ? 1 : -1 };
}

/**
 * Pattern frequencies, bucketed by priority (count first, then shallower result) so that the best
 * pattern is found without scanning: only patterns seen at least twice are bucketed.
 *
 * Lazily: a count that rises above its key's bucket moves the key up at once; a count that falls leaves
 * the key where it was, and the best-bucket scan moves it down when it finds it stale. Most updates are
 * decrements (every extraction removes its terms' pairs), and moving a key on every one was most of the
 * optimizer's time. A bucket is a doubly linked list over dense key ids (typed arrays, oldest first): the
 * keys are above 2^31, and a Set of them boxed every one; with Sets, bucket updates were a third of the
 * time on the MobileNet's 256x256 layer, and a key re-placed on every rise sat in several buckets at once.
 */
class PatternQueue {
  private readonly counts: CountTable;
  /** Per id (the key's mark in `counts`): the key, its bucket (-1: none) and its neighbours there. */
  private idKey = new Float64Array(1024);
  private idBucket = new Int32Array(1024);
  private idNext = new Int32Array(1024);
  private idPrev = new Int32Array(1024);
  private ids = 0;
  private readonly heads: number[] = [];
  private readonly tails: number[] = [];
  /** Counted pairs that cannot all be taken (overlaps, depth budget): count - penalty is the real gain. */
  private readonly penalty = new Map<number, number>();
  private top = 0;

  constructor(
    private readonly depthOf: (key: number) => number,
    private readonly maxDepth: number,
    private readonly rule: SelectionRule,
    capacityPowerOfTwo: number,
  ) {
    this.counts = new CountTable(capacityPowerOfTwo);
  }

  private priority(key: number, count: number): number {
    const usable = this.penalty.size === 0 ? count : count - (this.penalty.get(key) ?? 0);
    if (usable < 2) return -1;
    const depth = Math.min(this.depthOf(key), DEPTH_SLOTS - 1);
    if (depth > this.maxDepth) return -1;
    if (this.rule === 'weighted') return usable * (2 + depth) * DEPTH_SLOTS + depth;
    return usable * DEPTH_SLOTS + (DEPTH_SLOTS - 1 - depth);
  }

  /** Counts without ranking (the initial count of all pairs): rankAll() then ranks every key once. */
  count0(key: number): void {
    this.counts.add(key, 1);
  }

  rankAll(): void {
    this.counts.forEach((key, count) => {
      if (count < 2) return;
      const to = this.priority(key, count);
      if (to < 0) return;
      this.counts.add(key, 0);
      this.place(this.lastId(key), to);
    });
  }

  change(key: number, delta: number): void {
    const after = this.counts.add(key, delta);
    // Most pairs occur once: they are never ranked, so skip the ranking work for them.
    if (delta <= 0 || after < 2) return;
    const to = this.priority(key, after);
    const id = this.lastId(key);
    if (to > this.idBucket[id]!) this.place(id, to);
  }

  /** The id of the key of the counts' last add(), given one now if it has none. */
  private lastId(key: number): number {
    const id = this.counts.lastMark();
    if (id >= 0) return id;
    if (this.ids === this.idKey.length) this.growIds();
    const fresh = this.ids++;
    this.idKey[fresh] = key;
    this.idBucket[fresh] = -1;
    this.counts.setLastMark(fresh);
    return fresh;
  }

  private growIds(): void {
    const grown = <T extends Float64Array | Int32Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    this.idKey = grown(this.idKey);
    this.idBucket = grown(this.idBucket);
    this.idNext = grown(this.idNext);
    this.idPrev = grown(this.idPrev);
  }

  /** Moves the key of `id` to the end of the bucket of `priority` (out of all when negative). */
  private place(id: number, priority: number): void {
    const from = this.idBucket[id]!;
    if (from === priority) return;
    if (from >= 0) {
      const prev = this.idPrev[id]!;
      const next = this.idNext[id]!;
      if (prev >= 0) this.idNext[prev] = next;
      else this.heads[from] = next;
      if (next >= 0) this.idPrev[next] = prev;
      else this.tails[from] = prev;
    }
    this.idBucket[id] = priority;
    if (priority < 0) return;
    const tail = this.tails[priority] ?? -1;
    this.idPrev[id] = tail;
    this.idNext[id] = -1;
    if (tail >= 0) this.idNext[tail] = id;
    else this.heads[priority] = id;
    this.tails[priority] = id;
    if (priority > this.top) this.top = priority;
  }

  /** Up to `limit` patterns of the best rank (most frequent, then by the rule), oldest first. */
  bestFew(limit: number): number[] {
    while (this.top >= 0) {
      const few: number[] = [];
      let id = this.heads[this.top] ?? -1;
      while (id >= 0) {
        const next = this.idNext[id]!;
        const key = this.idKey[id]!;
        const now = this.priority(key, this.counts.get(key));
        // Stale (its count fell since): down to where it belongs now, if anywhere.
        if (now !== this.top) this.place(id, now);
        else {
          few.push(key);
          if (few.length >= limit) break;
        }
        id = next;
      }
      if (few.length > 0) return few;
      this.top -= 1;
    }
    return [];
  }

  rawCount(key: number): number {
    return this.counts.get(key);
  }

  count(key: number): number {
    return this.counts.get(key) - (this.penalty.get(key) ?? 0);
  }

  /** Only `usable` occurrences of the pattern can be taken now: re-rank it by that (lazy greedy). */
  setUsable(key: number, usable: number): void {
    const count = this.counts.get(key);
    this.penalty.set(key, count - usable);
    const id = this.counts.mark(key);
    if (id >= 0) this.place(id, this.priority(key, count));
  }
}

function initialColumns(w: ConstMatrix, blockSize: number, blocks: number): Column[] {
  return w.map((row) => {
    const groups: CseTerm[][] = Array.from({ length: blocks }, () => []);
    const byVar = new Map<number, CseTerm[]>();
    let count = 0;
    row.forEach((weight, input) => {
      if (weight === 0) return;
      const digits = toCsd(weight).map((d): CseTerm => ({ v: input, s: d.shift, g: d.sign, alive: true }));
      groups[Math.floor(input / blockSize)]!.push(...digits);
      byVar.set(input, digits);
      count += digits.length;
    });
    return { groups, byVar, kraft: count };
  });
}

/**
 * Non-overlapping occurrences of a pattern in one column, as (first, second) term pairs, as many as the
 * column's depth budget (Kraft sum at most `budget`) allows.
 */
function occurrencesIn(column: Column, def: VariableDef, depths: readonly number[], newDepth: number, budget: number): Array<[CseTerm, CseTerm]> {
  const firsts = column.byVar.get(def.v1);
  const seconds = column.byVar.get(def.v2);
  if (firsts === undefined || seconds === undefined) return [];
  const used = new Set<CseTerm>();
  const found: Array<[CseTerm, CseTerm]> = [];
  const termDepth = depths[def.v1]!;
  let kraft = column.kraft;
  for (const p of firsts) {
    if (!p.alive || used.has(p)) continue;
    const after = kraft + 2 ** newDepth - 2 ** termDepth - 2 ** depths[def.v2]!;
    if (after > budget) break;
    const wantSign = def.sign > 0 ? p.g : -p.g;
    const q = seconds.find((t) => t !== p && t.alive && !used.has(t) && t.s === p.s + def.ds && t.g === wantSign);
    if (q === undefined) continue;
    used.add(p);
    used.add(q);
    found.push([p, q]);
    kraft = after;
  }
  return found;
}

/** Where a pattern can be taken: (column index, its occurrences there). */
type Hits = Array<[number, Array<[CseTerm, CseTerm]>]>;

function countHits(hits: Hits): number {
  let total = 0;
  for (const [, pairs] of hits) total += pairs.length;
  return total;
}

class SharedSolver {
  private readonly columns: Column[];
  private readonly depths: number[] = [];
  private readonly defs: VariableDef[] = [];
  private readonly queue: PatternQueue;
  /** Per column: 2^(its depth limit). */
  private readonly kraftBudget: number[];
  /** For every variable, the columns that hold at least one of its terms. */
  private readonly columnsOf: Set<number>[] = [];
  private readonly lookahead: number;
  /** Input block of every variable (a new variable's operands share a block: it inherits it). */
  private readonly blockOf: number[] = [];

  constructor(
    w: ConstMatrix,
    private readonly inputCount: number,
    options: SharedRunOptions,
  ) {
    for (let i = 0; i < inputCount; i += 1) this.depths.push(0);
    this.kraftBudget = w.map((_, o) => 2 ** Math.min(options.maxDepthPerOutput?.[o] ?? options.maxDepth ?? 1000, 1000));
    this.lookahead = Math.max(1, options.lookahead ?? 1);
    const blockSize = Math.max(1, Math.min(options.blockSize ?? inputCount, inputCount));
    for (let i = 0; i < inputCount; i += 1) this.blockOf.push(Math.floor(i / blockSize));
    this.columns = initialColumns(w, blockSize, Math.ceil(inputCount / blockSize));
    // Every extraction removes at least one term, so variables never outnumber inputs + terms.
    const terms = this.columns.reduce((n, c) => n + c.kraft, 0);
    // A small matrix gets a small count table (it grows as needed; a fixed 2^16 slots was most of the
    // time of a depthwise layer's hundreds of tiny parts).
    const slots = Math.min(16, Math.max(6, Math.ceil(Math.log2(4 * terms + 1))));
    this.queue = new PatternQueue((key) => this.keyDepth(key), options.maxVariableDepth ?? Infinity, options.rule ?? 'shallow', slots);
    if (inputCount + terms >= VAR_LIMIT) {
      throw badInput(`constant matrix with ${terms} CSD digits over ${inputCount} inputs is too large for the shared optimizer (limit ${VAR_LIMIT} digits + inputs); use the csd or per-input strategy, or split the matrix`);
    }
    for (let v = 0; v < inputCount; v += 1) this.columnsOf.push(new Set());
    this.columns.forEach((column, c) => {
      for (const v of column.byVar.keys()) this.columnsOf[v]!.add(c);
    });
    for (const column of this.columns) this.countAllPairs(column);
    this.queue.rankAll();
  }

  /** Depth of a pattern's variable straight from its key (hot path: no decoding into an object). */
  private keyDepth(key: number): number {
    const vars = Math.floor(key / 512);
    const v2 = vars % VAR_LIMIT;
    return 1 + Math.max(this.depths[(vars - v2) / VAR_LIMIT]!, this.depths[v2]!);
  }

  private patternDepth(def: VariableDef): number {
    return 1 + Math.max(this.depths[def.v1]!, this.depths[def.v2]!);
  }

  private countAllPairs(column: Column): void {
    for (const terms of column.groups) {
      for (let i = 0; i < terms.length; i += 1) {
        for (let j = i + 1; j < terms.length; j += 1) this.queue.count0(pairKey(terms[i]!, terms[j]!));
      }
    }
  }

  /** Where a pattern can be taken now, column by column. */
  private hitsOf(def: VariableDef): Hits {
    const newDepth = this.patternDepth(def);
    const hits: Hits = [];
    const withSecond = this.columnsOf[def.v2]!;
    for (const c of this.columnsOf[def.v1]!) {
      if (!withSecond.has(c)) continue;
      const pairs = occurrencesIn(this.columns[c]!, def, this.depths, newDepth, this.kraftBudget[c]!);
      if (pairs.length > 0) hits.push([c, pairs]);
    }
    return hits;
  }

  /**
   * How many other repeated patterns taking these occurrences destroys: each consumed term leaves every
   * pair it formed with a term of its column. Among equally ranked patterns the least destructive keeps
   * the most sharing for later (a greedy maximum-matching heuristic).
   */
  private conflicts(hits: Hits, stopAt: number): number {
    let lost = 0;
    for (const [c, pairs] of hits) {
      for (const [p, q] of pairs) {
        const terms = this.columns[c]!.groups[this.blockOf[p.v]!]!;
        for (const t of terms) {
          if (!t.alive || t === p || t === q) continue;
          if (this.queue.rawCount(pairKey(p, t)) >= 2) lost += 1;
          if (this.queue.rawCount(pairKey(q, t)) >= 2) lost += 1;
        }
        // Only the least matters: stop counting once this candidate cannot win.
        if (lost >= stopAt) return lost;
      }
    }
    return lost;
  }

  /** The best pattern now: top rank, then the fewest conflicts among the first few of that rank. */
  private choose(): { key: number; hits: Hits } | undefined {
    const candidates = this.queue.bestFew(this.lookahead);
    if (candidates.length === 0) return undefined;
    if (candidates.length === 1) return { key: candidates[0]!, hits: this.hitsOf(decodeKey(candidates[0]!)) };
    let best: { key: number; hits: Hits; lost: number } | undefined;
    for (const key of candidates) {
      const hits = this.hitsOf(decodeKey(key));
      if (countHits(hits) < 2) return { key, hits };
      const lost = this.conflicts(hits, best?.lost ?? Infinity);
      if (best === undefined || lost < best.lost) best = { key, hits, lost };
    }
    return best;
  }

  run(): void {
    for (;;) {
      const chosen = this.choose();
      if (chosen === undefined) return;
      const { key, hits } = chosen;
      const def = decodeKey(key);
      const total = countHits(hits);
      // Extracted even when overlaps make fewer occurrences usable than counted: measured, taking the
      // heavily overlapping within-input patterns (x - (x << 2)) early gives fewer adders than re-ranking.
      if (total < 2) {
        this.queue.setUsable(key, total);
        continue;
      }
      const variable = this.inputCount + this.defs.length;
      this.depths.push(this.patternDepth(def));
      this.blockOf.push(this.blockOf[def.v1]!);
      this.defs.push(def);
      this.columnsOf.push(new Set());
      for (const [c, pairs] of hits) for (const [p, q] of pairs) this.replace(c, p, q, variable);
    }
  }

  /** Replaces the occurrence (p, q) by one term of `variable` and keeps the pattern counts exact. */
  private replace(c: number, p: CseTerm, q: CseTerm, variable: number): void {
    const column = this.columns[c]!;
    p.alive = false;
    q.alive = false;
    this.queue.change(pairKey(p, q), -1);
    const block = this.blockOf[p.v]!;
    const rest = column.groups[block]!.filter((t) => t.alive);
    for (const t of rest) {
      this.queue.change(pairKey(p, t), -1);
      this.queue.change(pairKey(q, t), -1);
    }
    for (const gone of [p, q]) {
      const list = column.byVar.get(gone.v)!.filter((t) => t !== gone);
      if (list.length > 0) column.byVar.set(gone.v, list);
      else {
        column.byVar.delete(gone.v);
        this.columnsOf[gone.v]!.delete(c);
      }
    }
    // p is the pattern's first term, so the occurrence is p.g * (variable << min(p.s, q.s)).
    const merged: CseTerm = { v: variable, s: Math.min(p.s, q.s), g: p.g, alive: true };
    column.kraft += 2 ** this.depths[variable]! - 2 ** this.depths[p.v]! - 2 ** this.depths[q.v]!;
    for (const t of rest) this.queue.change(pairKey(merged, t), 1);
    rest.push(merged);
    column.groups[block] = rest;
    column.byVar.set(variable, [...(column.byVar.get(variable) ?? []), merged]);
    this.columnsOf[variable]!.add(c);
  }

  toGraph(): AdderGraph {
    const builder = new GraphBuilder(this.inputCount, { reuseAdders: true });
    const nodeOf: number[] = [];
    for (let i = 0; i < this.inputCount; i += 1) nodeOf.push(i);
    for (const def of this.defs) {
      nodeOf.push(
        builder.add(
          { node: nodeOf[def.v1]!, shift: Math.max(0, -def.ds), negate: false },
          { node: nodeOf[def.v2]!, shift: Math.max(0, def.ds), negate: def.sign < 0 },
        ),
      );
    }
    const outputs = this.columns.map((column) =>
      builder.sumTerms(column.groups.flat().map((t): Term => ({ node: nodeOf[t.v]!, shift: t.s, sign: t.g }))),
    );
    return builder.finish(outputs);
  }
}

/** One greedy run with fixed choices. */
export function solveSharedRun(w: ConstMatrix, inputCount: number, options: SharedRunOptions = {}): AdderGraph {
  const solver = new SharedSolver(w, inputCount, options);
  solver.run();
  return solver.toGraph();
}
