/**
 * The report's charts: Vega-Lite specifications compiled to Vega and rendered to an SVG string in Node
 * (`View.toSVG()` with the headless renderer 'none'): no DOM, no browser, no network (the data are inline), so
 * the page carries finished inline SVG and needs no script to show them. Vega(-Lite) is the University of
 * Washington IDL's grammar of graphics, maintained and released regularly; hand-drawn SVG would have to
 * re-implement its scales, axes, ticks and legends.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type Row = Readonly<Record<string, string | number>>;

const CONFIG = { font: 'sans-serif', axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } };

/** Renders one Vega-Lite specification (data inline) to an SVG string. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const vg = compile({ ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec).spec;
  const view = new vega.View(vega.parse(vg), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const WIDTH = 420;
const HEIGHT = 220;

/** One line per series over K, with points (e.g. energy per image of each side). */
export function lineOverK(rows: readonly Row[], y: { field: string; title: string }, series?: { field: string; title: string }, logScale = false): TopLevelSpec {
  return {
    width: WIDTH, height: HEIGHT, data: { values: rows as Row[] },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'K', type: 'ordinal', title: 'K (fixed layers)', axis: { labelAngle: 0 } },
      y: { field: y.field, type: 'quantitative', title: y.title, ...(logScale ? { scale: { type: 'log' } } : {}) },
      ...(series ? { color: { field: series.field, type: 'nominal', title: series.title } } : {}),
    },
  } as TopLevelSpec;
}

/** Stacked bars over K (e.g. area of the fixed part and of the accelerator). */
export function stackedOverK(rows: readonly Row[], y: { field: string; title: string }, series: { field: string; title: string }): TopLevelSpec {
  return {
    width: WIDTH, height: HEIGHT, data: { values: rows as Row[] },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'K', type: 'ordinal', title: 'K (fixed layers)', axis: { labelAngle: 0 } },
      y: { field: y.field, type: 'quantitative', title: y.title, stack: 'zero' },
      color: { field: series.field, type: 'nominal', title: series.title },
    },
  } as TopLevelSpec;
}

/** One bar per layer, coloured by the side that runs it (the network and its split). */
export function layerBars(rows: readonly Row[], y: { field: string; title: string }): TopLevelSpec {
  return {
    width: Math.max(WIDTH, 18 * rows.length), height: HEIGHT, data: { values: rows as Row[] },
    mark: { type: 'bar' },
    encoding: {
      x: { field: 'layer', type: 'ordinal', title: 'layer', sort: null, axis: { labelAngle: 0 } },
      y: { field: y.field, type: 'quantitative', title: y.title },
      color: { field: 'side', type: 'nominal', title: 'runs on' },
      tooltip: [{ field: 'name', type: 'nominal' }, { field: y.field, type: 'quantitative' }],
    },
  } as TopLevelSpec;
}
