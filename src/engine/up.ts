/**
 * `envctl up`: load and validate, check the engine, lock the environment, plan, check what would
 * fail half-way (missing images, taken ports) before anything is created, then execute.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:net';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import { EnvironmentError, WorkFailedError } from '../errors.js';
import type { EventSink } from '../events.js';
import { planHasChanges, summarisePlan, type PlanSummary } from '../plan/plan.js';
import { planAgainstEngine, type PreparedPlan } from '../plan/prepare-plan.js';
import { lockEnvironment } from '../state/lock.js';
import { verifyLocked } from '../lockfile/collect.js';
import type { Engine } from './engine.js';
import { executePlan, type ServiceOutcome } from './execute-plan.js';

export interface UpOptions {
  load: LoadOptions;
  engine: Engine;
  removeOrphans: boolean;
  /** `--locked`: refuse unless every image is the one `envctl.lock` names (before anything is built or created). */
  locked?: boolean;
  waitTimeoutMs: number;
  emit: EventSink;
  signal: AbortSignal;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Changes the loaded model before planning (the testing API: its own project name, engine-chosen host ports). */
  adapt?: ((model: EnvironmentModel) => EnvironmentModel) | undefined;
}

export interface UpResult {
  project: string;
  env: string;
  ok: boolean;
  cancelled: boolean;
  /** False when the plan had nothing to do (a no-op `up`). */
  changed: boolean;
  durationMs: number;
  plan: PlanSummary;
  services: ServiceOutcome[];
}

export async function upEnvironment(options: UpOptions): Promise<UpResult> {
  const startedAt = options.now();
  const loaded = await loadDefinition(options.load);
  const model = options.adapt ? options.adapt(loaded) : loaded;
  const engineInfo = await options.engine.ping();
  const lock = await lockEnvironment({ prefix: model.prefix, env: options.load.processEnv, command: 'envctl up', now: () => new Date(options.now()) });
  try {
    if (options.locked) await verifyLocked(model, options.engine, options.now);
    const prepared = await planAgainstEngine(model, options.engine, options.removeOrphans);
    checkImagesPresent(prepared);
    checkVolumesUnchanged(prepared);
    await checkPortsFree(prepared);
    const changed = planHasChanges(prepared.plan);
    options.emit({ type: 'operation', at: 0, operation: 'up', project: model.project, env: model.env, services: Object.keys(model.services) });
    for (const warning of prepared.plan.warnings) options.emit({ type: 'warning', at: 0, message: warning });
    // Secrets in plain environment values (the value itself is never shown).
    for (const warning of model.warnings.filter((item) => item.code === 'SECRET_IN_ENVIRONMENT')) options.emit({ type: 'warning', at: 0, message: `${warning.file}:${warning.line}:${warning.col} ${warning.message}` });
    const loopbackWarning = loopbackExposureWarning(engineInfo.version, model);
    if (loopbackWarning) options.emit({ type: 'warning', at: 0, message: loopbackWarning });
    for (const action of prepared.plan.actions) {
      if (action.kind === 'orphan') options.emit({ type: 'warning', at: 0, message: `${action.subject} ${action.name}: ${action.reason}` });
    }
    const result = await executePlan({
      engine: options.engine,
      model,
      plan: prepared.plan,
      emit: options.emit,
      signal: options.signal,
      waitTimeoutMs: options.waitTimeoutMs,
      now: options.now,
      sleep: options.sleep,
    });
    const durationMs = Math.round(options.now() - startedAt);
    options.emit({ type: 'done', at: durationMs, ok: result.ok, cancelled: result.cancelled, summary: summarise(model, result.services, durationMs, result.cancelled) });
    return { project: model.project, env: model.env, ok: result.ok, cancelled: result.cancelled, changed, durationMs, plan: summarisePlan(prepared.plan), services: result.services };
  } finally {
    await lock.release();
  }
}

/** A service whose image is neither built by envctl nor present fails now, naming both: envctl never pulls. */
function checkImagesPresent(prepared: PreparedPlan): void {
  const missing = Object.values(prepared.model.services).filter((service) => !service.build && !prepared.observed.images.has(service.image!));
  if (missing.length === 0) return;
  const list = missing.map((service) => `${service.image} (service ${service.name})`).join(', ');
  throw new WorkFailedError('IMAGE_MISSING', `image not present in the engine: ${list}`, 'envctl never pulls from a registry: build it (`build:`), `docker pull` or `docker load` it first');
}

/**
 * A named volume whose driver or options changed in the definition would have to be recreated,
 * which loses its data: `up` refuses before anything changes, naming it; only an explicit
 * `envctl down --volumes` removes it (reliability.md row 5).
 */
function checkVolumesUnchanged(prepared: PreparedPlan): void {
  const changed = prepared.plan.actions.filter((action) => action.subject === 'volume' && action.kind === 'keep' && action.reason !== 'exists').map((action) => action.name);
  if (changed.length === 0) return;
  throw new WorkFailedError(
    'VOLUME_CHANGED',
    `the configuration of volume ${changed.join(', ')} changed in the definition (driver or options); applying it means recreating the volume, which deletes its data`,
    'revert the change to keep the data, or remove the volume explicitly with `envctl down --volumes` (its data is lost) and run `envctl up`; nothing was changed',
  );
}

/** Host ports the plan will bind must be free (ports a service's current container already holds are fine). */
async function checkPortsFree(prepared: PreparedPlan): Promise<void> {
  const held = new Set(prepared.observed.containers.flatMap((container) => container.ports.map((port) => `${container.service}/${port.protocol}/${port.published}`)));
  const taken: string[] = [];
  for (const action of prepared.plan.actions) {
    if (action.subject !== 'service' || !['create', 'recreate', 'start'].includes(action.kind)) continue;
    for (const port of prepared.model.services[action.name]!.ports) {
      if (port.published === undefined || held.has(`${action.name}/${port.protocol}/${port.published}`)) continue;
      const problem = await probePort(port.hostIp, port.published, port.protocol);
      if (problem) taken.push(`${port.hostIp}:${port.published}/${port.protocol} (service ${action.name}): ${problem}`);
    }
  }
  if (taken.length > 0) {
    throw new EnvironmentError('PORT_IN_USE', `host port not available: ${taken.join('; ')}`, 'stop what uses it (`ss -ltnp` shows the process) or publish the service on another port; nothing was created');
  }
}

/** Whether this machine lets envctl bind a host port now: undefined when free, else why not (`already in use`). */
export function probePort(host: string, port: number, protocol: 'tcp' | 'udp'): Promise<string | undefined> {
  const explain = (error: NodeJS.ErrnoException) =>
    error.code === 'EADDRINUSE' ? 'already in use' : error.code === 'EADDRNOTAVAIL' ? `${host} is not an address of this machine` : error.code === 'EACCES' ? 'permission denied' : (error.code ?? String(error));
  return new Promise((resolve) => {
    if (protocol === 'udp') {
      const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
      socket.once('error', (error) => {
        socket.close();
        resolve(explain(error));
      });
      socket.bind(port, host, () => socket.close(() => resolve(undefined)));
      return;
    }
    const server = createServer();
    server.once('error', (error) => resolve(explain(error)));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Before Engine 28, a port published on 127.0.0.1 could still be reached from other hosts on the
 * same LAN (moby#45610): say so when the environment publishes ports on such an engine.
 */
export function loopbackExposureWarning(engineVersion: string, model: Pick<EnvironmentModel, 'services'>): string | undefined {
  const publishes = Object.values(model.services).some((service) => service.ports.length > 0);
  return publishes ? engineLoopbackWarning(engineVersion) : undefined;
}

/** The same warning for an engine, whatever an environment publishes (`envctl doctor`); undefined from Engine 28 on or for a version it cannot read. */
export function engineLoopbackWarning(engineVersion: string): string | undefined {
  const major = Number.parseInt(engineVersion, 10);
  if (!Number.isFinite(major) || major >= 28) return undefined;
  return `Docker Engine ${engineVersion} is older than 28: ports published on 127.0.0.1 may be reachable from other hosts on the same network (moby#45610); upgrade the engine where that matters`;
}

function summarise(model: EnvironmentModel, services: readonly ServiceOutcome[], durationMs: number, cancelled: boolean): string {
  const seconds = (durationMs / 1000).toFixed(1);
  if (cancelled) return `cancelled after ${seconds}s; run \`envctl up\` again to converge or \`envctl down\` to remove`;
  const failed = services.filter((outcome) => outcome.status === 'failed');
  if (failed.length > 0) return `${failed.map((outcome) => `${outcome.service}: ${outcome.detail}`).join('; ')} (after ${seconds}s)`;
  const count = (kind: string) => services.filter((outcome) => outcome.action === kind).length;
  const parts = [['create', 'created'], ['recreate', 'recreated'], ['start', 'started'], ['keep', 'unchanged']]
    .filter(([kind]) => count(kind!) > 0)
    .map(([kind, word]) => `${count(kind!)} ${word}`);
  return `${model.project} (env ${model.env}): ${services.length} service${services.length === 1 ? '' : 's'} ready in ${seconds}s (${parts.join(', ')})`;
}
