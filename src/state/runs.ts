/**
 * Pipeline run records under `.envctl/runs/<id>/record.json`: written atomically (temp file,
 * fsync, rename) after every stage, validated when read, so a truncated or hand-edited record is
 * reported and never acted on.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import { WorkFailedError } from '../errors.js';
import { crashBeforeRenameOnto } from '../fault.js';
import { STAGES } from '../events.js';
import { stateDir } from './lock.js';

const stageStatus = z.enum(['pending', 'running', 'passed', 'failed', 'skipped']);

const resultSchema = z.object({ name: z.string(), status: z.enum(['passed', 'failed', 'skipped']), detail: z.string().optional(), durationMs: z.number().optional() });

export const runRecordSchema = z.object({
  version: z.literal(1),
  id: z.string(),
  project: z.string(),
  env: z.string(),
  definition: z.string(),
  ci: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  durationMs: z.number().optional(),
  status: z.enum(['running', 'passed', 'failed', 'cancelled']),
  /** The pipeline's process id while it runs: `runs gc` leaves the environments of a live run alone. */
  pid: z.number().int().optional(),
  /** Built image per service (content-addressed tags). */
  images: z.record(z.string(), z.string()),
  /** `--locked`: the envctl.lock the run was checked against (its sha256) and the image ID of each service. */
  lock: z
    .object({ path: z.string(), sha256: z.string(), env: z.string(), services: z.record(z.string(), z.object({ image: z.string(), digest: z.string() })) })
    .optional(),
  stages: z.array(
    z.object({
      name: z.enum(STAGES),
      status: stageStatus,
      startedAt: z.string().optional(),
      durationMs: z.number().optional(),
      detail: z.string().optional(),
      results: z.array(resultSchema),
      /** Measured figures (perf), kept for the next run's regression check. */
      figures: z.record(z.string(), z.unknown()).optional(),
      /** The last lines of the stage's output. */
      outputTail: z.array(z.string()),
    }),
  ),
});

export type RunRecord = z.infer<typeof runRecordSchema>;
export type StageRecord = RunRecord['stages'][number];

export function runsDir(projectDir: string): string {
  return join(stateDir(projectDir), 'runs');
}

/** A sortable, unique id: UTC time to the second plus 4 random hex digits. */
export function newRunId(now: Date, random: () => number): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `${stamp}-${Math.floor(random() * 0x10000).toString(16).padStart(4, '0')}`;
}

export async function writeRunRecord(projectDir: string, record: RunRecord): Promise<string> {
  const dir = join(runsDir(projectDir), record.id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, 'record.json');
  const text = `${JSON.stringify(record, null, 2)}\n`;
  crashBeforeRenameOnto(path);
  try {
    await writeFileAtomic(path, text, { mode: 0o600 });
  } catch (error) {
    throw new WorkFailedError('STATE_WRITE', `cannot write the run record ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check free space and permissions of the .envctl folder', error);
  }
  return path;
}

export type ReadRun = { ok: true; record: RunRecord; path: string } | { ok: false; id: string; path: string; problem: string };

export async function readRunRecord(projectDir: string, id: string): Promise<ReadRun> {
  const path = join(runsDir(projectDir), id, 'record.json');
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, id, path, problem: `cannot read: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, id, path, problem: 'not valid JSON (truncated or edited?)' };
  }
  const parsed = runRecordSchema.safeParse(json);
  if (!parsed.success) return { ok: false, id, path, problem: `not a run record: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}` };
  return { ok: true, record: parsed.data, path };
}

/** Every run of the project, newest first; unreadable records are returned as problems, not dropped. */
export async function listRunRecords(projectDir: string): Promise<ReadRun[]> {
  const ids = await readdir(runsDir(projectDir)).catch(() => [] as string[]);
  const runs = await Promise.all(ids.sort().reverse().map((id) => readRunRecord(projectDir, id)));
  return runs;
}

/**
 * The figures of a stage in the newest passing runs before `excludeId` (at most `count`, newest
 * first), for regression checks against a baseline that one lucky run cannot skew.
 */
export async function recentPassingFigures(projectDir: string, project: string, env: string, stage: string, excludeId: string, count: number): Promise<Array<{ runId: string; figures: Record<string, unknown> }>> {
  const out: Array<{ runId: string; figures: Record<string, unknown> }> = [];
  for (const run of await listRunRecords(projectDir)) {
    if (out.length >= count) break;
    if (!run.ok || run.record.id === excludeId || run.record.project !== project || run.record.env !== env) continue;
    const record = run.record.stages.find((candidate) => candidate.name === stage);
    if (record?.status === 'passed' && record.figures) out.push({ runId: run.record.id, figures: record.figures });
  }
  return out;
}
