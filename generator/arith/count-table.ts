/**
 * A counter keyed by non-negative integers below 2^53 (the packed pattern keys of strategy-shared.ts):
 * open addressing over typed arrays. The optimizer's inner loop is millions of increments and look-ups,
 * where a JavaScript Map with non-small-integer keys (boxed doubles) is several times slower.
 * Entries are never removed (a count of 0 stays as an entry), which keeps linear probing simple.
 * Every entry also carries a mark, a small integer for the caller (the pattern queue keeps its dense id
 * of a key there), read and written through the slot of the last add() without probing again.
 */
const EMPTY = -1;

export class CountTable {
  private keys: Float64Array;
  private values: Int32Array;
  private marks: Int32Array;
  private mask: number;
  private used = 0;
  /** The slot of the key of the last add(): valid until the next add() (which may grow the table). */
  private lastSlot = 0;

  constructor(capacityPowerOfTwo = 16) {
    this.keys = new Float64Array(2 ** capacityPowerOfTwo).fill(EMPTY);
    this.values = new Int32Array(2 ** capacityPowerOfTwo);
    this.marks = new Int32Array(2 ** capacityPowerOfTwo).fill(-1);
    this.mask = 2 ** capacityPowerOfTwo - 1;
  }

  private slot(key: number): number {
    const low = key >>> 0;
    const high = Math.floor(key / 4294967296) >>> 0;
    let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    let i = h & this.mask;
    while (this.keys[i] !== key && this.keys[i] !== EMPTY) i = (i + 1) & this.mask;
    return i;
  }

  get(key: number): number {
    const i = this.slot(key);
    return this.keys[i] === key ? this.values[i]! : 0;
  }

  /** Adds `delta` and returns the new count. */
  add(key: number, delta: number): number {
    let i = this.slot(key);
    if (this.keys[i] !== key) {
      if ((this.used + 1) * 2 > this.keys.length) {
        this.grow();
        i = this.slot(key);
      }
      this.keys[i] = key;
      this.used += 1;
    }
    const value = this.values[i]! + delta;
    this.values[i] = value;
    this.lastSlot = i;
    return value;
  }

  /** The mark of the key of the last add() (-1 until set). */
  lastMark(): number {
    return this.marks[this.lastSlot]!;
  }

  setLastMark(mark: number): void {
    this.marks[this.lastSlot] = mark;
  }

  /** The mark of a key (-1 for an absent key or one never marked). */
  mark(key: number): number {
    const i = this.slot(key);
    return this.keys[i] === key ? this.marks[i]! : -1;
  }

  /** Every entry (count 0 included), in slot order: deterministic for a given sequence of additions. */
  forEach(visit: (key: number, count: number) => void): void {
    for (let j = 0; j < this.keys.length; j += 1) if (this.keys[j] !== EMPTY) visit(this.keys[j]!, this.values[j]!);
  }

  private grow(): void {
    const oldKeys = this.keys;
    const oldValues = this.values;
    const oldMarks = this.marks;
    this.keys = new Float64Array(oldKeys.length * 2).fill(EMPTY);
    this.values = new Int32Array(oldKeys.length * 2);
    this.marks = new Int32Array(oldKeys.length * 2).fill(-1);
    this.mask = this.keys.length - 1;
    for (let j = 0; j < oldKeys.length; j += 1) {
      if (oldKeys[j] === EMPTY) continue;
      const i = this.slot(oldKeys[j]!);
      this.keys[i] = oldKeys[j]!;
      this.values[i] = oldValues[j]!;
      this.marks[i] = oldMarks[j]!;
    }
  }
}
