/**
 * `npm run bench:hdl [-- --json]`: figures of the DSL tool chain, each beside its baseline from the same
 * run: the compiled evaluator against the interpreting one (per cycle and per operation), printing time,
 * and the batch harness (build time and vectors per second in Verilator and Icarus).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitDesign } from '../generator/emit/index.js';
import { CompiledSimulator, Module, Simulator, designCosts, s, u } from '../generator/hdl/index.js';
import { scriptArgs } from './args.js';
import { buildBatch, simDesignOf, toolVersions } from '../verify/sim/index.js';

/** A 32-tap filter: 32 registers, ~100 operations per cycle. */
function fir(): Module {
  const m = new Module('bench_fir');
  m.addClock();
  const x = m.input('x', s(8));
  m.delay('tap', x, 32);
  let acc = x.mul(3);
  for (let i = 1; i <= 32; i++) acc = acc.add(m.signals.find((sig) => sig.name === `tap_${i}`)!.mul((i % 7) - 3));
  m.output('y', acc);
  return m;
}

/** A registered 64x64 constant matrix-vector product with plain multiplies (~8,000 operations). */
function matrix(): Module {
  const m = new Module('bench_cmvm');
  m.addClock();
  const xs = Array.from({ length: 64 }, (_, i) => m.input(`x${i}`, s(8)));
  for (let o = 0; o < 64; o++) {
    let acc = xs[0]!.mul(o - 32);
    for (let i = 1; i < 64; i++) acc = acc.add(xs[i]!.mul(((o * 7 + i * 13) % 255) - 127));
    m.output(`y${o}`, m.pipe(`r${o}`, acc));
  }
  return m;
}

type AnySim = Simulator | CompiledSimulator;

/** Microseconds per clock cycle, driving `port` with a changing value each cycle. */
function microsPerCycle(make: () => AnySim, port: string, setup: (sim: AnySim) => void, cycles: number): number {
  const sim = make();
  setup(sim);
  for (let t = 0; t < Math.min(200, cycles); t++) sim.set(port, (t % 200) - 100).step(); // warm-up
  const start = performance.now();
  for (let t = 0; t < cycles; t++) sim.set(port, (t % 200) - 100).step();
  return ((performance.now() - start) * 1000) / cycles;
}

async function harnessFigures(): Promise<Record<string, { buildSeconds: number; vectorsPerSecond: number }>> {
  const m = new Module('bench_stream');
  m.addClock();
  const a = m.input('a', s(8));
  const b = m.input('b', u(8));
  m.output('y', m.pipe('r', a.mul(3).add(b)));
  const design = simDesignOf(m);
  const vectors = Array.from({ length: 100_000 }, (_, i) => ({ a: BigInt((i % 256) - 128), b: BigInt(i % 256) }));
  const out: Record<string, { buildSeconds: number; vectorsPerSecond: number }> = {};
  const cacheDir = mkdtempSync(join(tmpdir(), 'fixynn-bench-cache-'));
  try {
    for (const simulator of ['verilator', 'icarus'] as const) {
      const build = await buildBatch(simulator, [design], { cacheDir });
      const start = performance.now();
      await build.run({ [design.top]: vectors });
      out[simulator] = { buildSeconds: build.buildSeconds, vectorsPerSecond: vectors.length / ((performance.now() - start) / 1000) };
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  return out;
}

async function main(): Promise<void> {
  const { json } = scriptArgs('npm run bench:hdl [-- --json]', { json: 'boolean' }).flags;
  const designs = [
    { name: 'fir32', module: fir(), port: 'x', cycles: 20_000, setup: (): void => {} },
    {
      name: 'cmvm64x64',
      module: matrix(),
      port: 'x0',
      cycles: 500,
      setup: (sim: AnySim): void => {
        for (let i = 1; i < 64; i++) sim.set(`x${i}`, i - 30);
      },
    },
  ];
  const evaluator = designs.map((d) => {
    const ops = Object.values(designCosts(d.module).ops).reduce((a, b) => a + b, 0);
    const interpreted = microsPerCycle(() => new Simulator(d.module), d.port, d.setup, d.cycles);
    const compiled = microsPerCycle(() => new CompiledSimulator(d.module), d.port, d.setup, d.cycles);
    const start = performance.now();
    const text = emitDesign(d.module).files.map((f) => f.text).join('');
    const emitMs = performance.now() - start;
    return { design: d.name, ops, interpretedUsPerCycle: interpreted, compiledUsPerCycle: compiled, speedup: interpreted / compiled, emitMs, verilogLines: text.split('\n').length };
  });
  const harness = await harnessFigures();
  const tools = await toolVersions();
  if (json) {
    process.stdout.write(`${JSON.stringify({ evaluator, harness, tools }, null, 2)}\n`);
    return;
  }
  console.log('Evaluator (baseline: the interpreting Simulator)');
  console.log('design       ops    interpreted us/cycle   compiled us/cycle   speedup   emit ms   Verilog lines');
  for (const e of evaluator) {
    console.log(
      `${e.design.padEnd(11)} ${String(e.ops).padStart(5)}   ${e.interpretedUsPerCycle.toFixed(1).padStart(20)}   ${e.compiledUsPerCycle.toFixed(1).padStart(17)}   ${e.speedup.toFixed(1).padStart(6)}x   ${e.emitMs.toFixed(0).padStart(7)}   ${String(e.verilogLines).padStart(13)}`,
    );
  }
  console.log('\nBatch harness, 100,000 vectors through a registered multiply-add (fresh cache)');
  console.log('simulator   build s   vectors/s');
  for (const [sim, f] of Object.entries(harness)) console.log(`${sim.padEnd(10)} ${f.buildSeconds.toFixed(2).padStart(8)}   ${Math.round(f.vectorsPerSecond).toString().padStart(9)}`);
  console.log(`\n${tools.verilator}; ${tools.iverilog}; ${tools.yosys}`);
}

await main();
