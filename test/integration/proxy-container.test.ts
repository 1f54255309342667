/**
 * The release proxy as a container on the real engine: its image built from the one-file bundle,
 * three tiny backends on a project network, real HTTP from the host to the published 127.0.0.1
 * port, weights and step changed through the admin client over the bind-mounted unix socket, and
 * every request in requests.jsonl.gz after `docker stop`. One image build per run at most.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import type { ContainerSpec } from '../../src/engine/types.js';
import { EnvironmentError } from '../../src/errors.js';
import { LABEL } from '../../src/labels.js';
import { createAdminClient } from '../../src/proxy/admin-client.js';
import { ARMS, type Arm, type RequestRecord } from '../../src/proxy/types.js';
import { proxyRequestsFile, startProxyContainer } from '../../src/release/proxy-container.js';
import { ensureProxyImage, PROXY_BASE_IMAGE, proxyImageRef } from '../../src/release/proxy-image.js';
import { readRequestLog } from '../../src/release/recording/files.js';
import { docker, removeProject, uniqueProject } from '../support/docker.js';

const engine = DockerEngine.fromEnv(process.env);
const BUNDLE_SCRIPT = fileURLToPath(new URL('../../scripts/bundle-proxy.mjs', import.meta.url));
/** The backends answer with their arm's name on this port. */
const BACKEND_PORT = 8080;
const BACKEND_SCRIPT = `require('node:http').createServer((q, s) => { q.resume(); s.end(process.env.ARM); }).listen(${BACKEND_PORT}, () => console.log('listening'));`;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

let work: string;
let bundlePath: string;
let image: string;
/** Whether this run built the image (then it removes it again). */
let built = false;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'envctl-proxy-container-'));
  // A bundle of the current source, whatever dist/ holds.
  bundlePath = join(work, 'bundle.mjs');
  await promisify(execFile)(process.execPath, [BUNDLE_SCRIPT, bundlePath]);
  const expectedRef = proxyImageRef(await readFile(bundlePath));
  built = !(await engine.existingImages([expectedRef])).has(expectedRef);
  image = await ensureProxyImage(engine, { bundlePath, signal: AbortSignal.timeout(120_000) });
});
afterAll(async () => {
  // An image that was already there stays: another run or the CLI may be using it.
  if (built && image) await docker.getImage(image).remove().catch(() => undefined);
  if (work) await rm(work, { recursive: true, force: true });
});

async function releaseDirFor(project: string): Promise<string> {
  const releaseDir = join(work, project);
  await mkdir(releaseDir, { mode: 0o700 });
  return releaseDir;
}

const currentUser = () => `${process.getuid!()}:${process.getgid!()}`;

function backendSpec(project: string, network: string, arm: Arm): ContainerSpec {
  return {
    name: `${project}-${arm}`,
    image: PROXY_BASE_IMAGE,
    command: ['node', '-e', BACKEND_SCRIPT],
    entrypoint: undefined,
    env: { ARM: arm },
    labels: { [LABEL.project]: project, [LABEL.service]: arm },
    ports: [],
    expose: [],
    mounts: [],
    networks: [{ name: network, aliases: [arm] }],
    healthcheck: undefined,
    restart: 'no',
    workingDir: undefined,
    user: undefined,
    init: false,
    stopSignal: undefined,
    stopTimeoutSeconds: undefined,
  };
}

async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function fetchArms(port: number, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const response = await fetch(`http://127.0.0.1:${port}/api/items/${i}`);
    const arm = await response.text();
    expect(response.headers.get('x-envctl-arm')).toBe(arm);
    counts[arm] = (counts[arm] ?? 0) + 1;
  }
  return counts;
}

const countArms = (records: readonly RequestRecord[]) => Object.fromEntries(ARMS.map((arm) => [arm, records.filter((record) => record.arm === arm).length]));

describe('the release proxy container', () => {
  it('splits real traffic by weight, takes weights and step over its socket, and leaves every request in requests.jsonl.gz', async () => {
    const project = uniqueProject('proxy-container');
    const labels = { [LABEL.project]: project, [LABEL.service]: 'proxy' };
    cleanups.push(() => removeProject(project));
    expect(image).toBe(proxyImageRef(await readFile(bundlePath)));
    expect(image).toMatch(/^envctl\/proxy:[0-9a-f]{12}$/);
    expect((await docker.getImage(image).inspect()).Config.Labels?.[LABEL.buildHash]).toBe(image.split(':')[1]);
    // Found by tag the second time: no build.
    const again: string[] = [];
    expect(await ensureProxyImage(engine, { bundlePath, signal: AbortSignal.timeout(10_000), onLine: (line) => again.push(line) })).toBe(image);
    expect(again).toEqual([]);

    // Three backends on the environment's network.
    const network = `${project}-net`;
    await engine.createNetwork({ name: network, driver: 'bridge', driverOpts: {}, internal: false, attachable: false, labels: { [LABEL.project]: project } });
    const backendIds = await Promise.all(
      ARMS.map(async (arm) => {
        const id = await engine.createContainer(backendSpec(project, network, arm));
        await engine.startContainer(id);
        return id;
      }),
    );
    for (const id of backendIds) {
      await eventually(async () => ((await engine.containerLogs(id, { tail: 5 })).some((line) => line.text === 'listening') ? true : undefined), `backend ${id.slice(0, 12)}`);
    }

    const releaseDir = await releaseDirFor(project);
    const proxy = await startProxyContainer(engine, {
      name: `${project}-proxy`,
      image,
      labels,
      network,
      releaseDir,
      upstreams: Object.fromEntries(ARMS.map((arm) => [arm, { host: `${project}-${arm}`, port: BACKEND_PORT }])) as Record<Arm, { host: string; port: number }>,
      weights: { canary: 10, baseline: 10, prod: 80 },
      step: 1,
      sticky: 'none',
      user: currentUser(),
    });
    expect(proxy.adminSocket).toBe(join(releaseDir, 'admin.sock'));
    const socketInfo = await stat(proxy.adminSocket);
    expect(socketInfo.isSocket()).toBe(true);
    expect((socketInfo.mode & 0o777).toString(8)).toBe('600');
    expect(socketInfo.uid).toBe(process.getuid!());
    // Data port on loopback only; the engine chose it.
    const inspected = await docker.getContainer(proxy.containerId).inspect();
    expect(inspected.HostConfig.PortBindings).toEqual({ '8080/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] });
    expect(inspected.HostConfig.RestartPolicy?.Name).toBe('unless-stopped');
    expect(inspected.NetworkSettings.Ports['8080/tcp']).toEqual([{ HostIp: '127.0.0.1', HostPort: String(proxy.hostPort) }]);

    // Step 1: 10/10/80, exactly (one route key, smooth weighted round-robin).
    expect(await fetchArms(proxy.hostPort, 100)).toEqual({ canary: 10, baseline: 10, prod: 80 });
    const client = createAdminClient(proxy.adminSocket);
    const before = await client.status();
    expect(before).toMatchObject({ step: 1, weights: { canary: 10, baseline: 10, prod: 80 }, inFlight: 0, lastSeq: 100 });
    expect(before.watermarkNs).toBe(before.nowNs);

    // Step 2: 50/50/0, applied together with the step.
    const applied = await client.setWeights({ canary: 50, baseline: 50, prod: 0 }, 2);
    expect(applied).toMatchObject({ weights: { canary: 50, baseline: 50, prod: 0 }, step: 2 });
    expect(await fetchArms(proxy.hostPort, 100)).toEqual({ canary: 50, baseline: 50 });

    const first = await client.records(0, 100);
    const second = await client.records(100);
    if ('gone' in first || 'gone' in second) throw new Error('records left the ring unexpectedly');
    expect(first.records.map((record) => record.seq)).toEqual(Array.from({ length: 100 }, (_, index) => index + 1));
    expect(new Set(first.records.map((record) => record.step))).toEqual(new Set([1]));
    expect(countArms(first.records)).toEqual({ canary: 10, baseline: 10, prod: 80 });
    expect(second.records).toHaveLength(100);
    expect(second.lastSeq).toBe(200);
    expect(new Set(second.records.map((record) => record.step))).toEqual(new Set([2]));
    expect(countArms(second.records)).toEqual({ canary: 50, baseline: 50, prod: 0 });
    for (const record of first.records) expect(BigInt(record.tMonoNs)).toBeLessThan(BigInt(applied.appliedNs));
    for (const record of second.records) expect(BigInt(record.tMonoNs)).toBeGreaterThan(BigInt(applied.appliedNs));

    // A second proxy for the same release folder is refused before anything is created.
    await expect(
      startProxyContainer(engine, {
        name: `${project}-proxy2`,
        image,
        labels,
        network,
        releaseDir,
        upstreams: { canary: { host: 'canary', port: 1 }, baseline: { host: 'baseline', port: 1 }, prod: { host: 'prod', port: 1 } },
        weights: { canary: 0, baseline: 0, prod: 100 },
        step: 0,
        sticky: 'none',
        user: currentUser(),
      }),
    ).rejects.toMatchObject({ code: 'PROXY_ALREADY_RUNNING' });
    expect((await engine.listContainers(labels)).map((container) => container.name)).toEqual([`${project}-proxy`]);
    expect((await client.status()).weights).toEqual({ canary: 50, baseline: 50, prod: 0 });

    // `docker stop`: SIGTERM through tini, the proxy drains and closes its request log.
    await engine.stopContainer(proxy.containerId, 15);
    const stopped = await engine.inspectContainer(proxy.containerId);
    expect(stopped).toMatchObject({ state: 'exited', exitCode: 0 });
    const log = await readRequestLog(proxyRequestsFile(releaseDir));
    expect(log).toMatchObject({ truncated: null, incompleteGzip: false });
    expect(log.records).toEqual([...first.records, ...second.records]);
    expect((await stat(proxyRequestsFile(releaseDir))).uid).toBe(process.getuid!());
    // The drained proxy removed its socket; the client now says so.
    await expect(stat(proxy.adminSocket)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await client.healthz()).toBe(false);
    await expect(client.status()).rejects.toMatchObject({ code: 'PROXY_ADMIN_UNREACHABLE' });
  });

  it('fails with the last lines of the proxy log when it exits at start, or names a taken host port, and leaves no container', async () => {
    const project = uniqueProject('proxy-container-bad');
    cleanups.push(() => removeProject(project));
    const network = `${project}-net`;
    await engine.createNetwork({ name: network, driver: 'bridge', driverOpts: {}, internal: false, attachable: false, labels: { [LABEL.project]: project } });
    const releaseDir = await releaseDirFor(project);
    // "exited" (not a readiness timeout) is how the test knows the exit was noticed at once.
    const error = await startProxyContainer(engine, {
      name: `${project}-proxy`,
      image,
      labels: { [LABEL.project]: project, [LABEL.service]: 'proxy' },
      network,
      releaseDir,
      // Port 0 is not a valid upstream: the proxy refuses its config with exit 2.
      upstreams: { canary: { host: 'canary', port: 0 }, baseline: { host: 'baseline', port: 0 }, prod: { host: 'prod', port: 0 } },
      weights: { canary: 10, baseline: 10, prod: 80 },
      step: 1,
      sticky: 'none',
      user: currentUser(),
    }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error).toMatchObject({ code: 'PROXY_NOT_READY', exitCode: 3 });
    expect((error as Error).message).toMatch(/proxy container .*-proxy exited/);
    expect((error as Error).message).toMatch(/last lines of its log:\n.*invalid config/);
    expect(await engine.listContainers({ [LABEL.project]: project })).toEqual([]);

    // A host port already taken (reliability.md §2 row 11): named, and nothing left behind.
    const taken = createNetServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const takenPort = (taken.address() as AddressInfo).port;
    await expect(
      startProxyContainer(engine, {
        name: `${project}-proxy`,
        image,
        labels: { [LABEL.project]: project, [LABEL.service]: 'proxy' },
        network,
        releaseDir,
        upstreams: { canary: { host: 'canary', port: 1 }, baseline: { host: 'baseline', port: 1 }, prod: { host: 'prod', port: 1 } },
        weights: { canary: 0, baseline: 0, prod: 100 },
        step: 0,
        sticky: 'none',
        hostPort: takenPort,
        user: currentUser(),
      }),
    ).rejects.toMatchObject({ code: 'PROXY_PORT_IN_USE', message: expect.stringContaining(`127.0.0.1:${takenPort}`) });
    expect(await engine.listContainers({ [LABEL.project]: project })).toEqual([]);
  });
});
