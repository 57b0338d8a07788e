/**
 * The import rules of fixynn, checked by dependency-cruiser in `npm test` (test/imports.test.ts).
 *
 * Data flows one way. Each stage below names the stages it reads (its arrows); it may import those and,
 * through them, everything they read, and nothing else. The README's "How it is built" draws the same
 * arrows. Besides the stages: no cycle between files or between folders (a folder that imports a folder
 * that imports it back), type-only imports included; entry points (scripts/, test/, examples/) may
 * import anything, and nothing imports them.
 */
const stages = {
  // errors, version, the seeded random generator: leaves that every stage may use
  common: { path: '^generator/common/', reads: [] },
  data: { path: '^generator/data/', reads: ['common'] },
  onnx: { path: '^generator/onnx/', reads: ['common'] },
  graph: { path: '^generator/graph/', reads: ['onnx'] },
  import: { path: '^generator/import/', reads: ['graph'] },
  quant: { path: '^generator/quant/', reads: ['graph'] },
  golden: { path: '^generator/golden/', reads: ['quant'] },
  calibrate: { path: '^generator/calibrate/', reads: ['golden', 'onnx'] },
  // the one stream type and protocol joining the parts, the top and the verifier
  contract: { path: '^generator/contract/', reads: ['quant'] },
  hdl: { path: '^generator/hdl/', reads: ['common'] },
  arith: { path: '^generator/arith/', reads: ['hdl'] },
  ffe: { path: '^generator/ffe/', reads: ['arith', 'contract'] },
  emit: { path: '^generator/emit/', reads: ['hdl'] },
  accel: { path: '^generator/accel/', reads: ['ffe', 'emit', 'golden'] },
  design: { path: '^generator/design/', reads: ['data', 'import', 'calibrate', 'ffe', 'emit', 'accel'] },
  // simulator runs of a design folder; synth/: its hand-off scripts run (Yosys, OpenSTA, nextpnr), netlists
  // simulated gate-level against the integer model
  verify: { path: '^verify/', reads: ['design'] },
  cli: { path: '^generator/(cli\\.ts$|commands/)', reads: ['verify'] },
};

/** Every stage a stage may import: its own arrows, followed. */
function reachable(name, seen = new Set()) {
  for (const next of stages[name].reads) {
    if (!seen.has(next)) {
      seen.add(next);
      reachable(next, seen);
    }
  }
  return seen;
}

const everyStage = Object.values(stages).map((s) => s.path);

const stageRules = Object.entries(stages).map(([name, stage]) => {
  const allowed = [stage.path, ...[...reachable(name)].map((s) => stages[s].path)];
  return {
    name: `stage-${name}`,
    comment: `${name} reads only ${[...reachable(name)].join(', ') || 'itself'} (see the arrows in .dependency-cruiser.cjs)`,
    severity: 'error',
    from: { path: stage.path },
    to: { path: everyStage, pathNot: allowed },
  };
});

module.exports = {
  forbidden: [
    ...stageRules,
    {
      name: 'golden-apart',
      comment: 'the integer model checks the hardware generators, so neither imports the other',
      severity: 'error',
      from: { path: '^generator/golden/' },
      to: { path: '^generator/(hdl|arith|ffe|emit)/' },
    },
    {
      name: 'accel-rtl-apart',
      comment: 'the accelerator RTL is checked against the integer model, so it does not import it',
      severity: 'error',
      from: { path: '^generator/accel/rtl/' },
      to: { path: '^generator/golden/' },
    },
    {
      name: 'not-from-entry-points',
      comment: 'scripts, tests and examples are entry points: the generator and the verifier never import them',
      severity: 'error',
      from: { path: '^(generator|verify)/' },
      to: { path: '^(scripts|test|examples)/' },
    },
    {
      name: 'unknown-folder',
      comment: 'every file of generator/ and verify/ belongs to a stage of the rules (add a new folder to them)',
      severity: 'error',
      from: { path: '^(generator|verify)/', pathNot: everyStage },
      to: {},
    },
    {
      name: 'no-cycles',
      comment: 'no file imports a file that imports it back (type-only imports count)',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycles',
      comment: 'no folder imports a folder that imports it back',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
    // Read the TypeScript itself, so that type-only imports are seen (a transpiled file drops them).
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.js'] },
  },
};
