/**
 * `startEnvironment({ waitFor })`: what a test suite waits for beyond `up`'s readiness, in the
 * spirit of Testcontainers' wait strategies: a line in a service's log, an HTTP answer on its
 * published port, or a port that answers on the host and listens inside the container. Each runs
 * after the environment is up, until it holds or its timeout passes; a strategy that times out
 * fails the start with an error naming the service and what was awaited.
 */
import { parseDurationMs } from '../definition/values.js';
import type { Engine } from '../engine/engine.js';
import { portsNotReady } from '../engine/readiness.js';
import { UsageError, WorkFailedError } from '../errors.js';
import { LABEL } from '../labels.js';

export type WaitStrategy =
  /** A log line (stdout or stderr) matching `log` (a RegExp, or a substring), `times` times (default 1). */
  | { log: RegExp | string; times?: number; timeout?: number | string }
  /** `GET path` on the service's published port (`port`: the container port; default its first) answering `status` (default 200). */
  | { http: string; port?: number; status?: number; timeout?: number | string }
  /** The container port answers on its published host port and listens inside the container. */
  | { port: number; timeout?: number | string };

/** Service name → what to wait for (several run in order). */
export type WaitFor = Record<string, WaitStrategy | readonly WaitStrategy[]>;

export interface WaitContext {
  /** Named first in errors (`<project>: service web: …`). */
  project: string;
  engine: Engine;
  labels: Record<string, string>;
  services: readonly string[];
  /** `http://host:port` of a service's container port (default: its first published port); throws when not published. */
  url(service: string, containerPort?: number): string;
  address(service: string, containerPort?: number): { host: string; port: number };
  /** When the start's own timeout ends (ms since the epoch): no strategy waits beyond it. */
  deadline: number;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  signal: AbortSignal;
}

const POLL_MS = 250;
const LAST_LINES = 5;

/** Checks the shapes before anything starts (exit 2 for a mistake in the options). */
export function checkWaitFor(waitFor: WaitFor | undefined, services: readonly string[]): void {
  for (const [service, value] of Object.entries(waitFor ?? {})) {
    if (!services.includes(service)) throw new UsageError('UNKNOWN_SERVICE', `waitFor names "${service}", which is not a service of the definition`, `services: ${services.join(', ')}`);
    for (const strategy of list(value)) {
      const kinds = (['log', 'http', 'port'] as const).filter((key) => key in strategy);
      if (kinds.length !== 1) throw new UsageError('BAD_WAIT_STRATEGY', `waitFor.${service}: give exactly one of log, http or port (got ${kinds.join(', ') || 'none'})`, "e.g. { log: /ready/ }, { http: '/healthz' } or { port: 5432 }");
      if (strategy.timeout !== undefined) strategyTimeout(service, strategy.timeout);
    }
  }
}

/** Runs every strategy in turn; throws WorkFailedError (NOT_READY) naming the service and what did not happen. */
export async function runWaitStrategies(waitFor: WaitFor | undefined, context: WaitContext): Promise<void> {
  for (const [service, value] of Object.entries(waitFor ?? {})) {
    for (const strategy of list(value)) {
      const limit = strategy.timeout === undefined ? context.deadline : Math.min(context.deadline, context.now() + strategyTimeout(service, strategy.timeout));
      const seconds = `${Math.max(0, Math.round((limit - context.now()) / 100) / 10)}s`;
      let last = 'nothing yet';
      for (;;) {
        const result = await attempt(service, strategy, context).catch((error: unknown) => ({ ok: false, last: error instanceof Error ? error.message : String(error) }));
        if (result.ok) break;
        last = result.last;
        if (context.signal.aborted) throw new WorkFailedError('CANCELLED', `${context.project}: service ${service}: cancelled while waiting for ${describe(strategy)}`);
        if (context.now() >= limit) {
          throw new WorkFailedError('NOT_READY', `${context.project}: service ${service}: ${describe(strategy)} did not happen within ${seconds} (${last})`, 'raise the strategy\'s `timeout`, or look at the service with env.logs() in a start that succeeds; everything that was created has been removed');
        }
        await context.sleep(Math.min(POLL_MS, Math.max(0, limit - context.now())), context.signal);
      }
    }
  }
}

async function attempt(service: string, strategy: WaitStrategy, context: WaitContext): Promise<{ ok: boolean; last: string }> {
  if ('log' in strategy) {
    const id = await containerOf(service, context);
    const lines = (await context.engine.containerLogs(id, {})).map((line) => line.text);
    const matches = lines.filter((line) => (typeof strategy.log === 'string' ? line.includes(strategy.log) : new RegExp(strategy.log.source, strategy.log.flags.replace('g', '')).test(line))).length;
    const times = strategy.times ?? 1;
    return { ok: matches >= times, last: `${matches} of ${times} matching line${times === 1 ? '' : 's'}; last log lines: ${JSON.stringify(lines.slice(-LAST_LINES))}` };
  }
  if ('http' in strategy) {
    const url = `${context.url(service, strategy.port)}${strategy.http.startsWith('/') ? '' : '/'}${strategy.http}`;
    const wanted = strategy.status ?? 200;
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) }).catch((error: unknown) => (error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)));
    if (typeof response === 'string') return { ok: false, last: `last attempt: ${response}` };
    await response.arrayBuffer().catch(() => undefined);
    return { ok: response.status === wanted, last: `last answer: ${response.status}` };
  }
  const address = context.address(service, strategy.port);
  const id = await containerOf(service, context);
  const waiting = await portsNotReady(context.engine, id, [{ target: strategy.port, protocol: 'tcp', hostIp: address.host, published: address.port }], { hostSide: true });
  return { ok: waiting === undefined, last: waiting ?? '' };
}

async function containerOf(service: string, context: WaitContext): Promise<string> {
  const containers = await context.engine.listContainers({ ...context.labels, [LABEL.service]: service });
  const own = containers.find((container) => !container.labels[LABEL.slot]);
  if (!own) throw new Error(`service ${service} has no container`);
  if (own.state !== 'running') throw new Error(`the container is ${own.state}`);
  return own.id;
}

function describe(strategy: WaitStrategy): string {
  if ('log' in strategy) return `a log line matching ${typeof strategy.log === 'string' ? JSON.stringify(strategy.log) : String(strategy.log)}${(strategy.times ?? 1) > 1 ? ` ${strategy.times} times` : ''}`;
  if ('http' in strategy) return `GET ${strategy.http}${strategy.port ? ` on port ${strategy.port}` : ''} answering ${strategy.status ?? 200}`;
  return `port ${strategy.port}/tcp listening`;
}

function strategyTimeout(service: string, timeout: number | string): number {
  if (typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0) return timeout;
  if (typeof timeout === 'string') {
    try {
      return parseDurationMs(timeout);
    } catch {
      // reported below
    }
  }
  throw new UsageError('BAD_TIMEOUT', `waitFor.${service}: invalid timeout ${JSON.stringify(timeout)}`, 'give milliseconds above 0, or a duration such as 30s');
}

function list(value: WaitStrategy | readonly WaitStrategy[]): readonly WaitStrategy[] {
  return Array.isArray(value) ? value : [value as WaitStrategy];
}
