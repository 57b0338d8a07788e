/**
 * The text and JSON forms of an evaluation report (`fixynn eval`).
 */
import type { QuantizedGraph } from '../../generator/quant/ir.js';
import type { EvaluationReport } from './evaluate.js';
import { formatMultiplierWidths, multiplierWidths } from '../../generator/quant/print.js';

export interface ReportContext {
  readonly model: string;
  readonly data: string;
  /** True when the inputs are seeded random values (never silently: every report says so). */
  readonly random: boolean;
  readonly calibration: string;
  readonly quantized: QuantizedGraph;
  readonly softmaxOutside: boolean;
}

const pct = (f: number | undefined): string => (f === undefined ? '-' : `${(100 * f).toFixed(2)}%`);
const db = (v: number): string => (v === Infinity ? 'exact' : v.toFixed(1));

/** `--calib-method auto`: how many tensors took each rule, and the output errors it chose by. */
function autoLine(q: ReportContext['quantized']): string[] {
  const chosen = q.calibration?.tensorMethods;
  const errors = q.calibration?.methodErrors;
  if (!chosen || !errors) return [];
  const counts = new Map<string, number>();
  for (const m of Object.values(chosen)) counts.set(m, (counts.get(m) ?? 0) + 1);
  const perRule = [...counts].map(([m, n]) => `${m} ${n}`).join(', ');
  const measured = Object.entries(errors).map(([m, e]) => `${m} ${e.toPrecision(3)}`).join(', ');
  return [`auto ranges: ${perRule} tensor(s); output mean squared error on the second half of the calibration images: ${measured}`];
}

export function formatReportText(report: EvaluationReport, ctx: ReportContext): string {
  const q = ctx.quantized;
  const header = [
    `model: ${ctx.model}`,
    `data: ${ctx.data}${ctx.random ? '  (RANDOM INPUTS: seeded noise, not real data)' : ''}; ${report.images} image(s)`,
    `quantization: ${q.origin === 'qdq' ? `the QDQ model's own scales and zero points${ctx.calibration.includes('ignored') ? ' (--calib ignored)' : ''}` : `calibrated (${q.calibration?.method ?? '?'} ranges, ${q.calibration?.biasCorrection ?? 'no'} bias correction, ${q.calibration?.images ?? 0} image(s) from ${ctx.calibration}), ${q.calibration?.weightBits ?? '?'}-bit weights, ${q.calibration?.actBits ?? '?'}-bit activations`}`,
    ...autoLine(q),
    ...(q.calibration?.tensorBits ? [`wide activations (--wide-acts): ${Object.entries(q.calibration.tensorBits).map(([t, b]) => `${t} ${b}-bit`).join(', ')}`] : []),
    ...(ctx.softmaxOutside ? ['note: the final Softmax is outside the hardware; scores are compared before it'] : []),
    '',
  ];
  const isolated = report.layers.some((l) => l.isolated);
  const byIndex = new Map(q.layers.map((l) => [l.index, l]));
  const widths = (index: number): string => { const l = byIndex.get(index); return l ? formatMultiplierWidths(l) : '-'; };
  const rows = report.layers.map((l) => [
    String(l.index), l.name, l.kind, widths(l.index), db(l.sqnrDb), l.maxAbsDiff.toPrecision(3), l.meanAbsDiff.toPrecision(3), pct(l.within1Lsb), pct(l.exact), String(l.maxLsbDiff),
    ...(isolated ? [pct(l.isolated?.within1Lsb), pct(l.isolated?.exact)] : []),
  ]);
  const head = ['#', 'layer', 'kind', 'M bits', 'SQNR dB', 'max |diff|', 'mean |diff|', '<=1 LSB', 'exact', 'max LSB', ...(isolated ? ['alone <=1', 'alone exact'] : [])];
  const table = formatTable(head, rows);
  const summary = [
    '',
    `top-1 agreement (integer vs ONNX Runtime, strict: lowest index on ties): ${pct(report.top1Agreement)} of ${report.images}, 95% interval ${pct(wilson(report.top1Agreement, report.images).lo)}..${pct(wilson(report.top1Agreement, report.images).hi)}`,
    `chip's answer (argmax of the final accumulators at one scale) vs ONNX Runtime's top-1: ${pct(report.chipAgreement)}`,
    ...(report.tiedAgreements ? [`diagnostic: ${report.tiedAgreements} image(s) agree only if a tied top score counts (${pct(report.top1AgreementTieAware)} tie-aware)`] : []),
    ...(report.floatAccuracy !== undefined ? [`accuracy: ONNX Runtime float ${pct(report.floatAccuracy)}, integer model ${pct(report.integerAccuracy)}`] : []),
    `lowest layer SQNR: ${db(Math.min(...report.layers.map((l) => l.sqnrDb)))} dB`,
    ...(isolated ? ["'alone': each layer run on ONNX Runtime's own input to it (its arithmetic alone, without differences passed on)"] : []),
  ];
  return [...header, table, ...summary].join('\n') + '\n';
}

export function reportJson(report: EvaluationReport, ctx: ReportContext): unknown {
  const finite = (v: number): number | string => (Number.isFinite(v) ? v : String(v));
  return {
    model: ctx.model,
    data: ctx.data,
    random: ctx.random,
    images: report.images,
    quantization: { origin: ctx.quantized.origin, calibration: ctx.quantized.calibration ?? null, calibrationData: ctx.calibration },
    softmaxOutside: ctx.softmaxOutside,
    top1Agreement: report.top1Agreement,
    top1AgreementInterval95: wilson(report.top1Agreement, report.images),
    top1AgreementTieAware: report.top1AgreementTieAware,
    tiedAgreements: report.tiedAgreements,
    chipAgreement: report.chipAgreement,
    floatAccuracy: report.floatAccuracy ?? null,
    integerAccuracy: report.integerAccuracy ?? null,
    layers: report.layers.map((l) => {
      const layer = ctx.quantized.layers.find((x) => x.index === l.index);
      return { ...l, sqnrDb: finite(l.sqnrDb), ...(layer ? { multiplierBits: multiplierWidths(layer) } : {}) };
    }),
  };
}

/** Wilson score interval (95%) of a fraction measured on n images. */
export function wilson(fraction: number, n: number): { lo: number; hi: number } {
  if (n === 0) return { lo: 0, hi: 1 };
  const z = 1.959964;
  const centre = (fraction + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((fraction * (1 - fraction)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

function formatTable(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 1 || i === 2 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(head), ...rows.map(line)].join('\n');
}
