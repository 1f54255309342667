/**
 * `envctl up --target swarm`: build what is missing on this engine, (with a registry) push, plan
 * against what the swarm holds, then create networks, secrets and configs, and create or update
 * services in dependency order, each followed until its tasks run the new spec (the service's
 * update_config decides how swarm rolls them; a paused or rolled-back update fails the service).
 *
 * Without a registry the spec names each image by its local ID: a single-node swarm runs it as it
 * is, and a node never pulls an image named by ID. With `registry`, images are tagged
 * `<registry>/<ref>` and pushed, and the spec names that (each node pulls it).
 */
import { readFile } from 'node:fs/promises';
import { confineModelBinds } from '../engine/bind-recheck.js';
import { builtImageRefs, buildServiceImage } from '../engine/build-image.js';
import type { Engine } from '../engine/engine.js';
import type { EnvironmentModel } from '../definition/model.js';
import { loadDefinition, type LoadOptions } from '../definition/resolve.js';
import { EnvironmentError, UsageError, WorkFailedError } from '../errors.js';
import type { EventSink } from '../events.js';
import { LABEL } from '../labels.js';
import { sha256 } from '../plan/hash.js';
import { lockEnvironment } from '../state/lock.js';
import { planSwarm, summariseSwarmPlan, swarmPlanHasChanges, type ObservedStack, type SwarmPlan, type SwarmPlanSummary } from './plan.js';
import { desiredStack, serviceSpecFor, stackSelector, type DesiredService, type DesiredStack, type SwarmImage } from './spec.js';
import type { ObservedTask, SwarmEngine } from './types.js';

export interface SwarmContext {
  engine: Engine;
  swarm: SwarmEngine;
  /** `--registry HOST[:PORT][/PATH]`: push images there and deploy them from there. */
  registry: string | undefined;
  now: () => number;
}

export interface PreparedSwarm {
  model: EnvironmentModel;
  desired: DesiredStack;
  observed: ObservedStack;
  plan: SwarmPlan;
  /** Built services whose image does not exist yet, with the tag to build. */
  toBuild: Array<{ service: string; ref: string }>;
  /** Images of `image:` services that are not on this engine. */
  missing: string[];
}

/** Checks the engine answers and is a swarm manager (exit 3 with what to do otherwise). */
export async function checkSwarm(context: SwarmContext): Promise<void> {
  await context.engine.ping();
  const info = await context.swarm.swarmInfo();
  if (info.state !== 'active' || !info.isManager) {
    throw new EnvironmentError(
      'NOT_A_SWARM',
      info.state === 'active' ? 'this Docker engine is a swarm worker, not a manager' : `this Docker engine is not in a swarm (state: ${info.state})`,
      'run `docker swarm init` (one machine: `docker swarm init --advertise-addr 127.0.0.1`), or point DOCKER_HOST at a manager',
    );
  }
}

export function checkRegistry(registry: string | undefined): string | undefined {
  if (registry === undefined || registry === '') return undefined;
  if (!/^[a-zA-Z0-9.-]+(:\d{1,5})?(\/[a-z0-9._/-]+)?$/.test(registry) || registry.endsWith('/')) {
    throw new UsageError('BAD_REGISTRY', `invalid --registry "${registry}"`, 'give a registry host, e.g. registry.example.com:5000 or registry.example.com/team');
  }
  return registry;
}

/** Desired stack and plan for a loaded model (reads secret and config files to hash them). */
export async function prepareSwarm(loaded: EnvironmentModel, context: SwarmContext, removeOrphans: boolean): Promise<PreparedSwarm> {
  // Bind sources resolved and re-checked now, as locally before each create (a container may have planted a symlink since load).
  const model = await confineModelBinds(loaded);
  const built = await builtImageRefs(model, context.now);
  const display = Object.fromEntries(Object.values(model.services).map((service) => [service.name, built[service.name]?.ref ?? service.image!]));
  const ids = await context.engine.imageIds(Object.values(display));
  const images: Record<string, SwarmImage> = {};
  const toBuild: PreparedSwarm['toBuild'] = [];
  const missing: string[] = [];
  for (const [service, ref] of Object.entries(display)) {
    const id = ids.get(ref);
    if (!id) (built[service] ? toBuild.push({ service, ref }) : missing.push(ref));
    // Not built yet: the plan shows an image change; the deploy plans again after building.
    images[service] = { ref: context.registry ? `${context.registry}/${ref}` : (id ?? `${ref} (to build)`), display: ref };
  }
  const fileHashes: Record<string, string> = {};
  for (const kind of ['secret', 'config'] as const) {
    for (const object of Object.values((kind === 'secret' ? model.secrets : model.configs) ?? {})) fileHashes[`${kind}:${object.key}`] = sha256((await readFile(object.file)).toString('base64'));
  }
  const desired = desiredStack(model, { images, fileHashes });
  const selector = stackSelector(model);
  const [services, networks, secrets, configs] = await Promise.all([
    context.swarm.listServices(selector),
    context.engine.listNetworks(selector),
    context.swarm.listSecrets(selector),
    context.swarm.listConfigs(selector),
  ]);
  const observed = { services, networks, secrets, configs };
  const planned = planSwarm({ project: model.project, env: model.env, desired, observed, removeOrphans });
  const builds = toBuild.map(({ service, ref }) => ({ kind: 'build' as const, subject: 'image' as const, name: ref, service, reason: `build inputs changed (no image ${ref})` }));
  const plan = { ...planned, actions: [...builds, ...planned.actions] };
  return { model, desired, observed, plan, toBuild, missing };
}

export interface SwarmUpOptions extends SwarmContext {
  load: LoadOptions;
  removeOrphans: boolean;
  waitTimeoutMs: number;
  emit: EventSink;
  signal: AbortSignal;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Poll interval while following tasks (ms). */
  pollIntervalMs?: number;
}

export interface SwarmServiceOutcome {
  service: string;
  action: 'create' | 'update' | 'keep';
  status: 'ready' | 'failed' | 'skipped' | 'cancelled';
  /** `2/2 tasks running`, or why it failed. */
  detail: string;
  replicas: number | undefined;
  running: number;
}

export interface SwarmUpResult {
  project: string;
  env: string;
  target: 'swarm';
  stack: string;
  ok: boolean;
  cancelled: boolean;
  changed: boolean;
  durationMs: number;
  plan: SwarmPlanSummary;
  services: SwarmServiceOutcome[];
  warnings: string[];
}

export async function swarmUp(options: SwarmUpOptions): Promise<SwarmUpResult> {
  const startedAt = options.now();
  const at = () => Math.round(options.now() - startedAt);
  const registry = checkRegistry(options.registry);
  const context = { ...options, registry };
  const model = await loadDefinition(options.load);
  await checkSwarm(context);
  const lock = await lockEnvironment({ prefix: `${model.prefix}.swarm`, env: options.load.processEnv, command: 'envctl up --target swarm', now: () => new Date(options.now()) });
  try {
    let prepared = await prepareSwarm(model, context, options.removeOrphans);
    if (prepared.missing.length > 0) {
      throw new WorkFailedError('IMAGE_MISSING', `image not present in the engine: ${prepared.missing.join(', ')}`, 'envctl never pulls from a registry: build it (`build:`), `docker pull` or `docker load` it first');
    }
    options.emit({ type: 'operation', at: 0, operation: 'up', project: model.project, env: model.env, services: Object.keys(model.services) });
    for (const { service, ref } of prepared.toBuild) {
      options.emit({ type: 'service', at: at(), service, phase: 'building', detail: ref });
      await buildServiceImage(options.engine, model, model.services[service]!, ref, (line) => options.emit({ type: 'build-log', at: at(), service, line }), options.signal);
      options.emit({ type: 'service', at: at(), service, phase: 'built', detail: ref });
    }
    if (prepared.toBuild.length > 0) prepared = await prepareSwarm(model, context, options.removeOrphans);
    if (registry) {
      for (const service of prepared.desired.services) {
        options.emit({ type: 'service', at: at(), service: service.service, phase: 'building', detail: `pushing ${service.image.ref}` });
        await options.swarm.pushImage(service.image.display, service.image.ref, () => undefined);
      }
    }
    const { plan, desired } = prepared;
    for (const warning of plan.warnings) options.emit({ type: 'warning', at: at(), message: warning });
    for (const action of plan.actions) if (action.kind === 'orphan') options.emit({ type: 'warning', at: at(), message: `${action.subject} ${action.name}: ${action.reason}` });

    for (const action of plan.actions) {
      if (action.subject !== 'network' || action.kind !== 'create') continue;
      const network = desired.networks.find((candidate) => candidate.key === action.key)!;
      await options.swarm.createOverlayNetwork({ name: network.name, labels: network.labels, internal: network.internal, driverOpts: network.driverOpts });
      options.emit({ type: 'resource', at: at(), kind: 'network', name: network.name, action: 'created' });
    }
    for (const action of plan.actions) {
      if ((action.subject !== 'secret' && action.subject !== 'config') || action.kind !== 'create') continue;
      const file = desired.files.find((candidate) => candidate.kind === action.subject && candidate.key === action.key)!;
      const data = await readFile(file.file);
      await (file.kind === 'secret' ? options.swarm.createSecret(file.name, data, file.labels) : options.swarm.createConfig(file.name, data, file.labels));
    }
    const selector = stackSelector(model);
    const [secrets, configs] = await Promise.all([options.swarm.listSecrets(selector), options.swarm.listConfigs(selector)]);
    const objectIds = new Map([...secrets, ...configs].map((object) => [object.name, object.id]));

    const outcomes = new Map<string, SwarmServiceOutcome>();
    let cancelled = false;
    for (const service of desired.services) {
      const action = plan.actions.find((candidate) => candidate.subject === 'service' && candidate.service === service.service && (candidate.kind === 'create' || candidate.kind === 'update' || candidate.kind === 'keep'));
      if (!action || action.subject !== 'service' || (action.kind !== 'create' && action.kind !== 'update' && action.kind !== 'keep')) continue;
      const failedDependency = service.after.find((dependency) => outcomes.get(dependency)?.status !== 'ready');
      if (options.signal.aborted) cancelled = true;
      if (cancelled || failedDependency) {
        const detail = cancelled ? 'cancelled' : `dependency ${failedDependency} is not ready`;
        outcomes.set(service.service, { service: service.service, action: action.kind, status: cancelled ? 'cancelled' : 'skipped', detail, replicas: service.replicas, running: 0 });
        options.emit({ type: 'service', at: at(), service: service.service, phase: 'skipped', detail });
        continue;
      }
      const spec = serviceSpecFor(model, desired, service, objectIds);
      let id: string;
      if (action.kind === 'create') {
        options.emit({ type: 'service', at: at(), service: service.service, phase: 'creating', detail: service.replicas === undefined ? 'global' : `${service.replicas} replica(s)` });
        id = await options.swarm.createService(spec);
      } else if (action.kind === 'update') {
        options.emit({ type: 'service', at: at(), service: service.service, phase: 'recreating', detail: `rolling update: ${action.reason}` });
        const current = prepared.observed.services.find((candidate) => candidate.id === action.id)!;
        await options.swarm.updateService(action.id, current.version, spec);
        id = action.id;
      } else {
        id = action.id;
      }
      // The update state the service had before: a paused or rolled-back state left by an earlier update is not this one's.
      const before = action.kind === 'create' ? undefined : prepared.observed.services.find((candidate) => candidate.id === action.id)?.updateStartedAt;
      const outcome = await waitForService(options, service, id, action.kind, before, at);
      outcomes.set(service.service, outcome);
      if (outcome.status === 'cancelled') cancelled = true;
      const hasHealthcheck = model.services[service.service]!.healthcheck?.disabled === false;
      options.emit({
        type: 'service',
        at: at(),
        service: service.service,
        phase: outcome.status === 'ready' ? (action.kind === 'keep' ? 'unchanged' : hasHealthcheck ? 'healthy' : 'running') : outcome.status === 'cancelled' ? 'skipped' : 'failed',
        detail: outcome.detail,
      });
    }

    for (const action of plan.actions) {
      if (action.subject === 'service' && action.kind === 'remove') {
        await options.swarm.removeService(action.id);
        options.emit({ type: 'service', at: at(), service: action.service, phase: 'removed' });
      }
    }
    const ok = !cancelled && [...outcomes.values()].every((outcome) => outcome.status === 'ready');
    const warnings = [...plan.warnings];
    if (ok) {
      // Old versions of secrets and configs: swarm refuses while a service still names one (kept then, removed by a later up or down).
      for (const action of plan.actions) {
        if (action.kind !== 'prune') continue;
        try {
          await (action.subject === 'secret' ? options.swarm.removeSecret(action.id) : options.swarm.removeConfig(action.id));
        } catch (error) {
          warnings.push(`${action.subject} ${action.name} kept: ${(error as Error).message}`);
        }
      }
      for (const action of plan.actions) {
        if (action.subject === 'network' && action.kind === 'remove') await options.engine.removeNetwork(action.name).catch((error: Error) => warnings.push(`network ${action.name} kept: ${error.message}`));
      }
    }
    const durationMs = at();
    const services = [...outcomes.values()];
    const failed = services.filter((outcome) => outcome.status === 'failed');
    const summary = cancelled
      ? `cancelled after ${(durationMs / 1000).toFixed(1)}s; run \`envctl up --target swarm\` again to converge or \`envctl down --target swarm\` to remove`
      : failed.length > 0
        ? failed.map((outcome) => `${outcome.service}: ${outcome.detail}`).join('; ')
        : `${model.project} (env ${model.env}) on swarm, stack ${desired.stack}: ${services.length} service(s) converged in ${(durationMs / 1000).toFixed(1)}s (${services.map((outcome) => `${outcome.service} ${outcome.running}/${outcome.replicas ?? outcome.running}`).join(', ')})`;
    options.emit({ type: 'done', at: durationMs, ok, cancelled, summary });
    return { project: model.project, env: model.env, target: 'swarm', stack: desired.stack, ok, cancelled, changed: swarmPlanHasChanges(plan), durationMs, plan: summariseSwarmPlan(plan), services, warnings };
  } finally {
    await lock.release();
  }
}

/** Tasks that failed with the new spec before a service counts as crash-looping (per replica). */
const FAILED_TASKS_PER_REPLICA = 3;

/**
 * Follows a service until every desired task runs the new spec (and is healthy: swarm reports a
 * task `running` only after its healthcheck passed), the update pauses or rolls back, its tasks
 * keep failing, or the wait times out.
 */
async function waitForService(options: SwarmUpOptions, service: DesiredService, id: string, action: SwarmServiceOutcome['action'], previousUpdateStartedAt: string | undefined, at: () => number): Promise<SwarmServiceOutcome> {
  const deadline = options.now() + options.waitTimeoutMs;
  const poll = options.pollIntervalMs ?? 500;
  let lastDetail = '';
  let running = 0;
  const outcome = (status: SwarmServiceOutcome['status'], detail: string): SwarmServiceOutcome => ({ service: service.service, action, status, detail, replicas: service.replicas, running });
  for (;;) {
    if (options.signal.aborted) return outcome('cancelled', 'cancelled');
    // The service label is enough to find it again; its id picks it out.
    const [current] = (await options.swarm.listServices({ [LABEL.service]: service.service })).filter((candidate) => candidate.id === id);
    if (!current) return outcome('failed', 'the service disappeared while envctl waited for it');
    const tasks = await options.swarm.listTasks(id);
    const mine = tasks.filter((task) => task.taskHash === service.taskHash);
    const active = mine.filter((task) => task.desiredState === 'running');
    running = active.filter((task) => task.state === 'running').length;
    const ownUpdate = current.updateStartedAt !== undefined && current.updateStartedAt !== previousUpdateStartedAt;
    if (ownUpdate && (current.updateState === 'paused' || current.updateState === 'rollback_paused' || current.updateState === 'rollback_completed')) {
      return outcome('failed', `update ${current.updateState.replace('_', ' ')}: ${current.updateMessage ?? 'no message'}${lastError(mine) ? ` (last task error: ${lastError(mine)})` : ''}`);
    }
    const failed = mine.filter((task) => task.state === 'failed' || task.state === 'rejected');
    // While swarm rolls back by itself (failure_action: rollback), wait for it to finish and report that.
    const rollingBack = ownUpdate && current.updateState === 'rollback_started';
    if (!rollingBack && failed.length >= FAILED_TASKS_PER_REPLICA * Math.max(1, service.replicas ?? 1)) {
      return outcome('failed', `${failed.length} tasks failed: ${lastError(mine) ?? 'no error reported'}`);
    }
    const settled = !ownUpdate || current.updateState === 'completed';
    const target = service.replicas;
    const converged = target === undefined ? running >= 1 && running === active.length : running === target && active.length === target;
    const stale = tasks.filter((task) => task.taskHash !== service.taskHash && task.desiredState === 'running').length;
    if (converged && settled && stale === 0) return outcome('ready', `${running}/${target ?? running} tasks running`);
    const detail = `${running}/${target ?? active.length} tasks running${stale > 0 ? `, ${stale} old` : ''}${current.updateState === 'updating' ? ' (updating)' : ''}`;
    if (detail !== lastDetail) {
      lastDetail = detail;
      options.emit({ type: 'service', at: at(), service: service.service, phase: 'starting', detail });
    }
    if (options.now() > deadline) return outcome('failed', `not converged within ${Math.round(options.waitTimeoutMs / 1000)}s: ${detail}${lastError(mine) ? `; last task error: ${lastError(mine)}` : ''}`);
    await options.sleep(poll, options.signal);
  }
}

function lastError(tasks: readonly ObservedTask[]): string | undefined {
  const withError = tasks.filter((task) => task.error).sort((a, b) => a.stateAt.localeCompare(b.stateAt));
  return withError.at(-1)?.error;
}

/** `envctl plan --target swarm`: the plan against the swarm (an engine outside a swarm: against an empty one, said so). */
export async function planSwarmTarget(options: { load: LoadOptions; context: SwarmContext; removeOrphans: boolean }): Promise<{ model: EnvironmentModel; plan: SwarmPlan }> {
  const model = await loadDefinition(options.load);
  const context = { ...options.context, registry: checkRegistry(options.context.registry) };
  await context.engine.ping();
  const info = await context.swarm.swarmInfo();
  if (info.isManager) {
    const { plan } = await prepareSwarm(model, context, options.removeOrphans);
    return { model, plan };
  }
  const empty: SwarmEngine = {
    ...context.swarm,
    listServices: async () => [],
    listSecrets: async () => [],
    listConfigs: async () => [],
  };
  const { plan } = await prepareSwarm(model, { ...context, swarm: empty }, options.removeOrphans);
  return { model, plan: { ...plan, warnings: [...plan.warnings, `this engine is not a swarm manager (state: ${info.state}): planned against an empty swarm; \`up --target swarm\` needs \`docker swarm init\``] } };
}
