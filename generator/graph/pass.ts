/** A pass is a plain typed function from one immutable stage to the next; pipelines are arrays of them. */
export type Pass<I, O> = (input: I) => O;

/** Run same-typed passes in order; `after` sees every intermediate result (checks, --dump-after). */
export function runPasses<T>(input: T, passes: ReadonlyArray<{ readonly name: string; readonly run: Pass<T, T> }>, after?: (name: string, result: T) => void): T {
  let current = input;
  for (const pass of passes) {
    current = pass.run(current);
    after?.(pass.name, current);
  }
  return current;
}
