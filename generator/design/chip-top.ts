/**
 * The chip's top module (`fixynn_chip`): the fixed part's stream, through a frame FIFO, into the
 * accelerator's pixel input stream (docs/accel-rtl.md "Streams"); the accelerator's result stream (the
 * scores, then the class) is the chip's output stream; the accelerator's host port and status pass through.
 *
 *   s_* (pixels) -> fixynn_ffe (layers 0..K-1) -> frame FIFO -> fixynn_accel s_* ... m_* (scores, class)
 *
 * Why the FIFO: the accelerator's input region in MEM is one buffer, held from a frame's last pixel until
 * the run that reads it ends. Without a buffer the fixed part would stall for every run, and the frame
 * period would be the sum of the two sides. The FIFO holds one whole output frame of the fixed part (the
 * tensor crossing the cut), so frame n+1 streams through the fixed part while the accelerator runs frame n,
 * and the chip's frame period is the slower side's (generator/design/chip.ts). The FIFO is on chip, within
 * chip.ts FRAME_FIFO_MAX_BITS: a cut tensor larger than that is refused by generate (spilling it over the
 * accelerator's AXI master is not built).
 *
 * Lanes: the fixed part's beat packs `channels` values of its output type; the accelerator's beat packs
 * streamBlocks * cols lanes of actBits each (the low actBits bits of each value, as the host writes MEM);
 * the lanes past the last channel are 0.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import type { RtlConfig } from '../accel/rtl/config.js';
import { beatWidth, type Stream } from '../contract/stream.js';
import { emitDesign, type HeaderInfo } from '../emit/index.js';
import { packChannels, unpackChannels } from '../ffe/stream.js';
import { skipFifoModule } from '../ffe/residual.js';
import { PRODUCTS_ROLE } from '../arith/cmvm-block.js';
import { type Expr, Module, concat, constant, u } from '../hdl/index.js';
import { designCosts } from '../hdl/stats.js';
import { version } from '../common/version.js';
import type { ManifestCost, ManifestPort } from './manifest.js';

export const CHIP_TOP = 'fixynn_chip';
export const CHIP_TB = 'fixynn_chip_tb';
export const CHIP_TB_FILE = `tb/${CHIP_TB}.v`;

/** Ports of the fixed part and the accelerator that the top joins (the others pass through). */
const STREAM_IN = ['s_tvalid', 's_tdata', 's_tuser', 's_tlast'] as const;
const STREAM_OUT = ['m_tvalid', 'm_tdata', 'm_tuser', 'm_tlast'] as const;
/** The accelerator's sticky flag for a pixel stream whose tuser/tlast disagree with the frame geometry. */
const FRAMING_FLAGS = new Set(['frame_error', 'in_frame_error']);

export interface ChipTop {
  readonly module: string;
  readonly dsl: Module;
  readonly files: ReadonlyArray<{ name: string; text: string }>;
  readonly ports: readonly ManifestPort[];
  readonly cost: ManifestCost;
  /** Depth of the frame FIFO in beats of the fixed part's output. */
  readonly fifoDepth: number;
  readonly testbench: { readonly module: string; readonly verilog: string; readonly text: string };
}

/** Each chip port means what the part port it connects means (the framing flags say whose they are). */
function chipPortMeanings(chip: Module, ffe: Module, accel: Module): Record<string, string> {
  const meaningOf = (part: Module, name: string): string => [...part.inputs, ...part.outputs].find((p) => p.name === name)?.comment ?? '';
  const meanings: Record<string, string> = {};
  for (const p of [...chip.inputs, ...chip.outputs]) {
    if (p.name === 'ffe_frame_error') meanings[p.name] = `fixed part: ${meaningOf(ffe, 'frame_error')}`;
    else if (p.name === 'accel_frame_error') meanings[p.name] = `accelerator: ${meaningOf(accel, 'frame_error')}`;
    else if ((STREAM_IN as readonly string[]).includes(p.name) || p.name === 's_tready') meanings[p.name] = `pixel stream into the fixed part: ${meaningOf(ffe, p.name)}`;
    else meanings[p.name] = meaningOf(accel, p.name);
  }
  return meanings;
}

export function buildChipTop(ffe: Module, fixedOutput: Stream, accel: Module, config: RtlConfig, header: HeaderInfo): ChipTop {
  const m = new Module(CHIP_TOP, {
    description: `fixynn chip: the fixed feature extractor (${ffe.name}) streaming ${fixedOutput.channels}x${fixedOutput.height}x${fixedOutput.width} through a frame FIFO into the ${config.rows}x${config.cols} programmable accelerator (${accel.name}); scores and class out as a stream.`,
  });
  m.addClock();
  const rst = m.input('rst', u(1));
  const ffeIn = Object.fromEntries(STREAM_IN.map((name) => [name, m.input(name, portRange(ffe, name))]));
  const mReady = m.input('m_tready', u(1));

  // Every other accelerator input (the host port, start) is a chip input of the same name.
  const passIn = accel.inputs.filter((p) => p !== accel.clock && p.name !== 'rst' && p.name !== 'm_tready' && !(STREAM_IN as readonly string[]).includes(p.name));
  const accelInputs: Record<string, Expr> = { rst, m_tready: mReady };
  for (const p of passIn) accelInputs[p.name] = m.input(p.name, p.range);

  const fifoReady = m.wire('fifo_s_tready', u(1));
  const fixed = m.instance('u_ffe', ffe, { rst, ...ffeIn, m_tready: fifoReady });
  fixed.describe('the fixed feature extractor: layers 0..K-1');

  // The frame FIFO carries tdata with tuser and tlast beside it (the accelerator checks the framing).
  const dataBits = beatWidth(fixedOutput);
  const fifoDepth = fixedOutput.height * fixedOutput.width;
  const fifo = skipFifoModule(`${CHIP_TOP}_frame_fifo`, { channels: 1, height: fixedOutput.height, width: fixedOutput.width, type: { bits: dataBits + 2, signed: false } }, fifoDepth).module;
  const fifoIn = m.wire('fifo_s_tdata', u(dataBits + 2), concat(fixed.out('m_tlast'), fixed.out('m_tuser'), fixed.out('m_tdata').asBits()));
  const accelReady = m.wire('accel_s_tready', u(1));
  const buffer = m.instance('u_frame_fifo', fifo, { rst, s_tvalid: fixed.out('m_tvalid'), s_tdata: fifoIn, m_tready: accelReady });
  fifoReady.drive(buffer.out('s_tready'));
  const word = buffer.out('m_tdata');

  // Lanes: the fixed part's channels into the accelerator's actBits lanes, padding lanes 0.
  const lanes = config.streamBlocks * config.cols;
  const values = unpackChannels(word.slice(dataBits - 1, 0), fixedOutput.channels, fixedOutput.type);
  const laneType = { bits: config.actBits, signed: fixedOutput.type.signed };
  const padded = [...values, ...Array.from({ length: lanes - values.length }, () => constant(0))];
  const accelData = m.wire('accel_s_tdata', u(lanes * config.actBits), packChannels(padded, laneType).asBits());
  const engine = m.instance('u_accel', accel, {
    ...accelInputs,
    s_tvalid: buffer.out('m_tvalid'),
    s_tdata: accelData,
    s_tuser: word.bit(dataBits),
    s_tlast: word.bit(dataBits + 1),
  });
  accelReady.drive(engine.out('s_tready'));
  m.output('s_tready', fixed.out('s_tready'));
  for (const name of STREAM_OUT) m.output(name, engine.out(name));
  m.output('ffe_frame_error', fixed.out('frame_error'));
  for (const p of accel.outputs) {
    if (p.name === 's_tready' || (STREAM_OUT as readonly string[]).includes(p.name)) continue;
    // The accelerator's framing flag beside the fixed part's: both named by their part.
    m.output(FRAMING_FLAGS.has(p.name) ? 'accel_frame_error' : p.name, engine.out(p.name));
  }

  m.describePorts(chipPortMeanings(m, ffe, accel));
  const emitted = emitDesign(m, header);
  const ports: ManifestPort[] = [...emitted.moduleOf(m).ports];
  const c = designCosts(m);
  // Product adders: the fixed part's constant products (the accelerator multiplies).
  const products = c.roles[PRODUCTS_ROLE];
  const cost: ManifestCost = {
    adders: c.adders, adderBits: c.adderBits, productAdders: products?.adders ?? 0, productAdderBits: products?.adderBits ?? 0, comparators: c.comparators,
    comparatorBits: c.comparatorBits, multipliers: c.multipliers, multiplierBits: c.multiplierBits, registerBits: c.registerBits, memoryBits: c.memoryBits, adderDepth: c.adderDepth,
  };
  return {
    module: emitted.top, dsl: m, files: emitted.files, ports, cost, fifoDepth,
    testbench: { module: CHIP_TB, verilog: CHIP_TB_FILE, text: renderChipTestbench(emitted.top, ports, fixedOutput, config) },
  };
}

function portRange(module: Module, name: string): import('../hdl/index.js').Interval {
  const p = module.inputs.find((x) => x.name === name);
  if (p === undefined) throw new Error(`internal: module '${module.name}' has no input '${name}'`);
  return p.range;
}

function widthOf(range: { min: bigint; max: bigint }): number {
  const signed = range.min < 0n;
  const mag = signed ? (-range.min > range.max ? -range.min - 1n : range.max) : range.max;
  return mag.toString(2).length + (signed ? 1 : 0);
}

const tbTemplate = Handlebars.compile(readFileSync(new URL('../../templates/chip-tb.v.hbs', import.meta.url), 'utf8'), { noEscape: true, strict: true });

function renderChipTestbench(top: string, ports: readonly ManifestPort[], fixedOutput: Stream, config: RtlConfig): string {
  const input = ports.find((p) => p.name === 's_tdata');
  const output = ports.find((p) => p.name === 'm_tdata');
  if (input === undefined || output === undefined) throw new Error('internal: the chip top lacks s_tdata or m_tdata');
  const driven = new Set(['clk', 'rst', 's_tvalid', 's_tdata', 's_tuser', 's_tlast', 'm_tready', 'host_we', 'host_addr', 'host_wdata']);
  return tbTemplate({
    generator: 'fixynn', version, top, tbName: CHIP_TB,
    inMsb: input.width - 1, outMsb: output.width - 1,
    // Inputs the testbench leaves at 0 (start, prog_len: runs start themselves on every complete frame).
    idle: ports.filter((p) => p.direction === 'input' && !driven.has(p.name)).map((p) => ({ name: p.name, msb: p.width - 1 })),
    outputs: ports.filter((p) => p.direction === 'output').map((p) => ({ name: p.name, msb: p.width - 1 })),
    progMax: config.imemWords * 4 - 1,
    memMax: config.memBytes / 4 - 1,
    cut: `${fixedOutput.channels}x${fixedOutput.height}x${fixedOutput.width}`,
  });
}

