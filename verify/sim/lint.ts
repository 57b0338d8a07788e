/** `verilator --lint-only -Wall`: the lint gate every emitted design must pass without waivers. */
import { type SourceFile, withSourcePaths } from './files.js';
import { runTool } from './tools.js';

/**
 * Lint `files` with `top` as the top module. Returns every diagnostic (warnings and errors), one
 * string per message (its first line, file names relative); an empty list means clean.
 */
export async function lint(files: readonly SourceFile[], top: string): Promise<string[]> {
  return withSourcePaths(files, async (paths, dir) => {
    const r = await runTool('verilator', ['--lint-only', '-Wall', '--top-module', top, ...paths], { cwd: dir });
    const messages = r.stderr
      .split('\n')
      .filter((l) => /^%(Warning|Error)/.test(l))
      .map((l) => l.split(`${dir}/`).join(''));
    if (r.exitCode !== 0 && messages.length === 0) messages.push(`%Error: verilator exited with ${r.exitCode}: ${r.stderr.trim().slice(0, 500)}`);
    return messages;
  });
}
