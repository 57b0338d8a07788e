/**
 * Checks of a `fixynn report` page shared by the fast test (the HTML file) and the Chromium test (the DOM
 * Chromium built from it): every chart has drawn marks; every number cell equals the embedded data at the
 * path it names, to the digits it shows.
 */

/** The data the page embeds (`<script type="application/json" id="fixynn-data">`). */
export function embeddedData(html: string): Record<string, unknown> {
  const m = /<script type="application\/json" id="fixynn-data">([\s\S]*?)<\/script>/.exec(html);
  if (m === null) throw new Error('the page embeds no fixynn-data');
  return JSON.parse(m[1] as string) as Record<string, unknown>;
}

export function valueAt(data: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), data);
}

export interface NumberCell { readonly path: string; readonly scale: number; readonly digits: number; readonly text: string }

export function numberCells(html: string): NumberCell[] {
  return [...html.matchAll(/data-path="([^"]+)" data-scale="([^"]+)" data-digits="(\d+)">([^<]*)</g)]
    .map((m) => ({ path: m[1] as string, scale: Number(m[2]), digits: Number(m[3]), text: m[4] as string }));
}

/** Each number cell whose text differs from its data by more than its rounding: one line each. */
export function numberProblems(html: string, data: unknown): string[] {
  return numberCells(html).flatMap((c) => {
    const value = valueAt(data, c.path);
    if (typeof value !== 'number') return [`${c.path}: no number in the data (${JSON.stringify(value)})`];
    const shown = Number(c.text.replace(/,/g, ''));
    const tolerance = 0.5 * 10 ** -c.digits + 1e-9 * Math.abs(value * c.scale);
    return Math.abs(shown - value * c.scale) <= tolerance ? [] : [`${c.path}: the page shows ${c.text}, the data hold ${value} (x ${c.scale})`];
  });
}

/** The charts (`<figure class="chart" id=...>`) and, for each, the drawn marks of its mark groups (paths with geometry). */
export function chartMarks(html: string): Array<{ id: string; marks: number }> {
  return [...html.matchAll(/<figure class="chart" id="([^"]+)">([\s\S]*?)<\/figure>/g)].map((m) => {
    const body = m[2] as string;
    const groups = [...body.matchAll(/<g class="mark-[a-z]+ role-mark[^"]*"[^>]*>([\s\S]*?)<\/g>/g)];
    const marks = groups.reduce((n, g) => n + [...(g[1] as string).matchAll(/<path\b[^>]*\bd="M[^"]+"/g)].length, 0);
    return { id: m[1] as string, marks };
  });
}
