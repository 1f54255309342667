/**
 * `envctl down`: remove everything the environment owns, found by its labels and never anything
 * else: containers in reverse dependency order (stopped in parallel within each level, with the
 * service's grace period), then networks, then — only with `volumes` — volumes.
 */
import type { EnvironmentModel } from '../definition/model.js';
import type { EventSink } from '../events.js';
import { environmentLabels, LABEL } from '../labels.js';
import { dependencyOrder } from '../plan/plan.js';
import { lockEnvironment } from '../state/lock.js';
import { stopTimeoutSeconds } from './container-spec.js';
import type { Engine } from './engine.js';
import type { ObservedContainer } from './types.js';

export interface DownOptions {
  model: EnvironmentModel;
  engine: Engine;
  volumes: boolean;
  emit: EventSink;
  now: () => number;
}

export interface DownResult {
  project: string;
  env: string;
  removed: { containers: string[]; networks: string[]; volumes: string[] };
  /** Volumes kept because --volumes was not given. */
  keptVolumes: string[];
  durationMs: number;
}

export async function downEnvironment(options: DownOptions): Promise<DownResult> {
  const { model, engine, emit } = options;
  const startedAt = options.now();
  const at = () => Math.round(options.now() - startedAt);
  await engine.ping();
  const lock = await lockEnvironment({ prefix: model.prefix, command: 'envctl down', now: () => new Date(options.now()) });
  try {
    const labels = environmentLabels(model.project, model.env);
    const containers = await engine.listContainers(labels);
    emit({ type: 'operation', at: 0, operation: 'down', project: model.project, env: model.env, services: [...new Set(containers.map((container) => container.service))] });

    const removedContainers: string[] = [];
    for (const level of stopLevels(model, containers)) {
      // Every container of a level is settled before anything fails: the lock is not released under running removals.
      const results = await Promise.allSettled(
        level.map(async (container) => {
          emit({ type: 'service', at: at(), service: container.service, phase: 'stopping' });
          await engine.stopContainer(container.id, stopTimeoutSeconds(model.services[container.service]));
          await engine.removeContainer(container.id);
          removedContainers.push(container.name);
          emit({ type: 'service', at: at(), service: container.service, phase: 'removed' });
        }),
      );
      const failed = results.find((result): result is PromiseRejectedResult => result.status === 'rejected');
      if (failed) throw failed.reason;
    }

    const removedNetworks: string[] = [];
    // The swarm target's objects carry the same environment labels: `down --target swarm` removes those.
    const local = (object: { labels: Record<string, string> }) => object.labels[LABEL.target] !== 'swarm';
    for (const network of (await engine.listNetworks(labels)).filter(local)) {
      await engine.removeNetwork(network.name);
      removedNetworks.push(network.name);
      emit({ type: 'resource', at: at(), kind: 'network', name: network.name, action: 'removed' });
    }

    const volumes = (await engine.listVolumes(labels)).filter(local);
    const removedVolumes: string[] = [];
    if (options.volumes) {
      for (const volume of volumes) {
        await engine.removeVolume(volume.name);
        removedVolumes.push(volume.name);
        emit({ type: 'resource', at: at(), kind: 'volume', name: volume.name, action: 'removed' });
      }
    }
    const durationMs = at();
    const kept = options.volumes ? [] : volumes.map((volume) => volume.name);
    const summary = `${model.project} (env ${model.env}): removed ${removedContainers.length} container(s), ${removedNetworks.length} network(s), ${removedVolumes.length} volume(s) in ${(durationMs / 1000).toFixed(1)}s${kept.length > 0 ? `; kept volume(s) ${kept.join(', ')} (--volumes removes them)` : ''}`;
    emit({ type: 'done', at: durationMs, ok: true, cancelled: false, summary });
    return { project: model.project, env: model.env, removed: { containers: removedContainers, networks: removedNetworks, volumes: removedVolumes }, keptVolumes: kept, durationMs };
  } finally {
    await lock.release();
  }
}

/**
 * Containers grouped so that a service stops before the services it depends on. Containers of
 * services no longer in the definition (orphans, strays) go first.
 */
export function stopLevels(model: Pick<EnvironmentModel, 'services'>, containers: readonly ObservedContainer[]): ObservedContainer[][] {
  const order = dependencyOrder(model);
  const depth = new Map<string, number>();
  for (const name of order) {
    const dependencies = Object.keys(model.services[name]!.dependsOn).filter((dependency) => depth.has(dependency));
    depth.set(name, dependencies.length === 0 ? 0 : Math.max(...dependencies.map((dependency) => depth.get(dependency)!)) + 1);
  }
  const maxDepth = Math.max(0, ...depth.values());
  const levels: ObservedContainer[][] = [];
  const unknown = containers.filter((container) => !depth.has(container.service));
  if (unknown.length > 0) levels.push(unknown);
  for (let level = maxDepth; level >= 0; level -= 1) {
    const batch = containers.filter((container) => depth.get(container.service) === level);
    if (batch.length > 0) levels.push(batch);
  }
  return levels;
}
