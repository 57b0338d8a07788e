/**
 * Exact register and memory bits of a module and everything it instantiates, read from the DSL
 * (each register's type width, each memory's depth x word width): the cost report's storage figures
 * without synthesis.
 */
import type { Module } from '../hdl/index.js';
import { typeOfInterval } from '../hdl/index.js';

export function storageBits(m: Module): { registerBits: number; memoryBits: number } {
  let registerBits = m.regs.reduce((n, r) => n + r.width, 0);
  let memoryBits = m.memories.reduce((n, mem) => n + mem.depth * typeOfInterval(mem.range).width, 0);
  for (const inst of m.instances) {
    const child = storageBits(inst.module);
    registerBits += child.registerBits;
    memoryBits += child.memoryBits;
  }
  return { registerBits, memoryBits };
}
