/**
 * The external EDA tools (Verilator, Icarus Verilog, Yosys): running them with clear errors when one is
 * missing, and their versions for reports.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { badInput } from '../../generator/common/errors.js';

export type ToolName = 'verilator' | 'iverilog' | 'vvp' | 'yosys';

const VERSION_ARGS: Record<ToolName, string[]> = {
  verilator: ['--version'],
  iverilog: ['-V'],
  vvp: ['-V'],
  yosys: ['-V'],
};

export interface ToolResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number;
}

/** Run a tool; a missing executable becomes one clear error naming how to install it. */
export async function runTool(
  tool: ToolName | string,
  args: readonly string[],
  options: { cwd?: string; timeoutMs?: number; env?: Readonly<Record<string, string>>; name?: string } = {},
): Promise<ToolResult> {
  try {
    const r = await execa(tool, [...args], {
      reject: false,
      all: false,
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
      timeout: options.timeoutMs ?? 15 * 60_000,
      maxBuffer: 256 * 1024 * 1024,
      stripFinalNewline: false,
    });
    if ((r as { code?: string }).code === 'ENOENT' || (r.failed && r.exitCode === undefined && /ENOENT/.test(String(r.message)))) {
      throw missingTool(tool);
    }
    if (r.timedOut) throw badInput(`${options.name ?? `${tool} ${args.slice(0, 3).join(' ')} ...`} did not finish within ${(options.timeoutMs ?? 900_000) / 1000} s`);
    return { stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? ''), exitCode: r.exitCode ?? -1 };
  } catch (err) {
    if (err instanceof Error && /ENOENT/.test(err.message)) throw missingTool(tool);
    throw err;
  }
}

/** GNU time, where installed: it reports a command's CPU time and the largest resident memory of its processes. */
const GNU_TIME = '/usr/bin/time';

export interface MeasuredResult extends ToolResult {
  /** User + system CPU seconds of the tool and its children; null where GNU time is not installed. */
  readonly cpuSeconds: number | null;
  /** Largest resident memory of one of its processes, kB; null where GNU time is not installed. */
  readonly peakMemoryKb: number | null;
}

/**
 * runTool under GNU time (plainly where it is missing). Callers check the tool is installed first
 * (toolVersion): under GNU time a missing tool is exit code 127, not a clear error. `cwd` receives time.txt.
 */
export async function runToolMeasured(tool: string, args: readonly string[], options: { cwd: string; timeoutMs?: number }): Promise<MeasuredResult> {
  if (!existsSync(GNU_TIME)) return { ...(await runTool(tool, args, options)), cpuSeconds: null, peakMemoryKb: null };
  const report = join(options.cwd, 'time.txt');
  const r = await runTool(GNU_TIME, ['-f', '%U %S %M', '-o', report, tool, ...args], { ...options, name: `${tool} ${args.slice(0, 3).join(' ')} ...` });
  // After a failing command GNU time writes "Command exited with non-zero status N" first: the figures are the last line.
  const [user, system, kb] = (existsSync(report) ? readFileSync(report, 'utf8').trim().split('\n').pop() ?? '' : '').split(' ').map(Number);
  const known = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
  return { ...r, cpuSeconds: known(user) && known(system) ? user + system : null, peakMemoryKb: known(kb) ? kb : null };
}

function missingTool(tool: string): Error {
  const pkg = ({ vvp: 'iverilog', sta: 'opensta', icepack: 'fpga-icestorm' } as Record<string, string>)[tool] ?? tool;
  return badInput(`'${tool}' was not found on PATH; install it (Debian: apt-get install -y ${pkg}) or run scripts/setup-tools.sh`);
}

const versionCache = new Map<string, string>();

/** The first line of a tool's version output, e.g. "Verilator 5.006 2023-01-22 rev (Debian 5.006-3)". */
export async function toolVersion(tool: ToolName): Promise<string> {
  const cached = versionCache.get(tool);
  if (cached !== undefined) return cached;
  const r = await runTool(tool, VERSION_ARGS[tool]);
  const line = tidyVersionLine(`${r.stdout}\n${r.stderr}`.split('\n').find((l) => l.trim() !== '') ?? 'unknown');
  versionCache.set(tool, line);
  return line;
}

/** A version line for reports: Icarus prints an empty "()" where a build tag would be; drop it. */
export function tidyVersionLine(line: string): string {
  return line.replace(/\s*\(\s*\)/g, '').replace(/\s+/g, ' ').trim();
}

/** Versions of every tool that is installed (missing ones are reported as "not installed"). */
export async function toolVersions(): Promise<Record<ToolName, string>> {
  const out = {} as Record<ToolName, string>;
  for (const tool of Object.keys(VERSION_ARGS) as ToolName[]) {
    try {
      out[tool] = await toolVersion(tool);
    } catch {
      out[tool] = 'not installed';
    }
  }
  return out;
}
