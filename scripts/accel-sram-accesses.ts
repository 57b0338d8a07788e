/**
 * `npx tsx scripts/accel-sram-accesses.ts DIR [--images N] [--cycles C] [--json]`: the SRAM macro accesses of an
 * accelerator design (`fixynn generate ... --fixed-layers 0 --accel RxC`), counted in an RTL simulation.
 *
 * Every memory of at least MACRO_MIN_BITS bits is a macro in the ASIC flow, and each of its RTL read and write
 * ports becomes a macro port whose enable is the RTL port's (Yosys merges a read port's enable into the
 * `$mem_v2` RD_EN; a port without one reads every clock). So the design's own Icarus run (verifyAccelDesign,
 * bit-exact against the ISA simulator) with a counter module beside the testbench counts, per port, the clock
 * edges with the enable high while the accelerator is busy: what the gate-level run's macro models count
 * (templates/synth-sram-sim.v.hbs), without the netlist. `--cycles C` counts only the program's first C clocks
 * of each run (docs/synthesis.md's partial gate-level window: 16,670, layers 0..2 of one digit). Accesses of a
 * W-bit port are ceil(W / 32) words, priced at the macro model's 4.60 pJ per word (sram-model.ts).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readDesign } from '../generator/design/read-design.js';
import { verifyAccelDesign } from '../verify/accel/verify-design.js';
import { macroAccessPj } from '../verify/synth/sram-model.js';
import { type RtlMacroPort, rtlMacroPorts } from '../verify/synth/sram-sim.js';
import { scriptArgs } from './args.js';

const USAGE = 'npx tsx scripts/accel-sram-accesses.ts DIR [--images N] [--cycles C] [--json]';
const { flags, positionals } = scriptArgs(USAGE, { images: 'number', cycles: 'number', json: 'boolean' }, { positionals: true });
const [dir] = positionals;
const images = flags.images ?? 1;
const cycles = flags.cycles ?? 0;
const json = flags.json;
if (dir === undefined || positionals.length > 1 || ![images, cycles].every((v) => Number.isSafeInteger(v) && v >= 0)) {
  console.error(`one design folder, whole numbers for --images and --cycles\nusage: ${USAGE}`);
  process.exit(2);
}

/** The counter module: per port, clock edges with its enable high while `busy` (and within the first C clocks). */
function counterModule(ports: readonly RtlMacroPort[], dut: string): string {
  const lines = ports.map((p, i) => `      if (${p.enable === null ? "1'b1" : `${dut}.${p.enable}`}) n[${i}] = n[${i}] + 1;`);
  return `module fixynn_sram_counts;
  integer n [0:${ports.length - 1}];
  integer i, fd, limit;
  reg [8*512-1:0] file;
  initial begin
    for (i = 0; i < ${ports.length}; i = i + 1) n[i] = 0;
    if (!$value$plusargs("count_cycles=%d", limit)) limit = 0;
    if (!$value$plusargs("count_file=%s", file)) file = "sram-counts.txt";
    fd = $fopen(file, "w");
  end
  always @(posedge ${dut}.clk)
    if (${dut}.busy && (limit == 0 || ${dut}.cycles < limit)) begin
${lines.join('\n')}
    end
  // Cumulative counts at the end of every run.
  always @(negedge ${dut}.busy) begin
    for (i = 0; i < ${ports.length}; i = i + 1) $fwrite(fd, "%0d ", n[i]);
    $fwrite(fd, "\\n");
    $fflush(fd);
  end
endmodule
`;
}

const design = readDesign(path.resolve(dir));
const top = design.manifest.rtl.map((f) => design.pathOf(f)).find((f) => path.basename(f) === 'fixynn_accel.v');
if (top === undefined) throw new Error(`${dir}: no rtl/fixynn_accel.v: not an accelerator design (fixynn generate --fixed-layers 0 --accel RxC)`);
const { widths, ports } = rtlMacroPorts(readFileSync(top, 'utf8'));
const work = mkdtempSync(path.join(tmpdir(), 'fixynn-sram-counts-'));
try {
  const file = path.join(work, 'counts.txt');
  const summary = await verifyAccelDesign(design.dir, {
    simulator: 'icarus', images,
    extraRoots: [{ module: 'fixynn_sram_counts', text: counterModule(ports, 'fixynn_accel_tb.dut') }],
    plusargs: [`+count_file=${file}`, `+count_cycles=${cycles}`],
    ...(json ? {} : { onProgress: (m: string) => process.stderr.write(`${m}\n`) }),
  });
  if (summary.rtlMismatches !== 0 || summary.isaMismatches !== 0 || summary.fault !== null) throw new Error(`the run was not bit-exact: ${summary.rtlFirst ?? summary.fault ?? 'ISA mismatch'}`);
  const rows = readFileSync(file, 'utf8').trim().split('\n');
  const last = (rows[rows.length - 1] ?? '').trim().split(/\s+/).map(Number);
  const perPort = ports.map((p, i) => {
    const edges = last[i] ?? NaN;
    const width = widths.get(p.memory)!;
    return { ...p, width, edges, words: edges * Math.ceil(width / 32), pj: edges * macroAccessPj(width) };
  });
  const sum = (kind: 'read' | 'write', key: 'words' | 'pj'): number => perPort.filter((p) => p.kind === kind).reduce((a, p) => a + p[key], 0);
  const result = {
    design: design.dir, images, cycles: cycles === 0 ? 'whole run' : cycles, measuredCycles: summary.totalCycles.measured,
    ports: perPort, readWords: sum('read', 'words'), writeWords: sum('write', 'words'), readNj: sum('read', 'pj') / 1000, writeNj: sum('write', 'pj') / 1000,
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else {
    console.log(`${design.dir}: ${images} image(s), ${cycles === 0 ? 'every busy clock' : `the first ${cycles} clocks of each run`}, bit-exact (measured ${summary.totalCycles.measured} cycles)`);
    for (const p of perPort) console.log(`  ${p.memory.padEnd(8)} ${p.kind.padEnd(5)} ${p.name.padEnd(18)} enable ${(p.enable ?? '(none)').padEnd(22)} ${String(p.edges).padStart(9)} x ${Math.ceil(p.width / 32)} words`);
    console.log(`  reads ${result.readWords} words (${result.readNj.toFixed(1)} nJ), writes ${result.writeWords} words (${result.writeNj.toFixed(1)} nJ) at ${macroAccessPj(32).toFixed(2)} pJ per word`);
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
