/**
 * The weights and step a release proxy has in force, persisted beside its request log
 * (`weights.json`) before each change is answered, so a restarted proxy serves the last ones. Its
 * own module: the CLI writes the file too (an abort without a live proxy), without loading the
 * proxy's server.
 */
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { validateWeights } from './routing.js';
import type { Weights } from './types.js';

const weight = z.number().int().min(0).max(100);

/** The weights and step in force, as the proxy persists them on every change. */
const persistedWeightsSchema = z.strictObject({
  weights: z.strictObject({ canary: weight, baseline: weight, prod: weight }),
  step: z.number().int().min(0),
  /** When the change was persisted, ISO 8601, for people: nothing computes with it. */
  appliedAt: z.string(),
});

export type PersistedWeights = z.output<typeof persistedWeightsSchema>;

/** Where the proxy keeps the weights and step in force: beside its request log. */
export function weightsFileOf(requestsFile: string): string {
  return join(dirname(requestsFile), 'weights.json');
}

/** Writes `weights.json` atomically (temp file, fsync, rename): a crash leaves the old or the new one. */
export async function writePersistedWeights(path: string, next: { weights: Weights; step: number }, now: Date): Promise<void> {
  const persisted: PersistedWeights = { weights: { ...next.weights }, step: next.step, appliedAt: now.toISOString() };
  try {
    await writeFileAtomic(path, `${JSON.stringify(persisted)}\n`, { mode: 0o600 });
  } catch (error) {
    throw new Error(`cannot persist the weights to ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { cause: error });
  }
}

export interface StartingWeights {
  weights: Weights;
  step: number;
  from: 'weights.json' | 'config' | 'stable-only';
  /** Why `weights.json` was not used although it exists. */
  problem?: string;
}

const STABLE_ONLY: Weights = { canary: 0, baseline: 0, prod: 100 };

/** What a starting proxy serves: `weights.json` when there is one, else the config's; an unreadable one means stable only (prod 100 %, step 0). */
export async function startingWeights(config: { weights: Weights; step: number }, path: string): Promise<StartingWeights> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return { weights: config.weights, step: config.step, from: 'config' };
    return { weights: STABLE_ONLY, step: 0, from: 'stable-only', problem: `cannot read ${path}: ${code ?? String(error)}` };
  }
  let problem: string;
  try {
    const parsed = persistedWeightsSchema.safeParse(JSON.parse(text));
    if (parsed.success) return { weights: validateWeights(parsed.data.weights), step: parsed.data.step, from: 'weights.json' };
    problem = parsed.error.issues.map((issue) => `${issue.path.join('.') || '(file)'}: ${issue.message}`).join('; ');
  } catch (error) {
    // Not JSON (SyntaxError), or weights that do not sum to 100 (RangeError).
    problem = (error as Error).message;
  }
  return { weights: STABLE_ONLY, step: 0, from: 'stable-only', problem: `${path} is not valid: ${problem}` };
}
