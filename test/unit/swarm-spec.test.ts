/**
 * The swarm target's pure parts: definition → ServiceSpec (deploy subset, ports, secrets and
 * configs, labels), the `deploy:` schema's bad input, and the plan diff naming the fields that
 * change before anything happens.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ignoredLocally } from '../../src/definition/deploy.js';
import type { EnvironmentModel } from '../../src/definition/model.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import { DefinitionError } from '../../src/errors.js';
import { LABEL } from '../../src/labels.js';
import { containerSpecFor } from '../../src/engine/container-spec.js';
import { hashService } from '../../src/plan/hash.js';
import { planSwarm, renderSwarmPlanText, type ObservedStack } from '../../src/swarm/plan.js';
import { desiredStack, serviceSpecFor, STACK_LABEL, type DesiredStack, type SwarmInputs } from '../../src/swarm/spec.js';
import type { ObservedSwarmService } from '../../src/swarm/types.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-swarm-spec-'));
  await mkdir(join(dir, 'secrets'));
  await writeFile(join(dir, 'secrets', 'db.txt'), 's3cret');
  await writeFile(join(dir, 'app.conf'), 'greeting=hello\n');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function load(yaml: string, env?: string): Promise<EnvironmentModel> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return loadDefinition({ cwd: dir, file, env, processEnv: {} });
}

const SHOP = `
name: shop
services:
  db:
    image: envctl/base-postgres:15
    volumes: ["dbdata:/var/lib/postgresql/data"]
    secrets: [db_password]
    healthcheck: { test: ["CMD", "pg_isready"], interval: 1s, timeout: 2s, retries: 5, start_period: 3s }
    deploy:
      placement: { constraints: ["node.role == manager"] }
      resources: { limits: { cpus: "0.5", memory: 256m }, reservations: { memory: 64m } }
  web:
    image: shop/web:1
    command: ["node", "server.js"]
    ports:
      - "127.0.0.1:8080:3000"
      - { target: 9090, published: 9090, mode: host }
    environment: { LOG_LEVEL: info }
    configs:
      - source: app_conf
        target: /etc/app.conf
        mode: 0440
    depends_on: { db: { condition: service_healthy } }
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      update_config: { parallelism: 1, delay: 2s, order: start-first, failure_action: rollback, monitor: 5s }
      rollback_config: { parallelism: 2 }
      restart_policy: { condition: on-failure, max_attempts: 3, delay: 1s }
volumes: { dbdata: {} }
secrets:
  db_password: { file: ./secrets/db.txt }
configs:
  app_conf: { file: ./app.conf }
`;

const INPUTS: SwarmInputs = {
  images: { db: { ref: 'sha256:aaa', display: 'envctl/base-postgres:15' }, web: { ref: 'sha256:bbb', display: 'shop/web:1' } },
  fileHashes: { 'secret:db_password': 'a'.repeat(64), 'config:app_conf': 'c'.repeat(64) },
};

function serviceOf(desired: DesiredStack, name: string) {
  return desired.services.find((service) => service.service === name)!;
}

describe('definition → ServiceSpec', () => {
  it('maps replicas, update/rollback config, restart policy, ports, endpoint mode, configs and the image by ID', async () => {
    const model = await load(SHOP);
    const desired = desiredStack(model, INPUTS);
    const spec = serviceSpecFor(model, desired, serviceOf(desired, 'web'), new Map([['shop_app_conf_cccccccccccc', 'cfg-id']]));
    expect(spec.Name).toBe('shop_web');
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 3 } });
    expect(spec.UpdateConfig).toEqual({ Parallelism: 1, Delay: 2_000_000_000, FailureAction: 'rollback', Monitor: 5_000_000_000, MaxFailureRatio: 0, Order: 'start-first' });
    expect(spec.RollbackConfig).toMatchObject({ Parallelism: 2, FailureAction: 'pause', Order: 'stop-first' });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'on-failure', Delay: 1_000_000_000, MaxAttempts: 3 });
    expect(spec.EndpointSpec).toEqual({
      Mode: 'dnsrr',
      Ports: [
        { Protocol: 'tcp', TargetPort: 3000, PublishedPort: 8080, PublishMode: 'ingress' },
        { Protocol: 'tcp', TargetPort: 9090, PublishedPort: 9090, PublishMode: 'host' },
      ],
    });
    const container = spec.TaskTemplate.ContainerSpec;
    expect(container.Image).toBe('sha256:bbb');
    expect(container.Args).toEqual(['node', 'server.js']);
    expect(container.Command).toBeUndefined();
    expect(container.Env).toContain('LOG_LEVEL=info');
    expect(container.Configs).toEqual([{ File: { Name: '/etc/app.conf', UID: '0', GID: '0', Mode: 0o440 }, ConfigID: 'cfg-id', ConfigName: 'shop_app_conf_cccccccccccc' }]);
    expect(spec.TaskTemplate.Networks).toEqual([{ Target: 'shop_default', Aliases: ['web'] }]);
    // The service carries the environment's labels; its task containers do not (the local target must not see them).
    expect(spec.Labels).toMatchObject({ [LABEL.project]: 'shop', [LABEL.env]: 'default', [LABEL.target]: 'swarm', [LABEL.service]: 'web', [LABEL.image]: 'shop/web:1', [STACK_LABEL]: 'shop' });
    expect(container.Labels[LABEL.project]).toBeUndefined();
    expect(container.Labels[LABEL.configHash]).toBe(serviceOf(desired, 'web').taskHash);
  });

  it('maps healthcheck, resources, placement, secrets and named volumes', async () => {
    const model = await load(SHOP);
    const desired = desiredStack(model, INPUTS);
    const spec = serviceSpecFor(model, desired, serviceOf(desired, 'db'), new Map([['shop_db_password_aaaaaaaaaaaa', 'sec-id']]));
    expect(spec.Mode).toEqual({ Replicated: { Replicas: 1 } });
    expect(spec.UpdateConfig).toBeUndefined();
    expect(spec.TaskTemplate.ContainerSpec.Healthcheck).toEqual({ Test: ['CMD', 'pg_isready'], Interval: 1e9, Timeout: 2e9, Retries: 5, StartPeriod: 3e9 });
    expect(spec.TaskTemplate.Resources).toEqual({ Limits: { NanoCPUs: 500_000_000, MemoryBytes: 256 * 1024 ** 2 }, Reservations: { MemoryBytes: 64 * 1024 ** 2 } });
    expect(spec.TaskTemplate.Placement).toEqual({ Constraints: ['node.role == manager'], Preferences: [] });
    expect(spec.TaskTemplate.RestartPolicy).toEqual({ Condition: 'any' });
    expect(spec.TaskTemplate.ContainerSpec.Secrets).toEqual([{ File: { Name: '/run/secrets/db_password', UID: '0', GID: '0', Mode: 0o444 }, SecretID: 'sec-id', SecretName: 'shop_db_password_aaaaaaaaaaaa' }]);
    expect(spec.TaskTemplate.ContainerSpec.Mounts).toEqual([
      { Type: 'volume', Source: 'shop_dbdata', Target: '/var/lib/postgresql/data', ReadOnly: false, VolumeOptions: { Labels: { [LABEL.project]: 'shop', [LABEL.env]: 'default', [LABEL.target]: 'swarm', [STACK_LABEL]: 'shop', [LABEL.volume]: 'dbdata' } } },
    ]);
    expect(spec.EndpointSpec).toEqual({ Mode: 'vip', Ports: [] });
  });

  it('names secrets and configs by content hash, networks as the stack does, and warns that swarm cannot bind 127.0.0.1', async () => {
    const model = await load(SHOP);
    const desired = desiredStack(model, INPUTS);
    expect(desired.files.map((file) => `${file.kind} ${file.name}`)).toEqual(['secret shop_db_password_aaaaaaaaaaaa', 'config shop_app_conf_cccccccccccc']);
    expect(desired.networks).toEqual([expect.objectContaining({ key: 'default', name: 'shop_default', external: false })]);
    expect(desired.services.map((service) => service.service)).toEqual(['db', 'web']);
    expect(serviceOf(desired, 'web').after).toEqual(['db']);
    expect(desired.warnings).toEqual([expect.stringContaining('service "web": swarm cannot bind a host address: port(s) 127.0.0.1:8080, 127.0.0.1:9090')]);
    const changed = desiredStack(model, { ...INPUTS, fileHashes: { ...INPUTS.fileHashes, 'config:app_conf': 'd'.repeat(64) } });
    expect(changed.files[1]!.name).toBe('shop_app_conf_dddddddddddd');
    expect(serviceOf(changed, 'web').taskHash).not.toBe(serviceOf(desired, 'web').taskHash);
    expect(serviceOf(changed, 'db').configHash).toBe(serviceOf(desired, 'db').configHash);
  });

  it('global mode has no replicas; a replicas-only change keeps the task hash (no task restarts)', async () => {
    const model = await load(SHOP.replace('replicas: 3', 'replicas: 5'));
    const base = desiredStack(await load(SHOP), INPUTS);
    const scaled = desiredStack(model, INPUTS);
    expect(serviceOf(scaled, 'web').configHash).not.toBe(serviceOf(base, 'web').configHash);
    expect(serviceOf(scaled, 'web').taskHash).toBe(serviceOf(base, 'web').taskHash);
    const global = await load(SHOP.replace('replicas: 3', 'mode: global'));
    const spec = serviceSpecFor(global, desiredStack(global, INPUTS), serviceOf(desiredStack(global, INPUTS), 'web'));
    expect(spec.Mode).toEqual({ Global: {} });
  });
});

describe('deploy: validation and the local target', () => {
  const cases: Array<{ name: string; deploy: string; message: RegExp }> = [
    { name: 'negative replicas', deploy: '{ replicas: -1 }', message: /replicas/ },
    { name: 'replicas with global', deploy: '{ mode: global, replicas: 2 }', message: /replicas does not apply to mode: global/ },
    { name: 'bad cpus', deploy: '{ resources: { limits: { cpus: "lots" } } }', message: /invalid cpus "lots"/ },
    { name: 'bad memory', deploy: '{ resources: { limits: { memory: 12x } } }', message: /invalid size "12x"/ },
    { name: 'bad constraint', deploy: '{ placement: { constraints: ["node.role manager"] } }', message: /invalid placement constraint "node.role manager"/ },
    { name: 'bad order', deploy: '{ update_config: { order: sideways } }', message: /order/ },
    { name: 'rollback on rollback', deploy: '{ rollback_config: { failure_action: rollback } }', message: /failure_action/ },
    { name: 'unknown key', deploy: '{ replica: 2 }', message: /replica/ },
  ];
  it.each(cases)('refuses $name (exit 2, located)', async ({ deploy, message }) => {
    const error = await load(`services:\n  web:\n    image: x\n    deploy: ${deploy}\n`).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DefinitionError);
    expect((error as DefinitionError).exitCode).toBe(2);
    expect((error as DefinitionError).diagnostics.map((diagnostic) => diagnostic.message).join('\n')).toMatch(message);
    expect((error as DefinitionError).diagnostics[0]!.line).toBe(4);
  });

  it('refuses an undeclared secret, a secret file outside the project, and environment-sourced secrets', async () => {
    const undeclared = await load('services:\n  web:\n    image: x\n    secrets: [db_pasword]\nsecrets:\n  db_password: { file: ./secrets/db.txt }\n').catch((caught: unknown) => caught);
    expect((undeclared as DefinitionError).diagnostics[0]).toMatchObject({ code: 'UNKNOWN_SECRET', hint: 'did you mean "db_password"?' });
    const outside = await load('services:\n  web:\n    image: x\n    secrets: [s]\nsecrets:\n  s: { file: /etc/hostname }\n').catch((caught: unknown) => caught);
    expect((outside as DefinitionError).diagnostics[0]!.message).toMatch(/outside the project folder/);
    const fromEnv = await load('services:\n  web:\n    image: x\nsecrets:\n  s: { environment: TOKEN }\n').catch((caught: unknown) => caught);
    expect((fromEnv as DefinitionError).diagnostics[0]!.message).toMatch(/secrets from `environment:` are not supported yet/);
  });

  it('local up applies resource limits and mounts secrets and configs read-only, and names what it ignores', async () => {
    const model = await load(SHOP);
    const db = model.services.db!;
    const spec = containerSpecFor(model, db, { name: 'shop-db', image: 'x', hash: hashService(db, 'x', model) });
    expect(spec.resources).toEqual({ nanoCpus: 500_000_000, memoryBytes: 256 * 1024 ** 2, memoryReservationBytes: 64 * 1024 ** 2, pidsLimit: undefined });
    expect(spec.mounts).toContainEqual({ type: 'bind', source: join(dir, 'secrets', 'db.txt'), target: '/run/secrets/db_password', readOnly: true });
    expect(ignoredLocally(db)).toEqual(['service "db": deploy settings ignored by the local target: placement; `--target swarm` applies them']);
    expect(ignoredLocally(model.services.web!)[0]).toMatch(/replicas: 3 \(one container locally\), update_config, rollback_config, restart_policy .*endpoint_mode, uid\/gid\/mode/);
  });

  it('a service without deploy keeps its local config hash (adding the field recreates nothing)', async () => {
    const plain = await load('services:\n  web:\n    image: x\n');
    const withEmptyDeploy = await load('services:\n  web:\n    image: x\n    deploy: { replicas: 1 }\n');
    expect(hashService(withEmptyDeploy.services.web!, 'x', withEmptyDeploy).configHash).toBe(hashService(plain.services.web!, 'x', plain).configHash);
    const limited = await load('services:\n  web:\n    image: x\n    deploy: { resources: { limits: { memory: 64m } } }\n');
    expect(hashService(limited.services.web!, 'x', limited).configHash).not.toBe(hashService(plain.services.web!, 'x', plain).configHash);
  });
});

/** A service as the swarm would report it after `up --target swarm` deployed `desired`. */
function observedFrom(model: EnvironmentModel, desired: DesiredStack, name: string): ObservedSwarmService {
  const service = serviceOf(desired, name);
  const spec = serviceSpecFor(model, desired, service);
  return { id: `id-${name}`, name: service.name, version: 7, labels: spec.Labels, spec, replicas: service.replicas, updateState: undefined, updateMessage: undefined, updateStartedAt: undefined, ports: [] };
}

describe('planSwarm', () => {
  async function deployed(yaml: string): Promise<ObservedStack> {
    const model = await load(yaml);
    const desired = desiredStack(model, INPUTS);
    return {
      services: desired.services.map((service) => observedFrom(model, desired, service.service)),
      networks: desired.networks.map((network) => ({ id: `net-${network.key}`, name: network.name, key: network.key, labels: network.labels })),
      secrets: desired.files.filter((file) => file.kind === 'secret').map((file) => ({ id: `s-${file.key}`, name: file.name, labels: file.labels })),
      configs: desired.files.filter((file) => file.kind === 'config').map((file) => ({ id: `c-${file.key}`, name: file.name, labels: file.labels })),
    };
  }

  it('plans everything as new on an empty swarm', async () => {
    const model = await load(SHOP);
    const plan = planSwarm({ project: 'shop', env: 'default', desired: desiredStack(model, INPUTS), observed: { services: [], networks: [], secrets: [], configs: [] }, removeOrphans: false });
    expect(renderSwarmPlanText(plan)).toBe(
      [
        'plan for shop (env default) on swarm, stack shop',
        '  create   network shop_default                  new overlay network, attachable',
        '  create   secret shop_db_password_aaaaaaaaaaaa  new secret',
        '  create   config shop_app_conf_cccccccccccc     new config',
        `  create   ${'db'.padEnd(36)}  new service (1 replica)`,
        `  create   ${'web'.padEnd(36)}  new service (3 replicas)`,
        '  warning: service "web": swarm cannot bind a host address: port(s) 127.0.0.1:8080, 127.0.0.1:9090 are published on every interface (of every node, routing mesh)',
        'summary: 2 to create',
        '',
      ].join('\n'),
    );
  });

  it('keeps an unchanged stack: no changes', async () => {
    const model = await load(SHOP);
    const plan = planSwarm({ project: 'shop', env: 'default', desired: desiredStack(model, INPUTS), observed: await deployed(SHOP), removeOrphans: false });
    expect(plan.actions.filter((action) => action.kind !== 'keep')).toEqual([]);
    expect(renderSwarmPlanText(plan)).toMatch(/summary: no changes \(2 to keep\)\n$/);
  });

  it('names each changed field: image (old -> new), env, replicas (old -> new), ports, update_config', async () => {
    const observed = await deployed(SHOP);
    const edited = SHOP.replace('LOG_LEVEL: info', 'LOG_LEVEL: debug').replace('replicas: 3', 'replicas: 4').replace('published: 9090', 'published: 9091').replace('delay: 2s', 'delay: 3s');
    const model = await load(edited);
    const inputs = { ...INPUTS, images: { ...INPUTS.images, web: { ref: 'sha256:ccc', display: 'shop/web:2' } } };
    const plan = planSwarm({ project: 'shop', env: 'default', desired: desiredStack(model, inputs), observed, removeOrphans: false });
    const web = plan.actions.find((action) => action.subject === 'service' && action.service === 'web');
    expect(web).toMatchObject({ kind: 'update', id: 'id-web', changed: ['image', 'environment', 'ports', 'replicas', 'update_config'] });
    expect(renderSwarmPlanText(plan)).toContain('  update   web                                   changed: image shop/web:1 -> shop/web:2, environment, ports, replicas 3 -> 4, update_config\n');
    expect(plan.actions.find((action) => action.subject === 'service' && action.service === 'db')).toMatchObject({ kind: 'keep' });
  });

  it('a changed config file is a new config, an update of the service using it, and the old version is pruned', async () => {
    const observed = await deployed(SHOP);
    const model = await load(SHOP);
    const plan = planSwarm({ project: 'shop', env: 'default', desired: desiredStack(model, { ...INPUTS, fileHashes: { ...INPUTS.fileHashes, 'config:app_conf': 'e'.repeat(64) } }), observed, removeOrphans: false });
    const text = renderSwarmPlanText(plan);
    expect(text).toContain('create   config shop_app_conf_eeeeeeeeeeee     content changed (a new version; swarm never edits one in place)');
    expect(text).toContain('prune    config shop_app_conf_cccccccccccc     no longer used');
    expect(text).toContain('update   web                                   changed: configs');
    expect(text).toMatch(/keep {5}db/);
  });

  it('orphans are named, and removed only with --remove-orphans', async () => {
    const observed = await deployed(SHOP);
    const model = await load(SHOP.replace(/ {2}web:[\s\S]*?(?=volumes:)/, ''));
    const kept = planSwarm({ project: 'shop', env: 'default', desired: desiredStack(model, INPUTS), observed, removeOrphans: false });
    expect(kept.actions.find((action) => action.subject === 'service' && action.service === 'web')).toMatchObject({ kind: 'orphan' });
    const removed = planSwarm({ project: 'shop', env: 'default', desired: desiredStack(model, INPUTS), observed, removeOrphans: true });
    expect(removed.actions.find((action) => action.subject === 'service' && action.service === 'web')).toMatchObject({ kind: 'remove', id: 'id-web' });
  });
});
