/** The manifest reader's rejections, and the stream packing the testbench and the comparison share. */
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGenerate } from '../../generator/commands/generate.js';
import { parseManifest, serializeManifest } from '../../generator/design/manifest.js';
import { readDesign } from '../../generator/design/read-design.js';
import { packFrame, unpackBeat } from '../../generator/contract/beats.js';
import { pointwiseModel } from './pointwise-model.js';
import { standInFfe } from './stand-in-ffe.js';
import { checkManifestPorts } from '../helpers/verilog-ports.js';
import { quietly } from '../helpers/quietly.js';
import { runTool } from '../../verify/sim/index.js';

const EXAMPLE = path.resolve('examples/mnist-mobilenet/model.onnx');
let real: string | undefined;
/** The example at K = 3 with the real core (a fused depthwise + pointwise unit), generated once. */
async function realDesign(): Promise<string> {
  if (real === undefined) {
    const dir = path.join(work, 'real');
    await quietly(() => runGenerate(EXAMPLE, { fixedLayers: '3', out: dir }));
    real = dir;
  }
  return real;
}

let work: string;
let design: string;
let manifestText: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(tmpdir(), 'fixynn-manifest-test-'));
  design = path.join(work, 'design');
  const model = pointwiseModel(path.join(work, 'm.onnx'));
  const quiet = process.stdout.write.bind(process.stdout);
  process.stdout.write = (() => true) as typeof process.stdout.write;
  try {
    await runGenerate(model, { fixedLayers: 'pw1', out: design, json: true }, standInFfe());
  } finally {
    process.stdout.write = quiet;
  }
  manifestText = readFileSync(path.join(design, 'manifest.json'), 'utf8');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('manifest', () => {
  it('round-trips byte for byte', () => {
    const m = parseManifest(manifestText, 'manifest.json');
    expect(serializeManifest(m)).toBe(manifestText);
    expect(m.top.ports.find((p) => p.name === 's_tdata')?.width).toBe(8);
    expect(m.top.ports.find((p) => p.name === 'm_tdata')?.width).toBe(2 * m.top.output.type.bits);
    expect(m.format).toBe('fixynn-design');
    expect(m.version).toBe(5);
    expect(m.top.transport).toEqual({ input: 'stream', output: 'stream' });
    expect(m.parts.map((p) => p.kind)).toEqual(['ffe']);
  });

  it('rejects other versions, formats, broken JSON and inconsistent layers with one clear message', () => {
    const data = JSON.parse(manifestText) as Record<string, unknown>;
    const [part] = data.parts as Array<Record<string, unknown>>;
    const withPart = (changes: Record<string, unknown>): string => JSON.stringify({ ...data, parts: [{ ...part, ...changes }] });
    expect(() => parseManifest(JSON.stringify({ ...data, version: 2 }), 'm.json')).toThrow(/manifest version 2 is not supported.*fixynn-design version 5.*regenerate/);
    expect(() => parseManifest(JSON.stringify({ ...data, format: 'other' }), 'm.json')).toThrow(/not a fixynn design manifest/);
    expect(() => parseManifest(manifestText.slice(0, 100), 'm.json')).toThrow(/m.json: not valid JSON/);
    expect(() => parseManifest(withPart({ fixedLayerCount: 1 }), 'm.json')).toThrow(/part 0 'ffe'.*1 fixed layers, but 2 layer entries/);
    expect(() => parseManifest(withPart({ kind: 'dsp' }), 'm.json')).toThrow(/invalid manifest: parts.0.kind/);
    expect(() => parseManifest(JSON.stringify({ ...data, top: 7 }), 'm.json')).toThrow(/invalid manifest: top/);
    expect(() => parseManifest(JSON.stringify({ ...data, parts: [part, part] }), 'm.json')).toThrow(/two parts share a name/);
    const top = data.top as { output: { channels: number } };
    expect(() => parseManifest(JSON.stringify({ ...data, top: { ...top, output: { ...top.output, channels: 5 } } }), 'm.json')).toThrow(/the top's output is 5x.*part 'ffe''s output is 2x/);
    // A top whose results are said to be in memory must have no result stream and an AXI4 master.
    expect(() => parseManifest(JSON.stringify({ ...data, top: { ...top, transport: { input: 'stream', output: 'memory' } } }), 'm.json')).toThrow(/the top's output is in memory, but the top has the stream port m_tdata/);
    expect(() => parseManifest(JSON.stringify({ ...data, top: { ...top, transport: { input: 'dram', output: 'stream' } } }), 'm.json')).toThrow(/invalid manifest: top.transport.input/);
  });

  it('refuses a manifest of the previous format (fixynn-ffe-design version 1), naming both versions', () => {
    // The head of a real version-1 manifest, as fixynn wrote them before designs had parts.
    const v1 = JSON.stringify({ format: 'fixynn-ffe-design', version: 1, top: 'fixynn_ffe', layers: [], fixedLayerCount: 1 });
    expect(() => parseManifest(v1, 'old/manifest.json')).toThrow(/old\/manifest.json: manifest format fixynn-ffe-design version 1 .* reads fixynn-design version 5; regenerate the design/);
  });

  it('lists every port of every module it names, with a meaning, as the Verilog declares them (stand-in core)', () => {
    expect(checkManifestPorts(design).length).toBeGreaterThanOrEqual(3);
  });

  it('the real core: the top, every layer module (a fused unit with its inner tap too) and the wrapper; the top documents its ports', async () => {
    const real = await realDesign();
    const checked = checkManifestPorts(real);
    expect(checked).toEqual(expect.arrayContaining(['fixynn_ffe', 'fixynn_ffe_l0_conv', 'fixynn_ffe_l1_dwpw', 'fixynn_ffe_taps']));
    const { manifest } = readDesign(real);
    expect(manifest.top.ports.map((p) => p.name)).toContain('frame_error');
    expect(manifest.testbench.wrapper?.ports.map((p) => p.name)).toEqual(expect.arrayContaining(['tap0_valid', 'tap1_inner_data', 'frame_error']));
    const top = readFileSync(path.join(real, 'rtl/fixynn_ffe.v'), 'utf8');
    const block = top.slice(0, top.indexOf('module fixynn_ffe ('));
    // The comment block above the top: the stream format, the packing of tdata, tuser/tlast, every port.
    for (const words of ['AXI4-Stream', 'tuser = first pixel of a frame', 'tlast = last pixel of each row', 'channel c in bits [c*8+7:c*8]', 'frame_error (output): sticky']) expect(block).toContain(words);
    for (const p of manifest.top.ports) expect(block).toContain(`//   ${p.name}`);
  }, 120_000);

  it('the testbench folder runs on its own: the command its header gives, in a copy of the folder, without fixynn', async () => {
    const copy = path.join(work, 'copy');
    cpSync(await realDesign(), copy, { recursive: true });
    const tb = readFileSync(path.join(copy, 'tb/ffe_tb.v'), 'utf8');
    const command = /^\/\/ {3}with Icarus: +(iverilog .*)$/m.exec(tb)?.[1];
    expect(command).toMatch(/diff out\.hex expected\.hex/);
    const r = await runTool('bash', ['-c', command!], { cwd: path.join(copy, 'tb') });
    expect(r.stdout + r.stderr).toContain('bit-exact');
    expect(r.exitCode).toBe(0);
    const { manifest } = readDesign(copy);
    expect(manifest.testbench.standalone).toMatchObject({ stimulus: 'tb/stim.hex', expected: 'tb/expected.hex', frames: 2 });
    // Two frames of the 16x14x14 output went through, as the header promises.
    expect(readFileSync(path.join(copy, 'tb/out.hex'), 'utf8').trim().split('\n')).toHaveLength(2 * 14 * 14);
  }, 120_000);

  it('notices a missing file of the design', () => {
    writeFileSync(path.join(work, 'x'), '');
    const { manifest } = readDesign(design);
    const files = Object.keys(manifest.files);
    expect(files).toContain('tb/ffe_tb.v');
    const tb = path.join(design, 'tb/ffe_tb.v');
    const saved = readFileSync(tb);
    unlinkSync(tb);
    try {
      expect(() => readDesign(design)).toThrow(/tb\/ffe_tb.v is missing/);
    } finally {
      writeFileSync(tb, saved);
    }
    expect(() => readDesign(path.join(work, 'x'))).toThrow(/not a folder/);
    expect(() => readDesign(work)).toThrow(/no manifest.json/);
  });
});

describe('stream beats', () => {
  it('pack and unpack are inverse for any channel count, width and signedness', () => {
    fc.assert(fc.property(
      fc.integer({ min: 1, max: 6 }), fc.integer({ min: 2, max: 16 }), fc.boolean(), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      (channels, bits, signed, pixels, seed) => {
        const lo = signed ? -(2 ** (bits - 1)) : 0;
        const span = 2 ** bits;
        const values = Int32Array.from({ length: channels * pixels }, (_, i) => lo + ((seed + i * 2654435761) >>> 0) % span);
        const format = { channels, height: 1, width: pixels, type: { bits, signed } };
        const beats = packFrame(values, format);
        const back = beats.map((b) => unpackBeat(b, format) as number[]);
        for (let c = 0; c < channels; c++) for (let p = 0; p < pixels; p++) expect(back[p]?.[c]).toBe(values[c * pixels + p]);
      },
    ));
    expect(unpackBeat('1x', { channels: 1, height: 1, width: 1, type: { bits: 8, signed: false } })).toBeNull();
  });
});
