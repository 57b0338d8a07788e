/** Option parsing shared by the commands. */
import { badInput } from '../common/errors.js';

/** An integer flag in [min, max], or undefined when absent; anything else is refused naming the flag. */
export function optionalInt(text: string | undefined, flag: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) throw badInput(`${flag} ${text}: expected an integer from ${min} to ${max}`);
  return value;
}
