/**
 * `envctl down`: remove everything the environment owns, found by its labels and never anything
 * else: containers in reverse dependency order (each as soon as its dependants have stopped, with the
 * service's grace period, then removed), then networks, then — only with `volumes` — volumes.
 */
import type { EnvironmentModel } from '../definition/model.js';
import type { EventSink } from '../events.js';
import { environmentLabels, LABEL } from '../labels.js';
import { lockEnvironment } from '../state/lock.js';
import { ContainerEventWatch } from './container-events.js';
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
    // The stream first (it sees only what happens after it answers), the lists alongside it.
    const opening = ContainerEventWatch.open(engine, labels);
    const [watch, containers, networks, volumeList] = await Promise.all([opening, engine.listContainers(labels), engine.listNetworks(labels), engine.listVolumes(labels)]).catch(
      async (error: unknown) => {
        // A list failed: the stream (once open) must not outlive the error.
        (await opening.catch(() => undefined))?.close();
        throw error;
      },
    );
    emit({ type: 'operation', at: 0, operation: 'down', project: model.project, env: model.env, services: [...new Set(containers.map((container) => container.service))] });

    const removedContainers: string[] = [];
    try {
      await stopInDependencyOrder(containers, stopPrerequisites(model, containers), async (container, stopped) => {
        emit({ type: 'service', at: at(), service: container.service, phase: 'stopping' });
        // The container's exit (its `die` event) is when its dependencies may stop; its own stop call
        // (grace period, then SIGKILL) and removal go on meanwhile.
        void watch?.once(container.id, ['die']).then((died) => died && stopped());
        await engine.stopContainer(container.id, stopTimeoutSeconds(model.services[container.service]));
        stopped();
        await engine.removeContainer(container.id);
        removedContainers.push(container.name);
        emit({ type: 'service', at: at(), service: container.service, phase: 'removed' });
      });
    } finally {
      watch?.close();
    }

    const removedNetworks: string[] = [];
    // The swarm target's objects carry the same environment labels: `down --target swarm` removes those.
    const local = (object: { labels: Record<string, string> }) => object.labels[LABEL.target] !== 'swarm';
    await settleAll(
      networks.filter(local).map(async (network) => {
        await engine.removeNetwork(network.name);
        removedNetworks.push(network.name);
        emit({ type: 'resource', at: at(), kind: 'network', name: network.name, action: 'removed' });
      }),
    );

    const volumes = volumeList.filter(local);
    const removedVolumes: string[] = [];
    if (options.volumes) {
      await settleAll(
        volumes.map(async (volume) => {
          await engine.removeVolume(volume.name);
          removedVolumes.push(volume.name);
          emit({ type: 'resource', at: at(), kind: 'volume', name: volume.name, action: 'removed' });
        }),
      );
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
 * Per container, the containers that must have stopped before it may stop: the containers of the
 * services that depend on its service (its dependants), and — for every service in the definition —
 * containers of services no longer in it (orphans, strays), which go first. The dependency graph,
 * not levels: a service stops as soon as its own dependants have, whatever else is still stopping.
 */
export function stopPrerequisites(model: Pick<EnvironmentModel, 'services'>, containers: readonly ObservedContainer[]): Map<string, string[]> {
  const known = (container: ObservedContainer) => Object.hasOwn(model.services, container.service);
  const unknown = containers.filter((container) => !known(container)).map((container) => container.id);
  const prerequisites = new Map<string, string[]>();
  for (const container of containers) {
    if (!known(container)) {
      prerequisites.set(container.id, []);
      continue;
    }
    const dependants = new Set(Object.values(model.services).filter((service) => Object.hasOwn(service.dependsOn, container.service)).map((service) => service.name));
    prerequisites.set(container.id, [...unknown, ...containers.filter((other) => dependants.has(other.service)).map((other) => other.id)]);
  }
  return prerequisites;
}

/**
 * Runs `stop` for every container once all its prerequisites have stopped, as many at once as the
 * graph allows. `stop` calls `stopped()` as soon as the container no longer runs. A container whose
 * stop failed is not counted as stopped: what depends on it stays running, nothing else is held
 * back. Every container is settled before the first failure is thrown (the lock is not released
 * under running removals).
 */
export async function stopInDependencyOrder(
  containers: readonly ObservedContainer[],
  prerequisites: ReadonlyMap<string, readonly string[]>,
  stop: (container: ObservedContainer, stopped: () => void) => Promise<void>,
): Promise<void> {
  const gates = new Map(
    containers.map((container) => {
      let resolve!: (stopped: boolean) => void;
      const promise = new Promise<boolean>((settle) => (resolve = settle));
      return [container.id, { promise, resolve }] as const;
    }),
  );
  await settleAll(
    containers.map(async (container) => {
      const gate = gates.get(container.id)!;
      try {
        const ready = await Promise.all((prerequisites.get(container.id) ?? []).map((id) => gates.get(id)?.promise ?? true));
        if (!ready.every(Boolean)) return;
        await stop(container, () => gate.resolve(true));
      } finally {
        gate.resolve(false);
      }
    }),
  );
}

/** Awaits every promise, then throws the first failure, if any. */
async function settleAll(promises: ReadonlyArray<Promise<unknown>>): Promise<void> {
  const failed = (await Promise.allSettled(promises)).find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failed) throw failed.reason;
}
