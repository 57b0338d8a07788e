/**
 * Closing the AXI4-Stream loop inside the design, so that the open-loop batch harness (one vector per
 * clock) can test handshakes in Verilator and Icarus: a wrapper module holds the input beats in a
 * memory (loaded by the first vectors), offers them to the DUT whenever a per-cycle `valid_gate` bit
 * allows, holds each beat until the DUT takes it, and drives the DUT's m_tready from a per-cycle
 * `ready_gate` bit. The vectors carry the random gate bits; the responses carry every output beat taken.
 */
import { counter } from '../../generator/ffe/stream.js';
import { type Expr, type Module as DslModule, Module, mux, u } from '../../generator/hdl/index.js';
import type { Response, Vector } from '../../verify/sim/index.js';
import type { Rng } from './random-graphs.js';

export function streamWrapper(name: string, dut: DslModule, beats: number, wordBits: number, frame?: { height: number; width: number }): DslModule {
  const m = new Module(name);
  m.addClock();
  const rst = m.input('rst', u(1));
  const loadEn = m.input('load_en', u(1));
  const loadAddr = m.input('load_addr', { min: 0n, max: BigInt(beats) });
  const loadData = m.input('load_data', u(wordBits));
  const run = m.input('run', u(1));
  const validGate = m.input('valid_gate', u(1));
  const readyGate = m.input('ready_gate', u(1));
  const mem = m.memory('source', { depth: beats + 1, type: u(wordBits) });
  mem.setWrite({ addr: loadAddr, data: loadData, enable: loadEn });
  const index = m.reg('index', { min: 0n, max: BigInt(beats) }, { reset: rst });
  const offer = m.wire('offer', run.and(index.lt(beats)).and(validGate));
  const dutReady = m.wire('dut_ready', u(1));
  const accept = offer.and(dutReady);
  const nextIndex = mux(accept, index.add(1), index).assume(0, beats);
  index.next(nextIndex);
  // Registered read of the next beat's address: the word at `index` is ready in the cycle it is offered.
  const word = mem.read('word', { addr: nextIndex });
  const connections: Record<string, Expr> = { rst, s_tvalid: offer, s_tdata: word, m_tready: readyGate };
  if (frame !== undefined) {
    // Frame flags as a camera sends them, from the beat index (a top module checks them: frame_error).
    const col = counter(m, 'col', frame.width - 1, { step: accept, reset: rst });
    const row = counter(m, 'row', frame.height - 1, { step: accept.and(col.eq(frame.width - 1)), reset: rst });
    connections['s_tuser'] = row.eq(0).and(col.eq(0));
    connections['s_tlast'] = col.eq(frame.width - 1);
  }
  const inst = m.instance('dut', dut, connections);
  dutReady.drive(inst.out('s_tready'));
  m.output('taken', inst.out('m_tvalid').and(readyGate));
  m.output('data', inst.out('m_tdata'));
  m.output('user', inst.out('m_tuser'));
  m.output('last', inst.out('m_tlast'));
  m.output('consumed', index);
  if (frame !== undefined) m.output('frame_error', inst.out('frame_error'));
  return m;
}

/** Vectors: reset, load every beat, then `runCycles` clocks with random gates. */
export function wrapperVectors(beats: readonly bigint[], runCycles: number, rng: Rng, validRate: number, readyRate: number): Vector[] {
  const vectors: Vector[] = [{ rst: 1n }];
  beats.forEach((b, i) => vectors.push({ rst: 1n, load_en: 1n, load_addr: BigInt(i), load_data: b }));
  vectors.push({ rst: 1n });
  for (let t = 0; t < runCycles; t++) {
    vectors.push({ run: 1n, valid_gate: rng() < validRate ? 1n : 0n, ready_gate: rng() < readyRate ? 1n : 0n });
  }
  return vectors;
}

export interface TakenBeats {
  readonly data: bigint[];
  readonly user: number[];
  readonly last: number[];
  /** Run cycle at which each beat was taken. */
  readonly times: number[];
}

/** The output beats the sink took, from responses keyed by DSL port names. */
export function takenBeats(responses: ReadonlyArray<Response | Record<string, bigint>>, loadCycles: number): TakenBeats {
  const out: TakenBeats = { data: [], user: [], last: [], times: [] };
  responses.forEach((r, t) => {
    if (t < loadCycles || r['taken'] !== 1n) return;
    const data = r['data'];
    if (data === null || data === undefined) throw new Error(`cycle ${t}: a taken beat carries unknown (x) data`);
    out.data.push(data);
    out.user.push(Number(r['user']));
    out.last.push(Number(r['last']));
    out.times.push(t - loadCycles);
  });
  return out;
}
