/**
 * The structural checker: every wire, output and register driven exactly once (the builder refuses a
 * second driver), every driver within its signal's interval, only this module's signals referenced, no
 * combinational loop (through instances too), one definition per module name in a hierarchy.
 */
import { type Expr, Signal, nodeOperands } from './expr.js';
import { HdlError, contains, formatInterval } from './interval.js';
import { InstanceOutput, type Module } from './module.js';

/** Direct operands of an expression node. */
export function operands(e: Expr): readonly Expr[] {
  return nodeOperands(e.node);
}

/** The named signals an expression reads (without looking through them). */
export function signalsRead(root: Expr): Signal[] {
  const seen = new Set<Expr>();
  const found: Signal[] = [];
  const stack: Expr[] = [root];
  while (stack.length > 0) {
    const e = stack.pop()!;
    if (seen.has(e)) continue;
    seen.add(e);
    if (e instanceof Signal) found.push(e);
    else stack.push(...operands(e));
  }
  return found;
}

/** The signals whose current value a combinational signal depends on (sources: inputs, regs, memory reads). */
function combinationalDeps(signal: Signal): Signal[] {
  if (signal.kind === 'wire' || signal.kind === 'output') return signal.driver === undefined ? [] : signalsRead(signal.driver);
  if (signal instanceof InstanceOutput) {
    const inputs = combinationalInputs(signal.instance.module, signal.port);
    return [...inputs].flatMap((name) => signalsRead(signal.instance.connections.get(name)!));
  }
  return [];
}

const combInputsCache = new WeakMap<Module, Map<string, Set<string>>>();

/** The names of a module's inputs that reach an output without passing a register. */
export function combinationalInputs(module: Module, output: string): Set<string> {
  let perOutput = combInputsCache.get(module);
  if (perOutput === undefined) {
    perOutput = new Map();
    combInputsCache.set(module, perOutput);
  }
  const cached = perOutput.get(output);
  if (cached !== undefined) return cached;
  const port = module.outputs.find((o) => o.name === output);
  const result = new Set<string>();
  const seen = new Set<Signal>();
  const stack: Signal[] = port === undefined ? [] : [port];
  while (stack.length > 0) {
    const sig = stack.pop()!;
    if (seen.has(sig)) continue;
    seen.add(sig);
    if (sig.kind === 'input') result.add(sig.name);
    stack.push(...combinationalDeps(sig));
  }
  perOutput.set(output, result);
  return result;
}

/** Every problem found in a module and the modules it instantiates; empty when it is sound. */
export function findProblems(top: Module): string[] {
  const problems: string[] = [];
  const byName = new Map<string, Module>();
  const visit = (m: Module): void => {
    const prior = byName.get(m.name);
    if (prior === m) return;
    if (prior !== undefined) {
      problems.push(`two different modules are named '${m.name}'; module names must be unique in a design`);
      return;
    }
    byName.set(m.name, m);
    problems.push(...moduleProblems(m));
    for (const inst of m.instances) visit(inst.module);
  };
  visit(top);
  return problems;
}

/** Throws an HdlError listing every problem when the design is not sound. */
export function checkModule(top: Module): void {
  const problems = findProblems(top);
  if (problems.length > 0) throw new HdlError(`module '${top.name}' failed the check:\n  ${problems.join('\n  ')}`);
}

function moduleProblems(m: Module): string[] {
  const problems: string[] = [];
  const where = (what: string): string => `module '${m.name}': ${what}`;
  const checkForeign = (what: string, e: Expr | undefined): void => {
    if (e === undefined) return;
    for (const sig of signalsRead(e)) {
      if (sig.owner !== m) problems.push(where(`${what} reads '${sig.name}', a signal of another module`));
    }
  };
  for (const sig of [...m.outputs, ...m.wires, ...m.regs]) {
    const role = sig.kind === 'reg' ? 'next value' : 'driver';
    if (sig.driver === undefined) {
      problems.push(where(`${sig.kind} '${sig.name}' has no ${role}`));
      continue;
    }
    if (!contains(sig.range, sig.driver.range)) {
      problems.push(where(`${sig.kind} '${sig.name}' holds ${formatInterval(sig.range)} but its ${role} ranges over ${formatInterval(sig.driver.range)}`));
    }
    checkForeign(`${sig.kind} '${sig.name}'`, sig.driver);
  }
  for (const r of m.regs) {
    checkForeign(`register '${r.name}' reset`, r.reset);
    checkForeign(`register '${r.name}' enable`, r.enable);
  }
  for (const mem of m.memories) {
    if (mem.reads.length === 0) problems.push(where(`memory '${mem.name}' is never read`));
    if (mem.write === undefined) {
      if (mem.init === undefined) problems.push(where(`memory '${mem.name}' is never written and has no init contents`));
    } else {
      checkForeign(`memory '${mem.name}' write address`, mem.write.addr);
      checkForeign(`memory '${mem.name}' write data`, mem.write.data);
      checkForeign(`memory '${mem.name}' write enable`, mem.write.enable);
    }
    for (const rd of mem.reads) {
      checkForeign(`memory read '${rd.name}' address`, rd.addr);
      checkForeign(`memory read '${rd.name}' enable`, rd.enable);
    }
  }
  for (const inst of m.instances) {
    for (const [port, e] of inst.connections) checkForeign(`instance '${inst.name}' input '${port}'`, e);
  }
  problems.push(...combinationalLoops(m));
  return problems;
}

/** Depth-first search over combinational dependencies; a back edge is a loop. */
function combinationalLoops(m: Module): string[] {
  const state = new Map<Signal, 'active' | 'done'>();
  const loops: string[] = [];
  const visit = (sig: Signal, path: Signal[]): void => {
    const st = state.get(sig);
    if (st === 'done') return;
    if (st === 'active') {
      const cycle = path.slice(path.indexOf(sig)).map((s) => s.name);
      loops.push(`module '${m.name}': combinational loop ${[...cycle, sig.name].join(' -> ')}`);
      return;
    }
    state.set(sig, 'active');
    path.push(sig);
    for (const dep of combinationalDeps(sig)) if (dep.owner === m) visit(dep, path);
    path.pop();
    state.set(sig, 'done');
  };
  for (const sig of m.signals) visit(sig, []);
  return loops;
}
