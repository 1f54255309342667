/**
 * The proxy as its own process (what runs in the proxy container): it serves the split, takes new
 * weights over its admin socket, drains on SIGTERM and leaves every request in requests.jsonl.gz.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { readRequestLog } from '../../src/release/recording/files.js';

const MAIN = fileURLToPath(new URL('../../dist/proxy/main.js', import.meta.url));
let dir: string;
let backends: Server[];
let child: ChildProcess | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'envctl-proxy-process-'));
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
  child?.kill('SIGKILL');
  child = undefined;
  await Promise.all(backends.map((server) => new Promise((resolve) => server.close(resolve))));
  await rm(dir, { recursive: true, force: true });
});

const portOf = (server: Server) => (server.address() as { port: number }).port;

async function start(config: Record<string, unknown>): Promise<{ port: number; exited: Promise<number | null>; stderr: () => string }> {
  const file = join(dir, 'proxy.json');
  await writeFile(file, JSON.stringify(config));
  child = spawn(process.execPath, [MAIN, file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
  const first = await Promise.race([createInterface({ input: child.stdout! })[Symbol.asyncIterator]().next().then((line) => line.value as string | undefined), exited.then(() => undefined)]);
  return { port: first ? (JSON.parse(first) as { port: number }).port : 0, exited, stderr: () => stderr };
}

async function fetchArms(port: number, count: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const arm = await (await fetch(`http://127.0.0.1:${port}/api/items`)).text();
    counts[arm] = (counts[arm] ?? 0) + 1;
  }
  return counts;
}

function putWeights(socketPath: string, weights: Record<string, number>): Promise<number> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify(weights);
    const req = request({ socketPath, method: 'PUT', path: '/weights', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the proxy process', () => {
  it('splits by weight, takes new weights over its admin socket, and records every request through SIGTERM', async () => {
    const adminSocket = join(dir, 'admin.sock');
    const requestsFile = join(dir, 'requests.jsonl.gz');
    const proxy = await start({
      upstreams: { canary: { host: '127.0.0.1', port: portOf(backends[0]!) }, baseline: { host: '127.0.0.1', port: portOf(backends[1]!) }, prod: { host: '127.0.0.1', port: portOf(backends[2]!) } },
      weights: { canary: 10, baseline: 10, prod: 80 },
      adminSocket,
      requestsFile,
    });
    expect(proxy.port).toBeGreaterThan(0);
    expect(await fetchArms(proxy.port, 100)).toEqual({ canary: 10, baseline: 10, prod: 80 });
    expect(await putWeights(adminSocket, { canary: 50, baseline: 50, prod: 0 })).toBe(200);
    expect(await fetchArms(proxy.port, 100)).toEqual({ canary: 50, baseline: 50 });
    expect(await putWeights(adminSocket, { canary: 50, baseline: 60, prod: 0 })).toBe(400);

    child!.kill('SIGTERM');
    expect(await proxy.exited).toBe(0);
    const log = await readRequestLog(requestsFile);
    expect(log.truncated).toBeNull();
    expect(log.records).toHaveLength(200);
    expect(log.records.filter((entry) => entry.arm === 'prod')).toHaveLength(80);
    expect(new Set(log.records.map((entry) => entry.routeKey))).toEqual(new Set(['GET /api/items']));
  });

  it('refuses an invalid configuration with exit 2 and the reason', async () => {
    const proxy = await start({ upstreams: {}, weights: { canary: 10, baseline: 10, prod: 80 }, adminSocket: join(dir, 'a.sock'), requestsFile: join(dir, 'r.gz') });
    expect(await proxy.exited).toBe(2);
    expect(proxy.stderr()).toContain('invalid config');
  });
});
