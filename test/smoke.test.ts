import { describe, expect, it } from 'vitest';
import { main } from '../generator/cli.js';

describe('cli', () => {
  it('answers --help with exit 0 and an unknown flag with exit 2', async () => {
    expect(await main(['node', 'fixynn', '--help'])).toBe(0);
    expect(await main(['node', 'fixynn', '--no-such-flag'])).toBe(2);
  });
});
