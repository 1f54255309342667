/**
 * The swarm release's pure part: a canary or baseline service made from production's spec keeps
 * what the tasks run with and changes what makes it a release arm; and `plan --target swarm` leaves
 * a release's services (labelled with their slot) alone instead of taking one for the service.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../src/definition/resolve.js';
import { LABEL } from '../../src/labels.js';
import { planSwarm } from '../../src/swarm/plan.js';
import { slotServiceSpec, swarmRuntime, swarmSlotName } from '../../src/swarm/release-runtime.js';
import { desiredStack, serviceSpecFor } from '../../src/swarm/spec.js';
import type { ObservedSwarmService, SwarmEngine } from '../../src/swarm/types.js';
import type { Engine } from '../../src/engine/engine.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-swarm-release-'));
  await writeFile(join(dir, 'token.txt'), 'not-a-real-token');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function shop() {
  const file = join(dir, 'envctl.yaml');
  await writeFile(
    file,
    `name: shop
services:
  web:
    image: shop-web:1
    environment: { GREETING: hello }
    ports: [{ target: 3000, published: 8080, mode: host }]
    secrets: [token]
    healthcheck: { test: ["CMD", "true"], interval: 1s }
    deploy:
      replicas: 3
      endpoint_mode: vip
      placement: { constraints: ["node.role==manager"] }
      update_config: { parallelism: 1 }
secrets:
  token: { file: ./token.txt }
`,
  );
  const model = await loadDefinition({ cwd: dir, file, processEnv: {} });
  const desired = desiredStack(model, { images: { web: { ref: 'sha256:aaa', display: 'shop-web:1' } }, fileHashes: { 'secret:token': 'ab'.repeat(32) } });
  return { model, desired, spec: serviceSpecFor(model, desired, desired.services[0]!, new Map([[desired.files[0]!.name, 'secret-id']])) };
}

describe('swarm release arms', () => {
  it('copies production’s spec with the new image, one replica, no port, no alias, no restart, pinned to the node', async () => {
    const { model, spec } = await shop();
    const name = swarmSlotName(model, 'web', 'canary', 'r-20261126T120000Z-1a2b');
    expect(name).toBe('shop_web-canary-1a2b');
    const labels = { [LABEL.slot]: 'canary', [LABEL.release]: 'r-20261126T120000Z-1a2b' };
    const canary = slotServiceSpec(spec, { name, image: 'sha256:bbb', labels, node: 'node-1' });
    expect(canary.Name).toBe(name);
    expect(canary.Labels).toEqual(labels);
    expect(canary.TaskTemplate.ContainerSpec.Image).toBe('sha256:bbb');
    // What the tasks run with is production's.
    expect(canary.TaskTemplate.ContainerSpec.Env).toEqual(['GREETING=hello']);
    expect(canary.TaskTemplate.ContainerSpec.Secrets).toEqual(spec.TaskTemplate.ContainerSpec.Secrets);
    expect(canary.TaskTemplate.ContainerSpec.Healthcheck).toEqual(spec.TaskTemplate.ContainerSpec.Healthcheck);
    // What makes it an arm.
    expect(canary.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(canary.EndpointSpec).toEqual({ Mode: 'dnsrr', Ports: [] });
    expect(canary.TaskTemplate.RestartPolicy).toEqual({ Condition: 'none' });
    expect(canary.TaskTemplate.Networks).toEqual(spec.TaskTemplate.Networks.map((network) => ({ Target: network.Target, Aliases: [] })));
    expect(canary.TaskTemplate.Placement.Constraints).toEqual(['node.role==manager', 'node.id==node-1']);
    expect(JSON.parse(JSON.stringify(canary))).not.toHaveProperty('UpdateConfig');
    // Production's spec itself is untouched.
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.TaskTemplate.Networks[0]!.Aliases).toContain('web');
  });

  it('plan leaves a release’s services alone: no orphan, no update of the service from them', async () => {
    const { model, desired, spec } = await shop();
    const own: ObservedSwarmService = { id: 'own', name: 'shop_web', version: 1, labels: spec.Labels, spec, replicas: 3, updateState: undefined, updateMessage: undefined, updateStartedAt: undefined, ports: [] };
    const canarySpec = slotServiceSpec(spec, { name: 'shop_web-canary-1a2b', image: 'sha256:bbb', labels: { ...spec.Labels, [LABEL.slot]: 'canary', [LABEL.release]: 'r-1' }, node: 'n' });
    const canary: ObservedSwarmService = { ...own, id: 'canary', name: canarySpec.Name, labels: canarySpec.Labels, spec: canarySpec, replicas: 1 };
    const plan = planSwarm({ project: model.project, env: model.env, desired, observed: { services: [own, canary], networks: [], secrets: [], configs: [] }, removeOrphans: true });
    const services = plan.actions.filter((action) => action.subject === 'service');
    expect(services).toEqual([expect.objectContaining({ kind: 'keep', id: 'own' })]);
  });
});

describe('the swarm arm runtime', () => {
  it('reads the health of the newest task by time (the engine writes …00.4Z for …00.400Z, which sorts after …00.45Z as text)', async () => {
    const task = (id: string, createdAt: string, state: string) => ({ id, serviceId: 'svc', slot: 1, desiredState: 'running', state, error: undefined, message: undefined, createdAt, stateAt: createdAt, containerId: undefined });
    const swarm = {
      listServices: async () => [{ id: 'svc' }],
      // A failed task at .4 s, replaced by a running one 50 ms later.
      listTasks: async () => [task('old', '2026-11-26T12:00:00.4Z', 'failed'), task('new', '2026-11-26T12:00:00.45Z', 'running')],
    } as unknown as SwarmEngine;
    expect(await swarmRuntime({} as Engine, swarm).health({ id: 'svc', name: 'shop_web-canary-0f0f' })).toBe('running');
  });
});

describe('the swarm release proxy', () => {
  it('reports its host port in use when a replaced task failed on it (the newest task is already its replacement), and removes the service', async () => {
    const { model, spec } = await shop();
    const task = (id: string, createdAt: string, state: string, error?: string) => ({ id, serviceId: 'proxy', slot: 1, desiredState: 'running', state, error, message: undefined, createdAt, stateAt: createdAt, containerId: undefined });
    const removed: string[] = [];
    const swarm = {
      swarmInfo: async () => ({ nodeId: 'node-1' }),
      listServices: async () => [{ id: 'prod', name: 'shop_web', spec }],
      createService: async () => 'proxy',
      listTasks: async () => [
        task('first', '2026-11-26T12:00:01.2Z', 'failed', 'driver failed programming external connectivity on endpoint: Bind for 0.0.0.0:8080 failed: port is already allocated'),
        task('second', '2026-11-26T12:00:01.25Z', 'ready'),
      ],
      removeService: async (id: string) => {
        removed.push(id);
      },
    } as unknown as SwarmEngine;
    const engine = { imageIds: async () => new Map<string, string>() } as unknown as Engine;
    const start = swarmRuntime(engine, swarm).startProxy({
      model,
      service: model.services.web!,
      releaseId: 'r-20261126T120000Z-1a2b',
      releaseDir: dir,
      image: 'envctl/proxy:test',
      upstreams: { canary: { host: 'shop_web-canary-1a2b', port: 3000 }, baseline: { host: 'shop_web-baseline-1a2b', port: 3000 }, prod: { host: 'shop_web', port: 3000 } },
      sticky: 'none',
      hostPort: 8080,
      signal: new AbortController().signal,
    });
    await expect(start).rejects.toMatchObject({ code: 'PROXY_PORT_IN_USE' });
    expect(removed).toEqual(['proxy']);
  });
});
