/**
 * The flags of the bench and study scripts (`npm run bench:* -- FLAGS`), read one way: node:util parseArgs
 * in strict mode, so a misspelt or unknown flag, a flag without its value or a value that is not a number is
 * one clear message with the script's usage and exit 2 rather than a run with the flag silently ignored.
 */
import { parseArgs } from 'node:util';

type FlagKind = 'boolean' | 'string' | 'number';

interface Parsed<S extends Record<string, FlagKind>> {
  readonly flags: { readonly [K in keyof S]: S[K] extends 'boolean' ? boolean : S[K] extends 'number' ? number | undefined : string | undefined };
  readonly positionals: readonly string[];
}

function refuse(usage: string, message: string): never {
  process.stderr.write(`${message}\nusage: ${usage}\n`);
  process.exit(2);
}

/** Reads process.argv against `spec` (flag name without dashes -> kind); positionals only where allowed. */
export function scriptArgs<S extends Record<string, FlagKind>>(usage: string, spec: S, options: { positionals?: boolean } = {}): Parsed<S> {
  const config = Object.fromEntries(Object.entries(spec).map(([name, kind]) => [name, { type: kind === 'boolean' ? 'boolean' as const : 'string' as const }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: process.argv.slice(2), options: config, strict: true, allowPositionals: options.positionals === true });
  } catch (err) {
    refuse(usage, err instanceof Error ? err.message : String(err));
  }
  const flags: Record<string, boolean | number | string | undefined> = {};
  for (const [name, kind] of Object.entries(spec)) {
    const value = parsed.values[name];
    if (kind === 'boolean') flags[name] = value === true;
    else if (kind === 'number' && typeof value === 'string') {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n)) refuse(usage, `--${name} ${value}: not a number`);
      flags[name] = n;
    } else flags[name] = typeof value === 'string' ? value : undefined;
  }
  return { flags: flags as Parsed<S>['flags'], positionals: parsed.positionals };
}
