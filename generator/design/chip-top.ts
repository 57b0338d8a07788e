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
import { type Expr, type Instance, Module, concat, constant, u } from '../hdl/index.js';
import { AXI_ADDR_BITS } from '../accel/rtl/axi-master.js';
import { CONTROL_REGS, PROGRAM_WINDOW, controlAddrBits } from '../accel/rtl/axi-lite-regs.js';
import { axi4CheckerText } from '../accel/rtl/sources.js';
import { buildSpillModule, slotStride } from './chip-spill.js';
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

/** The chip ports of the frame buffer over AXI (chip-spill.ts). */
const SPILL_PORTS: Readonly<Record<string, string>> = {
  spill_in_addr: 'frame buffer over AXI: MEM byte address of the program\'s input region (frame slot 0 = MEM_BASE + spill_in_addr; slot 1 one MEM size further), set with the program',
  accel_frame_error: 'frame buffer over AXI: a pixel of the fixed part\'s stream arrived with tuser/tlast out of place (sticky until reset)',
  spill_write_error: 'frame buffer over AXI: a frame write got a non-OKAY response (sticky until reset)',
  spill_slots_full: 'frame buffer over AXI: bit s: frame slot s holds a complete frame not yet run',
};

/** Each chip port means what the part port it connects means (the framing flags say whose they are). */
function chipPortMeanings(chip: Module, ffe: Module, accel: Module): Record<string, string> {
  const meaningOf = (part: Module, name: string): string => [...part.inputs, ...part.outputs].find((p) => p.name === name)?.comment ?? '';
  const meanings: Record<string, string> = {};
  for (const p of [...chip.inputs, ...chip.outputs]) {
    const spill = SPILL_PORTS[p.name];
    if (spill !== undefined && accel.inputs.some((x) => x.name === 'frame_start')) meanings[p.name] = spill;
    else if (p.name === 'ffe_frame_error') meanings[p.name] = `fixed part: ${meaningOf(ffe, 'frame_error')}`;
    else if (p.name === 'accel_frame_error') meanings[p.name] = `accelerator: ${meaningOf(accel, 'frame_error')}`;
    else if ((STREAM_IN as readonly string[]).includes(p.name) || p.name === 's_tready') meanings[p.name] = `pixel stream into the fixed part: ${meaningOf(ffe, p.name)}`;
    else meanings[p.name] = meaningOf(accel, p.name);
  }
  return meanings;
}

export function buildChipTop(ffe: Module, fixedOutput: Stream, accel: Module, config: RtlConfig, header: HeaderInfo): ChipTop {
  const spill = config.memory === 'axi';
  const m = new Module(CHIP_TOP, {
    description: spill
      ? `fixynn chip: the fixed feature extractor (${ffe.name}) streaming ${fixedOutput.channels}x${fixedOutput.height}x${fixedOutput.width} into two DRAM frame slots through the ${config.rows}x${config.cols} programmable accelerator's (${accel.name}) AXI4 master; the accelerator runs each frame from DRAM, scores and class in MEM.`
      : `fixynn chip: the fixed feature extractor (${ffe.name}) streaming ${fixedOutput.channels}x${fixedOutput.height}x${fixedOutput.width} through a frame FIFO into the ${config.rows}x${config.cols} programmable accelerator (${accel.name}); scores and class out as a stream.`,
  });
  m.addClock();
  const rst = m.input('rst', u(1));
  const ffeIn = Object.fromEntries(STREAM_IN.map((name) => [name, m.input(name, portRange(ffe, name))]));
  const fifoReady = m.wire('fifo_s_tready', u(1));
  const fixed = m.instance('u_ffe', ffe, { rst, ...ffeIn, m_tready: fifoReady });
  fixed.describe('the fixed feature extractor: layers 0..K-1');
  const joined = spill ? joinOverAxi(m, rst, fixed, fixedOutput, accel, config) : joinOnChip(m, rst, fixed, fixedOutput, accel, config);
  fifoReady.drive(joined.ready);
  m.output('s_tready', fixed.out('s_tready'));
  for (const [name, e] of joined.outputs) m.output(name, e);
  m.output('ffe_frame_error', fixed.out('frame_error'));
  for (const p of accel.outputs) {
    if (joined.taken.has(p.name)) continue;
    // The accelerator's framing flag beside the fixed part's: both named by their part.
    m.output(FRAMING_FLAGS.has(p.name) ? 'accel_frame_error' : p.name, joined.engine.out(p.name));
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
    module: emitted.top, dsl: m, files: emitted.files, ports, cost, fifoDepth: joined.fifoDepth,
    testbench: { module: CHIP_TB, verilog: CHIP_TB_FILE, text: spill ? renderSpillTestbench(emitted.top, ports, fixedOutput, config) : renderChipTestbench(emitted.top, ports, fixedOutput, config) },
  };
}

/** How the fixed part's stream reaches the accelerator: its ready, the accelerator's instance, the accelerator outputs used inside. */
interface Join {
  readonly ready: Expr;
  readonly engine: Instance;
  /** Accelerator outputs that do not become chip outputs of the same name. */
  readonly taken: ReadonlySet<string>;
  readonly fifoDepth: number;
  /** Chip outputs the join drives (after s_tready, before the accelerator's pass-through outputs). */
  readonly outputs: ReadonlyArray<readonly [string, Expr]>;
}

/** The fixed part's channels as the accelerator's actBits lanes (one pixel: streamBlocks ACT rows), padding lanes 0. */
function accelLanes(m: Module, data: Expr, fixedOutput: Stream, config: RtlConfig): Expr {
  const lanes = config.streamBlocks * config.cols;
  const values = unpackChannels(data, fixedOutput.channels, fixedOutput.type);
  const laneType = { bits: config.actBits, signed: fixedOutput.type.signed };
  const padded = [...values, ...Array.from({ length: lanes - values.length }, () => constant(0))];
  return m.wire('accel_s_tdata', u(lanes * config.actBits), packChannels(padded, laneType).asBits());
}

/** Every other accelerator input (the host port, start, AXI) is a chip input of the same name, unless given. */
function passInputs(m: Module, accel: Module, given: Record<string, Expr>): Record<string, Expr> {
  const inputs: Record<string, Expr> = { ...given };
  for (const p of accel.inputs) if (p !== accel.clock && !(p.name in inputs)) inputs[p.name] = m.input(p.name, p.range);
  return inputs;
}

/** On chip: the frame FIFO holds one whole frame, feeding the accelerator's pixel stream port. */
function joinOnChip(m: Module, rst: Expr, fixed: Instance, fixedOutput: Stream, accel: Module, config: RtlConfig): Join {
  const mReady = m.input('m_tready', u(1));
  // The frame FIFO carries tdata with tuser and tlast beside it (the accelerator checks the framing).
  const dataBits = beatWidth(fixedOutput);
  const fifoDepth = fixedOutput.height * fixedOutput.width;
  const fifo = skipFifoModule(`${CHIP_TOP}_frame_fifo`, { channels: 1, height: fixedOutput.height, width: fixedOutput.width, type: { bits: dataBits + 2, signed: false } }, fifoDepth).module;
  const fifoIn = m.wire('fifo_s_tdata', u(dataBits + 2), concat(fixed.out('m_tlast'), fixed.out('m_tuser'), fixed.out('m_tdata').asBits()));
  const accelReady = m.wire('accel_s_tready', u(1));
  const buffer = m.instance('u_frame_fifo', fifo, { rst, s_tvalid: fixed.out('m_tvalid'), s_tdata: fifoIn, m_tready: accelReady });
  const word = buffer.out('m_tdata');
  const engine = m.instance('u_accel', accel, passInputs(m, accel, {
    rst, m_tready: mReady,
    s_tvalid: buffer.out('m_tvalid'),
    s_tdata: accelLanes(m, word.slice(dataBits - 1, 0), fixedOutput, config),
    s_tuser: word.bit(dataBits),
    s_tlast: word.bit(dataBits + 1),
  }));
  accelReady.drive(engine.out('s_tready'));
  return { ready: buffer.out('s_tready'), engine, taken: new Set(['s_tready', ...STREAM_OUT]), fifoDepth, outputs: STREAM_OUT.map((name) => [name, engine.out(name)] as const) };
}

/**
 * Over AXI (chip-spill.ts): the fixed part's pixels go into DRAM frame slots through the accelerator's
 * AXI4 master; the spill block arbitrates the write channel, routes B, moves the input region's reads to
 * the slot a run reads, and starts the runs.
 */
function joinOverAxi(m: Module, rst: Expr, fixed: Instance, fixedOutput: Stream, accel: Module, config: RtlConfig): Join {
  const beatsPerPixel = (config.streamBlocks * config.cols * Math.ceil(config.actBits / 8)) / config.memPortBytes;
  if (config.actBits !== 8 || !Number.isInteger(beatsPerPixel)) throw new Error(`internal: the frame buffer over AXI needs 8-bit lanes filling whole MEM beats (actBits ${config.actBits}, ${beatsPerPixel} beats per pixel)`);
  const spillModule = buildSpillModule(config, { width: fixedOutput.width, height: fixedOutput.height, beatsPerPixel });
  const inAddr = m.input('spill_in_addr', u(AXI_ADDR_BITS));
  const bus = (name: string): Expr => m.input(name, portRange(accel, name));
  const [awready, wready, bvalid, bresp] = ['m_axi_awready', 'm_axi_wready', 'm_axi_bvalid', 'm_axi_bresp'].map(bus) as [Expr, Expr, Expr, Expr];
  const toAccel = { awready: m.wire('accel_awready', u(1)), wready: m.wire('accel_wready', u(1)), bvalid: m.wire('accel_bvalid', u(1)), start: m.wire('accel_frame_start', u(1)) };
  const engine = m.instance('u_accel', accel, passInputs(m, accel, {
    rst, m_axi_awready: toAccel.awready, m_axi_wready: toAccel.wready, m_axi_bvalid: toAccel.bvalid, m_axi_bresp: bresp, frame_start: toAccel.start,
  }));
  const sp = m.instance('u_spill', spillModule, {
    rst, s_tvalid: fixed.out('m_tvalid'), s_tdata: accelLanes(m, fixed.out('m_tdata').asBits(), fixedOutput, config), s_tuser: fixed.out('m_tuser'), s_tlast: fixed.out('m_tlast'),
    in_addr: inAddr, mem_base: engine.out('mem_base'), accel_busy: engine.out('busy'), accel_error: engine.out('error'),
    a_araddr: engine.out('m_axi_araddr'), a_awvalid: engine.out('m_axi_awvalid'), a_awaddr: engine.out('m_axi_awaddr'), a_awlen: engine.out('m_axi_awlen'),
    a_wvalid: engine.out('m_axi_wvalid'), a_wdata: engine.out('m_axi_wdata'), a_wlast: engine.out('m_axi_wlast'),
    m_axi_awready: awready, m_axi_wready: wready, m_axi_bvalid: bvalid, m_axi_bresp: bresp,
  });
  sp.describe('the frame buffer over AXI: two DRAM frame slots written through the accelerator\'s AXI4 master');
  toAccel.awready.drive(sp.out('a_awready'));
  toAccel.wready.drive(sp.out('a_wready'));
  toAccel.bvalid.drive(sp.out('a_bvalid'));
  toAccel.start.drive(sp.out('frame_start'));
  const moved = ['m_axi_araddr', 'm_axi_awvalid', 'm_axi_awaddr', 'm_axi_awlen', 'm_axi_wvalid', 'm_axi_wdata', 'm_axi_wlast'];
  const outputs: Array<readonly [string, Expr]> = [
    ...moved.map((name) => [name, sp.out(name)] as const),
    ['accel_frame_error', sp.out('frame_error')], ['spill_write_error', sp.out('write_error')], ['spill_slots_full', sp.out('slots_full')],
  ];
  return { ready: sp.out('s_tready'), engine, taken: new Set([...moved, 'mem_base']), fifoDepth: 0, outputs };
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


const spillTbTemplate = Handlebars.compile(readFileSync(new URL('../../templates/chip-spill-tb.v.hbs', import.meta.url), 'utf8'), { noEscape: true, strict: true });

/** The testbench of a chip with its frame buffer over AXI: the AXI4-Lite host, the memory model, the protocol checker. */
function renderSpillTestbench(top: string, ports: readonly ManifestPort[], fixedOutput: Stream, config: RtlConfig): string {
  const input = ports.find((p) => p.name === 's_tdata');
  if (input === undefined) throw new Error('internal: the chip top lacks s_tdata');
  const driven = (name: string): boolean => ['clk', 'rst', 's_tvalid', 's_tdata', 's_tuser', 's_tlast', 'spill_in_addr'].includes(name) || name.startsWith('s_axil_') || name.startsWith('m_axi_');
  const hex = (v: number): string => v.toString(16);
  // One testbench file, the AXI4 protocol checker in it (as the accelerator's AXI testbench).
  return `${axi4CheckerText()}\n${spillTbTemplate({
    generator: 'fixynn', version, top, tbName: CHIP_TB,
    inMsb: input.width - 1,
    beatBytes: config.memPortBytes,
    beatWords: config.memPortBytes / 4,
    ctlAddrMsb: controlAddrBits(config) - 1,
    programWindow: hex(PROGRAM_WINDOW),
    regMemBase: hex(CONTROL_REGS.memBase),
    regProgLen: hex(CONTROL_REGS.progLen),
    idle: ports.filter((p) => p.direction === 'input' && !driven(p.name)).map((p) => ({ name: p.name, msb: p.width - 1 })),
    outputs: ports.filter((p) => p.direction === 'output').map((p) => ({ name: p.name, msb: p.width - 1 })),
    ports: ports.filter((p) => p.name !== 'clk').map((p) => p.name),
    progMax: config.imemWords * 4 - 1,
    slotStride: slotStride(config.memBytes),
    memMax: (2 * slotStride(config.memBytes)) / 4 - 1,
    cut: `${fixedOutput.channels}x${fixedOutput.height}x${fixedOutput.width}`,
  })}`;
}
