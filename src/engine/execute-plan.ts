/**
 * Walks a plan against the engine: builds, stale and orphan removal, networks and volumes, then
 * services in dependency order, as many in parallel as the graph allows, each gated on the
 * conditions its dependants declared. Makes no decisions of its own beyond following health: what
 * to do and why was decided by the planner.
 */
import { confineBindsAtCreate, confineVolumeDeviceAtCreate } from './bind-recheck.js';
import type { DependencyCondition, EnvironmentModel, ServiceModel } from '../definition/model.js';
import type { EventSink, ServicePhase } from '../events.js';
import { crashPoint } from '../fault.js';
import { environmentLabels, LABEL } from '../labels.js';
import type { Plan, PlanAction, ServiceAction } from '../plan/plan.js';
import { resourceConfigHash } from '../plan/hash.js';
import { buildServiceImage } from './build-image.js';
import { ContainerEventWatch } from './container-events.js';
import { containerSpecFor, stopTimeoutSeconds } from './container-spec.js';
import type { Engine } from './engine.js';
import { engineHonoursStartInterval, needsStartIntervalProbe, portsNotReady, runHealthProbe } from './readiness.js';
import type { ContainerStatus } from './types.js';

export interface ExecuteOptions {
  engine: Engine;
  model: EnvironmentModel;
  plan: Plan;
  emit: EventSink;
  signal: AbortSignal;
  /** How long a service may take to become ready (ms). */
  waitTimeoutMs: number;
  /** Wall clock (ms since the epoch): compared with the engine's StartedAt on the same machine. */
  now: () => number;
  /** Resolves after `ms`, or early when the signal aborts. */
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Poll interval while following a container (ms). */
  pollIntervalMs?: number;
}

export type ServiceOutcomeStatus = 'ready' | 'failed' | 'skipped' | 'cancelled';

export interface ServiceOutcome {
  service: string;
  action: ServiceAction['kind'];
  status: ServiceOutcomeStatus;
  /** running / healthy / completed, or why it failed or was skipped. */
  detail: string;
  containerId: string | undefined;
  /** The last lines of the container's output, for a failed service. */
  logTail: string[];
}

export interface ExecuteResult {
  ok: boolean;
  cancelled: boolean;
  services: ServiceOutcome[];
}

/** A container without a healthcheck counts as up once it has been running this long (ms). */
const MIN_UPTIME_MS = 1_000;
/** More restarts than this while we watch is a crash loop, not a slow start. */
const CRASH_LOOP_RESTARTS = 2;
const LOG_TAIL_LINES = 20;

type Readiness = { ok: true; detail: string } | { ok: false; detail: string; cancelled?: boolean };

export async function executePlan(options: ExecuteOptions): Promise<ExecuteResult> {
  const { engine, model, plan, emit, signal } = options;
  const startedAt = options.now();
  const at = () => Math.round(options.now() - startedAt);
  const phase = (service: string, next: ServicePhase, detail?: string) => emit({ type: 'service', at: at(), service, phase: next, ...(detail ? { detail } : {}) });

  const serviceActions = plan.actions.filter((action): action is Extract<ServiceAction, { hash: unknown }> => action.subject === 'service' && 'hash' in action);
  const outcomes = new Map<string, ServiceOutcome>();

  // 1. Images, one at a time (two cores; builds are CPU-bound).
  for (const action of plan.actions) {
    if (action.kind !== 'build') continue;
    if (signal.aborted) break;
    const service = model.services[action.service]!;
    phase(action.service, 'building', action.image);
    try {
      await buildServiceImage(engine, model, service, action.image, (line) => emit({ type: 'build-log', at: at(), service: action.service, line }), signal);
      phase(action.service, 'built', action.image);
    } catch (error) {
      if (signal.aborted) break;
      phase(action.service, 'failed', 'build failed');
      throw error;
    }
  }
  if (signal.aborted) return cancelledResult(serviceActions, outcomes);

  // 2. Leftovers and (with --remove-orphans) orphans, before anything new claims their names or ports.
  for (const action of plan.actions) {
    if (action.subject !== 'service' || (action.kind !== 'remove-stale' && action.kind !== 'remove')) continue;
    await engine.stopContainer(action.containerId, stopTimeoutSeconds(undefined));
    await engine.removeContainer(action.containerId);
    emit({ type: 'resource', at: at(), kind: 'container', name: action.containerName, action: 'removed' });
  }

  // Orphan networks (only planned with --remove-orphans), now that their containers are gone.
  for (const action of plan.actions) {
    if (action.kind !== 'remove' || action.subject !== 'network') continue;
    await engine.removeNetwork(action.name);
    emit({ type: 'resource', at: at(), kind: 'network', name: action.name, action: 'removed' });
  }

  // 3. Networks and volumes, all at once (independent of each other); the event stream for step 4
  // opens meanwhile — only when something will change: a no-change `up` does not open it.
  const watchOpening = serviceActions.some((action) => action.kind !== 'keep') ? ContainerEventWatch.open(engine, environmentLabels(model.project, model.env), signal) : Promise.resolve(undefined);
  const creations = plan.actions.map(async (action) => {
    if (action.kind !== 'create' || (action.subject !== 'network' && action.subject !== 'volume')) return;
    const labels = { ...model.labels, [LABEL.project]: model.project, [LABEL.env]: model.env };
    if (action.subject === 'network') {
      const network = model.networks[action.key]!;
      await engine.createNetwork({ ...network, labels: { ...network.labels, ...labels, [LABEL.network]: action.key, [LABEL.configHash]: resourceConfigHash(network) } });
    } else {
      // A bind volume's device re-checked, as bind mounts are before each create.
      const volume = await confineVolumeDeviceAtCreate(model.volumes[action.key]!, model.bindPolicy);
      await engine.createVolume({ ...volume, labels: { ...volume.labels, ...labels, [LABEL.volume]: action.key, [LABEL.configHash]: resourceConfigHash(volume) } });
    }
    emit({ type: 'resource', at: at(), kind: action.subject, name: action.name, action: 'created' });
  });
  const failedCreation = (await Promise.allSettled(creations)).find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failedCreation) {
    void watchOpening.then((opened) => opened?.close());
    throw failedCreation.reason;
  }

  // 4. Services: each waits for what it depends on, then converges, then is followed to readiness.
  const conditionsNeeded = neededConditions(model);
  // Asked once, when a service first needs it: start_interval support and whether host ports are on this machine.
  let facts: Promise<EngineFacts> | undefined;
  const engineFacts = () =>
    (facts ??= engine.ping().then(
      (info) => ({ honoursStartInterval: engineHonoursStartInterval(info.apiVersion), localPorts: info.endpoint.startsWith('unix://') }),
      () => ({ honoursStartInterval: false, localPorts: true }),
    ));
  const trackers = new Map<string, ServiceTracker>();
  for (const action of serviceActions) trackers.set(action.name, new ServiceTracker());

  const runService = async (action: (typeof serviceActions)[number]): Promise<void> => {
    const tracker = trackers.get(action.name)!;
    const service = model.services[action.name]!;
    const outcome = (status: ServiceOutcomeStatus, detail: string, containerId?: string, logTail: string[] = []) => {
      outcomes.set(action.name, { service: action.name, action: action.kind, status, detail, containerId, logTail });
      tracker.settle(status === 'ready' ? 'ready' : 'failed');
    };

    if (action.after.length > 0 && action.kind !== 'keep') phase(action.name, 'waiting', `for ${action.after.join(', ')}`);
    for (const dependency of action.after) {
      const condition = service.dependsOn[dependency]!.condition;
      const reached = await trackers.get(dependency)!.reached(condition);
      if (!reached) {
        if (signal.aborted) return outcome('cancelled', 'cancelled before it started');
        const required = service.dependsOn[dependency]!.required;
        if (required) {
          phase(action.name, 'skipped', `${dependency} did not become ${conditionWord(condition)}`);
          return outcome('skipped', `not started: ${dependency} did not become ${conditionWord(condition)}`);
        }
      }
    }
    if (signal.aborted) return outcome('cancelled', 'cancelled before it started');

    let containerId: string;
    try {
      containerId = await converge(options, action, service, phase);
    } catch (error) {
      phase(action.name, 'failed', messageOf(error));
      outcome('failed', messageOf(error));
      throw error;
    }
    const wanted = finalCondition(service, conditionsNeeded.get(action.name));
    if (action.kind !== 'keep') phase(action.name, wanted === 'service_healthy' ? 'health' : 'starting');
    let readiness: Readiness;
    try {
      // Between inspects, an engine event for the container (health_status, die, …) ends the wait early.
      const follow = watch ? { ...options, sleep: (ms: number, signal: AbortSignal) => watch.nextOrTimeout(containerId, ms, signal) } : options;
      // An unchanged service is not probed (a no-change `up` makes no engine writes; exec is one).
      readiness = await followUntilReady(follow, containerId, wanted, tracker, action.kind === 'keep' ? undefined : { service, engineFacts });
    } catch (error) {
      // Dependants wait on this service's tracker: it must settle whatever happens.
      phase(action.name, 'failed', messageOf(error));
      outcome('failed', messageOf(error), containerId);
      throw error;
    }
    if (readiness.ok) {
      phase(action.name, action.kind === 'keep' ? 'unchanged' : readyPhase(wanted), readiness.detail);
      return outcome('ready', readiness.detail, containerId);
    }
    if (readiness.cancelled) return outcome('cancelled', readiness.detail, containerId);
    const logTail = await engine
      .containerLogs(containerId, { tail: LOG_TAIL_LINES })
      .then((lines) => lines.map((line) => line.text))
      .catch(() => []);
    phase(action.name, 'failed', readiness.detail);
    return outcome('failed', readiness.detail, containerId, logTail);
  };

  const watch = await watchOpening;
  const results = await Promise.allSettled(serviceActions.map((action) => runService(action))).finally(() => watch?.close());
  const unexpected = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (unexpected) throw unexpected.reason;

  const services = serviceActions.map((action) => outcomes.get(action.name)!);
  const cancelled = signal.aborted;
  return { ok: !cancelled && services.every((outcome) => outcome.status === 'ready'), cancelled, services };
}

/** Creates, recreates (new container under a temporary name first) or starts; returns the container id. */
async function converge(
  options: ExecuteOptions,
  action: Extract<ServiceAction, { hash: unknown }>,
  service: ServiceModel,
  phase: (service: string, next: ServicePhase, detail?: string) => void,
): Promise<string> {
  const { engine, model } = options;
  // Bind sources resolved and re-checked right before create (a container may have planted a symlink since load).
  const spec = (name: string) => confineBindsAtCreate(containerSpecFor(model, service, { name, image: action.image, hash: action.hash }), model.bindPolicy, service.name);
  switch (action.kind) {
    case 'keep':
      return action.containerId;
    case 'start':
      phase(action.name, 'starting', action.reason);
      await engine.startContainer(action.containerId);
      return action.containerId;
    case 'create': {
      phase(action.name, 'creating');
      const id = await engine.createContainer(await spec(action.containerName));
      crashPoint('after-create');
      await engine.startContainer(id);
      return id;
    }
    case 'recreate': {
      phase(action.name, 'recreating', action.reason);
      // create-tmp → stop old → remove old → rename → start: a crash at any step leaves labelled
      // containers that the next plan finds (a stray tmp is removed, a missing service is created).
      const id = await engine.createContainer(await spec(`${action.containerName}-envctl-tmp`));
      crashPoint('after-create-tmp');
      await engine.stopContainer(action.containerId, stopTimeoutSeconds(service));
      crashPoint('after-stop-old');
      await engine.removeContainer(action.containerId);
      crashPoint('after-remove-old');
      await engine.renameContainer(id, action.containerName);
      crashPoint('after-rename');
      await engine.startContainer(id);
      crashPoint('after-start');
      return id;
    }
  }
}

interface EngineFacts {
  /** The engine runs start_interval probes itself (API 1.44+). */
  honoursStartInterval: boolean;
  /** Published ports are on this machine (a local socket), so the host side can be checked. */
  localPorts: boolean;
}

/** What envctl checks itself while following a service it created or started (readiness.ts). */
interface Probes {
  service: ServiceModel;
  engineFacts: () => Promise<EngineFacts>;
}

/**
 * Polls the container until it satisfies `wanted` (and the readiness every service needs), fails,
 * or times out. With `probes`: a healthcheck's start_interval is run by envctl on engines that
 * ignore it, and a service with published ports and no healthcheck is started (for its
 * dependants) and ready only once those ports answer on the host and listen inside.
 */
async function followUntilReady(options: ExecuteOptions, containerId: string, wanted: DependencyCondition, tracker: ServiceTracker, probes?: Probes): Promise<Readiness> {
  const deadline = options.now() + options.waitTimeoutMs;
  let firstRestartCount: number | undefined;
  let last: ContainerStatus | undefined;
  const healthcheck = probes?.service.healthcheck;
  const startInterval = probes && wanted === 'service_healthy' && needsStartIntervalProbe(healthcheck) && !(await probes.engineFacts()).honoursStartInterval ? healthcheck : undefined;
  let nextProbeAt = 0;
  const gateOnPorts = probes !== undefined && wanted === 'service_started' && (!healthcheck || healthcheck.disabled) && probes.service.ports.some((port) => port.protocol === 'tcp');
  // What the port check still waits for; undefined once every port answered (checked no more after that).
  let portsWaiting: string | undefined = gateOnPorts ? 'its ports were never checked (the container did not run)' : undefined;
  for (;;) {
    if (options.signal.aborted) return { ok: false, detail: 'cancelled', cancelled: true };
    const status = await options.engine.inspectContainer(containerId);
    last = status;
    firstRestartCount ??= status.restartCount;
    if (status.startedAt && !gateOnPorts) tracker.observe('service_started');
    if (status.health === 'healthy') tracker.observe('service_healthy');

    const restarts = status.restartCount - firstRestartCount;
    if (wanted === 'service_completed_successfully') {
      if (status.state === 'exited' && status.exitCode === 0) {
        tracker.observe('service_completed_successfully');
        return { ok: true, detail: 'completed' };
      }
      if (status.state === 'exited' || status.state === 'dead') return { ok: false, detail: exitDetail(status) };
    } else {
      if (status.state === 'exited' || status.state === 'dead') {
        return { ok: false, detail: status.exitCode === 0 ? `${exitDetail(status)}; a one-shot service must be declared with condition: service_completed_successfully by a dependant` : exitDetail(status) };
      }
      if (restarts >= CRASH_LOOP_RESTARTS || (status.state === 'restarting' && restarts >= 1)) {
        return { ok: false, detail: `crash-looping (restarted ${status.restartCount} times, last exit code ${status.exitCode})` };
      }
      if (status.health === 'unhealthy') return { ok: false, detail: `unhealthy${status.healthOutput ? `: ${firstLine(status.healthOutput)}` : ''}` };
      const running = status.state === 'running';
      if (wanted === 'service_healthy' && running && status.health === 'healthy') return { ok: true, detail: 'healthy' };
      if (startInterval && running && status.health === 'starting' && status.startedAt && options.now() - Date.parse(status.startedAt) < startInterval.startPeriodMs && options.now() >= nextProbeAt) {
        nextProbeAt = options.now() + startInterval.startIntervalMs;
        if (await runHealthProbe(options.engine, containerId, startInterval)) {
          tracker.observe('service_healthy');
          return { ok: true, detail: 'healthy (start_interval probe run by envctl: this engine ignores start_interval; its own status follows at its next probe)' };
        }
      }
      if (portsWaiting !== undefined && running && status.startedAt) {
        portsWaiting = await portsNotReady(options.engine, containerId, status.ports ?? [], { hostSide: (await probes!.engineFacts()).localPorts });
        if (portsWaiting === undefined) tracker.observe('service_started');
      }
      if (wanted === 'service_started' && running && status.startedAt && options.now() - Date.parse(status.startedAt) >= MIN_UPTIME_MS && portsWaiting === undefined) {
        return { ok: true, detail: 'running' };
      }
    }
    if (options.now() >= deadline) {
      if (portsWaiting && last.state === 'running') return { ok: false, detail: `not ready after ${Math.round(options.waitTimeoutMs / 1000)}s: ${portsWaiting}` };
      return { ok: false, detail: `not ${conditionWord(wanted)} after ${Math.round(options.waitTimeoutMs / 1000)}s (state ${last.state}${last.health ? `, health ${last.health}` : ''})` };
    }
    await options.sleep(options.pollIntervalMs ?? 250, options.signal);
  }
}

/** Per service: which conditions have been reached, so dependants can proceed as early as allowed. */
class ServiceTracker {
  private readonly reachedConditions = new Set<DependencyCondition>();
  private final: 'ready' | 'failed' | undefined;
  private waiters: Array<() => void> = [];

  observe(condition: DependencyCondition): void {
    if (this.reachedConditions.has(condition)) return;
    this.reachedConditions.add(condition);
    this.wake();
  }

  settle(result: 'ready' | 'failed'): void {
    this.final = result;
    this.wake();
  }

  /** Resolves true once `condition` is reached, false if the service settles without reaching it. */
  async reached(condition: DependencyCondition): Promise<boolean> {
    for (;;) {
      if (this.reachedConditions.has(condition)) return true;
      if (this.final !== undefined) return false;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The strongest condition any dependant declares on each service. */
function neededConditions(model: EnvironmentModel): Map<string, DependencyCondition> {
  const out = new Map<string, DependencyCondition>();
  for (const service of Object.values(model.services)) {
    for (const [dependency, spec] of Object.entries(service.dependsOn)) {
      if (spec.condition === 'service_completed_successfully' || (spec.condition === 'service_healthy' && out.get(dependency) !== 'service_completed_successfully')) {
        out.set(dependency, spec.condition);
      } else if (!out.has(dependency)) {
        out.set(dependency, spec.condition);
      }
    }
  }
  return out;
}

/** What "ready" means for a service at the end of `up`: healthy if it has a healthcheck, completed if it is a one-shot, else running. */
function finalCondition(service: ServiceModel, needed: DependencyCondition | undefined): DependencyCondition {
  if (needed === 'service_completed_successfully') return needed;
  if (service.healthcheck && !service.healthcheck.disabled) return 'service_healthy';
  return 'service_started';
}

function readyPhase(condition: DependencyCondition): ServicePhase {
  return condition === 'service_healthy' ? 'healthy' : condition === 'service_completed_successfully' ? 'completed' : 'running';
}

function conditionWord(condition: DependencyCondition): string {
  return condition === 'service_healthy' ? 'healthy' : condition === 'service_completed_successfully' ? 'completed successfully' : 'running';
}

function exitDetail(status: ContainerStatus): string {
  return `exited (${status.exitCode})${status.oomKilled ? ', killed for using too much memory' : ''}`;
}

function cancelledResult(actions: ReadonlyArray<Extract<ServiceAction, { hash: unknown }>>, outcomes: Map<string, ServiceOutcome>): ExecuteResult {
  const services = actions.map(
    (action) => outcomes.get(action.name) ?? { service: action.name, action: action.kind, status: 'cancelled' as const, detail: 'cancelled before it started', containerId: undefined, logTail: [] },
  );
  return { ok: false, cancelled: true, services };
}

function firstLine(text: string): string {
  return text.split('\n').find((line) => line.trim() !== '')?.trim() ?? text;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export type { PlanAction };
