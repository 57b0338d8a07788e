/**
 * The simulator harness used by every verification: lint, batch simulation in Verilator and Icarus
 * (one build per simulator for many designs, cached), Yosys statistics, tool versions.
 *
 * Usage with DSL modules:
 * ```ts
 * const designs = modules.map((m) => simDesignOf(m));
 * const build = await buildBatch('verilator', designs);          // or 'icarus'; cached by source hash
 * const out = await build.run({ [designs[0].top]: vectors });   // vectors: one Record<port, bigint> per cycle
 * const expected = evaluateVectors(modules[0], vectors);        // same protocol in the TS evaluator
 * ```
 * Or in one call, with DSL port names: `await simulateDsl('icarus', [{ module, vectors }, ...])`.
 * Vectors and responses use Verilog port names; `toVerilogVector` / `fromVerilogResponse` convert when
 * a DSL name was not a legal identifier. Unknown (x) output bits come back as null.
 */
export { buildBatch, batchTestbench, SimBuild, type SimulatorName, type SimDesign, type PortSpec, type Vector, type Response, type BuildOptions } from './batch.js';
export { simDesignOf, simulateDsl, evaluateVectors, toVerilogVector, fromVerilogResponse, type DslSimDesign, type DslCase } from './dsl.js';
export { lint } from './lint.js';
export { yosysStat, parseStat, defaultSynthScript, type YosysStat } from './yosys.js';
export { toolVersion, toolVersions, runTool, runToolMeasured, type ToolName, type MeasuredResult } from './tools.js';
export { withSourcePaths, type SourceFile } from './files.js';
export { buildKey, cachedBuild, simCacheRoot, type CachedBuild } from './build-cache.js';
export { VERILATOR_QUIET, VERILATOR_QUICK_COMPILE } from './verilator-flags.js';
