/** The README's command table lists every option `fixynn COMMAND --help` shows, and no other. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../generator/cli.js';

async function helpOf(command: string): Promise<string> {
  let text = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array) => { text += String(chunk); return true; }) as typeof process.stdout.write;
  try { await main(['node', 'fixynn', command, '--help']); } finally { process.stdout.write = write; }
  return text;
}

describe('README command table', () => {
  const readme = readFileSync('README.md', 'utf8');
  for (const command of ['inspect', 'eval', 'generate', 'verify', 'sweep', 'report']) {
    it(`lists every option of fixynn ${command}`, async () => {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`fixynn ${command} `));
      expect(row, `a README row for ${command}`).toBeDefined();
      const options = (help: string): string[] => [...help.matchAll(/^\s+(--[a-z][a-z-]*)/gm)].map((m) => m[1] as string).filter((o) => o !== '--help').sort();
      const listed = [...(row as string).split(' | ')[0]!.matchAll(/(--[a-z][a-z-]*)/g)].map((m) => m[1] as string).sort();
      expect([...new Set(listed)]).toEqual(options(await helpOf(command)));
    });
  }
});
