/**
 * Where a release's arms and proxy run: the few operations the release needs of its target, so one
 * orchestration (release.ts) and one controller with one judge (controller.ts) drive both.
 * - local: containers on this engine (slots.ts, proxy-container.ts);
 * - swarm: services of the environment's stack (swarm/release-runtime.ts).
 *
 * A slot is named by `{ id, name }`: the container's (or service's) ID and its name, which is also
 * the DNS name the proxy reaches it by on the environment's network.
 */
import type { EnvironmentModel, ServiceModel } from '../definition/model.js';
import { EnvironmentError } from '../errors.js';
import { confineBindsAtCreate } from '../engine/bind-recheck.js';
import { isNotFound, type Engine } from '../engine/engine.js';
import type { LogLine } from '../engine/types.js';
import { environmentLabels, LABEL } from '../labels.js';
import { containerNameFor } from '../plan/plan.js';
import type { Arm } from '../proxy/types.js';
import type { Target } from '../cli/target-flag.js';
import type { SwarmEngine } from '../swarm/types.js';
import type { ContainerHealth } from './analysis/snapshot.js';
import { startProxyContainer, type ProxyContainer } from './proxy-container.js';
import { healthOf, removeSlot, slotContainerName, slotLabels, slotSpec, waitReady } from './slots.js';
import type { ReleaseState } from './store.js';

export interface SlotRef {
  id: string;
  name: string;
}

/** The version serving now. */
export interface Production extends SlotRef {
  /** The image as people read it (a tag), also what a fresh baseline is started from. */
  image: string;
}

/** What the controller asks while it judges (health, error logs) and when it ends (removal). */
export interface ArmRuntime {
  /** The slot's health as the judge reads it; undefined when the engine could not say (no data). */
  health(slot: SlotRef): Promise<ContainerHealth | undefined>;
  /** The slot's output lines from `since` (s) or only new ones (`tail: 0`), until the signal aborts. */
  followLogs(slot: SlotRef, from: { since: number } | { tail: number }, signal: AbortSignal): AsyncIterable<LogLine>;
  /** Stops and removes a slot; a missing one is fine. */
  remove(slot: SlotRef): Promise<void>;
  /**
   * The promoted canary is production now: it restarts as the production it replaces did (it was
   * created not to, so that a crash showed during the release). Absent where not supported (swarm).
   */
  promote?(canary: SlotRef, production: SlotRef): Promise<void>;
}

export interface ProxyStart {
  model: EnvironmentModel;
  service: ServiceModel;
  releaseId: string;
  releaseDir: string;
  image: string;
  upstreams: Record<Arm, { host: string; port: number }>;
  sticky: 'none' | 'cookie';
  hostPort: number;
  signal: AbortSignal;
}

export interface ReleaseRuntime extends ArmRuntime {
  readonly target: Target;
  /** Checks the engine answers (and, for swarm, is a manager). */
  check(): Promise<void>;
  /** The version serving now: the last promoted release's canary when it still exists, else the service's own. */
  production(model: EnvironmentModel, service: string, releases: readonly ReleaseState[]): Promise<Production>;
  /** Creates (and, for swarm, starts) the canary or the baseline from the service with `image`. */
  createSlot(model: EnvironmentModel, service: ServiceModel, slot: 'canary' | 'baseline', image: string, releaseId: string, production: Production): Promise<SlotRef>;
  /** Starts created slots (a swarm service runs from its creation). */
  startSlots(slots: readonly SlotRef[]): Promise<void>;
  waitReady(slot: SlotRef, timeoutMs: number, signal: AbortSignal): Promise<void>;
  /** Starts the proxy (proxy.json written) and returns once its admin socket answers. */
  startProxy(options: ProxyStart): Promise<ProxyContainer>;
  /** True when the slot no longer exists. */
  gone(slot: SlotRef): Promise<boolean>;
  running(slot: SlotRef): Promise<boolean>;
  /** Removes everything labelled with the release (also what was created just before a failure). */
  removeRelease(model: EnvironmentModel, releaseId: string): Promise<void>;
  /** The name of the service's own container or swarm service (`up`'s, never removed by a release). */
  ownName(model: EnvironmentModel, service: string): string;
}

export function localRuntime(engine: Engine): ReleaseRuntime {
  return {
    target: 'local',
    async check() {
      await engine.ping();
    },
    async health(slot) {
      // Only a container the engine no longer has is gone; any other engine error is no data.
      const status = await engine.inspectContainer(slot.id).catch((error: unknown) => (isNotFound(error) ? { state: 'exited' as const, health: undefined } : undefined));
      return status === undefined ? undefined : healthOf(status);
    },
    followLogs: (slot, from, signal) => engine.followLogs(slot.id, from, signal),
    remove: (slot) => removeSlot(engine, slot.id),
    promote: (canary, production) => engine.copyRestartPolicy(production.id, canary.id),
    async production(model, service, releases) {
      const containers = await engine.listContainers({ ...environmentLabels(model.project, model.env), [LABEL.service]: service });
      // After a promotion the release's canary is production, also once gc removed the version before it.
      const promoted = releases.find((release) => release.status === 'promoted' || release.status === 'decommissioned');
      const candidates = promoted?.containers.canary ? [promoted.containers.canary.id] : [];
      const own = containers.find((container) => !container.labels[LABEL.slot] && container.name === containerNameFor(model, service));
      const serving = containers.find((container) => candidates.includes(container.id)) ?? own;
      if (!serving) {
        throw new EnvironmentError('RELEASE_NO_PRODUCTION', `service "${service}" of ${model.project} is not running, so there is no production version to compare with`, 'start the environment first: `envctl up`');
      }
      if (serving.state !== 'running') {
        throw new EnvironmentError('RELEASE_NO_PRODUCTION', `the production container ${serving.name} is ${serving.state}`, 'start the environment first: `envctl up`');
      }
      return { id: serving.id, name: serving.name, image: serving.image };
    },
    async createSlot(model, service, slot, image, releaseId) {
      // The slot mounts what the service mounts: its bind sources are resolved and checked again
      // right before the container is created, as `up` does (a folder may have changed since load).
      const spec = await confineBindsAtCreate(slotSpec(model, service, slot, image, releaseId), model.bindPolicy, service.name);
      return { id: await engine.createContainer(spec), name: spec.name };
    },
    async startSlots(slots) {
      await Promise.all(slots.map((slot) => engine.startContainer(slot.id)));
    },
    waitReady: (slot, timeoutMs, signal) => waitReady(engine, slot.id, slot.name, timeoutMs, signal),
    startProxy: (options) => {
      const network = Object.keys(options.service.networks)[0]!;
      return startProxyContainer(engine, {
        name: slotContainerName(options.model, options.service.name, 'proxy', options.releaseId),
        image: options.image,
        labels: slotLabels(options.model, options.service.name, 'proxy', options.releaseId),
        network: options.model.networks[network]?.name ?? network,
        releaseDir: options.releaseDir,
        upstreams: options.upstreams,
        weights: { canary: 0, baseline: 0, prod: 100 },
        step: 0,
        sticky: options.sticky,
        hostPort: options.hostPort,
        user: processUser(),
        signal: options.signal,
      });
    },
    gone: (slot) =>
      engine.inspectContainer(slot.id).then(
        () => false,
        isNotFound,
      ),
    running: (slot) =>
      engine.inspectContainer(slot.id).then(
        (status) => status.state === 'running',
        () => false,
      ),
    async removeRelease(model, releaseId) {
      const containers = await engine.listContainers({ ...environmentLabels(model.project, model.env), [LABEL.release]: releaseId }).catch(() => []);
      for (const container of containers) await removeSlot(engine, container.id).catch(() => undefined);
    },
    ownName: (model, service) => containerNameFor(model, service),
  };
}

/** `uid:gid` of this process: the proxy writes the release folder as the user. */
export function processUser(): string {
  return `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
}

/** Makes the runtime of a target; swarm needs a swarm engine. */
export type RuntimeFactory = (target: Target) => Promise<ReleaseRuntime>;

/**
 * The target of a new release without `--target`: local when the environment has containers on
 * this engine; swarm when it has none and this engine manages a swarm holding its stack (as
 * `status`, `logs` and `down` decide).
 */
export async function detectTarget(engine: Engine, swarm: SwarmEngine | undefined, model: EnvironmentModel, stackSelector: Record<string, string>): Promise<Target> {
  await engine.ping();
  if (!swarm) return 'local';
  if ((await engine.listContainers(environmentLabels(model.project, model.env))).length > 0) return 'local';
  const info = await swarm.swarmInfo();
  if (info.state !== 'active' || !info.isManager) return 'local';
  return (await swarm.listServices(stackSelector)).length > 0 ? 'swarm' : 'local';
}
