/**
 * Runtime feature toggles (`envctl feature enable|disable`): `.envctl/features.json` holds the
 * overrides per environment (project/env), written atomically; `.envctl/feature-history.jsonl`
 * gets one line per change (time, environment, toggle, old → new, who). Callers hold the
 * environment's lock while they change either.
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { FEATURE_PATTERN } from '../definition/schema.js';
import { WorkFailedError } from '../errors.js';
import { appendLine } from '../fs-util.js';
import { stateDir } from './lock.js';

const overridesSchema = z.strictObject({
  version: z.literal(1),
  /** `<project>/<env>` → toggle → value. */
  environments: z.record(z.string(), z.record(z.string().regex(FEATURE_PATTERN), z.boolean())),
});
export type FeatureOverridesFile = z.infer<typeof overridesSchema>;

export const featureChangeSchema = z.strictObject({
  at: z.string(),
  project: z.string(),
  env: z.string(),
  feature: z.string(),
  from: z.boolean(),
  to: z.boolean(),
  /** `user@host`. */
  by: z.string(),
  /** Services recreated for the change (empty when the environment was not running). */
  recreated: z.array(z.string()),
});
export type FeatureChange = z.infer<typeof featureChangeSchema>;

export function featureOverridesPath(projectDir: string): string {
  return join(stateDir(projectDir), 'features.json');
}

export function featureHistoryPath(projectDir: string): string {
  return join(stateDir(projectDir), 'feature-history.jsonl');
}

export function environmentKey(project: string, env: string): string {
  return `${project}/${env}`;
}

/** The whole overrides file; an empty one when it does not exist. A file that does not parse is an error naming it. */
export async function readFeatureOverrides(projectDir: string): Promise<FeatureOverridesFile> {
  const path = featureOverridesPath(projectDir);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, environments: {} };
    throw new WorkFailedError('STATE_READ', `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check the permissions of the .envctl folder');
  }
  return parseFeatureOverrides(text, path);
}

export function parseFeatureOverrides(text: string, path: string): FeatureOverridesFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt(path, 'it is not JSON');
  }
  const parsed = overridesSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw corrupt(path, `${issue.path.join('.') || 'the file'}: ${issue.message}`);
  }
  // Null-prototype maps: an environment or toggle named `__proto__` is just a name.
  const environments = Object.create(null) as FeatureOverridesFile['environments'];
  for (const [key, values] of Object.entries(parsed.data.environments)) environments[key] = Object.assign(Object.create(null) as Record<string, boolean>, values);
  return { version: 1, environments };
}

function corrupt(path: string, why: string): WorkFailedError {
  return new WorkFailedError('STATE_CORRUPT', `the feature overrides file ${path} is not valid: ${why}`, 'fix it, or remove it to go back to the values of the definition (`envctl feature list` shows them)');
}

/** The overrides of one environment (empty when none). */
export function overridesFor(file: FeatureOverridesFile, project: string, env: string): Record<string, boolean> {
  return { ...(file.environments[environmentKey(project, env)] ?? {}) };
}

/**
 * The file with one toggle of one environment set to `value`, or its override dropped when
 * `value` is what the definition says (so a later change of the definition is not masked). Pure.
 */
export function setOverride(file: FeatureOverridesFile, key: string, feature: string, value: boolean, definitionValue: boolean): FeatureOverridesFile {
  const environments = { ...file.environments };
  const current = { ...(environments[key] ?? {}) };
  if (value === definitionValue) delete current[feature];
  else current[feature] = value;
  if (Object.keys(current).length === 0) delete environments[key];
  else environments[key] = current;
  return { version: 1, environments };
}

export async function writeFeatureOverrides(projectDir: string, file: FeatureOverridesFile): Promise<void> {
  const path = featureOverridesPath(projectDir);
  try {
    await mkdir(stateDir(projectDir), { recursive: true, mode: 0o700 });
    await writeFileAtomic(path, `${JSON.stringify(sortedFile(file), null, 2)}\n`, { mode: 0o600 });
  } catch (error) {
    throw new WorkFailedError('STATE_WRITE', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check free space and permissions of the .envctl folder; the toggle was not changed');
  }
}

export async function appendFeatureHistory(projectDir: string, change: FeatureChange): Promise<void> {
  const path = featureHistoryPath(projectDir);
  try {
    await mkdir(stateDir(projectDir), { recursive: true, mode: 0o700 });
    await appendLine(path, `${JSON.stringify(change)}\n`);
  } catch (error) {
    throw new WorkFailedError('STATE_WRITE', `cannot append to ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check free space and permissions of the .envctl folder');
  }
}

/** The recorded changes, oldest first; lines that do not parse (a torn write) are skipped. */
export async function readFeatureHistory(projectDir: string): Promise<FeatureChange[]> {
  let text: string;
  try {
    text = await readFile(featureHistoryPath(projectDir), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    if (!line.trim()) return [];
    try {
      const parsed = featureChangeSchema.safeParse(JSON.parse(line));
      return parsed.success ? [parsed.data] : [];
    } catch {
      return [];
    }
  });
}

function sortedFile(file: FeatureOverridesFile): FeatureOverridesFile {
  const sort = <T>(record: Record<string, T>) => Object.fromEntries(Object.keys(record).sort().map((key) => [key, record[key]!]));
  return { version: 1, environments: Object.fromEntries(Object.keys(file.environments).sort().map((key) => [key, sort(file.environments[key]!)])) };
}
