/**
 * A release on the swarm target (issue 8): the same steps and judge as locally, with services of
 * the environment's stack in place of containers.
 * - production: the stack's service (`<stack>_<service>`), or the last promoted release's canary;
 * - canary and fresh baseline: services copied from production's spec (its networks, secrets,
 *   configs, mounts, environment), with the new image (canary) or production's (baseline), one
 *   replica, `endpoint_mode: dnsrr`, no published port and no network alias (the service's name
 *   keeps resolving to production), and restart condition `none` (a crashed canary stays down for
 *   the guardrail, as locally);
 * - proxy: a service running the release proxy image with the release folder bind-mounted (admin
 *   socket, weights, request log), its data port published in host mode.
 * Every release service is pinned to the manager node envctl talks to: the release folder and the
 * locally built images are on this machine. The arms reach each other by service name on the
 * stack's overlay network.
 */
import type { Engine } from '../engine/engine.js';
import type { EnvironmentModel } from '../definition/model.js';
import { EnvironmentError, WorkFailedError } from '../errors.js';
import { LABEL } from '../labels.js';
import { PROXY_CONTAINER_PORT, PROXY_READY_TIMEOUT_MS, PROXY_STOP_TIMEOUT_S, writeProxyConfig } from '../release/proxy-container.js';
import { createAdminClient } from '../proxy/admin-client.js';
import type { ContainerHealth } from '../release/analysis/snapshot.js';
import { processUser, type Production, type ReleaseRuntime, type SlotRef } from '../release/runtime.js';
import { healthOf, slotLabels, type Slot } from '../release/slots.js';
import { checkSwarm } from './deploy.js';
import { serviceName, stackLabels, stackSelector, STACK_LABEL } from './spec.js';
import type { ObservedSwarmService, ObservedTask, SwarmEngine, SwarmServiceSpec } from './types.js';

const POLL_MS = 250;
/** How long a task without a healthcheck must keep running to count as up (ms), as locally. */
const RUNNING_GRACE_MS = 1000;
const ENDED_TASK_STATES = new Set(['complete', 'failed', 'shutdown', 'rejected', 'orphaned', 'remove']);
const S = 1_000_000_000;

/** `<stack>_<service>-<slot>-<4 hex of the release id>`. */
export function swarmSlotName(model: Pick<EnvironmentModel, 'prefix'>, service: string, slot: Slot, releaseId: string): string {
  return `${serviceName(model, service)}-${slot}-${releaseId.slice(-4)}`;
}

/** Labels of a release service: the stack's (so `down --target swarm` removes it) and the slot's. */
function releaseServiceLabels(model: EnvironmentModel, service: string, slot: Slot, releaseId: string): Record<string, string> {
  return { ...stackLabels(model), ...slotLabels(model, service, slot, releaseId) };
}

export function swarmRuntime(engine: Engine, swarm: SwarmEngine): ReleaseRuntime {
  let nodeId: string | undefined;
  const managerNode = async (): Promise<string> => (nodeId ??= (await swarm.swarmInfo()).nodeId);
  const findService = async (model: EnvironmentModel | undefined, id: string): Promise<ObservedSwarmService | undefined> => {
    // Listed by label: the port has no inspect-by-id; every release service carries the target label.
    const services = await swarm.listServices(model ? stackSelector(model) : { [LABEL.target]: 'swarm' });
    return services.find((service) => service.id === id);
  };
  /** The task that counts: the newest one (a restarted task replaces a failed one). */
  const currentTask = async (serviceId: string): Promise<ObservedTask | undefined> => newestTask(await swarm.listTasks(serviceId));
  const taskHealth = async (task: ObservedTask | undefined): Promise<ContainerHealth> => {
    if (!task) return 'starting';
    if (ENDED_TASK_STATES.has(task.state)) return 'exited';
    if (task.state !== 'running') return 'starting';
    // On this node the container says more (healthy / unhealthy); a task elsewhere counts as running.
    if (task.containerId) {
      const status = await engine.inspectContainer(task.containerId).catch(() => undefined);
      if (status) return healthOf(status);
    }
    return 'running';
  };
  const health = async (slot: SlotRef): Promise<ContainerHealth | undefined> => {
    try {
      if (!(await findService(undefined, slot.id))) return 'exited';
      return await taskHealth(await currentTask(slot.id));
    } catch {
      return undefined;
    }
  };
  const taskDetail = (task: ObservedTask | undefined) => (task ? `${task.state}${task.error ? `: ${task.error}` : task.message ? ` (${task.message})` : ''}` : 'no task yet');

  const runtime: ReleaseRuntime = {
    target: 'swarm',
    async check() {
      await checkSwarm({ engine, swarm, registry: undefined, now: Date.now });
    },
    health,
    followLogs: (slot, from, signal) => swarm.followServiceLogs(slot.id, from, signal),
    // A service already gone is fine (the adapter ignores 404).
    async remove(slot) {
      // As locally, removed means stopped: the service's task containers on this node go before this
      // returns (swarm removes the service at once and stops its tasks afterwards), so the next
      // release's proxy finds the port free instead of racing the old one for it.
      await swarm.removeService(slot.id);
      const deadline = Date.now() + (PROXY_STOP_TIMEOUT_S + 5) * 1000;
      while ((await engine.listContainers({ 'com.docker.swarm.service.id': slot.id })).length > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    async production(model, service, releases) {
      const services = await swarm.listServices({ ...stackSelector(model), [LABEL.service]: service });
      const promoted = releases.find((release) => release.status === 'promoted' || release.status === 'decommissioned');
      const own = services.find((candidate) => !candidate.labels[LABEL.slot] && candidate.name === serviceName(model, service));
      const serving = services.find((candidate) => candidate.id === promoted?.containers.canary?.id) ?? own;
      if (!serving) {
        throw new EnvironmentError('RELEASE_NO_PRODUCTION', `service "${service}" of ${model.project} is not deployed in the stack ${model.prefix}, so there is no production version to compare with`, 'deploy it first: `envctl up --target swarm`');
      }
      const running = (await swarm.listTasks(serving.id)).filter((task) => task.state === 'running');
      if (running.length === 0) {
        throw new EnvironmentError('RELEASE_NO_PRODUCTION', `the production service ${serving.name} has no running task`, 'see `envctl status --target swarm`, then `envctl up --target swarm`');
      }
      return { id: serving.id, name: serving.name, image: serving.spec.TaskTemplate.ContainerSpec.Image };
    },
    async createSlot(model, service, slot, image, releaseId, production: Production) {
      const prod = await findService(model, production.id);
      if (!prod) throw new EnvironmentError('RELEASE_NO_PRODUCTION', `the production service ${production.name} is gone`, 'deploy it again: `envctl up --target swarm`');
      const name = swarmSlotName(model, service.name, slot, releaseId);
      // Named by ID, so the node never tries to pull a locally built image.
      const ids = await engine.imageIds([image]);
      const spec = slotServiceSpec(prod.spec, { name, image: ids.get(image) ?? image, labels: releaseServiceLabels(model, service.name, slot, releaseId), node: await managerNode() });
      return { id: await swarm.createService(spec), name };
    },
    async startSlots() {
      // A swarm service starts its task when it is created.
    },
    async waitReady(slot, timeoutMs, signal) {
      const deadline = Date.now() + timeoutMs;
      let runningSince: number | undefined;
      for (;;) {
        signal.throwIfAborted();
        const task = await currentTask(slot.id);
        const state = await taskHealth(task);
        if (state === 'exited' || state === 'unhealthy') {
          throw new EnvironmentError('RELEASE_CONTAINER_FAILED', `release service ${slot.name} ${state === 'unhealthy' ? 'is unhealthy' : `task ended: ${taskDetail(task)}`}`, `see its output: docker service logs ${slot.name}`);
        }
        if (state === 'healthy') return;
        if (state === 'running') {
          runningSince ??= Date.now();
          if (Date.now() - runningSince >= RUNNING_GRACE_MS) return;
        }
        if (Date.now() > deadline) {
          throw new EnvironmentError('RELEASE_CONTAINER_TIMEOUT', `release service ${slot.name} was not ready within ${Math.round(timeoutMs / 1000)} s (task ${taskDetail(task)})`, `see its output: docker service logs ${slot.name}`);
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    },
    async startProxy(options) {
      const user = processUser();
      const { adminSocket, configPath } = await writeProxyConfig({ releaseDir: options.releaseDir, user, upstreams: options.upstreams, weights: { canary: 0, baseline: 0, prod: 100 }, sticky: options.sticky, step: 0 });
      const prod = (await swarm.listServices({ ...stackSelector(options.model), [LABEL.service]: options.service.name })).find((candidate) => candidate.name === options.upstreams.prod.host);
      const network = prod?.spec.TaskTemplate.Networks[0]?.Target;
      if (!network) throw new EnvironmentError('RELEASE_NO_NETWORK', `the production service ${options.upstreams.prod.host} is on no overlay network the proxy could join`, 'deploy it with `envctl up --target swarm`');
      const ids = await engine.imageIds([options.image]);
      const name = swarmSlotName(options.model, options.service.name, 'proxy', options.releaseId);
      const spec: SwarmServiceSpec = {
        Name: name,
        Labels: releaseServiceLabels(options.model, options.service.name, 'proxy', options.releaseId),
        TaskTemplate: {
          ContainerSpec: {
            Image: ids.get(options.image) ?? options.image,
            Labels: { [STACK_LABEL]: options.model.prefix },
            // Appended to the image's entrypoint: `tini -s -- node /opt/envctl-proxy/proxy.mjs CONFIG`.
            Args: [configPath],
            Env: [],
            User: user,
            Init: false,
            StopSignal: 'SIGTERM',
            StopGracePeriod: PROXY_STOP_TIMEOUT_S * S,
            Mounts: [{ Type: 'bind', Source: options.releaseDir, Target: options.releaseDir, ReadOnly: false }],
            Secrets: [],
            Configs: [],
          },
          Resources: { Limits: {}, Reservations: {} },
          // Outlives the CLI that started it; swarm restarts it from proxy.json and its persisted weights.
          RestartPolicy: { Condition: 'any', Delay: 1 * S },
          Placement: { Constraints: [`node.id==${await managerNode()}`], Preferences: [] },
          Networks: [{ Target: network, Aliases: [] }],
          ForceUpdate: 0,
        },
        Mode: { Replicated: { Replicas: 1 } },
        EndpointSpec: { Mode: 'dnsrr', Ports: [{ Protocol: 'tcp', TargetPort: PROXY_CONTAINER_PORT, PublishedPort: options.hostPort, PublishMode: 'host' }] },
      };
      const id = await swarm.createService(spec);
      try {
        const admin = createAdminClient(adminSocket, { timeoutMs: 1_000 });
        const deadline = Date.now() + PROXY_READY_TIMEOUT_MS * 2;
        for (;;) {
          if (await admin.healthz()) break;
          const tasks = await swarm.listTasks(id);
          // Any task, not only the newest: swarm replaces a failed task at once (its restart policy),
          // so the one that failed on the port is seldom the newest; a port held by another
          // host-mode service keeps the task pending with the reason in its message.
          if (tasks.some((task) => PORT_IN_USE.test(taskDetail(task)))) {
            throw new EnvironmentError('PROXY_PORT_IN_USE', `the release proxy cannot publish port ${options.hostPort}: it is already in use`, 'choose another proxy port or stop what is using it');
          }
          const task = newestTask(tasks);
          if (task && ENDED_TASK_STATES.has(task.state)) {
            throw new EnvironmentError('PROXY_NOT_READY', `the release proxy service ${name} did not start: ${taskDetail(task)}`, `see its output: docker service logs ${name}`);
          }
          if (Date.now() > deadline) {
            throw new EnvironmentError('PROXY_NOT_READY', `the release proxy service ${name} did not answer on its admin socket ${adminSocket} within ${(PROXY_READY_TIMEOUT_MS * 2) / 1000} s (task ${taskDetail(task)})`, 'its admin socket is in the bind-mounted release folder: the service must run on this machine (a manager node envctl talks to, not a remote DOCKER_HOST)');
          }
          options.signal.throwIfAborted();
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      } catch (error) {
        await swarm.removeService(id).catch(() => undefined);
        throw error;
      }
      return { containerId: id, name, hostPort: options.hostPort, adminSocket };
    },
    async gone(slot) {
      return (await findService(undefined, slot.id)) === undefined;
    },
    async running(slot) {
      if (!(await findService(undefined, slot.id))) return false;
      return (await swarm.listTasks(slot.id)).some((task) => task.state === 'running');
    },
    async removeRelease(model, releaseId) {
      const services = await swarm.listServices({ ...stackSelector(model), [LABEL.release]: releaseId }).catch(() => []);
      for (const service of services) await swarm.removeService(service.id).catch(() => undefined);
    },
    ownName: (model, service) => serviceName(model, service),
  };
  return runtime;
}

/** A task that failed, or waits, because its host port is taken. */
const PORT_IN_USE = /address already in use|port is already allocated|port already in use/i;

/** The newest task, by time, not by text: the engine drops trailing zeros of the fraction (`…00.4Z` is after `…00.45Z` as text). */
function newestTask(tasks: readonly ObservedTask[]): ObservedTask | undefined {
  return [...tasks].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt))[0];
}

/**
 * A canary or baseline service from production's spec: everything the tasks run with is kept
 * (environment, mounts, secrets, configs, networks, healthcheck, resources); what makes it a
 * release arm is changed.
 */
export function slotServiceSpec(prod: SwarmServiceSpec, options: { name: string; image: string; labels: Record<string, string>; node: string }): SwarmServiceSpec {
  const task = prod.TaskTemplate;
  if (!task.ContainerSpec) throw new WorkFailedError('RELEASE_SERVICE_SPEC', `service ${prod.Name} has no container spec`, 'deploy it with `envctl up --target swarm`');
  return {
    ...prod,
    Name: options.name,
    Labels: options.labels,
    TaskTemplate: {
      ...task,
      ContainerSpec: { ...task.ContainerSpec, Image: options.image },
      // A crashed canary stays down: the guardrail sees it exit instead of a restart loop hiding it.
      RestartPolicy: { Condition: 'none' },
      Placement: { ...task.Placement, Constraints: [...(task.Placement?.Constraints ?? []), `node.id==${options.node}`], Preferences: task.Placement?.Preferences ?? [] },
      // No alias: the service's own name keeps resolving to production only.
      Networks: (task.Networks ?? []).map((network) => ({ Target: network.Target, Aliases: [] })),
      ForceUpdate: 0,
    },
    Mode: { Replicated: { Replicas: 1 } },
    // No published port (the proxy is the way in); DNS round robin, which needs no IPVS.
    EndpointSpec: { Mode: 'dnsrr', Ports: [] },
    UpdateConfig: undefined,
    RollbackConfig: undefined,
  } as SwarmServiceSpec;
}
