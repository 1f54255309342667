/**
 * The proxy process killed and started again with the same config (what the engine's restart
 * policy does to the proxy container): the earlier records stay readable, seq continues, the
 * weights and step are the last ones applied, and arrival times keep increasing. Runs the bundle
 * the proxy image runs (built from the sources into a temp folder): as a process on loopback, and
 * as the proxy container that crashes and is restarted by the engine.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/engine/docker-engine.js';
import { LABEL } from '../../src/labels.js';
import { createAdminClient } from '../../src/proxy/admin-client.js';
import { ARMS, type Arm, type RequestRecord } from '../../src/proxy/types.js';
import { proxyRequestsFile, startProxyContainer } from '../../src/release/proxy-container.js';
import { ensureProxyImage, PROXY_BASE_IMAGE, proxyImageRef } from '../../src/release/proxy-image.js';
import { readRequestLog } from '../../src/release/recording/files.js';
import { docker, removeProject, uniqueProject } from '../support/docker.js';

const BUNDLER = fileURLToPath(new URL('../../scripts/bundle-proxy.mjs', import.meta.url));
let bundleDir: string;
let bundle: string;
let dir: string;
let backends: Server[];
const children: ChildProcess[] = [];

beforeAll(async () => {
  bundleDir = await mkdtemp(join(tmpdir(), 'envctl-proxy-bundle-'));
  bundle = join(bundleDir, 'proxy.mjs');
  await promisify(execFile)(process.execPath, [BUNDLER, bundle]);
});
afterAll(async () => {
  await rm(bundleDir, { recursive: true, force: true });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-proxy-restart-'));
  backends = await Promise.all(
    ['canary', 'baseline', 'prod'].map(
      (arm) =>
        new Promise<Server>((resolve) => {
          const server = createServer((_request, response) => response.end(arm));
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
});
afterEach(async () => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
  await Promise.all(
    backends.map(
      (server) =>
        new Promise((resolve) => {
          server.closeAllConnections();
          server.close(resolve);
        }),
    ),
  );
  await rm(dir, { recursive: true, force: true });
});

const portOf = (server: Server) => (server.address() as { port: number }).port;

interface RunningProxy {
  port: number;
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
}

async function start(config: Record<string, unknown>): Promise<RunningProxy> {
  const file = join(dir, 'proxy.json');
  await writeFile(file, JSON.stringify(config));
  const child = spawn(process.execPath, [bundle, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const first = await Promise.race([createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((line) => line.value as string | undefined), exited.then(() => undefined)]);
  if (!first) throw new Error(`the proxy exited before listening: ${stderr}`);
  return { port: (JSON.parse(first) as { port: number }).port, child, exited, stderr: () => stderr };
}

async function fetchArms(port: number, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const arm = await (await fetch(`http://127.0.0.1:${port}/api/items`)).text();
    counts[arm] = (counts[arm] ?? 0) + 1;
  }
  return counts;
}

function admin(socketPath: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const text = body === undefined ? undefined : JSON.stringify(body);
    const headers = text === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) };
    const req = request({ socketPath, method, path, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end(text);
  });
}

async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (performance.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const maxT = (records: readonly RequestRecord[]) => records.reduce((max, record) => (BigInt(record.tMonoNs) > max ? BigInt(record.tMonoNs) : max), 0n);
const minT = (records: readonly RequestRecord[]) => records.reduce((min, record) => (BigInt(record.tMonoNs) < min ? BigInt(record.tMonoNs) : min), BigInt(records[0]!.tMonoNs));

function configIn(requestsFile: string, adminSocket: string): Record<string, unknown> {
  return {
    upstreams: { canary: { host: '127.0.0.1', port: portOf(backends[0]!) }, baseline: { host: '127.0.0.1', port: portOf(backends[1]!) }, prod: { host: '127.0.0.1', port: portOf(backends[2]!) } },
    weights: { canary: 0, baseline: 0, prod: 100 },
    step: 0,
    adminSocket,
    requestsFile,
  };
}

describe('a restarted proxy process', () => {
  it('after SIGKILL keeps the records, continues seq and the clock, and serves the last weights and step', async () => {
    const adminSocket = join(dir, 'admin.sock');
    const requestsFile = join(dir, 'requests.jsonl.gz');
    const config = configIn(requestsFile, adminSocket);

    const first = await start(config);
    expect(await fetchArms(first.port, 20)).toEqual({ prod: 20 });
    const put = await admin(adminSocket, 'PUT', '/weights', { canary: 50, baseline: 50, prod: 0, step: 2 });
    expect(put.status).toBe(200);
    // Answered, so already durable.
    expect(JSON.parse(await readFile(join(dir, 'weights.json'), 'utf8'))).toMatchObject({ weights: { canary: 50, baseline: 50, prod: 0 }, step: 2 });
    expect(await fetchArms(first.port, 20)).toEqual({ canary: 10, baseline: 10 });
    // The file is flushed every second: wait for all 40, then kill with no chance to close the gzip member.
    const before = await eventually(
      () => readRequestLog(requestsFile),
      (log) => log.records.length === 40,
    );
    first.child.kill('SIGKILL');
    await first.exited;
    expect((await readRequestLog(requestsFile)).incompleteGzip).toBe(true);

    const second = await start(config);
    expect(second.stderr()).toContain('after seq 40');
    const status = await admin(adminSocket, 'GET', '/status');
    expect(status.json).toMatchObject({ weights: { canary: 50, baseline: 50, prod: 0 }, step: 2, lastSeq: 40 });
    // The earlier records are not in memory: the controller is sent to the file, which holds them.
    expect(await admin(adminSocket, 'GET', '/records?after=0')).toMatchObject({ status: 410, json: { oldestSeq: 41 } });
    expect(BigInt(status.json.nowNs as string)).toBeGreaterThan(maxT(before.records));

    expect(await fetchArms(second.port, 10)).toEqual({ canary: 5, baseline: 5 });
    const fresh = await admin(adminSocket, 'GET', '/records?after=40');
    expect((fresh.json.records as RequestRecord[]).map((record) => [record.seq, record.step])).toEqual(Array.from({ length: 10 }, (_, i) => [41 + i, 2]));
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);

    const after = await readRequestLog(requestsFile);
    expect(after).toMatchObject({ truncated: null, incompleteGzip: false });
    expect(after.records.slice(0, 40)).toEqual(before.records);
    expect(after.records.map((record) => record.seq)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(minT(after.records.slice(40))).toBeGreaterThan(maxT(before.records));

    // A graceful stop left a closed member: the next run appends after it.
    const third = await start(config);
    expect(await admin(adminSocket, 'GET', '/status')).toMatchObject({ json: { weights: { canary: 50, baseline: 50, prod: 0 }, step: 2, lastSeq: 50 } });
    expect(await fetchArms(third.port, 2)).toEqual({ canary: 1, baseline: 1 });
    third.child.kill('SIGTERM');
    expect(await third.exited).toBe(0);
    expect((await readRequestLog(requestsFile)).records.map((record) => record.seq)).toEqual(Array.from({ length: 52 }, (_, i) => i + 1));
  });

  it('keeps arrival times after those of a recording made on a clock that was ahead (a host reboot), past a cut-off line', async () => {
    const adminSocket = join(dir, 'admin.sock');
    const requestsFile = join(dir, 'requests.jsonl.gz');
    // CLOCK_MONOTONIC is shared by this process and the proxy; the recording's clock was an hour ahead.
    const ahead = process.hrtime.bigint() + 3_600_000_000_000n;
    const earlier: RequestRecord[] = [1, 2, 3].map((seq) => ({
      seq,
      tMonoNs: String(ahead + BigInt(seq)),
      step: 1,
      arm: 'prod',
      routeKey: 'GET /api/items',
      method: 'GET',
      status: 200,
      upstreamError: 'none',
      ttfbUs: 100,
      totalUs: 200,
      bytesOut: 4,
      override: false,
      mirrored: false,
    }));
    const whole = gzipSync(`${earlier.map((record) => `${JSON.stringify(record)}\n`).join('')}{"seq":4,"tMonoNs":"1`);
    await writeFile(requestsFile, whole.subarray(0, whole.length - 8));

    const proxy = await start(configIn(requestsFile, adminSocket));
    await fetchArms(proxy.port, 3);
    proxy.child.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);

    const log = await readRequestLog(requestsFile);
    expect(log).toMatchObject({ truncated: null, incompleteGzip: false });
    expect(log.records.slice(0, 3)).toEqual(earlier);
    expect(log.records.slice(3).map((record) => record.seq)).toEqual([4, 5, 6]);
    expect(minT(log.records.slice(3))).toBeGreaterThan(ahead + 3n + 1_000_000_000n);
  });

  it('refuses to start over a damaged recording, leaving it as it is', async () => {
    const requestsFile = join(dir, 'requests.jsonl.gz');
    const damaged = gzipSync('{"seq":1}\nnot a record\n');
    await writeFile(requestsFile, damaged);
    const file = join(dir, 'proxy.json');
    await writeFile(file, JSON.stringify(configIn(requestsFile, join(dir, 'admin.sock'))));
    const child = spawn(process.execPath, [bundle, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('exit', (exitCode) => resolve(exitCode)));
    expect(code).toBe(1);
    expect(stderr).toContain(`${requestsFile}:1: not a request record`);
    expect((await readFile(requestsFile)).equals(damaged)).toBe(true);
  });
});

describe('the release proxy container', () => {
  const engine = DockerEngine.fromEnv(process.env);
  const BACKEND_PORT = 8080;
  const BACKEND_SCRIPT = `require('node:http').createServer((q, s) => { q.resume(); s.end(process.env.ARM); }).listen(${BACKEND_PORT}, () => console.log('listening'));`;
  /** Run inside the proxy container: SIGKILL to the node process under tini, as a crash would. */
  const CRASH_SCRIPT = `const fs = require('node:fs'); for (const pid of fs.readdirSync('/proc').filter((name) => /^\\d+$/.test(name) && Number(name) !== process.pid)) { try { if (fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes('proxy.mjs')) process.kill(Number(pid), 'SIGKILL'); } catch {} }`;
  let image: string;
  let built = false;
  let project: string | undefined;

  beforeAll(async () => {
    const ref = proxyImageRef(await readFile(bundle));
    built = !(await engine.existingImages([ref])).has(ref);
    image = await ensureProxyImage(engine, { bundlePath: bundle, signal: AbortSignal.timeout(120_000) });
  });
  afterAll(async () => {
    // An image that was already there stays: another run or the CLI may be using it.
    if (built && image) await docker.getImage(image).remove().catch(() => undefined);
  });
  afterEach(async () => {
    if (project) await removeProject(project);
    project = undefined;
  });

  async function freeLoopbackPort(): Promise<number> {
    const server = createNetServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    return port;
  }

  async function eventuallyDefined<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const value = await check();
      if (value !== undefined) return value;
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('crashed and restarted by the engine, serves the persisted weights and step and continues the recording', async () => {
    project = uniqueProject('proxy-restart');
    const labels = { [LABEL.project]: project, [LABEL.service]: 'proxy' };
    const network = `${project}-net`;
    await engine.createNetwork({ name: network, driver: 'bridge', driverOpts: {}, internal: false, attachable: false, labels: { [LABEL.project]: project } });
    for (const arm of ARMS) {
      const id = await engine.createContainer({
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
      });
      await engine.startContainer(id);
      await eventuallyDefined(async () => ((await engine.containerLogs(id, { tail: 5 })).some((line) => line.text === 'listening') ? true : undefined), `backend ${arm}`);
    }
    const releaseDir = join(dir, 'release');
    await mkdir(releaseDir, { mode: 0o700 });
    // A fixed host port: one the engine chooses is chosen again at every start of the container.
    const hostPort = await freeLoopbackPort();
    const proxy = await startProxyContainer(engine, {
      hostPort,
      name: `${project}-proxy`,
      image,
      labels,
      network,
      releaseDir,
      upstreams: Object.fromEntries(ARMS.map((arm) => [arm, { host: `${project}-${arm}`, port: BACKEND_PORT }])) as Record<Arm, { host: string; port: number }>,
      weights: { canary: 0, baseline: 0, prod: 100 },
      step: 0,
      sticky: 'none',
      user: `${process.getuid!()}:${process.getgid!()}`,
    });
    const client = createAdminClient(proxy.adminSocket);
    expect(await fetchArms(proxy.hostPort, 10)).toEqual({ prod: 10 });
    await client.setWeights({ canary: 50, baseline: 50, prod: 0 }, 2);
    expect(await fetchArms(proxy.hostPort, 10)).toEqual({ canary: 5, baseline: 5 });
    const before = await eventually(
      () => readRequestLog(proxyRequestsFile(releaseDir)),
      (log) => log.records.length === 20,
    );

    const crash = await engine.exec(proxy.containerId, { command: ['node', '-e', CRASH_SCRIPT], tty: false, stdin: undefined, stdout: process.stderr, stderr: process.stderr });
    // 0 when the script ends first, 137 when the engine tears the exec down with the container it killed.
    expect([0, 137]).toContain(crash);
    // The engine's restart policy (unless-stopped) brings it back, on the same host port.
    await eventuallyDefined(async () => ((await engine.inspectContainer(proxy.containerId)).restartCount >= 1 && (await client.healthz()) ? true : undefined), 'the restarted proxy');
    expect(await client.status()).toMatchObject({ weights: { canary: 50, baseline: 50, prod: 0 }, step: 2, lastSeq: 20 });
    expect(await fetchArms(proxy.hostPort, 10)).toEqual({ canary: 5, baseline: 5 });

    await engine.stopContainer(proxy.containerId, 15);
    const after = await readRequestLog(proxyRequestsFile(releaseDir));
    expect(after).toMatchObject({ truncated: null, incompleteGzip: false });
    expect(after.records.slice(0, 20)).toEqual(before.records);
    expect(after.records.map((record) => [record.seq, record.step])).toEqual([
      ...before.records.map((record) => [record.seq, record.step]),
      ...Array.from({ length: 10 }, (_, i) => [21 + i, 2]),
    ]);
    expect(minT(after.records.slice(20))).toBeGreaterThan(maxT(before.records));
  });
});
