/**
 * Simulator runs started by a small shell that fixynn starts once per verification, not by fixynn's own
 * process. A fork write-protects every page the forking process has written, and each page it writes
 * afterwards takes a page fault: fixynn verify rewrites its read buffers and packed bytes for every run
 * (about 170 kB per example digit), and a fault costs about 16 us on the machine these figures come from
 * (100 MB rewritten after one spawn: 440 CPU ms, against 3 ms without the spawn). The shell's forks
 * touch none of fixynn's pages. Results as verify/sim's runToolMeasured gives them (exit code, output,
 * CPU seconds from GNU time where it is installed).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { MeasuredResult } from '../sim/index.js';

const GNU_TIME = '/usr/bin/time';

/** One command per two lines (an id, then the command), each run in the background; "<id> <exit code>" when it ends. */
const LOOP = 'while IFS= read -r id && IFS= read -r command; do ( eval "$command"; echo "$id $?" ) & done';

export class Spawner {
  private readonly shell: ChildProcess;
  private readonly waiting = new Map<number, { readonly resolve: (code: number) => void; readonly reject: (e: Error) => void }>();
  private nextId = 0;
  private pending = '';
  private failure: Error | undefined;

  constructor() {
    this.shell = spawn('/bin/sh', ['-c', LOOP], { stdio: ['pipe', 'pipe', 'inherit'] });
    this.shell.stdout?.setEncoding('utf8');
    this.shell.stdout?.on('data', (chunk: string) => {
      this.pending += chunk;
      for (let nl = this.pending.indexOf('\n'); nl >= 0; nl = this.pending.indexOf('\n')) {
        const [id, code] = this.pending.slice(0, nl).split(' ').map(Number);
        this.pending = this.pending.slice(nl + 1);
        const run = this.waiting.get(id as number);
        if (run === undefined) continue;
        this.waiting.delete(id as number);
        run.resolve(code as number);
      }
    });
    this.shell.on('error', (err) => this.fail(err));
    this.shell.on('exit', (code) => this.fail(new Error(`the shell that starts the simulator runs exited (code ${code})`)));
  }

  /** `tool args` in `cwd` (its output kept in cwd as sim.stdout and sim.stderr), measured as runToolMeasured measures. */
  async run(tool: string, args: readonly string[], cwd: string): Promise<MeasuredResult> {
    if (this.failure !== undefined) throw this.failure;
    const timed = existsSync(GNU_TIME);
    const argv = timed ? [GNU_TIME, '-f', '%U %S %M', '-o', 'time.txt', tool, ...args] : [tool, ...args];
    const words = [cwd, ...argv];
    const bad = words.find((w) => w.includes('\n') || w.includes('\0'));
    if (bad !== undefined) throw new Error(`internal: a simulator argument holds a line break: ${JSON.stringify(bad)}`);
    const command = `cd ${quote(cwd)} && ${argv.map(quote).join(' ')} >sim.stdout 2>sim.stderr`;
    const id = this.nextId++;
    const exitCode = await new Promise<number>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.shell.stdin?.write(`${id}\n${command}\n`);
    });
    const text = (name: string): string => (existsSync(path.join(cwd, name)) ? readFileSync(path.join(cwd, name), 'utf8') : '');
    // After a failing command GNU time writes "Command exited with non-zero status N" first: the figures are the last line.
    const [user, system, kb] = (timed ? text('time.txt').trim().split('\n').pop() ?? '' : '').split(' ').map(Number);
    const known = (x: number | undefined): x is number => x !== undefined && Number.isFinite(x);
    return {
      exitCode, stdout: text('sim.stdout'), stderr: text('sim.stderr'),
      cpuSeconds: known(user) && known(system) ? user + system : null, peakMemoryKb: known(kb) ? kb : null,
    };
  }

  /** Ends the shell once the runs it started have ended (each run is awaited by its caller). */
  close(): void {
    this.shell.removeAllListeners('exit');
    this.shell.stdin?.end();
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const run of this.waiting.values()) run.reject(this.failure);
    this.waiting.clear();
  }
}

/** A word for the shell: in single quotes, each quote in it closed, escaped and reopened. */
function quote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}
