/**
 * OUT/sweep.json (format `fixynn-sweep`, versioned) and each point's OUT/k<K>/point.json: what `fixynn sweep`
 * writes and `fixynn report` reads, checked with zod on both sides. Bump SWEEP_VERSION on any change.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { badInput } from '../../generator/common/errors.js';

export const SWEEP_FORMAT = 'fixynn-sweep';
export const SWEEP_VERSION = 1;
export const SWEEP_JSON = 'sweep.json';
export const POINT_JSON = 'point.json';

const int = z.number().int();
const count = int.nonnegative();
const source = z.enum(['modeled', 'measured']);

const layerSchema = z.object({
  index: count, name: z.string(), kind: z.string(), side: z.enum(['fixed part', 'accelerator']), output: z.array(count),
  weights: count, nonzeroWeights: count, macs: count, adders: count.nullable(), areaUm2: z.number().nullable(), cycles: count, energyPj: z.number(),
}).strict();

const fixedSideSchema = z.object({
  layers: int.positive(), adders: count, productAdders: count, nonzeroWeights: count, ramBits: count, registerBits: count, cyclesPerImage: int.positive(),
  areaUm2: z.number(), memoryAreaUm2: z.number(), areaSource: source, energyPerImagePj: z.number(), energySource: source,
  /** With --synth: the synthesis of the fixed part alone (its folder, the worst path's clock). */
  synth: z.object({ dir: z.string(), maxClockMhz: z.number().nullable(), cells: count }).strict().nullable(),
}).strict();

const acceleratorSideSchema = z.object({
  /** chip: generated (the design folder has its RTL); compiled: the generated chip refused the split, see note. */
  build: z.enum(['chip', 'compiled']),
  note: z.string().nullable(),
  rows: int.positive(), cols: int.positive(), fromLayer: count, cyclesPerImage: int.positive(), macs: count, utilization: z.number(), ramBits: count,
  areaUm2: z.number(), memoryAreaUm2: z.number(), areaSource: source, energyPerImagePj: z.number(), energySource: source, method: z.string(),
}).strict();

export const pointSchema = z.object({
  format: z.literal(`${SWEEP_FORMAT}-point`),
  version: z.literal(SWEEP_VERSION),
  k: count,
  /** The design folder, relative to the sweep's folder. */
  design: z.string(),
  fixedPart: fixedSideSchema.nullable(),
  accelerator: acceleratorSideSchema,
  cyclesPerImage: int.positive(),
  bottleneck: z.enum(['fixed part', 'accelerator']),
  clockMhz: z.number().positive(),
  framesPerSecond: z.number().positive(),
  areaUm2: z.number(),
  energyPerImagePj: z.number(),
  opsPerImage: count,
  topsPerWatt: z.number(),
  layers: z.array(layerSchema).min(1),
  seconds: z.number(),
}).strict();

/** A point the generator refused (e.g. a layer that does not fit the accelerator's memories at this array). */
export const refusedPointSchema = z.object({
  format: z.literal(`${SWEEP_FORMAT}-point`),
  version: z.literal(SWEEP_VERSION),
  k: count,
  design: z.string(),
  /** The generator's message: what does not fit and what would. */
  refused: z.string(),
  seconds: z.number(),
}).strict();

const anyPointSchema = z.union([pointSchema, refusedPointSchema]);

export const sweepSchema = z.object({
  format: z.literal(SWEEP_FORMAT),
  version: z.literal(SWEEP_VERSION),
  model: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), layers: int.positive() }).strict(),
  accel: z.object({ rows: int.positive(), cols: int.positive() }).strict(),
  arith: z.string(),
  ks: z.array(count).min(1),
  /** How area and energy were obtained (each point's figures also name their source). */
  area: z.object({ source: source, table: z.string() }).strict(),
  energy: z.object({ source: source, table: z.string(), activity: z.number() }).strict(),
  acceleratorMethod: z.string(),
  /** The area budget (um^2) the best K is chosen under; null: none (the best by energy overall). */
  areaBudgetUm2: z.number().positive().nullable(),
  /** The K of lowest energy per image among the points within the budget; null when none fits. */
  bestK: count.nullable(),
  points: z.array(anyPointSchema).min(1),
}).strict();

export type SweepPoint = z.infer<typeof pointSchema>;
export type RefusedPoint = z.infer<typeof refusedPointSchema>;
export type AnyPoint = SweepPoint | RefusedPoint;
export type Sweep = z.infer<typeof sweepSchema>;

export const isRefused = (p: AnyPoint): p is RefusedPoint => 'refused' in p;
/** The points that ran (not refused). */
export const donePoints = (s: Sweep): SweepPoint[] => s.points.filter((p): p is SweepPoint => !isRefused(p));

function readJson<T>(file: string, schema: z.ZodType<T>, what: string): T {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw badInput(`${file}: cannot read ${what} (${(err as Error).message})`);
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw badInput(`${file}: not a ${what} of this fixynn (${SWEEP_FORMAT} version ${SWEEP_VERSION}): ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  return parsed.data;
}

export const readPoint = (file: string): AnyPoint => readJson(file, anyPointSchema, 'sweep point');
export const readSweep = (file: string): Sweep => readJson(file, sweepSchema, 'sweep');
