/**
 * `fixynn inspect model.onnx [--json]`: the imported network, one row per layer (index, name, op, input
 * and output shape, parameters, nonzero weights, MACs), totals, and the valid split points for
 * `--fixed-layers`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { badInput } from '../common/errors.js';
import { checkOutputFolder } from '../common/output-path.js';
import type { Layer, LayerGraph } from '../graph/ir.js';
import { printOpGraph } from '../graph/op-graph-check.js';
import { formatNumber, printLayerGraph } from '../graph/print.js';
import { NOTHING_FIXED_REASON, splitPoints, type SplitPoint } from '../graph/split.js';
import { layerStats, totalStats, type LayerStats } from '../graph/stats.js';
import { importModel } from '../import/index.js';

export interface InspectRow extends LayerStats {
  readonly index: number;
  readonly name: string;
  readonly op: string;
  readonly inputShapes: ReadonlyArray<readonly number[]>;
  readonly outputShape: readonly number[];
}

export interface InspectReport {
  readonly file: string;
  readonly sha256: string;
  readonly input: { readonly name: string; readonly shape: readonly number[]; readonly preprocess: { readonly scale: readonly number[]; readonly offset: readonly number[] } };
  readonly output: { readonly name: string; readonly shape: readonly number[] };
  readonly modelOutput: string;
  readonly softmaxOutside: boolean;
  readonly quantized: boolean;
  readonly layers: readonly InspectRow[];
  readonly totals: LayerStats;
  readonly splitPoints: readonly SplitPoint[];
}

/** A short op description: conv / dwconv / gconv with kernel and stride (and dilation), gemm, pools, add. */
export function describeOp(graph: LayerGraph, layer: Layer): string {
  const a = 'activation' in layer ? layer.activation : { kind: 'none' as const };
  const act = a.kind === 'none' ? '' : a.kind === 'relu' ? '+relu' : a.kind === 'clip' ? `+clip(${a.min},${a.max})` : '+leaky';
  switch (layer.kind) {
    case 'conv': {
      const channels = graph.tensors.get(layer.inputs[0] ?? '')?.shape[0];
      const depthwise = layer.group > 1 && layer.group === channels && layer.weights.shape[0] === channels;
      const kind = layer.group === 1 ? 'conv' : depthwise ? 'dwconv' : `gconv/${layer.group}`;
      const dilated = layer.dilation.every((d) => d === 1) ? '' : ` d${layer.dilation.join('x')}`;
      return `${kind} ${layer.kernel.join('x')}/${layer.stride.join('x')}${dilated}${act}`;
    }
    case 'gemm': return `gemm${act}`;
    case 'maxpool':
    case 'avgpool': return `${layer.kind} ${layer.kernel.join('x')}/${layer.stride.join('x')}${layer.dilation.every((d) => d === 1) ? '' : ` d${layer.dilation.join('x')}`}`;
    case 'globalavgpool': return 'globalavgpool';
    case 'add': return `add${act}`;
  }
}

export function inspectReport(graph: LayerGraph): InspectReport {
  const shapeOf = (name: string): readonly number[] => graph.tensors.get(name)?.shape ?? [];
  const layers = graph.layers.map((layer) => ({
    index: layer.index,
    name: layer.name,
    op: describeOp(graph, layer),
    inputShapes: layer.inputs.map(shapeOf),
    outputShape: shapeOf(layer.output),
    ...layerStats(graph, layer),
  }));
  return {
    file: graph.source.file,
    sha256: graph.source.sha256,
    input: { name: graph.input.name, shape: graph.input.shape, preprocess: graph.input.preprocess },
    output: { name: graph.output, shape: shapeOf(graph.output) },
    modelOutput: graph.modelOutput,
    softmaxOutside: graph.softmaxOutside,
    quantized: graph.quantized,
    layers,
    totals: totalStats(graph),
    splitPoints: splitPoints(graph),
  };
}

function isIdentity(p: { readonly scale: readonly number[]; readonly offset: readonly number[] }): boolean {
  return p.scale.every((v) => v === 1) && p.offset.every((v) => v === 0);
}

function pad(text: string, width: number, right = false): string {
  return right ? text.padStart(width) : text.padEnd(width);
}

export function formatInspectTable(report: InspectReport): string {
  const shape = (s: readonly number[]): string => s.join('x');
  const header = ['#', 'name', 'op', 'input', 'output', 'params', 'nonzero', 'MACs'];
  const rows = report.layers.map((l) => [String(l.index), l.name, l.op, l.inputShapes.map(shape).join(' + '), shape(l.outputShape), String(l.parameters), String(l.nonzeroWeights), String(l.macs)]);
  const totals = ['', 'total', '', '', '', String(report.totals.parameters), String(report.totals.nonzeroWeights), String(report.totals.macs)];
  const all = [header, ...rows, totals];
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  const numeric = new Set([0, 5, 6, 7]);
  const line = (r: string[]): string => r.map((cell, c) => pad(cell, widths[c] ?? 0, numeric.has(c))).join('  ').trimEnd();
  const notes = [
    `${report.file}: ${report.layers.length} layers, input ${report.input.name} [${report.input.shape.join(',')}], output ${report.output.name} [${report.output.shape.join(',')}]${report.output.name === report.modelOutput ? '' : ` (model output "${report.modelOutput}")`}${report.quantized ? ', quantized (QDQ)' : ''}`,
    ...(isIdentity(report.input.preprocess) ? [] : [`input preprocessing found in the model: x * [${report.input.preprocess.scale.map(formatNumber).join(', ')}] + [${report.input.preprocess.offset.map(formatNumber).join(', ')}] per channel`]),
    ...(report.softmaxOutside ? ['the final Softmax stays outside the hardware: the chip returns the scores before it'] : []),
  ];
  const generated = report.splitPoints.filter((p) => p.k > 0);
  const splits = `valid split points (--fixed-layers K): ${generated.map((p) => p.k).join(', ') || 'none'}`;
  const nothingFixed = report.splitPoints.some((p) => p.k === 0) ? [`(and 0: ${NOTHING_FIXED_REASON})`] : [];
  return [...notes, '', line(header), ...rows.map(line), line(totals), '', splits, ...nothingFixed, ''].join('\n');
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description('import an ONNX model and list its layers, parameters, MACs and valid split points')
    .argument('<model>', 'the .onnx model')
    .option('--json', 'print the report as JSON')
    .option('--dump-after <dir>', 'write the op graph after each import pass and the final layer graph as text files into <dir>')
    .action((model: string, options: { json?: boolean; dumpAfter?: string }) => {
      const graph = options.dumpAfter ? importWithDumps(model, options.dumpAfter) : importModel(model);
      const report = inspectReport(graph);
      process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : formatInspectTable(report));
    });
}

/** Import, writing NN-<pass>.txt after every op-graph pass and layers.txt at the end (the FINN habit). */
function importWithDumps(model: string, dir: string): LayerGraph {
  checkOutputFolder(dir, '--dump-after');
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw badInput(`--dump-after ${dir}: cannot create the folder (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let step = 0;
  const graph = importModel(model, {
    afterPass: (pass, opGraph) => writeFileSync(join(dir, `${String(step++).padStart(2, '0')}-${pass}.txt`), printOpGraph(opGraph)),
  });
  writeFileSync(join(dir, `${String(step).padStart(2, '0')}-layers.txt`), printLayerGraph(graph));
  return graph;
}
