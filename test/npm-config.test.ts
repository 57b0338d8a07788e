/**
 * The project's npm settings: no setting npm does not know (npm warned "Unknown project config
 * onnxruntime-node-install" on every npm and npx call), and no dependency install script that would
 * download GPU binaries. A fresh `npm ci` still gives a working ONNX Runtime because its CPU binaries
 * ship inside the onnxruntime-node package; test/eval runs them.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('npm settings', () => {
  it('npm reads .npmrc without a warning, and skips dependency install scripts', () => {
    const value = execFileSync('npm', ['config', 'get', 'ignore-scripts'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(value.trim()).toBe('true');
    const both = execFileSync('bash', ['-c', 'npm config get ignore-scripts 2>&1'], { encoding: 'utf8' });
    expect(both).not.toMatch(/Unknown project config|npm warn/);
  });

  it('npm test still runs the tool setup that npm no longer runs as a pretest script', () => {
    const scripts = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['pretest']).toBeUndefined();
    expect(scripts['test']).toMatch(/^bash scripts\/setup-tools\.sh && /);
    // test:full also installs Chromium (the report's browser check): setup-tools reads FIXYNN_FULL.
    expect(scripts['test:full']).toMatch(/^FIXYNN_FULL=1 bash scripts\/setup-tools\.sh && /);
  });
});
