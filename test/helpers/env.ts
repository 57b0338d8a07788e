/**
 * The test suite's switches from the environment, parsed in one place:
 * - FIXYNN_FULL=1 (npm run test:full): the full acceptance counts; unset, empty or 0: npm test's counts;
 * - FIXYNN_<NAME>=N: one count set by hand (e.g. FIXYNN_RANDOM_NETWORKS=5);
 * - FIXYNN_REQUIRE_MODELS=1 (.ci/run): tests of ../shared/models fail where it is absent (models.ts).
 * Anything else in a switch is an error naming it, never a silent guess.
 */

/** A yes/no switch: 1/true/yes on, 0/false/no/empty/unset off. */
export function envSwitch(name: string): boolean {
  const value = (process.env[name] ?? '').trim().toLowerCase();
  if (['1', 'true', 'yes'].includes(value)) return true;
  if (['', '0', 'false', 'no'].includes(value)) return false;
  throw new Error(`${name}=${process.env[name]}: expected 1 (on) or 0 (off)`);
}

export const FULL = envSwitch('FIXYNN_FULL');

/** A count: FIXYNN_<NAME> from the environment (a positive integer), else the full or the small figure. */
export function count(name: string, full: number, small: number): number {
  const text = process.env[`FIXYNN_${name}`];
  if (text === undefined || text.trim() === '') return FULL ? full : small;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`FIXYNN_${name}=${text}: expected a positive integer`);
  return value;
}
