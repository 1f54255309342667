/**
 * Where the monitor's events come from. Each feed polls or follows one source and turns what it
 * reads into `MonitorEvent`s; none of them draws anything. Few engine calls: one container list
 * and one one-shot stats read per running container every 2 s, an inspect only when a container's
 * state or health changed (and every 10 s for restart counts), one log stream per running container.
 * Failures become events (an engine error line, a proxy that does not answer); a feed never stops
 * the monitor.
 */
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { sleep } from '../cli/cancellation.js';
import type { EnvironmentModel } from '../definition/model.js';
import type { Engine } from '../engine/engine.js';
import type { ContainerStatsSample, ContainerStatus, ObservedContainer } from '../engine/types.js';
import { environmentLabels, LABEL } from '../labels.js';
import { createAdminClient, type ProxyAdminStatus } from '../proxy/admin-client.js';
import { listReleases, readConfigLock, releaseDir, RELEASE_FILES, type ReleaseState } from '../release/store.js';
import { userStateDir } from '../state/lock.js';
import { readRunRecord, runsDir, type RunRecord } from '../state/runs.js';
import { compareLogTimes, cpuPercent, logSourceName, type MonitorEvent, type PipelineView, type ProxyView, type ReleaseView } from '../ui/monitor-store.js';

/** How often the engine is read (containers, health, stats), ms. */
export const ENGINE_POLL_MS = 2_000;
/** How often the release files and the release proxy are read, ms. */
export const RELEASE_POLL_MS = 2_000;
/** How often the pipeline's run records are looked at, ms. */
export const PIPELINE_POLL_MS = 3_000;
/** Every this many engine readings, running containers are inspected again (restart counts). */
const INSPECT_EVERY_READINGS = 5;
/** Log lines are handed over in batches, at most this often (ms): one fold per batch, not per line. */
const LOG_FLUSH_MS = 100;
/** Lines of each container's past output shown when the monitor starts. */
const FIRST_TAIL_LINES = 100;
/** The tail of events.jsonl searched for the judge's latest verdict, bytes. */
const VERDICT_TAIL_BYTES = 256 * 1024;
/** The proxy's admin socket must answer within this (ms), or the panel says it does not. */
const ADMIN_TIMEOUT_MS = 1_500;

export interface FeedContext {
  model: EnvironmentModel;
  engine: Engine;
  dispatch: (event: MonitorEvent) => void;
  signal: AbortSignal;
  now: () => number;
  env: Readonly<Record<string, string | undefined>>;
}

/** Reads the engine every `ENGINE_POLL_MS` until the signal aborts; `onContainers` hears each list (the log hub follows new ones). */
export async function watchEngine(context: FeedContext, onContainers: (containers: readonly ObservedContainer[]) => void): Promise<void> {
  const { model, engine, dispatch, signal, now } = context;
  const details = new Map<string, { key: string; status: ContainerStatus }>();
  const previousStats = new Map<string, ContainerStatsSample>();
  for (let reading = 0; !signal.aborted; reading += 1) {
    try {
      const containers = await engine.listContainers(environmentLabels(model.project, model.env));
      await Promise.all(
        containers.map(async (container) => {
          const key = `${container.state}/${container.health ?? ''}`;
          const known = details.get(container.id);
          if (known !== undefined && known.key === key && (container.state !== 'running' || reading % INSPECT_EVERY_READINGS !== 0)) return;
          const status = await engine.inspectContainer(container.id).catch(() => undefined);
          if (status !== undefined) details.set(container.id, { key, status });
        }),
      );
      const running = containers.filter((container) => container.state === 'running');
      const samples = new Map(await Promise.all(running.map(async (container) => [container.id, await engine.statsOnce(container.id).catch(() => undefined)] as const)));
      const present = new Set(containers.map((container) => container.id));
      for (const id of [...details.keys()]) if (!present.has(id)) details.delete(id);
      const cpu = new Map<string, number | undefined>();
      for (const [id, sample] of samples) {
        if (sample === undefined) continue;
        cpu.set(id, cpuPercent(previousStats.get(id), sample));
        previousStats.set(id, sample);
      }
      for (const id of [...previousStats.keys()]) if (!samples.has(id)) previousStats.delete(id);
      dispatch({
        type: 'engine',
        snapshot: {
          at: now(),
          declared: Object.keys(model.services),
          containers: containers.map((container) => {
            const status = details.get(container.id)?.status;
            const sample = samples.get(container.id);
            const running = container.state === 'running';
            return {
              service: container.service || container.name,
              slot: container.labels[LABEL.slot],
              containerId: container.id,
              container: container.name,
              state: container.state,
              health: container.health,
              startedAt: running && status?.startedAt ? Date.parse(status.startedAt) : undefined,
              restarts: status?.restartCount,
              exitCode: status?.exitCode,
              cpuPercent: running ? cpu.get(container.id) : undefined,
              memoryBytes: running ? sample?.memoryBytes : undefined,
              memoryLimitBytes: running ? sample?.memoryLimitBytes : undefined,
              ports: container.ports.map((port) => `${port.hostIp.includes(':') ? `[${port.hostIp}]` : port.hostIp}:${port.published}->${port.target}/${port.protocol}`),
              image: container.image,
            };
          }),
        },
      });
      onContainers(containers);
    } catch (error) {
      dispatch({ type: 'engine-error', at: now(), message: messageOf(error) });
    }
    await sleep(ENGINE_POLL_MS, signal);
  }
}

export interface LogHub {
  /** Starts following every running container not followed yet. */
  follow(containers: readonly ObservedContainer[]): void;
}

/**
 * The central log hub: one followed stream per running container, merged in arrival order and
 * handed over in batches. A container that stops ends its stream; when it runs again it is followed
 * again from the last line seen, so a restart neither loses nor repeats lines.
 */
export function createLogHub(context: FeedContext): LogHub {
  const { engine, dispatch, signal } = context;
  const followed = new Set<string>();
  const lastTime = new Map<string, string>();
  let batch: Array<{ service: string; stream: 'stdout' | 'stderr'; time: string | undefined; text: string }> = [];
  let flushTimer: NodeJS.Timeout | undefined;
  const flush = (): void => {
    flushTimer = undefined;
    const lines = batch;
    batch = [];
    if (lines.length > 0) dispatch({ type: 'logs', lines });
  };
  const start = (container: ObservedContainer): void => {
    followed.add(container.id);
    const since = lastTime.get(container.id);
    const options = since === undefined ? { tail: FIRST_TAIL_LINES, timestamps: true } : { since: Math.floor(Date.parse(since) / 1000), timestamps: true };
    const service = logSourceName(container.service || container.name, container.labels[LABEL.slot]);
    void (async () => {
      try {
        for await (const line of engine.followLogs(container.id, options, signal)) {
          if (since !== undefined && line.time !== undefined && compareLogTimes(line.time, since) <= 0) continue;
          if (line.time !== undefined) lastTime.set(container.id, line.time);
          batch.push({ service, stream: line.stream, time: line.time, text: line.text });
          flushTimer ??= setTimeout(flush, LOG_FLUSH_MS);
        }
      } catch {
        // The container went away or the engine hiccupped: the next reading follows it again if it runs.
      } finally {
        followed.delete(container.id);
      }
    })();
  };
  signal.addEventListener('abort', () => {
    if (flushTimer !== undefined) clearTimeout(flushTimer);
  }, { once: true });
  return {
    follow(containers) {
      if (signal.aborted) return;
      for (const container of containers) if (container.state === 'running' && !followed.has(container.id)) start(container);
    },
  };
}

/** Reads the environment's latest release and its proxy every `RELEASE_POLL_MS`. */
export async function watchRelease(context: FeedContext): Promise<void> {
  const { model, dispatch, signal } = context;
  const verdicts = new Map<string, { size: number; verdict: ReleaseView['verdict'] }>();
  // A release's steps never change (config.lock.json is written once): read once per release.
  const stepCounts = new Map<string, number>();
  while (!signal.aborted) {
    try {
      const release = (await listReleases(model.projectDir)).find((candidate) => candidate.project === model.project && candidate.env === model.env);
      if (release === undefined) {
        dispatch({ type: 'release', release: undefined });
      } else {
        const verdict = await latestVerdict(join(releaseDir(model.projectDir, release.id), RELEASE_FILES.events), verdicts);
        const controllerRunning = await controllerHoldsLock(lockHolderFile(context, release.service));
        const steps = await stepCount(model.projectDir, release.id, stepCounts);
        dispatch({ type: 'release', release: releaseView(release, verdict, controllerRunning, steps) });
        if (release.proxy !== null && release.status !== 'decommissioned') {
          try {
            const status = await createAdminClient(release.proxy.adminSocket, { timeoutMs: ADMIN_TIMEOUT_MS }).status();
            dispatch({ type: 'proxy', at: context.now(), proxy: proxyView(status), error: undefined });
          } catch (error) {
            dispatch({ type: 'proxy', at: context.now(), proxy: undefined, error: `not answering: ${messageOf(error)}` });
          }
        } else {
          dispatch({ type: 'proxy', at: context.now(), proxy: undefined, error: undefined });
        }
      }
    } catch (error) {
      dispatch({ type: 'message', text: `cannot read the releases: ${messageOf(error)}`, level: 'error' });
    }
    await sleep(RELEASE_POLL_MS, signal);
  }
}

/** Looks at the newest pipeline run record every `PIPELINE_POLL_MS`; reads it only when it changed. */
export async function watchPipeline(context: FeedContext): Promise<void> {
  const { model, dispatch, signal } = context;
  let seen: string | undefined;
  while (!signal.aborted) {
    try {
      const ids = (await readdir(runsDir(model.projectDir)).catch(() => [] as string[])).sort().reverse();
      const id = ids[0];
      if (id === undefined) {
        dispatch({ type: 'pipeline', pipeline: undefined });
      } else {
        const info = await stat(join(runsDir(model.projectDir), id, 'record.json')).catch(() => undefined);
        const version = `${id}/${info?.mtimeMs ?? 0}/${info?.size ?? 0}`;
        if (version !== seen) {
          const read = await readRunRecord(model.projectDir, id);
          if (read.ok) {
            seen = version;
            dispatch({ type: 'pipeline', pipeline: pipelineView(read.record) });
          }
        }
      }
    } catch {
      // A run record being written is read again next time.
    }
    await sleep(PIPELINE_POLL_MS, signal);
  }
}

export function releaseView(release: ReleaseState, verdict: ReleaseView['verdict'], controllerRunning: boolean, steps: number | undefined): ReleaseView {
  return {
    id: release.id,
    service: release.service,
    status: release.status,
    step: release.step,
    weights: release.weights,
    gate: release.gate ?? undefined,
    outcome: release.outcome ?? undefined,
    adminSocket: release.proxy?.adminSocket,
    proxyPort: release.proxy?.hostPort,
    arms: { canary: release.containers.canary !== null, baseline: release.containers.baseline !== null, prod: release.status !== 'decommissioned' },
    steps,
    verdict,
    controllerRunning,
  };
}

/**
 * The proxy's figures per arm: counts and percentiles since it started, and the p99 of the current
 * step's requests (the per-step summaries are what the judge compares; cumulative within the step).
 */
export function proxyView(status: ProxyAdminStatus): ProxyView {
  type Metrics = ProxyAdminStatus['metrics']['total']['canary'];
  const step = status.metrics.steps.find((candidate) => candidate.step === status.step)?.arms;
  const arm = (metrics: Metrics, stepMetrics: Metrics | undefined) => ({
    requests: metrics.requests,
    bad: metrics.bad,
    p50Ms: metrics.latencyUs.p50 / 1000,
    p99Ms: metrics.latencyUs.p99 / 1000,
    stepP99Ms: stepMetrics === undefined || stepMetrics.latencyUs.count === 0 ? undefined : stepMetrics.latencyUs.p99 / 1000,
  });
  const { total } = status.metrics;
  return { weights: status.weights, step: status.step, arms: { canary: arm(total.canary, step?.canary), baseline: arm(total.baseline, step?.baseline), prod: arm(total.prod, step?.prod) } };
}

export function pipelineView(record: RunRecord): PipelineView {
  return { id: record.id, status: record.status, startedAt: record.startedAt, stages: record.stages.map((stage) => ({ name: stage.name, status: stage.status, durationMs: stage.durationMs, detail: stage.detail })) };
}

/**
 * The judge's latest verdict: the last `"event":"verdict"` line of events.jsonl. Only the file's
 * tail is read, and only when the file grew since the last look.
 */
async function latestVerdict(path: string, cache: Map<string, { size: number; verdict: ReleaseView['verdict'] }>): Promise<ReleaseView['verdict']> {
  const info = await stat(path).catch(() => undefined);
  if (info === undefined) return undefined;
  const known = cache.get(path);
  if (known !== undefined && known.size === info.size) return known.verdict;
  const length = Math.min(info.size, VERDICT_TAIL_BYTES);
  const handle = await open(path, 'r');
  let text: string;
  try {
    const buffer = Buffer.alloc(length);
    await handle.read(buffer, 0, length, info.size - length);
    text = buffer.toString('utf8');
  } finally {
    await handle.close();
  }
  let verdict = known?.verdict;
  for (const line of text.split('\n').reverse()) {
    if (!line.includes('"event":"verdict"')) continue;
    try {
      const event = JSON.parse(line) as { action?: unknown; reasons?: Array<{ code?: unknown; message?: unknown; before?: unknown }> };
      const reasons = event.reasons ?? [];
      const gate = reasons.find((reason) => reason.code === 'manual-gate');
      const gateBefore = gate?.before === 'promote' || gate?.before === 'step' ? gate.before : undefined;
      verdict = { action: String(event.action), reasons: reasons.map((reason) => String(reason.message ?? '')), gateBefore };
      break;
    } catch {
      // The first line of the tail is usually cut; a line cut by a crash too.
    }
  }
  cache.set(path, { size: info.size, verdict });
  return verdict;
}

/** The release's weight steps (promotion follows the last); undefined while its config.lock.json cannot be read. */
async function stepCount(projectDir: string, id: string, cache: Map<string, number>): Promise<number | undefined> {
  const known = cache.get(id);
  if (known !== undefined) return known;
  const steps = await readConfigLock(projectDir, id).then(
    (lock) => (Array.isArray(lock.config?.steps) ? lock.config.steps.length : undefined),
    () => undefined,
  );
  if (steps !== undefined) cache.set(id, steps);
  return steps;
}

/** The holder file of the release lock that `release start|resume|approve` take (see release.ts, state/lock.ts). */
function lockHolderFile(context: FeedContext, service: string): string {
  return join(userStateDir(context.env), 'locks', `${context.model.prefix}.release.${service}.holder.json`);
}

/** A controller runs when the lock's holder (this host) is alive. */
async function controllerHoldsLock(holderFile: string): Promise<boolean> {
  try {
    const holder = JSON.parse(await readFile(holderFile, 'utf8')) as { pid?: unknown; host?: unknown };
    if (typeof holder.pid !== 'number') return false;
    if (holder.host !== hostname()) return true;
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
