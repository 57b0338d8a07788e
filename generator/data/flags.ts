import { badInput } from '../common/errors.js';

/**
 * Parses a command-line list of numbers such as `--mean 0.485,0.456,0.406` or `--scale 1/255`
 * (a fraction is accepted because pixel scales are usually written that way).
 */
export function parseNumberList(text: string, flag: string): number[] {
  const values = text.split(',').map((part) => parseNumber(part.trim()));
  if (values.length === 0 || values.some((v) => v === undefined)) {
    throw badInput(`${flag} ${text}: expected a number or a comma-separated list of numbers (e.g. 0.5 or 0.485,0.456,0.406 or 1/255).`);
  }
  return values as number[];
}

function parseNumber(text: string): number | undefined {
  const fraction = /^([^/]+)\/([^/]+)$/.exec(text);
  if (fraction) {
    const [num, den] = [parseNumber(fraction[1] as string), parseNumber(fraction[2] as string)];
    return num === undefined || den === undefined || den === 0 ? undefined : num / den;
  }
  if (text === '' || !/^[-+]?(\d+\.?\d*|\.\d+)(e[-+]?\d+)?$/i.test(text)) return undefined;
  return Number(text);
}
