/**
 * Bridges between DSL modules and the batch harness: a module becomes a SimDesign, and the TypeScript
 * evaluator runs the same vectors under the same protocol (apply, sample, clock), so results compare
 * one to one.
 */
import { type HeaderInfo, emitDesign } from '../../generator/emit/index.js';
import { CompiledSimulator, type Module, Simulator } from '../../generator/hdl/index.js';
import { type BuildOptions, type PortSpec, type Response, type SimDesign, type SimulatorName, type Vector, buildBatch } from './batch.js';

/** A SimDesign from a DSL module, plus the DSL -> Verilog port name map. */
export interface DslSimDesign extends SimDesign {
  readonly module: Module;
  /** DSL port name -> Verilog port name (they differ only where the DSL name was not a legal identifier). */
  readonly portNames: ReadonlyMap<string, string>;
}

export function simDesignOf(module: Module, header: HeaderInfo = {}): DslSimDesign {
  const emitted = emitDesign(module, header);
  const spec = (name: string, width: number, signed: boolean): PortSpec => ({ name: emitted.ports.get(name)!, width, signed });
  const clock = module.clock;
  return {
    module,
    top: emitted.top,
    files: emitted.files,
    inputs: module.inputs.filter((p) => !p.isClock).map((p) => spec(p.name, p.width, p.signed)),
    outputs: module.outputs.map((p) => spec(p.name, p.width, p.signed)),
    ...(clock === undefined ? {} : { clock: emitted.ports.get(clock.name)! }),
    portNames: emitted.ports,
  };
}

/** Rename a vector's keys from DSL to Verilog port names. */
export function toVerilogVector(design: DslSimDesign, vector: Vector): Vector {
  return Object.fromEntries(Object.entries(vector).map(([k, v]) => [design.portNames.get(k) ?? k, v]));
}

/** Rename a response's keys from Verilog back to DSL port names. */
export function fromVerilogResponse(design: DslSimDesign, response: Response): Response {
  const back = new Map([...design.portNames].map(([dsl, v]) => [v, dsl]));
  return Object.fromEntries(Object.entries(response).map(([k, v]) => [back.get(k) ?? k, v]));
}

/**
 * Run vectors through the TypeScript evaluator with the harness's protocol: for each vector, set the
 * inputs, record every output, then clock once (when the module has a clock). Keys are DSL names.
 * `engine: 'compiled'` uses the CompiledSimulator (same results, much faster on long runs).
 */
export function evaluateVectors(module: Module, vectors: readonly Vector[], options: { engine?: 'interpreted' | 'compiled' } = {}): Array<Record<string, bigint>> {
  const sim = options.engine === 'compiled' ? new CompiledSimulator(module) : new Simulator(module);
  const zero = Object.fromEntries(module.inputs.filter((p) => !p.isClock).map((p) => [p.name, 0n]));
  return vectors.map((v) => {
    sim.setAll({ ...zero, ...v });
    const out = sim.outputs();
    if (module.clock !== undefined) sim.step();
    return out;
  });
}

/** One DSL module and the vectors (DSL port names, one per clock cycle) to run through it. */
export interface DslCase {
  readonly module: Module;
  readonly vectors: readonly Vector[];
}

/**
 * Simulate many DSL modules in one simulator with one (cached) build and one run; returns each case's
 * responses under DSL port names, in case order. Module names must be distinct across the cases.
 */
export async function simulateDsl(simulator: SimulatorName, cases: readonly DslCase[], options: BuildOptions = {}): Promise<Response[][]> {
  const designs = cases.map((c) => simDesignOf(c.module));
  const build = await buildBatch(simulator, designs, options);
  const results = await build.run(new Map(designs.map((d, i) => [d.top, cases[i]!.vectors.map((v) => toVerilogVector(d, v))])));
  return designs.map((d) => results.get(d.top)!.map((r) => fromVerilogResponse(d, r)));
}
