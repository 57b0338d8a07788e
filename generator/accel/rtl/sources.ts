/**
 * The accelerator's Verilog and its testbench (templates/accel-tb.v.hbs) for one configuration: what a
 * design folder holds (`fixynn generate --accel`) and what verify/accel builds. Nothing in them depends on
 * the model (no header with its name), so every design and test of one configuration shares one build.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { emitDesign } from '../../emit/index.js';
import { version } from '../../common/version.js';
import type { Module } from '../../hdl/index.js';
import type { RtlConfig } from './config.js';
import { PROGRAM_BASE, generateAccelerator } from './top.js';
import { STREAM_REG, STREAM_REGS_BASE } from './stream-ports.js';
import { rowBytes } from '../config.js';

/** The testbench module's name (its file is `${ACCEL_TB}.v`). */
export const ACCEL_TB = 'fixynn_accel_tb';
const template = Handlebars.compile(readFileSync(new URL('../../../templates/accel-tb.v.hbs', import.meta.url), 'utf8'), { noEscape: true, strict: true });

export interface AccelSources {
  /** The DSL top (for the cost model). */
  readonly module: Module;
  /** The design's module files, children first, the top last. */
  readonly rtl: ReadonlyArray<{ name: string; text: string }>;
  readonly top: string;
  readonly testbench: { readonly name: string; readonly text: string };
  /** The top's ports (name, direction, width) in declaration order. */
  readonly ports: ReadonlyArray<{ name: string; direction: 'input' | 'output'; width: number }>;
}

export function accelSources(config: RtlConfig): AccelSources {
  const top = generateAccelerator(config);
  const emitted = emitDesign(top);
  const pcMsb = Math.max(1, config.imemWords.toString(2).length) - 1;
  const text = template({
    generator: 'fixynn',
    version,
    top: emitted.top,
    tbName: ACCEL_TB,
    pcMsb,
    progLenMsb: pcMsb,
    progMax: config.imemWords * 4 - 1,
    memMax: config.memBytes / 4 - 1,
    programBase: PROGRAM_BASE.toString(16),
    streamBase: STREAM_REGS_BASE.toString(16),
    ...Object.fromEntries(Object.entries(STREAM_REG).map(([k, v]) => [`reg${k[0]!.toUpperCase()}${k.slice(1)}`, v])),
    sBits: config.streamBlocks * config.cols * config.actBits,
    // Frames up to the whole MEM, results up to the ACC rows of scores plus the class.
    pixMax: config.memBytes / rowBytes(config, 'act') - 1,
    beatMax: config.accRows * config.cols,
  });
  const ports = [
    ...top.inputs.map((p) => ({ name: emitted.ports.get(p.name) ?? p.name, direction: 'input' as const, width: p.width })),
    ...top.outputs.map((p) => ({ name: emitted.ports.get(p.name) ?? p.name, direction: 'output' as const, width: p.width })),
  ];
  return { module: top, rtl: emitted.files.map((f) => ({ name: f.name, text: f.text })), top: emitted.top, testbench: { name: `${ACCEL_TB}.v`, text }, ports };
}
