/**
 * `npm run bench:conformance`: `fixynn inspect` over every model of Debian's libonnx-testdata (the ONNX
 * project's conformance models), in one process. Each run must end with exit 0 or 2 and, on 2, one line on
 * stderr; anything else (a crash, an exception, several lines) is counted and listed. Prints the accepted
 * count and, with --list, each model's outcome.
 */
import { execFileSync } from 'node:child_process';
import { main } from '../generator/cli.js';
import { scriptArgs } from './args.js';

const { list } = scriptArgs('npm run bench:conformance [-- --list]', { list: 'boolean' }).flags;
const files = execFileSync('dpkg', ['-L', 'libonnx-testdata'], { encoding: 'utf8' })
  .split('\n')
  .filter((f) => f.endsWith('/model.onnx'))
  .sort();
if (files.length === 0) throw new Error('libonnx-testdata is not installed (bash scripts/setup-tools.sh)');

let accepted = 0;
let refused = 0;
const broken: string[] = [];
const out = process.stdout.write.bind(process.stdout);
const err = process.stderr.write.bind(process.stderr);
for (const file of files) {
  let stderr = '';
  process.stdout.write = () => true;
  process.stderr.write = (chunk: string | Uint8Array) => ((stderr += String(chunk)), true);
  let code: number | string;
  try {
    code = await main(['node', 'fixynn', 'inspect', file]);
  } catch (e) {
    code = `crash: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const name = file.replace(/^.*\/data\//, '').replace(/\/model\.onnx$/, '');
  const oneLine = stderr.trim().split('\n').length === 1;
  if (code === 0) accepted++;
  else if (code === 2 && oneLine) refused++;
  else broken.push(`${name}: ${code} ${stderr.trim()}`);
  if (list) out(`${name}\t${code === 0 ? 'accepted' : stderr.trim()}\n`);
}
out(`${files.length} models: ${accepted} accepted, ${refused} refused (exit 2, one line), ${broken.length} otherwise\n`);
for (const b of broken) out(`  ${b}\n`);
process.exitCode = broken.length === 0 ? 0 : 1;
