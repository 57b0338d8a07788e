/**
 * `npm run bench:chip [-- --json] [-- --no-mobilenet]`: the whole chip (issue 13) at a few split points K
 * and array sizes, beside the same network on the accelerator alone (K = 0), so the gain of fixing layers
 * is a measured ratio of frame periods. Per row: the fixed part's cycles per frame (its input pixels, one
 * per clock) and adders (the cost model's, docs/costs.md, from the generated fixed part), the accelerator's
 * cycles per frame (generator/design/chip.ts acceleratorFrameCycles: input stream into MEM, the program
 * as the cycle model predicts it, the result stream), the bottleneck, frames per second at the nominal
 * clock, the accelerator's MAC units (array R x C plus the depthwise engine's lanes) and the program's
 * MACs per frame, and the smallest array that keeps up with the fixed part.
 *
 * The example model (examples/mnist-mobilenet) at K = 3, 5, 9 on 8x8 and 16x16; the real MobileNetV1 0.25
 * (QDQ, from ../shared/models where present) at K = 5 on 16x16 where its back end fits the accelerator
 * (the compiler's refusal is printed where it does not). No simulation: `fixynn verify` of a chip measures
 * the frame period in RTL (the tests check it against these predictions within 2%).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { peakMacs } from '../generator/accel/index.js';
import { loadAndQuantize } from '../generator/design/generate-design.js';
import { accelChipConfig, compileForChip } from '../generator/design/accel-part.js';
import { acceleratorFrameCycles, BALANCE_SIDES, chipThroughput, chooseFrameBuffer, NOMINAL_CLOCK_MHZ } from '../generator/design/chip.js';
import { generateFfe } from '../generator/ffe/index.js';
import type { QuantizedGraph } from '../generator/quant/ir.js';
import { MOBILENET_QDQ } from './photos.js';
import { scriptArgs } from './args.js';

const { flags } = scriptArgs('npm run bench:chip [-- --json] [-- --no-mobilenet]', { json: 'boolean', 'no-mobilenet': 'boolean' });
const json = flags.json;
const withMobileNet = !flags['no-mobilenet'];
const repo = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = path.join(repo, 'examples/mnist-mobilenet/model.onnx');

interface Row {
  readonly model: string;
  readonly k: number;
  readonly array: string;
  readonly fixedCyclesPerFrame: number | null;
  readonly fixedAdders: number | null;
  readonly fixedProductAdders: number | null;
  readonly acceleratorCyclesPerFrame: number | null;
  readonly programCycles: number | null;
  readonly bottleneck: string;
  readonly framesPerSecond: number | null;
  readonly acceleratorMacUnits: number;
  readonly programMacs: number | null;
  readonly balancingArray: string | null;
  readonly gainOverK0: number | null;
  readonly refused?: string;
}

async function rows(name: string, model: string, ks: readonly number[], sides: readonly number[]): Promise<Row[]> {
  const { quantized } = await loadAndQuantize(model, { fixedLayers: '0' });
  const out: Row[] = [];
  const fixedCost = new Map<number, { adders: number; productAdders: number }>();
  for (const side of sides) {
    const base = accelFigures(quantized, 0, side);
    const k0Period = base.ok ? base.total : null;
    out.push({
      model: name, k: 0, array: `${side}x${side}`, fixedCyclesPerFrame: null, fixedAdders: null, fixedProductAdders: null,
      acceleratorCyclesPerFrame: base.ok ? base.total : null, programCycles: base.ok ? base.program : null, bottleneck: base.ok ? 'accelerator' : 'n/a',
      framesPerSecond: k0Period === null ? null : (NOMINAL_CLOCK_MHZ * 1e6) / k0Period, acceleratorMacUnits: base.macUnits, programMacs: base.ok ? base.macs : null,
      balancingArray: null, gainOverK0: k0Period === null ? null : 1, ...(base.ok ? {} : { refused: base.refused }),
    });
    for (const k of ks) {
      if (!fixedCost.has(k)) {
        const d = generateFfe(quantized, { fixedLayers: k, strategy: 'shared' });
        fixedCost.set(k, { adders: d.cost.adders, productAdders: d.cost.productAdders });
      }
      const cost = fixedCost.get(k)!;
      const [, h, w] = quantized.input.shape;
      const fixedCycles = h * w;
      const a = fifoRefusal(quantized, k, side) ?? accelFigures(quantized, k, side);
      if (!a.ok) {
        out.push({ model: name, k, array: `${side}x${side}`, fixedCyclesPerFrame: fixedCycles, fixedAdders: cost.adders, fixedProductAdders: cost.productAdders, acceleratorCyclesPerFrame: null, programCycles: null, bottleneck: 'n/a', framesPerSecond: null, acceleratorMacUnits: a.macUnits, programMacs: null, balancingArray: null, gainOverK0: null, refused: a.refused });
        continue;
      }
      const t = chipThroughput(quantized, k, fixedCycles, a.total);
      out.push({
        model: name, k, array: `${side}x${side}`, fixedCyclesPerFrame: fixedCycles, fixedAdders: cost.adders, fixedProductAdders: cost.productAdders,
        acceleratorCyclesPerFrame: a.total, programCycles: a.program, bottleneck: t.bottleneck, framesPerSecond: t.framesPerSecond, acceleratorMacUnits: a.macUnits, programMacs: a.macs,
        balancingArray: t.balancingArray === null ? `none up to ${BALANCE_SIDES[BALANCE_SIDES.length - 1]}x${BALANCE_SIDES[BALANCE_SIDES.length - 1]}` : `${t.balancingArray.rows}x${t.balancingArray.cols}`,
        gainOverK0: k0Period === null ? null : k0Period / t.cyclesPerFrame,
      });
    }
  }
  return out;
}

/**
 * A cut tensor over the frame FIFO's on-chip budget spills over AXI (generate's frame buffer 'axi'), whose
 * figures need the memory: this bench lists on-chip frame buffers only, and says so for such a row.
 */
function fifoRefusal(q: QuantizedGraph, k: number, side: number): { ok: false; refused: string; macUnits: number } | null {
  try {
    if (chooseFrameBuffer(q, k, `${side}x${side}`, undefined) === 'onchip') return null;
    return { ok: false, refused: 'the cut tensor exceeds the on-chip frame FIFO: the chip spills it over AXI (not benched here)', macUnits: side * side };
  } catch (err) {
    return { ok: false, refused: (err as Error).message, macUnits: side * side };
  }
}

function accelFigures(q: QuantizedGraph, k: number, side: number): { ok: true; total: number; program: number; macs: number; macUnits: number } | { ok: false; refused: string; macUnits: number } {
  let macUnits = side * side;
  try {
    const chip = accelChipConfig(q, side, side, k);
    const p = peakMacs(chip.config);
    macUnits = p.array + p.depthwise;
    const compiled = compileForChip(q, chip, k);
    const f = acceleratorFrameCycles(compiled);
    return { ok: true, total: f.total, program: f.program, macs: compiled.layout.layers.reduce((s, l) => s + l.macs, 0), macUnits };
  } catch (err) {
    return { ok: false, refused: (err as Error).message, macUnits };
  }
}

const all: Row[] = [];
all.push(...await rows('example (mnist-mobilenet)', EXAMPLE, [3, 5, 9], [8, 16]));
let mobilenetNote: string | null = null;
if (withMobileNet) {
  if (existsSync(MOBILENET_QDQ)) all.push(...await rows('MobileNetV1 0.25 (QDQ)', MOBILENET_QDQ, [5], [16]));
  else mobilenetNote = `MobileNetV1 0.25 not measured: ${MOBILENET_QDQ} is missing (../shared/models)`;
}

if (json) {
  process.stdout.write(`${JSON.stringify({ clockMHz: NOMINAL_CLOCK_MHZ, rows: all, ...(mobilenetNote ? { note: mobilenetNote } : {}) }, null, 2)}\n`);
} else {
  const fmt = (v: number | null, digits = 0): string => (v === null ? 'n/a' : v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }));
  console.log(`the chip at a nominal ${NOMINAL_CLOCK_MHZ} MHz: frames/s = clock / max(fixed-part cycles/frame, accelerator cycles/frame); K = 0 is the accelerator alone`);
  console.log(['model'.padEnd(26), 'K'.padStart(2), 'array'.padStart(6), 'fixed cyc'.padStart(10), 'fixed adders'.padStart(13), 'accel cyc'.padStart(10), '(program)'.padStart(10), 'bottleneck'.padStart(12), 'frames/s'.padStart(10), 'MAC units'.padStart(10), 'MACs/frame'.padStart(11), 'balance'.padStart(8), 'vs K=0'.padStart(7)].join(' '));
  for (const r of all) {
    console.log([
      r.model.padEnd(26), String(r.k).padStart(2), r.array.padStart(6), fmt(r.fixedCyclesPerFrame).padStart(10), fmt(r.fixedAdders).padStart(13), fmt(r.acceleratorCyclesPerFrame).padStart(10),
      fmt(r.programCycles).padStart(10), r.bottleneck.padStart(12), fmt(r.framesPerSecond).padStart(10), fmt(r.acceleratorMacUnits).padStart(10), fmt(r.programMacs).padStart(11),
      (r.balancingArray ?? '').padStart(8), (r.gainOverK0 === null ? 'n/a' : `${r.gainOverK0.toFixed(2)}x`).padStart(7),
    ].join(' '));
    if (r.refused !== undefined) console.log(`    refused: ${r.refused}`);
  }
  if (mobilenetNote) console.log(mobilenetNote);
}
