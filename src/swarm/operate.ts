/**
 * `status`, `logs` and `down` with `--target swarm`: the environment's stack found by its labels
 * (project, env, target=swarm), never anything else.
 */
import type { EnvironmentModel } from '../definition/model.js';
import type { Engine } from '../engine/engine.js';
import { mergeServiceLogs } from '../engine/logs.js';
import { UsageError, WorkFailedError } from '../errors.js';
import type { EventSink } from '../events.js';
import { LABEL } from '../labels.js';
import { lockEnvironment } from '../state/lock.js';
import { stackName, stackSelector } from './spec.js';
import type { ObservedSwarmService, SwarmEngine } from './types.js';

export interface SwarmServiceStatus {
  service: string;
  /** The swarm service name (`<stack>_<service>`). */
  name: string;
  mode: 'replicated' | 'global';
  replicas: number | undefined;
  running: number;
  /** The update in progress or last finished (`completed`, `paused`, `rollback_completed`…), if any. */
  update: string | undefined;
  image: string | undefined;
  ports: string[];
  /** The latest task error, if a task failed. */
  lastError: string | undefined;
  orphan: boolean;
}

export interface SwarmStatusResult {
  project: string;
  env: string;
  target: 'swarm';
  stack: string;
  services: SwarmServiceStatus[];
}

export async function swarmStatus(model: EnvironmentModel, swarm: SwarmEngine): Promise<SwarmStatusResult> {
  const services = await swarm.listServices(stackSelector(model));
  const rows: SwarmServiceStatus[] = [];
  // A release's services (labelled with their slot) are shown by `envctl release status`.
  const byName = new Map(services.filter((service) => !service.labels[LABEL.slot]).map((service) => [service.labels[LABEL.service] ?? service.name, service]));
  const names = [...Object.keys(model.services), ...[...byName.keys()].filter((name) => !(name in model.services))];
  for (const name of names) {
    const service = byName.get(name);
    if (!service) {
      rows.push({ service: name, name: `${stackName(model)}_${name}`, mode: model.services[name]?.deploy?.mode ?? 'replicated', replicas: undefined, running: 0, update: undefined, image: undefined, ports: [], lastError: undefined, orphan: false });
      continue;
    }
    const tasks = await swarm.listTasks(service.id);
    const failed = tasks.filter((task) => task.error).sort((a, b) => a.stateAt.localeCompare(b.stateAt));
    rows.push({
      service: name,
      name: service.name,
      mode: service.replicas === undefined ? 'global' : 'replicated',
      replicas: service.replicas,
      running: tasks.filter((task) => task.desiredState === 'running' && task.state === 'running').length,
      update: service.updateState,
      image: service.labels[LABEL.image] ?? service.spec.TaskTemplate.ContainerSpec.Image,
      ports: service.ports.map((port) => `*:${port.published}->${port.target}/${port.protocol} (${port.mode})`),
      lastError: failed.at(-1)?.error,
      orphan: !model.declaredServices.includes(name),
    });
  }
  return { project: model.project, env: model.env, target: 'swarm', stack: stackName(model), services: rows };
}

export function renderSwarmStatusText(status: SwarmStatusResult): string {
  const header = ['SERVICE', 'REPLICAS', 'UPDATE', 'PORTS', 'IMAGE'];
  const rows = status.services.map((row) => [
    `${row.service}${row.orphan ? ' (orphan)' : ''}`,
    row.replicas === undefined && row.mode === 'replicated' && row.running === 0 && row.image === undefined ? 'not created' : `${row.running}/${row.replicas ?? 'global'}`,
    row.update ?? '-',
    row.ports.join(', ') || '-',
    row.image ?? '-',
  ]);
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => cells.map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ');
  const errors = status.services.filter((row) => row.lastError).map((row) => `${row.service}: last task error: ${row.lastError}`);
  return `${[`stack ${status.stack} (swarm)`, line(header), ...rows.map(line), ...errors].join('\n')}\n`;
}

async function selectServices(model: EnvironmentModel, swarm: SwarmEngine, services: readonly string[]): Promise<ObservedSwarmService[]> {
  for (const service of services) {
    if (!(service in model.services)) throw new UsageError('UNKNOWN_SERVICE', `no service "${service}" in ${model.project}`, `services: ${Object.keys(model.services).join(', ')}`);
  }
  const found = await swarm.listServices(stackSelector(model));
  return found.filter((service) => !service.labels[LABEL.slot] && (services.length === 0 || services.includes(service.labels[LABEL.service] ?? ''))).sort((a, b) => a.name.localeCompare(b.name));
}

export interface SwarmLogLine {
  service: string;
  stream: 'stdout' | 'stderr';
  time: string | undefined;
  text: string;
}

/** Every task's output of the selected services (the engine merges a service's tasks), merged by time. */
export async function collectSwarmLogs(model: EnvironmentModel, swarm: SwarmEngine, selection: { services: readonly string[]; tail: number | undefined; since: number }): Promise<SwarmLogLine[]> {
  const services = await selectServices(model, swarm, selection.services);
  const perService = await Promise.all(
    services.map(async (service) => (await swarm.serviceLogs(service.id, { tail: selection.tail, since: selection.since, timestamps: true })).map((line) => ({ service: service.labels[LABEL.service]!, ...line }))),
  );
  return perService.flat().sort((a, b) => (a.time ?? '').localeCompare(b.time ?? ''));
}

export async function* followSwarmLogs(model: EnvironmentModel, swarm: SwarmEngine, selection: { services: readonly string[]; tail: number | undefined; since: number }, signal: AbortSignal): AsyncIterable<SwarmLogLine> {
  const services = await selectServices(model, swarm, selection.services);
  yield* mergeServiceLogs(services.map((service) => ({ service: service.labels[LABEL.service]!, lines: swarm.followServiceLogs(service.id, { tail: selection.tail, since: selection.since, timestamps: true }, signal) })));
}

export interface SwarmDownResult {
  project: string;
  env: string;
  target: 'swarm';
  stack: string;
  removed: { services: string[]; networks: string[]; secrets: string[]; configs: string[]; volumes: string[] };
  keptVolumes: string[];
  durationMs: number;
}

/** How long `down` waits for a removed service's tasks to let go of its networks (ms). */
const NETWORK_RELEASE_MS = 60_000;

export async function swarmDown(options: {
  model: EnvironmentModel;
  engine: Engine;
  swarm: SwarmEngine;
  volumes: boolean;
  emit: EventSink;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
}): Promise<SwarmDownResult> {
  const { model, engine, swarm, emit } = options;
  const startedAt = options.now();
  const at = () => Math.round(options.now() - startedAt);
  await engine.ping();
  const info = await swarm.swarmInfo();
  const selector = stackSelector(model);
  const removed: SwarmDownResult['removed'] = { services: [], networks: [], secrets: [], configs: [], volumes: [] };
  const lock = await lockEnvironment({ prefix: `${model.prefix}.swarm`, command: 'envctl down --target swarm', now: () => new Date(options.now()) });
  try {
    // Not a manager: there is no stack to remove (and nothing swarm-labelled outside volumes).
    const services = info.isManager ? await swarm.listServices(selector) : [];
    emit({ type: 'operation', at: 0, operation: 'down', project: model.project, env: model.env, services: services.map((service) => service.labels[LABEL.service] ?? service.name) });
    for (const service of services) {
      const name = service.labels[LABEL.service] ?? service.name;
      emit({ type: 'service', at: at(), service: name, phase: 'stopping' });
      await swarm.removeService(service.id);
      removed.services.push(service.name);
      emit({ type: 'service', at: at(), service: name, phase: 'removed' });
    }
    // Tasks stop after their service is removed; a network is removable once its last task container is gone.
    const networks = await engine.listNetworks(selector);
    const never = new AbortController().signal;
    for (const network of networks) {
      const deadline = options.now() + NETWORK_RELEASE_MS;
      for (;;) {
        try {
          await engine.removeNetwork(network.name);
          break;
        } catch (error) {
          if (options.now() > deadline) throw error;
          await options.sleep(500, never);
        }
      }
      removed.networks.push(network.name);
      emit({ type: 'resource', at: at(), kind: 'network', name: network.name, action: 'removed' });
    }
    // The manager removes an overlay network at once; the node's copy goes a moment later. Wait for it, so a next `up` cannot collide.
    const released = options.now() + NETWORK_RELEASE_MS;
    while (removed.networks.length > 0 && (await engine.listNetworks(selector)).length > 0 && options.now() < released) await options.sleep(250, never);
    if (info.isManager) {
      for (const secret of await swarm.listSecrets(selector)) {
        await swarm.removeSecret(secret.id);
        removed.secrets.push(secret.name);
      }
      for (const config of await swarm.listConfigs(selector)) {
        await swarm.removeConfig(config.id);
        removed.configs.push(config.name);
      }
    }
    const volumes = await engine.listVolumes(selector);
    if (options.volumes) {
      for (const volume of volumes) {
        const deadline = options.now() + NETWORK_RELEASE_MS;
        for (;;) {
          try {
            await engine.removeVolume(volume.name);
            break;
          } catch (error) {
            if (options.now() > deadline) throw error;
            await options.sleep(500, never);
          }
        }
        removed.volumes.push(volume.name);
        emit({ type: 'resource', at: at(), kind: 'volume', name: volume.name, action: 'removed' });
      }
    }
    const kept = options.volumes ? [] : volumes.map((volume) => volume.name);
    const durationMs = at();
    emit({
      type: 'done',
      at: durationMs,
      ok: true,
      cancelled: false,
      summary: `${model.project} (env ${model.env}) on swarm, stack ${stackName(model)}: removed ${removed.services.length} service(s), ${removed.networks.length} network(s), ${removed.secrets.length} secret(s), ${removed.configs.length} config(s), ${removed.volumes.length} volume(s) in ${(durationMs / 1000).toFixed(1)}s${kept.length > 0 ? `; kept volume(s) ${kept.join(', ')} (--volumes removes them)` : ''}`,
    });
    return { project: model.project, env: model.env, target: 'swarm', stack: stackName(model), removed, keptVolumes: kept, durationMs };
  } finally {
    await lock.release();
  }
}

/**
 * `exec --target swarm`: a running task container of the stack's service on this node (the engine
 * envctl talks to), found by the service's ID, so another stack's task is never picked. Tasks on
 * other nodes are out of reach: their engine is elsewhere.
 */
export async function swarmTaskContainer(model: EnvironmentModel, swarm: SwarmEngine, engine: Engine, service: string): Promise<{ id: string; name: string }> {
  const observed = (await swarm.listServices(stackSelector(model))).find((candidate) => candidate.labels[LABEL.service] === service && !candidate.labels[LABEL.slot]);
  if (!observed) throw new WorkFailedError('NOT_RUNNING', `service ${service} is not deployed in the stack ${stackName(model)}`, 'deploy it with `envctl up --target swarm`');
  const running = (await engine.listContainers({ 'com.docker.swarm.service.id': observed.id }))
    .filter((container) => container.state === 'running')
    .sort((a, b) => a.name.localeCompare(b.name));
  if (!running[0]) {
    throw new WorkFailedError('NOT_RUNNING', `no task of service ${service} is running on this node`, 'see `envctl status --target swarm`; a task on another node is reached with `docker exec` on that node');
  }
  return running[0];
}
