/**
 * `--target swarm` through the built CLI on a real single-node swarm: a lean two-service stack from
 * the local base images (no registry) comes up converged to its replicas, answers on its published
 * port, rolls a service when its config file changes (update_config honoured, seen in the task
 * history), and `down` removes every object of the stack by label.
 *
 * The test initialises the swarm (`docker swarm init --advertise-addr 127.0.0.1`, via the Engine
 * API) only if the engine is not in one, and leaves it afterwards only then. A swarm does not touch
 * local containers or bridge networks. This engine has no IPVS, so the routing mesh and VIPs do not
 * work here: the stack uses host-mode ports and `endpoint_mode: dnsrr` (README, Docker Swarm).
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LABEL } from '../../src/labels.js';
import { envctl } from '../support/cli.js';
import { docker, uniqueProject } from '../support/docker.js';
import { eventually, freeLoopbackPort as freePort, removeSwarmProject, testSwarm } from '../support/swarm.js';

let dir: string;
let project: string;
let port: number;
const swarm = testSwarm();

const byProject = () => ({ label: [`${LABEL.project}=${project}`] });

const server = (role: string) =>
  [
    "const http = require('http'); const fs = require('fs'); const os = require('os');",
    `console.log('${role} up on ' + os.hostname());`,
    "http.createServer(async (req, res) => {",
    "  if (req.url === '/healthz') return res.end('ok');",
    "  const greeting = fs.readFileSync('/etc/greeting.txt', 'utf8').trim();",
    role === 'api'
      ? "  let worker; try { worker = await (await fetch('http://worker:8000/', { signal: AbortSignal.timeout(3000) })).json(); } catch (e) { worker = { error: String(e.cause?.code ?? e.message) }; }\n  const tokenLength = fs.readFileSync('/run/secrets/token', 'utf8').length;\n  res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ role: 'api', greeting, tokenLength, worker }));"
      : "  res.setHeader('content-type', 'application/json'); res.end(JSON.stringify({ role: 'worker', greeting, host: os.hostname() }));",
    '}).listen(8000);',
  ].join('\n');

const definition = () => `
name: ${project}
services:
  api:
    image: envctl/base-node:24
    command: ["node", "-e", ${JSON.stringify(server('api'))}]
    ports:
      - { target: 8000, published: ${port}, mode: host }
    configs: [{ source: greeting, target: /etc/greeting.txt }]
    secrets: [token]
    healthcheck:
      test: ["CMD", "node", "-e", "fetch('http://127.0.0.1:8000/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
      interval: 1s
      timeout: 3s
      retries: 30
    depends_on: { worker: { condition: service_started } }
    deploy:
      endpoint_mode: dnsrr
      update_config: { parallelism: 1, order: stop-first }
      resources: { limits: { memory: 256m } }
  worker:
    build: ./worker
    command: ["node", "worker.js"]
    configs: [{ source: greeting, target: /etc/greeting.txt }]
    deploy:
      replicas: 2
      endpoint_mode: dnsrr
      update_config: { parallelism: 1, delay: 1s, order: start-first, monitor: 1s, failure_action: rollback }
configs:
  greeting: { file: ./greeting.txt }
secrets:
  token: { file: ./token.txt }
`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-e2e-swarm-'));
  project = uniqueProject('swarm');
  port = await freePort();
  await writeFile(join(dir, 'greeting.txt'), 'hello\n');
  await writeFile(join(dir, 'token.txt'), 'not-a-real-token-123');
  await writeFile(join(dir, 'envctl.yaml'), definition());
  // The worker is built by envctl (no registry): the swarm runs the local image by its ID.
  await mkdir(join(dir, 'worker'));
  await writeFile(join(dir, 'worker', 'Dockerfile'), 'FROM envctl/base-node:24\nWORKDIR /app\nCOPY worker.js ./\n');
  await writeFile(join(dir, 'worker', 'worker.js'), server('worker'));
  await swarm.prepare();
}, 60_000);

afterAll(async () => {
  await removeSwarmProject(project).catch(() => undefined);
  await swarm.leave();
  await rm(dir, { recursive: true, force: true });
}, 120_000);

describe('envctl --target swarm', () => {
  it('refuses clearly outside a swarm (exit 3), and --registry without --target swarm (exit 2)', async () => {
    const registry = await envctl(['up', '--registry', 'registry.example.com:5000'], { cwd: dir });
    expect(registry.exitCode).toBe(2);
    expect(registry.stderr).toContain('--registry applies to --target swarm');
    if (!swarm.wasInactive) return; // The engine was already in a swarm: this case cannot be shown without leaving it.
    const up = await envctl(['up', '--target', 'swarm'], { cwd: dir });
    expect(up.exitCode).toBe(3);
    expect(up.stderr).toContain('not in a swarm');
    expect(up.stderr).toContain('docker swarm init');
    const plan = await envctl(['plan', '--target', 'swarm'], { cwd: dir });
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toMatch(/create +worker +new service \(2 replicas\)/);
    expect(plan.stdout).toContain('planned against an empty swarm');
    expect(plan.stdout).toMatch(new RegExp(`build +image ${project}-worker:[0-9a-f]{12} +build inputs changed`));
  });

  it('deploys, answers, rolls a config change with update_config, rolls a broken version back, and down removes the stack', async () => {
    await swarm.join();

    const plan = await envctl(['plan', '--target', 'swarm'], { cwd: dir });
    expect(plan.exitCode).toBe(0);
    expect(plan.stdout).toMatch(/create +network .*_default +new overlay network, attachable/);
    expect(plan.stdout).toMatch(/create +secret .*_token_[0-9a-f]{12} +new secret/);
    expect(plan.stdout).toMatch(/create +api +new service \(1 replica\)/);
    expect(plan.stdout).not.toContain('not-a-real-token');

    const up = await envctl(['up', '--target', 'swarm', '--json'], { cwd: dir });
    expect(up.exitCode, String(up.stderr)).toBe(0);
    const result = JSON.parse(String(up.stdout));
    expect(result).toMatchObject({ ok: true, target: 'swarm', stack: project, changed: true });
    expect(result.services).toEqual([
      expect.objectContaining({ service: 'worker', action: 'create', status: 'ready', replicas: 2, running: 2 }),
      expect.objectContaining({ service: 'api', action: 'create', status: 'ready', replicas: 1, running: 1 }),
    ]);

    // Converged, as the engine sees it: every service's running tasks equal its replicas.
    const services = await docker.listServices({ filters: byProject() });
    expect(services.map((service) => service.Spec?.Name).sort()).toEqual([`${project}_api`, `${project}_worker`]);
    const built = await docker.listImages({ filters: byProject() });
    expect(built.map((image) => image.RepoTags?.[0])).toEqual([expect.stringMatching(new RegExp(`^${project}-worker:[0-9a-f]{12}$`))]);
    const workerService = services.find((service) => service.Spec?.Name === `${project}_worker`)!;
    expect((workerService.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } }).ContainerSpec?.Image).toBe(built[0]!.Id);
    expect(workerService.Spec?.Labels?.[LABEL.image]).toBe(built[0]!.RepoTags?.[0]);
    for (const service of services) {
      const tasks = await docker.listTasks({ filters: { service: [service.ID!], 'desired-state': ['running'] } });
      expect(tasks.filter((task) => task.Status?.State === 'running')).toHaveLength(service.Spec!.Mode!.Replicated!.Replicas!);
      expect((service.Spec?.TaskTemplate as { ContainerSpec?: { Image?: string } } | undefined)?.ContainerSpec?.Image).toMatch(/^sha256:[0-9a-f]{64}$/);
    }
    const api = services.find((service) => service.Spec?.Name === `${project}_api`)!;
    expect(api.Spec?.TaskTemplate?.Resources?.Limits?.MemoryBytes).toBe(256 * 1024 ** 2);
    expect(api.Endpoint?.Ports).toEqual([expect.objectContaining({ TargetPort: 8000, PublishedPort: port, PublishMode: 'host' })]);

    // Answers on 127.0.0.1, and reaches the worker over the overlay network.
    const first = await eventually(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) });
      const body = (await response.json()) as { greeting: string; tokenLength: number; worker: { role?: string } };
      return body.worker.role === 'worker' ? body : undefined;
    }, 30_000, 'the api to answer through its published port');
    expect(first).toMatchObject({ greeting: 'hello', tokenLength: 'not-a-real-token-123'.length, worker: { role: 'worker', greeting: 'hello' } });

    // Without --target: the environment has no local container and a stack on this swarm manager.
    const status = await envctl(['status', '--json'], { cwd: dir });
    expect(status.exitCode).toBe(0);
    expect(JSON.parse(String(status.stdout)).services).toEqual([
      expect.objectContaining({ service: 'api', replicas: 1, running: 1, ports: [`*:${port}->8000/tcp (host)`] }),
      expect.objectContaining({ service: 'worker', replicas: 2, running: 2 }),
    ]);
    const logs = await envctl(['logs', '--target', 'swarm', 'worker'], { cwd: dir });
    expect(logs.exitCode).toBe(0);
    const statusText = await envctl(['status', '--target', 'swarm'], { cwd: dir });
    expect(String(statusText.stdout).split('\n').slice(0, 2)).toEqual([`stack ${project} (swarm)`, expect.stringMatching(/^SERVICE\s+REPLICAS\s+UPDATE\s+PORTS\s+IMAGE$/)]);
    expect(statusText.stdout).toMatch(/worker\s+2\/2\s+-\s+-\s+envctl-test-[0-9a-f]+-swarm-[0-9a-f]+-worker:[0-9a-f]{12}/);
    expect(String(logs.stdout).split('\n').filter((line) => line.startsWith('worker | worker up on'))).toHaveLength(2);

    // exec runs in a task of the stack on this node (found without --target, as status is), exit code passed through.
    const greeting = await envctl(['exec', 'api', '-T', '--', 'cat', '/etc/greeting.txt'], { cwd: dir });
    expect(greeting.exitCode, String(greeting.stderr)).toBe(0);
    expect(greeting.stdout).toBe('hello');
    const exitCode = await envctl(['exec', 'worker', '--target', 'swarm', '-T', '--', 'sh', '-c', 'exit 7'], { cwd: dir });
    expect(exitCode.exitCode).toBe(7);

    const again = await envctl(['up', '--target', 'swarm', '--json'], { cwd: dir });
    expect(again.exitCode).toBe(0);
    expect(JSON.parse(String(again.stdout))).toMatchObject({ ok: true, changed: false, plan: { keep: 2, create: 0, update: 0 } });

    // A config change: a new config version, both services roll; the plan says so first.
    await writeFile(join(dir, 'greeting.txt'), 'bonjour\n');
    const planned = await envctl(['plan', '--target', 'swarm'], { cwd: dir });
    expect(planned.stdout).toMatch(/create +config .*_greeting_[0-9a-f]{12} +content changed/);
    expect(planned.stdout).toMatch(/update +worker +changed: configs\n/);
    expect(planned.stdout).toMatch(/prune +config .*_greeting_[0-9a-f]{12} +no longer used/);
    const workerBefore = await docker.listTasks({ filters: { service: [`${project}_worker`] } });

    const rolled = await envctl(['up', '--target', 'swarm', '--json'], { cwd: dir });
    expect(rolled.exitCode, String(rolled.stderr)).toBe(0);
    expect(JSON.parse(String(rolled.stdout)).services).toEqual([
      expect.objectContaining({ service: 'worker', action: 'update', status: 'ready', running: 2 }),
      expect.objectContaining({ service: 'api', action: 'update', status: 'ready', running: 1 }),
    ]);

    const worker = await docker.getService(`${project}_worker`).inspect();
    expect(worker.UpdateStatus?.State).toBe('completed');
    expect(worker.Spec.UpdateConfig).toMatchObject({ Parallelism: 1, Delay: 1_000_000_000, Order: 'start-first', FailureAction: 'rollback', Monitor: 1_000_000_000 });
    const history = await docker.listTasks({ filters: { service: [`${project}_worker`] } });
    const oldIds = new Set(workerBefore.map((task) => task.ID));
    const fresh = history.filter((task) => !oldIds.has(task.ID) && task.DesiredState === 'running').sort((a, b) => String(a.CreatedAt).localeCompare(String(b.CreatedAt)));
    const replaced = history.filter((task) => oldIds.has(task.ID));
    expect(fresh).toHaveLength(2);
    expect(fresh.every((task) => task.Status?.State === 'running')).toBe(true);
    expect(replaced.every((task) => task.DesiredState === 'shutdown')).toBe(true);
    // parallelism 1: the second new task was created only after the first one was running.
    expect(String(fresh[1]!.CreatedAt) >= String(fresh[0]!.Status!.Timestamp)).toBe(true);
    // start-first: each old task was stopped only after its slot's new task was running.
    for (const task of fresh) {
      const predecessor = replaced.find((old) => old.Slot === task.Slot)!;
      expect(String(predecessor.Status!.Timestamp) >= String(task.Status!.Timestamp)).toBe(true);
    }
    const configs = await docker.listConfigs({ filters: byProject() });
    expect(configs).toHaveLength(1);

    const second = await eventually(async () => {
      const body = (await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) })).json()) as { greeting: string; worker: { greeting?: string } };
      return body.worker.greeting === 'bonjour' ? body : undefined;
    }, 30_000, 'the new greeting');
    expect(second.greeting).toBe('bonjour');

    // A broken version: update_config's failure_action rollback brings the previous one back, and up fails naming it.
    await writeFile(join(dir, 'envctl.yaml'), definition().replace('command: ["node", "worker.js"]', `command: ["node", "-e", "console.log('broken'); process.exit(3)"]`));
    const broken = await envctl(['up', '--target', 'swarm'], { cwd: dir });
    expect(broken.exitCode).toBe(1);
    expect(broken.stderr).toMatch(/service worker failed: update rollback completed/);
    expect(broken.stderr).toContain('not started: api');
    const rolledBack = await docker.getService(`${project}_worker`).inspect();
    expect(rolledBack.UpdateStatus?.State).toBe('rollback_completed');
    const stillServed = (await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) })).json()) as { worker: { role?: string; greeting?: string } };
    expect(stillServed.worker).toMatchObject({ role: 'worker', greeting: 'bonjour' });
    const replan = await envctl(['plan', '--target', 'swarm'], { cwd: dir });
    expect(replan.stdout).toMatch(/update +worker +changed: command\n/);

    const down = await envctl(['down', '--target', 'swarm', '--json'], { cwd: dir });
    expect(down.exitCode, String(down.stderr)).toBe(0);
    expect(JSON.parse(String(down.stdout)).removed).toMatchObject({ services: [expect.any(String), expect.any(String)], networks: [`${project}_default`], secrets: [expect.stringContaining('_token_')], configs: [expect.stringContaining('_greeting_')] });
    expect(await docker.listServices({ filters: byProject() })).toEqual([]);
    expect(await docker.listNetworks({ filters: byProject() })).toEqual([]);
    expect(await docker.listSecrets({ filters: byProject() })).toEqual([]);
    expect(await docker.listConfigs({ filters: byProject() })).toEqual([]);
  }, 300_000);

  it('--registry pushes the built image to the registry it names, and the swarm deploys it from there', async () => {
    await swarm.join();
    // A registry of our own (Debian's docker-registry; scripts/test.sh builds the image), on a
    // loopback port: the engine treats 127.0.0.0/8 registries as insecure, so plain HTTP is enough.
    const registryImage = await docker.getImage('envctl/test-registry:2').inspect().catch(() => undefined);
    if (!registryImage) throw new Error('envctl/test-registry:2 is missing: run `bash scripts/images/build.sh test-registry` (npm test does)');
    const registryPort = await freePort();
    const registry = `127.0.0.1:${registryPort}`;
    const registryContainer = await docker.createContainer({
      Image: 'envctl/test-registry:2',
      name: `${project}-registry`,
      Labels: { [LABEL.project]: project },
      HostConfig: { PortBindings: { '5000/tcp': [{ HostIp: '127.0.0.1', HostPort: String(registryPort) }] } },
    });
    const app = join(dir, 'registry-app');
    try {
      await registryContainer.start();
      await eventually(async () => ((await fetch(`http://${registry}/v2/`, { signal: AbortSignal.timeout(2_000) })).ok ? true : undefined), 30_000, 'the registry to answer');
      await mkdir(join(app, 'web'), { recursive: true });
      await writeFile(join(app, 'web', 'Dockerfile'), 'FROM envctl/base-node:24\nWORKDIR /app\nCOPY web.js ./\n');
      await writeFile(join(app, 'web', 'web.js'), "require('http').createServer((req, res) => res.end('from ' + process.env.RELEASE)).listen(8000);\n");
      const appDefinition = (release: string) => `
name: ${project}
services:
  web:
    build: ./web
    command: ["node", "web.js"]
    environment: { RELEASE: "${release}" }
    ports:
      - { target: 8000, published: ${port}, mode: host }
    deploy: { endpoint_mode: dnsrr, update_config: { order: stop-first } }
`;
      await writeFile(join(app, 'envctl.yaml'), appDefinition('one'));

      // Nothing listens there: the push fails, saying which registry, and nothing is deployed.
      const closedPort = await freePort();
      const unreachable = await envctl(['up', '--target', 'swarm', '--registry', `127.0.0.1:${closedPort}`], { cwd: app });
      expect(unreachable.exitCode).not.toBe(0);
      expect(unreachable.stderr).toContain(`127.0.0.1:${closedPort}`);
      expect(await docker.listServices({ filters: byProject() })).toEqual([]);

      const up = await envctl(['up', '--target', 'swarm', '--registry', registry, '--json'], { cwd: app });
      expect(up.exitCode, String(up.stderr)).toBe(0);
      expect(JSON.parse(String(up.stdout))).toMatchObject({ ok: true, services: [expect.objectContaining({ service: 'web', status: 'ready', running: 1 })] });

      // The spec names the registry's reference, and the registry holds that repository and tag.
      const web = await docker.getService(`${project}_web`).inspect();
      const ref = (web.Spec.TaskTemplate as { ContainerSpec: { Image: string } }).ContainerSpec.Image;
      const match = new RegExp(`^${registry.replace(/\./g, '\\.')}/(${project}-web):([0-9a-f]{12})(@sha256:[0-9a-f]{64})?$`).exec(ref);
      expect(match, ref).not.toBeNull();
      const [, repository, tag] = match!;
      const catalog = (await (await fetch(`http://${registry}/v2/_catalog`)).json()) as { repositories: string[] };
      expect(catalog.repositories).toEqual([repository]);
      const tags = (await (await fetch(`http://${registry}/v2/${repository}/tags/list`)).json()) as { tags: string[] };
      expect(tags.tags).toEqual([tag]);
      const answer = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) })).text();
        return text === 'from one' ? text : undefined;
      }, 30_000, 'the web service to answer');
      expect(answer).toBe('from one');

      // The node deploys from the registry: with the registry's tag gone from the engine, the next
      // version's task can only start by pulling it back from there.
      await docker.getImage(`${registry}/${repository}:${tag}`).remove();
      await writeFile(join(app, 'envctl.yaml'), appDefinition('two'));
      const rolled = await envctl(['up', '--target', 'swarm', '--registry', registry, '--json'], { cwd: app });
      expect(rolled.exitCode, String(rolled.stderr)).toBe(0);
      expect(await docker.getImage(`${registry}/${repository}:${tag}`).inspect()).toMatchObject({ RepoTags: expect.arrayContaining([`${registry}/${repository}:${tag}`]) });
      const second = await eventually(async () => {
        const text = await (await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(5_000) })).text();
        return text === 'from two' ? text : undefined;
      }, 30_000, 'the new version to answer');
      expect(second).toBe('from two');

      const down = await envctl(['down', '--target', 'swarm'], { cwd: app });
      expect(down.exitCode, String(down.stderr)).toBe(0);
      expect(await docker.listServices({ filters: byProject() })).toEqual([]);
    } finally {
      await registryContainer.remove({ force: true }).catch(() => undefined);
    }
  }, 240_000);
});
