/**
 * DIR/verify.json: the outcome of the last `fixynn verify DIR` (any kind of design), written whether it
 * passed or not, so that `fixynn report` can show which simulators checked the design, on what, and with
 * what result. One small versioned shape for the three flows (ffe/, accel/, chip/); each rung of the ladder
 * the flow climbed is one entry.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { badInput } from '../generator/common/errors.js';

export const VERIFY_JSON = 'verify.json';
export const VERIFY_FORMAT = 'fixynn-verify';
export const VERIFY_VERSION = 1;

const rungSchema = z.object({
  /** What was compared with what, e.g. "RTL (Verilator) vs the integer model". */
  check: z.string(),
  /** The simulator or model that ran, with its version where known. */
  simulator: z.string(),
  mismatches: z.number().int().nonnegative(),
  first: z.string().nullable(),
}).strict();

export const verifyRecordSchema = z.object({
  format: z.literal(VERIFY_FORMAT),
  version: z.literal(VERIFY_VERSION),
  kind: z.enum(['fixed part', 'accelerator', 'chip']),
  passed: z.boolean(),
  images: z.number().int().positive(),
  data: z.string(),
  rungs: z.array(rungSchema).min(1),
  /** Frame period or cycles measured beside the prediction, when the flow measures them. */
  cycles: z.object({ predicted: z.number(), measured: z.number().nullable() }).strict().nullable(),
  /** Top-1 against labels, where the data have them. */
  accuracy: z.object({ correct: z.number().int(), labelled: z.number().int() }).strict().nullable(),
  fault: z.string().nullable(),
}).strict();

export type VerifyRecord = z.infer<typeof verifyRecordSchema>;

export function writeVerifyRecord(dir: string, record: Omit<VerifyRecord, 'format' | 'version'>): string {
  const file = path.join(dir, VERIFY_JSON);
  const full: VerifyRecord = { format: VERIFY_FORMAT, version: VERIFY_VERSION, ...record };
  writeFileSync(`${file}.tmp`, `${JSON.stringify(full, null, 1)}\n`);
  renameSync(`${file}.tmp`, file);
  return file;
}

/** The record of a design folder, or null when verify has not run there; an unreadable one is an error. */
export function readVerifyRecord(dir: string): VerifyRecord | null {
  const file = path.join(dir, VERIFY_JSON);
  if (!existsSync(file)) return null;
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw badInput(`${file}: not valid JSON (${(err as Error).message}); run fixynn verify again`);
  }
  const parsed = verifyRecordSchema.safeParse(data);
  if (!parsed.success) throw badInput(`${file}: not a ${VERIFY_FORMAT} version ${VERIFY_VERSION} record (${parsed.error.issues[0]?.message ?? 'invalid'}); run fixynn verify again`);
  return parsed.data;
}
