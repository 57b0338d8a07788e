/**
 * The programmable accelerator's software side (issue 11): the ISA (one table), assembler/disassembler,
 * the compiler from the quantized layers after the split, program and memory images, the ISA simulator
 * and the cycle model. The CLI (`generate --accel`, `compile`, `verify --program`) calls this API.
 */
export { assemble, disassemble, formatInstruction } from './asm.js';
export { type CompiledProgram, type CompileOptions, compileProgram, configForModel, type LayerInfo, type ProgramLayout, usefulMacs } from './compile.js';
export { type AccelConfig, checkConfig, defaultConfig, parseArrayShape, peakMacs } from './config.js';
export { AXI_PORT_CLOCKS, COST, instructionCycles, type MemoryModel, memoryOf, REFERENCE_MEMORY, transferBytes } from './costs.js';
export { type CycleReport, formatCycleReport, replayCycles, type ReplayOptions } from './cycle-model.js';
export { configFingerprint, memoryImage, programImage, readCompiled, readMemoryImage, readProgramImage, writeCompiled } from './image.js';
export { decode, encode, type Instruction, ISA, make, OPCODES } from './isa.js';
export { type AccelRun, memWithInput, readOutput, runOnSimulator } from './run.js';
export { type AccelCheck, type AccelMismatch, checkAgainstIntegerModel, describeAccelMismatch } from './check.js';
export { AccelFault, simulate } from './simulator.js';
export { type AcceleratorDescription, describeAccelerator, type ProgramSummary, type ReferenceFigures, referenceFigures, summarizeProgram } from './report.js';
