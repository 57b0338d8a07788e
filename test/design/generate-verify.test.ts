/**
 * generate + verify around a test-only stand-in FFE core (test/design/stand-in-ffe.ts): the design
 * folder, its manifest, determinism, atomic replacement, hostile names, and the verify runner in both
 * simulators (bit-exact, stalls, throughput, and a deliberate bug reported by layer, pixel and channel).
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../generator/cli.js';
import { parseGenerateOptions, runGenerate } from '../../generator/commands/generate.js';
import { writeNpy } from '../../generator/data/index.js';
import { readDesign } from '../../generator/design/read-design.js';
import { partOf } from '../../generator/design/manifest.js';
import { verifyDesign } from '../../verify/ffe/index.js';
import { buildFfe } from '../../verify/ffe/build.js';
import { runFrames } from '../../verify/ffe/run.js';
import { packBinaryBeats } from '../../verify/ffe/beat-files.js';
import { expectedOf, inputsOf, stimulusImages } from '../../generator/design/stimulus.js';
import { IntegerModel } from '../../generator/golden/integer-model.js';
import { tidyVersionLine } from '../../verify/sim/tools.js';
import { HOSTILE_NAMES, pointwiseModel } from './pointwise-model.js';
import { standInFfe } from './stand-in-ffe.js';
import { quietly } from '../helpers/quietly.js';
import { OnnxBuilder } from '../helpers/onnx-builder.js';
import { FULL } from '../helpers/env.js';

let work: string;
let model: string;
let hostileModel: string;

function filesOf(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (rel: string): void => {
    for (const entry of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel === '' ? entry.name : `${rel}/${entry.name}`;
      if (entry.isDirectory()) walk(r);
      else out.set(r, readFileSync(path.join(dir, r)));
    }
  };
  walk('');
  return out;
}


beforeAll(() => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-design-test-'));
  model = pointwiseModel(path.join(work, 'pointwise.onnx'));
  hostileModel = pointwiseModel(path.join(work, 'hostile.onnx'), [HOSTILE_NAMES[0] as string, HOSTILE_NAMES[1] as string, HOSTILE_NAMES[2] as string]);
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('generate (stand-in core)', () => {
  it('writes a self-contained folder whose manifest reads back and whose bytes do not depend on the run', async () => {
    const a = path.join(work, 'a');
    const b = path.join(work, 'b');
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: a, arith: 'csd' }, standInFfe()));
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: b, arith: 'csd' }, standInFfe()));
    const files = filesOf(a);
    expect([...files.keys()].sort()).toEqual(expect.arrayContaining(['manifest.json', 'files.f', 'model.onnx', 'integer-model.json', 'tb/ffe_tb.v', 'tb/ffe_harness.cpp']));
    expect(filesOf(b)).toEqual(files);
    const { manifest } = readDesign(a);
    const ffe = partOf(manifest, 'ffe');
    expect(ffe.fixedLayerCount).toBe(2);
    expect(ffe.layers.map((l) => l.out.channels)).toEqual([3, 2]);
    expect(ffe.quantization.layers).toHaveLength(2);
    expect(manifest.source.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(ffe.options.arith).toBe('csd');
    expect(readFileSync(path.join(a, 'files.f'), 'utf8').trim().split('\n')).toEqual(manifest.rtl);
    expect(files.get('model.onnx')).toEqual(readFileSync(model));
  });

  it('keeps hostile node names out of every Verilog and testbench file', async () => {
    const dir = path.join(work, 'hostile');
    await quietly(() => runGenerate(hostileModel, { fixedLayers: '2', out: dir }, standInFfe()));
    const { manifest } = readDesign(dir);
    expect(partOf(manifest, 'ffe').layers.map((l) => l.name)).toContain(HOSTILE_NAMES[0]);
    for (const [name, text] of filesOf(dir)) {
      if (!/\.(v|cpp|f)$/.test(name)) continue;
      const source = text.toString('utf8');
      expect(source).not.toContain('ünïcødé');
      expect(source).not.toMatch(/\bmodule module\b/);
      for (const line of source.split('\n')) expect(line.length).toBeLessThan(400);
    }
    const summary = await verifyDesign(dir, { simulator: 'icarus', images: 2 });
    expect(summary.mismatches).toBe(0);
  });

  it('replaces an existing folder only when the new one is complete', async () => {
    const dir = path.join(work, 'atomic');
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: dir }, standInFfe()));
    const before = filesOf(dir);
    const failing = (): never => { throw new Error('core failed half way'); };
    await expect(quietly(() => runGenerate(model, { fixedLayers: '2', out: dir, arith: 'multiply' }, failing))).rejects.toThrow(/half way/);
    expect(filesOf(dir)).toEqual(before);
    await expect(quietly(() => runGenerate(model, { fixedLayers: '2', out: dir, arith: 'bogus' }, standInFfe()))).rejects.toThrow(/--arith bogus/);
    expect(filesOf(dir)).toEqual(before);
    expect(readdirSync(work).filter((n) => n.startsWith('.atomic'))).toEqual([]);
  });

  it('rejects bad flags with exit 2 and writes nothing', async () => {
    const dir = path.join(work, 'never');
    const exit = (args: string[]): Promise<number> => quietly(() => main(['node', 'fixynn', ...args]));
    expect(await exit(['generate', model, '--fixed-layers', '2', '--out', dir, '--arith', 'fast'])).toBe(2);
    expect(await exit(['generate', model, '--fixed-layers', '9', '--out', dir])).toBe(2);
    expect(await exit(['generate', model, '--fixed-layers', 'no-such-node', '--out', dir])).toBe(2);
    expect(await exit(['generate', model, '--fixed-layers', '0', '--out', dir])).toBe(2);
    expect(await exit(['generate', model, '--fixed-layers', '2', '--out', dir, '--pipeline', '-1'])).toBe(2);
    expect(await exit(['generate', path.join(work, 'missing.onnx'), '--fixed-layers', '1', '--out', dir])).toBe(2);
    expect(await exit(['verify', path.join(work, 'missing-dir')])).toBe(2);
    // A folder that is not a design is never replaced.
    const precious = path.join(work, 'precious');
    mkdirSync(precious);
    writeFileSync(path.join(precious, 'notes.txt'), 'keep me');
    expect(await exit(['generate', model, '--fixed-layers', '2', '--out', precious])).toBe(2);
    expect(readFileSync(path.join(precious, 'notes.txt'), 'utf8')).toBe('keep me');
    expect(existsSync(dir)).toBe(false);
  });
});

/** Runs the CLI, returning its exit code and what it printed on stderr. */
async function run(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const [out, err] = [process.stdout.write.bind(process.stdout), process.stderr.write.bind(process.stderr)];
  process.stdout.write = (() => true) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += String(chunk); return true; }) as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'fixynn', ...args]), stderr };
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
}

describe('one preprocessing for every command that reads images', () => {
  it('generate calibrates with --scale/--mean/--std and --calib-method, records them, and verify reads its images the same way', async () => {
    const pixels = Uint8Array.from({ length: 8 * 28 * 28 }, (_, i) => (i * 37 + (i >> 5) * 11) % 256);
    const calib = path.join(work, 'pixels-u8.npy');
    writeNpy(calib, pixels, [8, 1, 28, 28]);
    const dir = path.join(work, 'preprocessed');
    const options = parseGenerateOptions({ fixedLayers: '2', out: dir, calib, calibCount: '8', calibMethod: 'minmax', scale: '1/127.5', mean: '1' });
    expect(options).toMatchObject({ calibMethod: 'minmax', calibCount: 8, preprocess: { scale: 1 / 127.5, mean: [1] } });
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: dir, calib, calibCount: '8', calibMethod: 'minmax', scale: '1/127.5', mean: '1' }, standInFfe()));
    const ffe = partOf(readDesign(dir).manifest, 'ffe');
    expect(ffe.options.preprocess).toEqual({ scale: 1 / 127.5, mean: [1], std: [1] });
    expect(ffe.quantization.calibration?.method).toBe('minmax');
    const messages: string[] = [];
    const recorded = await verifyDesign(dir, { simulator: 'icarus', images: 2, data: calib, onProgress: (m) => messages.push(m) });
    expect(recorded.mismatches).toBe(0);
    expect(recorded.dataSource).toContain('(pixel * 0.00784313725490196 - mean [1]) / std [1]');
    expect(messages.filter((m) => m.startsWith('warning'))).toEqual([]);
    // Pixels fed as 0..255 to a design calibrated on [-1, 1]: said, not silently clipped.
    const wrong: string[] = [];
    await verifyDesign(dir, { simulator: 'icarus', images: 2, data: calib, preprocess: { scale: 1 }, onProgress: (m) => wrong.push(m) });
    expect(wrong.find((m) => m.startsWith('warning'))).toMatch(/% of the input values lie outside \[-1(\.\d+)?, 0\.99\d+\], the range the model's input is quantized for \(the data span \[0, 255\]\).*--scale\/--mean\/--std/);
  });

  it('eval, generate and verify take the same preprocessing flags, and generate the calibration flags of eval', async () => {
    const helpOf = async (command: string): Promise<string> => {
      let text = '';
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = ((chunk: string | Uint8Array) => { text += String(chunk); return true; }) as typeof process.stdout.write;
      try { await main(['node', 'fixynn', command, '--help']); } finally { process.stdout.write = write; }
      return text;
    };
    for (const command of ['eval', 'generate', 'verify', 'compile']) {
      const help = await helpOf(command);
      for (const flag of ['--scale', '--mean', '--std']) expect(help, `${command} ${flag}`).toContain(flag);
    }
    for (const command of ['eval', 'generate', 'compile']) {
      const help = await helpOf(command);
      for (const flag of ['--calib ', '--calib-count', '--calib-method', '--bias-correction']) expect(help, `${command} ${flag}`).toContain(flag);
    }
    expect((await run(['generate', model, '--fixed-layers', '2', '--out', path.join(work, 'never-m'), '--calib-method', 'guess'])).stderr).toMatch(/^fixynn: --calib-method guess: supported methods are minmax/);
  });
});

describe('output paths are checked before the work starts', () => {
  it('--out below a regular file or inside a folder that refuses it: exit 2, one line, no stack', async () => {
    const file = path.join(work, 'a-file');
    writeFileSync(file, 'x');
    const below = await run(['generate', model, '--fixed-layers', '2', '--out', path.join(file, 'sub')]);
    expect(below).toEqual({ code: 2, stderr: expect.stringMatching(/^fixynn: --out .*a-file\/sub: cannot create the folder: .*a-file is a file, not a folder \(ENOTDIR\)\n$/) });
    const refused = await run(['generate', model, '--fixed-layers', '2', '--out', '/proc/fixynn-nope/design']);
    expect(refused).toEqual({ code: 2, stderr: expect.stringMatching(/^fixynn: --out \/proc\/fixynn-nope\/design: cannot create the folder in \/proc \(E[A-Z]+\)\n$/) });
    const dump = await run(['inspect', model, '--dump-after', path.join(file, 'dump')]);
    expect(dump.code).toBe(2);
    expect(dump.stderr).toMatch(/^fixynn: --dump-after .*ENOTDIR\)\n$/);
  });

  it('--fixed-layers -1 and 2.5 are malformed numbers, not node names', async () => {
    for (const k of ['-1', '2.5']) {
      const r = await run(['generate', model, '--fixed-layers', k, '--out', path.join(work, 'never-k')]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^fixynn: --fixed-layers ${k.replace('.', '\\.')}: K must be a whole number from the valid split points .*, or a node name\n$`));
    }
  });

  it('verify --trace into a missing folder, below a file or naming a folder fails before simulating', async () => {
    const missing = path.join(work, 'no-such-folder', 'run.vcd');
    for (const [trace, why] of [[missing, /the folder .*no-such-folder does not exist \(ENOENT\)/], [work, /names a folder; give a file name/], [path.join(work, 'a-file', 'x.vcd'), /is a file, not a folder \(ENOTDIR\)/]] as const) {
      const start = performance.now();
      // A design folder that does not exist: the trace path is refused first, before any design is read.
      const r = await run(['verify', path.join(work, 'missing-design'), '--trace', trace]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(why);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(performance.now() - start).toBeLessThan(2000);
    }
  });
});

describe('verify (stand-in core)', () => {
  let good: string;
  let buggy: string;
  beforeAll(async () => {
    good = path.join(work, 'good');
    buggy = path.join(work, 'buggy');
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: good }, standInFfe()));
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: buggy }, standInFfe({ layer: 1, channel: 1 })));
  });

  it('is bit-exact in Verilator, streams frames back to back at one pixel per clock', async () => {
    const s = await verifyDesign(good, { simulator: 'verilator', images: 4, jobs: 2 });
    expect(s.jobs).toBe(2);
    expect(s.mismatches).toBe(0);
    expect(s.images).toBe(4);
    expect(s.cyclesPerFrame).toBe(784);
    expect(s.idealCyclesPerFrame).toBe(784);
    expect(s.latency).toBe(2);
    expect(s.simulatorVersion).toMatch(/Verilator/);
  });

  // verify compares a binary beat file byte for byte with the file the integer model's values make, and
  // decodes it only when they differ: the fast path holds only if Verilator writes exactly those bytes.
  it('Verilator writes every tap and output file byte for byte as the integer model\'s values pack', async () => {
    const design = readDesign(good);
    const ffe = partOf(design.manifest, 'ffe', design.dir);
    const integer = new IntegerModel(ffe.quantization);
    const inputs = inputsOf(ffe, stimulusImages(ffe, undefined, 3).images, undefined, integer);
    const expected = expectedOf(ffe, inputs, integer);
    const result = await runFrames(await buildFfe(design, 'verilator'), design.manifest, inputs);
    const taps = ffe.layers.flatMap((layer, k) => (layer.tap === null ? [] : [k]));
    expect(taps.length).toBeGreaterThan(0);
    for (const k of taps) expect(Buffer.from(result.taps[k]?.bytes ?? []).equals(Buffer.from(packBinaryBeats(expected.map((e) => e[k] as Int32Array), ffe.layers[k]!.out) ?? [1])), `tap ${k}`).toBe(true);
    const packedOut = packBinaryBeats(expected.map((e) => e[e.length - 1] as Int32Array), design.manifest.top.output, true) ?? [1];
    expect(Buffer.from(result.out.bytes).equals(Buffer.from(packedOut))).toBe(true);
  });

  it('is bit-exact in Icarus and under random stalls on s_tvalid and m_tready', async () => {
    expect((await verifyDesign(good, { simulator: 'icarus', images: 2 })).mismatches).toBe(0);
    // The text beat files (the standalone testbench's, bench:ffe's baseline) read the same.
    expect((await verifyDesign(good, { simulator: 'icarus', images: 2, beats: 'text' })).mismatches).toBe(0);
    const stalled = await verifyDesign(good, { simulator: 'verilator', images: 3, stalls: { input: 96, output: 96, seed: 5 } });
    expect(stalled.mismatches).toBe(0);
    expect(stalled.cyclesPerFrame).toBeGreaterThan(784);
  });

  it('waits for every beat, and says so when the testbench gives up at its cycle limit', async () => {
    // One run of both frames: the cycle limit is per simulator run.
    const s = await verifyDesign(good, { simulator: 'verilator', images: 2, maxCycles: 500, jobs: 1 });
    expect(s.mismatches).toBeGreaterThan(0);
    expect(s.firstMismatch).toMatchObject({ frame: 0, channel: null });
    expect(String(s.firstMismatch?.actual)).toMatch(/only \d+ of 1568 beats.*gave up after 500 cycles \(limit 500\)/);
  });

  // In Icarus: the report is the simulator-independent comparison (verify/ffe/compare.ts); a Verilator
  // build of the buggy design took about 10 s of npm test (under FIXYNN_FULL it runs in both).
  it('names the first layer, pixel and channel that differ, and exits 1', async () => {
    for (const simulator of FULL ? (['icarus', 'verilator'] as const) : (['icarus'] as const)) {
      const s = await verifyDesign(buggy, { simulator, images: 2 });
      expect(s.mismatches, simulator).toBeGreaterThan(0);
      expect(s.firstMismatch, simulator).toMatchObject({ frame: 0, layer: 1, layerName: 'pw1', channel: 1 });
      expect(typeof s.firstMismatch?.expected, simulator).toBe('number');
    }
    // Sharded over three simulator processes (a run per frame): still the first difference of the stream, every frame counted.
    const sharded = await verifyDesign(buggy, { simulator: 'icarus', images: 3, jobs: 3, imagesPerRun: 1 });
    expect(sharded.jobs).toBe(3);
    expect(sharded.mismatchedImages).toBe(3);
    expect(sharded.firstMismatch).toMatchObject({ frame: 0, layer: 1, layerName: 'pw1', channel: 1 });
    expect(await quietly(() => main(['node', 'fixynn', 'verify', buggy, '--images', '1', '--sim', 'icarus']))).toBe(1);
  });

  it('says that a simulator build is still going while it runs', async () => {
    const messages: string[] = [];
    const cacheDir = mkdtempSync(path.join(work, 'cache-'));
    const build = await buildFfe(readDesign(good), 'verilator', { cacheDir, progressEveryMs: 300, onProgress: (m) => messages.push(m) });
    expect(build.cached).toBe(false);
    expect(messages[0]).toMatch(/^building \w+ in verilator/);
    expect(messages.some((m) => /^still building \w+ in verilator \(\d+ s\)$/.test(m))).toBe(true);
  });

  it('writes a waveform with --trace and rejects a hand-edited design', async () => {
    const trace = path.join(work, 'run.vcd');
    const traced = await run(['verify', good, '--images', '1', '--sim', 'icarus', '--trace', trace]);
    expect(traced.code).toBe(0);
    expect(traced.stderr).toContain(`wrote the VCD waveform of the first run to ${trace}`);
    const vcd = readFileSync(trace, 'utf8');
    expect(vcd).toContain('$enddefinitions');
    // Icarus's default unit is 1 s; the design's clock is in nanoseconds.
    expect(vcd).toMatch(/\$timescale\s+1ps\s+\$end|\$timescale\s+1ns\s+\$end/);
    expect(traced.stderr).not.toContain('()');
    expect(tidyVersionLine('Icarus Verilog version 11.0 (stable) ()')).toBe('Icarus Verilog version 11.0 (stable)');
    const edited = path.join(work, 'edited');
    await quietly(() => runGenerate(model, { fixedLayers: '2', out: edited }, standInFfe()));
    const rtl = readDesign(edited).manifest.rtl[0] as string;
    writeFileSync(path.join(edited, rtl), `${readFileSync(path.join(edited, rtl), 'utf8')}\n// edited\n`);
    expect(() => readDesign(edited)).toThrow(/changed after generation/);
  });
});

/** conv -> relu -> global pool -> flatten -> gemm -> Sigmoid: three layers, then an operator fixynn lacks. */
function sigmoidHeadModel(file: string): string {
  const b = new OnnxBuilder({ opset: 13 });
  b.input('x', [1, 1, 28, 28]);
  const w = b.initializer('w', Float32Array.from({ length: 4 * 9 }, (_, i) => (((i * 7) % 11) - 5) / 10), [4, 1, 3, 3]);
  const c = b.node('Conv', ['x', w], ['c'], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, 'conv0');
  const r = b.node('Relu', [c], ['r'], {}, 'relu0');
  const g = b.node('GlobalAveragePool', [r], ['g'], {}, 'gap');
  const f = b.node('Flatten', [g], ['f'], {}, 'flat');
  const fw = b.initializer('fw', Float32Array.from({ length: 3 * 4 }, (_, i) => (((i * 5) % 7) - 3) / 5), [3, 4]);
  const fc = b.node('Gemm', [f, fw], ['fc'], { transB: 1 }, 'fc');
  b.output(b.node('Sigmoid', [fc], ['y'], {}, 'sig'), [1, 3]);
  return b.save(file);
}

describe('an operator fixynn does not support after the split (a Sigmoid in the classifier)', () => {
  it('does not block generate of the fixed part; it is named only when it would lie inside, or run on the accelerator', async () => {
    const m = sigmoidHeadModel(path.join(work, 'sigmoid-head.onnx'));
    // Every layer before the Sigmoid fixed: generated, and bit-exact in Icarus.
    const out = path.join(work, 'sigmoid-k3');
    const ok = await run(['generate', m, '--fixed-layers', '3', '--out', out]);
    expect(ok).toEqual({ code: 0, stderr: expect.stringContaining('note: the model continues with node "sig" (Sigmoid), which fixynn does not support; the fixed part (layers 0..2) lies before it') });
    expect(partOf(readDesign(out).manifest, 'ffe').fixedLayerCount).toBe(3);
    expect((await verifyDesign(out, { simulator: 'icarus', images: 1 })).mismatches).toBe(0);
    expect((await run(['generate', m, '--fixed-layers', 'relu0', '--out', path.join(work, 'sigmoid-k1')])).code).toBe(0);
    // Past it (by number or by naming it): one message naming the node, nothing written.
    for (const k of ['4', 'sig']) {
      const dir = path.join(work, `sigmoid-${k}`);
      const r = await run(['generate', m, '--fixed-layers', k, '--out', dir]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^fixynn: sigmoid-head\\.onnx: node "sig" \\(Sigmoid\\): unsupported op type "Sigmoid"; supported ops: .*It lies inside the fixed part asked for \\(--fixed-layers ${k}\\).*--fixed-layers 3 at most\\)\\n$`));
      expect(existsSync(dir)).toBe(false);
    }
    // A name that is in no node stays the ordinary message.
    expect((await run(['generate', m, '--fixed-layers', 'nope', '--out', path.join(work, 'sigmoid-nope')])).stderr).toMatch(/no layer of sigmoid-head\.onnx contains a node named "nope"/);
    // The accelerator would run it: refused, naming it.
    const accel = await run(['generate', m, '--fixed-layers', '0', '--accel', '8x8', '--out', path.join(work, 'sigmoid-accel')]);
    expect(accel.code).toBe(2);
    expect(accel.stderr).toMatch(/node "sig" \(Sigmoid\): unsupported op type "Sigmoid"/);
  }, 120_000);
});
