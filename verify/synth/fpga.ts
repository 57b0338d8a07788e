/**
 * FPGA figures. iCE40: the whole design inside an I/O-registering wrapper (templates/synth-ice40-io.v.hbs)
 * through the design's yosys-ice40.tcl and nextpnr-ice40 (Debian) on an iCE40UP5K: LUTs, carries, RAM
 * blocks, DSPs, and the maximum clock after place and route; a design that does not fit is named with the
 * device's limits. Xilinx: resources by kind from synth_xilinx's cells (Yosys only, no place and route).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Handlebars from 'handlebars';
import { badInput, checkFailed } from '../../generator/common/errors.js';
import { renderHeader } from '../../generator/emit/index.js';
import { beatWidth } from '../../generator/contract/stream.js';
import type { LoadedDesign } from '../../generator/design/read-design.js';
import { cachedBuild } from '../sim/build-cache.js';
import { runTool } from '../sim/tools.js';
import { parseMemoryBits, parseStatText } from './netlist.js';
import { synthCacheRoot, synthesizeUnits } from './yosys-units.js';
import { verilogContent } from './units.js';

/** iCE40UP5K (SG48 package): Lattice's data sheet figures. */
export const UP5K = { name: 'iCE40UP5K-SG48', luts: 5280, ramBlocks: 30, ramBlockBits: 4096, dsps: 8, spram: 4, ios: 39 } as const;

export interface FpgaResources {
  readonly luts: number;
  readonly flipFlops: number;
  readonly carries: number;
  readonly ramBlocks: number;
  readonly dsps: number;
  /** Further cells by type (LUT RAM, I/O buffers, ...). */
  readonly other: Readonly<Record<string, number>>;
}

/** Resources by kind from cell types (iCE40 SB_* and Xilinx 7-series primitives). */
export function classifyFpgaCells(byType: Readonly<Record<string, number>>): FpgaResources {
  let luts = 0;
  let flipFlops = 0;
  let carries = 0;
  let ramBlocks = 0;
  let dsps = 0;
  const other: Record<string, number> = {};
  for (const [type, n] of Object.entries(byType)) {
    if (/^(SB_LUT4|LUT[1-6])$/.test(type)) luts += n;
    else if (/^(SB_DFF\w*|FD[CPRS]E?\w*)$/.test(type)) flipFlops += n;
    else if (/^(SB_CARRY|CARRY4|CARRY8)$/.test(type)) carries += n;
    else if (/^(SB_RAM40_4K\w*|RAMB18E1|RAMB36E1|RAMB18E2|RAMB36E2)$/.test(type)) ramBlocks += n;
    else if (/^(SB_MAC16|DSP48E1|DSP48E2)$/.test(type)) dsps += n;
    else other[type] = n;
  }
  return { luts, flipFlops, carries, ramBlocks, dsps, other };
}

export interface Ice40Report {
  readonly device: string;
  /** The wrapper's Yosys figures (the whole design inside it). */
  readonly module: { readonly module: string; readonly cells: number; readonly cellsByType: Readonly<Record<string, number>>; readonly memoryBits: number; readonly cached: boolean; readonly seconds: number };
  readonly resources: FpgaResources;
  /** nextpnr's utilization: logic cells used (LUT + flip-flop + carry packed) of the device's. */
  readonly logicCells: { readonly used: number; readonly available: number };
  readonly maxClockMhz: number;
  readonly label: string;
}

const wrapperTemplate = Handlebars.compile(readFileSync(new URL('../../templates/synth-ice40-io.v.hbs', import.meta.url), 'utf8'), { noEscape: true, strict: true });
export const ICE40_WRAPPER = 'fixynn_ice40_io';

export async function synthIce40(design: LoadedDesign, options: { onProgress?: (m: string) => void } = {}): Promise<Ice40Report> {
  const m = design.manifest;
  // The wrapper registers the fixed part's stream ports (templates/synth-ice40-io.v.hbs); an accelerator's
  // or a chip's top has a host port and memories that do not fit an iCE40 UP5K anyway.
  const kinds = m.parts.map((p) => p.kind);
  if (kinds.join() !== 'ffe') {
    throw badInput(`--target ice40 places and routes a fixed part alone (a design of generate without --accel); ${design.dir}'s top ${m.top.module} holds ${kinds.join(' + ')}: use --target generic, asic or xilinx for it`);
  }
  const outWidth = beatWidth(m.top.output);
  const foldWidth = Math.min(8, outWidth);
  const wrapper = wrapperTemplate({
    header: renderHeader({}).trimEnd(), wrapper: ICE40_WRAPPER, top: m.top.module,
    inMsb: beatWidth(m.top.input) - 1, outMsb: outWidth - 1, outWidth, foldWidth, foldMsb: foldWidth - 1,
  });
  const hash = createHash('sha256').update(wrapper);
  for (const f of m.rtl) hash.update(verilogContent(readFileSync(design.pathOf(f), 'utf8')));
  const contentHash = hash.digest('hex');
  const wrapperFile = join(synthCacheRoot(), `ice40-io-${contentHash.slice(0, 24)}.v`);
  if (!existsSync(wrapperFile)) {
    mkdirSync(synthCacheRoot(), { recursive: true });
    writeFileSync(`${wrapperFile}.tmp`, wrapper);
    renameSync(`${wrapperFile}.tmp`, wrapperFile);
  }
  const [run] = await synthesizeUnits(design, [{ module: ICE40_WRAPPER, blackboxes: [], files: m.rtl, contentHash, memories: [], macros: [] }], {
    target: 'ice40', env: { FIXYNN_EXTRA: wrapperFile }, salt: contentHash, ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (run === undefined) throw new Error('internal: no ice40 synthesis run');
  const stat = parseStatText(readFileSync(join(run.dir, 'stat.txt'), 'utf8'), ICE40_WRAPPER, []);
  const resources = classifyFpgaCells(stat.byType);
  const key = createHash('sha256').update(contentHash).update(UP5K.name).digest('hex').slice(0, 32);
  options.onProgress?.(`ice40: place and route on ${UP5K.name} (nextpnr-ice40) ...`);
  const pnr = await cachedBuild(synthCacheRoot(), `nextpnr-${key}`, 'report.json', async (work) => {
    const r = await runTool('nextpnr-ice40', ['--up5k', '--package', 'sg48', '--json', join(run.dir, 'netlist.json'), '--report', join(work, 'report.json'),
      '--timing-allow-fail', '--seed', '1', '--log', join(work, 'nextpnr.log')], { timeoutMs: 4 * 3600_000 });
    if (r.exitCode !== 0 || !existsSync(join(work, 'report.json'))) {
      const log = `${r.stdout}\n${r.stderr}`;
      const overuse = log.split('\n').filter((l) => /but device only has|Unable to place|failed to place/i.test(l)).slice(0, 3).join('; ');
      throw checkFailed(`${m.top.module} does not fit an ${UP5K.name} (${UP5K.luts} logic cells, ${UP5K.ramBlocks} RAM blocks of ${UP5K.ramBlockBits} bits, ${UP5K.dsps} DSPs, ${UP5K.ios} I/O pins): ` +
        `Yosys maps it to ${resources.luts} LUTs, ${resources.carries} carries, ${resources.ramBlocks} RAM blocks, ${resources.dsps} DSPs${overuse ? `; nextpnr: ${overuse}` : `; nextpnr: ${log.trim().split('\n').slice(-2).join(' ')}`}`);
    }
  });
  const report = JSON.parse(readFileSync(join(pnr.dir, 'report.json'), 'utf8')) as {
    fmax?: Record<string, { achieved: number; constraint: number }>;
    utilization?: Record<string, { used: number; available: number }>;
  };
  const fmax = Object.entries(report.fmax ?? {}).find(([clock]) => /clk/.test(clock))?.[1]?.achieved;
  const lc = report.utilization?.ICESTORM_LC;
  if (fmax === undefined || lc === undefined) throw checkFailed(`nextpnr-ice40 reported no clock or utilization for ${m.top.module}`);
  const memoryBits = parseMemoryBits(readFileSync(join(run.dir, 'memories.txt'), 'utf8'));
  return {
    device: UP5K.name, module: { module: ICE40_WRAPPER, cells: stat.cells, cellsByType: stat.byType, memoryBits, cached: run.cached, seconds: run.seconds }, resources, logicCells: { used: lc.used, available: lc.available }, maxClockMhz: fmax,
    label: 'after place and route (nextpnr-ice40, seed 1), inside an I/O-registering wrapper',
  };
}
