/**
 * A release's persisted state under `.envctl/releases/<id>/` (canary.md §3.6):
 * - `state.json`: where the release is (status, step, weights, containers, proxy), written
 *   atomically after every transition, so a killed envctl resumes from it;
 * - `config.lock.json`: the resolved release config and the images, fixed at start;
 * - `events.jsonl`: every transition with the judge's inputs (files.ts);
 * - `logs.jsonl`: the containers' error log lines the judge read, stamped on the proxy's clock;
 * - `control.json`: a pending request from another process (`approve`, `abort`), taken by the controller;
 * - `requests.jsonl.gz`, `admin.sock`, `proxy.json`: the proxy's (proxy-container.ts).
 */
import { mkdir, readdir, readFile, rm, truncate } from 'node:fs/promises';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import * as z from 'zod';
import type { ReleaseConfig } from '../definition/schema.js';
import { UsageError, WorkFailedError } from '../errors.js';
import { crashBeforeRenameOnto } from '../fault.js';
import { ARMS } from '../proxy/types.js';
import { stateDir } from '../state/lock.js';
import type { LogLine } from './recording/step-aggregator.js';

export const RELEASE_STATUSES = ['preparing', 'running', 'gate', 'promoted', 'rolled-back', 'inconclusive', 'aborted', 'failed', 'decommissioned'] as const;
export type ReleaseStatus = (typeof RELEASE_STATUSES)[number];

/** States a controller still drives: `release resume` continues them. */
export const ACTIVE_STATUSES: ReadonlySet<ReleaseStatus> = new Set(['preparing', 'running', 'gate']);

const weights = z.strictObject({ canary: z.number().int(), baseline: z.number().int(), prod: z.number().int() });
const containerRef = z.strictObject({ id: z.string(), name: z.string() });

export const releaseStateSchema = z.strictObject({
  id: z.string(),
  project: z.string(),
  env: z.string(),
  service: z.string(),
  /** Where its arms and proxy run: absent = local containers; `swarm` = services of the stack. */
  target: z.enum(['local', 'swarm']).optional(),
  status: z.enum(RELEASE_STATUSES),
  /** 0 before the first step; 1..K during the steps. */
  step: z.number().int().min(0),
  weights,
  images: z.strictObject({ prod: z.string(), canary: z.string() }),
  containers: z.strictObject({ proxy: containerRef.nullable(), prod: containerRef, canary: containerRef.nullable(), baseline: containerRef.nullable() }),
  proxy: z.strictObject({ hostPort: z.number().int(), adminSocket: z.string() }).nullable(),
  /** Step number → the proxy's monotonic ns when its weights were applied. */
  stepStartsNs: z.record(z.string(), z.string().regex(/^\d+$/)),
  gate: z.strictObject({ reason: z.string(), since: z.string(), timeoutAt: z.string() }).nullable(),
  /** Why the release ended (or paused), for people. */
  outcome: z.string().nullable(),
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Promoted: the previous version stays for instant rollback until then. */
  retainUntil: z.string().nullable(),
  /** When the release's final weights were applied (proxy's monotonic ns): the replay judges up to it. */
  endNs: z.string().regex(/^\d+$/).nullable(),
  /**
   * An ending decided but not yet finished (written before the final weights are applied), so a
   * controller killed in between finishes it on resume instead of judging on.
   */
  pending: z
    .strictObject({ status: z.enum(['promoted', 'rolled-back', 'aborted', 'inconclusive']), reason: z.string(), actor: z.string() })
    .nullable()
    .default(null),
  /** The step whose gate was approved (its next step or promotion may not have started yet). */
  approvedStep: z.number().int().nullable().default(null),
  /** The last proxy record the controller had read. */
  lastSeq: z.number().int().min(0),
});

export type ReleaseState = z.output<typeof releaseStateSchema>;

export const controlRequestSchema = z.strictObject({
  action: z.enum(['approve', 'abort']),
  actor: z.string(),
  at: z.string(),
});
export type ControlRequest = z.output<typeof controlRequestSchema>;

export function releasesDir(projectDir: string): string {
  return join(stateDir(projectDir), 'releases');
}

export function releaseDir(projectDir: string, id: string): string {
  return join(releasesDir(projectDir), id);
}

export const RELEASE_FILES = {
  state: 'state.json',
  config: 'config.lock.json',
  events: 'events.jsonl',
  logs: 'logs.jsonl',
  control: 'control.json',
  requests: 'requests.jsonl.gz',
  verdict: 'verdict.json',
} as const;

/** `r-` + UTC time to the second + 4 random hex digits: sortable and unique. */
export function newReleaseId(now: Date, random: () => number): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
  return `r-${stamp}-${Math.floor(random() * 0x10000).toString(16).padStart(4, '0')}`;
}

const RELEASE_ID = /^r-\d{8}T\d{6}Z-[0-9a-f]{4}$/;

export function assertReleaseId(id: string): void {
  if (!RELEASE_ID.test(id)) throw new UsageError('BAD_RELEASE_ID', `"${id}" is not a release id (like r-20261126T120000Z-1a2b)`, 'list releases with `envctl release status --all`');
}

export async function createReleaseDir(projectDir: string, id: string): Promise<string> {
  const dir = releaseDir(projectDir, id);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return dir;
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  crashBeforeRenameOnto(path);
  try {
    await writeFileAtomic(path, text, { mode: 0o600 });
  } catch (error) {
    throw new WorkFailedError('STATE_WRITE', `cannot write ${path}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, 'check free space and permissions of the .envctl folder', error);
  }
}

export async function writeReleaseState(projectDir: string, state: ReleaseState): Promise<void> {
  await writeJsonAtomic(join(releaseDir(projectDir, state.id), RELEASE_FILES.state), state);
}

export async function readReleaseState(projectDir: string, id: string): Promise<ReleaseState> {
  assertReleaseId(id);
  const path = join(releaseDir(projectDir, id), RELEASE_FILES.state);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new UsageError('NO_SUCH_RELEASE', `no release ${id} in ${releasesDir(projectDir)}`, 'list releases with `envctl release status --all`');
    throw error;
  }
  return checkedState(projectDir, id, parseState(path, text), path);
}

/**
 * A state names its own folder and the proxy's socket in it, nothing else: a state file edited to
 * point elsewhere (another folder's socket, another id) is refused, not followed.
 */
function checkedState(projectDir: string, id: string, state: ReleaseState, path: string): ReleaseState {
  const socket = join(releaseDir(projectDir, id), 'admin.sock');
  if (state.id !== id || (state.proxy !== null && state.proxy.adminSocket !== socket)) {
    throw new WorkFailedError('STATE_CORRUPT', `${path} does not belong to its folder (id ${state.id}, proxy socket ${state.proxy?.adminSocket ?? 'none'})`, 'the release state was edited; `envctl down` removes its containers');
  }
  return state;
}

function parseState(path: string, text: string): ReleaseState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new WorkFailedError('STATE_CORRUPT', `${path} is not JSON: ${(error as Error).message}`, 'the release state was edited or damaged; `envctl down` removes its containers', error);
  }
  const parsed = releaseStateSchema.safeParse(value);
  if (!parsed.success) {
    throw new WorkFailedError('STATE_CORRUPT', `${path} is not a release state: ${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message}`, 'the release state was edited or damaged; `envctl down` removes its containers');
  }
  return parsed.data;
}

/** Every release of the project folder, newest first; unreadable ones are skipped. */
export async function listReleases(projectDir: string): Promise<ReleaseState[]> {
  const root = releasesDir(projectDir);
  const names = await readdir(root).catch(() => [] as string[]);
  const states: ReleaseState[] = [];
  for (const name of names.filter((entry) => RELEASE_ID.test(entry)).sort().reverse()) {
    const path = join(root, name, RELEASE_FILES.state);
    const text = await readFile(path, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    try {
      states.push(checkedState(projectDir, name, parseState(path, text), path));
    } catch {
      // A damaged state is reported by `release status ID`, not by the listing.
    }
  }
  return states;
}

export interface ReleaseConfigLock {
  id: string;
  service: string;
  /** The service's container port the proxy forwards to. */
  targetPort: number;
  seed: number;
  config: ReleaseConfig;
  images: { prod: string; canary: string };
}

export async function writeConfigLock(projectDir: string, lock: ReleaseConfigLock): Promise<void> {
  await writeJsonAtomic(join(releaseDir(projectDir, lock.id), RELEASE_FILES.config), lock);
}

export async function readConfigLock(projectDir: string, id: string): Promise<ReleaseConfigLock> {
  const path = join(releaseDir(projectDir, id), RELEASE_FILES.config);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as ReleaseConfigLock;
  } catch (error) {
    throw new WorkFailedError('STATE_CORRUPT', `cannot read ${path}: ${(error as Error).message}`, 'the release folder is incomplete', error);
  }
}

/** Leaves a request for the controller (atomic; a later one replaces an earlier one not yet taken). */
export async function writeControlRequest(projectDir: string, id: string, request: ControlRequest): Promise<void> {
  await writeJsonAtomic(join(releaseDir(projectDir, id), RELEASE_FILES.control), request);
}

/** Takes the pending request, if any (read, then removed). */
export async function takeControlRequest(projectDir: string, id: string): Promise<ControlRequest | undefined> {
  const path = join(releaseDir(projectDir, id), RELEASE_FILES.control);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  await rm(path, { force: true });
  try {
    const parsed = controlRequestSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A JSON-lines file cut off mid-line by a kill ends without a newline: the fragment is dropped
 * before anything is appended, so it is never glued to the next line (which would corrupt both).
 */
export async function dropTrailingFragment(path: string): Promise<void> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined || text === '' || text.endsWith('\n')) return;
  await truncate(path, Buffer.byteLength(text.slice(0, text.lastIndexOf('\n') + 1)));
}

const logLineSchema = z.strictObject({ arm: z.enum(ARMS), line: z.string(), tMonoNs: z.string().regex(/^\d+$/) });

/** `logs.jsonl`: the error log lines the judge read, in the order it read them. */
export async function readLogLines(projectDir: string, id: string): Promise<LogLine[]> {
  const path = join(releaseDir(projectDir, id), RELEASE_FILES.logs);
  const text = await readFile(path, 'utf8').catch(() => '');
  const lines: LogLine[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    if (raw === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      // A line cut off by a crash is the last one; anything else is damage.
      if (index === text.split('\n').length - 1) break;
      throw new WorkFailedError('RECORDING_CORRUPT', `${path}:${index + 1}: not JSON`, 'the recording was edited or damaged');
    }
    const parsed = logLineSchema.safeParse(value);
    if (!parsed.success) throw new WorkFailedError('RECORDING_CORRUPT', `${path}:${index + 1}: not a log line record`, 'the recording was edited or damaged');
    lines.push(parsed.data);
  }
  return lines;
}
