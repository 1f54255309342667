/**
 * How `up --target swarm` follows services, against a scripted fake swarm (the real engine is in
 * test/e2e/swarm.test.ts): dependency order, convergence on the new spec's tasks, a rolled-back
 * update reported as a failure, and a rollback left by an earlier run not mistaken for this one.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/engine/engine.js';
import type { EnvctlEvent } from '../../src/events.js';
import { LABEL } from '../../src/labels.js';
import { checkRegistry, swarmUp } from '../../src/swarm/deploy.js';
import type { ObservedNetwork } from '../../src/engine/types.js';
import type { ObservedSwarmService, ObservedTask, SwarmEngine, SwarmServiceSpec } from '../../src/swarm/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-swarm-up-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface FakeService {
  id: string;
  spec: SwarmServiceSpec;
  version: number;
  updateState: string | undefined;
  updateStartedAt: string | undefined;
  tasks: Array<ObservedTask & { pollsLeft: number; fails: boolean }>;
  /** As a real manager: the update starts a moment after the request (until then the last update's state shows). */
  pendingUpdate?: boolean;
}

/** A swarm whose tasks start after a few polls; `broken` names task hashes whose tasks fail (and the update rolls back). */
function fakeSwarm(options: { broken?: Set<string>; existing?: FakeService[]; networks?: ObservedNetwork[] } = {}) {
  const services = new Map<string, FakeService>((options.existing ?? []).map((service) => [service.id, service]));
  const networks: ObservedNetwork[] = options.networks ?? [];
  const calls: string[] = [];
  let clock = 0;
  const hashOf = (spec: SwarmServiceSpec) => spec.TaskTemplate.ContainerSpec.Labels[LABEL.configHash];
  const startTasks = (service: FakeService) => {
    const replicas = 'Replicated' in service.spec.Mode ? service.spec.Mode.Replicated.Replicas : 1;
    for (const task of service.tasks) task.desiredState = 'shutdown';
    for (let slot = 1; slot <= replicas; slot += 1) {
      const taskHash = hashOf(service.spec);
      service.tasks.push({ id: `${service.id}-t${service.tasks.length}`, serviceId: service.id, slot, desiredState: 'running', state: 'starting', error: undefined, message: undefined, createdAt: String(clock), stateAt: String(clock), taskHash, containerId: undefined, pollsLeft: 2, fails: options.broken?.has(taskHash ?? '') ?? false });
    }
  };
  const observe = (service: FakeService): ObservedSwarmService => ({
    id: service.id,
    name: service.spec.Name,
    version: service.version,
    labels: service.spec.Labels,
    spec: service.spec,
    replicas: 'Replicated' in service.spec.Mode ? service.spec.Mode.Replicated.Replicas : undefined,
    updateState: service.updateState,
    updateMessage: service.updateState?.startsWith('rollback') ? 'update paused due to failure or early termination of task' : undefined,
    updateStartedAt: service.updateStartedAt,
    ports: [],
  });
  const previous = new Map<string, SwarmServiceSpec>();
  const swarm: SwarmEngine = {
    swarmInfo: async () => ({ state: 'active', isManager: true, nodeId: 'n1' }),
    listServices: async (labels) => [...services.values()].filter((service) => Object.entries(labels).every(([key, value]) => service.spec.Labels[key] === value)).map(observe),
    createService: async (spec) => {
      calls.push(`create ${spec.Name}`);
      const service: FakeService = { id: `id-${spec.Name}`, spec, version: 1, updateState: undefined, updateStartedAt: undefined, tasks: [] };
      services.set(service.id, service);
      startTasks(service);
      return service.id;
    },
    updateService: async (id, version, spec) => {
      calls.push(`update ${spec.Name} v${version}`);
      const service = services.get(id)!;
      previous.set(id, service.spec);
      service.spec = spec;
      service.version += 1;
      service.pendingUpdate = true;
    },
    removeService: async () => undefined,
    listTasks: async (serviceId) => {
      clock += 1;
      const service = services.get(serviceId)!;
      if (service.pendingUpdate) {
        service.pendingUpdate = false;
        service.updateState = 'updating';
        service.updateStartedAt = `update-${clock}`;
        startTasks(service);
        return service.tasks.map(({ pollsLeft: _p, fails: _f, ...task }) => task);
      }
      for (const task of service.tasks.filter((candidate) => candidate.desiredState === 'running')) {
        if (task.pollsLeft > 0) task.pollsLeft -= 1;
        else if (task.fails) Object.assign(task, { state: 'failed', desiredState: 'shutdown', error: 'task: non-zero exit (3)' });
        else task.state = 'running';
      }
      if (service.updateState === 'updating' && service.tasks.some((task) => task.state === 'failed' && task.taskHash === hashOf(service.spec))) {
        // failure_action: rollback: swarm restores the previous spec.
        service.spec = previous.get(serviceId)!;
        service.updateState = 'rollback_completed';
        startTasks(service);
        for (const task of service.tasks.filter((candidate) => candidate.desiredState === 'running')) Object.assign(task, { state: 'running', pollsLeft: 0 });
      } else if (service.updateState === 'updating' && service.tasks.filter((task) => task.desiredState === 'running').every((task) => task.state === 'running')) {
        service.updateState = 'completed';
      }
      return service.tasks.map(({ pollsLeft: _p, fails: _f, ...task }) => task);
    },
    createOverlayNetwork: async (spec) => {
      calls.push(`network ${spec.name}`);
      networks.push({ id: spec.name, name: spec.name, key: spec.labels[LABEL.network], labels: spec.labels });
    },
    listSecrets: async () => [],
    listConfigs: async () => [],
    createSecret: async () => 'sec',
    createConfig: async () => 'cfg',
    removeSecret: async () => undefined,
    removeConfig: async () => undefined,
    serviceLogs: async () => [],
    followServiceLogs: async function* () {},
    pushImage: async () => undefined,
  };
  const engine = {
    ping: async () => ({ version: '20.10', apiVersion: '1.41', os: 'linux', endpoint: 'fake' }),
    imageIds: async (refs: readonly string[]) => new Map(refs.map((ref) => [ref, `sha256:${ref.replace(/\W/g, '')}`])),
    listNetworks: async () => networks,
    removeNetwork: async () => undefined,
  } as unknown as Engine;
  return { swarm, engine, services, networks, calls };
}

async function up(yaml: string, { swarm, engine }: { swarm: SwarmEngine; engine: Engine }, events: EnvctlEvent[] = []) {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  let now = 0;
  return swarmUp({
    load: { cwd: dir, file, processEnv: { XDG_STATE_HOME: join(dir, 'state') } },
    engine,
    swarm,
    registry: undefined,
    removeOrphans: false,
    waitTimeoutMs: 60_000,
    emit: (event) => events.push(event),
    signal: new AbortController().signal,
    now: () => (now += 10),
    sleep: async () => undefined,
  });
}

const STACK = (workerCommand: string) => `
name: shop
services:
  api:
    image: api:1
    depends_on: [worker]
  worker:
    image: worker:1
    command: ["run", "${workerCommand}"]
    deploy: { replicas: 2, update_config: { failure_action: rollback } }
`;

describe('swarmUp', () => {
  it('creates the network, then services in dependency order, each converged before its dependants', async () => {
    const fake = fakeSwarm();
    const { calls } = fake;
    const events: EnvctlEvent[] = [];
    const result = await up(STACK('v1'), fake, events);
    expect(result).toMatchObject({ ok: true, stack: 'shop', changed: true });
    expect(result.services).toEqual([
      expect.objectContaining({ service: 'worker', action: 'create', status: 'ready', running: 2, replicas: 2 }),
      expect.objectContaining({ service: 'api', action: 'create', status: 'ready', running: 1 }),
    ]);
    expect(calls).toEqual(['network shop_default', 'create shop_worker', 'create shop_api']);
    const phases = events.filter((event) => event.type === 'service').map((event) => `${event.service} ${event.phase}`);
    expect(phases.indexOf('worker running')).toBeLessThan(phases.indexOf('api creating'));
  });

  it('reports a rolled-back update as a failure and does not touch the dependants', async () => {
    const first = fakeSwarm();
    await up(STACK('v1'), first);
    const broken = new Set<string>();
    const second = fakeSwarm({ existing: [...first.services.values()], networks: first.networks, broken });
    const { swarm, calls } = second;
    // Every task of the new worker spec fails: mark its hash broken once the spec is known.
    const update = swarm.updateService;
    swarm.updateService = async (id, version, spec) => {
      await update(id, version, spec);
      broken.add(spec.TaskTemplate.ContainerSpec.Labels[LABEL.configHash]!);
    };
    const result = await up(STACK('v2'), second);
    expect(result.ok).toBe(false);
    expect(result.services).toEqual([
      expect.objectContaining({ service: 'worker', action: 'update', status: 'failed', detail: expect.stringMatching(/^update rollback completed: update paused due to failure/) }),
      expect.objectContaining({ service: 'api', status: 'skipped', detail: 'dependency worker is not ready' }),
    ]);
    expect(calls.filter((call) => call.includes('api'))).toEqual([]);
  });

  it('does not mistake the rolled-back state an earlier run left for the outcome of this update', async () => {
    const first = fakeSwarm();
    await up(STACK('v1'), first);
    const worker = first.services.get('id-shop_worker')!;
    Object.assign(worker, { updateState: 'rollback_completed', updateStartedAt: 'an-earlier-run' });
    const result = await up(STACK('v3'), fakeSwarm({ existing: [...first.services.values()], networks: first.networks }));
    expect(result.ok).toBe(true);
    expect(result.services[0]).toMatchObject({ service: 'worker', action: 'update', status: 'ready', running: 2 });
  });

  it('an unchanged stack is kept and still checked for convergence', async () => {
    const first = fakeSwarm();
    await up(STACK('v1'), first);
    const second = fakeSwarm({ existing: [...first.services.values()], networks: first.networks });
    const result = await up(STACK('v1'), second);
    expect(result).toMatchObject({ ok: true, changed: false, plan: { keep: 2, create: 0, update: 0 } });
    expect(second.calls).toEqual([]);
    expect(result.services.map((outcome) => `${outcome.service} ${outcome.status} ${outcome.running}`)).toEqual(['worker ready 2', 'api ready 1']);
  });
});

describe('--registry', () => {
  it.each(['registry.example.com:5000', 'registry.example.com/team', 'localhost:5000'])('accepts %s', (registry) => {
    expect(checkRegistry(registry)).toBe(registry);
  });
  it.each(['https://registry.example.com', 'registry.example.com/', 'a b', 'reg:port'])('refuses %s (exit 2)', (registry) => {
    expect(() => checkRegistry(registry)).toThrow(expect.objectContaining({ code: 'BAD_REGISTRY', exitCode: 2 }));
  });
});
