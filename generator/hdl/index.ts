/**
 * fixynn's hardware construction DSL. Every value carries an exact integer interval; its Verilog type is
 * the narrowest that holds it, so nothing overflows and nothing is wider than needed.
 *
 * Usage:
 * ```ts
 * import { Module, Simulator, s, u, mux, sum } from '../hdl/index.js';
 * import { emitDesign } from '../emit/index.js';
 *
 * const m = new Module('mac');
 * m.addClock();                                   // input clk (registers and memories use it)
 * const rst = m.input('rst', u(1));
 * const en = m.input('en', u(1));
 * const x = m.input('x', s(8));                   // [-128, 127]
 * const p = x.mul(-3).add(x.shl(2));              // [-893, 892]: signed 11 bits (each term's bounds)
 * const acc = m.reg('acc', s(16), { reset: rst, enable: en });
 * acc.next(acc.add(p).clamp(-32768, 32767));      // saturate explicitly; .truncate(16) would wrap
 * m.output('y', acc);
 * m.output('big', mux(x.gt(0), x, 0));            // comparisons and muxes give exact intervals too
 *
 * const sim = new Simulator(m);                    // checks the module, then runs it cycle by cycle
 * sim.setAll({ rst: 1, en: 0, x: 0 }).step();
 * sim.setAll({ rst: 0, en: 1, x: 5 }).step();
 * sim.get('y');                                    // 5n
 *
 * const { files } = emitDesign(m, { modelSha256, options });  // Verilog-2005, one file per module
 * new CompiledSimulator(m);                        // same interface, compiled to JS: for long runs
 * designCosts(m);                                  // the cost model: adders, multipliers, register and memory bits (docs/costs.md)
 * ```
 * Narrowing that the intervals cannot prove is explicit: `.truncate(w)` / `.resize(w, {wrap: true})`
 * wrap, `.clamp(lo, hi)` saturates, `.assume(lo, hi)` asserts (checked by the evaluator). Other pieces:
 * `m.wire(name, expr)`, `m.pipe(name, expr, opts)` (a delay register typed by its value),
 * `m.delay(name, expr, cycles, opts)`, `m.counter(name, modulo, {enable, reset})` -> {value, last},
 * `m.memory(name, {depth, type, init?})` with `.setWrite({addr, data, enable})` and `.read(name, {addr})` (RAM
 * with registered read), `m.instance(name, child, {port: expr}, {PARAM: value})` with `.out(port)`,
 * `m.parameter(name, {type, default})` (a Verilog parameter: widths come from its declared range), `concat`, `select`,
 * `sum` (balanced adder tree), `.slice/.bit/.asBits`, bitwise and reductions on unsigned values.
 * `signal.describe(text)` / `instance.describe(text)` put a comment above it in the Verilog. Operations are
 * hash-consed: building the same operation on the same operands twice gives one node (one wire, one adder).
 */
export { HdlError, type BitType, type Interval, interval, typeOfInterval, rangeOfType, contains, formatInterval, formatType, toBits, fromBits } from './interval.js';
export { Expr, Signal, type ExprLike, type ExprNode, type CompareKind, type BitwiseKind, type SignalKind, constant, lift, mux, concat, select, sum, maxTree } from './expr.js';
export {
  Module,
  Wire,
  Input,
  Param,
  Reg,
  Memory,
  MemReadPort,
  Instance,
  InstanceOutput,
  type RegOptions,
  type TypeSpec,
  u,
  s,
  range,
  intervalOf,
} from './module.js';
export { checkModule, findProblems, operands, signalsRead, combinationalInputs } from './check.js';
export { Simulator } from './evaluate.js';
export { CompiledSimulator } from './compiled.js';
export { designCosts, addCosts, costFiguresOf, ZERO_COSTS, type CostFigures, type DesignCosts } from './stats.js';
