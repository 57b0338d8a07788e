/**
 * The accelerator's Verilog and its testbench for one configuration: what a design folder holds
 * (`fixynn generate --accel`) and what verify/accel builds. Nothing in them depends on the model (no
 * header with its name), so every design and test of one configuration shares one build. memory 'onchip'
 * uses templates/accel-tb.v.hbs (the simple host port); 'axi' templates/accel-axi-tb.v.hbs (AXI4-Lite host,
 * AXI4 memory model) with the protocol checker templates/axi4-checker.v.
 */
import { readFileSync } from 'node:fs';
import Handlebars from 'handlebars';
import { emitDesign, type EmittedPort } from '../../emit/index.js';
import { version } from '../../common/version.js';
import type { Module } from '../../hdl/index.js';
import type { RtlConfig } from './config.js';
import { PROGRAM_BASE, generateAccelerator } from './top.js';
import { CONTROL_REGS, PROGRAM_WINDOW, controlAddrBits } from './axi-lite-regs.js';
import { MAX_WORDS, STREAM_REG, STREAM_REGS_BASE } from './stream-ports.js';
import { rowBytes } from '../config.js';

/** The testbench module's name (its file is `${ACCEL_TB}.v`). */
export const ACCEL_TB = 'fixynn_accel_tb';
const templateFile = (name: string): string => readFileSync(new URL(`../../../templates/${name}`, import.meta.url), 'utf8');
// The AXI4 memory model, one text for every AXI testbench (this one's and the chip's with its frame buffer over AXI).
Handlebars.registerPartial('axiMemoryModel', templateFile('axi-memory-model.v.hbs'));
const template = Handlebars.compile(templateFile('accel-tb.v.hbs'), { noEscape: true, strict: true });
const axiTemplate = Handlebars.compile(templateFile('accel-axi-tb.v.hbs'), { noEscape: true, strict: true });
/** The AXI4 protocol checker the AXI testbench instantiates (a module of its own, also used alone in tests). */
export const AXI4_CHECKER = { name: 'fixynn_axi4_checker.v', module: 'fixynn_axi4_checker' } as const;
export function axi4CheckerText(): string {
  return templateFile('axi4-checker.v');
}

export interface AccelSources {
  /** The DSL top (for the cost model). */
  readonly module: Module;
  /** The design's module files, children first, the top last. */
  readonly rtl: ReadonlyArray<{ name: string; text: string }>;
  readonly top: string;
  readonly testbench: { readonly name: string; readonly text: string };
  /** Further testbench files (the AXI4 checker with memory 'axi'). */
  readonly testbenchSupport: ReadonlyArray<{ readonly name: string; readonly text: string }>;
  /** The top's ports (name, direction, width, meaning) in declaration order. */
  readonly ports: readonly EmittedPort[];
}

export function accelSources(config: RtlConfig): AccelSources {
  const top = generateAccelerator(config);
  const emitted = emitDesign(top);
  const pcMsb = Math.max(1, config.imemWords.toString(2).length) - 1;
  const common = { generator: 'fixynn', version, top: emitted.top, tbName: ACCEL_TB, pcMsb, progMax: config.imemWords * 4 - 1, memMax: config.memBytes / 4 - 1 };
  const hex = (v: number): string => v.toString(16);
  const text = config.memory === 'axi'
    ? axiTemplate({
      ...common,
      beatBytes: config.memPortBytes,
      beatWords: config.memPortBytes / 4,
      ctlAddrMsb: controlAddrBits(config) - 1,
      programWindow: hex(PROGRAM_WINDOW),
      ...Object.fromEntries(Object.entries(CONTROL_REGS).map(([k, v]) => [`reg${k[0]!.toUpperCase()}${k.slice(1)}`, hex(v)])),
    })
    : template({
      ...common,
      progLenMsb: pcMsb,
      programBase: PROGRAM_BASE.toString(16),
      streamBase: STREAM_REGS_BASE.toString(16),
      ...Object.fromEntries(Object.entries(STREAM_REG).map(([k, v]) => [`reg${k[0]!.toUpperCase()}${k.slice(1)}`, v])),
      sBits: config.streamBlocks * config.cols * config.actBits,
      // Frames up to the whole MEM; results up to what the output stream's word count register holds
      // (a tiled program's output map in MEM can exceed the ACC rows of scores), plus the class.
      pixMax: config.memBytes / rowBytes(config, 'act') - 1,
      beatMax: MAX_WORDS + 1,
    });
  const ports = emitted.moduleOf(top).ports;
  return { module: top, rtl: emitted.files.map((f) => ({ name: f.name, text: f.text })), top: emitted.top, testbench: { name: `${ACCEL_TB}.v`, text }, testbenchSupport: config.memory === 'axi' ? [{ name: AXI4_CHECKER.name, text: axi4CheckerText() }] : [], ports };
}
