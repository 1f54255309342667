/**
 * `up` and `down` on the real engine: convergence (a second up changes nothing, a changed service is
 * the only one recreated), health gating and failure reports, preflight checks, the lock, and down
 * removing exactly what the environment owns.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sleep } from '../../src/cli/cancellation.js';
import { loadDefinition } from '../../src/definition/resolve.js';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { downEnvironment } from '../../src/engine/down.js';
import { upEnvironment, type UpResult } from '../../src/engine/up.js';
import type { EnvctlEvent } from '../../src/events.js';
import { LABEL } from '../../src/labels.js';
import { lockEnvironment } from '../../src/state/lock.js';
import { BASE_IMAGE, containerIdentities, docker, removeProject, uniqueProject } from '../support/docker.js';

let dir: string;
let project: string;
const engine = DockerEngine.fromEnv(process.env);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-up-'));
  project = uniqueProject('up');
});
afterEach(async () => {
  await removeProject(project);
  await rm(dir, { recursive: true, force: true });
});

async function writeDefinition(yaml: string): Promise<string> {
  const file = join(dir, 'envctl.yaml');
  await writeFile(file, yaml);
  return file;
}

async function up(yaml: string, options: { waitTimeoutMs?: number; removeOrphans?: boolean; signal?: AbortSignal } = {}): Promise<{ result: UpResult; events: EnvctlEvent[] }> {
  const file = await writeDefinition(yaml);
  const events: EnvctlEvent[] = [];
  const result = await upEnvironment({
    load: { cwd: dir, file, processEnv: {} },
    engine,
    removeOrphans: options.removeOrphans ?? false,
    waitTimeoutMs: options.waitTimeoutMs ?? 60_000,
    emit: (event) => events.push(event),
    signal: options.signal ?? new AbortController().signal,
    now: Date.now,
    sleep,
  });
  return { result, events };
}

const containersById = () => containerIdentities(project);

/** A small health-gated topology on the locally built base image (no registry). */
const TOPOLOGY = (level = 'info') => `
name: ${PROJECT_PLACEHOLDER}
services:
  db:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    volumes: ["data:/data"]
    healthcheck: { test: ["CMD", "true"], interval: 500ms, retries: 3 }
  web:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    environment: { LEVEL: ${level} }
    depends_on: { db: { condition: service_healthy } }
  worker:
    image: ${BASE_IMAGE}
    command: ["sleep", "infinity"]
    depends_on: [db]
volumes: { data: {} }
`;
const PROJECT_PLACEHOLDER = '__PROJECT__';
const topology = (level?: string) => TOPOLOGY(level).replace(PROJECT_PLACEHOLDER, project);

describe('up', () => {
  it('starts every service healthy, then a second up changes nothing', async () => {
    const first = await up(topology());
    expect(first.result).toMatchObject({ ok: true, cancelled: false, changed: true });
    expect(first.result.services.map((outcome) => `${outcome.service}:${outcome.status}:${outcome.detail}`)).toEqual(['db:ready:healthy', 'web:ready:running', 'worker:ready:running']);
    // db became healthy before web was created (health gating).
    const phases = first.events.filter((event) => event.type === 'service').map((event) => `${event.service}:${event.phase}`);
    expect(phases.indexOf('db:healthy')).toBeLessThan(phases.indexOf('web:creating'));

    const before = await containersById();
    const since = Math.floor(Date.now() / 1000);
    const second = await up(topology());
    expect(second.result).toMatchObject({ ok: true, changed: false });
    expect(second.result.services.map((outcome) => outcome.action)).toEqual(['keep', 'keep', 'keep']);
    expect(await containersById()).toEqual(before);
    // No create/destroy/start events for this project between the runs.
    const raw = await docker.getEvents({ since, until: Math.floor(Date.now() / 1000) + 1, filters: { label: [`${LABEL.project}=${project}`], type: ['container'] } });
    const text = await streamToString(raw as unknown as NodeJS.ReadableStream);
    expect(text.split('\n').filter((line) => /"Action":"(create|destroy|start|stop|die)"/.test(line))).toEqual([]);
  });

  it('recreates only the service whose configuration changed', async () => {
    await up(topology('info'));
    const before = await containersById();
    const { result } = await up(topology('debug'));
    expect(result.ok).toBe(true);
    expect(result.services.map((outcome) => `${outcome.service}:${outcome.action}`)).toEqual(['db:keep', 'web:recreate', 'worker:keep']);
    const after = await containersById();
    expect(after.get('db')).toEqual(before.get('db'));
    expect(after.get('worker')).toEqual(before.get('worker'));
    expect(after.get('web')!.id).not.toBe(before.get('web')!.id);
    const web = await docker.getContainer(after.get('web')!.id).inspect();
    expect(web.Name).toBe(`/${project}-web`);
    expect(web.Config.Env).toContain('LEVEL=debug');
  });

  it('publishes ports on 127.0.0.1 by default and runs services with an init process', async () => {
    const port = await freePort();
    // Nothing listens on 80: the healthcheck, not port readiness, says when it is up.
    const { result } = await up(`name: ${project}\nservices:\n  web: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"], ports: ["${port}:80"], healthcheck: { test: ["CMD", "true"], interval: 500ms } }\n`);
    expect(result.ok).toBe(true);
    const [container] = await docker.listContainers({ filters: { label: [`${LABEL.project}=${project}`] } });
    const info = await docker.getContainer(container!.Id).inspect();
    expect(info.HostConfig.PortBindings['80/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(port) }]);
    expect(info.HostConfig.Init).toBe(true);
  });

  it('fails a service whose healthcheck never passes, with its state and logs, and never starts its dependants', async () => {
    const yaml = topology().replace('test: ["CMD", "true"], interval: 500ms, retries: 3', 'test: ["CMD", "false"], interval: 500ms, retries: 2').replace('command: ["sleep", "infinity"]\n    volumes', 'command: ["sh", "-c", "echo db is starting; sleep infinity"]\n    volumes');
    const { result } = await up(yaml);
    expect(result.ok).toBe(false);
    const db = result.services.find((outcome) => outcome.service === 'db')!;
    expect(db).toMatchObject({ status: 'failed', detail: expect.stringMatching(/^unhealthy/) });
    expect(db.logTail).toContain('db is starting');
    expect(result.services.find((outcome) => outcome.service === 'web')).toMatchObject({ status: 'skipped', detail: 'not started: db did not become healthy' });
    const services = [...(await containersById()).keys()].sort();
    expect(services).toEqual(['db', 'worker']);
  });

  it('reports a service that exits at once with its exit code and last log lines', async () => {
    const { result } = await up(`name: ${project}\nservices:\n  job: { image: ${BASE_IMAGE}, command: ["sh", "-c", "echo boom >&2; exit 3"] }\n`);
    expect(result.ok).toBe(false);
    expect(result.services[0]).toMatchObject({ service: 'job', status: 'failed', detail: 'exited (3)', logTail: ['boom'] });
  });

  it('treats a one-shot that exits 0 as done only when a dependant declares service_completed_successfully', async () => {
    const ok = await up(`name: ${project}\nservices:\n  migrate: { image: ${BASE_IMAGE}, command: ["true"] }\n  app: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"], depends_on: { migrate: { condition: service_completed_successfully } } }\n`);
    expect(ok.result.services.map((outcome) => `${outcome.service}:${outcome.status}:${outcome.detail}`)).toEqual(['migrate:ready:completed', 'app:ready:running']);
    await removeProject(project);
    const undeclared = await up(`name: ${project}\nservices:\n  migrate: { image: ${BASE_IMAGE}, command: ["true"] }\n`);
    expect(undeclared.result.services[0]).toMatchObject({ status: 'failed', detail: expect.stringContaining('service_completed_successfully') });
  });

  it('reports a crash loop instead of waiting for it', async () => {
    const { result } = await up(`name: ${project}\nservices:\n  flaky: { image: ${BASE_IMAGE}, command: ["sh", "-c", "exit 1"], restart: always }\n`, { waitTimeoutMs: 60_000 });
    expect(result.services[0]).toMatchObject({ status: 'failed', detail: expect.stringMatching(/^crash-looping/) });
  });

  it('fails with the wait timeout when a service is never healthy', async () => {
    const { result } = await up(`name: ${project}\nservices:\n  slow: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"], healthcheck: { test: ["CMD", "false"], interval: 1s, retries: 1000 } }\n`, { waitTimeoutMs: 3_000 });
    expect(result.services[0]).toMatchObject({ status: 'failed', detail: 'not healthy after 3s (state running, health starting)' });
  });

  it('refuses a taken host port before creating anything', async () => {
    const server = await listen();
    try {
      const port = (server.address() as { port: number }).port;
      await expect(up(`name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n  web: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"], ports: ["${port}:80"] }\n`)).rejects.toMatchObject({
        code: 'PORT_IN_USE',
        exitCode: 3,
        message: expect.stringContaining(`127.0.0.1:${port}/tcp (service web): already in use`),
      });
      expect((await containersById()).size).toBe(0);
    } finally {
      server.close();
    }
  });

  it('refuses an image that is not present, naming it and the service, before creating anything', async () => {
    await expect(up(`name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n  b: { image: "envctl-test/nope:1" }\n`)).rejects.toMatchObject({
      code: 'IMAGE_MISSING',
      exitCode: 1,
      message: 'image not present in the engine: envctl-test/nope:1 (service b)',
    });
    expect((await containersById()).size).toBe(0);
  });

  it('refuses a second writer while the environment is locked, naming the holder', async () => {
    const file = await writeDefinition(topology());
    const model = await loadDefinition({ cwd: dir, file, processEnv: {} });
    const held = await lockEnvironment({ prefix: model.prefix, command: 'envctl up', now: () => new Date() });
    try {
      await expect(up(topology())).rejects.toMatchObject({ code: 'LOCKED', exitCode: 3, message: expect.stringContaining(`locked by PID ${process.pid} (envctl up`) });
    } finally {
      await held.release();
    }
    expect((await up(topology())).result.ok).toBe(true);
  });

  it('builds an image from a Dockerfile and runs it; an unchanged build is not rebuilt', async () => {
    await writeFile(join(dir, 'Dockerfile'), `FROM ${BASE_IMAGE}\nRUN echo built > /built.txt\nCMD ["sleep", "infinity"]\n`);
    const yaml = `name: ${project}\nservices:\n  app: { build: . }\n`;
    const first = await up(yaml);
    expect(first.result.ok).toBe(true);
    expect(first.events.some((event) => event.type === 'service' && event.phase === 'built')).toBe(true);
    expect(first.events.some((event) => event.type === 'build-log')).toBe(true);
    const second = await up(yaml);
    expect(second.events.some((event) => event.type === 'service' && event.phase === 'building')).toBe(false);
    // The built image carries the project label, so afterEach removes it with the rest.
    expect(await docker.listImages({ filters: { label: [`${LABEL.project}=${project}`] } })).toHaveLength(1);
  });

  it('fails a broken build with the last lines of its output and creates no container', async () => {
    await writeFile(join(dir, 'Dockerfile'), `FROM ${BASE_IMAGE}\nRUN echo about to fail && false\n`);
    await expect(up(`name: ${project}\nservices:\n  app: { build: . }\n`)).rejects.toMatchObject({ code: 'BUILD_FAILED', exitCode: 1, message: expect.stringContaining('about to fail') });
    expect((await containersById()).size).toBe(0);
  });
});

describe('down', () => {
  it('removes containers and networks, keeps volumes unless asked, and touches nothing else', async () => {
    await up(topology());
    const other = uniqueProject('other');
    try {
      await docker.createContainer({ name: `${other}-web`, Image: BASE_IMAGE, Cmd: ['true'], Labels: { [LABEL.project]: other, [LABEL.env]: 'default', [LABEL.service]: 'web' } });
      const file = join(dir, 'envctl.yaml');
      const model = await loadDefinition({ cwd: dir, file, processEnv: {} });
      const first = await downEnvironment({ model, engine, volumes: false, emit: () => undefined, now: Date.now });
      expect(first.removed.containers.sort()).toEqual([`${project}-db`, `${project}-web`, `${project}-worker`]);
      expect(first.removed.networks).toEqual([`${project}_default`]);
      expect(first.keptVolumes).toEqual([`${project}_data`]);
      expect((await docker.listVolumes({ filters: { label: [`${LABEL.project}=${project}`] } })).Volumes?.map((volume) => volume.Name)).toEqual([`${project}_data`]);
      const second = await downEnvironment({ model, engine, volumes: true, emit: () => undefined, now: Date.now });
      expect(second.removed.volumes).toEqual([`${project}_data`]);
      expect((await docker.listContainers({ all: true, filters: { label: [`${LABEL.project}=${other}`] } })).length).toBe(1);
    } finally {
      await removeProject(other);
    }
  });
});

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function freePort(): Promise<number> {
  const server = await listen();
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function streamToString(stream: NodeJS.ReadableStream): Promise<string> {
  // The events endpoint streams until `until`; collect what it sends.
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text;
}

describe('up --remove-orphans', () => {
  it('removes the containers and networks of services dropped from the definition, keeping their volumes', async () => {
    const withOld = `name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n  old: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"], networks: [back], volumes: ["olddata:/data"] }\nnetworks: { back: {} }\nvolumes: { olddata: {} }\n`;
    await up(withOld);
    const without = `name: ${project}\nservices:\n  a: { image: ${BASE_IMAGE}, command: ["sleep", "infinity"] }\n`;
    const warned = await up(without);
    expect(warned.events.filter((event) => event.type === 'warning').map((event) => (event as { message: string }).message)).toEqual(
      expect.arrayContaining([expect.stringContaining('service old: not in the definition')]),
    );
    expect([...(await containersById()).keys()].sort()).toEqual(['a', 'old']);
    await up(without, { removeOrphans: true });
    expect([...(await containersById()).keys()]).toEqual(['a']);
    expect((await docker.listNetworks({ filters: { label: [`${LABEL.project}=${project}`] } })).map((network) => network.Name)).toEqual([`${project}_default`]);
    expect(((await docker.listVolumes({ filters: { label: [`${LABEL.project}=${project}`] } })).Volumes ?? []).map((volume) => volume.Name)).toEqual([`${project}_olddata`]);
  });
});
