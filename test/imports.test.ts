/**
 * The import rules (.dependency-cruiser.cjs): stages import only the stages their arrows name, no cycle
 * between files or folders, type-only imports included. dependency-cruiser checks them; its report names
 * the rule and the offending import.
 */
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const repo = path.join(import.meta.dirname, '..');

describe('imports', () => {
  it('follow the rules of .dependency-cruiser.cjs (one-way stages, no cycles)', async () => {
    const bin = path.join(repo, 'node_modules', '.bin', 'depcruise');
    const run = await execa(bin, ['--config', '.dependency-cruiser.cjs', '--output-type', 'err', 'generator', 'verify', 'scripts', 'test', 'examples'], { cwd: repo, reject: false });
    expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/no dependency violations found \(\d+ modules/);
  });
});
