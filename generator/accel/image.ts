/**
 * Program and memory images (docs/isa.md §8): binary files with a 32-byte header (magic, version, length,
 * CRC-32 of the body, configuration fingerprint, CRC-32 of the header), and the JSON layout beside them.
 * Readers refuse anything that does not check out, naming the file and what is wrong: a corrupt or
 * foreign image never reaches the simulator or the chip.
 */
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { badInput } from '../common/errors.js';
import { disassemble } from './asm.js';
import type { CompiledProgram, ProgramLayout } from './compile.js';
import { type AccelConfig, checkConfig } from './config.js';
import { bytesToWord, decode, encode, type Instruction, ISA_VERSION, IsaError, wordToBytes } from './isa.js';

export const PROGRAM_MAGIC = 'FXNNPRG1';
export const MEMORY_MAGIC = 'FXNNMEM1';
export const IMAGE_VERSION = 1;
const HEADER = 32;

/** CRC-32 of the ISA version and the configuration's canonical JSON (keys sorted): ties an image to one accelerator. */
export function configFingerprint(config: AccelConfig): number {
  const keys = Object.keys(config).sort();
  const canonical = JSON.stringify({ isa: ISA_VERSION, config: Object.fromEntries(keys.map((k) => [k, (config as unknown as Record<string, unknown>)[k]])) });
  return crc32(Buffer.from(canonical, 'utf8')) >>> 0;
}

function header(magic: string, count: number, body: Uint8Array, fingerprint: number): Uint8Array {
  const h = Buffer.alloc(HEADER);
  h.write(magic, 0, 'ascii');
  h.writeUInt32LE(IMAGE_VERSION, 8);
  h.writeUInt32LE(count, 12);
  h.writeUInt32LE(crc32(body) >>> 0, 16);
  h.writeUInt32LE(fingerprint, 20);
  h.writeUInt32LE(0, 24);
  h.writeUInt32LE(crc32(h.subarray(0, 28)) >>> 0, 28);
  return h;
}

export function programImage(program: readonly Instruction[], config: AccelConfig): Uint8Array {
  const body = new Uint8Array(program.length * 16);
  program.forEach((ins, i) => wordToBytes(encode(ins), body, i * 16));
  return Buffer.concat([header(PROGRAM_MAGIC, program.length, body, configFingerprint(config)), body]);
}

export function memoryImage(mem: Uint8Array, config: AccelConfig): Uint8Array {
  return Buffer.concat([header(MEMORY_MAGIC, mem.length, mem, configFingerprint(config)), mem]);
}

/** Checks a header and returns the body; throws badInput naming `file` on any mismatch. */
function checkedBody(bytes: Uint8Array, magic: string, unit: number, config: AccelConfig, file: string): { body: Uint8Array; count: number } {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b.length < HEADER) throw badInput(`${file}: ${b.length} bytes, shorter than the ${HEADER}-byte header`);
  if (b.toString('ascii', 0, 8) !== magic) throw badInput(`${file}: not a fixynn ${magic === PROGRAM_MAGIC ? 'program' : 'memory'} image (magic '${b.toString('ascii', 0, 8).replace(/[^\x20-\x7e]/g, '?')}', expected '${magic}')`);
  if ((crc32(b.subarray(0, 28)) >>> 0) !== b.readUInt32LE(28)) throw badInput(`${file}: header checksum mismatch (the header is corrupt)`);
  const version = b.readUInt32LE(8);
  if (version !== IMAGE_VERSION) throw badInput(`${file}: image version ${version}; this fixynn reads version ${IMAGE_VERSION}`);
  const count = b.readUInt32LE(12);
  if (b.length !== HEADER + count * unit) throw badInput(`${file}: ${b.length - HEADER} body bytes, the header says ${count * unit}`);
  const body = b.subarray(HEADER);
  if ((crc32(body) >>> 0) !== b.readUInt32LE(16)) throw badInput(`${file}: body checksum mismatch (the image is corrupt)`);
  if (b.readUInt32LE(20) !== configFingerprint(config)) throw badInput(`${file}: built for another accelerator configuration (fingerprint ${b.readUInt32LE(20).toString(16)}, this one ${configFingerprint(config).toString(16)})`);
  return { body, count };
}

export function readProgramImage(bytes: Uint8Array, config: AccelConfig, file = 'program.bin'): Instruction[] {
  const { body, count } = checkedBody(bytes, PROGRAM_MAGIC, 16, config, file);
  const program: Instruction[] = [];
  for (let i = 0; i < count; i++) {
    try {
      program.push(decode(bytesToWord(body, i * 16)));
    } catch (e) {
      if (e instanceof IsaError) throw badInput(`${file}: instruction ${i}: ${e.message}`);
      throw e;
    }
  }
  return program;
}

export function readMemoryImage(bytes: Uint8Array, config: AccelConfig, file = 'mem.bin'): Uint8Array {
  const { body } = checkedBody(bytes, MEMORY_MAGIC, 1, config, file);
  if (body.length > config.memBytes) throw badInput(`${file}: ${body.length} bytes exceed MEM (${config.memBytes} bytes)`);
  return new Uint8Array(body);
}

export const FILES = { program: 'program.bin', memory: 'mem.bin', layout: 'program.json', text: 'program.s' } as const;

/** Writes program.bin, mem.bin, program.json (configuration + layout) and program.s into `dir`. */
export function writeCompiled(dir: string, compiled: CompiledProgram): void {
  fs.mkdirSync(dir, { recursive: true });
  const files: [string, Uint8Array | string][] = [
    [FILES.program, programImage(compiled.program, compiled.config)],
    [FILES.memory, memoryImage(compiled.mem, compiled.config)],
    [FILES.layout, JSON.stringify({ format: 1, config: compiled.config, layout: compiled.layout }, null, 2) + '\n'],
    [FILES.text, disassemble(compiled.program, compiled.layout.layers)],
  ];
  // Write to temporary names first so a failure leaves nothing half-written.
  for (const [name, data] of files) fs.writeFileSync(path.join(dir, `.${name}.tmp`), data);
  for (const [name] of files) fs.renameSync(path.join(dir, `.${name}.tmp`), path.join(dir, name));
}

/** Reads a compiled program back from `dir`, refusing a corrupt or mismatched image. */
export function readCompiled(dir: string): CompiledProgram {
  const read = (name: string): Buffer => {
    const p = path.join(dir, name);
    if (!fs.existsSync(p)) throw badInput(`${p}: missing (a compiled accelerator program has ${Object.values(FILES).join(', ')})`);
    return fs.readFileSync(p);
  };
  let meta: { format: number; config: AccelConfig; layout: ProgramLayout };
  try {
    meta = JSON.parse(read(FILES.layout).toString('utf8'));
  } catch (e) {
    throw badInput(`${path.join(dir, FILES.layout)}: not valid JSON (${(e as Error).message})`);
  }
  if (meta.format !== 1 || !meta.config || !meta.layout) throw badInput(`${path.join(dir, FILES.layout)}: not a fixynn program layout (format 1 with config and layout)`);
  const config = checkConfig(meta.config);
  return {
    config,
    program: readProgramImage(read(FILES.program), config, path.join(dir, FILES.program)),
    mem: readMemoryImage(read(FILES.memory), config, path.join(dir, FILES.memory)),
    layout: meta.layout,
  };
}
